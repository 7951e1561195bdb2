//! Test support: the external tools (etcd, kubectl) from the environment, child processes
//! killed when dropped, free ports, polling, and HTTPS clients with a chosen certificate.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::pki::Pki;

fn required() -> bool {
    std::env::var("MAGNUM_TEST_REQUIRE_KUBE").is_ok_and(|v| v == "1")
}

fn tool(var: &str) -> Option<PathBuf> {
    match std::env::var(var).ok().filter(|v| !v.is_empty()) {
        Some(p) if Path::new(&p).exists() => Some(PathBuf::from(p)),
        other => {
            let why = match other {
                Some(p) => format!("{var}={p} does not exist"),
                None => format!("{var} is not set"),
            };
            assert!(!required(), "MAGNUM_TEST_REQUIRE_KUBE=1 but {why}");
            eprintln!("skipped: {why} (devstack/lib/kube-tools.sh provides it)");
            None
        }
    }
}

/// The etcd binary, or None (the test then returns early).
pub fn etcd_bin() -> Option<PathBuf> {
    tool("MAGNUM_TEST_ETCD_BIN")
}

/// The kubectl binary, or None.
pub fn kubectl_bin() -> Option<PathBuf> {
    tool("KUBECTL_BIN")
}

/// A free loopback port (free when asked; good enough for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped.
#[derive(Debug)]
pub struct Proc {
    child: Child,
}

impl Proc {
    /// Starts `cmd` with its output in `log`.
    pub fn spawn(mut cmd: Command, log: PathBuf) -> Proc {
        let out = std::fs::File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
        Proc { child }
    }

    /// Sends SIGTERM and waits for the exit; true when it exited 0.
    pub fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` until it gives a value or `secs` pass.
pub async fn wait_for<T, F, Fut>(what: &str, secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// An HTTPS client trusting `ca`, presenting `identity` (cert and key files) when given.
pub fn client(pki: &Pki, ca: &str, identity: Option<(&str, &str)>) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(&pki.read(ca)) {
        roots.add(c.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder().with_root_certificates(Arc::new(roots));
    let config = match identity {
        Some((cert, key)) => {
            let certs: Vec<_> = CertificateDer::pem_slice_iter(&pki.read(cert))
                .map(Result::unwrap)
                .collect();
            let key = PrivateKeyDer::from_pem_slice(&pki.read(key)).unwrap();
            builder.with_client_auth_cert(certs, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}
