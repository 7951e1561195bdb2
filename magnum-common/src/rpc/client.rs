//! The caller's side: call (wait for the reply), cast and fanout cast, addressed as
//! oslo's `RPCClient` does, with one reply queue per client.

use super::transport::{Exchange, Outgoing, Transport, declare_queue};
use super::wire::{self, CallReturn};
use super::{RemoteError, RpcError};
use futures_lite::StreamExt;
use lapin::options::BasicConsumeOptions;
use lapin::types::FieldTable;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// oslo's `rpc_response_timeout` default, for calls given no timeout.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// oslo's `rabbit_transient_queues_ttl`: unused reply and fanout queues expire.
pub(crate) const TRANSIENT_QUEUE_TTL: Duration = Duration::from_secs(1800);

type Outcome = Result<Value, RemoteError>;

/// A call waiting for its reply; `partial` keeps a result sent before the
/// `ending` message (the older two-message replies).
struct Waiter {
    tx: oneshot::Sender<Outcome>,
    partial: Value,
}

type Waiters = Arc<Mutex<HashMap<String, Waiter>>>;

/// Sends requests to the servers of one topic. Cheap to clone; clones share the
/// reply queue.
#[derive(Clone)]
pub struct RpcClient {
    shared: Arc<Shared>,
    server: Option<String>,
    default_timeout: Duration,
}

struct Shared {
    transport: Transport,
    exchange: String,
    topic: String,
    reply_q: String,
    waiters: Waiters,
    /// Generation of the connection on which the reply queue is consumed.
    reply_ready: watch::Receiver<u64>,
    reply_task: JoinHandle<()>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.reply_task.abort();
    }
}

impl RpcClient {
    /// A client of `topic` on the topic exchange `exchange` (the control exchange).
    pub fn new(
        transport: &Transport,
        exchange: impl Into<String>,
        topic: impl Into<String>,
    ) -> Self {
        let reply_q = format!("reply_{}", wire::new_id());
        let waiters: Waiters = Arc::default();
        let (ready_tx, ready_rx) = watch::channel(0);
        let reply_task = tokio::spawn(consume_replies(
            transport.clone(),
            reply_q.clone(),
            waiters.clone(),
            ready_tx,
        ));
        Self {
            shared: Arc::new(Shared {
                transport: transport.clone(),
                exchange: exchange.into(),
                topic: topic.into(),
                reply_q,
                waiters,
                reply_ready: ready_rx,
                reply_task,
            }),
            server: None,
            default_timeout: DEFAULT_CALL_TIMEOUT,
        }
    }

    /// The conductor's client: `[DEFAULT] control_exchange`, `[conductor] topic`.
    pub fn for_conductor(transport: &Transport, cfg: &crate::config::Config) -> Self {
        Self::new(
            transport,
            &cfg.default.control_exchange,
            &cfg.conductor.topic,
        )
    }

    /// The same client, addressing one server (`<topic>.<server>`).
    pub fn to_server(&self, server: impl Into<String>) -> Self {
        Self {
            server: Some(server.into()),
            ..self.clone()
        }
    }

    /// The same client, with another timeout for calls given none (oslo's
    /// `rpc_response_timeout`, 60 s by default).
    pub fn with_default_timeout(&self, timeout: Duration) -> Self {
        Self {
            default_timeout: timeout,
            ..self.clone()
        }
    }

    /// The reply queue's name (`reply_<uuid hex>`).
    pub fn reply_queue(&self) -> &str {
        &self.shared.reply_q
    }

    fn routing_key(&self) -> String {
        match &self.server {
            Some(server) => format!("{}.{server}", self.shared.topic),
            None => self.shared.topic.clone(),
        }
    }

