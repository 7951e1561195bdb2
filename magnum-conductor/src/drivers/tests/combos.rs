//! Every driver × environment-option combination (spec §4.2), for the template gate and the
//! reference checks: each distinct set of environment files once, plus node group stacks and
//! the TLS-disabled variant.

use magnum_common::status::Coe;

use super::fixtures::Fixture;
use crate::drivers::{Driver, Registry, RenderedStack};

/// One rendered stack and how it was made.
pub(crate) struct Combo {
    /// `<driver>__<options>`.
    pub name: String,
    /// The stack.
    pub stack: RenderedStack,
}

/// The cluster options §4.2 decides environment files by.
#[derive(Debug, Clone, Copy)]
struct Knobs {
    existing_network: bool,
    etcd_volume: bool,
    docker_volume: bool,
    master_lb: bool,
    octavia: bool,
    floating_ip: bool,
    lb_floating_ip_label: bool,
}

impl Knobs {
    fn all() -> Vec<Knobs> {
        let mut out = Vec::new();
        for bits in 0u8..128 {
            let b = |i: u8| bits & (1 << i) != 0;
            out.push(Knobs {
                existing_network: b(0),
                etcd_volume: b(1),
                docker_volume: b(2),
                master_lb: b(3),
                octavia: b(4),
                floating_ip: b(5),
                lb_floating_ip_label: b(6),
            });
        }
        out
    }

    fn apply(self, f: &mut Fixture) {
        if self.existing_network {
            f.cluster.fixed_network = Some("private".to_owned());
            f.cluster.fixed_subnet = Some("private-subnet".to_owned());
            f.template.fixed_network = Some("private".to_owned());
            f.template.fixed_subnet = Some("private-subnet".to_owned());
            f.cloud.fixed_network = Some((
                "4e74e74e-0000-4000-8000-000000000000".to_owned(),
                "private".to_owned(),
            ));
            f.cloud.fixed_subnet = Some((
                "50b50b50-0000-4000-8000-000000000000".to_owned(),
                "10.1.0.0/24".to_owned(),
            ));
        }
        if self.etcd_volume {
            f.cluster
                .labels
                .0
                .insert("etcd_volume_size".to_owned(), "5".to_owned());
        }
        if self.docker_volume {
            f.cluster.docker_volume_size = Some(10);
            f.master.docker_volume_size = Some(10);
            f.worker.docker_volume_size = Some(10);
            f.extra.docker_volume_size = Some(10);
        }
        f.cluster.master_lb_enabled = self.master_lb;
        if self.master_lb {
            f.master.node_count = 3;
        }
        f.cloud.octavia_enabled = self.octavia;
        f.cluster.floating_ip_enabled = self.floating_ip;
        if self.lb_floating_ip_label {
            f.cluster.labels.0.insert(
                "master_lb_floating_ip_enabled".to_owned(),
                "true".to_owned(),
            );
        }
    }
}

/// A short name for a list of environment files.
fn env_name(stack: &RenderedStack) -> String {
    stack
        .environment_files
        .iter()
        .map(|e| {
            let base = e.rsplit('/').next().unwrap_or(e).trim_end_matches(".yaml");
            base.replace("with_master_lb_octavia", "lb-octavia")
                .replace("with_master_lb", "lb-neutron")
                .replace("no_master_lb", "no-lb")
                .replace("_private_network", "-privnet")
                .replace("_etcd_volume", "-etcdvol")
                .replace("_volume", "-vol")
                .replace("able_lb_floating_ip", "-lbfip")
                .replace("able_floating_ip", "-fip")
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Every combination for every driver of `registry`.
pub(crate) fn all(registry: &Registry) -> Vec<Combo> {
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (driver, coe) in [
        ("k8s_fedora_coreos_v1", Coe::Kubernetes),
        ("k8s_fedora_atomic_v1", Coe::Kubernetes),
        ("swarm_fedora_atomic_v2", Coe::SwarmMode),
    ] {
        let Some(d) = registry.get(driver) else {
            continue;
        };
        for knobs in Knobs::all() {
            let mut f = Fixture::new(coe);
            knobs.apply(&mut f);
            let stack = d.cluster_stack(&f.inputs()).unwrap();
            let name = format!("{driver}__{}", env_name(&stack));
            if seen.insert(name.clone()) {
                out.push(Combo { name, stack });
            }
        }
        out.extend(extras(d, coe));
    }
    out
}

/// Node group stacks (with and without a Docker volume) and TLS disabled.
fn extras(d: &dyn Driver, coe: Coe) -> Vec<Combo> {
    let mut out = Vec::new();
    let name = d.name();
    let f = Fixture::new(coe);
    out.push(Combo {
        name: format!("{name}__nodegroup"),
        stack: d.nodegroup_stack(&f.nodegroup_inputs()).unwrap(),
    });
    let mut f = Fixture::new(coe);
    f.extra.docker_volume_size = Some(20);
    f.cluster.floating_ip_enabled = false;
    out.push(Combo {
        name: format!("{name}__nodegroup.with-vol.disable-fip"),
        stack: d.nodegroup_stack(&f.nodegroup_inputs()).unwrap(),
    });
    let mut f = Fixture::new(coe);
    f.template.tls_disabled = true;
    f.cluster
        .labels
        .0
        .insert("boot_volume_size".to_owned(), "20".to_owned());
    f.cluster.labels.0.insert(
        "master_lb_allowed_cidrs".to_owned(),
        "192.168.0.0/16".to_owned(),
    );
    f.cluster.master_lb_enabled = true;
    out.push(Combo {
        name: format!("{name}__tls-disabled.boot-volume.lb-cidrs"),
        stack: d.cluster_stack(&f.inputs()).unwrap(),
    });
    out
}
