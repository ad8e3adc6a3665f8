//! The DogStatsD sockets: UDP (`dogstatsd_port`) and a Unix datagram socket
//! (`dogstatsd_socket`). Each is read by a thread of its own that hands every datagram to the
//! aggregator; a datagram is read whole up to `dogstatsd_buffer_size` bytes (longer ones are cut
//! by the kernel, as in Datadog's agent).

use std::io::ErrorKind;
use std::net::UdpSocket;
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Shared;

/// How often a reader checks whether it should stop.
const STOP_POLL: Duration = Duration::from_millis(100);

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

impl SocketCounts {
    fn read(&self, len: usize) {
        self.packets.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(len as u64, Ordering::Relaxed);
    }
}

/// Something a reader thread can receive datagrams from.
pub trait DatagramSource: Send + 'static {
    /// Reads one datagram into `buf`, waiting at most [`STOP_POLL`].
    fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize>;
}

impl DatagramSource for UdpSocket {
    fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        UdpSocket::recv(self, buf)
    }
}

impl DatagramSource for UnixDatagram {
    fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        UnixDatagram::recv(self, buf)
    }
}

/// Starts a thread that reads `source` until `stop` is set; `counts` picks the socket's
/// counters out of the shared state.
pub fn spawn_reader<S: DatagramSource>(
    name: &str,
    source: S,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    counts: fn(&Shared) -> &SocketCounts,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(name.into()).spawn(move || {
        let mut buf = vec![0u8; shared.settings.buffer_size];
        while !stop.load(Ordering::Relaxed) {
            match source.recv(&mut buf) {
                Ok(len) => {
                    counts(&shared).read(len);
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs() as i64);
                    shared.aggregator().add_datagram(&buf[..len], now);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(e) => {
                    counts(&shared).read_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(error = %e, "A DogStatsD read failed.");
                    std::thread::sleep(STOP_POLL);
                }
            }
        }
    })
}

/// Sets the read timeout that lets a reader notice `stop`, and the receive buffer size when
/// configured (`dogstatsd_so_rcvbuf`; the kernel may cap it at `net.core.rmem_max`).
pub fn prepare<S: std::os::fd::AsFd>(socket: &S, so_rcvbuf: usize) -> std::io::Result<()> {
    let timeout = rustix::net::sockopt::set_socket_timeout;
    timeout(socket, rustix::net::sockopt::Timeout::Recv, Some(STOP_POLL))?;
    if so_rcvbuf > 0 {
        rustix::net::sockopt::set_socket_recv_buffer_size(socket, so_rcvbuf)?;
    }
    Ok(())
}
