//! Clients for the OpenStack services Magnum talks to over HTTP.
//!
//! - [`keystone`]: service authentication, token validation (keystonemiddleware's
//!   contract) and project look-ups;
//! - [`token_cache`]: the bounded in-process cache of validated tokens;
//! - [`jws`]: offline signature/expiry check of Keystone JWS tokens;
//! - [`catalog`]: endpoints from a token's service catalog;
//! - [`cloud`]: the Glance, Nova and Neutron look-ups the API makes with the user's token.

pub mod catalog;
pub mod cloud;
pub mod heat;
pub mod jws;
pub mod keystone;
pub mod token_cache;

use std::time::Duration;

/// An HTTP client for OpenStack services: rustls (ring), no proxies for loopback,
/// bounded timeouts.
pub fn http_client(timeout: Duration, insecure: bool) -> Result<reqwest::Client, reqwest::Error> {
    crate::tls::init();
    reqwest::Client::builder()
        .connect_timeout(timeout)
        .timeout(timeout + Duration::from_secs(20))
        .danger_accept_invalid_certs(insecure)
        .pool_max_idle_per_host(32)
        // Below the keep-alive of the WSGI servers OpenStack services run behind
        // (gunicorn: 2 s), so a pooled connection is not reused after the server closed it.
        .pool_idle_timeout(Duration::from_millis(1500))
        .user_agent(concat!("magnum-rs/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Sends an idempotent request, retrying twice (with a short backoff) when it
/// could not be sent or the connection broke: a GET lost to a closed keep-alive
/// connection or a restarting service is safe to repeat.
pub async fn send_idempotent(
    request: impl Fn() -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, reqwest::Error> {
    let mut attempt = 0u64;
    loop {
        match request().send().await {
            Err(e) if attempt < 2 && (e.is_connect() || e.is_request() || e.is_timeout()) => {
                attempt += 1;
                tracing::debug!(error = %e, attempt, "request failed, retrying");
                tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
            }
            other => return other,
        }
    }
}
