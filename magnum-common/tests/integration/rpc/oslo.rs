//! Interop with the real Python oslo.messaging (scripts/oslo-peer/, venv from
//! `MAGNUM_TEST_OSLO_VENV`, made by scripts/oslo-peer/venv.sh): a Python client
//! calls our server, our client calls a Python server, and a Python notification
//! listener receives what our Notifier sends.

use super::*;
use magnum_common::rpc::{Notifier, RpcError};
use std::path::PathBuf;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::mpsc;

/// The venv's python, or `None` (after saying why) to skip.
fn python(test: &str) -> Option<PathBuf> {
    match std::env::var("MAGNUM_TEST_OSLO_VENV") {
        Ok(dir) if !dir.is_empty() => Some(PathBuf::from(dir).join("bin/python")),
        _ => {
            assert!(
                std::env::var("MAGNUM_TEST_REQUIRE_OSLO").as_deref() != Ok("1"),
                "MAGNUM_TEST_REQUIRE_OSLO=1 but MAGNUM_TEST_OSLO_VENV is not set"
            );
            eprintln!(
                "SKIP {test}: MAGNUM_TEST_OSLO_VENV is not set (scripts/oslo-peer/venv.sh DIR makes one)"
            );
            None
        }
    }
}

/// oslo wants `rabbit://`; `amqp://` would pick its AMQP 1.0 driver.
fn oslo_url(amqp_url: &str) -> String {
    format!("rabbit://{}", amqp_url.split_once("://").unwrap().1)
}

struct Peer {
    // Killed (by pid) when dropped.
    _child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Peer {
    fn spawn(python: &PathBuf, program: &str, url: &str, n: &Names, server: &str) -> Self {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/oslo-peer");
        let mut child = Command::new(python)
            .arg(dir.join(program))
            .args([
                "--url",
                &oslo_url(url),
                "--exchange",
                &n.exchange,
                "--topic",
                &n.topic,
            ])
            .args(["--server", server])
            // eventlet's deprecation warnings are noise here; tracebacks still show
            .env("PYTHONWARNINGS", "ignore")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Self {
            _child: child,
            lines,
        }
    }

    /// The next JSON line the peer prints.
    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(60), self.lines.next_line())
            .await
            .expect("the Python peer said nothing for 60 s")
            .unwrap()
            .expect("the Python peer exited");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }
}

#[tokio::test]
async fn a_python_oslo_client_calls_our_server() {
    let (Some(url), Some(python)) = (rabbit_url("oslo_client"), python("oslo_client")) else {
        return;
    };
    let (t, n) = (transport(&url).await, names("osloclient"));
    let (tx, mut casts) = mpsc::unbounded_channel::<(Value, Value)>();
    let inner = conductor_handler("rust-conductor");
    let handler = move |ctx: Value, method: String, args: Value| -> HandlerFuture {
        if method == "record" {
            let _ = tx.send((ctx, args));
            return Box::pin(async { Ok(Value::Null) });
        }
        inner(ctx, method, args)
    };
    let _server = start_server(&t, server_options(&n, "rust-conductor", 4), handler).await;
    let mut peer = Peer::spawn(&python, "client.py", &url, &n, "rust-conductor");
    let mut steps = std::collections::HashMap::new();
    loop {
        let line = peer.next().await;
        let step = line["step"].as_str().unwrap().to_owned();
        if step == "done" {
            break;
        }
        steps.insert(step, line);
    }
    assert_eq!(steps["ping_conductor"]["result"], json!(true));
    let ctx = &steps["echo_context"]["result"];
    assert_eq!(ctx["user_id"], "u-py");
    assert_eq!(ctx["roles"], json!(["admin"]));
    assert_eq!(ctx["request_id"], "req-py");
    let err = &steps["cluster_create"]["error"];
    assert_eq!(err["type"], "RemoteError");
    assert_eq!(err["exc_type"], "NotSupported");
    assert_eq!(
        err["value"],
        "Creating a cluster of this kind is not supported."
    );
    let err = &steps["no_such_thing"]["error"];
    assert!(err.to_string().contains("NoSuchMethod"), "{err}");
    // Under oslo's call monitor (2 s) a 3 s handler only succeeds with our heartbeats.
    assert_eq!(steps["slow"]["result"], "slept");
    assert!(steps["slow"]["elapsed"].as_f64().unwrap() >= 3.0);
    assert_eq!(steps["whoami"]["result"], "rust-conductor");
    let mut got = Vec::new();
    for _ in 0..2 {
        let (ctx, args) = tokio::time::timeout(Duration::from_secs(10), casts.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ctx["project_id"], "p-py");
        got.push(args["what"].as_str().unwrap().to_owned());
    }
    got.sort();
    assert_eq!(got, ["cast", "fanout"]);
}

