//! What the three drivers share: environment file selection (spec §4.2), the parameters every
//! Heat driver sends, value helpers and the reading of stack outputs.

use std::collections::BTreeMap;

use magnum_common::db::models::cluster::Cluster;
use magnum_common::db::models::cluster_template::ClusterTemplate;
use serde_json::{Map, Value};

use super::StackInputs;

/// Where the environment files live in heat-templates/.
pub(crate) const ENV_DIR: &str = "common/environments";

/// The environment files of a stack, in the order Heat applies them (later ones win).
///
/// `docker_volume_size` is the cluster's (cluster stack) or the node group's (node group
/// stack); `etcd_volume` is None for drivers without etcd volumes (swarm).
pub(crate) fn environment_files(
    cluster: &Cluster,
    template: &ClusterTemplate,
    docker_volume_size: Option<i32>,
    etcd_volume: Option<bool>,
    octavia_enabled: bool,
) -> Vec<String> {
    let mut names: Vec<&str> = Vec::with_capacity(6);
    names.push(
        if cluster.fixed_network.is_some() || template.fixed_network.is_some() {
            "no_private_network"
        } else {
            "with_private_network"
        },
    );
    match etcd_volume {
        Some(true) => names.push("with_etcd_volume"),
        Some(false) => names.push("no_etcd_volume"),
        None => {}
    }
    names.push(if docker_volume_size.is_some() {
        "with_volume"
    } else {
        "no_volume"
    });
    names.push(match (cluster.master_lb_enabled, octavia_enabled) {
        (true, true) => "with_master_lb_octavia",
        (true, false) => "with_master_lb",
        (false, _) => "no_master_lb",
    });
    names.push(if cluster.floating_ip_enabled {
        "enable_floating_ip"
    } else {
        "disable_floating_ip"
    });
    let lb_fip = label_bool(&cluster.labels.0, "master_lb_floating_ip_enabled").unwrap_or(false)
        || cluster.floating_ip_enabled;
    names.push(if cluster.master_lb_enabled && lb_fip {
        "enable_lb_floating_ip"
    } else {
        "disable_lb_floating_ip"
    });
    names
        .into_iter()
        .map(|n| format!("{ENV_DIR}/{n}.yaml"))
        .collect()
}

/// Stack parameters under construction.
#[derive(Debug, Default)]
pub(crate) struct Params(pub(crate) Map<String, Value>);

impl Params {
    /// Sets `key`.
    pub(crate) fn set(&mut self, key: &str, value: impl Into<Value>) {
        self.0.insert(key.to_owned(), value.into());
    }

    /// Sets `key` when `value` is given.
    pub(crate) fn set_some<T: Into<Value>>(&mut self, key: &str, value: Option<T>) {
        if let Some(v) = value {
            self.set(key, v);
        }
    }

    /// Copies the labels of `names` that are set, unchanged.
    pub(crate) fn labels(&mut self, labels: &BTreeMap<String, String>, names: &[&str]) {
        for name in names {
            if let Some(v) = labels.get(*name) {
                self.set(name, v.as_str());
            }
        }
    }
}

/// The parameters every Heat driver sends (spec §4.4, "Common").
pub(crate) fn base_parameters(p: &mut Params, inputs: &StackInputs<'_>, openstack_ca: String) {
    let t = inputs.template;
    p.set_some("ssh_key_name", inputs.cluster.keypair.clone());
    if !inputs.cloud.ssh_public_key.is_empty() {
        p.set("ssh_public_key", inputs.cloud.ssh_public_key.as_str());
    }
    p.set_some("dns_nameserver", t.dns_nameserver.clone());
    p.set_some("http_proxy", t.http_proxy.clone());
    p.set_some("https_proxy", t.https_proxy.clone());
    p.set_some("no_proxy", t.no_proxy.clone());
    p.set("number_of_masters", inputs.master.node_count);
    p.set("trustee_domain_id", inputs.trust.trustee_domain_id.as_str());
    p.set("trustee_user_id", inputs.trust.trustee_user_id.as_str());
    p.set("trustee_username", inputs.trust.trustee_username.as_str());
    p.set("trustee_password", inputs.trust.trustee_password.as_str());
    p.set("trust_id", inputs.trust.trust_id.as_str());
    p.set("auth_url", with_suffix(&inputs.auth_url, "/v3"));
    p.set("verify_ca", inputs.verify_ca);
    p.set("openstack_ca", openstack_ca);
}

/// `url` without trailing slashes, ending in `suffix`.
pub(crate) fn with_suffix(url: &str, suffix: &str) -> String {
    let url = url.trim_end_matches('/');
    if url.ends_with(suffix) {
        url.to_owned()
    } else {
        format!("{url}{suffix}")
    }
}

/// oslo's bool_from_string: true for 1, t, true, on, y, yes (any case); None when unset.
pub(crate) fn label_bool(labels: &BTreeMap<String, String>, key: &str) -> Option<bool> {
    labels.get(key).map(|v| is_true(v))
}

/// oslo's bool_from_string (non-strict).
pub(crate) fn is_true(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "t" | "true" | "on" | "y" | "yes"
    )
}

/// A PEM with its newlines written as `\n` (how the nodes get keys).
pub(crate) fn escape_newlines(pem: &str) -> String {
    pem.replace('\n', "\\n")
}

/// An address list output: a list (nulls dropped) or a single address.
pub(crate) fn addresses(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|x| x.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// A string output or parameter (Heat returns parameters as strings).
pub(crate) fn text(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// A count parameter.
pub(crate) fn count(v: Option<&Value>) -> Option<i32> {
    match v {
        Some(Value::Number(n)) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
}
