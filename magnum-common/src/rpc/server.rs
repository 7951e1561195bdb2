//! The server's side: consumes `<topic>`, `<topic>.<server>` and a fanout queue,
//! runs at most `workers` handlers at once, and acks a request only once its
//! handler finished, so that a server that dies mid-request leaves it to be
//! redelivered (oslo acks before dispatching; we trade at-most-once for this).

use super::client::TRANSIENT_QUEUE_TTL;
use super::transport::{
    Exchange, Outgoing, Routed, Transport, bind, declare_exchange, declare_queue,
};
use super::wire::{self, Request};
use super::{RemoteError, RpcError};
use futures_lite::{FutureExt, StreamExt};
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
    BasicRejectOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use serde_json::Value;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// What a handler returns: the result, or a failure for the caller.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Value, RemoteError>> + Send>>;

/// Dispatches a request: `(ctx, method, args)`. Unknown methods should answer
/// `RemoteError::no_such_method`. A panic is caught: the request is redelivered
/// once, then answered with a `RuntimeError` failure.
pub trait Handler: Send + Sync + 'static {
    /// Handles one request; `ctx` and `args` are JSON objects.
    fn handle(&self, ctx: Value, method: String, args: Value) -> HandlerFuture;
}

impl<F> Handler for F
where
    F: Fn(Value, String, Value) -> HandlerFuture + Send + Sync + 'static,
{
    fn handle(&self, ctx: Value, method: String, args: Value) -> HandlerFuture {
        self(ctx, method, args)
    }
}

/// Where a server listens and how much it does at once.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The topic exchange (the control exchange).
    pub exchange: String,
    /// The topic (`magnum-conductor`).
    pub topic: String,
    /// This server's name (`[DEFAULT] host`), for `<topic>.<server>`.
    pub server: String,
    /// Handlers running at once; also the channel's prefetch.
    pub workers: usize,
}

impl ServerOptions {
    /// The conductor's: control exchange, `[conductor] topic`/`workers`, `[DEFAULT] host`.
    pub fn for_conductor(cfg: &crate::config::Config) -> Self {
        Self {
            exchange: cfg.default.control_exchange.clone(),
            topic: cfg.conductor.topic.clone(),
            server: cfg.default.host.clone(),
            workers: cfg.conductor.workers,
        }
    }
}

/// A running server. `shutdown` stops it gracefully; dropping it stops it at
/// once, and the requests it was handling are redelivered.
pub struct RpcServer {
    transport: Transport,
    stop: watch::Sender<Option<Duration>>,
    ready: watch::Receiver<u64>,
    task: Option<JoinHandle<()>>,
}

impl Drop for RpcServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

struct Ctx {
    transport: Transport,
    handler: Arc<dyn Handler>,
    slots: Arc<Semaphore>,
}

impl RpcServer {
    /// Starts consuming (on every connection the transport makes, redeclaring the
    /// exchanges and queues each time).
    pub fn start(transport: &Transport, opts: ServerOptions, handler: Arc<dyn Handler>) -> Self {
        let (stop_tx, stop_rx) = watch::channel(None);
        let (ready_tx, ready_rx) = watch::channel(0);
        let workers = opts.workers.clamp(1, usize::from(u16::MAX));
        let ctx = Arc::new(Ctx {
            transport: transport.clone(),
            handler,
            slots: Arc::new(Semaphore::new(workers)),
        });
        let task = tokio::spawn(serve(ctx, opts, stop_rx, ready_tx));
        Self {
            transport: transport.clone(),
            stop: stop_tx,
            ready: ready_rx,
            task: Some(task),
        }
    }

    /// Waits until the queues are consumed on the current connection.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), RpcError> {
        let mut ready = self.ready.clone();
        let wait = async {
            let (generation, _) = self.transport.live(0).await?;
            ready.wait_for(|g| *g >= generation).await.ok().map(drop)
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(Some(())) => Ok(()),
            _ => Err(RpcError::Transport("the server is not consuming".into())),
        }
    }

    /// Stops consuming, lets running handlers finish (for at most `grace`; the
    /// others are redelivered) and closes the channel.
    pub async fn shutdown(mut self, grace: Duration) {
        self.stop.send_replace(Some(grace));
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(grace + Duration::from_secs(5), task).await;
        }
    }
}