#[tokio::test]
async fn our_client_calls_a_python_oslo_server() {
    let (Some(url), Some(python)) = (rabbit_url("oslo_server"), python("oslo_server")) else {
        return;
    };
    let (t, n) = (transport(&url).await, names("osloserver"));
    let mut peer = Peer::spawn(&python, "server.py", &url, &n, "py-peer");
    assert_eq!(peer.next().await, json!({"ready": true}));
    let c = client(&t, &n);
    let ctx = json!({"user_id": "u-rs", "project_id": "p-rs", "is_admin": false});
    let got = c
        .call(ctx.clone(), "echo", json!({"value": {"k": [1, 2]}}), None)
        .await
        .unwrap();
    assert_eq!(got["value"], json!({"k": [1, 2]}));
    assert_eq!(got["ctxt"]["user_id"], "u-rs");
    assert_eq!(got["ctxt"]["is_admin"], false);
    let err = c
        .call(ctx.clone(), "fail", json!({}), None)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        RpcError::Remote {
            class: "ValueError".into(),
            module: "builtins".into(),
            message: "boom from python".into()
        }
    );
    let err = c
        .call(ctx.clone(), "nope", json!({}), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RpcError::Remote { ref class, .. } if class == "NoSuchMethod"),
        "{err:?}"
    );
    let who = c
        .to_server("py-peer")
        .call(ctx.clone(), "whoami", json!({}), None)
        .await
        .unwrap();
    assert_eq!(who, "py-peer");
    c.cast(ctx.clone(), "record", json!({"what": "rust-cast"}))
        .await
        .unwrap();
    let line = peer.next().await;
    assert_eq!(
        (line["cast"].as_str(), line["ctxt"]["user_id"].as_str()),
        (Some("rust-cast"), Some("u-rs"))
    );
    c.fanout_cast(ctx, "record", json!({"what": "rust-fanout"}))
        .await
        .unwrap();
    assert_eq!(peer.next().await["cast"], "rust-fanout");
}

#[tokio::test]
async fn a_python_oslo_listener_receives_our_notifications() {
    let (Some(url), Some(python)) = (rabbit_url("oslo_listener"), python("oslo_listener")) else {
        return;
    };
    let (t, n) = (transport(&url).await, names("oslolisten"));
    let mut peer = Peer::spawn(&python, "listener.py", &url, &n, "unused");
    assert_eq!(peer.next().await, json!({"ready": true}));
    let notifier = Notifier::new(&t, &n.exchange, vec![n.topic.clone()], "magnum.rust-host");
    let ctx = json!({"user_id": "u1", "project_id": "p1"});
    let payload = json!({"cluster": {"uuid": "c-1", "status": "CREATE_COMPLETE"}});
    notifier
        .info(&ctx, "magnum.cluster.create", payload.clone())
        .await
        .unwrap();
    let got = peer.next().await;
    assert_eq!(got["priority"], "info");
    assert_eq!(got["event_type"], "magnum.cluster.create");
    assert_eq!(got["publisher_id"], "magnum.rust-host");
    assert_eq!(got["payload"], payload);
    assert_eq!(got["ctxt"]["user_id"], "u1");
    assert_eq!(
        got["metadata"]["message_id"].as_str().map(str::len),
        Some(36)
    );
    assert!(got["metadata"]["timestamp"].as_str().unwrap().contains(' '));
    notifier
        .error(&ctx, "magnum.cluster.delete", json!({"x": 1}))
        .await
        .unwrap();
    let got = peer.next().await;
    assert_eq!(
        (got["priority"].as_str(), got["event_type"].as_str()),
        (Some("error"), Some("magnum.cluster.delete"))
    );
}
