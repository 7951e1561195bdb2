//! A stand-in for a cluster's Kubernetes API, for the health-polling test: HTTPS with a server
//! certificate the cluster's CA signed (through Magnum's `POST /v1/certificates`), client
//! certificates required and checked against that CA (as kube-apiserver does), answering
//! `/healthz` and `/api/v1/nodes` with one node whose Ready condition the test sets.
//!
//! A stand-in because no Kubernetes runs on the nodes yet: they are real, but their Kubernetes
//! bootstrap is the next step. It listens on this machine; the test forwards the master node's
//! port 6443 to it (socat in the node), so the conductor reaches it at the cluster's
//! `api_address` as it would reach kube-apiserver.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};

/// The name of the one node the stand-in reports.
pub const NODE: &str = "node-0";

/// A running stand-in; stops when dropped.
#[derive(Debug)]
pub struct KubeApi {
    addr: SocketAddr,
    ready: Arc<AtomicBool>,
    served: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl KubeApi {
    /// Listens on `addr` with `cert_pem` (leaf first) and `key_pem`, accepting only clients with
    /// a certificate `client_ca_pem` signed.
    pub fn start(
        addr: SocketAddr,
        cert_pem: &str,
        key_pem: &str,
        client_ca_pem: &str,
    ) -> Result<KubeApi> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow!("server certificate: {e:?}"))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| anyhow!("server key: {e:?}"))?;
        let mut roots = RootCertStore::empty();
        for ca in CertificateDer::pem_slice_iter(client_ca_pem.as_bytes()) {
            roots
                .add(ca.map_err(|e| anyhow!("client CA: {e:?}"))?)
                .context("client CA")?;
        }
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .context("client verifier")?;
        let config = Arc::new(
            ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()?
                .with_client_cert_verifier(verifier)
                .with_single_cert(certs, key)
                .context("server certificate")?,
        );
        let listener = TcpListener::bind(addr).with_context(|| format!("bind {addr}"))?;
        listener.set_nonblocking(true)?;
        let api = KubeApi {
            addr: listener.local_addr()?,
            ready: Arc::new(AtomicBool::new(true)),
            served: Arc::new(AtomicUsize::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let (ready, served, stop) = (api.ready.clone(), api.served.clone(), api.stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (config, ready, served) =
                            (config.clone(), ready.clone(), served.clone());
                        std::thread::spawn(move || {
                            if serve(stream, config, &ready).is_ok() {
                                served.fetch_add(1, Ordering::Relaxed);
                            }
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        });
        Ok(api)
    }

    /// Where it listens (port 0 at start picks a free one).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sets the node's Ready condition.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// Requests answered to a client that passed the TLS handshake (so showed a certificate
    /// of the cluster's CA).
    pub fn served(&self) -> usize {
        self.served.load(Ordering::Relaxed)
    }
}

impl Drop for KubeApi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One request on one connection (the client is told to close it).
fn serve(stream: TcpStream, config: Arc<ServerConfig>, ready: &AtomicBool) -> Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let conn = ServerConnection::new(config)?;
    let mut tls = StreamOwned::new(conn, stream);
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tls.read(&mut buf)?;
        if n == 0 {
            return Err(anyhow!("connection closed before a request"));
        }
        request.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&request);
    let path = text.split_whitespace().nth(1).unwrap_or("/");
    let (status, body) = match path {
        "/healthz" => ("200 OK", "ok".to_owned()),
        "/api/v1/nodes" => {
            let state = if ready.load(Ordering::Relaxed) {
                "True"
            } else {
                "False"
            };
            let nodes = serde_json::json!({"kind": "NodeList", "items": [{
                "metadata": {"name": NODE},
                "status": {"conditions": [{"type": "Ready", "status": state}]}}]});
            ("200 OK", nodes.to_string())
        }
        _ => ("404 Not Found", "{}".to_owned()),
    };
    let answer = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(answer.as_bytes())?;
    tls.conn.send_close_notify();
    tls.flush()?;
    Ok(())
}
