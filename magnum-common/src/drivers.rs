//! Which driver builds a cluster: chosen by (server_type, os_distro, coe), as
//! upstream's entry points declare in `provides`.

use crate::status::{Coe, ServerType};

/// A cluster driver and what it provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Driver {
    /// Upstream's entry-point name.
    pub name: &'static str,
    /// Server type.
    pub server_type: ServerType,
    /// Glance `os_distro`.
    pub os_distro: &'static str,
    /// Container orchestration engine.
    pub coe: Coe,
}

/// Every driver this build ships. `swarm` (the first Swarm API) is accepted, as
/// upstream 2023.1 accepted it, and served by the swarm-mode driver.
pub const DRIVERS: &[Driver] = &[
    Driver {
        name: "k8s_fedora_coreos_v1",
        server_type: ServerType::Vm,
        os_distro: "fedora-coreos",
        coe: Coe::Kubernetes,
    },
    Driver {
        name: "k8s_fedora_atomic_v1",
        server_type: ServerType::Vm,
        os_distro: "fedora-atomic",
        coe: Coe::Kubernetes,
    },
    Driver {
        name: "swarm_fedora_atomic_v2",
        server_type: ServerType::Vm,
        os_distro: "fedora-atomic",
        coe: Coe::SwarmMode,
    },
    Driver {
        name: "swarm_fedora_atomic_v2",
        server_type: ServerType::Vm,
        os_distro: "fedora-atomic",
        coe: Coe::Swarm,
    },
];

/// The driver for the triple, unless none exists or it is disabled.
pub fn select(
    server_type: ServerType,
    os_distro: Option<&str>,
    coe: Coe,
    disabled: &[String],
) -> Option<&'static Driver> {
    let os = os_distro?;
    DRIVERS
        .iter()
        .find(|d| d.server_type == server_type && d.os_distro == os && d.coe == coe)
        .filter(|d| !disabled.iter().any(|x| x == d.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection() {
        assert_eq!(
            select(ServerType::Vm, Some("fedora-coreos"), Coe::Kubernetes, &[]).map(|d| d.name),
            Some("k8s_fedora_coreos_v1")
        );
        assert_eq!(
            select(ServerType::Vm, Some("fedora-atomic"), Coe::Kubernetes, &[]).map(|d| d.name),
            Some("k8s_fedora_atomic_v1")
        );
        assert_eq!(
            select(ServerType::Vm, Some("fedora-atomic"), Coe::SwarmMode, &[]).map(|d| d.name),
            Some("swarm_fedora_atomic_v2")
        );
        assert_eq!(
            select(ServerType::Vm, Some("fedora-atomic"), Coe::Swarm, &[]).map(|d| d.name),
            Some("swarm_fedora_atomic_v2")
        );
        assert!(select(ServerType::Vm, Some("fedora-coreos"), Coe::SwarmMode, &[]).is_none());
        assert!(select(ServerType::Bm, Some("fedora-coreos"), Coe::Kubernetes, &[]).is_none());
        assert!(select(ServerType::Vm, None, Coe::Kubernetes, &[]).is_none());
        assert!(
            select(
                ServerType::Vm,
                Some("fedora-coreos"),
                Coe::Kubernetes,
                &["k8s_fedora_coreos_v1".to_owned()]
            )
            .is_none()
        );
    }
}