async fn serve(
    ctx: Arc<Ctx>,
    opts: ServerOptions,
    mut stop: watch::Receiver<Option<Duration>>,
    ready: watch::Sender<u64>,
) {
    let fanout_queue = format!("{}_fanout_{}", opts.topic, wire::new_id());
    let mut handlers = JoinSet::new();
    let (mut min_generation, mut failures) = (0, 0u32);
    loop {
        let link = tokio::select! {
            link = ctx.transport.live(min_generation) => link,
            _ = stop.wait_for(Option::is_some) => None,
        };
        let Some((generation, conn)) = link else {
            break;
        };
        let opened = open(&conn, &opts, &fanout_queue).await;
        let stopped = match &opened {
            Ok((ch, tags)) => {
                consume(&ctx, ch, tags, &mut handlers, &mut stop, || {
                    ready.send_replace(generation);
                    failures = 0;
                })
                .await
            }
            Err(e) => Err(e.clone()),
        };
        match (stopped, opened) {
            (Ok(grace), Ok((ch, tags))) => {
                for (_, tag) in &tags {
                    let _ = ch
                        .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
                        .await;
                }
                let drain = async { while handlers.join_next().await.is_some() {} };
                if tokio::time::timeout(grace, drain).await.is_err() {
                    tracing::warn!(topic = %opts.topic, left = handlers.len(), "handlers still running at shutdown; their requests will be redelivered");
                    handlers.abort_all();
                }
                let _ = ch.close(200, "OK".into()).await;
                return;
            }
            (Ok(_), Err(_)) => return,
            (Err(e), _) => {
                failures += 1;
                if failures == 1 {
                    tracing::warn!(topic = %opts.topic, error = %e, "RPC server lost its channel, resuming on the next connection");
                }
                let pause = Duration::from_millis(100 * u64::from(failures.min(20)));
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    _ = stop.wait_for(Option::is_some) => return,
                }
                min_generation = if conn.status().connected() {
                    generation
                } else {
                    generation + 1
                };
            }
        }
    }
}

/// Declares what oslo's `listen()` declares and starts the three consumers.
async fn open(
    conn: &Connection,
    opts: &ServerOptions,
    fanout_queue: &str,
) -> lapin::Result<(Channel, Vec<(String, String)>)> {
    let ch = conn.create_channel().await?;
    let prefetch = u16::try_from(opts.workers.max(1)).unwrap_or(u16::MAX);
    ch.basic_qos(prefetch, BasicQosOptions { global: true })
        .await?;
    declare_exchange(&ch, Exchange::Topic(&opts.exchange)).await?;
    let server_key = format!("{}.{}", opts.topic, opts.server);
    for key in [&opts.topic, &server_key] {
        declare_queue(&ch, key, None).await?;
        bind(&ch, key, &opts.exchange, key).await?;
    }
    let fanout_exchange = format!("{}_fanout", opts.topic);
    declare_exchange(&ch, Exchange::Fanout(&fanout_exchange)).await?;
    declare_queue(&ch, fanout_queue, Some(TRANSIENT_QUEUE_TTL)).await?;
    bind(&ch, fanout_queue, &fanout_exchange, &opts.topic).await?;
    let queues = [opts.topic.clone(), server_key, fanout_queue.to_owned()];
    let tagged = queues.map(|q| (q, format!("magnum-rs-{}", wire::new_id())));
    Ok((ch, tagged.into()))
}

/// Runs the consumers until the channel fails (`Err`) or a stop is asked (`Ok(grace)`).
async fn consume(
    ctx: &Arc<Ctx>,
    ch: &Channel,
    tags: &[(String, String)],
    handlers: &mut JoinSet<()>,
    stop: &mut watch::Receiver<Option<Duration>>,
    on_ready: impl FnOnce(),
) -> lapin::Result<Duration> {
    let mut consumers = Vec::new();
    for (queue, tag) in tags {
        let options = BasicConsumeOptions::default();
        let c = ch
            .basic_consume(
                queue.as_str().into(),
                tag.as_str().into(),
                options,
                FieldTable::default(),
            )
            .await?;
        consumers.push(c);
    }
    let [mut topic, mut server, mut fanout]: [lapin::Consumer; 3] = consumers
        .try_into()
        .map_err(|_| lapin::Error::from(std::io::Error::other("expected three consumers")))?;
    on_ready();
    loop {
        // select! picks a ready branch at random: no queue starves the others.
        let delivery = tokio::select! {
            d = topic.next() => d,
            d = server.next() => d,
            d = fanout.next() => d,
            Some(_) = handlers.join_next(), if !handlers.is_empty() => continue,
            grace = stop.wait_for(Option::is_some) => {
                return Ok(grace.ok().and_then(|g| *g).unwrap_or_default());
            }
        };
        match delivery {
            Some(Ok(d)) => {
                handlers.spawn(handle(ctx.clone(), d, Instant::now()));
            }
            Some(Err(e)) => return Err(e),
            None => return Err(std::io::Error::other("a consumer was cancelled").into()),
        }
    }
}

