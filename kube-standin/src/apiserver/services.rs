//! Services' allocations: cluster IPs from `--service-cluster-ip-range` (the first one kept for
//! the `kubernetes` service) and node ports from 30000-32767, kept across updates as
//! Kubernetes keeps them.

use std::net::Ipv4Addr;

use serde_json::{Value, json};

use super::defaults::obj_mut;
use super::resources::Resource;
use super::status::ApiError;
use super::store::{Store, name_of};

/// The services' cluster IP range (`--service-cluster-ip-range`).
#[derive(Debug, Clone, Copy)]
pub struct ServiceNet {
    base: u32,
    size: u32,
}

impl ServiceNet {
    /// Parses `10.254.0.0/16`.
    pub fn parse(cidr: &str) -> Result<ServiceNet, String> {
        let (ip, bits) = cidr.split_once('/').ok_or("expected a.b.c.d/n")?;
        let ip: Ipv4Addr = ip.trim().parse().map_err(|e| format!("{e}"))?;
        let bits: u32 = bits.trim().parse().map_err(|e| format!("{e}"))?;
        if !(8..=30).contains(&bits) {
            return Err("the prefix length must be between 8 and 30".into());
        }
        let size = 1u32 << (32 - bits);
        Ok(ServiceNet {
            base: u32::from(ip) & !(size - 1),
            size,
        })
    }

    /// The first address, kept for the `kubernetes` service.
    pub fn kubernetes_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.base + 1)
    }

    fn contains(&self, ip: Ipv4Addr) -> bool {
        let n = u32::from(ip);
        n > self.base && n < self.base + self.size - 1
    }

    /// The size of the low band kept for services that name their IP (as Kubernetes 1.26
    /// does: a sixteenth of the range, 16 to 256 addresses), so that an address such as the
    /// DNS service's 10.254.0.10 is never handed out before it is asked for.
    fn static_band(&self) -> u32 {
        (self.size / 16).clamp(16, 256).min(self.size / 2)
    }

    /// The first free address above the static band, else the first free one in it (never
    /// the `kubernetes` one).
    fn next_free(&self, used: &[String]) -> Option<Ipv4Addr> {
        let band = self.static_band().max(2);
        (band..self.size - 1)
            .chain(2..band)
            .map(|i| Ipv4Addr::from(self.base + i))
            .find(|ip| !used.iter().any(|u| *u == ip.to_string()))
    }
}

/// Fills in a new service: type, ports, a cluster IP (the next free one unless given) and
/// node ports for NodePort and LoadBalancer services.
pub async fn on_create(
    store: &Store,
    net: &ServiceNet,
    res: &Resource,
    obj: &mut Value,
) -> Result<(), ApiError> {
    let name = name_of(obj).to_string();
    let is_kubernetes = name == "kubernetes"
        && obj.pointer("/metadata/namespace").and_then(Value::as_str) == Some("default");
    let (services, _) = store.list(res, None, None).await?;
    let used_ips: Vec<String> = services
        .iter()
        .filter_map(|s| s.pointer("/spec/clusterIP").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    let mut used_ports: Vec<i64> = services
        .iter()
        .filter_map(|s| s.pointer("/spec/ports").and_then(Value::as_array))
        .flatten()
        .filter_map(|p| p.get("nodePort").and_then(Value::as_i64))
        .collect();
    let spec = obj_mut(obj, "spec");
    let kind = spec
        .entry("type")
        .or_insert(json!("ClusterIP"))
        .as_str()
        .unwrap_or("ClusterIP")
        .to_string();
    spec.entry("sessionAffinity").or_insert(json!("None"));
    let node_ports = kind == "NodePort" || kind == "LoadBalancer";
    if let Some(Value::Array(ports)) = spec.get_mut("ports") {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            p.entry("protocol").or_insert(json!("TCP"));
            if let Some(port) = p.get("port").cloned() {
                p.entry("targetPort").or_insert(port);
            }
            if node_ports && !p.contains_key("nodePort") {
                let free = (30000..=32767).find(|n| !used_ports.contains(n));
                let Some(free) = free else {
                    return Err(ApiError::invalid(
                        res,
                        &name,
                        "spec.ports: Internal error: range is full",
                    ));
                };
                used_ports.push(free);
                p.insert("nodePort".into(), json!(free));
            }
        }
    }
    if kind != "ExternalName" {
        let given = spec
            .get("clusterIP")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let ip = if given.is_empty() {
            let ip = if is_kubernetes {
                Some(net.kubernetes_ip())
            } else {
                net.next_free(&used_ips)
            };
            ip.ok_or_else(|| {
                ApiError::invalid(res, &name, "spec.clusterIP: Internal error: range is full")
            })?
            .to_string()
        } else if given == "None" {
            given
        } else {
            let parsed: Option<Ipv4Addr> = given.parse().ok();
            if !parsed.is_some_and(|ip| net.contains(ip)) {
                return Err(ApiError::invalid(
                    res,
                    &name,
                    &format!(
                        "spec.clusterIP: Invalid value: \"{given}\": provided IP is not in the valid range"
                    ),
                ));
            }
            if used_ips.contains(&given) {
                return Err(ApiError::invalid(
                    res,
                    &name,
                    &format!(
                        "spec.clusterIP: Invalid value: \"{given}\": provided IP is already allocated"
                    ),
                ));
            }
            given
        };
        spec.insert("clusterIP".into(), json!(ip));
        spec.insert("clusterIPs".into(), json!([ip]));
        spec.entry("ipFamilies").or_insert(json!(["IPv4"]));
        spec.entry("ipFamilyPolicy").or_insert(json!("SingleStack"));
    }
    obj["status"] = json!({"loadBalancer": {}});
    Ok(())
}

