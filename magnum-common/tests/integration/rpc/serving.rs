//! The server's guarantees: bounded concurrency, redelivery of what a crashed or
//! dead handler did not finish, dropping calls nobody waits for, graceful shutdown.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use tokio::sync::Notify;

#[tokio::test]
async fn at_most_workers_handlers_run_at_once() {
    let Some(url) = rabbit_url("bounded_concurrency") else {
        return;
    };
    let (t, n) = (transport(&url).await, names("bounded"));
    let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (r, p) = (running.clone(), peak.clone());
    let handler = move |_ctx: Value, _m: String, _a: Value| -> HandlerFuture {
        let (r, p) = (r.clone(), p.clone());
        Box::pin(async move {
            let now = r.fetch_add(1, SeqCst) + 1;
            p.fetch_max(now, SeqCst);
            tokio::time::sleep(Duration::from_millis(150)).await;
            r.fetch_sub(1, SeqCst);
            Ok(json!(now))
        })
    };
    let _server = start_server(&t, server_options(&n, "h1", 3), handler).await;
    let c = client(&t, &n);
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let c = c.clone();
        calls.spawn(async move { c.call(json!({}), "work", json!({}), None).await });
    }
    while let Some(r) = calls.join_next().await {
        r.unwrap().unwrap();
    }
    assert_eq!(peak.load(SeqCst), 3, "12 slow calls on 3 workers");
}

#[tokio::test]
async fn a_panicking_handler_gets_the_message_again_once() {
    let Some(url) = rabbit_url("panic_redelivery") else {
        return;
    };
    let (t, n) = (transport(&url).await, names("panic"));
    let attempts = Arc::new(AtomicUsize::new(0));
    let a = attempts.clone();
    let handler = move |_ctx: Value, method: String, _a: Value| -> HandlerFuture {
        let a = a.clone();
        Box::pin(async move {
            let attempt = a.fetch_add(1, SeqCst) + 1;
            if method == "always_panics" || attempt == 1 {
                panic!("handler crash #{attempt} (expected by the test)");
            }
            Ok(json!({"attempt": attempt}))
        })
    };
    let _server = start_server(&t, server_options(&n, "h1", 2), handler).await;
    let c = client(&t, &n);
    let got = c
        .call(json!({}), "flaky", json!({}), Some(Duration::from_secs(10)))
        .await;
    assert_eq!(got.unwrap(), json!({"attempt": 2}));
    // A message that crashes its handler every time is given up after one retry.
    let err = c
        .call(
            json!({}),
            "always_panics",
            json!({}),
            Some(Duration::from_secs(10)),
        )
        .await;
    let Err(magnum_common::rpc::RpcError::Remote { class, .. }) = err else {
        panic!("{err:?}")
    };
    assert_eq!(class, "RuntimeError");
    assert_eq!(attempts.load(SeqCst), 4);
}

#[tokio::test]
async fn a_server_that_dies_mid_handler_leaves_the_request_to_another() {
    let Some(url) = rabbit_url("death_redelivery") else {
        return;
    };
    let (t, n) = (transport(&url).await, names("death"));
    let started = Arc::new(Notify::new());
    let s = started.clone();
    let stuck = move |_ctx: Value, _m: String, _a: Value| -> HandlerFuture {
        let s = s.clone();
        Box::pin(async move {
            s.notify_one();
            std::future::pending::<()>().await;
            Ok(Value::Null)
        })
    };
    let doomed = start_server(&t, server_options(&n, "doomed", 1), stuck).await;
    let c = client(&t, &n);
    let call = {
        let c = c.clone();
        tokio::spawn(async move {
            c.call(
                json!({}),
                "whoami",
                json!({}),
                Some(Duration::from_secs(15)),
            )
            .await
        })
    };
    started.notified().await;
    // A second conductor on its own connection, then the first one dies.
    let t2 = transport(&url).await;
    let _heir = start_server(
        &t2,
        server_options(&n, "heir", 1),
        conductor_handler("heir"),
    )
    .await;
    drop(doomed);
    assert_eq!(call.await.unwrap().unwrap(), json!("heir"));
}

#[tokio::test]
async fn calls_whose_caller_gave_up_are_dropped() {
    let Some(url) = rabbit_url("expired_calls") else {
        return;
    };
    let (t, n) = (transport(&url).await, names("expired"));
    let (quick_runs, slow_started) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (q, s) = (quick_runs.clone(), slow_started.clone());
    let inner = conductor_handler("h1");
    let handler = move |ctx: Value, method: String, args: Value| -> HandlerFuture {
        match method.as_str() {
            "quick" => q.fetch_add(1, SeqCst),
            "slow" => s.fetch_add(1, SeqCst),
            _ => 0,
        };
        inner(ctx, method, args)
    };
    let _server = start_server(&t, server_options(&n, "h1", 1), handler).await;
    let c = client(&t, &n);
    let busy = {
        let c = c.clone();
        tokio::spawn(async move {
            c.call(
                json!({}),
                "slow",
                json!({"seconds": 1.0}),
                Some(Duration::from_secs(5)),
            )
            .await
        })
    };
    // The only worker is busy before the quick call is sent.
    assert!(eventually(Duration::from_secs(5), || slow_started.load(SeqCst) == 1).await);
    let err = c
        .call(
            json!({}),
            "quick",
            json!({}),
            Some(Duration::from_millis(300)),
        )
        .await;
    assert!(err.is_err());
    assert_eq!(busy.await.unwrap().unwrap(), json!("slept"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(quick_runs.load(SeqCst), 0, "the expired call must not run");
}

#[tokio::test]
async fn graceful_shutdown_finishes_running_work_and_leaves_the_rest_queued() {
    let Some(url) = rabbit_url("graceful_shutdown") else {
        return;
    };
    let (t, n) = (transport(&url).await, names("graceful"));
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    let inner = conductor_handler("h1");
    let handler = move |ctx: Value, method: String, args: Value| -> HandlerFuture {
        s.fetch_add(1, SeqCst);
        inner(ctx, method, args)
    };
    let server = start_server(&t, server_options(&n, "h1", 2), handler).await;
    let c = client(&t, &n);
    let running = {
        let c = c.clone();
        tokio::spawn(async move {
            c.call(json!({}), "slow", json!({"seconds": 0.5}), None)
                .await
        })
    };
    assert!(eventually(Duration::from_secs(5), || started.load(SeqCst) == 1).await);
    server.shutdown(Duration::from_secs(5)).await;
    assert_eq!(running.await.unwrap().unwrap(), json!("slept"));
    // Nobody consumes now; a call waits in the queue for the next server.
    let later = {
        let c = c.clone();
        tokio::spawn(async move { c.call(json!({}), "whoami", json!({}), None).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!later.is_finished());
    let _next = start_server(&t, server_options(&n, "h2", 2), conductor_handler("h2")).await;
    assert_eq!(later.await.unwrap().unwrap(), json!("h2"));
}
