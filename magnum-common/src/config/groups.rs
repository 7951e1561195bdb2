//! Every option of `magnum.conf`, grouped as in upstream Magnum.

use super::{ConfigError, ConfigValue, GroupDoc, OptionDoc, RawConfig, Secret, read_opt};

macro_rules! config_groups {
    ($(
        $(#[doc = $gdoc:literal])*
        $field:ident: $ty:ident = $gname:literal {
            $(
                $(#[doc = $odoc:literal])*
                $opt:ident: $oty:ty = $default:expr $(=> sample $sample:literal)?,
            )*
        }
    )*) => {
        /// The whole configuration, one field per group.
        #[derive(Debug, Clone, Default)]
        pub struct Config {
            $(
                $(#[doc = $gdoc])*
                pub $field: $ty,
            )*
        }

        impl Config {
            /// Fills every option from `raw`, or its default.
            pub fn from_raw(raw: &RawConfig) -> Result<Self, ConfigError> {
                Ok(Config { $($field: $ty::from_raw(raw)?,)* })
            }

            /// The documentation of every group and option, for the sample.
            pub fn docs() -> Vec<GroupDoc> {
                vec![$($ty::doc(),)*]
            }
        }

        $(
            $(#[doc = $gdoc])*
            #[derive(Debug, Clone)]
            pub struct $ty {
                $(
                    $(#[doc = $odoc])*
                    pub $opt: $oty,
                )*
            }

            impl Default for $ty {
                fn default() -> Self {
                    $ty { $($opt: $default,)* }
                }
            }

            impl $ty {
                /// The INI group name.
                pub const GROUP: &'static str = $gname;

                fn from_raw(raw: &RawConfig) -> Result<Self, ConfigError> {
                    let d = $ty::default();
                    Ok($ty { $($opt: read_opt(raw, $gname, stringify!($opt), d.$opt)?,)* })
                }

                fn doc() -> GroupDoc {
                    let d = $ty::default();
                    GroupDoc {
                        name: $gname,
                        help: concat!($($gdoc),*).trim_ascii(),
                        options: vec![$(
                            OptionDoc {
                                name: stringify!($opt),
                                kind: <$oty as ConfigValue>::KIND,
                                default: {
                                    #[allow(unused_mut, unused_assignments)]
                                    let mut rendered = d.$opt.render();
                                    $(rendered = $sample.to_owned();)?
                                    rendered
                                },
                                help: concat!($($odoc, "\n"),*).trim_ascii(),
                            },
                        )*],
                    }
                }
            }
        )*
    };
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

fn s(text: &str) -> String {
    text.to_owned()
}

fn list(items: &[&str]) -> Vec<String> {
    items.iter().map(|i| (*i).to_owned()).collect()
}

config_groups! {
    /// Options of the default group.
    default: DefaultOpts = "DEFAULT" {
        /// Name of this node: used in service records, notifications and leases.
        host: String = hostname() => sample "localhost",
        /// Top-level directory for Magnum's state (the default SQLite database lives here).
        state_path: String = s("/var/lib/magnum"),
        /// The messaging transport URL (rabbit://user:pass@host:port/vhost); empty means no broker.
        transport_url: Option<String> = None,
        /// The exchange RPC messages are sent to.
        control_exchange: String = s("magnum"),
        /// Log at debug level instead of info.
        debug: bool = false,
        /// How the API authenticates requests: `keystone`, or `noauth` for development only
        /// (identity then comes from X-User-Id/X-Project-Id/X-Roles headers, unchecked).
        auth_strategy: String = s("keystone"),
        /// Run the conductor's periodic tasks (status sync, health, heartbeat).
        periodic_enable: bool = true,
        /// Seconds between status syncs of clusters with an operation in progress.
        periodic_interval_max: u64 = 10,
        /// Seconds without a heartbeat after which a service is shown down.
        service_down_time: i64 = 180,
        /// Seconds to wait for the answer to an RPC call.
        rpc_response_timeout: u64 = 60,
    }

    /// The REST API service.
    api: ApiOpts = "api" {
        /// The listen IP for the Magnum API server.
        host: String = s("127.0.0.1"),
        /// The port for the Magnum API server.
        port: u16 = 9511,
        /// The maximum number of items returned in a single response from a collection resource.
        max_limit: u32 = 1000,
        /// Number of API worker threads; 0 means one per CPU.
        workers: u32 = 0,
        /// Size of the database connection pool of the API; 0 means twice the workers plus two.
        db_pool_size: u32 = 0,
    }

    /// Limits applied to requests before they reach the API (oslo.middleware).
    oslo_middleware: OsloMiddlewareOpts = "oslo_middleware" {
        /// The maximum body size for each request, in bytes; larger bodies get 413.
        max_request_body_size: usize = 114_688,
    }

    /// The database.
    database: DatabaseOpts = "database" {
        /// The database URL: sqlite:///path, mysql://user:pass@host/db (also mysql+pymysql://)
        /// or postgresql://user:pass@host/db. Empty means a SQLite file under state_path.
        connection: Option<String> = None,
        /// Seconds to wait for a connection from the pool or to the server.
        connection_timeout: u64 = 10,
    }

    /// Token validation against Keystone (the keystonemiddleware contract).
    keystone_authtoken: KeystoneAuthtokenOpts = "keystone_authtoken" {
        /// Public Identity API endpoint, sent to unauthenticated clients in WWW-Authenticate.
        www_authenticate_uri: Option<String> = None,
        /// Keystone URL the service authenticates against and validates tokens with.
        auth_url: Option<String> = None,
        /// Authentication type of the service user (only `password` is supported).
        auth_type: String = s("password"),
        /// The service user name.
        username: Option<String> = None,
        /// The service user's password.
        password: Secret = Secret::default(),
        /// The service user's project.
        project_name: Option<String> = None,
        /// Domain id of the service user.
        user_domain_id: Option<String> = None,
        /// Domain name of the service user (used when no id is set).
        user_domain_name: Option<String> = Some(s("Default")),
        /// Domain id of the service project.
        project_domain_id: Option<String> = None,
        /// Domain name of the service project (used when no id is set).
        project_domain_name: Option<String> = Some(s("Default")),
        /// Region of the identity endpoint, for catalog look-ups.
        region_name: Option<String> = None,
        /// Roles a service token (X-Service-Token) must have to be accepted.
        service_token_roles: Vec<String> = list(&["service"]),
        /// Reject service tokens without one of service_token_roles.
        service_token_roles_required: bool = true,
        /// Seconds a validated token is cached; -1 disables the cache.
        token_cache_time: i64 = 300,
        /// Maximum number of validated tokens kept in the in-process cache.
        token_cache_size: usize = 10_000,
        /// Seconds to wait for Keystone before answering 503.
        http_connect_timeout: u64 = 10,
        /// Retries of a token validation on a connection error.
        http_request_max_retries: u32 = 3,
        /// Directory of Keystone's JWS public keys (jws_public_key_repository). When set, JWS
        /// tokens are checked offline first: a forged or expired one is refused without a
        /// round trip to Keystone.
        jws_public_key_repository: Option<String> = None,
        /// Verify HTTPS connections to Keystone.
        insecure: bool = false,
    }

    /// Policy enforcement (oslo.policy).
    oslo_policy: OsloPolicyOpts = "oslo_policy" {
        /// The policy file overriding the default rules (YAML or JSON).
        policy_file: String = s("policy.yaml"),
        /// Enforce the new (reader/member) defaults only; false keeps the deprecated rules
        /// working alongside them, as oslo.policy does.
        enforce_new_defaults: bool = false,
        /// Accepted for compatibility; tokens are always project-scoped here.
        enforce_scope: bool = false,
    }

    /// Resource quotas.
    quotas: QuotasOpts = "quotas" {
        /// Max number of clusters allowed per project; a quota row overrides it.
        max_clusters_per_project: i64 = 20,
    }

    /// Cluster template validation.
    cluster_template: ClusterTemplateOpts = "cluster_template" {
        /// Allowed network drivers for kubernetes cluster templates; `all` allows every
        /// supported driver.
        kubernetes_allowed_network_drivers: Vec<String> = list(&["all"]),
        /// Default network driver for kubernetes cluster templates.
        kubernetes_default_network_driver: String = s("flannel"),
        /// Allowed network drivers for docker swarm cluster templates; `all` allows every
        /// supported driver.
        swarm_allowed_network_drivers: Vec<String> = list(&["all"]),
        /// Default network driver for docker swarm cluster templates.
        swarm_default_network_driver: String = s("docker"),
    }

    /// Cluster drivers.
    drivers: DriversOpts = "drivers" {
        /// Drivers not to use, by name (e.g. k8s_fedora_atomic_v1).
        disabled_drivers: Vec<String> = Vec::new(),
        /// Verify the CA of OpenStack services from the nodes.
        verify_ca: bool = true,
        /// A CA bundle for the nodes to trust OpenStack services with (file path; empty: none).
        openstack_ca_file: String = String::new(),
        /// Directory of Heat templates overriding the built-in ones (same layout as
        /// heat-templates/); empty: the templates built into the conductor.
        heat_template_dir: String = String::new(),
    }

    /// How the API reaches Glance (image look-ups).
    glance_client: GlanceClientOpts = "glance_client" {
        /// Region of the Glance endpoint in the catalog; empty means any.
        region_name: Option<String> = None,
        /// Interface of the Glance endpoint: publicURL, internalURL or adminURL.
        endpoint_type: String = s("publicURL"),
    }

    /// How the API reaches Nova (flavor and keypair look-ups).
    nova_client: NovaClientOpts = "nova_client" {
        /// Region of the Nova endpoint in the catalog; empty means any.
        region_name: Option<String> = None,
        /// Interface of the Nova endpoint: publicURL, internalURL or adminURL.
        endpoint_type: String = s("publicURL"),
    }

    /// How the API reaches Neutron (network and subnet look-ups).
    neutron_client: NeutronClientOpts = "neutron_client" {
        /// Region of the Neutron endpoint in the catalog; empty means any.
        region_name: Option<String> = None,
        /// Interface of the Neutron endpoint: publicURL, internalURL or adminURL.
        endpoint_type: String = s("publicURL"),
    }

    /// How the conductor reaches Cinder (volume types for the nodes' volumes).
    cinder_client: CinderClientOpts = "cinder_client" {
        /// Region of the Cinder endpoint in the catalog; empty means any.
        region_name: Option<String> = None,
        /// Interface of the Cinder endpoint: publicURL, internalURL or adminURL.
        endpoint_type: String = s("publicURL"),
    }

    /// Cinder volumes of the nodes.
    cinder: CinderOpts = "cinder" {
        /// Volume type of the nodes' Docker volumes when the cluster's labels name none;
        /// empty: the first type Cinder lists.
        default_docker_volume_type: String = String::new(),
        /// Volume type of the masters' etcd volumes when the labels name none; empty: the
        /// first type Cinder lists.
        default_etcd_volume_type: String = String::new(),
        /// Volume type of boot volumes when the labels name none; empty: the first type
        /// Cinder lists.
        default_boot_volume_type: String = String::new(),
        /// Size (GB) of the nodes' boot volumes when the labels name none; 0: the nodes boot
        /// from their image.
        default_boot_volume_size: i64 = 0,
    }

    /// How the conductor reaches Heat (the cluster stacks).
    heat_client: HeatClientOpts = "heat_client" {
        /// Region of the Heat endpoint in the catalog; empty means any.
        region_name: Option<String> = None,
        /// Interface of the Heat endpoint: publicURL, internalURL or adminURL.
        endpoint_type: String = s("publicURL"),
    }

    /// The conductor service.
    conductor: ConductorOpts = "conductor" {
        /// The queue to add conductor tasks to.
        topic: String = s("magnum-conductor"),
        /// Seconds to wait for a response from a conductor.
        conductor_life_check_timeout: u64 = 4,
        /// Operations a conductor works on at once.
        workers: usize = 16,
        /// Seconds a conductor's lease on a cluster lasts; another conductor takes the
        /// cluster over when it expires.
        lease_seconds: u64 = 60,
        /// Seconds between sweeps of the operation outbox (operations whose RPC message
        /// was lost, or whose conductor died, are picked up by the next sweep).
        sweep_interval: u64 = 5,
        /// Attempts at an operation before the cluster is marked failed.
        max_attempts: u32 = 5,
    }

    /// Heat stacks of clusters.
    cluster_heat: ClusterHeatOpts = "cluster_heat" {
        /// Minutes before a cluster create times out, when the cluster says 0 or nothing.
        create_timeout: i64 = 60,
        /// Retries of a Heat request on a 5xx answer or a connection error.
        max_retries: u32 = 5,
    }

    /// Cluster behaviour.
    cluster: ClusterOpts = "cluster" {
        /// URL of the etcd discovery service; `%(size)d` is the number of masters. Empty: the
        /// conductor makes up a discovery URL itself (no discovery service is reachable offline).
        etcd_discovery_service_endpoint_format: String = s("https://discovery.etcd.io/new?size=%(size)d"),
        /// Scheduler hint for the nodes: affinity, anti-affinity, soft-affinity or soft-anti-affinity.
        nodes_affinity_policy: String = s("soft-anti-affinity"),
    }

    /// Per-cluster Kubernetes health polling.
    kubernetes: KubernetesOpts = "kubernetes" {
        /// Seconds between health polls of each cluster's API; negative disables them.
        health_polling_interval: i64 = 60,
    }

    /// Notifications (CADF events on the message bus).
    oslo_messaging_notifications: NotificationsOpts = "oslo_messaging_notifications" {
        /// messagingv2 sends notifications on the bus; noop drops them.
        driver: Vec<String> = list(&["messagingv2"]),
        /// Topics notifications are sent to (`<topic>.<priority>`).
        topics: Vec<String> = list(&["notifications"]),
    }

    /// Certificate manager.
    certificates: CertificatesOpts = "certificates" {
        /// Certificate manager type: x509keypair (rows in the database) or local (files).
        cert_manager_type: String = s("x509keypair"),
        /// Directory of the `local` certificate manager (development only).
        storage_path: String = s("/var/lib/magnum/certificates/"),
    }

    /// Trustee users and trusts for clusters.
    trust: TrustOpts = "trust" {
        /// Id of the domain containing the trustee users.
        trustee_domain_id: Option<String> = None,
        /// Name of the domain containing the trustee users.
        trustee_domain_name: Option<String> = None,
        /// Id of the administrator of the trustee domain.
        trustee_domain_admin_id: Option<String> = None,
        /// Name of the administrator of the trustee domain.
        trustee_domain_admin_name: Option<String> = None,
        /// Password of the administrator of the trustee domain.
        trustee_domain_admin_password: Secret = Secret::default(),
        /// Roles delegated to the trustee; empty: the requesting user's roles.
        roles: Vec<String> = Vec::new(),
        /// Give the nodes the trust id so in-cluster OpenStack integrations (cloud provider,
        /// Cinder CSI) can act for the user.
        cluster_user_trust: bool = false,
        /// Keystone interface whose URL the nodes use.
        trustee_keystone_interface: String = s("public"),
    }

    /// Certificate authorities of clusters.
    x509: X509Opts = "x509" {
        /// Allow signing certificate requests that ask for a CA.
        allow_ca: bool = false,
        /// Days signed certificates are valid.
        term_of_validity: i64 = 1825,
        /// Accepted for compatibility and unused: cluster CAs and keys are ECDSA P-256
        /// (generated in microseconds, accepted by every COE), not RSA.
        rsa_key_size: u32 = 2048,
    }
}
