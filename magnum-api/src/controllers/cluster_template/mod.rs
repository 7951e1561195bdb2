//! ClusterTemplates (`/v1/clustertemplates`) and their legacy twin BayModels
//! (`/v1/baymodels`): one implementation, two spellings.

mod read;
mod write;

pub use read::{list, list_detail, show};
pub use write::{check_devicemapper, check_drivers, create, delete, update};

use std::collections::BTreeMap;

use magnum_common::db::models::cluster_template::{ClusterTemplate, Visibility};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ts, ts_opt};
use crate::body::{Field, Kind, STR255};
use crate::context::RequestContext;
use crate::links::{self, Link};

/// Which API the request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateApi {
    /// `/v1/clustertemplates`.
    ClusterTemplate,
    /// `/v1/baymodels`.
    BayModel,
}

impl TemplateApi {
    /// Policy action prefix.
    pub fn policy(self, action: &str) -> String {
        match self {
            TemplateApi::ClusterTemplate => format!("clustertemplate:{action}"),
            TemplateApi::BayModel => format!("baymodel:{action}"),
        }
    }

    /// Collection path segment.
    pub fn collection(self) -> &'static str {
        match self {
            TemplateApi::ClusterTemplate => "clustertemplates",
            TemplateApi::BayModel => "baymodels",
        }
    }

    /// Body argument name in messages.
    pub fn arg(self) -> &'static str {
        match self {
            TemplateApi::ClusterTemplate => "cluster_template",
            TemplateApi::BayModel => "baymodel",
        }
    }

    /// Suffix of generated names.
    pub fn name_suffix(self) -> &'static str {
        match self {
            TemplateApi::ClusterTemplate => "template",
            TemplateApi::BayModel => "model",
        }
    }

    /// The accepted body attributes.
    pub fn fields(self) -> &'static [Field] {
        match self {
            TemplateApi::ClusterTemplate => CLUSTER_TEMPLATE_FIELDS,
            TemplateApi::BayModel => BAYMODEL_FIELDS,
        }
    }

    /// Paths that may not be removed by PATCH.
    pub fn non_removable(self) -> &'static [&'static str] {
        match self {
            TemplateApi::ClusterTemplate => &[
                "/image_id",
                "/coe",
                "/network_driver",
                "/external_network_id",
                "/tls_disabled",
                "/public",
                "/server_type",
                "/registry_enabled",
                "/cluster_distro",
                "/hidden",
            ],
            TemplateApi::BayModel => &[
                "/image_id",
                "/keypair_id",
                "/coe",
                "/network_driver",
                "/external_network_id",
                "/tls_disabled",
                "/public",
                "/server_type",
                "/registry_enabled",
                "/cluster_distro",
                "/hidden",
            ],
        }
    }
}

/// The COEs a template may name.
pub const COES: &[&str] = &["kubernetes", "swarm", "swarm-mode"];

