//! TLS on the server's port (`--tls-cert`, `--tls-key`), with rustls and its ring provider.
//!
//! [`load`] reads the PEM files once at start-up, so a missing file, a file that is not PEM or
//! a key that does not go with the certificate stops the server with an error naming the flag
//! and the file. [`TlsListener`] is what `axum::serve` accepts connections from: TCP accepts go
//! on while earlier handshakes run in their own tasks (each limited to
//! [`HANDSHAKE_TIMEOUT`]), so a slow or silent client never holds up the others, and graceful
//! shutdown works as with plain TCP. A client that speaks plain HTTP to the TLS port gets a
//! 400 that says so, as Go's servers answer, and the connection is closed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client may take to finish its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes in progress at most; past it, new connections wait in the kernel's backlog.
const MAX_PENDING_HANDSHAKES: usize = 512;

/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// The answer to a plain HTTP request on the TLS port.
const PLAIN_HTTP_ANSWER: &[u8] = b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server: this dogwatch server speaks TLS; use https://.\n";

/// The PEM files the server's port speaks TLS with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first (`--tls-cert`).
    pub cert: PathBuf,
    /// The private key of the leaf certificate: PKCS#8, PKCS#1 (RSA) or SEC1 (EC) (`--tls-key`).
    pub key: PathBuf,
}

/// The TLS files cannot be used.
#[derive(Debug, Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {flag} {path}: {source}")]
    Read {
        /// `--tls-cert` or `--tls-key`.
        flag: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not what its flag expects.
    #[error("{flag} {path}: {message}")]
    Invalid {
        /// `--tls-cert` or `--tls-key`.
        flag: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// rustls refused the pair (most often: the key is not the certificate's).
    #[error("cannot use the key {key} (--tls-key) with the certificate {cert} (--tls-cert): {source}")]
    Pair {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's error.
        source: rustls::Error,
    },
}

/// Reads the certificate chain and key and builds the server's TLS configuration (HTTP/1.1 by
/// ALPN, TLS 1.2 and 1.3, ring).
pub fn load(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let certs = read_certs(&files.cert)?;
    let key = read_key(&files.key)?;
    let pair_error = |source| TlsError::Pair {
        cert: files.cert.clone(),
        key: files.key.clone(),
        source,
    };
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(pair_error)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(pair_error)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read(flag: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        flag,
        path: path.to_path_buf(),
        source,
    })
}

fn invalid(flag: &'static str, path: &Path, message: String) -> TlsError {
    TlsError::Invalid {
        flag,
        path: path.to_path_buf(),
        message,
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    const FLAG: &str = "--tls-cert";
    let bytes = read(FLAG, path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(FLAG, path, format!("not a valid PEM file ({e})")))?;
    if certs.is_empty() {
        return Err(invalid(
            FLAG,
            path,
            "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    const FLAG: &str = "--tls-key";
    let bytes = read(FLAG, path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| {
        let message = match e {
            pem::Error::NoItemsFound => {
                "holds no PEM private key (-----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)".into()
            }
            e => format!("not a valid PEM private key ({e})"),
        };
        invalid(FLAG, path, message)
    })
}

/// A TCP listener whose connections are TLS streams once their handshake is done.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: JoinSet<Option<(TlsStream<TcpStream>, SocketAddr)>>,
}

impl TlsListener {
    /// Serves TLS with `config` on connections accepted by `tcp`.
    pub fn new(tcp: TcpListener, config: Arc<rustls::ServerConfig>) -> TlsListener {
        TlsListener {
            tcp,
            acceptor: TlsAcceptor::from(config),
            handshakes: JoinSet::new(),
        }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            // Both branches are cancel-safe: axum drops this future when shutdown comes, and
            // dropping the listener then aborts the handshakes still running.
            tokio::select! {
                accepted = self.tcp.accept(), if self.handshakes.len() < MAX_PENDING_HANDSHAKES => match accepted {
                    Ok((stream, addr)) => {
                        self.handshakes.spawn(handshake(self.acceptor.clone(), stream, addr));
                    }
                    Err(e) => accept_error(e).await,
                },
                Some(done) = self.handshakes.join_next() => {
                    if let Ok(Some(connection)) = done {
                        return connection;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Completes one TLS handshake; `None` when the client goes away, is too slow, fails the
/// handshake or speaks plain HTTP (it is told so first).
async fn handshake(
    acceptor: TlsAcceptor,
    mut stream: TcpStream,
    addr: SocketAddr,
) -> Option<(TlsStream<TcpStream>, SocketAddr)> {
    let mut first = [0u8; 1];
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.peek(&mut first)).await {
        Ok(Ok(1)) if first[0] == TLS_HANDSHAKE_RECORD => {}
        Ok(Ok(1)) => {
            tracing::debug!(client = %addr, "A client spoke plain HTTP (or something else) to the TLS port.");
            if first[0].is_ascii_alphabetic() {
                answer_plain_http(&mut stream).await;
            }
            return None;
        }
        _ => return None,
    }
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some((tls, addr)),
        Ok(Err(e)) => {
            tracing::debug!(client = %addr, error = %e, "A TLS handshake failed.");
            None
        }
        Err(_) => {
            tracing::debug!(client = %addr, "A TLS handshake took longer than {HANDSHAKE_TIMEOUT:?}.");
            None
        }
    }
}

/// Answers 400, then reads what the client still sends until it closes (at most a second), so
/// that closing with unread bytes does not reset the connection before the client has read
/// the answer (a request written in several pieces arrives after the first one).
async fn answer_plain_http(stream: &mut TcpStream) {
    let mut request = [0u8; 8192];
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.read(&mut request).await;
        let _ = stream.write_all(PLAIN_HTTP_ANSWER).await;
        let _ = stream.shutdown().await;
        while matches!(stream.read(&mut request).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// As axum's own TCP listener: connection errors are the client's and are skipped; others
/// (out of file descriptors) are logged and accepting pauses for a second.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset) {
        return;
    }
    tracing::error!(error = %e, "Accepting a connection failed; trying again in a second.");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn error(files: &TlsFiles) -> String {
        load(files).unwrap_err().to_string()
    }

    #[test]
    fn a_missing_or_non_pem_file_names_the_flag_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let text = write(dir.path(), "text.pem", "not a certificate\n");
        let files = TlsFiles {
            cert: missing.clone(),
            key: text.clone(),
        };
        let message = error(&files);
        assert!(
            message.starts_with(&format!("cannot read --tls-cert {}", missing.display())),
            "{message}"
        );

        let files = TlsFiles {
            cert: text.clone(),
            key: text.clone(),
        };
        let message = error(&files);
        assert!(
            message.contains(&format!("--tls-cert {}: holds no PEM certificate", text.display())),
            "{message}"
        );

        let bad = write(
            dir.path(),
            "bad.pem",
            "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
        );
        let files = TlsFiles {
            cert: bad.clone(),
            key: text.clone(),
        };
        let message = error(&files);
        assert!(
            message.contains(&format!("--tls-cert {}: not a valid PEM file", bad.display())),
            "{message}"
        );
    }
}
