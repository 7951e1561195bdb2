//! The life of a node: the system container behind a Nova server, its NICs, seed and disks.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::compute::docker::DockerError;
use crate::compute::state::{CloudState, FloatingIp, Port, ServerState, now};
use crate::compute::{Cloud, CloudError, Engine, labels};
use crate::data;
use crate::neutron::networks::docker_network_of;

/// Seconds a node gets to shut down (systemd stops its units: Docker leaves its swarm) before
/// it is killed.
const STOP_TIMEOUT: u32 = 20;
/// Console lines `os-getConsoleOutput` returns when no `length` is asked.
const CONSOLE_LINES: usize = 1000;

/// What the background build of a server needs beyond its record.
pub struct Build {
    pub server_id: String,
    pub docker_image: String,
    pub user_data: Vec<u8>,
    pub public_key: Option<String>,
}

/// Binds the ports a create names (`networks: [{port}]`) and makes ports for the networks it
/// names (`[{uuid}]`); returns (all ports in NIC order, the ones made here).
pub fn claim_ports(
    s: &mut CloudState,
    project: &str,
    server_id: &str,
    networks: &Value,
) -> Result<(Vec<String>, Vec<String>), CloudError> {
    let list = match networks {
        Value::Array(a) => a.clone(),
        Value::String(mode) if mode == "none" => Vec::new(),
        _ => {
            // "auto" or absent: the one network the project has, else the shared `private`
            let own: Vec<String> = s
                .networks
                .values()
                .filter(|n| n.project_id == project && !n.subnets.is_empty())
                .map(|n| n.id.clone())
                .collect();
            let net = match own.as_slice() {
                [one] => one.clone(),
                _ => data::NET_PRIVATE.to_owned(),
            };
            vec![json!({"uuid": net})]
        }
    };
    let (mut ports, mut own) = (Vec::new(), Vec::new());
    for nic in list {
        if let Some(pid) = nic["port"].as_str() {
            let port = s
                .ports
                .get_mut(pid)
                .filter(|p| p.project_id == project)
                .ok_or_else(|| CloudError::BadRequest(format!("Port {pid} could not be found.")))?;
            if !port.device_id.is_empty() {
                return Err(CloudError::Conflict(format!("Port {pid} is still in use.")));
            }
            port.device_id = server_id.to_owned();
            port.device_owner = "compute:nova".to_owned();
            ports.push(pid.to_owned());
        } else if let Some(net) = nic["uuid"].as_str() {
            let mut body = serde_json::Map::new();
            body.insert("network_id".to_owned(), json!(net));
            body.insert("device_id".to_owned(), json!(server_id));
            body.insert("device_owner".to_owned(), json!("compute:nova"));
            if let Some(ip) = nic["fixed_ip"].as_str() {
                body.insert("fixed_ips".to_owned(), json!([{"ip_address": ip}]));
            }
            let port = crate::neutron::ports::new_port(s, project, &body)
                .map_err(|e| CloudError::BadRequest(format!("Network {net}: {e}")))?;
            ports.push(port.id.clone());
            own.push(port.id.clone());
            s.ports.insert(port.id.clone(), port);
        } else {
            return Err(CloudError::BadRequest(
                "Each network must name a port or a network (uuid).".to_owned(),
            ));
        }
    }
    if ports.is_empty() {
        return Err(CloudError::BadRequest(
            "A server here needs at least one network.".to_owned(),
        ));
    }
    Ok((ports, own))
}

/// A host name from a server name (RFC 1123 label).
fn hostname(name: &str) -> String {
    let mut h: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    h.truncate(63);
    let h = h.trim_matches('-').to_owned();
    if h.is_empty() { "node".to_owned() } else { h }
}

/// The container name of a server.
pub fn container_name(server_id: &str) -> String {
    format!("nova-{server_id}")
}

/// The Docker volume holding a node's `/var/lib/docker` (its own disk, so the node's Docker can
/// use overlay2 instead of copying every layer on the container's overlay root).
fn docker_disk(server_id: &str) -> String {
    format!("nova-{server_id}-docker")
}

