//! Certificates and keys from PEM files or inline data, and the rustls configurations built
//! from them: the apiserver's (client certificates required), and the clients' towards etcd
//! and towards the apiserver (mutual TLS, trusting only the given CA).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// A certificate, key or TLS setting that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// PEM data without a usable certificate or key.
    #[error("{what}: {detail}")]
    Pem {
        /// Which input.
        what: String,
        /// What went wrong.
        detail: String,
    },
    /// rustls refused the certificates or key.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client-certificate verifier could not be built.
    #[error("client CA: {0}")]
    Verifier(String),
}

/// Reads a whole file, naming it in the error.
pub fn read_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Every certificate in PEM data (at least one).
pub fn certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            what: what.to_string(),
            detail: format!("{e:?}"),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            what: what.to_string(),
            detail: "no certificate found".into(),
        });
    }
    Ok(certs)
}

/// The private key in PEM data (PKCS#8, PKCS#1 or SEC1).
pub fn key(pem: &[u8], what: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| TlsError::Pem {
        what: what.to_string(),
        detail: format!("{e:?}"),
    })
}

/// A root store holding the CA certificates in PEM data.
pub fn roots(pem: &[u8], what: &str) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    for cert in certs(pem, what)? {
        store.add(cert)?;
    }
    Ok(store)
}

/// The apiserver's TLS: its certificate and key, and client certificates required and
/// verified against the client CA.
pub fn server_config(
    cert_pem: &[u8],
    key_pem: &[u8],
    client_ca_pem: &[u8],
) -> Result<ServerConfig, TlsError> {
    let verifier = WebPkiClientVerifier::builder(Arc::new(roots(client_ca_pem, "client CA")?))
        .build()
        .map_err(|e| TlsError::Verifier(e.to_string()))?;
    Ok(ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            certs(cert_pem, "TLS certificate")?,
            key(key_pem, "TLS key")?,
        )?)
}

/// A client's TLS: trusting the CA, presenting the certificate and key when given.
pub fn client_config(
    ca_pem: &[u8],
    identity: Option<(&[u8], &[u8])>,
) -> Result<ClientConfig, TlsError> {
    let builder = ClientConfig::builder().with_root_certificates(roots(ca_pem, "CA")?);
    Ok(match identity {
        Some((cert, key_pem)) => builder.with_client_auth_cert(
            certs(cert, "client certificate")?,
            key(key_pem, "client key")?,
        )?,
        None => builder.with_no_client_auth(),
    })
}

/// The user (CN) and groups (O values) of a client certificate, as Kubernetes reads them.
pub fn subject(cert: &CertificateDer<'_>) -> Option<(String, Vec<String>)> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let subject = parsed.subject();
    let user = subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default()
        .to_string();
    let groups = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok().map(str::to_string))
        .collect();
    Some((user, groups))
}
