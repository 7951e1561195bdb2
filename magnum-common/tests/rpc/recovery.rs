//! A broker restart: clients fail fast while it is down, then client and server
//! come back by themselves (queues and exchanges redeclared). The test runs a
//! broker of its own with devstack/lib/services.sh under MAGNUM_TEST_SERVICES_DIR.

use super::*;
use magnum_common::rpc::RpcError;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

struct Broker {
    dir: PathBuf,
    port: u16,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../devstack/lib/services.sh")
}

fn port_free(port: u32) -> bool {
    u16::try_from(port).is_ok_and(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
}

impl Broker {
    /// A port whose AMQP, distribution (+20000) and epmd (+21000) ports are free.
    fn new(base: &str) -> Self {
        let preferred: u32 = std::env::var("MAGNUM_TEST_RESTART_RABBIT_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(27_999);
        let port = std::iter::once(preferred)
            .chain((27_100..27_999).rev())
            .find(|p| port_free(*p) && port_free(p + 20_000) && port_free(p + 21_000))
            .expect("a free port for a private RabbitMQ");
        let port = u16::try_from(port).unwrap();
        Self {
            dir: PathBuf::from(base).join("rpc-restart"),
            port,
        }
    }

    fn run(&self, action: &str) -> String {
        let out = Command::new("bash")
            .arg(script())
            .args([action, self.dir.to_str().unwrap(), "rabbitmq"])
            .env("MAGNUM_RABBIT_PORT", self.port.to_string())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "services.sh {action} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    async fn start(&self) -> String {
        let me = Self {
            dir: self.dir.clone(),
            port: self.port,
        };
        let stdout = tokio::task::spawn_blocking(move || me.run("start"))
            .await
            .unwrap();
        let line = stdout
            .lines()
            .find(|l| l.starts_with("READY rabbitmq"))
            .expect("READY line");
        line.split("url=").nth(1).unwrap().trim().to_owned()
    }

    async fn stop(&self) {
        let me = Self {
            dir: self.dir.clone(),
            port: self.port,
        };
        tokio::task::spawn_blocking(move || me.run("stop"))
            .await
            .unwrap();
    }
}

/// Stops the private broker even when the test fails.
struct StopOnDrop(PathBuf, u16);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .args(["stop", self.0.to_str().unwrap_or_default(), "rabbitmq"])
            .env("MAGNUM_RABBIT_PORT", self.1.to_string())
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_and_server_survive_a_broker_restart() {
    let Ok(base) = std::env::var("MAGNUM_TEST_SERVICES_DIR") else {
        eprintln!("SKIP broker restart: MAGNUM_TEST_SERVICES_DIR is not set");
        return;
    };
    let broker = Broker::new(&base);
    let _guard = StopOnDrop(broker.dir.clone(), broker.port);
    let url = broker.start().await;
    let n = names("restart");
    let (conductor_side, api_side) = (transport(&url).await, transport(&url).await);
    let fanouts = Arc::new(AtomicUsize::new(0));
    let f = fanouts.clone();
    let inner = conductor_handler("h1");
    let handler = move |ctx: Value, method: String, args: Value| -> HandlerFuture {
        if method == "tick" {
            f.fetch_add(1, SeqCst);
        }
        inner(ctx, method, args)
    };
    let _server = start_server(&conductor_side, server_options(&n, "h1", 4), handler).await;
    let c = client(&api_side, &n);
    let ping = || {
        c.call(
            json!({}),
            "ping_conductor",
            json!({}),
            Some(Duration::from_secs(3)),
        )
    };
    assert_eq!(ping().await.unwrap(), json!(true));

    broker.stop().await;
    let started = std::time::Instant::now();
    let err = ping().await.unwrap_err();
    assert!(matches!(err, RpcError::Transport(_)), "{err:?}");
    let err = c.cast(json!({}), "tick", json!({})).await.unwrap_err();
    assert!(matches!(err, RpcError::Transport(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );

    let restarted = broker.start().await;
    assert_eq!(restarted, url);
    let back = std::time::Instant::now();
    let mut last = None;
    while back.elapsed() < Duration::from_secs(60) {
        match ping().await {
            Ok(v) => {
                last = Some(Ok(v));
                break;
            }
            Err(e) => last = Some(Err(e)),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        last.unwrap().unwrap(),
        json!(true),
        "no successful call after the restart"
    );
    eprintln!(
        "calls work again {:?} after the broker answered",
        back.elapsed()
    );
    assert!(conductor_side.is_connected() && api_side.is_connected());
    // The fanout exchange and queue were redeclared too.
    c.fanout_cast(json!({}), "tick", json!({})).await.unwrap();
    assert!(eventually(Duration::from_secs(5), || fanouts.load(SeqCst) == 1).await);
}
