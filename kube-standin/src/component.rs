//! Which Kubernetes component this process plays: chosen by the name it was started under
//! (the node images install `kube-apiserver`, `kubelet`, ... as links to the one binary) or by
//! a first subcommand, and the flags and help of each.

use std::path::Path;

/// One of the five components the stand-in replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// kube-apiserver.
    ApiServer,
    /// kube-controller-manager.
    ControllerManager,
    /// kube-scheduler.
    Scheduler,
    /// kube-proxy.
    Proxy,
    /// kubelet.
    Kubelet,
}

impl Component {
    /// From a program name (`kube-apiserver`) or subcommand (`apiserver`).
    pub fn from_name(name: &str) -> Option<Component> {
        Some(match name.strip_prefix("kube-").unwrap_or(name) {
            "apiserver" => Component::ApiServer,
            "controller-manager" => Component::ControllerManager,
            "scheduler" => Component::Scheduler,
            "proxy" => Component::Proxy,
            "kubelet" => Component::Kubelet,
            _ => return None,
        })
    }

    /// The real component's program name.
    pub fn program(self) -> &'static str {
        match self {
            Component::ApiServer => "kube-apiserver",
            Component::ControllerManager => "kube-controller-manager",
            Component::Scheduler => "kube-scheduler",
            Component::Proxy => "kube-proxy",
            Component::Kubelet => "kubelet",
        }
    }

    /// The honoured flags that take a value, with what each does.
    pub fn flags(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Component::ApiServer => &[
                (
                    "etcd-servers",
                    "etcd URLs, comma-separated, tried in order (required)",
                ),
                ("etcd-cafile", "CA of etcd's server certificate"),
                ("etcd-certfile", "client certificate for etcd"),
                ("etcd-keyfile", "client key for etcd"),
                ("secure-port", "HTTPS port (default 6443)"),
                ("bind-address", "listen address (default 0.0.0.0)"),
                (
                    "advertise-address",
                    "address told to clients and put in the kubernetes endpoints",
                ),
                ("tls-cert-file", "server certificate (required)"),
                ("tls-private-key-file", "server key (required)"),
                (
                    "client-ca-file",
                    "CA that signs client certificates; one is required for every request (required)",
                ),
                (
                    "service-cluster-ip-range",
                    "services' cluster IPs (default 10.254.0.0/16; .1 is the kubernetes service)",
                ),
            ],
            Component::ControllerManager => &[
                ("kubeconfig", "how to reach the apiserver (required)"),
                (
                    "node-monitor-grace-period",
                    "a node's status older than this turns Unknown (default 40s)",
                ),
                (
                    "node-monitor-period",
                    "how often nodes and workloads are checked (default 5s)",
                ),
            ],
            Component::Scheduler => &[("kubeconfig", "how to reach the apiserver (required)")],
            Component::Proxy => &[("kubeconfig", "how to reach the apiserver (required)")],
            Component::Kubelet => &[
                ("kubeconfig", "how to reach the apiserver (required)"),
                (
                    "hostname-override",
                    "the Node's name (default: the host name)",
                ),
                ("node-ip", "the Node's InternalIP"),
                ("node-labels", "extra labels, a=b,c=d"),
                (
                    "register-with-taints",
                    "taints on registration, key=value:Effect,...",
                ),
                (
                    "node-status-update-frequency",
                    "how often the Node's status is posted (default 10s)",
                ),
                ("cloud-provider", "accepted; no cloud integration"),
            ],
        }
    }

    /// The names of the honoured flags, plus the stand-in's own `--version-override` and
    /// klog's `--v`.
    pub fn flag_names(self) -> Vec<&'static str> {
        let mut names: Vec<&str> = self.flags().iter().map(|(n, _)| *n).collect();
        names.extend(["version-override", "v"]);
        names
    }

    /// `--help` text.
    pub fn help(self, version: &str) -> String {
        let mut out = format!(
            "{} (Kubernetes stand-in, magnum-kube-standin {}; reports Kubernetes {version})\n\n\
             The Kubernetes stand-in plays {} for Magnum bays' nodes. It runs no containers.\n\n\
             Honoured flags (--name=value or --name value):\n",
            self.program(),
            env!("CARGO_PKG_VERSION"),
            self.program()
        );
        let own = [
            (
                "version-override",
                "the Kubernetes version to report (env KUBE_STANDIN_VERSION wins; default v1.27.4)",
            ),
            (
                "v",
                "log verbosity; 4 or more logs every request (RUST_LOG wins)",
            ),
            ("version", "print the version and exit"),
        ];
        for (name, what) in self.flags().iter().chain(own.iter()) {
            out.push_str(&format!("  --{name:<28} {what}\n"));
        }
        out.push_str(
            "\nEvery other flag of the real component is accepted, logged once and ignored.\n",
        );
        out
    }
}

/// The component, and the arguments left for it, from the whole command line.
pub fn choose(args: &[String]) -> Option<(Component, &[String])> {
    let program = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if let Some(c) = Component::from_name(program) {
        return Some((c, args.get(1..).unwrap_or_default()));
    }
    let sub = args.get(1)?;
    Component::from_name(sub).map(|c| (c, args.get(2..).unwrap_or_default()))
}

/// `--help` of the program itself, when no component is chosen.
pub fn general_help(version: &str) -> String {
    format!(
        "magnum-kube-standin {} — the Kubernetes stand-in (reports Kubernetes {version})\n\n\
         One program that plays kube-apiserver, kube-controller-manager, kube-scheduler,\n\
         kube-proxy and kubelet for Magnum bays' nodes; it runs no containers.\n\n\
         Usage: kube-apiserver|kube-controller-manager|kube-scheduler|kube-proxy|kubelet [FLAGS]\n\
         \x20  (links to this binary), or\n\
         \x20      magnum-kube-standin apiserver|controller-manager|scheduler|proxy|kubelet [FLAGS]\n\n\
         Each component's --help lists the flags it honours.\n",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn by_program_name_or_subcommand() {
        let a = args(&["/usr/local/bin/kube-apiserver", "--secure-port=1"]);
        let (c, rest) = choose(&a).unwrap();
        assert_eq!((c, rest.len()), (Component::ApiServer, 1));
        let a = args(&["kubelet"]);
        assert_eq!(choose(&a).unwrap().0, Component::Kubelet);
        let a = args(&[
            "magnum-kube-standin",
            "controller-manager",
            "--kubeconfig=x",
        ]);
        let (c, rest) = choose(&a).unwrap();
        assert_eq!((c, rest), (Component::ControllerManager, &a[2..]));
        assert!(choose(&args(&["magnum-kube-standin", "etcd"])).is_none());
        assert!(choose(&args(&["magnum-kube-standin"])).is_none());
        assert!(
            Component::Proxy
                .help("v1.27.4")
                .contains("Kubernetes stand-in")
        );
        assert!(Component::ApiServer.flag_names().contains(&"etcd-servers"));
    }
}
