//! Helpers for end-to-end tests: the environment `scripts/test.sh` prepares (a running
//! magnum-api registered in a real Keystone's catalog, and the upstream Python clients) and
//! a way to run those clients as a given user.

pub mod api;
pub mod control;
pub mod kubectl;
pub mod nodes;
pub mod notifications;

use std::process::{Command, Output};

/// What the test script started, read from the environment.
#[derive(Debug, Clone)]
pub struct Env {
    /// Keystone v3 URL.
    pub auth_url: String,
    /// Password of the seeded users.
    pub password: String,
    /// Directory with `openstack` (python-openstackclient + python-magnumclient).
    pub osc_bin: String,
    /// Directory with the legacy `magnum` 3.7 client.
    pub magnum37_bin: String,
    /// The API's v1 URL.
    pub api_url: String,
}

impl Env {
    /// The environment, or `None` after saying why (unless the script requires it).
    pub fn get() -> Option<Env> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        match (
            var("OS_AUTH_URL"),
            var("OSC_BIN"),
            var("MAGNUM37_BIN"),
            var("MAGNUM_API_URL"),
        ) {
            (Some(auth_url), Some(osc_bin), Some(magnum37_bin), Some(api_url)) => Some(Env {
                auth_url,
                password: var("MAGNUM_PASSWORD").unwrap_or_default(),
                osc_bin,
                magnum37_bin,
                api_url,
            }),
            _ => {
                assert!(
                    var("MAGNUM_TEST_REQUIRE_KEYSTONE").is_none(),
                    "end-to-end environment incomplete (OS_AUTH_URL, OSC_BIN, MAGNUM37_BIN, MAGNUM_API_URL): run ./scripts/test.sh"
                );
                eprintln!("skipped: no end-to-end environment; ./scripts/test.sh prepares one");
                None
            }
        }
    }

    fn command(&self, program: String, user: &str) -> Command {
        let mut cmd = Command::new(program);
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("OS_")) {
            cmd.env_remove(k);
        }
        cmd.env("OS_AUTH_URL", &self.auth_url)
            .env("OS_AUTH_TYPE", "password")
            .env("OS_USERNAME", user)
            .env("OS_PASSWORD", &self.password)
            .env("OS_PROJECT_NAME", user)
            .env("OS_USER_DOMAIN_ID", "default")
            .env("OS_PROJECT_DOMAIN_ID", "default")
            .env("OS_IDENTITY_API_VERSION", "3")
            .env("OS_REGION_NAME", "RegionOne")
            .env("PYTHONWARNINGS", "ignore")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost");
        cmd
    }

    /// `openstack ARGS…` as `user`.
    pub fn openstack(&self, user: &str, args: &[&str]) -> Run {
        Run::of(
            self.command(format!("{}/openstack", self.osc_bin), user)
                .args(args)
                .output(),
            args,
        )
    }

    /// Legacy `magnum ARGS…` (python-magnumclient 3.7) as `user`.
    pub fn magnum(&self, user: &str, args: &[&str]) -> Run {
        Run::of(
            self.command(format!("{}/magnum", self.magnum37_bin), user)
                .args(args)
                .output(),
            args,
        )
    }
}

/// A finished command.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    args: String,
}

impl Run {
    fn of(out: std::io::Result<Output>, args: &[&str]) -> Run {
        let out = out.unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"));
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            args: args.join(" "),
        }
    }

    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(self) -> String {
        assert_eq!(
            self.code, 0,
            "`{}` failed:\nstdout: {}\nstderr: {}",
            self.args, self.stdout, self.stderr
        );
        self.stdout
    }

    /// Asserts success and parses stdout as JSON (after any message lines the client
    /// prints first, such as "Request to create … accepted").
    #[track_caller]
    pub fn json(self) -> serde_json::Value {
        let out = self.ok();
        let start = out.find(['{', '[']).unwrap_or(0);
        serde_json::from_str(&out[start..]).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }

    /// Asserts failure and returns stderr.
    #[track_caller]
    pub fn fails(self) -> String {
        assert_ne!(
            self.code, 0,
            "`{}` should have failed:\nstdout: {}",
            self.args, self.stdout
        );
        self.stderr
    }
}

/// A name unique to this run.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}
