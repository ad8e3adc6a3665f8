//! The forwarder's send queue: payloads on disk (oldest) followed by payloads in memory.
//!
//! Invariant: every payload on disk is older than every payload in memory, so sending the
//! disk's front before the memory's front keeps the order payloads were submitted in.
//! While the server is unreachable new payloads go straight to disk, so they survive an
//! agent restart; memory that outgrows its cap moves its oldest payloads to disk.

use std::collections::VecDeque;
use std::io;

use super::Payload;
use super::disk::DiskBuffer;

/// Counts of payloads the queue had to give up.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Losses {
    /// Deleted from a full disk buffer (or too large for it).
    pub disk_full: u64,
    /// Dropped from full memory because there is no disk buffer.
    pub memory_full: u64,
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

    pub(crate) fn push(&mut self, payload: Payload) -> io::Result<Losses> {
        let mut losses = Losses::default();
        if let (true, Some(disk)) = (self.unreachable, self.disk.as_mut()) {
            losses.disk_full += disk.push_back(&payload)?.payloads;
            return Ok(losses);
        }
        self.memory_bytes += payload.size();
        self.memory.push_back(payload);
        while self.memory_bytes > self.memory_max && self.memory.len() > 1 {
            let oldest = self.memory.pop_front().expect("memory is not empty");
            self.memory_bytes -= oldest.size();
            match self.disk.as_mut() {
                Some(disk) => losses.disk_full += disk.push_back(&oldest)?.payloads,
                None => losses.memory_full += 1,
            }
        }
        Ok(losses)
    }

    /// The oldest payload, from disk if any is there, else from memory.
    pub(crate) fn front(&self) -> io::Result<Option<Payload>> {
        if let Some(disk) = self.disk.as_ref().filter(|d| !d.is_empty()) {
            return disk.front();
        }
        Ok(self.memory.front().cloned())
    }

    /// Removes the payload `id` once it is sent (or refused). While it was being sent,
    /// another task's [`SendQueue::push`] may have moved it from memory to the front of the
    /// disk buffer, or a full disk buffer may have evicted it; so it is looked for at the
    /// front of both, and never removed by position alone.
    pub(crate) fn remove_sent(&mut self, id: &str) -> io::Result<()> {
        if self.memory.front().is_some_and(|p| p.id == id) {
            let p = self.memory.pop_front().expect("memory is not empty");
            self.memory_bytes -= p.size();
            return Ok(());
        }
        if let Some(disk) = self.disk.as_mut() {
            match disk.front() {
                Ok(Some(p)) if p.id == id => disk.pop_front()?,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Removes the disk buffer's oldest file, which could not be read back.
    pub(crate) fn drop_unreadable_disk_front(&mut self) -> io::Result<()> {
        self.disk.as_mut().map_or(Ok(()), DiskBuffer::pop_front)
    }

    /// Marks the server unreachable (everything in memory moves to disk) or reachable again.
    pub(crate) fn set_unreachable(&mut self, unreachable: bool) -> io::Result<Losses> {
        self.unreachable = unreachable;
        if unreachable {
            self.spill()
        } else {
            Ok(Losses::default())
        }
    }

    /// Moves every payload in memory to the disk buffer, oldest first. Without a disk
    /// buffer nothing moves.
    pub(crate) fn spill(&mut self) -> io::Result<Losses> {
        let mut losses = Losses::default();
        let Some(disk) = self.disk.as_mut() else {
            return Ok(losses);
        };
        while let Some(p) = self.memory.pop_front() {
            self.memory_bytes -= p.size();
            losses.disk_full += disk.push_back(&p)?.payloads;
        }
        Ok(losses)
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
        while let Some(p) = q.front().unwrap() {
            q.remove_sent(&p.id).unwrap();
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
            q.push(p.clone()).unwrap(); // two overflow to disk
        }
        q.set_unreachable(true).unwrap();
        for p in &all[4..7] {
            q.push(p.clone()).unwrap(); // straight to disk
        }
        q.set_unreachable(false).unwrap();
        for p in &all[7..] {
            q.push(p.clone()).unwrap();
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
        q.push(all[0].clone()).unwrap();
        let sending = q.front().unwrap().unwrap();
        for p in &all[1..] {
            q.push(p.clone()).unwrap(); // overflow moves payloads 0 and 1 to disk meanwhile
        }
        q.remove_sent(&sending.id).unwrap();
        assert_eq!(drain(&mut q), all[1..]);
    }

    #[test]
    fn without_a_disk_buffer_memory_overflow_drops_the_oldest() {
        let one = payload(0).size();
        let mut q = SendQueue::new(one * 2, None);
        let mut dropped = 0;
        for n in 0..5 {
            dropped += q.push(payload(n)).unwrap().memory_full;
        }
        assert_eq!(dropped, 3);
        let left: Vec<_> = drain(&mut q).into_iter().map(|p| p.body).collect();
        assert_eq!(left, [payload(3).body, payload(4).body]);
    }
}