fn first_ip(p: &Port) -> Option<String> {
    p.fixed_ips.first().map(|(_, ip)| ip.to_string())
}

/// Makes and starts a server's container; the record says ERROR with the reason if it fails.
pub async fn build(cloud: Arc<Cloud>, engine: Arc<Engine>, b: Build) {
    if let Err(e) = try_build(&cloud, &engine, &b).await {
        tracing::warn!(server = %b.server_id, error = %e, "server build failed");
        let _ = cloud.update(|s| {
            if let Some(x) = s.servers.get_mut(&b.server_id)
                && x.state == ServerState::Building
            {
                x.state = ServerState::Error;
                x.fault = Some(e.to_string());
                x.updated_at = now();
            }
            Ok(())
        });
    }
}

async fn try_build(cloud: &Cloud, engine: &Engine, b: &Build) -> Result<(), CloudError> {
    let Some(server) = cloud.read(|s| s.servers.get(&b.server_id).cloned()) else {
        return Ok(());
    };
    let ports: Vec<Port> = cloud.read(|s| {
        server
            .ports
            .iter()
            .filter_map(|p| s.ports.get(p).cloned())
            .collect()
    });
    let mut nets = Vec::new();
    for p in &ports {
        nets.push(docker_network_of(cloud, engine, &p.network_id).await?);
    }
    let flavor = data::FLAVORS
        .iter()
        .find(|f| f["id"] == server.flavor_id.as_str())
        .cloned()
        .unwrap_or_default();
    let host = hostname(&server.name);
    let seed = engine
        .dirs
        .write_seed(&server.id, &host, b.public_key.as_deref(), &b.user_data)
        .map_err(CloudError::Unavailable)?;
    let attach = engine
        .dirs
        .make_attach_dir(&server.id)
        .map_err(CloudError::Unavailable)?;
    let disk = docker_disk(&server.id);
    engine
        .docker
        .create_volume(
            &disk,
            &labels("server-disk", &server.id, &server.project_id),
        )
        .await?;
    let (first, first_net) = (&ports[0], &nets[0]);
    let mut lbl = labels("server", &server.id, &server.project_id);
    lbl["org.openstack.name"] = json!(server.name);
    let config = json!({
        "Image": b.docker_image,
        "Hostname": host,
        "Tty": true,
        "Env": ["container=docker"],
        "Labels": lbl,
        "MacAddress": first.mac_address,
        "StopSignal": "SIGRTMIN+3",
        "StopTimeout": STOP_TIMEOUT,
        "HostConfig": {
            "CapAdd": ["ALL"], "CapDrop": ["SYS_RESOURCE"],
            "SecurityOpt": ["seccomp=unconfined", "apparmor=unconfined"],
            "Tmpfs": {"/run": "", "/run/lock": "", "/tmp": ""},
            "Binds": [
                "/sys/fs/cgroup:/sys/fs/cgroup:rw",
                format!("{}:/var/lib/cloud/seed/nocloud:ro", seed.display()),
                format!("{}:/dev/disk/by-id:rslave", attach.display()),
            ],
            "Mounts": [{"Type": "volume", "Source": disk, "Target": "/var/lib/docker"}],
            "Memory": flavor["ram"].as_u64().unwrap_or(2048) * 1024 * 1024,
            "NanoCpus": flavor["vcpus"].as_u64().unwrap_or(1).clamp(1, engine.cpus) * 1_000_000_000,
            "Dns": [engine.dns.to_string()],
            "RestartPolicy": {"Name": "no"},
            "LogConfig": {"Type": "json-file", "Config": {"max-size": "1m", "max-file": "2"}},
        },
        "NetworkingConfig": {"EndpointsConfig": {first_net.as_str(): {
            "IPAMConfig": {"IPv4Address": first_ip(first)}, "MacAddress": first.mac_address,
        }}},
    });
    let name = container_name(&server.id);
    // a create retried after a crash finds its container
    let container = match engine.docker.inspect(&name).await? {
        Some(c) => c["Id"].as_str().unwrap_or(&name).to_owned(),
        None => engine.docker.create_container(&name, &config).await?,
    };
    // started on its first NIC alone, so that NIC carries the default route (the host, through
    // the network's gateway); the other NICs and the floating IPs are plugged in afterwards
    engine.docker.start(&container).await?;
    for (p, net) in ports.iter().zip(&nets).skip(1) {
        if let Some(ip) = first_ip(p) {
            connect_once(engine, net, &container, &ip).await?;
        }
    }
    let fips: Vec<FloatingIp> = cloud.read(|s| {
        s.floating_ips
            .values()
            .filter(|f| f.port_id.as_ref().is_some_and(|p| server.ports.contains(p)))
            .cloned()
            .collect()
    });
    for f in &fips {
        connect_public(cloud, engine, &container, f).await?;
    }
    cloud.update(|s| {
        if let Some(x) = s.servers.get_mut(&server.id) {
            x.container = Some(container.clone());
            if x.state == ServerState::Building {
                x.state = ServerState::Made;
            }
            x.updated_at = now();
        }
        Ok(())
    })?;
    tracing::info!(server = %server.id, name = %server.name, "server running");
    Ok(())
}

