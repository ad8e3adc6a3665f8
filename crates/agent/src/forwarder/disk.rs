//! The forwarder's disk buffer: payloads kept in files while the server cannot be reached.
//!
//! One file per payload, named by a sequence number so that directory order is send
//! order. A file is written under a temporary name and renamed into place, so a crash never
//! leaves a half-written payload that looks whole. When the buffer would pass its size cap
//! the oldest payloads are deleted and counted.

use std::collections::VecDeque;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::Payload;

const MAGIC: &str = "dogwatch-payload v1";
const SUFFIX: &str = ".payload";

/// Payloads on disk, oldest first.
#[derive(Debug)]
pub struct DiskBuffer {
    dir: PathBuf,
    max_bytes: u64,
    files: VecDeque<(u64, u64)>,
    bytes: u64,
    next_seq: u64,
}

/// What [`DiskBuffer::push_back`] had to delete to make room.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Evicted {
    /// Payloads deleted.
    pub payloads: u64,
}

impl DiskBuffer {
    /// Opens (creating if needed) the buffer in `dir`, picking up payloads left by an
    /// earlier run and removing unfinished temporary files.
    pub fn open(dir: &Path, max_bytes: u64) -> io::Result<DiskBuffer> {
        fs::create_dir_all(dir)?;
        let mut files = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if is_own_tmp(name) {
                let _ = fs::remove_file(entry.path());
            } else if let Some(seq) = name.strip_suffix(SUFFIX).and_then(|s| s.parse::<u64>().ok()) {
                files.push((seq, entry.metadata()?.len()));
            }
        }
        files.sort_unstable();
        let bytes = files.iter().map(|(_, size)| size).sum();
        let next_seq = files.last().map_or(0, |(seq, _)| seq + 1);
        Ok(DiskBuffer {
            dir: dir.to_path_buf(),
            max_bytes,
            files: files.into(),
            bytes,
            next_seq,
        })
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Payloads on disk.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no payload is on disk.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The size cap in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Appends a payload, deleting the oldest ones first if it would not fit. A payload
    /// larger than the whole buffer is not written and counts as evicted itself.
    pub fn push_back(&mut self, payload: &Payload) -> io::Result<Evicted> {
        let encoded = encode(payload);
        let size = encoded.len() as u64;
        let mut evicted = Evicted::default();
        if size > self.max_bytes {
            evicted.payloads += 1;
            return Ok(evicted);
        }
        while self.bytes + size > self.max_bytes {
            // The entry leaves the index even if its file cannot be deleted; the payload
            // counts as evicted either way.
            let _ = self.pop_front();
            evicted.payloads += 1;
        }
        let seq = self.next_seq;
        let tmp = self.dir.join(format!("{seq:020}.tmp"));
        let mut file = fs::File::create(&tmp)?;
        file.write_all(&encoded)?;
        file.sync_data()?;
        drop(file);
        fs::rename(&tmp, self.path(seq))?;
        self.next_seq += 1;
        self.files.push_back((seq, size));
        self.bytes += size;
        Ok(evicted)
    }

    /// Reads the oldest payload without removing it. A file that cannot be decoded is an
    /// `InvalidData` error; the caller removes it with [`DiskBuffer::pop_front`].
    pub fn front(&self) -> io::Result<Option<Payload>> {
        let Some(&(seq, _)) = self.files.front() else {
            return Ok(None);
        };
        let raw = fs::read(self.path(seq))?;
        decode(&raw).map(Some).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is not a dogwatch payload file", self.path(seq).display()),
            )
        })
    }

    /// Deletes the oldest payload. It leaves the buffer even when its file cannot be
    /// deleted (the error is returned), so one stuck file never blocks the buffer.
    pub fn pop_front(&mut self) -> io::Result<()> {
        if let Some((seq, size)) = self.files.pop_front() {
            self.bytes -= size;
            match fs::remove_file(self.path(seq)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    fn path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:020}{SUFFIX}"))
    }
}

/// Whether `name` is one of this buffer's unfinished files (`<20 digits>.tmp`); other files
/// in the directory are never touched.
fn is_own_tmp(name: &str) -> bool {
    name.strip_suffix(".tmp")
        .is_some_and(|seq| seq.len() == 20 && seq.bytes().all(|b| b.is_ascii_digit()))
}

