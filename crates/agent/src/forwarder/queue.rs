//! The forwarder's send queue: payloads on disk (oldest) followed by payloads in memory.
//!
//! Invariant: every payload on disk is older than every payload in memory, so sending the
//! disk's front before the memory's front keeps the order payloads were submitted in.
//! While the server is unreachable new payloads go straight to disk, so they survive an
//! agent restart; memory that outgrows its cap moves its oldest payloads to disk.

use std::collections::VecDeque;

use super::Payload;
use super::disk::DiskBuffer;

/// What the queue had to give up or could not do during one operation. Nothing is lost
/// without being counted here.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Losses {
    /// Deleted from a full disk buffer (or too large for it).
    pub disk_full: u64,
    /// Dropped from full memory because there is no disk buffer or it could not be written.
    pub memory_full: u64,
    /// Disk buffer files that could not be read back, deleted.
    pub unreadable: u64,
    /// Disk buffer errors met; the payloads concerned stayed in memory unless counted above.
    pub disk_errors: Vec<String>,
}

impl Losses {
    /// Adds `other`'s counts and errors to these.
    pub(crate) fn merge(&mut self, other: Losses) {
        self.disk_full += other.disk_full;
        self.memory_full += other.memory_full;
        self.unreadable += other.unreadable;
        self.disk_errors.extend(other.disk_errors);
    }
}

#[derive(Debug)]
pub(crate) struct SendQueue {
    memory: VecDeque<Payload>,
    memory_bytes: u64,
    memory_max: u64,
    disk: Option<DiskBuffer>,
    unreachable: bool,
}

impl SendQueue {
    pub(crate) fn new(memory_max: u64, disk: Option<DiskBuffer>) -> SendQueue {
        SendQueue {
            memory: VecDeque::new(),
            memory_bytes: 0,
            memory_max,
            disk,
            unreachable: false,
        }
    }

    /// Adds the newest payload: to disk while the server is unreachable, else to memory.
    /// A payload the disk buffer cannot take stays in memory.
    pub(crate) fn push(&mut self, payload: Payload) -> Losses {
        let mut losses = Losses::default();
        if self.unreachable && self.write_to_disk(&payload, &mut losses) {
            return losses;
        }
        self.memory_bytes += payload.size();
        self.memory.push_back(payload);
        while self.memory_bytes > self.memory_max && self.memory.len() > 1 {
            let oldest = self.memory.pop_front().expect("memory is not empty");
            self.memory_bytes -= oldest.size();
            if !self.write_to_disk(&oldest, &mut losses) {
                losses.memory_full += 1;
            }
        }
        losses
    }

    /// Appends to the disk buffer; false (with the error noted) if there is none or it failed.
    fn write_to_disk(&mut self, payload: &Payload, losses: &mut Losses) -> bool {
        let Some(disk) = self.disk.as_mut() else {
            return false;
        };
        match disk.push_back(payload) {
            Ok(evicted) => {
                losses.disk_full += evicted.payloads;
                true
            }
            Err(e) => {
                losses
                    .disk_errors
                    .push(format!("cannot write to {}: {e}", disk.dir().display()));
                false
            }
        }
    }

    /// The oldest payload, from disk if any is there, else from memory. Disk files that
    /// cannot be read back are deleted and counted, so one bad file never stops sending.
    pub(crate) fn front(&mut self) -> (Option<Payload>, Losses) {
        let mut losses = Losses::default();
        while let Some(disk) = self.disk.as_mut().filter(|d| !d.is_empty()) {
            match disk.front() {
                Ok(Some(p)) => return (Some(p), losses),
                Ok(None) => break,
                Err(e) => {
                    losses.unreadable += 1;
                    losses
                        .disk_errors
                        .push(format!("dropped an unreadable payload file: {e}"));
                    if let Err(e) = disk.pop_front() {
                        losses
                            .disk_errors
                            .push(format!("cannot delete an unreadable payload file: {e}"));
                    }
                }
            }
        }
        (self.memory.front().cloned(), losses)
    }

    /// Removes the payload `id` once it is sent (or refused). While it was being sent,
    /// another task's [`SendQueue::push`] may have moved it from memory to the front of the
    /// disk buffer, or a full disk buffer may have evicted it; so it is looked for at the
    /// front of both, and never removed by position alone.
    pub(crate) fn remove_sent(&mut self, id: &str) -> Losses {
        let mut losses = Losses::default();
        if self.memory.front().is_some_and(|p| p.id == id) {
            let p = self.memory.pop_front().expect("memory is not empty");
            self.memory_bytes -= p.size();
            return losses;
        }
        if let Some(disk) = self.disk.as_mut()
            && let Ok(Some(p)) = disk.front()
            && p.id == id
            && let Err(e) = disk.pop_front()
        {
            losses
                .disk_errors
                .push(format!("cannot delete a sent payload file: {e}"));
        }
        losses
    }

