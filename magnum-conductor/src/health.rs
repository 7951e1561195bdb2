//! Health polling (`[kubernetes] health_polling_interval`), with the conductor's client
//! certificate, for clusters whose API is reachable from outside: for Kubernetes, `/healthz` and
//! the nodes' Ready conditions; for Swarm, the Docker API's `/_ping` and the swarm's nodes as its
//! managers see them (ready, and managers reachable).

use std::collections::BTreeMap;
use std::time::Duration;

use magnum_common::db::models::changes::{self, ClusterChange};
use magnum_common::db::models::cluster::{self, Cluster};
use magnum_common::db::models::cluster_template::{self, Visibility};
use magnum_common::db::{JsonMap, MaybeHealth};
use magnum_common::status::{ClusterStatus, Coe, HealthStatus};
use serde_json::Value;

use crate::error::OpError;
use crate::services::Services;

/// Statuses whose clusters are polled.
const POLLED: &[ClusterStatus] = &[
    ClusterStatus::CreateComplete,
    ClusterStatus::UpdateComplete,
    ClusterStatus::UpdateInProgress,
    ClusterStatus::RollbackInProgress,
];

/// The verdict of one poll.
pub type Verdict = (HealthStatus, BTreeMap<String, String>);

/// Polls one cluster's API: UNKNOWN when it is not reachable from outside,
/// HEALTHY when `/healthz` says ok and every node is Ready, else UNHEALTHY.
pub async fn poll(svc: &Services, c: &Cluster, coe: Coe) -> Verdict {
    if coe.is_swarm() {
        return poll_swarm(svc, c).await;
    }
    let name = c.name.clone().unwrap_or_else(|| c.uuid.to_string());
    let mut reason = BTreeMap::new();
    let unreachable = |mut reason: BTreeMap<String, String>| {
        reason.insert(
            "api".to_owned(),
            format!("The cluster {name} is not accessible."),
        );
        (HealthStatus::Unknown, reason)
    };
    let Some(api) = c.api_address.clone().filter(|a| !a.is_empty()) else {
        return unreachable(reason);
    };
    if !c.floating_ip_enabled && !c.master_lb_enabled {
        return unreachable(reason);
    }
    let client = match client_for(svc, c, &api).await {
        Ok(cl) => cl,
        Err(e) => {
            tracing::debug!(cluster = %c.uuid, error = %e, "no client for the cluster API");
            return unreachable(reason);
        }
    };
    let healthz = client.get(format!("{api}/healthz")).send().await;
    let api_ok = match healthz {
        Ok(r) if r.status().is_success() => {
            r.text().await.map(|t| t.trim() == "ok").unwrap_or(false)
        }
        Ok(_) => false,
        Err(_) => return unreachable(reason),
    };
    reason.insert(
        "api".to_owned(),
        if api_ok {
            "ok".to_owned()
        } else {
            "unhealthy".to_owned()
        },
    );
    let mut all_ready = api_ok;
    match client.get(format!("{api}/api/v1/nodes")).send().await {
        Ok(r) if r.status().is_success() => {
            let nodes: Value = r.json().await.unwrap_or(Value::Null);
            for node in nodes["items"].as_array().into_iter().flatten() {
                let n = node["metadata"]["name"].as_str().unwrap_or("node");
                let ready = node["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|c| c["type"] == "Ready")
                    .and_then(|c| c["status"].as_str())
                    .unwrap_or("False");
                all_ready &= ready == "True";
                reason.insert(format!("{n}.Ready"), ready.to_owned());
            }
        }
        _ => all_ready = false,
    }
    let status = if all_ready {
        HealthStatus::Healthy
    } else {
        HealthStatus::Unhealthy
    };
    (status, reason)
}

/// A swarm's verdict: HEALTHY when its API answers and every node is ready (and every manager
/// reachable); the reason names each node (`<host>.Ready`).
async fn poll_swarm(svc: &Services, c: &Cluster) -> Verdict {
    let name = c.name.clone().unwrap_or_else(|| c.uuid.to_string());
    let mut reason = BTreeMap::new();
    let unreachable = |mut reason: BTreeMap<String, String>| {
        reason.insert(
            "api".to_owned(),
            format!("The cluster {name} is not accessible."),
        );
        (HealthStatus::Unknown, reason)
    };
    let Some(address) = c.api_address.clone().filter(|a| !a.is_empty()) else {
        return unreachable(reason);
    };
    if !c.floating_ip_enabled && !c.master_lb_enabled {
        return unreachable(reason);
    }
    let api = match crate::swarm::SwarmApi::connect(svc, c, &address).await {
        Ok(api) => api,
        Err(e) => {
            tracing::debug!(cluster = %c.uuid, error = %e, "no client for the swarm");
            return unreachable(reason);
        }
    };
    if !api.ping().await {
        return unreachable(reason);
    }
    reason.insert("api".to_owned(), "ok".to_owned());
    let mut healthy = true;
    match api.nodes().await {
        Ok(nodes) => {
            for n in nodes {
                let ready = n.state == "ready"
                    && n.manager_reachability
                        .as_deref()
                        .is_none_or(|r| r == "reachable");
                healthy &= ready;
                reason.insert(
                    format!("{}.Ready", n.hostname),
                    if ready { "True" } else { "False" }.to_owned(),
                );
            }
        }
        Err(e) => {
            healthy = false;
            reason.insert(
                "nodes".to_owned(),
                format!("the managers did not list the nodes: {e}"),
            );
        }
    }
    let status = if healthy {
        HealthStatus::Healthy
    } else {
        HealthStatus::Unhealthy
    };
    (status, reason)
}

/// An HTTP client for a cluster's API at `api`: with `https://`, it trusts only the cluster CA
/// and presents the conductor's client certificate.
pub(crate) async fn client_for(
    svc: &Services,
    c: &Cluster,
    api: &str,
) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5));
    if api.starts_with("https://") {
        let (ca, client) = svc
            .certs
            .client_identity(c)
            .await
            .map_err(|e| e.to_string())?;
        let ca = reqwest::Certificate::from_pem(ca.as_bytes()).map_err(|e| e.to_string())?;
        let identity =
            reqwest::Identity::from_pem(format!("{}\n{}", client.cert, client.key).as_bytes())
                .map_err(|e| e.to_string())?;
        b = b.tls_certs_only([ca]).identity(identity);
    }
    b.build().map_err(|e| e.to_string())
}

/// Polls every cluster in a polled status and records changes.
pub async fn run_once(svc: &Services) -> Result<usize, OpError> {
    let clusters = svc.db.run(|c| cluster::list_in_statuses(c, POLLED)).await?;
    let mut changed = 0;
    for c in clusters {
        let t = c.cluster_template_id;
        let Some(template) = svc
            .db
            .run(move |conn| cluster_template::get_by_uuid(conn, &Visibility::All, t))
            .await?
        else {
            continue;
        };

        let healer = c
            .labels
            .0
            .get("auto_healing_controller")
            .map(String::as_str)
            == Some("magnum-auto-healer")
            && c.labels
                .0
                .get("auto_healing_enabled")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if healer {
            continue;
        }
        let (status, reason) = poll(svc, &c, template.coe).await;
        let reason = JsonMap(reason);
        if c.health_status.0 == Some(status) && c.health_status_reason == reason {
            continue;
        }
        let uuid = c.uuid;
        let change = ClusterChange::new().health(MaybeHealth(Some(status)), reason);
        svc.db
            .run(move |conn| changes::update_cluster(conn, uuid, change))
            .await?;
        changed += 1;
    }
    Ok(changed)
}
