//! The TCP balancer behind the local cloud's Octavia: each listener accepts on its load
//! balancer's addresses (the VIP, and its floating IP when it has one, both addresses of this
//! machine on the bridges) and hands each connection to the next pool member that accepts a
//! connection, round robin. It runs on a thread of its own, so the API's workers never carry it.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// How long a member gets to accept a connection before the next one is tried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// What one listener does: where it listens and where it sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerSpec {
    pub addresses: Vec<Ipv4Addr>,
    pub port: u16,
    pub members: Vec<SocketAddr>,
}

struct Running {
    port: u16,
    members: Arc<RwLock<Vec<SocketAddr>>>,
    next: Arc<AtomicUsize>,
    /// One accept loop per address.
    tasks: BTreeMap<Ipv4Addr, JoinHandle<()>>,
}

/// The running listeners, by Octavia listener id.
pub struct Balancer {
    rt: Handle,
    running: Mutex<BTreeMap<String, Running>>,
}

impl Balancer {
    /// Starts the balancer's thread.
    pub fn start() -> std::io::Result<Self> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("balancer".to_owned())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                let _ = tx.send(Ok(rt.handle().clone()));
                rt.block_on(std::future::pending::<()>());
            })?;
        let rt = rx.recv().map_err(std::io::Error::other)??;
        Ok(Balancer {
            rt,
            running: Mutex::new(BTreeMap::new()),
        })
    }

    /// Makes listener `id` do what `spec` says: listens on the addresses it lacks, stops on
    /// the ones no longer named (a socket still bound elsewhere is never bound twice), and swaps
    /// its members. A new port means new sockets everywhere.
    pub fn apply(&self, id: &str, spec: ListenerSpec) -> std::io::Result<()> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if running.get(id).is_some_and(|r| r.port != spec.port)
            && let Some(old) = running.remove(id)
        {
            old.tasks.values().for_each(JoinHandle::abort);
        }
        let r = running.entry(id.to_owned()).or_insert_with(|| Running {
            port: spec.port,
            members: Arc::new(RwLock::new(Vec::new())),
            next: Arc::new(AtomicUsize::new(0)),
            tasks: BTreeMap::new(),
        });
        *r.members.write().unwrap_or_else(|e| e.into_inner()) = spec.members.clone();
        let gone: Vec<Ipv4Addr> = r
            .tasks
            .keys()
            .filter(|a| !spec.addresses.contains(a))
            .copied()
            .collect();
        for addr in gone {
            if let Some(t) = r.tasks.remove(&addr) {
                t.abort();
            }
        }
        for addr in &spec.addresses {
            if r.tasks.contains_key(addr) {
                continue;
            }
            let std_listener = std::net::TcpListener::bind(SocketAddrV4::new(*addr, spec.port))?;
            std_listener.set_nonblocking(true)?;
            let _guard = self.rt.enter();
            let listener = TcpListener::from_std(std_listener)?;
            let task = self
                .rt
                .spawn(accept_loop(listener, r.members.clone(), r.next.clone()));
            r.tasks.insert(*addr, task);
        }
        tracing::info!(listener = id, addresses = ?spec.addresses, port = spec.port, members = ?spec.members, "balancer listening");
        Ok(())
    }

    /// Stops listener `id` (not running is fine).
    pub fn remove(&self, id: &str) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = running.remove(id) {
            old.tasks.values().for_each(JoinHandle::abort);
            tracing::info!(listener = id, "balancer stopped listening");
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    members: Arc<RwLock<Vec<SocketAddr>>>,
    next: Arc<AtomicUsize>,
) {
    loop {
        let (client, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "balancer accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let list = members.read().unwrap_or_else(|e| e.into_inner()).clone();
        let start = next.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            if let Err(e) = forward(client, &list, start).await {
                tracing::debug!(%peer, error = %e, "balancer connection ended");
            }
        });
    }
}

/// Connects to the first member, from `start` round robin, that accepts, and copies both ways.
async fn forward(
    mut client: TcpStream,
    members: &[SocketAddr],
    start: usize,
) -> std::io::Result<()> {
    for i in 0..members.len() {
        let member = members[(start + i) % members.len()];
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(member)).await {
            Ok(Ok(mut upstream)) => {
                tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
                return Ok(());
            }
            Ok(Err(e)) => tracing::debug!(%member, error = %e, "member refused"),
            Err(_) => tracing::debug!(%member, "member did not answer"),
        }
    }
    Err(std::io::Error::other("no member accepted the connection"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A member that answers its name to every connection.
    async fn member(name: &'static str) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = l.accept().await.unwrap();
                s.write_all(name.as_bytes()).await.unwrap();
            }
        });
        addr
    }

    async fn ask(port: u16) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    #[tokio::test]
    async fn connections_go_round_robin_and_skip_dead_members() {
        let b = Balancer::start().unwrap();
        let (a, c) = (member("a").await, member("b").await);
        let dead: SocketAddr = ("127.0.0.1".parse::<Ipv4Addr>().unwrap(), free_port()).into();
        let port = free_port();
        let lo = Ipv4Addr::LOCALHOST;
        b.apply(
            "l1",
            ListenerSpec {
                addresses: vec![lo],
                port,
                members: vec![a, dead, c],
            },
        )
        .unwrap();
        let mut seen = Vec::new();
        for _ in 0..6 {
            seen.push(ask(port).await);
        }
        assert!(seen.iter().all(|s| s == "a" || s == "b"), "{seen:?}");
        assert!(
            seen.contains(&"a".to_owned()) && seen.contains(&"b".to_owned()),
            "{seen:?}"
        );
        // new members without rebinding
        b.apply(
            "l1",
            ListenerSpec {
                addresses: vec![lo],
                port,
                members: vec![c],
            },
        )
        .unwrap();
        assert_eq!(ask(port).await, "b");
        b.remove("l1");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
    }
}
