//! The objects the kubelet stand-in writes: its Node (facts read from this machine) and the
//! status that marks a pod as never to run here.

use serde_json::{Value, json};

/// The reason shown on pods this kubelet will never start.
pub const NO_CONTAINERS: &str = "StandinDoesNotRunContainers";
/// The message shown with it.
pub const NO_CONTAINERS_MESSAGE: &str = "the Kubernetes stand-in runs no containers";

/// What the Node says about this machine.
#[derive(Debug, Clone)]
pub struct Machine {
    /// The Node's name.
    pub name: String,
    /// Its InternalIP, if known.
    pub ip: Option<String>,
    /// CPUs.
    pub cpus: usize,
    /// Memory, in KiB.
    pub memory_kib: u64,
    /// /etc/os-release's PRETTY_NAME.
    pub os_image: String,
    /// The running kernel.
    pub kernel: String,
}

/// A small file's trimmed text (empty when unreadable).
pub fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// PRETTY_NAME from os-release text.
pub fn pretty_name(os_release: &str) -> Option<String> {
    os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim().trim_matches('"').to_string())
}

/// MemTotal (KiB) from /proc/meminfo text.
pub fn mem_total_kib(meminfo: &str) -> Option<u64> {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

impl Machine {
    /// Reads this machine's facts.
    pub fn gather(name: String, ip: Option<String>) -> Machine {
        Machine {
            name,
            ip,
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            memory_kib: mem_total_kib(&read_trim("/proc/meminfo")).unwrap_or(0),
            os_image: pretty_name(&read_trim("/etc/os-release")).unwrap_or_else(|| "Linux".into()),
            kernel: read_trim("/proc/sys/kernel/osrelease"),
        }
    }
}

/// `key=value:Effect,key:Effect` as Node taints.
pub fn parse_taints(text: &str) -> Result<Vec<Value>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            let (kv, effect) = t
                .rsplit_once(':')
                .ok_or(format!("taint {t:?} has no :Effect"))?;
            if !matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
                return Err(format!("taint {t:?}: unknown effect {effect:?}"));
            }
            let mut taint = match kv.split_once('=') {
                Some((k, v)) => json!({"key": k, "value": v}),
                None => json!({"key": kv}),
            };
            taint["effect"] = json!(effect);
            Ok(taint)
        })
        .collect()
}

/// The Node's conditions, Ready with a heartbeat `now`.
pub fn conditions(now: &str, since: &str) -> Value {
    let cond = |kind: &str, status: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": status, "reason": reason, "message": message,
               "lastHeartbeatTime": now, "lastTransitionTime": since})
    };
    json!([
        cond(
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available"
        ),
        cond(
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure"
        ),
        cond(
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available"
        ),
        cond(
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status (Kubernetes stand-in: runs no containers)"
        ),
    ])
}

/// The Node this kubelet registers.
pub fn node_object(
    m: &Machine,
    version: &str,
    labels: &[(String, String)],
    taints: &[Value],
    now: &str,
) -> Value {
    let mut all = json!({
        "kubernetes.io/hostname": m.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
    });
    for (k, v) in labels {
        all[k] = json!(v);
    }
    let resources =
        json!({"cpu": m.cpus.to_string(), "memory": format!("{}Ki", m.memory_kib), "pods": "110"});
    let mut addresses = Vec::new();
    if let Some(ip) = &m.ip {
        addresses.push(json!({"type": "InternalIP", "address": ip}));
    }
    addresses.push(json!({"type": "Hostname", "address": m.name}));
    let mut node = json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": m.name, "labels": all,
                     "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
        "spec": {},
        "status": {
            "capacity": resources, "allocatable": resources,
            "conditions": conditions(now, now),
            "addresses": addresses,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": read_trim("/etc/machine-id"), "systemUUID": "", "bootID": read_trim("/proc/sys/kernel/random/boot_id"),
                "kernelVersion": m.kernel, "osImage": m.os_image, "containerRuntimeVersion": "docker://stand-in",
                "kubeletVersion": version, "kubeProxyVersion": version, "operatingSystem": "linux", "architecture": "amd64",
            },
        },
    });
    if !taints.is_empty() {
        node["spec"]["taints"] = json!(taints);
    }
    node
}

/// The status patch that marks a pod as never to run here.
pub fn pod_status_patch(pod: &Value, host_ip: Option<&str>, now: &str) -> Value {
    let waiting = json!({"waiting": {"reason": NO_CONTAINERS, "message": NO_CONTAINERS_MESSAGE}});
    let statuses: Vec<Value> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| json!({"name": c.get("name"), "image": c.get("image"), "imageID": "", "ready": false,
                                 "restartCount": 0, "started": false, "state": waiting}))
                .collect()
        })
        .unwrap_or_default();
    let not = |kind: &str| {
        json!({"type": kind, "status": "False", "reason": NO_CONTAINERS,
                                 "message": NO_CONTAINERS_MESSAGE, "lastProbeTime": null, "lastTransitionTime": now})
    };
    json!({"status": {
        "phase": "Pending", "reason": NO_CONTAINERS, "message": NO_CONTAINERS_MESSAGE,
        "hostIP": host_ip, "startTime": now,
        "conditions": [
            {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now},
            {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": now},
            not("ContainersReady"), not("Ready"),
        ],
        "containerStatuses": statuses,
    }})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_facts_and_taints() {
        assert_eq!(
            pretty_name("NAME=x\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n").as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(
            mem_total_kib("MemTotal:       24567890 kB\nMemFree: 1 kB"),
            Some(24_567_890)
        );
        let t =
            parse_taints("node-role.kubernetes.io/master=:NoSchedule,dedicated:NoExecute").unwrap();
        assert_eq!(
            t[0],
            json!({"key": "node-role.kubernetes.io/master", "value": "", "effect": "NoSchedule"})
        );
        assert_eq!(t[1], json!({"key": "dedicated", "effect": "NoExecute"}));
        assert!(parse_taints("a=b").is_err());
        assert!(parse_taints("a=b:Sometimes").is_err());
    }

    #[test]
    fn node_and_pod_objects() {
        let m = Machine {
            name: "n1".into(),
            ip: Some("10.0.0.5".into()),
            cpus: 2,
            memory_kib: 1024,
            os_image: "Debian".into(),
            kernel: "6.1".into(),
        };
        let n = node_object(
            &m,
            "v1.26.8",
            &[("role".into(), "worker".into())],
            &[],
            "2024-01-01T00:00:00Z",
        );
        assert_eq!(n["metadata"]["labels"]["role"], "worker");
        assert_eq!(n["metadata"]["labels"]["kubernetes.io/hostname"], "n1");
        assert_eq!(n["status"]["nodeInfo"]["kubeletVersion"], "v1.26.8");
        assert_eq!(n["status"]["capacity"]["memory"], "1024Ki");
        assert_eq!(n["status"]["addresses"][0]["address"], "10.0.0.5");
        assert_eq!(n["status"]["conditions"][3]["reason"], "KubeletReady");
        assert!(n["spec"].get("taints").is_none());
        let pod = json!({"spec": {"containers": [{"name": "c", "image": "nginx"}]}});
        let p = pod_status_patch(&pod, Some("10.0.0.5"), "t");
        assert_eq!(p["status"]["reason"], NO_CONTAINERS);
        assert_eq!(
            p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
            NO_CONTAINERS
        );
    }
}
