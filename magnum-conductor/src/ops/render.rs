//! Gathering what a driver needs to render a stack: the cluster with its
//! template and node groups, the cloud facts looked up with the cluster's
//! trust, and the URLs the nodes will use.

use magnum_common::db::models::Scope;
use magnum_common::db::models::cluster::{self, Cluster};
use magnum_common::db::models::cluster_template::{self, ClusterTemplate, Visibility};
use magnum_common::db::models::nodegroup::{self, NodeGroup};
use magnum_common::ids::{ClusterUuid, is_uuid_like};
use magnum_common::openstack::catalog::Catalog;
use magnum_common::openstack::cloud::CloudClient;
use magnum_common::openstack::keystone::v3_url;

use crate::drivers::{CloudFacts, StackInputs, TrustInfo, VolumeTypes};
use crate::error::OpError;
use crate::services::{ClusterSession, Services};

/// A cluster as the conductor acts on it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The cluster row.
    pub cluster: Cluster,
    /// Its template.
    pub template: ClusterTemplate,
    /// Its node groups.
    pub nodegroups: Vec<NodeGroup>,
}

impl Loaded {
    /// The default group of a role.
    pub fn default_group(&self, master: bool) -> Result<&NodeGroup, OpError> {
        self.nodegroups
            .iter()
            .find(|n| n.is_default && n.is_master() == master)
            .ok_or_else(|| {
                OpError::Permanent(format!(
                    "Cluster {} has no default {} node group.",
                    self.cluster.uuid,
                    if master { "master" } else { "worker" }
                ))
            })
    }

    /// The node group `uuid`.
    pub fn group(&self, uuid: &str) -> Option<&NodeGroup> {
        self.nodegroups.iter().find(|n| n.uuid.to_string() == uuid)
    }
}

/// Loads a cluster with its template and node groups (`None`: it is gone).
pub async fn load(svc: &Services, uuid: ClusterUuid) -> Result<Option<Loaded>, OpError> {
    svc.db
        .run(move |conn| {
            let Some(c) = cluster::get_by_uuid(conn, &Scope::All, uuid)? else {
                return Ok(None);
            };
            let t = cluster_template::get_by_uuid(conn, &Visibility::All, c.cluster_template_id)?
                .ok_or_else(|| {
                OpError::Permanent(format!(
                    "ClusterTemplate {} could not be found.",
                    c.cluster_template_id
                ))
            })?;
            let ngs = nodegroup::list_for_clusters(conn, &[uuid])?;
            Ok(Some(Loaded {
                cluster: c,
                template: t,
                nodegroups: ngs,
            }))
        })
        .await
}

/// Looks up, with the cluster's trust, what the templates need from the cloud.
pub async fn cloud_facts(
    svc: &Services,
    session: &ClusterSession,
    l: &Loaded,
) -> Result<CloudFacts, OpError> {
    let catalog = &session.token.info.catalog;
    let cloud = CloudClient::new(&svc.http, catalog, &session.token.token, &svc.endpoints);
    let mut facts = CloudFacts {
        octavia_enabled: catalog.has("load-balancer"),
        ..CloudFacts::default()
    };
    if let Some(ext) = l
        .template
        .external_network_id
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        facts.external_network_id = if is_uuid_like(ext) {
            ext.to_owned()
        } else {
            cloud
                .networks(&[("name", ext)])
                .await?
                .into_iter()
                .next()
                .map(|n| n.id)
                .ok_or_else(|| {
                    OpError::Permanent(format!("External network {ext} could not be found."))
                })?
        };
    }
    if let Some(net) = l.cluster.fixed_network.as_deref().filter(|s| !s.is_empty()) {
        let key = if is_uuid_like(net) { "id" } else { "name" };
        let found = cloud.networks(&[(key, net)]).await?.into_iter().next();
        let n = found.ok_or_else(|| {
            OpError::Permanent(format!("Fixed network {net} could not be found."))
        })?;
        facts.fixed_network = Some((n.id, n.name));
    }
    if let Some(sub) = l.cluster.fixed_subnet.as_deref().filter(|s| !s.is_empty()) {
        let key = if is_uuid_like(sub) { "id" } else { "name" };
        let found = cloud.subnets(&[(key, sub)]).await?.into_iter().next();
        let s = found
            .ok_or_else(|| OpError::Permanent(format!("Fixed subnet {sub} could not be found.")))?;
        facts.fixed_subnet = Some((s.id, s.cidr));
    }
    facts.default_volume_types = volume_types(svc, &cloud, l).await?;
    if let Some(kp) = l.cluster.keypair.as_deref().filter(|s| !s.is_empty()) {
        facts.ssh_public_key = cloud
            .keypair(kp)
            .await?
            .map(|k| k.public_key)
            .unwrap_or_default();
    }
    Ok(facts)
}

