//! The CADF event of a cluster notification (spec §8), as pycadf shapes it.

use chrono::Utc;
use magnum_common::db::models::cluster::Cluster;
use magnum_common::db::models::nodegroup::NodeGroup;
use serde_json::{Value, json};

const CLUSTER_TYPE: &str = "service/magnum/cluster";

/// Who asked for the operation (from the request context).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Initiator {
    /// User id.
    pub user_id: Option<String>,
    /// Project id.
    pub project_id: Option<String>,
    /// The user's domain id.
    pub domain_id: Option<String>,
}

impl Initiator {
    /// From a stored operation context (`user_id`, `project_id`, `user_domain_id`).
    pub fn from_context(ctx: &serde_json::Map<String, Value>) -> Self {
        let get = |k: &str| ctx.get(k).and_then(Value::as_str).map(str::to_owned);
        Initiator {
            user_id: get("user_id"),
            project_id: get("project_id"),
            domain_id: get("user_domain_id").or_else(|| get("domain_id")),
        }
    }
}

/// `action` is create, update or delete; `outcome` pending, success or failure.
pub fn event(
    action: &str,
    outcome: &str,
    cluster: &Cluster,
    nodegroups: &[NodeGroup],
    initiator: &Initiator,
) -> Value {
    let mut who = json!({
        "typeURI": "service/security/account/user",
        "id": uuid::Uuid::new_v4().to_string(),
        "host": {"address": null, "agent": null},
    });
    for (k, v) in [
        ("user_id", &initiator.user_id),
        ("project_id", &initiator.project_id),
        ("domain_id", &initiator.domain_id),
    ] {
        if let Some(v) = v {
            who[k] = json!(v);
        }
    }
    json!({
        "typeURI": "http://schemas.dmtf.org/cloud/audit/1.0/event",
        "id": uuid::Uuid::new_v4().to_string(),
        "eventTime": Utc::now().format("%Y-%m-%dT%H:%M:%S%.6f+0000").to_string(),
        "eventType": "activity",
        "action": action,
        "outcome": outcome,
        "initiator": who,
        "observer": {"typeURI": CLUSTER_TYPE, "id": uuid::Uuid::new_v4().to_string()},
        "target": {
            "typeURI": CLUSTER_TYPE,
            "id": cluster.uuid.to_string(),
            "name": cluster.name,
            "attachments": [{
                "typeURI": CLUSTER_TYPE,
                "name": "cluster_data",
                "content": content(cluster, nodegroups),
            }],
        },
    })
}

fn content(c: &Cluster, ngs: &[NodeGroup]) -> Value {
    let default = |master: bool| ngs.iter().find(|n| n.is_default && n.is_master() == master);
    let count = |master: bool| -> i32 {
        ngs.iter()
            .filter(|n| n.is_master() == master)
            .map(|n| n.node_count)
            .sum()
    };
    let addresses = |master: bool| -> Vec<String> {
        default(master)
            .map(|n| n.node_addresses.0.clone())
            .unwrap_or_default()
    };
    let time = |t: Option<chrono::NaiveDateTime>| {
        t.map(|t| t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string())
    };
    json!({
        "status": c.status.as_str(),
        "status_reason": c.status_reason,
        "project_id": c.project_id.as_str(),
        "created_at": time(Some(c.created_at)),
        "updated_at": time(c.updated_at),
        "cluster_template_id": c.cluster_template_id.to_string(),
        "keypair": c.keypair,
        // Upstream's key, trailing colon included, so consumers find it.
        "docker_volume_size:": c.docker_volume_size,
        "labels": c.labels.0,
        "master_flavor_id": c.master_flavor_id,
        "flavor_id": c.flavor_id,
        "stack_id": c.stack_id,
        "health_status": c.health_status.0.map(|h| h.as_str()),
        "create_timeout": c.create_timeout,
        "api_address": c.api_address,
        "discovery_url": c.discovery_url,
        "node_addresses": addresses(false),
        "master_addresses": addresses(true),
        "node_count": count(false),
        "master_count": count(true),
    })
}

#[cfg(test)]
mod tests {
    use magnum_common::ids::{ClusterTemplateUuid, ProjectId, UserId};

    use super::*;

    #[test]
    fn event_has_the_cadf_shape_and_cluster_data() {
        let mut c = Cluster::new(
            ProjectId::from("p1"),
            UserId::from("u1"),
            ClusterTemplateUuid::new(),
        );
        c.name = Some("k8s".to_owned());
        c.docker_volume_size = Some(5);
        let mut master = NodeGroup::new(c.uuid, c.project_id.clone(), "default-master", "master");
        master.is_default = true;
        master.node_addresses.0 = vec!["172.24.4.10".to_owned()];
        let mut worker = NodeGroup::new(c.uuid, c.project_id.clone(), "default-worker", "worker");
        worker.is_default = true;
        worker.node_count = 3;
        let who = Initiator {
            user_id: Some("u1".to_owned()),
            project_id: Some("p1".to_owned()),
            domain_id: None,
        };
        let e = event("create", "pending", &c, &[master, worker], &who);
        assert_eq!(e["eventType"], "activity");
        assert_eq!(e["action"], "create");
        assert_eq!(e["outcome"], "pending");
        assert_eq!(e["initiator"]["typeURI"], "service/security/account/user");
        assert_eq!(e["initiator"]["user_id"], "u1");
        assert!(e["initiator"].get("domain_id").is_none());
        assert_eq!(e["observer"]["typeURI"], CLUSTER_TYPE);
        assert_eq!(e["target"]["id"], c.uuid.to_string());
        assert_eq!(e["target"]["name"], "k8s");
        let data = &e["target"]["attachments"][0];
        assert_eq!(data["name"], "cluster_data");
        assert_eq!(data["content"]["docker_volume_size:"], 5);
        assert_eq!(data["content"]["status"], "CREATE_IN_PROGRESS");
        assert_eq!(data["content"]["node_count"], 3);
        assert_eq!(data["content"]["master_count"], 1);
        assert_eq!(data["content"]["master_addresses"], json!(["172.24.4.10"]));
    }
}
