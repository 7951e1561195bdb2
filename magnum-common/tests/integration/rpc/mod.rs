//! RPC tests against a real RabbitMQ (`MAGNUM_TEST_RABBIT_URL`, an amqp:// URL) and,
//! for interop, real Python oslo.messaging peers (`MAGNUM_TEST_OSLO_VENV`).
//!
//! Unset variables skip the tests that need them (with a message), unless
//! `MAGNUM_TEST_REQUIRE_RABBIT=1` (broker tests) and `MAGNUM_TEST_REQUIRE_OSLO=1`
//! (interop tests) make that a failure. The broker-restart test starts a broker of
//! its own under `MAGNUM_TEST_SERVICES_DIR` or else `MAGNUM_TEST_DIR` (so restarting
//! it cannot disturb tests running in parallel; ports: see recovery.rs). Every test
//! uses its own exchange and topic.
//!
//! ```sh
//! scripts/oslo-peer/venv.sh DIR/venv-oslo
//! MAGNUM_TEST_RABBIT_URL=amqp://guest:guest@127.0.0.1:PORT/%2f MAGNUM_TEST_REQUIRE_RABBIT=1 \
//! MAGNUM_TEST_OSLO_VENV=DIR/venv-oslo MAGNUM_TEST_REQUIRE_OSLO=1 MAGNUM_TEST_SERVICES_DIR=DIR \
//!   cargo test -p magnum-common --test integration rpc::
//! ```

mod measure;
mod notify;
mod oslo;
mod recovery;
mod roundtrip;
mod serving;

use magnum_common::rpc::{
    HandlerFuture, RemoteError, RpcClient, RpcServer, ServerOptions, Transport, TransportOptions,
    TransportUrl,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// The broker to test against, or `None` (after saying why) when the test should skip.
pub fn rabbit_url(test: &str) -> Option<String> {
    match std::env::var("MAGNUM_TEST_RABBIT_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("MAGNUM_TEST_REQUIRE_RABBIT").as_deref() != Ok("1"),
                "MAGNUM_TEST_REQUIRE_RABBIT=1 but MAGNUM_TEST_RABBIT_URL is not set"
            );
            eprintln!("SKIP {test}: MAGNUM_TEST_RABBIT_URL is not set");
            None
        }
    }
}

/// A fresh exchange and topic, so that tests never see each other's messages.
pub struct Names {
    pub exchange: String,
    pub topic: String,
}

pub fn names(test: &str) -> Names {
    let id = uuid::Uuid::new_v4().simple().to_string();
    Names {
        exchange: format!("test-{test}-{}", &id[..8]),
        topic: format!("{test}-{}", &id[..8]),
    }
}

/// A connected transport.
pub async fn transport(url: &str) -> Transport {
    let t = Transport::new(
        TransportUrl::parse(url).unwrap(),
        TransportOptions::default(),
    );
    t.wait_connected(Duration::from_secs(10)).await.unwrap();
    t
}

pub fn server_options(n: &Names, server: &str, workers: usize) -> ServerOptions {
    ServerOptions {
        exchange: n.exchange.clone(),
        topic: n.topic.clone(),
        server: server.to_owned(),
        workers,
    }
}

/// Starts a server and waits until it consumes.
pub async fn start_server(
    t: &Transport,
    opts: ServerOptions,
    handler: impl Fn(Value, String, Value) -> HandlerFuture + Send + Sync + 'static,
) -> RpcServer {
    let server = RpcServer::start(t, opts, Arc::new(handler));
    server.wait_ready(Duration::from_secs(10)).await.unwrap();
    server
}

/// A handler like a small conductor: `ping_conductor`, `echo`, `whoami`, `slow`,
/// `cluster_create` (fails with NotSupported); anything else is NoSuchMethod.
pub fn conductor_handler(name: &str) -> impl Fn(Value, String, Value) -> HandlerFuture + use<> {
    let name = name.to_owned();
    move |ctx, method, args| {
        let name = name.clone();
        Box::pin(async move {
            match method.as_str() {
                "ping_conductor" => Ok(json!(true)),
                "echo" => Ok(json!({"args": args, "ctx": ctx})),
                "echo_context" => Ok(ctx),
                "whoami" => Ok(json!(name)),
                "slow" => {
                    let secs = args["seconds"].as_f64().unwrap_or(1.0);
                    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
                    Ok(json!("slept"))
                }
                "cluster_create" => Err(RemoteError::new(
                    "NotSupported",
                    "Creating a cluster of this kind is not supported.",
                )),
                other => Err(RemoteError::no_such_method(other)),
            }
        })
    }
}

pub fn client(t: &Transport, n: &Names) -> RpcClient {
    RpcClient::new(t, &n.exchange, &n.topic)
}

/// Polls `check` every 50 ms until it is true or `within` has passed.
pub async fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check()
}