macro_rules! template_fields {
    ($($extra:expr),* $(,)?) => {
        &[
            Field::opt("uuid", Kind::Ignored, "Ignored: the service assigns the uuid."),
            Field::opt("name", STR255, "Name; generated (`<greek>-<n>-template`) when absent."),
            Field::req("coe", Kind::Enum(COES), "Container orchestration engine: kubernetes, swarm or swarm-mode."),
            Field::req("image_id", STR255, "Glance image (name or id); its os_distro selects the driver."),
            Field::opt("flavor_id", STR255, "Nova flavor of the nodes."),
            Field::opt("master_flavor_id", STR255, "Nova flavor of the masters."),
            Field::opt("external_network_id", STR255, "External (router:external) network, by name or id."),
            Field::opt("fixed_network", STR255, "Existing private network, by name or id."),
            Field::opt("fixed_subnet", STR255, "Existing private subnet, by name or id."),
            Field::opt("network_driver", STR255, "flannel or calico (kubernetes); docker or flannel (swarm)."),
            Field::opt("volume_driver", STR255, "cinder (kubernetes) or rexray (swarm)."),
            Field::opt("apiserver_port", Kind::Int { min: Some(1024), max: Some(65535) }, "API server port."),
            Field::opt("docker_volume_size", Kind::Int { min: Some(1), max: None }, "Docker volume size in GB."),
            Field::opt("docker_storage_driver", STR255, "Docker storage driver (overlay2, devicemapper…)."),
            Field::opt("cluster_distro", STR255, "Ignored on create: taken from the image's os_distro."),
            Field::opt("http_proxy", STR255, "HTTP proxy for the nodes."),
            Field::opt("https_proxy", STR255, "HTTPS proxy for the nodes."),
            Field::opt("no_proxy", STR255, "Hosts that bypass the proxy."),
            Field::opt("registry_enabled", Kind::Bool, "Run a docker registry in the cluster."),
            Field::opt("tls_disabled", Kind::Bool, "Disable TLS on the COE API."),
            Field::opt("public", Kind::Bool, "Visible to every project (admin only)."),
            Field::opt("server_type", Kind::Enum(&["vm", "bm"]), "vm or bm."),
            Field::opt("insecure_registry", STR255, "An insecure docker registry URL."),
            Field::opt("master_lb_enabled", Kind::Bool, "Put a load balancer in front of the masters."),
            Field::opt("floating_ip_enabled", Kind::Bool, "Give nodes floating IPs."),
            Field::opt("tags", Kind::Str { min: 0, max: 255, pattern: None }, "Free-form tags."),
            Field::ro("links"),
            Field::ro("created_at"),
            Field::ro("updated_at"),
            $($extra,)*
        ]
    };
}

/// ClusterTemplate body attributes.
pub const CLUSTER_TEMPLATE_FIELDS: &[Field] = template_fields!(
    Field::opt("keypair_id", STR255, "Default Nova keypair for clusters."),
    Field::opt(
        "dns_nameserver",
        Kind::DnsList,
        "Comma-separated IPv4 DNS servers."
    ),
    Field::opt(
        "labels",
        Kind::Labels,
        "Key/value options for the driver; values are stored as strings."
    ),
    Field::opt("hidden", Kind::Bool, "Hide from listings (admin only)."),
    Field::opt("driver", STR255, "Driver name (informational)."),
    Field::ro("project_id"),
    Field::ro("user_id"),
);

/// BayModel body attributes (keypair mandatory, single DNS server).
pub const BAYMODEL_FIELDS: &[Field] = template_fields!(
    Field::req("keypair_id", STR255, "Nova keypair of the bays."),
    Field::opt("dns_nameserver", Kind::Ipv4, "IPv4 DNS server."),
    Field::opt("labels", Kind::Labels, "Key/value options for the driver."),
    Field::opt("hidden", Kind::Bool, "Hide from listings."),
);

/// A template as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClusterTemplateView {
    /// Identifier.
    pub uuid: String,
    /// Name.
    pub name: Option<String>,
    /// kubernetes, swarm or swarm-mode.
    pub coe: String,
    /// Image name or id.
    pub image_id: Option<String>,
    /// Node flavor.
    pub flavor_id: Option<String>,
    /// Master flavor.
    pub master_flavor_id: Option<String>,
    /// DNS servers.
    pub dns_nameserver: Option<String>,
    /// Default keypair.
    pub keypair_id: Option<String>,
    /// External network.
    pub external_network_id: Option<String>,
    /// Private network.
    pub fixed_network: Option<String>,
    /// Private subnet.
    pub fixed_subnet: Option<String>,
    /// Network driver.
    pub network_driver: Option<String>,
    /// API server port.
    pub apiserver_port: Option<i32>,
    /// Docker volume size (GB).
    pub docker_volume_size: Option<i32>,
    /// The image's os_distro.
    pub cluster_distro: Option<String>,
    /// self and bookmark links.
    pub links: Vec<Link>,
    /// HTTP proxy.
    pub http_proxy: Option<String>,
    /// HTTPS proxy.
    pub https_proxy: Option<String>,
    /// No-proxy list.
    pub no_proxy: Option<String>,
    /// Volume driver.
    pub volume_driver: Option<String>,
    /// Registry enabled.
    pub registry_enabled: bool,
    /// Labels (string values).
    pub labels: BTreeMap<String, String>,
    /// TLS disabled.
    pub tls_disabled: bool,
    /// Public.
    pub public: bool,
    /// vm or bm.
    pub server_type: String,
    /// Insecure registry.
    pub insecure_registry: Option<String>,
    /// Docker storage driver.
    pub docker_storage_driver: Option<String>,
    /// Master load balancer.
    pub master_lb_enabled: bool,
    /// Floating IPs.
    pub floating_ip_enabled: bool,
    /// Owning project (not shown for baymodels).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Creating user (not shown for baymodels).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Hidden.
    pub hidden: bool,
    /// Tags.
    pub tags: Option<String>,
    /// Driver (not shown for baymodels).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<Option<String>>,
    /// Created.
    pub created_at: String,
    /// Last updated.
    pub updated_at: Option<String>,
}

