//! The `network` check (Datadog's integrations-core `network`, check_linux.py, on by default).
//!
//! Per interface from `/proc/net/dev`, rates tagged `device:<interface>`:
//! `system.net.bytes_rcvd`, `bytes_sent`, `packets_in.count`, `packets_in.drop`,
//! `packets_in.error` (errors + drops, as Datadog counts them), and the same for `packets_out`.
//! Interfaces that have neither received nor sent a byte are skipped, as Datadog skips them.
//! `excluded_interfaces` (names) and `excluded_interface_re` leave interfaces out.
//!
//! Protocol counters from `/proc/net/snmp` and `/proc/net/netstat`, as rates (and, with
//! `collect_count_metrics: true`, also as `.count` monotonic counts): `system.net.tcp.*`,
//! `system.net.udp.*`; the gauge `system.net.tcp.current_established`; and
//! `system.net.conntrack.{count,max}` from `/proc/sys/net/netfilter` when present.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::read_text;
use crate::checks::sender::Sender;
use crate::checks::{Check, CheckError, CheckSetup};

pub(crate) const NAME: &str = "network";

/// (section, counter, metric) from /proc/net/snmp and /proc/net/netstat.
const PROTOCOL_COUNTERS: &[(&str, &str, &str)] = &[
    ("Tcp", "RetransSegs", "system.net.tcp.retrans_segs"),
    ("Tcp", "InSegs", "system.net.tcp.in_segs"),
    ("Tcp", "OutSegs", "system.net.tcp.out_segs"),
    ("Tcp", "ActiveOpens", "system.net.tcp.active_opens"),
    ("Tcp", "PassiveOpens", "system.net.tcp.passive_opens"),
    ("Tcp", "AttemptFails", "system.net.tcp.attempt_fails"),
    ("Tcp", "EstabResets", "system.net.tcp.established_resets"),
    ("Tcp", "InErrs", "system.net.tcp.in_errors"),
    ("Tcp", "OutRsts", "system.net.tcp.out_resets"),
    ("Tcp", "InCsumErrors", "system.net.tcp.in_csum_errors"),
    ("TcpExt", "ListenOverflows", "system.net.tcp.listen_overflows"),
    ("TcpExt", "ListenDrops", "system.net.tcp.listen_drops"),
    ("TcpExt", "TCPBacklogDrop", "system.net.tcp.backlog_drops"),
    ("TcpExt", "TCPRetransFail", "system.net.tcp.failed_retransmits"),
    ("TcpExt", "TCPSynRetrans", "system.net.tcp.syn_retrans"),
    ("TcpExt", "TCPFromZeroWindowAdv", "system.net.tcp.from_zero_window"),
    ("TcpExt", "TCPToZeroWindowAdv", "system.net.tcp.to_zero_window"),
    ("TcpExt", "TWRecycled", "system.net.tcp.tw_reused"),
    ("Udp", "InDatagrams", "system.net.udp.in_datagrams"),
    ("Udp", "NoPorts", "system.net.udp.no_ports"),
    ("Udp", "InErrors", "system.net.udp.in_errors"),
    ("Udp", "OutDatagrams", "system.net.udp.out_datagrams"),
    ("Udp", "RcvbufErrors", "system.net.udp.rcv_buf_errors"),
    ("Udp", "SndbufErrors", "system.net.udp.snd_buf_errors"),
    ("Udp", "InCsumErrors", "system.net.udp.in_csum_errors"),
];

#[derive(Debug, Default, Deserialize)]
struct Options {
    #[serde(default)]
    excluded_interfaces: Vec<String>,
    excluded_interface_re: Option<String>,
    #[serde(default)]
    collect_count_metrics: bool,
}

pub(crate) struct Network {
    dev: PathBuf,
    snmp: PathBuf,
    netstat: PathBuf,
    conntrack: PathBuf,
    excluded: Vec<String>,
    excluded_re: Option<regex::Regex>,
    collect_count_metrics: bool,
}

pub(crate) fn build(setup: &CheckSetup) -> Result<Box<dyn Check>, String> {
    let options: Options = setup.instance_options()?;
    let excluded_re = options
        .excluded_interface_re
        .map(|p| {
            regex::Regex::new(&format!("^(?:{p})"))
                .map_err(|e| format!("`excluded_interface_re` is not a valid regular expression: {e}"))
        })
        .transpose()?;
    let proc = &setup.paths.proc;
    Ok(Box::new(Network {
        dev: proc.join("net/dev"),
        snmp: proc.join("net/snmp"),
        netstat: proc.join("net/netstat"),
        conntrack: proc.join("sys/net/netfilter"),
        excluded: options.excluded_interfaces,
        excluded_re,
        collect_count_metrics: options.collect_count_metrics,
    }))
}

