//! Fault injection for the end-to-end tests, through the project's own scripts: kill and start
//! conductors (`devstack/lib/magnum.sh`), stop and start RabbitMQ (`devstack/lib/services.sh`),
//! make Heat answer errors (`devstack/lib/heat.sh`'s fault middleware).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The directories `scripts/test.sh` prepared.
#[derive(Debug, Clone)]
pub struct Rig {
    root: PathBuf,
    test_dir: PathBuf,
}

impl Rig {
    /// The rig, or `None` outside `scripts/test.sh` (no `MAGNUM_TEST_DIR`).
    pub fn get() -> Option<Rig> {
        let test_dir = std::env::var("MAGNUM_TEST_DIR")
            .ok()
            .filter(|s| !s.is_empty())?;
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        Some(Rig {
            root,
            test_dir: PathBuf::from(test_dir),
        })
    }

    /// The magnum directory (config, logs, pid files).
    pub fn magnum_dir(&self) -> PathBuf {
        self.test_dir.join("magnum")
    }

    fn script(&self, script: &str, args: &[&str], env: &[(&str, &str)]) -> Result<String> {
        let path = self.root.join(script);
        let mut cmd = Command::new(&path);
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd
            .output()
            .with_context(|| format!("running {}", path.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            bail!(
                "{script} {args:?} failed: {}\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(stdout)
    }

    /// `kill -9` of the conductor called `name` (`conductor` is the one test.sh starts).
    pub fn kill_conductor(&self, name: &str) -> Result<()> {
        let dir = self.magnum_dir();
        self.script(
            "devstack/lib/magnum.sh",
            &["kill", &dir.to_string_lossy(), "conductor"],
            &[("MAGNUM_CONDUCTOR_NAME", name)],
        )
        .map(drop)
    }

    /// Starts the conductor called `name` (no-op when it runs).
    pub fn start_conductor(&self, name: &str) -> Result<()> {
        let dir = self.magnum_dir();
        self.script(
            "devstack/lib/magnum.sh",
            &["start", &dir.to_string_lossy(), "conductor"],
            &[("MAGNUM_CONDUCTOR_NAME", name)],
        )
        .map(drop)
    }

    /// Stops the conductor called `name` gracefully (SIGTERM).
    pub fn stop_conductor(&self, name: &str) -> Result<()> {
        let dir = self.magnum_dir();
        self.script(
            "devstack/lib/magnum.sh",
            &["stop", &dir.to_string_lossy(), "conductor"],
            &[("MAGNUM_CONDUCTOR_NAME", name)],
        )
        .map(drop)
    }

    /// The log of the conductor called `name`.
    pub fn conductor_log(&self, name: &str) -> String {
        std::fs::read_to_string(self.magnum_dir().join(format!("{name}.log"))).unwrap_or_default()
    }

    /// Stops RabbitMQ.
    pub fn stop_rabbitmq(&self) -> Result<()> {
        let dir = self.test_dir.join("services");
        self.script(
            "devstack/lib/services.sh",
            &["stop", &dir.to_string_lossy(), "rabbitmq"],
            &[],
        )
        .map(drop)
    }

    /// Starts RabbitMQ again.
    pub fn start_rabbitmq(&self) -> Result<()> {
        let dir = self.test_dir.join("services");
        self.script(
            "devstack/lib/services.sh",
            &["start", &dir.to_string_lossy(), "rabbitmq"],
            &[],
        )
        .map(drop)
    }

    /// Makes Heat answer `status` to every API request for `seconds` (`heat.sh fault`).
    pub fn heat_fault(&self, status: u16, seconds: u32) -> Result<()> {
        let dir = self.test_dir.join("heat");
        self.script(
            "devstack/lib/heat.sh",
            &[
                "fault",
                &dir.to_string_lossy(),
                &status.to_string(),
                &format!("{seconds}s"),
            ],
            &[],
        )
        .map(drop)
    }

    /// Clears any Heat fault.
    pub fn heat_fault_off(&self) -> Result<()> {
        let dir = self.test_dir.join("heat");
        self.script(
            "devstack/lib/heat.sh",
            &["fault", &dir.to_string_lossy(), "off"],
            &[],
        )
        .map(drop)
    }
}
