//! The resources the stand-in serves: one row per resource, from which the discovery
//! documents, the URL routing and the etcd keys all follow.

/// One served resource type.
#[derive(Debug)]
pub struct Resource {
    /// API group (`""` for the core group).
    pub group: &'static str,
    /// API version.
    pub version: &'static str,
    /// Plural name, as in URLs.
    pub name: &'static str,
    /// Singular name (kubectl resolves `kubectl get pod` with it).
    pub singular: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Short names (`po`, `svc`, ...).
    pub short_names: &'static [&'static str],
    /// Subresources served (`status`, `scale`, `binding`, `eviction`).
    pub subresources: &'static [&'static str],
    /// Whether the resource is in the `all` category (`kubectl get all`).
    pub in_all: bool,
    /// Whether `metadata.generation` counts spec changes.
    pub generation: bool,
}

const NS: bool = true;
const CLUSTER: bool = false;

macro_rules! res {
    ($group:expr, $version:expr, $name:expr, $singular:expr, $kind:expr, $namespaced:expr,
     [$($short:expr),*], [$($sub:expr),*], $all:expr, $gen:expr) => {
        Resource {
            group: $group,
            version: $version,
            name: $name,
            singular: $singular,
            kind: $kind,
            namespaced: $namespaced,
            short_names: &[$($short),*],
            subresources: &[$($sub),*],
            in_all: $all,
            generation: $gen,
        }
    };
}

/// Every resource served.
#[rustfmt::skip]
pub static RESOURCES: &[Resource] = &[
    res!("", "v1", "nodes", "node", "Node", CLUSTER, ["no"], ["status"], false, false),
    res!("", "v1", "namespaces", "namespace", "Namespace", CLUSTER, ["ns"], ["status"], false, false),
    res!("", "v1", "pods", "pod", "Pod", NS, ["po"], ["status", "binding", "eviction", "log"], true, false),
    res!("", "v1", "services", "service", "Service", NS, ["svc"], ["status"], true, false),
    res!("", "v1", "endpoints", "endpoints", "Endpoints", NS, ["ep"], [], false, false),
    res!("", "v1", "replicationcontrollers", "replicationcontroller", "ReplicationController", NS, ["rc"], ["status", "scale"], true, true),
    res!("", "v1", "configmaps", "configmap", "ConfigMap", NS, ["cm"], [], false, false),
    res!("", "v1", "secrets", "secret", "Secret", NS, [], [], false, false),
    res!("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", NS, ["sa"], [], false, false),
    res!("", "v1", "events", "event", "Event", NS, ["ev"], [], false, false),
    res!("", "v1", "limitranges", "limitrange", "LimitRange", NS, ["limits"], [], false, false),
    res!("", "v1", "resourcequotas", "resourcequota", "ResourceQuota", NS, ["quota"], ["status"], false, false),
    res!("", "v1", "persistentvolumes", "persistentvolume", "PersistentVolume", CLUSTER, ["pv"], ["status"], false, false),
    res!("", "v1", "persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", NS, ["pvc"], ["status"], false, false),
    res!("apps", "v1", "deployments", "deployment", "Deployment", NS, ["deploy"], ["status", "scale"], true, true),
    res!("apps", "v1", "daemonsets", "daemonset", "DaemonSet", NS, ["ds"], ["status"], true, true),
    res!("apps", "v1", "replicasets", "replicaset", "ReplicaSet", NS, ["rs"], ["status", "scale"], true, true),
    res!("apps", "v1", "statefulsets", "statefulset", "StatefulSet", NS, ["sts"], ["status", "scale"], true, true),
    res!("batch", "v1", "jobs", "job", "Job", NS, [], ["status"], true, true),
    res!("batch", "v1beta1", "cronjobs", "cronjob", "CronJob", NS, ["cj"], ["status"], true, true),
    res!("networking.k8s.io", "v1", "ingresses", "ingress", "Ingress", NS, ["ing"], ["status"], false, true),
    res!("networking.k8s.io", "v1", "networkpolicies", "networkpolicy", "NetworkPolicy", NS, ["netpol"], [], false, true),
    res!("rbac.authorization.k8s.io", "v1", "roles", "role", "Role", NS, [], [], false, false),
    res!("rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", NS, [], [], false, false),
    res!("rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", CLUSTER, [], [], false, false),
    res!("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", CLUSTER, [], [], false, false),
    res!("policy", "v1", "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget", NS, ["pdb"], ["status"], false, true),
    res!("storage.k8s.io", "v1", "storageclasses", "storageclass", "StorageClass", CLUSTER, ["sc"], [], false, false),
    res!("coordination.k8s.io", "v1", "leases", "lease", "Lease", NS, [], [], false, false),
    res!("scheduling.k8s.io", "v1", "priorityclasses", "priorityclass", "PriorityClass", CLUSTER, ["pc"], [], false, false),
];

impl Resource {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `pods` or `deployments.apps`, as Kubernetes names a resource in messages.
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.name.to_string()
        } else {
            format!("{}.{}", self.name, self.group)
        }
    }

    /// The etcd key of one object.
    pub fn key(&self, namespace: Option<&str>, name: &str) -> String {
        match namespace.filter(|_| self.namespaced) {
            Some(ns) => format!("/registry/{}/{ns}/{name}", self.name),
            None => format!("/registry/{}/{name}", self.name),
        }
    }

    /// The etcd prefix holding every object (in `namespace` when given).
    pub fn prefix(&self, namespace: Option<&str>) -> String {
        match namespace.filter(|_| self.namespaced) {
            Some(ns) => format!("/registry/{}/{ns}/", self.name),
            None => format!("/registry/{}/", self.name),
        }
    }

    /// Whether the resource has a status subresource (so that writes to the main resource
    /// keep the stored status).
    pub fn has_status(&self) -> bool {
        self.subresources.contains(&"status")
    }
}

/// The resource served at `group`/`version` under the plural `name`.
pub fn find(group: &str, version: &str, name: &str) -> Option<&'static Resource> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.name == name)
}

/// The first resource with this plural name, whatever its group.
pub fn by_name(name: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.name == name)
}

/// The (group, version) pairs served outside the core group, in table order.
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for r in RESOURCES.iter().filter(|r| !r.group.is_empty()) {
        if !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_names() {
        let pods = find("", "v1", "pods");
        assert!(pods.is_some_and(|p| p.key(Some("ns"), "x") == "/registry/pods/ns/x"));
        let nodes = by_name("nodes");
        assert!(nodes.is_some_and(|n| n.key(Some("ignored"), "n1") == "/registry/nodes/n1"));
        let deploy = find("apps", "v1", "deployments");
        assert!(
            deploy.is_some_and(|d| d.group_resource() == "deployments.apps"
                && d.api_version() == "apps/v1"
                && d.prefix(None) == "/registry/deployments/")
        );
        assert!(find("apps", "v2", "deployments").is_none());
        assert!(group_versions().contains(&("rbac.authorization.k8s.io", "v1")));
    }
}
