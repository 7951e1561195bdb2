//! The kube-apiserver stand-in: the part of the Kubernetes API that Magnum and a bay's users
//! touch, over HTTPS with client certificates required, kept in the bay's etcd.

mod auth;
mod call;
mod columns;
mod defaults;
mod discovery;
mod namespaces;
mod ops;
mod patch;
pub mod resources;
mod reviews;
mod routes;
mod selectors;
mod services;
mod status;
mod store;
mod subresources;
mod table;
mod watch;

use std::net::IpAddr;
use std::time::Duration;

use actix_web::web::{self, Data, PayloadConfig};
use actix_web::{App, HttpServer};
use anyhow::{Context as _, anyhow};
use serde_json::{Value, json};

use crate::client::backoff;
use crate::etcd::Etcd;
use crate::flags::Flags;
use crate::tls::{read_file, server_config};
use call::Target;
use resources::by_name;
use services::ServiceNet;
use status::ApiError;
use store::Store;

/// What every request handler shares.
#[derive(Debug)]
pub struct State {
    /// The objects.
    pub store: Store,
    /// The services' IP range.
    pub net: ServiceNet,
    /// `advertise-address:port`, as discovery tells clients.
    pub server_address: String,
    /// The Kubernetes version claimed.
    pub version: String,
    advertise_ip: Option<IpAddr>,
    port: u16,
}

/// Runs the apiserver until SIGTERM or SIGINT.
pub async fn run(flags: &Flags, version: String) -> anyhow::Result<()> {
    let servers: Vec<String> = flags
        .required("etcd-servers")?
        .split(',')
        .map(str::to_string)
        .collect();
    let etcd = Etcd::new(
        &servers,
        flags.get("etcd-cafile"),
        flags.get("etcd-certfile"),
        flags.get("etcd-keyfile"),
    )?;
    let port: u16 = flags
        .get_or("secure-port", "6443")
        .parse()
        .context("--secure-port")?;
    let bind = flags.get_or("bind-address", "0.0.0.0").to_string();
    let advertise = flags
        .get("advertise-address")
        .map(str::to_string)
        .or_else(|| (bind != "0.0.0.0" && bind != "::").then(|| bind.clone()));
    let read =
        |name: &str| -> anyhow::Result<Vec<u8>> { Ok(read_file(flags.required(name)?.as_ref())?) };
    let tls = server_config(
        &read("tls-cert-file")?,
        &read("tls-private-key-file")?,
        &read("client-ca-file")?,
    )?;
    let net = ServiceNet::parse(flags.get_or("service-cluster-ip-range", "10.254.0.0/16"))
        .map_err(|e| anyhow!("--service-cluster-ip-range: {e}"))?;
    let state = Data::new(State {
        store: Store { etcd },
        net,
        server_address: format!("{}:{port}", advertise.as_deref().unwrap_or("127.0.0.1")),
        version,
        advertise_ip: advertise.as_deref().and_then(|a| a.parse().ok()),
        port,
    });
    let boot = state.clone();
    actix_web::rt::spawn(async move { bootstrap(&boot).await });
    tracing::info!(
        "Kubernetes stand-in apiserver {} on https://{bind}:{port} (etcd: {})",
        state.version,
        servers.join(",")
    );
    HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(PayloadConfig::new(8 * 1024 * 1024))
            .default_service(web::to(routes::handle))
    })
    .on_connect(auth::on_connect)
    .workers(2)
    .shutdown_timeout(1)
    .bind_rustls_0_23((bind.as_str(), port), tls)
    .with_context(|| format!("listening on {bind}:{port}"))?
    .run()
    .await?;
    tracing::info!("apiserver stopped");
    Ok(())
}

/// Creates what a cluster has from its start: the four namespaces and the `kubernetes`
/// service (with its endpoints when the advertise address is known). Retries until etcd
/// answers.
async fn bootstrap(state: &State) {
    let mut delay = Duration::from_secs(1);
    loop {
        match try_bootstrap(state).await {
            Ok(()) => {
                tracing::info!("namespaces and the kubernetes service are in place");
                return;
            }
            Err(e) => {
                tracing::warn!("bootstrap (retrying in {delay:?}): {e}");
                tokio::time::sleep(delay).await;
                delay = backoff(delay);
            }
        }
    }
}

async fn ensure(state: &State, resource: &str, obj: Value) -> Result<(), ApiError> {
    let res = by_name(resource).ok_or_else(|| ApiError::internal(resource.to_string()))?;
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .map(str::to_string);
    let target = Target {
        res,
        ns,
        name: None,
        sub: None,
    };
    match ops::create_object(state, &target, obj).await {
        Ok(_) => Ok(()),
        Err(e) if e.reason == "AlreadyExists" => Ok(()),
        Err(e) => Err(e),
    }
}

async fn try_bootstrap(state: &State) -> Result<(), ApiError> {
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        ensure(state, "namespaces", json!({"metadata": {"name": ns}})).await?;
    }
    namespaces::finish_pending(state).await?;
    ensure(state, "services", json!({
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"type": "ClusterIP", "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": state.port}]},
    }))
    .await?;
    let Some(ip) = state.advertise_ip else {
        return Ok(());
    };
    let address = json!({"ip": ip.to_string()});
    ensure(state, "endpoints", json!({
        "metadata": {"name": "kubernetes", "namespace": "default"},
        "subsets": [{"addresses": [address.clone()], "ports": [{"name": "https", "port": state.port, "protocol": "TCP"}]}],
    }))
    .await?;
    let endpoints = by_name("endpoints").ok_or_else(|| ApiError::internal("endpoints"))?;
    state
        .store
        .update(endpoints, Some("default"), "kubernetes", |mut ep| {
            if let Some(Value::Array(list)) = ep.pointer_mut("/subsets/0/addresses")
                && !list.contains(&address)
            {
                list.push(address.clone());
            }
            Ok(ep)
        })
        .await?;
    Ok(())
}