fn encode(p: &Payload) -> Vec<u8> {
    let header = format!(
        "{MAGIC}\nid {}\nendpoint {}\ncontent-type {}\ncontent-encoding {}\n\n",
        p.id, p.endpoint, p.content_type, p.content_encoding
    );
    let mut out = Vec::with_capacity(header.len() + p.body.len());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&p.body);
    out
}

fn decode(raw: &[u8]) -> Option<Payload> {
    let split = raw.windows(2).position(|w| w == b"\n\n")?;
    let header = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = header.lines();
    if lines.next()? != MAGIC {
        return None;
    }
    let mut field = |name: &str| lines.next()?.strip_prefix(name)?.strip_prefix(' ').map(str::to_string);
    Some(Payload {
        id: field("id")?,
        endpoint: field("endpoint")?,
        content_type: field("content-type")?,
        content_encoding: field("content-encoding")?,
        body: Bytes::copy_from_slice(&raw[split + 2..]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CompressorKind;

    fn payload(n: u32) -> Payload {
        Payload::new(
            "/api/v1/check_run",
            "application/json",
            format!("[{n}]").as_bytes(),
            CompressorKind::Zstd,
        )
    }

    #[test]
    fn payloads_come_back_in_order_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let written: Vec<Payload> = (0..5).map(payload).collect();
        {
            let mut buffer = DiskBuffer::open(dir.path(), 1 << 20).unwrap();
            for p in &written {
                buffer.push_back(p).unwrap();
            }
        }
        let mut buffer = DiskBuffer::open(dir.path(), 1 << 20).unwrap();
        let mut read = Vec::new();
        while let Some(p) = buffer.front().unwrap() {
            read.push(p);
            buffer.pop_front().unwrap();
        }
        assert_eq!(read, written);
        assert_eq!(buffer.bytes(), 0);
    }

    #[test]
    fn a_full_buffer_evicts_the_oldest_payloads() {
        let dir = tempfile::tempdir().unwrap();
        let one = encode(&payload(0)).len() as u64;
        let mut buffer = DiskBuffer::open(dir.path(), one * 3).unwrap();
        let mut evicted = 0;
        for n in 0..5 {
            evicted += buffer.push_back(&payload(n)).unwrap().payloads;
        }
        assert_eq!((evicted, buffer.len()), (2, 3));
        let first = buffer.front().unwrap().unwrap();
        assert_eq!(first.body, payload(2).body);
    }

    #[test]
    fn a_payload_bigger_than_the_buffer_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut buffer = DiskBuffer::open(dir.path(), 10).unwrap();
        assert_eq!(buffer.push_back(&payload(1)).unwrap().payloads, 1);
        assert!(buffer.is_empty());
    }

    #[test]
    fn leftover_temporary_files_are_removed_and_corrupt_files_reported() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("00000000000000000007.tmp"), b"half").unwrap();
        fs::write(dir.path().join("00000000000000000003.payload"), b"garbage").unwrap();
        fs::write(dir.path().join("someone-elses.tmp"), b"keep me").unwrap();
        let buffer = DiskBuffer::open(dir.path(), 1 << 20).unwrap();
        assert!(!dir.path().join("00000000000000000007.tmp").exists());
        assert!(
            dir.path().join("someone-elses.tmp").exists(),
            "files that are not the buffer's are left alone"
        );
        assert_eq!(buffer.front().unwrap_err().kind(), io::ErrorKind::InvalidData);
    }

    proptest::proptest! {
        #[test]
        fn any_file_content_reads_back_as_a_payload_or_as_invalid_data(raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200), keep_header in proptest::prelude::any::<bool>()) {
            let mut content = if keep_header { encode(&payload(1)) } else { Vec::new() };
            content.extend_from_slice(&raw);
            if let Some(decoded) = decode(&content) {
                proptest::prop_assert!(content.starts_with(MAGIC.as_bytes()));
                proptest::prop_assert!(!decoded.id.contains('\n'));
            }
        }
    }
}