    /// Marks the server unreachable (everything in memory moves to disk) or reachable again.
    pub(crate) fn set_unreachable(&mut self, unreachable: bool) -> Losses {
        self.unreachable = unreachable;
        if unreachable { self.spill() } else { Losses::default() }
    }

    /// Moves payloads in memory to the disk buffer, oldest first, until memory is empty or
    /// the disk cannot take one (the rest stay in memory, still after the disk's).
    pub(crate) fn spill(&mut self) -> Losses {
        let mut losses = Losses::default();
        while let Some(p) = self.memory.front().cloned() {
            if !self.write_to_disk(&p, &mut losses) {
                break;
            }
            self.memory.pop_front();
            self.memory_bytes -= p.size();
        }
        losses
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.memory.is_empty() && self.disk.as_ref().is_none_or(DiskBuffer::is_empty)
    }

    pub(crate) fn memory_len(&self) -> usize {
        self.memory.len()
    }

    pub(crate) fn disk(&self) -> Option<&DiskBuffer> {
        self.disk.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CompressorKind;

    fn payload(n: u32) -> Payload {
        Payload::new(
            "/x",
            "application/json",
            format!("{n}").as_bytes(),
            CompressorKind::Zstd,
        )
    }

    fn drain(q: &mut SendQueue) -> Vec<Payload> {
        let mut out = Vec::new();
        while let Some(p) = q.front().0 {
            q.remove_sent(&p.id);
            out.push(p);
        }
        out
    }

    #[test]
    fn order_is_kept_across_memory_overflow_and_unreachable_periods() {
        let dir = tempfile::tempdir().unwrap();
        let one = payload(0).size();
        let mut q = SendQueue::new(one * 2, Some(DiskBuffer::open(dir.path(), 1 << 20).unwrap()));
        let all: Vec<Payload> = (0..10).map(payload).collect();
        for p in &all[..4] {
            q.push(p.clone()); // two overflow to disk
        }
        q.set_unreachable(true);
        for p in &all[4..7] {
            q.push(p.clone()); // straight to disk
        }
        q.set_unreachable(false);
        for p in &all[7..] {
            q.push(p.clone());
        }
        assert_eq!(drain(&mut q), all);
        assert!(q.is_empty());
    }

    #[test]
    fn a_payload_moved_to_disk_while_it_was_being_sent_is_removed_from_disk_and_nothing_else_is() {
        let dir = tempfile::tempdir().unwrap();
        let one = payload(0).size();
        let mut q = SendQueue::new(one * 2, Some(DiskBuffer::open(dir.path(), 1 << 20).unwrap()));
        let all: Vec<Payload> = (0..4).map(payload).collect();
        q.push(all[0].clone());
        let sending = q.front().0.unwrap();
        for p in &all[1..] {
            q.push(p.clone()); // overflow moves payloads 0 and 1 to disk meanwhile
        }
        q.remove_sent(&sending.id);
        assert_eq!(drain(&mut q), all[1..]);
    }

    #[test]
    fn payloads_the_disk_cannot_take_stay_in_memory_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let buffer = dir.path().join("buffer");
        let mut q = SendQueue::new(1 << 20, Some(DiskBuffer::open(&buffer, 1 << 20).unwrap()));
        std::fs::remove_dir_all(&buffer).unwrap();
        let all: Vec<Payload> = (0..3).map(payload).collect();
        q.push(all[0].clone());
        let losses = q.set_unreachable(true);
        assert_eq!(losses.disk_errors.len(), 1, "{losses:?}");
        q.push(all[1].clone());
        q.push(all[2].clone());
        assert_eq!(q.memory_len(), 3);
        assert_eq!(drain(&mut q), all);
    }

    #[test]
    fn an_unreadable_disk_file_is_dropped_counted_and_sending_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let mut disk = DiskBuffer::open(dir.path(), 1 << 20).unwrap();
        disk.push_back(&payload(0)).unwrap();
        disk.push_back(&payload(1)).unwrap();
        std::fs::write(dir.path().join(format!("{:020}.payload", 0)), b"garbage").unwrap();
        let mut q = SendQueue::new(1 << 20, Some(disk));
        let (front, losses) = q.front();
        assert_eq!(front.unwrap().body, payload(1).body);
        assert_eq!(losses.unreadable, 1);
    }

    #[test]
    fn without_a_disk_buffer_memory_overflow_drops_the_oldest() {
        let one = payload(0).size();
        let mut q = SendQueue::new(one * 2, None);
        let mut dropped = 0;
        for n in 0..5 {
            dropped += q.push(payload(n)).memory_full;
        }
        assert_eq!(dropped, 3);
        let left: Vec<_> = drain(&mut q).into_iter().map(|p| p.body).collect();
        assert_eq!(left, [payload(3).body, payload(4).body]);
    }
}
