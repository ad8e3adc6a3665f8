//! The `file_handle` check (Datadog's .../filehandles), from `/proc/sys/fs/file-nr`
//! (`allocated unused max`): `system.fs.file_handles.{allocated,allocated_unused,used,max}`
//! and `in_use` = used / max (a fraction).

use std::path::PathBuf;

use super::{parse_error, read_text};
use crate::checks::sender::Sender;
use crate::checks::{Check, CheckError, CheckSetup};

pub(crate) const NAME: &str = "file_handle";

pub(crate) struct FileHandle {
    file_nr: PathBuf,
}

pub(crate) fn build(setup: &CheckSetup) -> Result<Box<dyn Check>, String> {
    Ok(Box::new(FileHandle {
        file_nr: setup.paths.proc.join("sys/fs/file-nr"),
    }))
}

impl Check for FileHandle {
    fn run(&mut self, sender: &mut Sender) -> Result<(), CheckError> {
        let text = read_text(&self.file_nr)?;
        let values: Vec<f64> = text
            .split_whitespace()
            .map_while(|v| v.parse::<u64>().ok().map(|n| n as f64))
            .collect();
        let [allocated, unused, max] = values[..] else {
            return Err(parse_error(
                &self.file_nr,
                format!("expected three numbers, found {text:?}"),
            ));
        };
        let used = allocated - unused;
        sender.gauge("system.fs.file_handles.allocated", allocated, &[]);
        sender.gauge("system.fs.file_handles.allocated_unused", unused, &[]);
        sender.gauge("system.fs.file_handles.used", used, &[]);
        sender.gauge("system.fs.file_handles.max", max, &[]);
        if max > 0.0 {
            sender.gauge("system.fs.file_handles.in_use", used / max, &[]);
        }
        Ok(())
    }
}
