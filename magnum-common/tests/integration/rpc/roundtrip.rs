//! Call, cast and fanout round trips; failures, timeouts and an unreachable broker.

use super::*;
use magnum_common::rpc::RpcError;
use std::sync::Mutex;
use tokio::sync::mpsc;

#[tokio::test]
async fn call_returns_the_result_and_the_context_arrives() {
    let Some(url) = rabbit_url("call_returns_the_result") else {
        return;
    };
    let (t, n) = (transport(&url).await, names("call"));
    let _server = start_server(&t, server_options(&n, "h1", 4), conductor_handler("h1")).await;
    let c = client(&t, &n);
    let ctx = json!({"user_id": "u1", "project_id": "p1", "roles": ["member"]});
    let pong = c
        .call(ctx.clone(), "ping_conductor", json!({}), None)
        .await
        .unwrap();
    assert_eq!(pong, json!(true));
    let echo = c
        .call(ctx.clone(), "echo", json!({"x": [1, "two"]}), None)
        .await
        .unwrap();
    assert_eq!(echo, json!({"args": {"x": [1, "two"]}, "ctx": ctx}));
    assert!(c.reply_queue().starts_with("reply_") && c.reply_queue().len() == 38);
}

#[tokio::test]
async fn remote_errors_and_unknown_methods_come_back_typed() {
    let Some(url) = rabbit_url("remote_errors") else {
        return;
    };
    let (t, n) = (transport(&url).await, names("remote"));
    let _server = start_server(&t, server_options(&n, "h1", 4), conductor_handler("h1")).await;
    let c = client(&t, &n);
    let err = c
        .call(json!({}), "cluster_create", json!({}), None)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        RpcError::Remote {
            class: "NotSupported".into(),
            module: "magnum.common.exception".into(),
            message: "Creating a cluster of this kind is not supported.".into(),
        }
    );
    let err = c
        .call(json!({}), "bogus", json!({}), None)
        .await
        .unwrap_err();
    let RpcError::Remote {
        class,
        module,
        message,
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (class.as_str(), module.as_str()),
        ("NoSuchMethod", "oslo_messaging.rpc.dispatcher")
    );
    assert_eq!(message, "Endpoint does not support RPC method bogus");
}

#[tokio::test]
async fn a_call_without_a_reply_times_out() {
    let Some(url) = rabbit_url("timeout") else {
        return;
    };
    let (t, n) = (transport(&url).await, names("timeout"));
    let c = client(&t, &n);
    // Nobody listens on this topic.
    let started = std::time::Instant::now();
    let impatient = c.with_default_timeout(Duration::from_millis(300));
    let err = impatient
        .call(json!({}), "ping_conductor", json!({}), None)
        .await;
    assert!(
        matches!(
            err,
            Err(RpcError::Timeout {
                timeout_ms: 300,
                ..
            })
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    // A server too slow for the caller.
    let _server = start_server(&t, server_options(&n, "h1", 2), conductor_handler("h1")).await;
    let args = json!({"seconds": 1.5});
    let err = c
        .call(json!({}), "slow", args, Some(Duration::from_millis(300)))
        .await;
    assert!(
        matches!(err, Err(RpcError::Timeout { ref method, .. }) if method == "slow"),
        "{err:?}"
    );
    // The client still works afterwards (the late reply is dropped).
    let pong = c
        .call(
            json!({}),
            "ping_conductor",
            json!({}),
            Some(Duration::from_secs(5)),
        )
        .await;
    assert_eq!(pong.unwrap(), json!(true));
}

#[tokio::test]
async fn casts_fanout_and_calls_to_one_server() {
    let Some(url) = rabbit_url("casts_fanout") else {
        return;
    };
    let (t, n) = (transport(&url).await, names("fanout"));
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, String, Value)>();
    let mut servers = Vec::new();
    for name in ["s1", "s2"] {
        let (tx, me) = (tx.clone(), name.to_owned());
        let inner = conductor_handler(name);
        let handler = move |ctx: Value, method: String, args: Value| -> HandlerFuture {
            if method == "record" {
                let _ = tx.send((
                    me.clone(),
                    ctx["user_id"].as_str().unwrap_or("").to_owned(),
                    args,
                ));
                return Box::pin(async { Ok(Value::Null) });
            }
            inner(ctx, method, args)
        };
        servers.push(start_server(&t, server_options(&n, name, 2), handler).await);
    }
    let c = client(&t, &n);
    let ctx = json!({"user_id": "caster"});
    c.cast(ctx.clone(), "record", json!({"n": 1}))
        .await
        .unwrap();
    let (who, user, args) = rx.recv().await.unwrap();
    assert!(who == "s1" || who == "s2");
    assert_eq!((user.as_str(), args), ("caster", json!({"n": 1})));

    c.fanout_cast(ctx.clone(), "record", json!({"n": 2}))
        .await
        .unwrap();
    let got = Mutex::new(Vec::new());
    for _ in 0..2 {
        let m = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        got.lock().unwrap().push(m.0);
    }
    let mut got = got.into_inner().unwrap();
    got.sort();
    assert_eq!(got, vec!["s1", "s2"]);

    for name in ["s1", "s2", "s2", "s1"] {
        let who = c
            .to_server(name)
            .call(ctx.clone(), "whoami", json!({}), None)
            .await
            .unwrap();
        assert_eq!(who, json!(name));
    }
    c.to_server("s2")
        .cast(ctx, "record", json!({"n": 3}))
        .await
        .unwrap();
    assert_eq!(rx.recv().await.unwrap().0, "s2");
}

#[tokio::test]
async fn bad_arguments_are_refused_before_sending() {
    let Some(url) = rabbit_url("bad_arguments") else {
        return;
    };
    let (t, n) = (transport(&url).await, names("badargs"));
    let c = client(&t, &n);
    let err = c
        .cast(json!(["not", "an", "object"]), "m", json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err, RpcError::InvalidMessage(_)), "{err:?}");
    let err = c.call(json!({}), "m", json!(3), None).await.unwrap_err();
    assert!(matches!(err, RpcError::InvalidMessage(_)), "{err:?}");
}

/// No broker at all: calls and casts fail fast with `Transport`, so the API can
/// answer 503 (calls) or log and go on (casts). Needs no RabbitMQ.
#[tokio::test]
async fn an_unreachable_broker_fails_fast() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = TransportUrl::parse(&format!("rabbit://guest:secret@127.0.0.1:{port}/")).unwrap();
    let opts = TransportOptions {
        publish_timeout: Duration::from_millis(500),
        ..TransportOptions::default()
    };
    let t = Transport::new(url, opts);
    let c = RpcClient::new(&t, "magnum", "magnum-conductor");
    let started = std::time::Instant::now();
    let err = c
        .call(
            json!({}),
            "ping_conductor",
            json!({}),
            Some(Duration::from_secs(30)),
        )
        .await;
    assert!(matches!(err, Err(RpcError::Transport(_))), "{err:?}");
    let err = c.cast(json!({}), "cluster_create", json!({})).await;
    assert!(
        matches!(err, Err(RpcError::Transport(ref m)) if !m.contains("secret")),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(!t.is_connected());
    assert!(!format!("{}", t.url()).contains("secret"));
}
