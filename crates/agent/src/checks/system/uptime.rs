//! The `uptime` check: `system.uptime` (gauge, seconds since boot) from `/proc/uptime`, as
//! Datadog's .../uptime check reports it. The smallest check: docs/adding-a-check.md walks
//! through it.

use std::path::PathBuf;

use super::{parse_error, read_text};
use crate::checks::sender::Sender;
use crate::checks::{Check, CheckError, CheckSetup};

pub(crate) const NAME: &str = "uptime";

pub(crate) struct Uptime {
    uptime: PathBuf,
}

pub(crate) fn build(setup: &CheckSetup) -> Result<Box<dyn Check>, String> {
    Ok(Box::new(Uptime {
        uptime: setup.paths.proc.join("uptime"),
    }))
}

impl Check for Uptime {
    fn run(&mut self, sender: &mut Sender) -> Result<(), CheckError> {
        // proc(5): /proc/uptime holds "<uptime seconds> <idle seconds>".
        let text = read_text(&self.uptime)?;
        let uptime: f64 = text
            .split_whitespace()
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                parse_error(
                    &self.uptime,
                    format!("expected seconds as the first field, found {text:?}"),
                )
            })?;
        sender.gauge("system.uptime", uptime, &[]);
        Ok(())
    }
}
