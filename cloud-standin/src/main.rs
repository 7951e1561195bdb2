//! magnum-cloud-standin: a development and test stand-in cloud. Not for production. It answers
//! the Glance, Nova and Neutron look-ups Magnum makes, and, with a Docker Engine, is a small
//! local cloud (Nova, Neutron, Cinder, Octavia) whose servers, networks, volumes and load
//! balancers are real, so that Heat's own resource types build real bay nodes on this machine.
//! Tokens are validated by the real Keystone.

mod auth;
mod bench;
mod cinder;
mod compute;
mod data;
mod glance;
mod neutron;
mod nova;
mod octavia;
mod sshkey;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use actix_web::body::BoxBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, Error, HttpMessage, HttpServer, web};
use anyhow::Context as _;
use clap::Parser;

/// Development and test stand-in cloud (Glance look-ups; Nova, Neutron, Cinder and Octavia
/// backed by a local Docker Engine).
///
/// NOT FOR PRODUCTION. It serves a fixed set of images, flavors, networks and subnets and keeps
/// per-user Nova keypairs; with --docker-host and --cloud-dir it also makes servers (system
/// containers), networks, volumes and load balancers. Every request needs an X-Auth-Token that
/// the real Keystone (--keystone-url) accepts. When listening, it prints one line
/// `STANDIN_READY image=URL compute=URL network=URL volume=URL load-balancer=URL` on stdout
/// (plus `heat=URL` and `keystone=URL` with the benchmark stand-ins).
///
/// Benchmark stand-ins (scripts/bench-conductor.sh only): --keystone-listen adds a
/// fast in-memory Keystone whose catalog points at these services, and
/// --heat-listen a recording Heat whose stacks stay CREATE_IN_PROGRESS.
#[derive(Debug, Parser)]
#[command(name = "magnum-cloud-standin", version)]
struct Args {
    /// Image (Glance v2) listen address.
    #[arg(long, env = "STANDIN_IMAGE_LISTEN", default_value = "127.0.0.1:9292")]
    image_listen: SocketAddr,
    /// Compute (Nova v2.1, paths under /v2.1) listen address.
    #[arg(long, env = "STANDIN_COMPUTE_LISTEN", default_value = "127.0.0.1:8774")]
    compute_listen: SocketAddr,
    /// Network (Neutron v2.0) listen address.
    #[arg(long, env = "STANDIN_NETWORK_LISTEN", default_value = "127.0.0.1:9696")]
    network_listen: SocketAddr,
    /// Keystone v3 URL that validates tokens, e.g. http://127.0.0.1:5000/v3.
    #[arg(long, env = "STANDIN_KEYSTONE_URL")]
    keystone_url: String,
    /// Service user that validates tokens (as Nova's and Neutron's keystonemiddleware);
    /// without it each token validates itself, which Keystone refuses for trust tokens.
    #[arg(long, env = "STANDIN_SERVICE_USER")]
    service_user: Option<String>,
    /// That user's password.
    #[arg(long, env = "STANDIN_SERVICE_PASSWORD", hide_env_values = true)]
    service_password: Option<String>,
    /// That user's project (domain `default`).
    #[arg(long, env = "STANDIN_SERVICE_PROJECT", default_value = "service")]
    service_project: String,
    /// JSON file keeping created keypairs across restarts (in memory only if unset).
    #[arg(long, env = "STANDIN_STATE_FILE")]
    state_file: Option<PathBuf>,
    /// Volume (Cinder v3, paths under /v3/{project_id}) listen address.
    #[arg(long, env = "STANDIN_VOLUME_LISTEN", default_value = "127.0.0.1:8776")]
    volume_listen: SocketAddr,
    /// Load-balancer (Octavia v2) listen address.
    #[arg(long, env = "STANDIN_LB_LISTEN", default_value = "127.0.0.1:9876")]
    lb_listen: SocketAddr,
    /// The Docker Engine that runs the local cloud's nodes (unix:///path/docker.sock); without
    /// it only records and look-ups are served.
    #[arg(long, env = "STANDIN_DOCKER_HOST")]
    docker_host: Option<String>,
    /// Directory of the local cloud: its records (cloud.json), the nodes' NoCloud seeds and
    /// the mounts through which volumes reach them. Required with --docker-host.
    #[arg(long, env = "STANDIN_CLOUD_DIR")]
    cloud_dir: Option<PathBuf>,
    /// Docker image of the node images (devstack/lib/node-image.sh ref): the Glance images
    /// debian-12-node-atomic and debian-12-node-coreos boot it.
    #[arg(long, env = "STANDIN_NODE_IMAGE")]
    node_image: Option<String>,
    /// The nodes' DNS server: an address of this machine where nothing answers DNS (the
    /// services address), so names the nodes ask for are refused here.
    #[arg(long, env = "STANDIN_NODE_DNS", default_value = "10.254.254.254")]
    node_dns: std::net::Ipv4Addr,
    /// Where subnets go whose CIDR this machine already routes (tenant networks cannot
    /// overlap here).
    #[arg(long, env = "STANDIN_TENANT_POOL", default_value = "10.100.0.0/16")]
    tenant_pool: ipnet::Ipv4Net,
    /// Benchmarks only: listen address of the recording Heat stand-in.
    #[arg(long, env = "STANDIN_HEAT_LISTEN")]
    heat_listen: Option<SocketAddr>,
    /// Benchmarks only: listen address of the fast Keystone stand-in (point
    /// --keystone-url at it to have the look-ups accept its tokens).
    #[arg(long, env = "STANDIN_KEYSTONE_LISTEN")]
    keystone_listen: Option<SocketAddr>,
    /// Benchmarks only: the container-infra URL in the Keystone stand-in's catalog.
    #[arg(long, env = "STANDIN_MAGNUM_URL")]
    magnum_url: Option<String>,
}

