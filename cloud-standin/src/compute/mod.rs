//! The local cloud: Nova servers, Neutron networks, Cinder volumes and Octavia load balancers
//! that are real things on this machine, so that Heat's own resource types build a bay's nodes
//! here as they would on a cloud.
//!
//! | OpenStack | here |
//! |---|---|
//! | Nova server | a system container (systemd as PID 1) from the node image, on the Docker Engine the scripts start; its user data goes to its cloud-init through a NoCloud seed; its console is the container's TTY |
//! | Neutron network + subnet | an `--internal` Docker network (its own bridge): the nodes reach each other and this machine, nothing beyond it |
//! | Neutron port | an address reserved on that network, given to the container that has the port |
//! | floating IP | an address on the `public` network's bridge, given to the container as a second NIC |
//! | Cinder volume | a Docker volume; attached, it shows in the node as `/dev/disk/by-id/virtio-<id>` (a directory) |
//! | Octavia load balancer | a TCP balancer in this process, listening on an address of the subnet's bridge |
//! | router, security group, server group | records (the machine routes; nothing is filtered or scheduled) |
//!
//! Without a Docker Engine (`--docker-host`) the records still work but servers cannot be made:
//! the stand-in then only answers the look-ups Magnum itself makes.

pub mod balancer;
pub mod docker;
pub mod host;
pub mod ipam;
pub mod state;

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use ipnet::Ipv4Net;
use serde_json::json;

use crate::data;
use docker::Docker;
use host::HostDirs;
use state::{CloudState, Network, Subnet};

/// Label on every Docker object the local cloud makes.
pub const LABEL: &str = "org.openstack.local-cloud";

/// The running engine side.
pub struct Engine {
    pub docker: Docker,
    pub dirs: HostDirs,
    pub dns: Ipv4Addr,
    pub tenant_pool: Ipv4Net,
    pub balancer: balancer::Balancer,
    /// The engine's CPUs: a flavor with more vCPUs shares them all (overcommit, as Nova's
    /// `cpu_allocation_ratio` allows) instead of failing the build.
    pub cpus: u64,
}

/// The local cloud: its records and, when configured, its engine.
pub struct Cloud {
    state: Mutex<CloudState>,
    file: Option<PathBuf>,
    engine: Option<Arc<Engine>>,
}

/// Why a change to the cloud could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    /// The caller asked for something invalid (400).
    #[error("{0}")]
    BadRequest(String),
    /// No such thing (404).
    #[error("{0}")]
    NotFound(String),
    /// It conflicts with the current state (409).
    #[error("{0}")]
    Conflict(String),
    /// The local compute is not there or failed (503/500).
    #[error("{0}")]
    Unavailable(String),
}

impl From<docker::DockerError> for CloudError {
    fn from(e: docker::DockerError) -> Self {
        CloudError::Unavailable(e.to_string())
    }
}

impl Cloud {
    /// Loads the records from `file` (or starts empty), and adds the fixed networks.
    pub fn load(file: Option<PathBuf>, engine: Option<Arc<Engine>>) -> anyhow::Result<Self> {
        let mut state = CloudState::load(file.as_ref())?;
        seed_fixed(&mut state);
        Ok(Cloud {
            state: Mutex::new(state),
            file,
            engine,
        })
    }

    /// The engine, or the error every compute action gets without one.
    pub fn engine(&self) -> Result<Arc<Engine>, CloudError> {
        self.engine.clone().ok_or_else(|| {
            CloudError::Unavailable(
                "This stand-in runs without a Docker Engine (--docker-host): it cannot make servers, networks or volumes."
                    .to_owned(),
            )
        })
    }

    /// Whether an engine is configured.
    pub fn has_engine(&self) -> bool {
        self.engine.is_some()
    }

    fn lock(&self) -> MutexGuard<'_, CloudState> {
        // a panic while holding the lock leaves records that are still consistent JSON
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the records.
    pub fn read<R>(&self, f: impl FnOnce(&CloudState) -> R) -> R {
        f(&self.lock())
    }

    /// Changes the records; they are saved when `f` succeeds (and left as they were otherwise).
    pub fn update<R>(
        &self,
        f: impl FnOnce(&mut CloudState) -> Result<R, CloudError>,
    ) -> Result<R, CloudError> {
        let mut guard = self.lock();
        let mut draft = guard.clone();
        let out = f(&mut draft)?;
        if let Some(path) = &self.file {
            draft
                .save(path)
                .map_err(|e| CloudError::Unavailable(format!("{}: {e}", path.display())))?;
        }
        *guard = draft;
        Ok(out)
    }

    /// Makes what the records say exists but the engine lacks after a restart: the Docker
    /// networks of the subnets, the containers of servers that should run, the balancers.
    pub async fn reconcile(self: &Arc<Self>) -> anyhow::Result<()> {
        let Some(engine) = self.engine.clone() else {
            return Ok(());
        };
        engine
            .docker
            .ping()
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let subnets: Vec<Subnet> = self.read(|s| s.subnets.values().cloned().collect());
        for subnet in subnets {
            crate::neutron::networks::ensure_docker_network(self, &engine, &subnet)
                .await
                .map_err(|e| anyhow::anyhow!("subnet {}: {e}", subnet.id))?;
        }
        crate::nova::servers::resume_all(self, &engine).await;
        crate::octavia::restore(self, &engine).await;
        Ok(())
    }
}

/// Adds the fixed networks and subnets of the catalogue (`public`, `private`, ...) to the
/// records, as Neutron would have them from the start.
fn seed_fixed(state: &mut CloudState) {
    for n in data::NETWORKS.iter() {
        let id = n["id"].as_str().unwrap_or_default().to_owned();
        state.networks.entry(id.clone()).or_insert_with(|| Network {
            id,
            name: n["name"].as_str().unwrap_or_default().to_owned(),
            project_id: data::OWNER_PROJECT.to_owned(),
            shared: n["shared"].as_bool().unwrap_or(false),
            external: n["router:external"].as_bool().unwrap_or(false),
            admin_state_up: true,
            subnets: n["subnets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect(),
            docker_id: None,
            bridge: None,
            created_at: n["created_at"].as_str().unwrap_or_default().to_owned(),
        });
    }
    for s in data::SUBNETS.iter() {
        let id = s["id"].as_str().unwrap_or_default().to_owned();
        let pools = s["allocation_pools"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                Some((
                    p["start"].as_str()?.parse().ok()?,
                    p["end"].as_str()?.parse().ok()?,
                ))
            })
            .collect();
        state.subnets.entry(id.clone()).or_insert_with(|| Subnet {
            id,
            name: s["name"].as_str().unwrap_or_default().to_owned(),
            network_id: s["network_id"].as_str().unwrap_or_default().to_owned(),
            project_id: data::OWNER_PROJECT.to_owned(),
            cidr: s["cidr"].as_str().unwrap_or_default().to_owned(),
            requested_cidr: None,
            gateway_ip: s["gateway_ip"].as_str().and_then(|g| g.parse().ok()),
            allocation_pools: pools,
            dns_nameservers: Vec::new(),
            host_routes: Vec::new(),
            enable_dhcp: s["enable_dhcp"].as_bool().unwrap_or(true),
            created_at: s["created_at"].as_str().unwrap_or_default().to_owned(),
        });
    }
}

/// Labels of a Docker object made for an OpenStack resource.
pub fn labels(kind: &str, id: &str, project: &str) -> serde_json::Value {
    json!({LABEL: "1", "org.openstack.kind": kind, "org.openstack.id": id, "org.openstack.project": project})
}