async fn connect_once(
    engine: &Engine,
    net: &str,
    container: &str,
    ip: &str,
) -> Result<(), CloudError> {
    match engine.docker.connect(net, container, ip).await {
        Err(DockerError::Status { message, .. }) if message.contains("already exists") => Ok(()),
        r => r.map_err(CloudError::from),
    }
}

/// The `public` network's Docker network, made if need be.
async fn public_network(
    cloud: &Cloud,
    engine: &Engine,
    f: &FloatingIp,
) -> Result<String, CloudError> {
    docker_network_of(cloud, engine, &f.floating_network_id).await
}

async fn connect_public(
    cloud: &Cloud,
    engine: &Engine,
    container: &str,
    f: &FloatingIp,
) -> Result<(), CloudError> {
    let net = public_network(cloud, engine, f).await?;
    connect_once(engine, &net, container, &f.floating_ip_address.to_string()).await
}

/// Gives a floating IP to a server's container, if it has one yet.
pub async fn plug_floating_ip(
    cloud: &Cloud,
    engine: &Engine,
    server_id: &str,
    f: &FloatingIp,
) -> Result<(), CloudError> {
    let Some(container) =
        cloud.read(|s| s.servers.get(server_id).and_then(|x| x.container.clone()))
    else {
        return Ok(());
    };
    connect_public(cloud, engine, &container, f).await
}

/// Takes a floating IP away from a server's container.
pub async fn unplug_floating_ip(cloud: &Cloud, engine: &Engine, server_id: &str, f: &FloatingIp) {
    let Some(container) =
        cloud.read(|s| s.servers.get(server_id).and_then(|x| x.container.clone()))
    else {
        return;
    };
    if let Ok(net) = public_network(cloud, engine, f).await
        && let Err(e) = engine.docker.disconnect(&net, &container).await
    {
        tracing::warn!(server = server_id, error = %e, "could not take the floating IP away");
    }
}

/// A deleted port's NIC leaves the container that had it.
pub async fn unplug_port(cloud: &Cloud, port: &Port) {
    if !port.device_owner.starts_with("compute:") {
        return;
    }
    let Ok(engine) = cloud.engine() else { return };
    let container = cloud.read(|s| {
        s.servers
            .get(&port.device_id)
            .and_then(|x| x.container.clone())
    });
    let net = cloud.read(|s| {
        s.networks
            .get(&port.network_id)
            .and_then(|n| n.docker_id.clone())
    });
    if let (Some(c), Some(n)) = (container, net)
        && let Err(e) = engine.docker.disconnect(&n, &c).await
    {
        tracing::warn!(port = %port.id, error = %e, "could not take the NIC away");
    }
}

