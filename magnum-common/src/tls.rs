//! Process-wide TLS set-up.

/// Installs ring as rustls' crypto provider. Call first in every binary and test
/// harness: reqwest is built without a default provider. Idempotent.
pub fn init() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
