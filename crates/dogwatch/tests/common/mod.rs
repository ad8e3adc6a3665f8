//! What the `dogwatch` binary's tests share: the binary with the machine's own settings
//! removed, and free loopback ports.

// Each test file uses part of this.
#![allow(dead_code)]

use std::process::{Command, Output};

/// The `dogwatch` binary, with every `DD_*`/`DOGWATCH_*` variable of the machine removed and its
/// own trace receiver and DogStatsD ports (tests run in parallel; never 8126 or 8125).
pub fn dogwatch() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dogwatch"));
    for (name, _) in std::env::vars() {
        if name.starts_with("DD_") || name.starts_with("DOGWATCH_") || name == "DISABLE_DATADOG_AGENT" {
            cmd.env_remove(name);
        }
    }
    cmd.env("DD_APM_RECEIVER_PORT", free_port().to_string());
    cmd.env("DD_DOGSTATSD_PORT", free_udp_port().to_string());
    cmd
}

/// A UDP port free on loopback.
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A TCP port free on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A command's stdout as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A command's stderr as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
