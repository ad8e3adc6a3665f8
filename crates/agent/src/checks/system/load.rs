//! The `load` check (Datadog's .../cpu/load): `system.load.{1,5,15}` from `/proc/loadavg`, and
//! `system.load.norm.{1,5,15}`, the same divided by the number of logical CPUs (read once).

use std::path::PathBuf;

use super::{logical_cpus, parse_error, read_text};
use crate::checks::sender::Sender;
use crate::checks::{Check, CheckError, CheckSetup};

pub(crate) const NAME: &str = "load";

pub(crate) struct Load {
    loadavg: PathBuf,
    cores: f64,
}

pub(crate) fn build(setup: &CheckSetup) -> Result<Box<dyn Check>, String> {
    Ok(Box::new(Load {
        loadavg: setup.paths.proc.join("loadavg"),
        cores: logical_cpus(&setup.paths.proc) as f64,
    }))
}

impl Check for Load {
    fn run(&mut self, sender: &mut Sender) -> Result<(), CheckError> {
        let text = read_text(&self.loadavg)?;
        let values: Vec<f64> = text.split_whitespace().take(3).map_while(|v| v.parse().ok()).collect();
        let [one, five, fifteen] = values[..] else {
            return Err(parse_error(
                &self.loadavg,
                format!("expected three load averages, found {text:?}"),
            ));
        };
        for (suffix, value) in [("1", one), ("5", five), ("15", fifteen)] {
            sender.gauge(&format!("system.load.{suffix}"), value, &[]);
            sender.gauge(&format!("system.load.norm.{suffix}"), value / self.cores, &[]);
        }
        Ok(())
    }
}