/// Which service a listener is, for logs and request-id headers.
#[derive(Clone, Copy)]
struct Service {
    name: &'static str,
    request_id_headers: &'static [&'static str],
}

const IMAGE: Service = Service {
    name: "image",
    request_id_headers: &["x-openstack-request-id"],
};
const COMPUTE: Service = Service {
    name: "compute",
    request_id_headers: &["x-openstack-request-id", "x-compute-request-id"],
};
const NETWORK: Service = Service {
    name: "network",
    request_id_headers: &["x-openstack-request-id"],
};
const VOLUME: Service = Service {
    name: "volume",
    request_id_headers: &["x-openstack-request-id"],
};
const LOAD_BALANCER: Service = Service {
    name: "load-balancer",
    request_id_headers: &["x-openstack-request-id"],
};

/// Middleware: a `req-<uuid>` request id on every response, and one log line per request.
async fn request_id(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let service = req
        .app_data::<web::Data<Service>>()
        .map_or(IMAGE, |s| *s.get_ref());
    let id = format!("req-{}", uuid::Uuid::new_v4());
    let (method, path) = (req.method().clone(), req.path().to_owned());
    let mut resp = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        for name in service.request_id_headers {
            resp.headers_mut()
                .insert(HeaderName::from_static(name), value.clone());
        }
    }
    let who = resp
        .request()
        .extensions()
        .get::<std::sync::Arc<auth::Identity>>()
        .cloned();
    let (user, project) = who.as_deref().map_or((None, None), |w| {
        (Some(w.user_id.as_str()), w.project_id.as_deref())
    });
    tracing::info!(service = service.name, request_id = %id, %method, %path, status = resp.status().as_u16(), user, project, "request");
    Ok(resp)
}

fn serve(
    service: Service,
    addr: SocketAddr,
    auth: web::Data<auth::Auth>,
    keypairs: web::Data<nova::Keypairs>,
    cloud: web::Data<compute::Cloud>,
    routes: fn(&mut web::ServiceConfig),
) -> anyhow::Result<(Server, SocketAddr)> {
    let compute = service.name == COMPUTE.name;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(service))
            .app_data(auth.clone())
            .app_data(keypairs.clone())
            .app_data(cloud.clone())
            .app_data(web::JsonConfig::default().limit(4 << 20))
            .configure(routes)
            .wrap(from_fn(move |req, next| async move {
                if compute {
                    nova::microversion(req, next).await
                } else {
                    next.call(req).await
                }
            }))
            .wrap(from_fn(auth::authenticate))
            .wrap(from_fn(request_id))
    })
    .workers(2)
    .disable_signals()
    .shutdown_timeout(5)
    .bind(addr)
    .with_context(|| format!("cannot listen on {addr} ({} service)", service.name))?;
    let bound = server.addrs().first().copied().unwrap_or(addr);
    Ok((server.run(), bound))
}

async fn shutdown_signal() -> std::io::Result<&'static str> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.map(|()| "SIGINT"),
        _ = term.recv() => Ok("SIGTERM"),
    }
}