/// The volume types the cluster's volumes get when its labels name none: `[cinder]`'s
/// defaults, else the first type Cinder lists (asked only when some volume is wanted).
async fn volume_types(
    svc: &Services,
    cloud: &CloudClient<'_>,
    l: &Loaded,
) -> Result<VolumeTypes, OpError> {
    let opts = &svc.cfg.cinder;
    let mut types = VolumeTypes {
        docker: opts.default_docker_volume_type.clone(),
        etcd: opts.default_etcd_volume_type.clone(),
        boot: opts.default_boot_volume_type.clone(),
    };
    let label_size = |key: &str| {
        let in_labels = |labels: &magnum_common::db::JsonMap| {
            labels
                .0
                .get(key)
                .and_then(|v| v.trim().parse::<i64>().ok())
                .unwrap_or(0)
                > 0
        };
        in_labels(&l.cluster.labels) || l.nodegroups.iter().any(|n| in_labels(&n.labels))
    };
    let wanted = l.cluster.docker_volume_size.unwrap_or(0) > 0
        || l.nodegroups
            .iter()
            .any(|n| n.docker_volume_size.unwrap_or(0) > 0)
        || label_size("etcd_volume_size")
        || label_size("boot_volume_size")
        || svc.cfg.cinder.default_boot_volume_size > 0;
    let missing = [&types.docker, &types.etcd, &types.boot]
        .iter()
        .any(|t| t.is_empty());
    if wanted && missing {
        let first = cloud
            .volume_types()
            .await?
            .into_iter()
            .next()
            .map(|t| t.name)
            .ok_or_else(|| {
                OpError::Permanent(
                    "Cinder has no volume type for the cluster's volumes.".to_owned(),
                )
            })?;
        for t in [&mut types.docker, &mut types.etcd, &mut types.boot] {
            if t.is_empty() {
                t.clone_from(&first);
            }
        }
    }
    Ok(types)
}

/// The etcd discovery URL: the cluster's own, else one from the discovery
/// service (`[cluster] etcd_discovery_service_endpoint_format`), else none.
pub async fn discovery_url(
    svc: &Services,
    l: &Loaded,
    master_count: i32,
) -> Result<String, OpError> {
    if let Some(u) = l.cluster.discovery_url.as_deref().filter(|s| !s.is_empty()) {
        return Ok(u.to_owned());
    }
    let format = &svc.cfg.cluster.etcd_discovery_service_endpoint_format;
    if format.is_empty() {
        return Ok(String::new());
    }
    let url = format.replace("%(size)d", &master_count.to_string());
    let resp = svc
        .http
        .get(&url)
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| {
            OpError::Transient(format!("Failed to get discovery url from '{url}': {e}"))
        })?;
    if !resp.status().is_success() {
        return Err(OpError::Transient(format!(
            "Failed to get discovery url from '{url}': {}",
            resp.status()
        )));
    }
    let text = resp
        .text()
        .await
        .map_err(|e| OpError::Transient(e.to_string()))?;
    Ok(text.trim().to_owned())
}

fn url_in(catalog: &Catalog, service: &str, interface: &str) -> Option<String> {
    catalog.url_for(service, interface, None).map(str::to_owned)
}

/// Everything the driver renders with, for the cluster stack (`nodegroup`
/// `None`) or a node group's.
#[allow(clippy::too_many_arguments)]
pub fn inputs<'a>(
    svc: &Services,
    session: &ClusterSession,
    l: &'a Loaded,
    nodegroup: Option<&'a NodeGroup>,
    facts: CloudFacts,
    discovery_url: String,
    trustee_domain_id: String,
    service_account_keys: (String, String),
) -> Result<StackInputs<'a>, OpError> {
    let catalog = &session.token.info.catalog;
    let c = &l.cluster;
    let trust = TrustInfo {
        trustee_domain_id,
        trustee_user_id: c.trustee_user_id.clone().unwrap_or_default(),
        trustee_username: c.trustee_username.clone().unwrap_or_default(),
        trustee_password: c.trustee_password.clone().unwrap_or_default(),
        trust_id: if svc.cfg.trust.cluster_user_trust {
            c.trust_id.clone().unwrap_or_default()
        } else {
            String::new()
        },
    };
    let interface = &svc.cfg.trust.trustee_keystone_interface;
    let auth_url = v3_url(
        &url_in(catalog, "identity", interface)
            .unwrap_or_else(|| svc.trusts.keystone_url().to_owned()),
    );
    let region_name = svc.cfg.heat_client.region_name.clone().unwrap_or_else(|| {
        catalog
            .0
            .iter()
            .filter(|s| s.service_type == "orchestration")
            .flat_map(|s| s.endpoints.iter())
            .find_map(|e| e.region_id.clone().or_else(|| e.region.clone()))
            .unwrap_or_default()
    });
    let openstack_ca = match svc.cfg.drivers.openstack_ca_file.as_str() {
        "" => String::new(),
        path => std::fs::read_to_string(path)
            .map_err(|e| OpError::Permanent(format!("[drivers] openstack_ca_file {path}: {e}")))?,
    };
    Ok(StackInputs {
        cluster: c,
        template: &l.template,
        master: l.default_group(true)?,
        worker: l.default_group(false)?,
        nodegroup,
        existing: None,
        trust,
        cloud: facts,
        auth_url,
        magnum_url: url_in(catalog, "container-infra", "public").unwrap_or_default(),
        username: session.token.info.user_name.clone(),
        region_name,
        discovery_url,
        verify_ca: svc.cfg.drivers.verify_ca,
        openstack_ca,
        nodes_affinity_policy: svc.cfg.cluster.nodes_affinity_policy.clone(),
        service_account_keys,
    })
}

/// Inputs with only what the database knows (no cloud look-ups, no trust):
/// enough for the driver's checks, such as an upgrade's version rules.
pub fn bare_inputs<'a>(
    l: &'a Loaded,
    nodegroup: Option<&'a NodeGroup>,
) -> Result<StackInputs<'a>, OpError> {
    Ok(StackInputs {
        cluster: &l.cluster,
        template: &l.template,
        master: l.default_group(true)?,
        worker: l.default_group(false)?,
        nodegroup,
        existing: None,
        trust: TrustInfo::default(),
        cloud: CloudFacts::default(),
        auth_url: String::new(),
        magnum_url: String::new(),
        username: String::new(),
        region_name: String::new(),
        discovery_url: String::new(),
        verify_ca: true,
        openstack_ca: String::new(),
        nodes_affinity_policy: String::new(),
        service_account_keys: (String::new(), String::new()),
    })
}
