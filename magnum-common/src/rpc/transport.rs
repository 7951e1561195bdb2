//! One AMQP connection per process, kept alive by a supervisor task that tries the
//! brokers in order and reconnects with backoff; clients, servers and the notifier
//! open their own channels on it and redeclare their topology on every new
//! connection (a restarted broker has forgotten the non-durable queues).

use super::{RpcError, TransportUrl};
use futures_lite::StreamExt;
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
};
use std::collections::HashSet;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// How the transport behaves towards the broker.
#[derive(Debug, Clone)]
pub struct TransportOptions {
    /// Longest a publish may take, waiting for a connection included: past it the
    /// caller gets `RpcError::Transport` instead of hanging on a dead broker.
    pub publish_timeout: Duration,
    /// Longest one connection attempt to one broker may take.
    pub connect_timeout: Duration,
    /// Longest pause between two rounds of connection attempts.
    pub max_backoff: Duration,
    /// The connection's name in RabbitMQ's management UI.
    pub connection_name: String,
}

impl Default for TransportOptions {
    fn default() -> Self {
        let exe = std::env::args()
            .next()
            .and_then(|a| a.rsplit('/').next().map(str::to_owned))
            .unwrap_or_else(|| "magnum".to_owned());
        Self {
            publish_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(5),
            max_backoff: Duration::from_secs(2),
            connection_name: format!("{exe}:{}", std::process::id()),
        }
    }
}

/// The current connection, numbered so that each role notices a new one.
#[derive(Clone, Default)]
pub(crate) struct Link {
    pub generation: u64,
    pub conn: Option<Arc<Connection>>,
}

/// The shared connection to the broker (cheap to clone). Dropping the last clone
/// closes it.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    url: TransportUrl,
    opts: TransportOptions,
    link: watch::Receiver<Link>,
    stop: watch::Sender<bool>,
    supervisor: StdMutex<Option<JoinHandle<()>>>,
    publisher: Mutex<Option<PubChannel>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

#[derive(Clone)]
struct PubChannel {
    generation: u64,
    channel: Channel,
    declared: Arc<StdMutex<HashSet<String>>>,
}

/// An exchange as oslo's rabbit driver declares it (`amqp_durable_queues=False`).
#[derive(Clone, Copy)]
pub(crate) enum Exchange<'a> {
    /// The default exchange `""` (replies); never declared.
    Default,
    /// A topic exchange: not durable, not auto-deleted (the control exchange).
    Topic(&'a str),
    /// A fanout exchange: not durable, auto-deleted (`<topic>_fanout`).
    Fanout(&'a str),
}

impl Exchange<'_> {
    fn name(&self) -> &str {
        match self {
            Self::Default => "",
            Self::Topic(n) | Self::Fanout(n) => n,
        }
    }
}

/// A message to publish.
pub(crate) struct Outgoing<'a> {
    pub exchange: Exchange<'a>,
    pub routing_key: &'a str,
    pub body: &'a [u8],
    /// Per-message TTL: oslo sets it to the call's timeout.
    pub expiration: Option<Duration>,
    /// Ask the broker to return it when no queue takes it (replies).
    pub mandatory: bool,
    /// Declare and bind this queue (named as the routing key) first, as oslo
    /// does for notifications so that none is lost before a consumer exists.
    pub bind_default_queue: bool,
}

/// Whether the broker routed a mandatory message to a queue.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Routed {
    Yes,
    NoQueue,
}

impl Transport {
    /// Starts connecting in the background and returns at once: a process can
    /// start while the broker is down, and calls fail fast until it is back.
    /// Must be called inside a tokio runtime.
    pub fn new(url: TransportUrl, opts: TransportOptions) -> Self {
        let (link_tx, link_rx) = watch::channel(Link::default());
        let (stop_tx, stop_rx) = watch::channel(false);
        let supervisor = tokio::spawn(supervise(url.clone(), opts.clone(), link_tx, stop_rx));
        Self {
            inner: Arc::new(Inner {
                url,
                opts,
                link: link_rx,
                stop: stop_tx,
                supervisor: StdMutex::new(Some(supervisor)),
                publisher: Mutex::new(None),
            }),
        }
    }

