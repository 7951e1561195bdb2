//! oslo.messaging notifications (what ceilometer and other listeners consume):
//! published on the control exchange with routing key `<topic>.<priority>`.

use super::transport::{Exchange, Outgoing, Transport};
use super::{RpcError, wire};
use serde_json::Value;

/// A notification's priority; oslo sends it upper-case in the message and
/// lower-case in the routing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// `AUDIT`
    Audit,
    /// `DEBUG`
    Debug,
    /// `INFO`: operations that happened.
    Info,
    /// `WARN`
    Warn,
    /// `ERROR`: operations that failed.
    Error,
    /// `CRITICAL`
    Critical,
    /// `SAMPLE`
    Sample,
}

impl Priority {
    /// The upper-case name oslo puts in the message.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Audit => "AUDIT",
            Self::Debug => "DEBUG",
            Self::Info => "INFO",
            Self::Warn => "WARN",
            Self::Error => "ERROR",
            Self::Critical => "CRITICAL",
            Self::Sample => "SAMPLE",
        }
    }
}

/// `[oslo_messaging_notifications] driver` values we implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Driver {
    /// `messagingv2`: the 2.0 envelope.
    MessagingV2,
    /// `messaging`: the bare message (format 1.0), for old consumers.
    Messaging,
    /// `log`: to our log only.
    Log,
}

/// Sends notifications, or drops them when the driver is `noop` (or no broker
/// is configured). Cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    transport: Option<Transport>,
    exchange: String,
    topics: Vec<String>,
    publisher_id: String,
    drivers: Vec<Driver>,
}

impl Notifier {
    /// A `messagingv2` notifier on `exchange` for `topics` (usually `notifications`).
    pub fn new(
        transport: &Transport,
        exchange: impl Into<String>,
        topics: Vec<String>,
        publisher_id: impl Into<String>,
    ) -> Self {
        Self {
            transport: Some(transport.clone()),
            exchange: exchange.into(),
            topics,
            publisher_id: publisher_id.into(),
            drivers: vec![Driver::MessagingV2],
        }
    }

    /// From `[oslo_messaging_notifications]` and `[DEFAULT] control_exchange`.
    /// Unknown drivers are ignored with a warning, as oslo's stevedore would.
    pub fn from_config(
        transport: Option<&Transport>,
        cfg: &crate::config::Config,
        publisher_id: impl Into<String>,
    ) -> Self {
        let mut drivers = Vec::new();
        for name in &cfg.oslo_messaging_notifications.driver {
            match name.trim() {
                "messagingv2" => drivers.push(Driver::MessagingV2),
                "messaging" => drivers.push(Driver::Messaging),
                "log" => drivers.push(Driver::Log),
                "noop" | "" => {}
                other => tracing::warn!(driver = other, "unknown notification driver, ignored"),
            }
        }
        if transport.is_none() {
            drivers.retain(|d| *d == Driver::Log);
        }
        Self {
            transport: transport.cloned(),
            exchange: cfg.default.control_exchange.clone(),
            topics: cfg.oslo_messaging_notifications.topics.clone(),
            publisher_id: publisher_id.into(),
            drivers,
        }
    }

    /// A notifier that drops everything.
    pub fn noop() -> Self {
        Self {
            transport: None,
            exchange: String::new(),
            topics: Vec::new(),
            publisher_id: String::new(),
            drivers: Vec::new(),
        }
    }

    /// False when notifications are dropped.
    pub fn is_enabled(&self) -> bool {
        !self.drivers.is_empty()
    }

    /// An `INFO` notification.
    pub async fn info(
        &self,
        ctx: &Value,
        event_type: &str,
        payload: Value,
    ) -> Result<(), RpcError> {
        self.notify(ctx, event_type, payload, Priority::Info).await
    }

    /// An `ERROR` notification.
    pub async fn error(
        &self,
        ctx: &Value,
        event_type: &str,
        payload: Value,
    ) -> Result<(), RpcError> {
        self.notify(ctx, event_type, payload, Priority::Error).await
    }

    /// Sends one notification to every topic. Notifications are at most once:
    /// callers should log an error and go on, as oslo does.
    pub async fn notify(
        &self,
        ctx: &Value,
        event_type: &str,
        payload: Value,
        priority: Priority,
    ) -> Result<(), RpcError> {
        if self.drivers.is_empty() {
            return Ok(());
        }
        let now = chrono::Utc::now();
        let msg = wire::notification(
            ctx,
            &self.publisher_id,
            event_type,
            priority.as_str(),
            payload,
            now,
        )?;
        for driver in &self.drivers {
            let body = match driver {
                Driver::MessagingV2 => wire::envelope(&msg),
                Driver::Messaging => Value::Object(msg.clone()).to_string().into_bytes(),
                Driver::Log => {
                    tracing::info!(event_type, priority = priority.as_str(), payload = %msg["payload"], "notification");
                    continue;
                }
            };
            let Some(transport) = &self.transport else {
                continue;
            };
            for topic in &self.topics {
                let routing_key = format!("{topic}.{}", priority.as_str().to_lowercase());
                let out = Outgoing {
                    exchange: Exchange::Topic(&self.exchange),
                    routing_key: &routing_key,
                    body: &body,
                    expiration: None,
                    mandatory: false,
                    bind_default_queue: true,
                };
                transport.publish(&out).await?;
            }
        }
        Ok(())
    }
}