/// The local cloud: its records, and its engine when --docker-host is given (checked, and
/// brought back to what the records say).
async fn local_cloud(args: &Args) -> anyhow::Result<compute::Cloud> {
    if let Some(image) = &args.node_image {
        data::set_node_image(image);
    }
    let Some(docker_host) = &args.docker_host else {
        let file = args.cloud_dir.as_ref().map(|d| d.join("cloud.json"));
        return compute::Cloud::load(file, None);
    };
    let dir = args
        .cloud_dir
        .clone()
        .context("--cloud-dir is required with --docker-host")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let docker = compute::docker::Docker::new(docker_host).map_err(anyhow::Error::msg)?;
    if let Some(image) = &args.node_image {
        let has = docker
            .has_image(image)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        anyhow::ensure!(
            has,
            "the Docker Engine at {docker_host} has no image {image}: run devstack/lib/node-image.sh load"
        );
    }
    let cpus = docker.cpus().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let engine = compute::Engine {
        cpus,
        docker,
        dirs: compute::host::HostDirs::prepare(&dir).map_err(anyhow::Error::msg)?,
        dns: args.node_dns,
        tenant_pool: args.tenant_pool,
        balancer: compute::balancer::Balancer::start()?,
    };
    let cloud = compute::Cloud::load(
        Some(dir.join("cloud.json")),
        Some(std::sync::Arc::new(engine)),
    )?;
    Ok(cloud)
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    magnum_common::tls::init();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    let service = match (&args.service_user, &args.service_password) {
        (Some(u), Some(p)) => Some(auth::ServiceCredentials {
            username: u.clone(),
            password: p.clone(),
            project: args.service_project.clone(),
        }),
        _ => None,
    };
    let auth = web::Data::new(auth::Auth::new(&args.keystone_url, service)?);
    let keypairs = web::Data::new(nova::Keypairs::load(args.state_file.clone())?);
    let cloud = web::Data::new(local_cloud(&args).await?);

    let listen = |service, addr, routes| {
        serve(
            service,
            addr,
            auth.clone(),
            keypairs.clone(),
            cloud.clone(),
            routes,
        )
    };
    let (image, image_addr) = listen(IMAGE, args.image_listen, glance::routes)?;
    let (compute, compute_addr) = listen(COMPUTE, args.compute_listen, nova::routes)?;
    let (network, network_addr) = listen(NETWORK, args.network_listen, neutron::routes)?;
    let (volume, volume_addr) = listen(VOLUME, args.volume_listen, cinder::routes)?;
    let (lb, lb_addr) = listen(LOAD_BALANCER, args.lb_listen, octavia::routes)?;
    // the engine's side brought back to the records (after a restart of either)
    cloud
        .clone()
        .into_inner()
        .reconcile()
        .await
        .context("the local cloud's Docker Engine")?;
    let extra = bench::start(
        args.keystone_listen,
        args.heat_listen,
        args.magnum_url.clone(),
        &format!("http://{image_addr}"),
        &format!("http://{compute_addr}/v2.1"),
        &format!("http://{network_addr}"),
    )?;
    tracing::info!(keystone = auth.url(), state_file = ?args.state_file, users_with_keypairs = keypairs.users(), local_cloud = cloud.has_engine(), "magnum-cloud-standin (development/test only) listening");
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "STANDIN_READY image=http://{image_addr} compute=http://{compute_addr}/v2.1 network=http://{network_addr} volume=http://{volume_addr}/v3 load-balancer=http://{lb_addr}{}",
        extra.ready
    )?;
    out.flush()?;
    drop(out);

    let mut handles = vec![
        image.handle(),
        compute.handle(),
        network.handle(),
        volume.handle(),
        lb.handle(),
    ];
    handles.extend(extra.heat.iter().chain(&extra.keystone).map(Server::handle));
    let optional = |s: Option<Server>| async move {
        match s {
            Some(s) => s.await,
            None => Ok(()),
        }
    };
    let (heat, keystone) = (optional(extra.heat), optional(extra.keystone));
    // The servers run only while polled (dropping one aborts it), so keep polling
    // them after a signal until the graceful stop has finished.
    let servers = async { tokio::try_join!(image, compute, network, volume, lb, heat, keystone) };
    tokio::pin!(servers);
    tokio::select! {
        r = &mut servers => {
            r.context("a listener failed")?;
            return Ok(());
        }
        signal = shutdown_signal() => tracing::info!(signal = signal?, "shutting down"),
    }
    for h in &handles {
        // The stop command is sent at once; completion is observed through `servers`.
        drop(h.stop(true));
    }
    servers.await.context("a listener failed")?;
    tracing::info!("stopped");
    Ok(())
}
