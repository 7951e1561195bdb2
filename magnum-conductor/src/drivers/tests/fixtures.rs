//! A cluster, its template and node groups as the conductor would hand them to a driver, with
//! fixed ids so snapshots are stable.

use magnum_common::db::JsonMap;
use magnum_common::db::models::cluster::Cluster;
use magnum_common::db::models::cluster_template::ClusterTemplate;
use magnum_common::db::models::nodegroup::NodeGroup;
use magnum_common::ids::{ClusterTemplateUuid, ClusterUuid, NodeGroupUuid, ProjectId, UserId};
use magnum_common::status::Coe;

use crate::drivers::{CloudFacts, ExistingCluster, StackInputs, TrustInfo};

pub(crate) const CLUSTER_UUID: &str = "5d12f6fd-a196-4bf0-ae4c-1f639a523a52";
pub(crate) const TEMPLATE_UUID: &str = "0b8c1e9a-2f3e-4d47-9a0e-3c0f4b9d6a11";
pub(crate) const PROJECT: &str = "9a4e3c1f0b2d4e6f8a7b5c3d1e0f2a4b";

/// Everything a driver gets, owned.
#[derive(Debug, Clone)]
pub(crate) struct Fixture {
    pub cluster: Cluster,
    pub template: ClusterTemplate,
    pub master: NodeGroup,
    pub worker: NodeGroup,
    pub extra: NodeGroup,
    pub trust: TrustInfo,
    pub cloud: CloudFacts,
}

fn uuid<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().unwrap()
}