/// `POST /servers/{id}/os-interface`: an existing port becomes a NIC of the server.
pub async fn attach_port(
    cloud: &Cloud,
    server: &crate::compute::state::Server,
    port_id: &str,
) -> Result<Value, CloudError> {
    let engine = cloud.engine()?;
    let port = cloud.update(|s| {
        let p = s
            .ports
            .get_mut(port_id)
            .filter(|p| p.project_id == server.project_id)
            .ok_or_else(|| CloudError::NotFound(format!("Port {port_id} could not be found.")))?;
        if !p.device_id.is_empty() && p.device_id != server.id {
            return Err(CloudError::Conflict(format!(
                "Port {port_id} is still in use."
            )));
        }
        p.device_id = server.id.clone();
        p.device_owner = "compute:nova".to_owned();
        let p = p.clone();
        if let Some(x) = s.servers.get_mut(&server.id)
            && !x.ports.contains(&p.id)
        {
            x.ports.push(p.id.clone());
        }
        Ok(p)
    })?;
    if let Some(c) = &server.container {
        let net = docker_network_of(cloud, &engine, &port.network_id).await?;
        if let Some(ip) = first_ip(&port) {
            connect_once(&engine, &net, c, &ip).await?;
        }
    }
    Ok(
        json!({"port_id": port.id, "net_id": port.network_id, "mac_addr": port.mac_address, "port_state": "ACTIVE",
              "fixed_ips": port.fixed_ips.iter().map(|(s, ip)| json!({"subnet_id": s, "ip_address": ip})).collect::<Vec<_>>()}),
    )
}

/// `DELETE /servers/{id}/os-interface/{port}`: the NIC leaves; the port stays, unbound.
pub async fn detach_port(
    cloud: &Cloud,
    server: &crate::compute::state::Server,
    port_id: &str,
) -> Result<(), CloudError> {
    let port = cloud.update(|s| {
        let p = s
            .ports
            .get_mut(port_id)
            .filter(|p| p.device_id == server.id)
            .ok_or_else(|| {
                CloudError::NotFound(format!("Port {port_id} is not attached to {}.", server.id))
            })?;
        let before = p.clone();
        p.device_id.clear();
        p.device_owner.clear();
        if let Some(x) = s.servers.get_mut(&server.id) {
            x.ports.retain(|x| x != port_id);
        }
        Ok(before)
    })?;
    unplug_port(cloud, &port).await;
    Ok(())
}

/// Server actions: console output, stop, start, reboot.
pub async fn act(
    cloud: &Cloud,
    server: &crate::compute::state::Server,
    name: &str,
    args: &Value,
) -> Result<Option<Value>, CloudError> {
    let engine = cloud.engine()?;
    let container = server.container.clone();
    let need = || {
        container.clone().ok_or_else(|| {
            CloudError::Conflict(format!(
                "Cannot '{name}' instance {} while it is in vm_state building",
                server.id
            ))
        })
    };
    match name {
        "os-getConsoleOutput" => {
            let lines = args["length"]
                .as_u64()
                .map_or(CONSOLE_LINES, |n| n as usize);
            let output = match &container {
                Some(c) => engine.docker.logs(c, lines).await?,
                None => String::new(),
            };
            Ok(Some(json!({"output": output})))
        }
        "os-stop" => {
            engine.docker.stop(&need()?, STOP_TIMEOUT).await?;
            set_should_run(cloud, &server.id, false)?;
            Ok(None)
        }
        "os-start" => {
            engine.docker.start(&need()?).await?;
            set_should_run(cloud, &server.id, true)?;
            Ok(None)
        }
        "reboot" => {
            let c = need()?;
            let hard = args["type"].as_str() == Some("HARD");
            engine
                .docker
                .stop(&c, if hard { 0 } else { STOP_TIMEOUT })
                .await?;
            engine.docker.start(&c).await?;
            set_should_run(cloud, &server.id, true)?;
            Ok(None)
        }
        other => Err(CloudError::BadRequest(format!(
            "This local cloud does not do the action {other}."
        ))),
    }
}

