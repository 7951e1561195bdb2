//! Figures for the record, not assertions: `cargo test ... -- --ignored --nocapture measure`.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run by hand"]
async fn measure_call_latency_and_cast_rate() {
    let Some(url) = rabbit_url("measure") else {
        return;
    };
    let n = names("measure");
    let (server_side, client_side) = (transport(&url).await, transport(&url).await);
    let handled = Arc::new(AtomicUsize::new(0));
    let h = handled.clone();
    let handler = move |_c: Value, _m: String, _a: Value| -> HandlerFuture {
        h.fetch_add(1, SeqCst);
        Box::pin(async { Ok(json!(true)) })
    };
    let _server = start_server(&server_side, server_options(&n, "h1", 16), handler).await;
    let c = client(&client_side, &n);
    for _ in 0..100 {
        c.call(json!({}), "ping", json!({}), None).await.unwrap();
    }
    let mut lat = Vec::new();
    for _ in 0..2000 {
        let t0 = Instant::now();
        c.call(json!({"user_id": "u"}), "ping", json!({}), None)
            .await
            .unwrap();
        lat.push(t0.elapsed());
    }
    lat.sort();
    let pct = |p: usize| lat[(lat.len() * p / 100).min(lat.len() - 1)];
    let mean = lat.iter().sum::<Duration>() / u32::try_from(lat.len()).unwrap();
    eprintln!(
        "sequential calls: n=2000 mean={mean:?} p50={:?} p99={:?}",
        pct(50),
        pct(99)
    );

    let t0 = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let c = c.clone();
        set.spawn(async move {
            for _ in 0..200 {
                c.call(json!({}), "ping", json!({}), None).await.unwrap();
            }
        });
    }
    while set.join_next().await.is_some() {}
    eprintln!(
        "concurrent calls (32 callers): {:.0} calls/s",
        6400.0 / t0.elapsed().as_secs_f64()
    );

    let before = handled.load(SeqCst);
    let t0 = Instant::now();
    for i in 0..5000 {
        c.cast(json!({}), "tick", json!({"i": i})).await.unwrap();
    }
    let sent = t0.elapsed();
    assert!(
        eventually(Duration::from_secs(60), || handled.load(SeqCst) - before
            == 5000)
        .await
    );
    let all = t0.elapsed();
    eprintln!(
        "casts: 5000 sequential (each confirmed) in {sent:?} = {:.0} casts/s sent, {:.0} casts/s handled",
        5000.0 / sent.as_secs_f64(),
        5000.0 / all.as_secs_f64()
    );

    let t0 = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let c = c.clone();
        set.spawn(async move {
            for i in 0..625 {
                c.cast(json!({}), "tick", json!({"i": i})).await.unwrap();
            }
        });
    }
    while set.join_next().await.is_some() {}
    let before2 = before + 5000;
    assert!(
        eventually(Duration::from_secs(60), || handled.load(SeqCst) - before2
            == 10_000)
        .await
    );
    eprintln!(
        "casts: 10000 from 16 senders handled at {:.0} casts/s",
        10_000.0 / t0.elapsed().as_secs_f64()
    );
}
