//! The DogStatsD sockets: UDP (`dogstatsd_port`) and a Unix datagram socket
//! (`dogstatsd_socket`).
//!
//! Each socket has a reader thread that only drains it: it reads a datagram (waiting), then
//! whatever else is already queued without waiting, up to a batch, and hands the batch to the
//! aggregator thread over a bounded channel. Parsing and aggregating happen there, so the
//! kernel's receive buffer is emptied as fast as the socket can be read, and a burst is held
//! in the channel (at most [`QUEUED_BATCHES`] batches) rather than dropped by the kernel.
//! Batch buffers go back to their reader to be used again. A datagram is read whole up to
//! `dogstatsd_buffer_size` bytes (longer ones are cut, as in Datadog's agent).

use std::io::ErrorKind;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::net::RecvFlags;

use super::Shared;

/// How often a waiting reader checks whether it should stop.
const STOP_POLL: Duration = Duration::from_millis(100);
/// Datagrams per batch at most.
const BATCH_DATAGRAMS: usize = 64;
/// Bytes of datagrams per batch at most (plus one datagram's room).
const BATCH_BYTES: usize = 64 * 1024;
/// Batches waiting for the aggregator at most; beyond, readers wait and the kernel buffers.
const QUEUED_BATCHES: usize = 128;

/// Packets and bytes read by one socket kind, for `dogwatch status`.
#[derive(Debug, Default)]
pub struct SocketCounts {
    /// Datagrams read.
    pub packets: AtomicU64,
    /// Bytes read.
    pub bytes: AtomicU64,
    /// Reads that failed.
    pub read_errors: AtomicU64,
}

/// Datagrams read together: their bytes back to back, and where each ends.
pub struct Batch {
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl Batch {
    fn new(buffer_size: usize) -> Batch {
        Batch {
            data: vec![0; BATCH_BYTES + buffer_size],
            ends: Vec::with_capacity(BATCH_DATAGRAMS),
        }
    }

    fn datagrams(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(start, end)| &self.data[start..end])
    }
}

/// The channel from readers to the aggregator thread.
pub type BatchSender = SyncSender<(Batch, SyncSender<Batch>)>;

/// Starts the aggregator thread; readers send it batches through the returned sender. It ends
/// when every sender is dropped.
pub fn spawn_aggregator(shared: Arc<Shared>) -> std::io::Result<(BatchSender, JoinHandle<()>)> {
    let (tx, rx) = sync_channel::<(Batch, SyncSender<Batch>)>(QUEUED_BATCHES);
    let thread = std::thread::Builder::new()
        .name("dogstatsd-aggregate".into())
        .spawn(move || {
            while let Ok((mut batch, give_back)) = rx.recv() {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64);
                {
                    let mut aggregator = shared.aggregator();
                    for datagram in batch.datagrams() {
                        aggregator.add_datagram(datagram, now);
                    }
                }
                batch.ends.clear();
                let _ = give_back.try_send(batch);
            }
        })?;
    Ok((tx, thread))
}

/// Starts a thread that drains `socket` into batches until `stop` is set; `counts` picks the
/// socket's counters out of the shared state.
pub fn spawn_reader(
    name: &str,
    socket: OwnedFd,
    shared: Arc<Shared>,
    to_aggregator: BatchSender,
    stop: Arc<AtomicBool>,
    counts: fn(&Shared) -> &SocketCounts,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(name.into()).spawn(move || {
        let buffer_size = shared.settings.buffer_size;
        let (give_back, free): (SyncSender<Batch>, Receiver<Batch>) = sync_channel(QUEUED_BATCHES + 1);
        while !stop.load(Ordering::Relaxed) {
            let mut batch = match free.try_recv() {
                Ok(batch) => batch,
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => Batch::new(buffer_size),
            };
            let mut flags = RecvFlags::empty();
            let mut len = 0;
            while batch.ends.len() < BATCH_DATAGRAMS && len < BATCH_BYTES {
                match rustix::net::recv(&socket, &mut batch.data[len..len + buffer_size], flags) {
                    Ok((n, _)) => {
                        len += n.min(buffer_size);
                        batch.ends.push(len);
                        // After the first datagram, take only what is already there.
                        flags = RecvFlags::DONTWAIT;
                    }
                    Err(e) => {
                        let e = std::io::Error::from(e);
                        if !matches!(
                            e.kind(),
                            ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                        ) {
                            counts(&shared).read_errors.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!(error = %e, "A DogStatsD read failed.");
                            std::thread::sleep(STOP_POLL);
                        }
                        break;
                    }
                }
            }
            if batch.ends.is_empty() {
                continue;
            }
            let c = counts(&shared);
            c.packets.fetch_add(batch.ends.len() as u64, Ordering::Relaxed);
            c.bytes.fetch_add(len as u64, Ordering::Relaxed);
            if to_aggregator.send((batch, give_back.clone())).is_err() {
                break;
            }
        }
    })
}

/// Sets the read timeout that lets a reader notice `stop`, and the receive buffer size when
/// configured (`dogstatsd_so_rcvbuf`: forced past `net.core.rmem_max` when the process may,
/// else capped by the kernel). Returns the receive buffer size in effect.
pub fn prepare<S: AsFd>(socket: &S, so_rcvbuf: usize) -> std::io::Result<usize> {
    use rustix::net::sockopt;
    sockopt::set_socket_timeout(socket, sockopt::Timeout::Recv, Some(STOP_POLL))?;
    if so_rcvbuf > 0 && sockopt::set_socket_recv_buffer_size_force(socket, so_rcvbuf).is_err() {
        sockopt::set_socket_recv_buffer_size(socket, so_rcvbuf)?;
    }
    Ok(sockopt::socket_recv_buffer_size(socket)?)
}