fn set_should_run(cloud: &Cloud, id: &str, run: bool) -> Result<(), CloudError> {
    cloud.update(|s| {
        if let Some(x) = s.servers.get_mut(id) {
            x.should_run = run;
            x.updated_at = now();
        }
        Ok(())
    })
}

/// Deletes a server: its container (stopped gracefully first), its disk, seed and attachment
/// directory; its volumes are detached, the ports it made are deleted, the others unbound.
pub async fn teardown(cloud: Arc<Cloud>, id: String) {
    let Some(server) = cloud.read(|s| s.servers.get(&id).cloned()) else {
        return;
    };
    if let Ok(engine) = cloud.engine() {
        let name = container_name(&id);
        if let Err(e) = engine.docker.stop(&name, STOP_TIMEOUT).await
            && !e.is_not_found()
        {
            tracing::warn!(server = %id, error = %e, "stop failed; removing anyway");
        }
        if let Err(e) = engine.docker.remove_container(&name).await {
            tracing::warn!(server = %id, error = %e, "could not remove the container");
        }
        let attached: Vec<String> = cloud.read(|s| {
            s.volumes
                .values()
                .filter(|v| v.attachment.as_ref().is_some_and(|(_, sid, _)| sid == &id))
                .map(|v| v.id.clone())
                .collect()
        });
        for v in &attached {
            if let Err(e) = engine.dirs.detach(&id, v) {
                tracing::warn!(server = %id, volume = %v, error = %e, "could not detach");
            }
        }
        if let Err(e) = engine.docker.remove_volume(&docker_disk(&id)).await {
            tracing::warn!(server = %id, error = %e, "could not remove the node's disk");
        }
        engine.dirs.forget_server(&id);
    }
    let r = cloud.update(|s| {
        for v in s.volumes.values_mut() {
            if v.attachment.as_ref().is_some_and(|(_, sid, _)| sid == &id) {
                v.attachment = None;
                v.status = "available".to_owned();
            }
        }
        for pid in &server.own_ports {
            s.ports.remove(pid);
        }
        for p in s.ports.values_mut().filter(|p| p.device_id == id) {
            p.device_id.clear();
            p.device_owner.clear();
        }
        for g in s.server_groups.values_mut() {
            g.members.retain(|m| m != &id);
        }
        s.floating_ips
            .values_mut()
            .filter(|f| {
                f.port_id
                    .as_ref()
                    .is_some_and(|p| server.own_ports.contains(p))
            })
            .for_each(|f| {
                f.port_id = None;
                f.fixed_ip_address = None;
            });
        s.servers.remove(&id);
        Ok(())
    });
    if let Err(e) = r {
        tracing::warn!(server = %id, error = %e, "could not forget the server");
    }
    tracing::info!(server = %id, name = %server.name, "server deleted");
}

/// After a restart of this process or of the engine: finish interrupted deletes, fail
/// interrupted builds, and start the containers of servers that should run (as Nova's
/// `resume_guests_state_on_host_boot`).
pub async fn resume_all(cloud: &Arc<Cloud>, engine: &Engine) {
    let servers: Vec<_> = cloud.read(|s| s.servers.values().cloned().collect());
    for server in servers {
        match server.state {
            ServerState::Deleting => teardown(cloud.clone(), server.id.clone()).await,
            ServerState::Building => {
                let _ = cloud.update(|s| {
                    if let Some(x) = s.servers.get_mut(&server.id) {
                        x.state = ServerState::Error;
                        x.fault = Some(
                            "The local cloud restarted while the server was being built."
                                .to_owned(),
                        );
                    }
                    Ok(())
                });
            }
            ServerState::Made if server.should_run => {
                if let Some(c) = &server.container
                    && let Err(e) = engine.docker.start(c).await
                {
                    tracing::warn!(server = %server.id, error = %e, "could not restart the node");
                }
            }
            _ => {}
        }
    }
}
