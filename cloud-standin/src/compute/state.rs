//! What the local cloud remembers: its Nova, Neutron, Cinder and Octavia records, kept in one
//! JSON file written atomically after each change. The Docker Engine holds the real things
//! (containers, networks, volumes); these records say which of them belongs to what.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A Neutron network. The fixed ones (`public`, `private`, ...) are seeded at start.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub shared: bool,
    pub external: bool,
    pub admin_state_up: bool,
    pub subnets: Vec<String>,
    /// The Docker network, once a subnet exists.
    pub docker_id: Option<String>,
    /// Its bridge on this machine.
    pub bridge: Option<String>,
    pub created_at: String,
}

/// A Neutron subnet (IPv4 only).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subnet {
    pub id: String,
    pub name: String,
    pub network_id: String,
    pub project_id: String,
    /// The network it really has (see `ipam`).
    pub cidr: String,
    /// What the creator asked for, when that was taken.
    pub requested_cidr: Option<String>,
    pub gateway_ip: Option<Ipv4Addr>,
    pub allocation_pools: Vec<(Ipv4Addr, Ipv4Addr)>,
    pub dns_nameservers: Vec<String>,
    pub host_routes: Vec<Value>,
    pub enable_dhcp: bool,
    pub created_at: String,
}

/// A Neutron port: an address on a network, bound to a server (`device_id`) or a load balancer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Port {
    pub id: String,
    pub name: String,
    pub network_id: String,
    pub project_id: String,
    pub mac_address: String,
    /// (subnet id, address)
    pub fixed_ips: Vec<(String, Ipv4Addr)>,
    pub device_id: String,
    pub device_owner: String,
    pub security_groups: Vec<String>,
    pub allowed_address_pairs: Vec<Value>,
    pub admin_state_up: bool,
    pub created_at: String,
}

/// A Neutron floating IP: an address on the external network, given to a port's owner.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FloatingIp {
    pub id: String,
    pub project_id: String,
    pub floating_network_id: String,
    pub floating_ip_address: Ipv4Addr,
    pub port_id: Option<String>,
    pub fixed_ip_address: Option<Ipv4Addr>,
    pub router_id: Option<String>,
    pub description: String,
    pub created_at: String,
}

/// A Neutron router: a record (the machine itself routes; see the module docs of `neutron`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Router {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub external_gateway_info: Value,
    pub admin_state_up: bool,
    /// (subnet id, port id)
    pub interfaces: Vec<(String, String)>,
    pub created_at: String,
}

/// A Neutron security group (recorded, not enforced).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub description: String,
    pub project_id: String,
    pub created_at: String,
}

/// A rule of a security group (recorded, not enforced).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecurityGroupRule {
    pub id: String,
    pub security_group_id: String,
    pub project_id: String,
    pub direction: String,
    pub ethertype: String,
    pub protocol: Option<String>,
    pub port_range_min: Option<u16>,
    pub port_range_max: Option<u16>,
    pub remote_ip_prefix: Option<String>,
    pub remote_group_id: Option<String>,
    pub description: String,
    pub created_at: String,
}

/// Where a server is in its life (Nova's `vm_state`, as far as it applies here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerState {
    /// Being made: its container does not run yet.
    Building,
    /// Made: ACTIVE while its container runs, SHUTOFF while it does not.
    Made,
    /// Could not be made (`fault` says why).
    Error,
    /// Being deleted.
    Deleting,
}

/// A Nova server: a system container on the Docker Engine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Server {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub user_id: String,
    pub image_id: String,
    pub flavor_id: String,
    pub key_name: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub availability_zone: String,
    /// Ports in NIC order.
    pub ports: Vec<String>,
    /// The ports Nova made itself (`networks: [{uuid}]`), deleted with the server.
    pub own_ports: Vec<String>,
    pub state: ServerState,
    pub fault: Option<String>,
    /// The container, once created.
    pub container: Option<String>,
    /// False after `os-stop`: the container is not restarted when the engine comes back.
    pub should_run: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// A Nova server group (its policy is recorded; there is one host).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerGroup {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub user_id: String,
    pub policies: Vec<String>,
    pub members: Vec<String>,
}

/// A Cinder volume: a Docker volume.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Volume {
    pub id: String,
    pub name: String,
    pub description: String,
    pub project_id: String,
    pub user_id: String,
    pub size: u64,
    pub volume_type: String,
    pub availability_zone: String,
    /// creating, available, attaching, in-use, detaching, deleting, error
    pub status: String,
    pub image_id: Option<String>,
    pub bootable: bool,
    /// (attachment id, server id, device)
    pub attachment: Option<(String, String, String)>,
    pub metadata: BTreeMap<String, String>,
    /// The Docker volume and its directory on this machine.
    pub docker_name: String,
    pub host_path: Option<String>,
    pub created_at: String,
}

