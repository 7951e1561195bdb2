//! Octavia v2 of the local cloud: load balancers, listeners, pools, members and health
//! monitors. A load balancer has a VIP port on its subnet; its address (and its floating IP's)
//! is put on the bridges, and `crate::compute::balancer` listens there. Changes take effect at
//! once, so every object is ACTIVE as soon as it is made; a health monitor is recorded, and the
//! balancer itself skips members that do not accept a connection.

mod objects;

use std::net::{Ipv4Addr, SocketAddr};

use actix_web::web;

use crate::compute::balancer::ListenerSpec;
use crate::compute::{Cloud, CloudError, Engine, host};

/// `device_owner` of a VIP port.
pub const VIP_OWNER: &str = "Octavia";

/// Routes of the load-balancer service (`/v2.0/lbaas/...`, and `/v2/lbaas/...` too).
pub fn routes(cfg: &mut web::ServiceConfig) {
    objects::routes(cfg);
}

/// The bridge that carries `network_id`, if its Docker network exists.
fn bridge(cloud: &Cloud, network_id: &str) -> Option<String> {
    cloud.read(|s| s.networks.get(network_id).and_then(|n| n.bridge.clone()))
}

/// Makes the balancer match the records of load balancer `lb_id`: its addresses on the
/// bridges, one running listener per listener with the members of its pool.
pub async fn sync(cloud: &Cloud, engine: &Engine, lb_id: &str) -> Result<(), CloudError> {
    let Some(lb) = cloud.read(|s| s.load_balancers.get(lb_id).cloned()) else {
        return Ok(());
    };
    crate::neutron::networks::docker_network_of(cloud, engine, &lb.vip_network_id).await?;
    let vip_bridge = bridge(cloud, &lb.vip_network_id).ok_or_else(|| {
        CloudError::Unavailable(format!("network {} has no bridge", lb.vip_network_id))
    })?;
    host::add_address(&vip_bridge, lb.vip_address).map_err(CloudError::Unavailable)?;
    let mut addresses = vec![lb.vip_address];
    let fips: Vec<(String, Ipv4Addr)> = cloud.read(|s| {
        s.floating_ips
            .values()
            .filter(|f| f.port_id.as_deref() == Some(lb.vip_port_id.as_str()))
            .map(|f| (f.floating_network_id.clone(), f.floating_ip_address))
            .collect()
    });
    for (net, ip) in &fips {
        crate::neutron::networks::docker_network_of(cloud, engine, net).await?;
        if let Some(b) = bridge(cloud, net) {
            host::add_address(&b, *ip).map_err(CloudError::Unavailable)?;
            addresses.push(*ip);
        }
    }
    let specs: Vec<(String, ListenerSpec)> = cloud.read(|s| {
        s.listeners
            .values()
            .filter(|l| l.loadbalancer_id == lb.id && l.admin_state_up)
            .map(|l| {
                let pools: Vec<&String> = s
                    .pools
                    .values()
                    .filter(|p| {
                        Some(&p.id) == l.default_pool_id.as_ref()
                            || p.listener_id.as_deref() == Some(l.id.as_str())
                    })
                    .map(|p| &p.id)
                    .collect();
                let members: Vec<SocketAddr> = s
                    .members
                    .values()
                    .filter(|m| m.admin_state_up && pools.contains(&&m.pool_id))
                    .map(|m| SocketAddr::from((m.address, m.protocol_port)))
                    .collect();
                (
                    l.id.clone(),
                    ListenerSpec {
                        addresses: addresses.clone(),
                        port: l.protocol_port,
                        members,
                    },
                )
            })
            .collect()
    });
    for (id, spec) in specs {
        engine
            .balancer
            .apply(&id, spec)
            .map_err(|e| CloudError::Unavailable(format!("listener {id}: {e}")))?;
    }
    Ok(())
}

/// A floating IP on a VIP port: the balancer listens there too.
pub async fn add_floating_ip(
    cloud: &Cloud,
    engine: &Engine,
    lb_id: &str,
    _ip: Ipv4Addr,
) -> Result<(), CloudError> {
    sync(cloud, engine, lb_id).await
}

/// The floating IP left the VIP port: the balancer stops listening there, and the address
/// leaves the bridge.
pub async fn remove_floating_ip(cloud: &Cloud, engine: &Engine, lb_id: &str, ip: Ipv4Addr) {
    if let Err(e) = sync(cloud, engine, lb_id).await {
        tracing::warn!(loadbalancer = lb_id, error = %e, "could not re-sync the balancer");
    }
    let public = cloud.read(|s| {
        s.networks
            .values()
            .find(|n| n.external && n.bridge.is_some())
            .and_then(|n| n.bridge.clone())
    });
    if let Some(b) = public
        && let Err(e) = host::del_address(&b, ip)
    {
        tracing::warn!(error = %e, "could not remove a floating IP from the bridge");
    }
}

/// Stops a load balancer's listeners and takes its addresses off the bridges.
pub async fn tear_down(cloud: &Cloud, engine: &Engine, lb_id: &str) {
    let Some(lb) = cloud.read(|s| s.load_balancers.get(lb_id).cloned()) else {
        return;
    };
    let (listeners, fips): (Vec<String>, Vec<(String, Ipv4Addr)>) = cloud.read(|s| {
        (
            s.listeners
                .values()
                .filter(|l| l.loadbalancer_id == lb_id)
                .map(|l| l.id.clone())
                .collect(),
            s.floating_ips
                .values()
                .filter(|f| f.port_id.as_deref() == Some(lb.vip_port_id.as_str()))
                .map(|f| (f.floating_network_id.clone(), f.floating_ip_address))
                .collect(),
        )
    });
    for l in &listeners {
        engine.balancer.remove(l);
    }
    let mut addrs = vec![(lb.vip_network_id.clone(), lb.vip_address)];
    addrs.extend(fips);
    for (net, ip) in addrs {
        if let Some(b) = bridge(cloud, &net)
            && let Err(e) = host::del_address(&b, ip)
        {
            tracing::warn!(error = %e, "could not remove an address from a bridge");
        }
    }
}

/// After a restart: every load balancer's addresses and listeners again.
pub async fn restore(cloud: &Cloud, engine: &Engine) {
    let ids: Vec<String> = cloud.read(|s| s.load_balancers.keys().cloned().collect());
    for id in ids {
        if let Err(e) = sync(cloud, engine, &id).await {
            tracing::warn!(loadbalancer = %id, error = %e, "could not restore the load balancer");
        }
    }
}