    /// From `[DEFAULT] transport_url`, with default options.
    pub fn from_config(cfg: &crate::config::Config) -> Result<Self, RpcError> {
        let url = cfg
            .default
            .transport_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| RpcError::InvalidUrl("[DEFAULT] transport_url is not set".into()))?;
        Ok(Self::new(
            TransportUrl::parse(url)?,
            TransportOptions::default(),
        ))
    }

    /// The broker URL, without passwords.
    pub fn url(&self) -> &TransportUrl {
        &self.inner.url
    }

    /// Waits until a connection is up (for start-up checks and tests).
    pub async fn wait_connected(&self, timeout: Duration) -> Result<(), RpcError> {
        match tokio::time::timeout(timeout, self.live(0)).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(RpcError::Transport("the transport is closed".into())),
            Err(_) => Err(RpcError::Transport(format!(
                "no connection to {} within {} ms",
                self.inner.url,
                timeout.as_millis()
            ))),
        }
    }

    /// True while a connection is up.
    pub fn is_connected(&self) -> bool {
        let link = self.inner.link.borrow();
        link.conn.as_ref().is_some_and(|c| c.status().connected())
    }

    /// Closes the connection and stops reconnecting. Servers should be shut down first.
    pub async fn close(&self) {
        self.inner.stop.send_replace(true);
        let handle = self.inner.supervisor.lock().ok().and_then(|mut s| s.take());
        if let Some(handle) = handle {
            let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
        }
    }

    pub(crate) fn options(&self) -> &TransportOptions {
        &self.inner.opts
    }

    /// Waits for a connection of at least `min_generation`; `None` once closed.
    pub(crate) async fn live(&self, min_generation: u64) -> Option<(u64, Arc<Connection>)> {
        let mut rx = self.inner.link.clone();
        let link = rx
            .wait_for(|l| l.conn.is_some() && l.generation >= min_generation)
            .await
            .ok()?;
        Some((link.generation, link.conn.clone()?))
    }

    /// Publishes with a publisher confirm, in at most `publish_timeout`.
    pub(crate) async fn publish(&self, msg: &Outgoing<'_>) -> Result<Routed, RpcError> {
        let limit = self.inner.opts.publish_timeout;
        match tokio::time::timeout(limit, self.publish_now(msg)).await {
            Ok(r) => r,
            Err(_) => Err(RpcError::Transport(format!(
                "the broker {} did not take the message within {} ms",
                self.inner.url,
                limit.as_millis()
            ))),
        }
    }

    async fn publish_now(&self, msg: &Outgoing<'_>) -> Result<Routed, RpcError> {
        let pc = self.publish_channel().await?;
        let result = publish_on(&pc, msg).await;
        if result.is_err() {
            let mut guard = self.inner.publisher.lock().await;
            if guard
                .as_ref()
                .is_some_and(|g| g.channel.id() == pc.channel.id())
            {
                *guard = None;
            }
        }
        result.map_err(|e| RpcError::transport("publish failed", e))
    }

    async fn publish_channel(&self) -> Result<PubChannel, RpcError> {
        let mut guard = self.inner.publisher.lock().await;
        let current = self.inner.link.borrow().generation;
        if let Some(pc) = guard.as_ref()
            && pc.generation == current
            && pc.channel.status().connected()
        {
            return Ok(pc.clone());
        }
        let (generation, conn) = self
            .live(current)
            .await
            .ok_or_else(|| RpcError::Transport("the transport is closed".into()))?;
        let channel = conn
            .create_channel()
            .await
            .map_err(|e| RpcError::transport("cannot open a channel", e))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| RpcError::transport("cannot enable publisher confirms", e))?;
        let pc = PubChannel {
            generation,
            channel,
            declared: Arc::default(),
        };
        *guard = Some(pc.clone());
        Ok(pc)
    }
}

async fn publish_on(pc: &PubChannel, msg: &Outgoing<'_>) -> lapin::Result<Routed> {
    let key = format!("{}\0{}", msg.exchange.name(), msg.routing_key);
    let known = pc
        .declared
        .lock()
        .map(|d| d.contains(&key))
        .unwrap_or(false);
    if !known {
        declare_exchange(&pc.channel, msg.exchange).await?;
        if msg.bind_default_queue {
            declare_queue(&pc.channel, msg.routing_key, None).await?;
            bind(
                &pc.channel,
                msg.routing_key,
                msg.exchange.name(),
                msg.routing_key,
            )
            .await?;
        }
        if let Ok(mut d) = pc.declared.lock() {
            d.insert(key);
        }
    }
    let options = BasicPublishOptions {
        mandatory: msg.mandatory,
        immediate: false,
    };
    let confirm = pc
        .channel
        .basic_publish(
            msg.exchange.name().into(),
            msg.routing_key.into(),
            options,
            msg.body,
            properties(msg.expiration),
        )
        .await?
        .await?;
    match confirm {
        Confirmation::Ack(None) | Confirmation::NotRequested => Ok(Routed::Yes),
        Confirmation::Ack(Some(_)) => Ok(Routed::NoQueue),
        Confirmation::Nack(_) => Err(lapin::Error::from(std::io::Error::other(
            "the broker refused the message (basic.nack)",
        ))),
    }
}