/// Octavia's provisioning status of a load balancer and its children.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadBalancer {
    pub id: String,
    pub name: String,
    pub description: String,
    pub project_id: String,
    pub vip_subnet_id: String,
    pub vip_network_id: String,
    pub vip_port_id: String,
    pub vip_address: Ipv4Addr,
    pub provisioning_status: String,
    pub operating_status: String,
    pub admin_state_up: bool,
    pub provider: String,
    pub flavor_id: Option<String>,
    pub created_at: String,
}

/// An Octavia listener: a port the balancer listens on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Listener {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub loadbalancer_id: String,
    pub protocol: String,
    pub protocol_port: u16,
    pub default_pool_id: Option<String>,
    pub admin_state_up: bool,
    pub provisioning_status: String,
    pub extra: Value,
    pub created_at: String,
}

/// An Octavia pool: the members a listener's connections go to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pool {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub loadbalancer_id: String,
    pub listener_id: Option<String>,
    pub protocol: String,
    pub lb_algorithm: String,
    pub admin_state_up: bool,
    pub provisioning_status: String,
    pub extra: Value,
    pub created_at: String,
}

/// An Octavia pool member.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub pool_id: String,
    pub address: Ipv4Addr,
    pub protocol_port: u16,
    pub subnet_id: Option<String>,
    pub weight: u32,
    pub admin_state_up: bool,
    pub provisioning_status: String,
    pub created_at: String,
}

/// An Octavia health monitor (recorded; the balancer skips members it cannot connect to).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HealthMonitor {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub pool_id: String,
    pub kind: String,
    pub delay: u32,
    pub timeout: u32,
    pub max_retries: u32,
    pub admin_state_up: bool,
    pub provisioning_status: String,
    pub extra: Value,
    pub created_at: String,
}

/// Everything the local cloud remembers.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CloudState {
    pub networks: BTreeMap<String, Network>,
    pub subnets: BTreeMap<String, Subnet>,
    pub ports: BTreeMap<String, Port>,
    pub floating_ips: BTreeMap<String, FloatingIp>,
    pub routers: BTreeMap<String, Router>,
    pub security_groups: BTreeMap<String, SecurityGroup>,
    pub security_group_rules: BTreeMap<String, SecurityGroupRule>,
    pub servers: BTreeMap<String, Server>,
    pub server_groups: BTreeMap<String, ServerGroup>,
    pub volumes: BTreeMap<String, Volume>,
    pub load_balancers: BTreeMap<String, LoadBalancer>,
    pub listeners: BTreeMap<String, Listener>,
    pub pools: BTreeMap<String, Pool>,
    pub members: BTreeMap<String, Member>,
    pub health_monitors: BTreeMap<String, HealthMonitor>,
    /// The last address handed out on each subnet (allocation goes round from there).
    pub last_address: BTreeMap<String, Ipv4Addr>,
}

impl CloudState {
    /// Reads `path`, or an empty state when it does not exist.
    pub fn load(path: Option<&PathBuf>) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(CloudState::default());
        };
        match std::fs::read(path) {
            Ok(bytes) => Ok(serde_json::from_slice(&bytes)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CloudState::default()),
            Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
        }
    }

    /// Writes the state to `path` atomically.
    pub fn save(&self, path: &PathBuf) -> std::io::Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)?;
        std::fs::rename(tmp, path)
    }

    /// The next free address of `subnet_id`'s pools, going round from the last one handed out,
    /// which it becomes.
    pub fn take_address(
        &mut self,
        subnet_id: &str,
        pools: &[(Ipv4Addr, Ipv4Addr)],
        also_used: &[Ipv4Addr],
    ) -> Option<Ipv4Addr> {
        let mut used = self.used_addresses(subnet_id);
        used.extend(also_used.iter().copied());
        let a = super::ipam::next_free(pools, &used, self.last_address.get(subnet_id).copied())?;
        self.last_address.insert(subnet_id.to_owned(), a);
        Some(a)
    }

    /// Every address in use on `subnet_id`: its gateway, ports, and load balancer VIPs.
    pub fn used_addresses(&self, subnet_id: &str) -> std::collections::BTreeSet<Ipv4Addr> {
        let mut used: std::collections::BTreeSet<Ipv4Addr> = self
            .ports
            .values()
            .flat_map(|p| p.fixed_ips.iter())
            .filter(|(s, _)| s == subnet_id)
            .map(|(_, ip)| *ip)
            .collect();
        if let Some(gw) = self.subnets.get(subnet_id).and_then(|s| s.gateway_ip) {
            used.insert(gw);
        }
        used.extend(
            self.floating_ips
                .values()
                .filter(|f| {
                    self.subnets
                        .get(subnet_id)
                        .is_some_and(|s| s.network_id == f.floating_network_id)
                })
                .map(|f| f.floating_ip_address),
        );
        used
    }
}

/// Now, as OpenStack services print it (`2026-12-07T09:14:19Z`).
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A new id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
