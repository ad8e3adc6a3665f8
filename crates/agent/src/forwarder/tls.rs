//! How the forwarder's client checks the server's certificate on an https:// `dd_url`.
//!
//! By default the system's CAs are trusted (reqwest's `rustls-tls-native-roots`);
//! `tls_ca_cert` adds a private CA, `skip_ssl_validation` accepts any certificate. Under
//! `dogwatch up` the agent pins its own server's certificate instead: it talks to
//! `https://127.0.0.1:PORT`, which the certificate may not name, and a self-signed
//! certificate need not be a proper CA.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::ForwarderError;

/// How the server's certificate is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// A PEM file of CA certificates trusted besides the system's (`tls_ca_cert`).
    pub ca_cert: Option<PathBuf>,
    /// Accept any certificate (`skip_ssl_validation`).
    pub skip_validation: bool,
    /// A PEM file whose first certificate is the only one the server may present, whatever
    /// its name or issuer; the other two settings are then not used. `dogwatch up` pins its
    /// own server's `--tls-cert`.
    pub pinned_cert: Option<PathBuf>,
}

/// Applies `tls` to the client being built.
pub(super) fn configure(
    builder: reqwest::ClientBuilder,
    tls: &TlsSettings,
) -> Result<reqwest::ClientBuilder, ForwarderError> {
    if let Some(path) = &tls.pinned_cert {
        let cert = read_certs("the server's certificate (--tls-cert)", path)?.swap_remove(0);
        return Ok(builder.use_preconfigured_tls(pinned_config(cert)));
    }
    let mut builder = builder;
    if let Some(path) = &tls.ca_cert {
        const KEY: &str = "tls_ca_cert";
        let mut roots = rustls::RootCertStore::empty();
        for cert in read_certs(KEY, path)? {
            roots.add(cert.clone()).map_err(|e| ForwarderError::Tls {
                what: KEY,
                path: path.clone(),
                message: format!("holds a certificate that cannot be a trust anchor ({e})"),
            })?;
            let cert = reqwest::Certificate::from_der(&cert).map_err(ForwarderError::Client)?;
            builder = builder.add_root_certificate(cert);
        }
    }
    if tls.skip_validation {
        tracing::warn!(
            "skip_ssl_validation is true: the server's certificate is not checked, so anyone on the way can read and change what the agent sends."
        );
        builder = builder.danger_accept_invalid_certs(true);
    }
    Ok(builder)
}

/// The certificates of a PEM file, at least one.
fn read_certs(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, ForwarderError> {
    let fail = |message: String| ForwarderError::Tls {
        what,
        path: path.to_path_buf(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(format!("not a valid PEM file ({e})")))?;
    if certs.is_empty() {
        return Err(fail("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into()));
    }
    Ok(certs)
}

/// A client configuration that accepts exactly `cert` (TLS 1.2 and 1.3, ring).
fn pinned_config(cert: CertificateDer<'static>) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = PinnedCertificate {
        cert,
        algorithms: provider.signature_verification_algorithms,
    };
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth()
}

/// Accepts the one certificate it was given; the handshake's signatures are still checked,
/// so the server must hold that certificate's key.
#[derive(Debug)]
struct PinnedCertificate {
    cert: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Whether a request failed in the TLS layer (a certificate refused, a handshake failed):
/// rustls's error sits in the chain, inside an `io::Error` or two (tokio-rustls wraps it, and
/// hyper-rustls wraps that again), whose `source()` would skip it.
pub(super) fn is_tls_error(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.is::<rustls::Error>() {
            return true;
        }
        current = match e.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_that_is_missing_or_holds_no_certificate_names_the_key_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let settings = TlsSettings {
            ca_cert: Some(missing.clone()),
            ..TlsSettings::default()
        };
        let message = configure(reqwest::Client::builder(), &settings)
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with(&format!("cannot use tls_ca_cert {}: cannot read it", missing.display())),
            "{message}"
        );

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no PEM here\n").unwrap();
        let settings = TlsSettings {
            ca_cert: Some(empty.clone()),
            ..TlsSettings::default()
        };
        let message = configure(reqwest::Client::builder(), &settings)
            .unwrap_err()
            .to_string();
        assert!(message.contains("holds no PEM certificate"), "{message}");
        assert!(message.contains(&empty.display().to_string()), "{message}");
    }

    #[test]
    fn tls_errors_are_found_inside_io_errors() {
        let tls = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert!(is_tls_error(&tls));
        assert!(
            is_tls_error(&std::io::Error::other(tls)),
            "wrapped twice, as hyper-rustls does"
        );
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(!is_tls_error(&refused));
    }
}