impl ClusterTemplateView {
    /// The view of `t` through `api`.
    pub fn new(t: ClusterTemplate, api: TemplateApi, host: &str) -> Self {
        let modern = api == TemplateApi::ClusterTemplate;
        ClusterTemplateView {
            links: links::resource(host, api.collection(), &t.uuid.to_string()),
            uuid: t.uuid.to_string(),
            name: t.name,
            coe: t.coe.to_string(),
            image_id: t.image_id,
            flavor_id: t.flavor_id,
            master_flavor_id: t.master_flavor_id,
            dns_nameserver: t.dns_nameserver,
            keypair_id: t.keypair_id,
            external_network_id: t.external_network_id,
            fixed_network: t.fixed_network,
            fixed_subnet: t.fixed_subnet,
            network_driver: t.network_driver,
            apiserver_port: t.apiserver_port,
            docker_volume_size: t.docker_volume_size,
            cluster_distro: t.cluster_distro,
            http_proxy: t.http_proxy,
            https_proxy: t.https_proxy,
            no_proxy: t.no_proxy,
            volume_driver: t.volume_driver,
            registry_enabled: t.registry_enabled,
            labels: t.labels.0,
            tls_disabled: t.tls_disabled,
            public: t.public,
            server_type: t.server_type.to_string(),
            insecure_registry: t.insecure_registry,
            docker_storage_driver: t.docker_storage_driver,
            master_lb_enabled: t.master_lb_enabled,
            floating_ip_enabled: t.floating_ip_enabled,
            project_id: modern.then_some(t.project_id.0),
            user_id: modern.then_some(t.user_id.0),
            hidden: t.hidden,
            tags: t.tags,
            driver: modern.then_some(t.driver),
            created_at: ts(t.created_at),
            updated_at: ts_opt(t.updated_at),
        }
    }
}

/// A page of templates.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClusterTemplateCollection {
    /// The templates (`clustertemplates` or `baymodels`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clustertemplates: Option<Vec<ClusterTemplateView>>,
    /// The templates, legacy spelling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baymodels: Option<Vec<ClusterTemplateView>>,
    /// The next page, when this one is full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Which templates the caller may list: admins see all; others their own and public,
/// non-hidden ones.
pub fn list_visibility(ctx: &RequestContext, all: bool) -> Visibility {
    if all {
        Visibility::All
    } else {
        Visibility::Project {
            project: ctx.project_id.clone().unwrap_or_default().into(),
            include_hidden: false,
        }
    }
}

/// Which templates the caller may fetch one by one: their own and any public one.
pub fn get_visibility(ctx: &RequestContext, all: bool) -> Visibility {
    if all {
        Visibility::All
    } else {
        Visibility::Project {
            project: ctx.project_id.clone().unwrap_or_default().into(),
            include_hidden: true,
        }
    }
}
