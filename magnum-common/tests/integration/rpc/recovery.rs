//! A broker restart: clients fail fast while it is down, then client and server
//! come back by themselves (queues and exchanges redeclared). The test runs a
//! broker of its own with devstack/lib/services.sh under MAGNUM_TEST_SERVICES_DIR
//! (else MAGNUM_TEST_DIR, which scripts/test.sh sets), on three free ports the
//! kernel picks (a throwaway node, ~10 s cold start), or on
//! MAGNUM_TEST_RESTART_RABBIT_PORT and the next two (data kept: ~5 s warm starts).

use super::*;
use magnum_common::rpc::RpcError;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

struct Broker {
    dir: PathBuf,
    /// AMQP, Erlang distribution and epmd ports.
    ports: [u16; 3],
    /// Ports picked by the kernel: a fresh node, whose directory goes away afterwards.
    throwaway: bool,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../devstack/lib/services.sh")
}

fn port_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

impl Broker {
    /// `MAGNUM_TEST_RESTART_RABBIT_PORT=P` asks for ports P, P+1 and P+2 (and keeps the
    /// broker's data between runs: warm starts); without it the kernel picks three free ports.
    fn new(base: &str) -> Self {
        let preferred = std::env::var("MAGNUM_TEST_RESTART_RABBIT_PORT")
            .ok()
            .filter(|p| !p.is_empty());
        let (ports, throwaway) = match preferred {
            Some(p) => {
                let p: u16 = p
                    .parse()
                    .expect("MAGNUM_TEST_RESTART_RABBIT_PORT is not a port number");
                let next = |d: u16| p.checked_add(d).expect("a port number below 65534");
                let ports = [p, next(1), next(2)];
                assert!(
                    ports.iter().all(|p| port_free(*p)),
                    "MAGNUM_TEST_RESTART_RABBIT_PORT={p}: ports {ports:?} must be free"
                );
                (ports, false)
            }
            None => {
                let listeners: Vec<_> = (0..3)
                    .map(|_| std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap())
                    .collect();
                let ports = [0, 1, 2].map(|i| listeners[i].local_addr().unwrap().port());
                (ports, true)
            }
        };
        let dir = if throwaway {
            format!("rpc-restart-{}", ports[0])
        } else {
            "rpc-restart".to_owned()
        };
        Self {
            dir: PathBuf::from(base).join(dir),
            ports,
            throwaway,
        }
    }

    /// services.sh ACTION DIR rabbitmq, with all three ports set (never inherited).
    fn command(dir: &std::path::Path, ports: [u16; 3], action: &str) -> Command {
        let mut cmd = Command::new("bash");
        cmd.arg(script())
            .args([action, dir.to_str().unwrap(), "rabbitmq"])
            .env("MAGNUM_RABBIT_PORT", ports[0].to_string())
            .env("MAGNUM_RABBIT_DIST_PORT", ports[1].to_string())
            .env("MAGNUM_RABBIT_EPMD_PORT", ports[2].to_string());
        cmd
    }

    fn run(&self, action: &str) -> String {
        let out = Self::command(&self.dir, self.ports, action)
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
            ..*self
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

    /// `rabbitmqctl stop_app` or `start_app` on the private node, through the
    /// wrapper services.sh wrote (it knows the node, its epmd port and cookie).
    async fn app(&self, action: &str) {
        let ctl = self.dir.join("rabbitmq/bin/rabbitmqctl");
        let out = tokio::process::Command::new(ctl)
            .args([action, "--quiet"])
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "rabbitmqctl {action} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Stops the private broker even when the test fails (and removes a throwaway one).
struct StopOnDrop(PathBuf, [u16; 3], bool);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let stopped = Broker::command(&self.0, self.1, "stop")
            .output()
            .is_ok_and(|o| o.status.success());
        if stopped && self.2 {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_and_server_survive_a_broker_restart() {
    let var = |k: &str| std::env::var(k).ok().filter(|d| !d.is_empty());
    let Some(base) = var("MAGNUM_TEST_SERVICES_DIR").or_else(|| var("MAGNUM_TEST_DIR")) else {
        assert!(
            std::env::var("MAGNUM_TEST_REQUIRE_RABBIT").as_deref() != Ok("1"),
            "MAGNUM_TEST_REQUIRE_RABBIT=1 but neither MAGNUM_TEST_SERVICES_DIR nor \
             MAGNUM_TEST_DIR is set (a directory for the test's own broker)"
        );
        eprintln!("SKIP broker restart: MAGNUM_TEST_SERVICES_DIR / MAGNUM_TEST_DIR is not set");
        return;
    };
    let broker = Broker::new(&base);
    let _guard = StopOnDrop(broker.dir.clone(), broker.ports, broker.throwaway);
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

    // The broker goes down: its application stops (the Erlang VM stays up, which
    // makes the restart ~3x faster than stopping the process). For clients that is
    // a full restart: connections closed by the broker, the port refusing
    // connections, and every non-durable queue and exchange gone afterwards.
    broker.app("stop_app").await;
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

    broker.app("start_app").await;
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