/// The properties kombu gives a JSON message (persistent, priority 0), plus
/// oslo's per-message TTL on calls.
fn properties(expiration: Option<Duration>) -> BasicProperties {
    let props = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_content_encoding("utf-8".into())
        .with_delivery_mode(2)
        .with_priority(0);
    match expiration {
        Some(ttl) => props.with_expiration(ttl.as_millis().max(1).to_string().into()),
        None => props,
    }
}

pub(crate) async fn declare_exchange(ch: &Channel, exchange: Exchange<'_>) -> lapin::Result<()> {
    let (name, kind, auto_delete) = match exchange {
        Exchange::Default => return Ok(()),
        Exchange::Topic(n) => (n, ExchangeKind::Topic, false),
        Exchange::Fanout(n) => (n, ExchangeKind::Fanout, true),
    };
    let options = ExchangeDeclareOptions {
        auto_delete,
        ..Default::default()
    };
    ch.exchange_declare(name.into(), kind, options, FieldTable::default())
        .await
}

/// A non-durable, non-auto-deleted queue; `expires` is oslo's
/// `rabbit_transient_queues_ttl` (reply and fanout queues only).
pub(crate) async fn declare_queue(
    ch: &Channel,
    name: &str,
    expires: Option<Duration>,
) -> lapin::Result<()> {
    let mut args = FieldTable::default();
    if let Some(ttl) = expires {
        let ms = i32::try_from(ttl.as_millis()).unwrap_or(i32::MAX);
        args.insert("x-expires".into(), AMQPValue::LongInt(ms));
    }
    ch.queue_declare(name.into(), QueueDeclareOptions::default(), args)
        .await
        .map(|_| ())
}

pub(crate) async fn bind(
    ch: &Channel,
    queue: &str,
    exchange: &str,
    key: &str,
) -> lapin::Result<()> {
    ch.queue_bind(
        queue.into(),
        exchange.into(),
        key.into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
}

async fn supervise(
    url: TransportUrl,
    opts: TransportOptions,
    link: watch::Sender<Link>,
    mut stop: watch::Receiver<bool>,
) {
    let uris = url.amqp_uris();
    let (mut generation, mut backoff, mut failures) = (0u64, FIRST_BACKOFF, 0u32);
    while !*stop.borrow() {
        let mut connected = None;
        let mut errors = Vec::new();
        for (i, uri) in uris.iter().enumerate() {
            let props = ConnectionProperties::default()
                .with_connection_name(opts.connection_name.as_str().into());
            match tokio::time::timeout(opts.connect_timeout, Connection::connect(uri, props)).await
            {
                Ok(Ok(conn)) => {
                    connected = Some((i, conn));
                    break;
                }
                Ok(Err(e)) => errors.push(format!("{}: {e}", url.host_label(i))),
                Err(_) => errors.push(format!(
                    "{}: connection attempt timed out",
                    url.host_label(i)
                )),
            }
        }
        let Some((i, conn)) = connected else {
            failures += 1;
            if failures == 1 || failures.is_multiple_of(20) {
                tracing::warn!(url = %url, error = %errors.join("; "), attempts = failures, "cannot reach the message broker, retrying");
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => {}
            }
            backoff = (backoff * 2).min(opts.max_backoff);
            continue;
        };
        generation += 1;
        let events = conn.events_listener();
        let conn = Arc::new(conn);
        if generation == 1 {
            tracing::info!(broker = %url.host_label(i), "connected to the message broker");
        } else {
            tracing::warn!(broker = %url.host_label(i), generation, "reconnected to the message broker");
        }
        (backoff, failures) = (FIRST_BACKOFF, 0);
        link.send_replace(Link {
            generation,
            conn: Some(conn.clone()),
        });
        let lost = watch_connection(&conn, events, &mut stop).await;
        link.send_replace(Link {
            generation,
            conn: None,
        });
        match lost {
            Some(why) => {
                tracing::warn!(broker = %url.host_label(i), error = %why, "lost the connection to the message broker, reconnecting")
            }
            None => {
                let close = conn.close(200, "OK".into());
                let _ = tokio::time::timeout(Duration::from_secs(2), close).await;
            }
        }
    }
}

/// Returns why the connection ended, or `None` when asked to stop.
async fn watch_connection(
    conn: &Connection,
    events: impl futures_lite::Stream<Item = lapin::Event> + Send,
    stop: &mut watch::Receiver<bool>,
) -> Option<String> {
    let mut events = std::pin::pin!(events);
    loop {
        if *stop.borrow() {
            return None;
        }
        tokio::select! {
            ev = events.next() => match ev {
                Some(lapin::Event::Error(e)) => return Some(e.to_string()),
                None => return Some("the connection closed".into()),
                Some(_) => {}
            },
            () = tokio::time::sleep(Duration::from_millis(500)) => {
                if !conn.status().connected() {
                    return Some("the connection is no longer open".into());
                }
            }
            _ = stop.changed() => {}
        }
    }
}
