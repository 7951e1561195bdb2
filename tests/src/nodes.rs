//! A bay's nodes seen from this machine: the local cloud's Docker Engine (the `docker` CLI at the
//! `DOCKER_HOST` scripts/test.sh exports), the machine's routes, and a Swarm bay's Docker API
//! through what `openstack coe cluster config` writes.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The local cloud's Docker Engine.
#[derive(Debug, Clone)]
pub struct Engine {
    docker_host: String,
}

/// Runs a command; its stdout, or an error with both streams.
fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?}: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The `docker` CLI (Debian's, which docker.sh installs).
fn docker_cli() -> &'static str {
    if Path::new("/usr/bin/docker").exists() {
        "/usr/bin/docker"
    } else {
        "docker"
    }
}

impl Engine {
    /// The engine test.sh started, or `None` (asserting when the script requires it).
    pub fn get() -> Option<Engine> {
        match std::env::var("DOCKER_HOST")
            .ok()
            .filter(|v| v.starts_with("unix://"))
        {
            Some(docker_host) => Some(Engine { docker_host }),
            None => {
                assert!(
                    std::env::var("MAGNUM_TEST_REQUIRE_KEYSTONE").is_err(),
                    "no DOCKER_HOST: scripts/test.sh starts the nodes' Docker Engine"
                );
                eprintln!("skipped: no local cloud engine (DOCKER_HOST)");
                None
            }
        }
    }

    /// `docker ARGS…` against the engine; stdout.
    pub fn docker(&self, args: &[&str]) -> Result<String> {
        run(Command::new(docker_cli())
            .env("DOCKER_HOST", &self.docker_host)
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_CERT_PATH")
            .args(args))
    }

    /// A command in the node of server `id` (its container); stdout.
    pub fn exec(&self, server_id: &str, cmd: &[&str]) -> Result<String> {
        let name = format!("nova-{server_id}");
        let mut args = vec!["exec", name.as_str()];
        args.extend_from_slice(cmd);
        self.docker(&args)
    }

    /// Kills the node of server `id` (as a crash would).
    pub fn kill(&self, server_id: &str) -> Result<()> {
        self.docker(&["kill", &format!("nova-{server_id}")])
            .map(drop)
    }

    /// One value of `docker inspect` of an object.
    pub fn inspect(&self, object: &str, format: &str) -> Result<String> {
        Ok(self
            .docker(&["inspect", "-f", format, object])?
            .trim()
            .to_owned())
    }

    /// Names of every container, network and volume the local cloud made for the OpenStack
    /// resources `ids` (servers, networks, volumes) that still exist.
    pub fn leftovers(&self, ids: &[String]) -> Result<Vec<String>> {
        let mut found = Vec::new();
        for (kind, list) in [
            (
                "container",
                vec![
                    "ps",
                    "-a",
                    "--format",
                    "{{.Names}} {{.Label \"org.openstack.id\"}}",
                ],
            ),
            (
                "network",
                vec![
                    "network",
                    "ls",
                    "--format",
                    "{{.Name}} {{.Label \"org.openstack.id\"}}",
                ],
            ),
            (
                "volume",
                vec![
                    "volume",
                    "ls",
                    "--format",
                    "{{.Name}} {{.Label \"org.openstack.id\"}}",
                ],
            ),
        ] {
            for line in self.docker(&list)?.lines() {
                let mut w = line.split_whitespace();
                let (name, id) = (w.next().unwrap_or_default(), w.next().unwrap_or_default());
                if !id.is_empty() && ids.iter().any(|i| i == id) {
                    found.push(format!("{kind} {name}"));
                }
            }
        }
        Ok(found)
    }
}

/// `ip route get ADDRESS`: the route, and whether it stays on this machine (a local address,
/// or a bridge of this machine; no gateway).
pub fn route(address: &str) -> Result<(bool, String)> {
    let out = run(Command::new("ip").args(["route", "get", address]))?;
    let first = out.lines().next().unwrap_or_default().to_owned();
    let local = !first.contains(" via ")
        && (first.starts_with("local ")
            || first.contains(" dev qbr-")
            || first.contains(" dev magnum-svc"));
    Ok((local, first))
}

/// The host part of an `api_address` (`tcp://h:p`, `https://h:p`).
pub fn host_of(api_address: &str) -> String {
    let rest = api_address.split("://").nth(1).unwrap_or(api_address);
    rest.split(':')
        .next()
        .unwrap_or(rest)
        .trim_end_matches('/')
        .to_owned()
}

/// What `openstack coe cluster config --use-certificate --output-certs` wrote for a Swarm bay:
/// the certificate directory and the Docker address; the `docker` CLI pointed at the bay.
#[derive(Debug, Clone)]
pub struct SwarmClient {
    /// Directory with ca.pem, cert.pem and key.pem.
    pub dir: PathBuf,
    /// `tcp://host:port`.
    pub host: String,
}

impl SwarmClient {
    /// Reads the `export DOCKER_HOST=…` lines the client printed.
    pub fn from_config(dir: &Path, printed: &str) -> Result<SwarmClient> {
        let host = printed
            .lines()
            .find_map(|l| l.trim().strip_prefix("export DOCKER_HOST="))
            .map(|h| h.trim_matches('"').to_owned())
            .context("cluster config printed no DOCKER_HOST")?;
        for f in ["ca.pem", "cert.pem", "key.pem"] {
            if !dir.join(f).is_file() {
                bail!("cluster config wrote no {f} in {}", dir.display());
            }
        }
        Ok(SwarmClient {
            dir: dir.to_path_buf(),
            host,
        })
    }

    /// `docker ARGS…` against the bay, over TLS with the client certificate.
    pub fn docker(&self, args: &[&str]) -> Result<String> {
        run(Command::new(docker_cli())
            .env("DOCKER_HOST", &self.host)
            .env("DOCKER_CERT_PATH", &self.dir)
            .env("DOCKER_TLS_VERIFY", "1")
            .args(args))
    }

    /// `docker ARGS…` that verifies the bay with its CA but presents no client certificate.
    pub fn docker_without_client_certificate(&self, args: &[&str]) -> Result<String> {
        let ca = self.dir.join("ca.pem");
        let mut all: Vec<&str> = vec!["--tlsverify", "--tlscacert"];
        let ca = ca.to_string_lossy().into_owned();
        all.push(&ca);
        all.extend_from_slice(args);
        run(Command::new(docker_cli())
            .env("DOCKER_HOST", &self.host)
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_CERT_PATH")
            .env("HOME", &self.dir)
            .args(&all))
    }
}
