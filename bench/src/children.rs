//! Idle child processes that give `/proc` a realistic number of processes.

use std::io::{self, PipeWriter};
use std::process::{Child, Command, Stdio};

/// Idle `sh` processes, killed and reaped when dropped (also when the benchmark fails).
///
/// Each runs `sh -c 'read line' procbench-child-<i> <args>`: `read` is a shell builtin, so it
/// is one process per child, and the command line stays the shell's own (an `exec sleep` would
/// replace it with `sleep 3600`). A third of them carry `--password=…` and a third
/// `--api_key …`, so the scrubber has something to hide. All read from one pipe whose write end
/// only this process holds: should procbench die without cleaning up, they see end-of-file and
/// exit on their own.
pub struct Children {
    children: Vec<Child>,
    _stdin: PipeWriter,
}

impl Children {
    /// Spawns `count` children.
    pub fn spawn(count: usize) -> io::Result<Children> {
        let (stdin, writer) = io::pipe()?;
        let mut spawned = Children {
            children: Vec::with_capacity(count),
            _stdin: writer,
        };
        for i in 0..count {
            let mut args = match i % 3 {
                0 => vec![format!("--password=hunter{i}")],
                1 => vec!["--api_key".to_string(), format!("k{i:06}")],
                _ => vec!["--mode=idle".to_string()],
            };
            // Command lines of different lengths.
            args.extend((0..i % 4).map(|level| format!("--level{level}")));
            let child = Command::new("sh")
                .args(["-c", "read line", &format!("procbench-child-{i}")])
                .args(&args)
                .stdin(stdin.try_clone()?)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?;
            spawned.children.push(child);
        }
        Ok(spawned)
    }

    /// How many children are running.
    pub fn len(&self) -> usize {
        self.children.len()
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        // Kill them all first, then reap: no zombies are left in /proc.
        for child in &mut self.children {
            let _ = child.kill();
        }
        for child in &mut self.children {
            let _ = child.wait();
        }
    }
}
