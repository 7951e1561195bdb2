//! A listener of Magnum's notifications, as a ceilometer-like consumer reads them: its own queue
//! bound to the `magnum` exchange for `notifications.*`, oslo.messaging v2 envelopes unpacked.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use lapin::options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use serde_json::Value;

/// A queue that receives every notification from its creation on.
pub struct Listener {
    _conn: lapin::Connection,
    channel: lapin::Channel,
    queue: String,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("queue", &self.queue)
            .finish()
    }
}

impl Listener {
    /// Binds an exclusive queue to `exchange` for `notifications.*` on the broker at `url`.
    pub async fn bind(url: &str, exchange: &str) -> Result<Listener> {
        let conn = lapin::Connection::connect(url, lapin::ConnectionProperties::default())
            .await
            .context("connect to RabbitMQ")?;
        let channel = conn.create_channel().await?;
        let options = QueueDeclareOptions {
            exclusive: true,
            auto_delete: true,
            ..QueueDeclareOptions::default()
        };
        let queue = channel
            .queue_declare("".into(), options, FieldTable::default())
            .await?
            .name()
            .to_string();
        channel
            .queue_bind(
                queue.as_str().into(),
                exchange.into(),
                "notifications.*".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .context("bind to the notification exchange")?;
        Ok(Listener {
            _conn: conn,
            channel,
            queue,
        })
    }

    /// Reads notifications (the unpacked `oslo.message`, with `routing_key` added) until
    /// `done` holds for those read, or `timeout`.
    pub async fn until(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&[Value]) -> bool,
    ) -> Result<Vec<Value>> {
        let t0 = Instant::now();
        let mut seen = Vec::new();
        while !done(&seen) {
            if t0.elapsed() > timeout {
                return Err(anyhow!(
                    "after {timeout:?}, {} notifications: {seen:#?}",
                    seen.len()
                ));
            }
            let got = self
                .channel
                .basic_get(self.queue.as_str().into(), BasicGetOptions { no_ack: true })
                .await?;
            let Some(m) = got else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let envelope: Value = serde_json::from_slice(&m.delivery.data)?;
            let mut msg: Value = serde_json::from_str(
                envelope["oslo.message"]
                    .as_str()
                    .ok_or_else(|| anyhow!("no oslo.message in {envelope}"))?,
            )?;
            msg["routing_key"] = Value::from(m.delivery.routing_key.to_string());
            msg["oslo.version"] = envelope["oslo.version"].clone();
            seen.push(msg);
        }
        Ok(seen)
    }
}