    /// Calls `method` and waits for its result. `ctx` and `args` are JSON objects
    /// (or null). No reply within `timeout` (default 60 s) is `RpcError::Timeout`;
    /// an unreachable broker is `RpcError::Transport` within the publish timeout.
    pub async fn call(
        &self,
        ctx: Value,
        method: &str,
        args: Value,
        timeout: Option<Duration>,
    ) -> Result<Value, RpcError> {
        let timeout = timeout.unwrap_or(self.default_timeout);
        let started = tokio::time::Instant::now();
        self.wait_reply_queue().await?;
        let msg_id = wire::new_id();
        let ret = CallReturn {
            msg_id: &msg_id,
            reply_q: &self.shared.reply_q,
        };
        let body = wire::envelope(&wire::request(&ctx, method, args, Some(ret))?);
        let (tx, rx) = oneshot::channel();
        let guard = WaiterGuard::register(&self.shared.waiters, &msg_id, tx);
        let routing_key = self.routing_key();
        let msg = Outgoing {
            exchange: Exchange::Topic(&self.shared.exchange),
            routing_key: &routing_key,
            body: &body,
            expiration: Some(timeout),
            mandatory: false,
            bind_default_queue: false,
        };
        self.shared.transport.publish(&msg).await?;
        let left = timeout.saturating_sub(started.elapsed());
        let outcome = tokio::time::timeout(left, rx).await;
        drop(guard);
        match outcome {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(remote))) => Err(remote.into()),
            Ok(Err(_)) => Err(RpcError::Transport("the reply consumer stopped".into())),
            Err(_) => Err(RpcError::Timeout {
                topic: routing_key,
                method: method.to_owned(),
                timeout_ms: timeout.as_millis(),
            }),
        }
    }

    /// Sends `method` without waiting for a result (at most once: the message is
    /// lost if no server queue exists yet, as with oslo).
    pub async fn cast(&self, ctx: Value, method: &str, args: Value) -> Result<(), RpcError> {
        let body = wire::envelope(&wire::request(&ctx, method, args, None)?);
        let routing_key = self.routing_key();
        let msg = Outgoing {
            exchange: Exchange::Topic(&self.shared.exchange),
            routing_key: &routing_key,
            body: &body,
            expiration: None,
            mandatory: false,
            bind_default_queue: false,
        };
        self.shared.transport.publish(&msg).await.map(drop)
    }

    /// Sends `method` to every server of the topic (exchange `<topic>_fanout`).
    pub async fn fanout_cast(&self, ctx: Value, method: &str, args: Value) -> Result<(), RpcError> {
        let body = wire::envelope(&wire::request(&ctx, method, args, None)?);
        let exchange = format!("{}_fanout", self.shared.topic);
        let msg = Outgoing {
            exchange: Exchange::Fanout(&exchange),
            routing_key: &self.shared.topic,
            body: &body,
            expiration: None,
            mandatory: false,
            bind_default_queue: false,
        };
        self.shared.transport.publish(&msg).await.map(drop)
    }

    /// Waits (within the publish timeout) until the reply queue is consumed on the
    /// current connection, so that no reply can be published before it exists.
    async fn wait_reply_queue(&self) -> Result<(), RpcError> {
        let transport = &self.shared.transport;
        let mut ready = self.shared.reply_ready.clone();
        let wait = async {
            let (generation, _) = transport.live(0).await?;
            ready.wait_for(|g| *g >= generation).await.ok().map(drop)
        };
        match tokio::time::timeout(transport.options().publish_timeout, wait).await {
            Ok(Some(())) => Ok(()),
            Ok(None) => Err(RpcError::Transport("the transport is closed".into())),
            Err(_) => Err(RpcError::Transport(format!(
                "no usable connection to {} (reply queue not ready)",
                transport.url()
            ))),
        }
    }
}

/// Removes the waiter whatever happens to the call (timeout, error, drop).
struct WaiterGuard<'a> {
    waiters: &'a Waiters,
    msg_id: &'a str,
}

impl<'a> WaiterGuard<'a> {
    fn register(waiters: &'a Waiters, msg_id: &'a str, tx: oneshot::Sender<Outcome>) -> Self {
        if let Ok(mut w) = waiters.lock() {
            let partial = Value::Null;
            w.insert(msg_id.to_owned(), Waiter { tx, partial });
        }
        Self { waiters, msg_id }
    }
}

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut w) = self.waiters.lock() {
            w.remove(self.msg_id);
        }
    }
}

/// Consumes the reply queue on every connection, forever.
async fn consume_replies(
    transport: Transport,
    reply_q: String,
    waiters: Waiters,
    ready: watch::Sender<u64>,
) {
    let mut min_generation = 0;
    let mut failures = 0u32;
    while let Some((generation, conn)) = transport.live(min_generation).await {
        let run = async {
            let ch = conn.create_channel().await?;
            declare_queue(&ch, &reply_q, Some(TRANSIENT_QUEUE_TTL)).await?;
            let options = BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            };
            let mut consumer = ch
                .basic_consume(
                    reply_q.as_str().into(),
                    "".into(),
                    options,
                    FieldTable::default(),
                )
                .await?;
            ready.send_replace(generation);
            failures = 0;
            while let Some(delivery) = consumer.next().await {
                deliver_reply(&waiters, &delivery?.data);
            }
            Ok::<(), lapin::Error>(())
        };
        let err = run.await.err();
        failures += 1;
        if failures == 1 {
            tracing::info!(queue = %reply_q, error = ?err.map(|e| e.to_string()), "reply consumer interrupted, resuming on the next connection");
        }
        tokio::time::sleep(Duration::from_millis(100 * u64::from(failures.min(20)))).await;
        min_generation = if conn.status().connected() {
            generation
        } else {
            generation + 1
        };
    }
}

fn deliver_reply(waiters: &Waiters, body: &[u8]) {
    let reply = match wire::open_envelope(body) {
        Ok(msg) => wire::parse_reply(msg),
        Err(e) => {
            tracing::warn!(error = %e, "dropping a malformed reply");
            return;
        }
    };
    let Some(msg_id) = reply.msg_id else {
        tracing::warn!("dropping a reply without _msg_id");
        return;
    };
    let Ok(mut w) = waiters.lock() else { return };
    let Some(waiter) = w.get_mut(&msg_id) else {
        tracing::debug!(%msg_id, "no caller waits for this reply any more");
        return;
    };
    if let Some(failure) = reply.failure {
        if let Some(waiter) = w.remove(&msg_id) {
            let _ = waiter.tx.send(Err(failure));
        }
        return;
    }
    if !reply.result.is_null() {
        waiter.partial = reply.result;
    }
    if reply.ending
        && let Some(waiter) = w.remove(&msg_id)
    {
        let _ = waiter.tx.send(Ok(waiter.partial));
    }
}
