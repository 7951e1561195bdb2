//! Address management of the local cloud: which IPv4 networks a new subnet may take, and which
//! address a new port gets.
//!
//! Every tenant network is a bridge on this one machine, in the machine's one routing table, so
//! two subnets may not overlap, nor may a subnet overlap a route the machine already has (its
//! own uplink, another engine's bridges). Neutron can overlap tenant networks; this local cloud
//! cannot, so a subnet asking for a CIDR that is taken gets the first free block of the same size
//! from the tenant pool instead, and says so in its `cidr` (the nodes only ever learn their
//! addresses from their ports, which carry the real ones).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// The machine's IPv4 routes other than the default route (`ip -4 route show`, every table that
/// matters for forwarding: main and local).
pub fn host_routes() -> Vec<Ipv4Net> {
    let mut out = Vec::new();
    for args in [
        &["-4", "route", "show"][..],
        &["-4", "route", "show", "table", "local"][..],
    ] {
        let Ok(o) = std::process::Command::new("ip").args(args).output() else {
            continue;
        };
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            let mut words = line.split_whitespace();
            let mut first = words.next().unwrap_or_default();
            if matches!(first, "local" | "broadcast" | "unicast") {
                first = words.next().unwrap_or_default();
            }
            if first == "default" {
                continue;
            }
            let net = if first.contains('/') {
                first.parse().ok()
            } else {
                first
                    .parse::<Ipv4Addr>()
                    .ok()
                    .and_then(|a| Ipv4Net::new(a, 32).ok())
            };
            // loopback's 127/8 never collides with a bridge
            if let Some(n) = net.filter(|n: &Ipv4Net| !n.addr().is_loopback()) {
                out.push(n);
            }
        }
    }
    out
}

/// Whether two networks share an address.
pub fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The network for a new subnet: `wanted` when it overlaps nothing in `taken`, else the first
/// block of the same prefix length inside `pool` that overlaps nothing. `None` when the pool is
/// exhausted.
pub fn choose_cidr(wanted: Ipv4Net, pool: Ipv4Net, taken: &[Ipv4Net]) -> Option<Ipv4Net> {
    let free = |n: &Ipv4Net| !taken.iter().any(|t| overlaps(n, t));
    let wanted = wanted.trunc();
    if free(&wanted) {
        return Some(wanted);
    }
    let len = wanted.prefix_len().max(pool.prefix_len());
    pool.subnets(len).ok()?.find(|n| free(n))
}

/// The first host address of `net` (Neutron's default gateway).
pub fn first_host(net: Ipv4Net) -> Option<Ipv4Addr> {
    net.hosts().next()
}

/// An allocation pool of a subnet: every host address but the gateway.
pub fn default_pool(net: Ipv4Net, gateway: Option<Ipv4Addr>) -> Vec<(Ipv4Addr, Ipv4Addr)> {
    let hosts: Vec<Ipv4Addr> = net.hosts().filter(|h| Some(*h) != gateway).collect();
    match (hosts.first(), hosts.last()) {
        (Some(a), Some(b)) => vec![(*a, *b)],
        _ => Vec::new(),
    }
}

/// The first address of `pools` after `after` (round robin, wrapping to the start) that is not
/// in `used`. Going round rather than taking the lowest free address keeps a just-released
/// address from being handed out again at once, while the container that had it may still be
/// on its way out.
pub fn next_free(
    pools: &[(Ipv4Addr, Ipv4Addr)],
    used: &BTreeSet<Ipv4Addr>,
    after: Option<Ipv4Addr>,
) -> Option<Ipv4Addr> {
    let all = || {
        pools
            .iter()
            .flat_map(|(start, end)| (u32::from(*start)..=u32::from(*end)).map(Ipv4Addr::from))
    };
    let after = after.map_or(0, u32::from);
    all()
        .filter(|a| u32::from(*a) > after)
        .chain(all())
        .find(|a| !used.contains(a))
}

/// Whether `ip` lies in one of `pools`.
pub fn in_pools(pools: &[(Ipv4Addr, Ipv4Addr)], ip: Ipv4Addr) -> bool {
    pools
        .iter()
        .any(|(a, b)| (u32::from(*a)..=u32::from(*b)).contains(&u32::from(ip)))
}

/// A Neutron-style MAC address (`fa:16:3e:` and three random bytes).
pub fn random_mac() -> String {
    let b: [u8; 3] = rand::random();
    format!("fa:16:3e:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn a_free_cidr_is_kept_and_a_taken_one_moves_into_the_pool() {
        let pool = net("10.100.0.0/16");
        let taken = vec![
            net("10.0.0.0/24"),
            net("10.100.0.0/24"),
            net("192.0.2.0/24"),
        ];
        assert_eq!(
            choose_cidr(net("10.0.1.0/24"), pool, &taken),
            Some(net("10.0.1.0/24"))
        );
        assert_eq!(
            choose_cidr(net("10.0.0.0/24"), pool, &taken),
            Some(net("10.100.1.0/24"))
        );
        // a host bit set in the request is ignored, as Neutron normalises it
        assert_eq!(
            choose_cidr(net("10.0.2.7/24"), pool, &taken),
            Some(net("10.0.2.0/24"))
        );
        // a wider request that would swallow a taken route moves too
        assert_eq!(choose_cidr(net("10.0.0.0/16"), pool, &taken), None);
        assert_eq!(
            choose_cidr(net("10.0.0.0/16"), net("10.96.0.0/12"), &taken),
            Some(net("10.96.0.0/16"))
        );
    }

    #[test]
    fn the_pool_can_run_out() {
        let pool = net("10.100.0.0/23");
        let taken = vec![
            net("10.100.0.0/24"),
            net("10.100.1.0/24"),
            net("10.0.0.0/24"),
        ];
        assert_eq!(choose_cidr(net("10.0.0.0/24"), pool, &taken), None);
    }

    #[test]
    fn addresses_skip_the_gateway_and_used_ones() {
        let n = net("10.0.0.0/29");
        let gw = first_host(n);
        assert_eq!(gw, Some(Ipv4Addr::new(10, 0, 0, 1)));
        let pools = default_pool(n, gw);
        assert_eq!(
            pools,
            vec![(Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 6))]
        );
        let used: BTreeSet<_> = [Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 3)].into();
        assert_eq!(
            next_free(&pools, &used, None),
            Some(Ipv4Addr::new(10, 0, 0, 4))
        );
        // round robin: after .4 comes .5, after .6 the pool wraps to the first free one
        assert_eq!(
            next_free(&pools, &used, Some(Ipv4Addr::new(10, 0, 0, 4))),
            Some(Ipv4Addr::new(10, 0, 0, 5))
        );
        assert_eq!(
            next_free(&pools, &used, Some(Ipv4Addr::new(10, 0, 0, 6))),
            Some(Ipv4Addr::new(10, 0, 0, 4))
        );
        assert!(in_pools(&pools, Ipv4Addr::new(10, 0, 0, 6)));
        assert!(!in_pools(&pools, Ipv4Addr::new(10, 0, 0, 1)));
        let all: BTreeSet<_> = (2..=6).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect();
        assert_eq!(next_free(&pools, &all, None), None);
    }

    #[test]
    fn macs_look_like_neutrons() {
        let m = random_mac();
        assert!(m.starts_with("fa:16:3e:") && m.len() == 17, "{m}");
    }
}