fn labels(pairs: &[(&str, &str)]) -> JsonMap {
    JsonMap(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

impl Fixture {
    /// A Kubernetes (`coe` kubernetes) or Swarm cluster with 1 master and 2 workers.
    pub(crate) fn new(coe: Coe) -> Self {
        let project = ProjectId::from(PROJECT);
        let user = UserId::from("c0ffee00c0ffee00c0ffee00c0ffee00");
        let mut template = ClusterTemplate::new(project.clone(), user.clone(), coe);
        template.uuid = uuid::<ClusterTemplateUuid>(TEMPLATE_UUID);
        template.name = Some("k8s-template".to_owned());
        template.image_id = Some("fedora-coreos-38".to_owned());
        template.flavor_id = Some("m1.small".to_owned());
        template.master_flavor_id = Some("m1.medium".to_owned());
        template.keypair_id = Some("default".to_owned());
        template.external_network_id = Some("public".to_owned());
        template.dns_nameserver = Some("8.8.8.8".to_owned());
        template.network_driver = Some(
            if coe == Coe::Kubernetes {
                "flannel"
            } else {
                "docker"
            }
            .to_owned(),
        );
        template.docker_storage_driver = Some("overlay2".to_owned());
        template.http_proxy = Some("http://proxy:3128".to_owned());
        template.https_proxy = Some("http://proxy:3128".to_owned());
        template.no_proxy = Some("localhost,127.0.0.1".to_owned());
        template.labels = labels(&[("kube_tag", "v1.27.4")]);
        template.cluster_distro = Some(
            if coe == Coe::Kubernetes {
                "fedora-coreos"
            } else {
                "fedora-atomic"
            }
            .to_owned(),
        );

        let mut cluster = Cluster::new(project.clone(), user, template.uuid);
        cluster.uuid = uuid::<ClusterUuid>(CLUSTER_UUID);
        cluster.name = Some("k8s_cluster.one".to_owned());
        cluster.keypair = Some("default".to_owned());
        cluster.flavor_id = template.flavor_id.clone();
        cluster.master_flavor_id = template.master_flavor_id.clone();
        cluster.labels = labels(&[
            ("kube_tag", "v1.27.4"),
            ("flannel_network_cidr", "10.101.0.0/16"),
            ("availability_zone", "nova"),
            ("etcd_tag", "v3.5.9"),
            ("cinder_csi_enabled", "true"),
            ("auto_scaling_enabled", "false"),
            ("rexray_preempt", "true"),
        ]);
        cluster.create_timeout = Some(60);
        cluster.floating_ip_enabled = true;

        let mut master = NodeGroup::new(cluster.uuid, project.clone(), "default-master", "master");
        master.uuid = uuid::<NodeGroupUuid>("11111111-1111-4111-8111-111111111111");
        master.is_default = true;
        master.flavor_id = Some("m1.medium".to_owned());
        master.image_id = template.image_id.clone();
        master.labels = cluster.labels.clone();
        let mut worker = NodeGroup::new(cluster.uuid, project.clone(), "default-worker", "worker");
        worker.uuid = uuid::<NodeGroupUuid>("22222222-2222-4222-8222-222222222222");
        worker.is_default = true;
        worker.node_count = 2;
        worker.flavor_id = Some("m1.small".to_owned());
        worker.image_id = template.image_id.clone();
        worker.labels = cluster.labels.clone();
        let mut extra = NodeGroup::new(cluster.uuid, project, "gpu-workers", "worker");
        extra.uuid = uuid::<NodeGroupUuid>("33333333-3333-4333-8333-333333333333");
        extra.node_count = 3;
        extra.flavor_id = Some("g1.large".to_owned());
        extra.image_id = template.image_id.clone();
        extra.labels = labels(&[("kube_tag", "v1.27.4"), ("availability_zone", "gpu")]);

        Fixture {
            cluster,
            template,
            master,
            worker,
            extra,
            trust: TrustInfo {
                trustee_domain_id: "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0".to_owned(),
                trustee_user_id: "e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1".to_owned(),
                trustee_username: format!("{CLUSTER_UUID}_{PROJECT}"),
                trustee_password: "Tr0ub4dor&3xyzABCD".to_owned(),
                trust_id: String::new(),
            },
            cloud: CloudFacts {
                external_network_id: "8e1c5f8c-0000-4000-8000-00000000ext0".to_owned(),
                fixed_network: None,
                fixed_subnet: None,
                ssh_public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests user@host"
                    .to_owned(),
                octavia_enabled: true,
                default_volume_types: crate::drivers::VolumeTypes {
                    docker: "lvmdriver-1".to_owned(),
                    etcd: "lvmdriver-1".to_owned(),
                    boot: "lvmdriver-1".to_owned(),
                },
            },
        }
    }

    /// The inputs of the cluster stack.
    pub(crate) fn inputs(&self) -> StackInputs<'_> {
        StackInputs {
            cluster: &self.cluster,
            template: &self.template,
            master: &self.master,
            worker: &self.worker,
            nodegroup: None,
            existing: None,
            trust: self.trust.clone(),
            cloud: self.cloud.clone(),
            auth_url: "http://keystone.example:5000".to_owned(),
            magnum_url: "http://magnum.example:9511".to_owned(),
            username: "demo".to_owned(),
            region_name: "RegionOne".to_owned(),
            discovery_url: "https://discovery.etcd.io/0123456789abcdef".to_owned(),
            verify_ca: true,
            openstack_ca: "-----BEGIN CERTIFICATE-----\nMIIB+fake\n-----END CERTIFICATE-----\n"
                .to_owned(),
            nodes_affinity_policy: "soft-anti-affinity".to_owned(),
            service_account_keys: (
                "-----BEGIN PUBLIC KEY-----\nMIIBfakepub\n-----END PUBLIC KEY-----\n".to_owned(),
                "-----BEGIN PRIVATE KEY-----\nMIIEfakepriv\n-----END PRIVATE KEY-----\n".to_owned(),
            ),
        }
    }

    /// The inputs of the `gpu-workers` node group's stack.
    pub(crate) fn nodegroup_inputs(&self) -> StackInputs<'_> {
        StackInputs {
            nodegroup: Some(&self.extra),
            existing: Some(ExistingCluster {
                master_private_ip: "10.0.0.5".to_owned(),
                security_group: "5ec5ec5e-0000-4000-8000-000000000000".to_owned(),
                fixed_network: "4e74e74e-0000-4000-8000-000000000000".to_owned(),
                fixed_subnet: "50b50b50-0000-4000-8000-000000000000".to_owned(),
            }),
            ..self.inputs()
        }
    }
}
