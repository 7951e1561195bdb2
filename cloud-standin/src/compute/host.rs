//! What the local cloud changes on this machine itself, outside the Docker Engine: the NoCloud
//! seed of each server, the directories through which attached volumes reach a running node,
//! and the extra addresses of load balancers on the bridges.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs a command; its stderr is the error.
fn run(cmd: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The directories of the local cloud under its `--cloud-dir`.
#[derive(Debug, Clone)]
pub struct HostDirs {
    root: PathBuf,
}

impl HostDirs {
    /// Makes the directories; the attachment tree becomes a shared mount, so that a volume
    /// mounted below it later shows up inside the node that has it mounted (as `rslave`).
    pub fn prepare(root: &Path) -> Result<Self, String> {
        let dirs = HostDirs {
            root: root.to_path_buf(),
        };
        for d in [dirs.seeds(), dirs.attachments()] {
            std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        let attach = dirs.attachments();
        let a = attach.to_string_lossy().into_owned();
        if !is_mount_point(&attach) {
            run("mount", &["--bind", &a, &a])?;
        }
        run("mount", &["--make-rshared", &a])?;
        Ok(dirs)
    }

    fn seeds(&self) -> PathBuf {
        self.root.join("seed")
    }

    fn attachments(&self) -> PathBuf {
        self.root.join("attach")
    }

    /// The NoCloud seed directory of a server (mounted read-only at
    /// `/var/lib/cloud/seed/nocloud` in its container).
    pub fn seed_dir(&self, server_id: &str) -> PathBuf {
        self.seeds().join(server_id)
    }

    /// Writes a server's NoCloud seed: `meta-data` (instance id, host name, and the public
    /// keys of its keypair) and `user-data` exactly as given.
    pub fn write_seed(
        &self,
        server_id: &str,
        hostname: &str,
        public_key: Option<&str>,
        user_data: &[u8],
    ) -> Result<PathBuf, String> {
        let dir = self.seed_dir(server_id);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut meta = format!("instance-id: {server_id}\nlocal-hostname: {hostname}\n");
        if let Some(key) = public_key {
            meta.push_str(&format!("public-keys:\n  - {}\n", yaml_scalar(key)));
        }
        let write = |name: &str, bytes: &[u8]| {
            let p = dir.join(name);
            std::fs::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))
        };
        write("meta-data", meta.as_bytes())?;
        write("user-data", user_data)?;
        Ok(dir)
    }

    /// The directory mounted (rslave) at `/dev/disk/by-id` in a server's container.
    pub fn attach_dir(&self, server_id: &str) -> PathBuf {
        self.attachments().join(server_id)
    }

    /// Makes a server's attachment directory (before its container is created).
    pub fn make_attach_dir(&self, server_id: &str) -> Result<PathBuf, String> {
        let d = self.attach_dir(server_id);
        std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        Ok(d)
    }

    /// Shows volume directory `source` to the node as `/dev/disk/by-id/virtio-<id[:20]>`,
    /// the name a virtio disk of that Cinder volume has on a real cloud.
    pub fn attach(&self, server_id: &str, volume_id: &str, source: &str) -> Result<(), String> {
        let target = self.attach_dir(server_id).join(virtio_name(volume_id));
        std::fs::create_dir_all(&target).map_err(|e| format!("{}: {e}", target.display()))?;
        if is_mount_point(&target) {
            return Ok(());
        }
        run("mount", &["--bind", source, &target.to_string_lossy()])
    }

    /// Takes a volume away from a node again (not attached is fine).
    pub fn detach(&self, server_id: &str, volume_id: &str) -> Result<(), String> {
        let target = self.attach_dir(server_id).join(virtio_name(volume_id));
        if is_mount_point(&target) {
            run("umount", &["-l", &target.to_string_lossy()])?;
        }
        match std::fs::remove_dir(&target) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(format!("{}: {e}", target.display()))
            }
            _ => Ok(()),
        }
    }

    /// Removes what a deleted server left here (its volumes are detached first).
    pub fn forget_server(&self, server_id: &str) {
        for d in [self.seed_dir(server_id), self.attach_dir(server_id)] {
            if let Err(e) = std::fs::remove_dir_all(&d)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(dir = %d.display(), error = %e, "could not remove");
            }
        }
    }
}

/// The by-id name of a virtio disk backed by a Cinder volume.
pub fn virtio_name(volume_id: &str) -> String {
    format!("virtio-{}", &volume_id[..volume_id.len().min(20)])
}

/// Whether `path` is a mount point (listed in /proc/self/mountinfo).
fn is_mount_point(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = path.to_string_lossy();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|m| m == want)
}

/// A YAML scalar that survives any key comment text.
fn yaml_scalar(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Adds `ip/32` to a bridge (a load balancer's address), unless it is there.
pub fn add_address(bridge: &str, ip: Ipv4Addr) -> Result<(), String> {
    let cidr = format!("{ip}/32");
    match run("ip", &["addr", "add", &cidr, "dev", bridge]) {
        Err(e) if e.contains("File exists") || e.contains("already assigned") => Ok(()),
        r => r,
    }
}

/// Removes `ip/32` from a bridge (gone is fine).
pub fn del_address(bridge: &str, ip: Ipv4Addr) -> Result<(), String> {
    let cidr = format!("{ip}/32");
    match run("ip", &["addr", "del", &cidr, "dev", bridge]) {
        Err(e) if e.contains("Cannot assign") || e.contains("Cannot find device") => Ok(()),
        r => r,
    }
}