/// Keeps a service's cluster IP and node ports across updates that leave them out.
pub fn keep_allocations(res: &Resource, old: &Value, new: &mut Value) -> Result<(), ApiError> {
    let name = name_of(old).to_string();
    let old_ip = old
        .pointer("/spec/clusterIP")
        .cloned()
        .unwrap_or(Value::Null);
    let spec = obj_mut(new, "spec");
    match spec.get("clusterIP").and_then(Value::as_str) {
        None | Some("") => {
            for key in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
                if let Some(v) = old.pointer(&format!("/spec/{key}")) {
                    spec.insert(key.into(), v.clone());
                }
            }
        }
        Some(ip) if old_ip.as_str().is_some_and(|o| o != ip) => {
            return Err(ApiError::invalid(
                res,
                &name,
                &format!("spec.clusterIP: Invalid value: \"{ip}\": field is immutable"),
            ));
        }
        _ => {}
    }
    let old_ports = old
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(Value::Array(ports)) = spec.get_mut("ports") {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            p.entry("protocol").or_insert(json!("TCP"));
            if let Some(port) = p.get("port").cloned() {
                p.entry("targetPort").or_insert(port);
            }
            if !p.contains_key("nodePort") {
                let same = old_ports.iter().find(|o| o.get("port") == p.get("port"));
                if let Some(np) = same.and_then(|o| o.get("nodePort")) {
                    p.insert("nodePort".into(), np.clone());
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::defaults::on_update;
    use crate::apiserver::resources::find;

    #[test]
    fn service_net() {
        let net = ServiceNet::parse("10.254.0.0/16").unwrap();
        assert_eq!(net.kubernetes_ip().to_string(), "10.254.0.1");
        assert_eq!(net.next_free(&[]).unwrap().to_string(), "10.254.1.0");
        let used = vec!["10.254.1.0".to_string(), "10.254.1.1".to_string()];
        assert_eq!(net.next_free(&used).unwrap().to_string(), "10.254.1.2");
        let small = ServiceNet::parse("10.0.0.0/28").unwrap();
        let taken: Vec<String> = (8..15).map(|i| format!("10.0.0.{i}")).collect();
        assert_eq!(small.next_free(&taken).unwrap().to_string(), "10.0.0.2");
        let all: Vec<String> = (2..15).map(|i| format!("10.0.0.{i}")).collect();
        assert!(small.next_free(&all).is_none());
        assert!(net.contains("10.254.3.4".parse().unwrap()));
        assert!(!net.contains("10.255.0.1".parse().unwrap()));
        assert!(ServiceNet::parse("10.0.0.0").is_err());
        assert!(ServiceNet::parse("10.0.0.0/31").is_err());
    }

    #[test]
    fn updates_keep_allocations() {
        let svc = find("", "v1", "services").unwrap();
        let old = json!({"metadata": {"name": "s"}, "spec": {"clusterIP": "10.254.0.9", "ports": [{"port": 80, "nodePort": 30001}]}});
        let mut new = json!({"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}});
        on_update(svc, &old, &mut new).unwrap();
        assert_eq!(new["spec"]["clusterIP"], "10.254.0.9");
        assert_eq!(new["spec"]["ports"][0]["nodePort"], 30001);
        let mut bad = json!({"metadata": {"name": "s"}, "spec": {"clusterIP": "10.254.0.10"}});
        assert!(on_update(svc, &old, &mut bad).is_err());
    }
}