/// One request: decode, drop if expired, run the handler (with call-monitor
/// heartbeats when the caller asked for them), reply, then ack.
async fn handle(ctx: Arc<Ctx>, delivery: Delivery, received: Instant) {
    let Ok(_slot) = ctx.slots.clone().acquire_owned().await else {
        return;
    };
    let request = match wire::open_envelope(&delivery.data).and_then(wire::parse_request) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "rejecting a malformed RPC request");
            let _ = delivery.reject(BasicRejectOptions { requeue: false }).await;
            return;
        }
    };
    let ttl = delivery
        .properties
        .expiration()
        .as_ref()
        .and_then(|e| e.as_str().parse::<u64>().ok())
        .map(Duration::from_millis);
    if let Some(ttl) = ttl
        && received.elapsed() > ttl
    {
        // It waited here longer than its caller waits: nobody wants the answer.
        tracing::info!(method = %request.method, "dropping an RPC call whose caller has timed out");
        let _ = delivery.ack(BasicAckOptions::default()).await;
        return;
    }
    let heartbeat = start_heartbeat(&ctx.transport, &request).map(AbortOnDrop);
    let method = request.method.clone();
    let run = ctx
        .handler
        .handle(request.ctx, request.method, request.args);
    let outcome = AssertUnwindSafe(run).catch_unwind().await;
    drop(heartbeat);
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(_) if !delivery.redelivered => {
            tracing::error!(%method, "RPC handler panicked; requeueing the request once");
            let _ = delivery
                .nack(BasicNackOptions {
                    multiple: false,
                    requeue: true,
                })
                .await;
            return;
        }
        Err(_) => {
            tracing::error!(%method, "RPC handler panicked again on a redelivered request; giving up");
            Err(RemoteError::handler_crashed(&method))
        }
    };
    if let (Some(msg_id), Some(reply_q)) = (&request.msg_id, &request.reply_q) {
        send_reply(&ctx.transport, reply_q, msg_id, Some(&outcome)).await;
    }
    if let Err(e) = delivery.ack(BasicAckOptions::default()).await {
        tracing::warn!(%method, error = %e, "could not ack an RPC request; it may be redelivered");
    }
}

/// Sends a reply on the default exchange; a missing reply queue (the caller is
/// reconnecting, or gone) is retried for a while, as oslo does.
async fn send_reply(
    transport: &Transport,
    reply_q: &str,
    msg_id: &str,
    outcome: Option<&Result<Value, RemoteError>>,
) {
    let body = wire::envelope(&wire::reply(msg_id, outcome));
    let msg = Outgoing {
        exchange: Exchange::Default,
        routing_key: reply_q,
        body: &body,
        expiration: None,
        mandatory: true,
        bind_default_queue: false,
    };
    let deadline = Instant::now() + REPLY_RETRY;
    loop {
        let why = match transport.publish(&msg).await {
            Ok(Routed::Yes) => return,
            Ok(Routed::NoQueue) => RpcError::Transport(format!("no reply queue {reply_q}")),
            Err(e) => e,
        };
        if outcome.is_none() || Instant::now() >= deadline {
            tracing::warn!(%msg_id, error = %why, "dropping an RPC reply");
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// How long a reply is retried when its queue is missing or the broker is away.
const REPLY_RETRY: Duration = Duration::from_secs(15);

/// oslo's call monitor: a caller that sent `_timeout: N` gets an empty
/// `ending: false` reply every N/2 seconds while its handler runs.
fn start_heartbeat(transport: &Transport, request: &Request) -> Option<JoinHandle<()>> {
    let every = Duration::from_secs_f64(request.call_monitor_timeout? as f64 / 2.0);
    let (msg_id, reply_q) = (request.msg_id.clone()?, request.reply_q.clone()?);
    let transport = transport.clone();
    Some(tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            send_reply(&transport, &reply_q, &msg_id, None).await;
        }
    }))
}

/// Stops a helper task with the task that owns it (also when that one is aborted).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
