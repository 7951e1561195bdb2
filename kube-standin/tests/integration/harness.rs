//! One throwaway cluster per test: a real etcd (mutual TLS, temp data dir, free loopback
//! ports), the stand-in as apiserver, and whichever other components a test starts, all killed
//! when the cluster is dropped; plus clients (reqwest with a chosen certificate, real kubectl).

use std::path::PathBuf;
use std::process::Command;

use crate::pki::Pki;
pub use crate::support::wait_for;
use crate::support::{Proc, client, etcd_bin, free_port, kubectl_bin};

/// The Kubernetes version the test apiservers report.
pub const VERSION: &str = "v1.26.8";

const STANDIN: &str = env!("CARGO_BIN_EXE_magnum-kube-standin");

/// etcd plus the stand-in's apiserver, and the components a test adds.
pub struct Cluster {
    /// Everything on disk (PKI, etcd data, kubeconfigs, logs).
    pub dir: tempfile::TempDir,
    /// The certificates.
    pub pki: Pki,
    /// `https://127.0.0.1:<port>` of etcd.
    pub etcd_url: String,
    /// `https://127.0.0.1:<port>` of the apiserver.
    pub api_url: String,
    api_port: u16,
    kubectl: Option<PathBuf>,
    etcd: Option<Proc>,
    api: Option<Proc>,
    /// Other components, killed with the cluster.
    pub others: Vec<Proc>,
}

impl Cluster {
    /// Starts etcd and the apiserver; None when etcd (or kubectl, with `need_kubectl`) is not
    /// available.
    pub async fn start(need_kubectl: bool) -> Option<Cluster> {
        let etcd_bin = etcd_bin()?;
        let kubectl = if need_kubectl {
            Some(kubectl_bin()?)
        } else {
            None
        };
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::create(&dir.path().join("pki"));
        let (client_port, peer_port, api_port) = (free_port(), free_port(), free_port());
        let etcd_url = format!("https://127.0.0.1:{client_port}");
        let peer = format!("http://127.0.0.1:{peer_port}");
        let mut cmd = Command::new(etcd_bin);
        cmd.args(["--name", "t", "--data-dir"])
            .arg(dir.path().join("etcd"))
            .args([
                "--listen-client-urls",
                &etcd_url,
                "--advertise-client-urls",
                &etcd_url,
            ])
            .args([
                "--listen-peer-urls",
                &peer,
                "--initial-advertise-peer-urls",
                &peer,
            ])
            .arg(format!("--initial-cluster=t={peer}"))
            .args([
                "--client-cert-auth",
                "--trusted-ca-file",
                &pki.path("etcd-ca.crt"),
            ])
            .args([
                "--cert-file",
                &pki.path("etcd.crt"),
                "--key-file",
                &pki.path("etcd.key"),
            ]);
        let etcd = Proc::spawn(cmd, dir.path().join("etcd.log"));
        let mut cluster = Cluster {
            api_url: format!("https://127.0.0.1:{api_port}"),
            etcd_url,
            api_port,
            kubectl,
            etcd: Some(etcd),
            api: None,
            others: Vec::new(),
            pki,
            dir,
        };
        let etcd_client = cluster.etcd_client();
        let url = format!("{}/v3/kv/range", cluster.etcd_url);
        wait_for("etcd", 30, || {
            let req = etcd_client.post(&url).body(r#"{"key":"Zm9v"}"#);
            async move { req.send().await.ok().filter(|r| r.status().is_success()) }
        })
        .await;
        cluster.start_api().await;
        cluster.write_kubeconfig("admin");
        cluster.write_kubeconfig("kubelet");
        Some(cluster)
    }

    /// A client for etcd's gateway, with the apiserver's etcd client certificate.
    pub fn etcd_client(&self) -> reqwest::Client {
        client(
            &self.pki,
            "etcd-ca.crt",
            Some(("etcd-client.crt", "etcd-client.key")),
        )
    }

    /// A client for the apiserver as `user` (`admin`, `kubelet`, `stranger`), or with no
    /// certificate.
    pub fn api_client(&self, user: Option<&str>) -> reqwest::Client {
        match user {
            Some(u) => client(
                &self.pki,
                "ca.crt",
                Some((&format!("{u}.crt"), &format!("{u}.key"))),
            ),
            None => client(&self.pki, "ca.crt", None),
        }
    }

    /// Starts (or restarts) the apiserver and waits for `/healthz`.
    pub async fn start_api(&mut self) {
        self.api = None;
        let p = &self.pki;
        let mut cmd = Command::new(STANDIN);
        cmd.env("KUBE_STANDIN_VERSION", VERSION)
            .arg("apiserver")
            .arg(format!(
                "--etcd-servers=https://127.0.0.1:1,{}",
                self.etcd_url
            ))
            .args(["--etcd-cafile", &p.path("etcd-ca.crt")])
            .arg(format!("--etcd-certfile={}", p.path("etcd-client.crt")))
            .arg(format!("--etcd-keyfile={}", p.path("etcd-client.key")))
            .arg(format!("--secure-port={}", self.api_port))
            .args(["--bind-address=127.0.0.1", "--advertise-address=127.0.0.1"])
            .arg(format!("--tls-cert-file={}", p.path("apiserver.crt")))
            .arg(format!(
                "--tls-private-key-file={}",
                p.path("apiserver.key")
            ))
            .arg(format!("--client-ca-file={}", p.path("ca.crt")))
            .args([
                "--service-cluster-ip-range=10.254.0.0/16",
                "--allow-privileged=true",
                "--authorization-mode=Node,RBAC",
                "--v=4",
            ]);
        self.api = Some(Proc::spawn(cmd, self.dir.path().join("apiserver.log")));
        let admin = self.api_client(Some("admin"));
        let url = format!("{}/healthz", self.api_url);
        wait_for("the apiserver's /healthz", 30, || {
            let req = admin.get(&url);
            async move {
                let resp = req.send().await.ok()?;
                (resp.status().is_success() && resp.text().await.ok()? == "ok").then_some(())
            }
        })
        .await;
        // The namespaces are made just after start.
        let url = format!("{}/api/v1/namespaces/kube-node-lease", self.api_url);
        wait_for("the initial namespaces", 30, || {
            let req = admin.get(&url);
            async move {
                req.send()
                    .await
                    .ok()
                    .filter(|r| r.status().is_success())
                    .map(|_| ())
            }
        })
        .await;
    }

    /// Stops the apiserver (SIGTERM); true when it exited 0.
    pub fn stop_api(&mut self) -> bool {
        self.api.take().is_some_and(Proc::terminate)
    }

    /// The kubeconfig of `user`.
    pub fn kubeconfig(&self, user: &str) -> PathBuf {
        self.dir.path().join(format!("{user}.kubeconfig"))
    }

    fn write_kubeconfig(&self, user: &str) {
        let p = &self.pki;
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n    certificate-authority: {}\n\
             users:\n- name: {user}\n  user:\n    client-certificate: {}\n    client-key: {}\n\
             contexts:\n- name: test\n  context:\n    cluster: test\n    user: {user}\ncurrent-context: test\n",
            self.api_url,
            p.path("ca.crt"),
            p.path(&format!("{user}.crt")),
            p.path(&format!("{user}.key")),
        );
        std::fs::write(self.kubeconfig(user), text).unwrap();
    }