/// The `Name: v1 v2 …` table pairs of /proc/net/snmp and netstat: a header line of names
/// followed by a line of values, per section.
fn protocol_table(text: &str) -> HashMap<(String, String), i64> {
    let mut out = HashMap::new();
    let lines: Vec<&str> = text.lines().collect();
    for pair in lines.chunks(2) {
        let [names, values] = pair else { continue };
        let (Some((section, names)), Some((section2, values))) = (names.split_once(':'), values.split_once(':')) else {
            continue;
        };
        if section != section2 {
            continue;
        }
        for (name, value) in names.split_whitespace().zip(values.split_whitespace()) {
            if let Ok(v) = value.parse::<i64>() {
                out.insert((section.to_string(), name.to_string()), v);
            }
        }
    }
    out
}

impl Network {
    fn excluded(&self, iface: &str) -> bool {
        self.excluded.iter().any(|e| e == iface) || self.excluded_re.as_ref().is_some_and(|re| re.is_match(iface))
    }

    fn counter(&self, sender: &mut Sender, metric: &str, value: f64, tags: &[String]) {
        sender.rate(metric, value, tags);
        if self.collect_count_metrics {
            sender.monotonic_count(&format!("{metric}.count"), value, tags);
        }
    }
}

impl Check for Network {
    fn run(&mut self, sender: &mut Sender) -> Result<(), CheckError> {
        let text = read_text(&self.dev)?;
        let mut bad = 0;
        // The first two lines are headers.
        for line in text.lines().skip(2).filter(|l| !l.trim().is_empty()) {
            let Some((iface, rest)) = line.split_once(':') else {
                bad += 1;
                continue;
            };
            let iface = iface.trim();
            let n: Option<Vec<u64>> = rest.split_whitespace().map(|v| v.parse().ok()).collect();
            let Some(n) = n.filter(|n| n.len() >= 16) else {
                bad += 1;
                continue;
            };
            if (n[0] == 0 && n[8] == 0) || self.excluded(iface) {
                continue;
            }
            let tags = [format!("device:{iface}")];
            for (metric, value) in [
                ("system.net.bytes_rcvd", n[0]),
                ("system.net.bytes_sent", n[8]),
                ("system.net.packets_in.count", n[1]),
                ("system.net.packets_in.drop", n[3]),
                ("system.net.packets_in.error", n[2] + n[3]),
                ("system.net.packets_out.count", n[9]),
                ("system.net.packets_out.drop", n[11]),
                ("system.net.packets_out.error", n[10] + n[11]),
            ] {
                sender.rate(metric, value as f64, &tags);
            }
        }
        if bad > 0 {
            sender.warning(format!("{}: skipped {bad} malformed lines", self.dev.display()));
        }
        let mut table = HashMap::new();
        for path in [&self.snmp, &self.netstat] {
            match read_text(path) {
                Ok(text) => table.extend(protocol_table(&text)),
                Err(e) => sender.warning(e.to_string()),
            }
        }
        for (section, name, metric) in PROTOCOL_COUNTERS {
            if let Some(v) = table.get(&(section.to_string(), name.to_string())) {
                self.counter(sender, metric, *v as f64, &[]);
            }
        }
        if let Some(v) = table.get(&("Tcp".to_string(), "CurrEstab".to_string())) {
            sender.gauge("system.net.tcp.current_established", *v as f64, &[]);
        }
        for (file, metric) in [
            ("nf_conntrack_count", "system.net.conntrack.count"),
            ("nf_conntrack_max", "system.net.conntrack.max"),
        ] {
            if let Ok(text) = std::fs::read_to_string(self.conntrack.join(file))
                && let Ok(v) = text.trim().parse::<u64>()
            {
                sender.gauge(metric, v as f64, &[]);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_tables_pair_names_with_values() {
        let t = protocol_table("Tcp: ActiveOpens CurrEstab\nTcp: 29 3\nUdp: InDatagrams\nUdp: 7\n");
        assert_eq!(t[&("Tcp".into(), "CurrEstab".into())], 3);
        assert_eq!(t[&("Udp".into(), "InDatagrams".into())], 7);
    }
}
