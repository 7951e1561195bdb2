//! Notifications as an oslo listener (or ceilometer) reads them off the broker.

use super::*;
use lapin::options::{BasicGetOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use magnum_common::config::Config;
use magnum_common::rpc::{Notifier, Priority};

async fn get_one(url: &str, queue: &str) -> Option<lapin::message::BasicGetMessage> {
    let conn = lapin::Connection::connect(url, lapin::ConnectionProperties::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    for _ in 0..50 {
        if let Some(m) = ch
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
        {
            return Some(m);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

#[tokio::test]
async fn notifications_carry_the_v2_envelope_on_topic_priority() {
    let Some(url) = rabbit_url("notifications") else {
        return;
    };
    let (t, n) = (transport(&url).await, names("notif"));
    let notifier = Notifier::new(&t, &n.exchange, vec![n.topic.clone()], "magnum.host-1");
    let ctx = json!({"user_id": "u1", "project_id": "p1"});
    let payload = json!({"cluster_uuid": "c-1", "status": "CREATE_COMPLETE"});
    notifier
        .info(&ctx, "magnum.cluster.create", payload.clone())
        .await
        .unwrap();
    notifier
        .notify(&ctx, "magnum.cluster.delete", json!({}), Priority::Error)
        .await
        .unwrap();

    let m = get_one(&url, &format!("{}.info", n.topic))
        .await
        .expect("a notification");
    assert_eq!(m.delivery.exchange.as_str(), n.exchange);
    assert_eq!(
        m.delivery.routing_key.to_string(),
        format!("{}.info", n.topic)
    );
    let props = &m.delivery.properties;
    assert_eq!(
        props
            .content_type()
            .as_ref()
            .map(|c| c.to_string())
            .as_deref(),
        Some("application/json")
    );
    let body: Value = serde_json::from_slice(&m.delivery.data).unwrap();
    assert_eq!(body["oslo.version"], "2.0");
    let msg: Value = serde_json::from_str(body["oslo.message"].as_str().unwrap()).unwrap();
    assert_eq!(msg["event_type"], "magnum.cluster.create");
    assert_eq!(msg["priority"], "INFO");
    assert_eq!(msg["publisher_id"], "magnum.host-1");
    assert_eq!(msg["payload"], payload);
    assert_eq!(msg["_context_user_id"], "u1");
    assert_eq!(msg["message_id"].as_str().unwrap().len(), 36);
    let ts = msg["timestamp"].as_str().unwrap();
    assert!(
        chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%d %H:%M:%S%.6f").is_ok(),
        "{ts}"
    );

    let m = get_one(&url, &format!("{}.error", n.topic))
        .await
        .expect("the error one");
    let body: Value = serde_json::from_slice(&m.delivery.data).unwrap();
    let msg: Value = serde_json::from_str(body["oslo.message"].as_str().unwrap()).unwrap();
    assert_eq!(
        (msg["priority"].as_str(), msg["event_type"].as_str()),
        (Some("ERROR"), Some("magnum.cluster.delete"))
    );
}

#[tokio::test]
async fn the_noop_driver_sends_nothing() {
    let Some(url) = rabbit_url("noop_notifications") else {
        return;
    };
    let (t, n) = (transport(&url).await, names("noop"));
    let mut cfg = Config::default();
    cfg.default.control_exchange = n.exchange.clone();
    cfg.oslo_messaging_notifications.topics = vec![n.topic.clone()];
    cfg.oslo_messaging_notifications.driver = vec!["noop".into()];
    let notifier = Notifier::from_config(Some(&t), &cfg, "magnum.h");
    assert!(!notifier.is_enabled());
    notifier
        .info(&json!({}), "magnum.cluster.create", json!({}))
        .await
        .unwrap();
    assert!(!Notifier::noop().is_enabled());
    // The queue a sending notifier would have declared does not exist.
    let conn = lapin::Connection::connect(&url, lapin::ConnectionProperties::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    let passive = QueueDeclareOptions {
        passive: true,
        ..Default::default()
    };
    let queue = format!("{}.info", n.topic);
    assert!(
        ch.queue_declare(queue.into(), passive, FieldTable::default())
            .await
            .is_err()
    );
}