    /// Starts a stand-in component (`kubelet`, `controller-manager`, ...) with `args`; the
    /// process is returned so that the test can stop it.
    pub fn component(&self, name: &str, args: &[&str]) -> Proc {
        let mut cmd = Command::new(STANDIN);
        cmd.env("KUBE_STANDIN_VERSION", VERSION)
            .arg(name)
            .args(args);
        let n = std::fs::read_dir(self.dir.path()).map_or(0, Iterator::count);
        Proc::spawn(cmd, self.dir.path().join(format!("{name}-{n}.log")))
    }

    /// Runs kubectl as admin: (success, stdout, stderr).
    pub async fn kubectl(&self, args: &[&str]) -> (bool, String, String) {
        let bin = self
            .kubectl
            .as_ref()
            .expect("a cluster started with kubectl");
        let out = tokio::process::Command::new(bin)
            .env("KUBECONFIG", self.kubeconfig("admin"))
            .env("HOME", self.dir.path())
            .args(args)
            .output()
            .await
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Starts kubectl as admin in the background (`get -w`); see [`Cluster::stop_kubectl`].
    pub fn spawn_kubectl(&self, args: &[&str]) -> tokio::process::Child {
        let bin = self
            .kubectl
            .as_ref()
            .expect("a cluster started with kubectl");
        tokio::process::Command::new(bin)
            .env("KUBECONFIG", self.kubeconfig("admin"))
            .env("HOME", self.dir.path())
            .args(args)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    }

    /// Stops a background kubectl and returns what it printed.
    pub async fn stop_kubectl(mut child: tokio::process::Child) -> String {
        child.start_kill().unwrap();
        let out = child.wait_with_output().await.unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kubectl as admin and returns its stdout; fails the test when kubectl fails.
    pub async fn kubectl_ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.kubectl(args).await;
        assert!(ok, "kubectl {args:?} failed: {err}{out}");
        out
    }

    /// Runs kubectl and parses its JSON output (`-o json` is added).
    pub async fn kubectl_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.kubectl_ok(&all).await).unwrap()
    }

    /// Writes a file in the cluster's folder and returns its path.
    pub fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.others.clear();
        self.api = None;
        self.etcd = None;
        if std::thread::panicking() {
            let mut logs: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
                .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            logs.sort();
            for log in logs
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e == "log"))
            {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                eprintln!("--- {} (last lines) ---", log.display());
                for line in tail.iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
    }
}
