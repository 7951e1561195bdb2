-- Initial schema: Magnum's tables plus the conductor outbox (pending_operation).

CREATE TABLE cluster_template (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    uuid VARCHAR(36) NOT NULL,
    project_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL,
    name VARCHAR(255),
    image_id VARCHAR(255),
    flavor_id VARCHAR(255),
    master_flavor_id VARCHAR(255),
    keypair_id VARCHAR(255),
    external_network_id VARCHAR(255),
    fixed_network VARCHAR(255),
    fixed_subnet VARCHAR(255),
    network_driver VARCHAR(255),
    volume_driver VARCHAR(255),
    dns_nameserver VARCHAR(255),
    apiserver_port INTEGER,
    docker_volume_size INTEGER,
    docker_storage_driver VARCHAR(255),
    cluster_distro VARCHAR(255),
    coe VARCHAR(255) NOT NULL,
    http_proxy VARCHAR(255),
    https_proxy VARCHAR(255),
    no_proxy VARCHAR(255),
    registry_enabled BOOLEAN NOT NULL,
    labels TEXT NOT NULL,
    tls_disabled BOOLEAN NOT NULL,
    public BOOLEAN NOT NULL,
    server_type VARCHAR(255) NOT NULL,
    insecure_registry VARCHAR(255),
    master_lb_enabled BOOLEAN NOT NULL,
    floating_ip_enabled BOOLEAN NOT NULL,
    hidden BOOLEAN NOT NULL,
    tags VARCHAR(255),
    driver VARCHAR(255),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP
);
CREATE UNIQUE INDEX uniq_cluster_template0uuid ON cluster_template (uuid);
CREATE INDEX ix_cluster_template_project_id ON cluster_template (project_id);

CREATE TABLE cluster (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    uuid VARCHAR(36) NOT NULL,
    project_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL,
    name VARCHAR(255),
    cluster_template_id VARCHAR(255) NOT NULL,
    keypair VARCHAR(255),
    docker_volume_size INTEGER,
    labels TEXT NOT NULL,
    master_flavor_id VARCHAR(255),
    flavor_id VARCHAR(255),
    stack_id VARCHAR(255),
    api_address VARCHAR(255),
    status VARCHAR(255) NOT NULL,
    status_reason TEXT,
    health_status VARCHAR(255),
    health_status_reason TEXT NOT NULL,
    create_timeout INTEGER,
    discovery_url VARCHAR(255),
    ca_cert_ref VARCHAR(255),
    magnum_cert_ref VARCHAR(255),
    etcd_ca_cert_ref VARCHAR(255),
    front_proxy_ca_cert_ref VARCHAR(255),
    trust_id VARCHAR(255),
    trustee_username VARCHAR(255),
    trustee_user_id VARCHAR(255),
    trustee_password VARCHAR(255),
    coe_version VARCHAR(255),
    container_version VARCHAR(255),
    fixed_network VARCHAR(255),
    fixed_subnet VARCHAR(255),
    floating_ip_enabled BOOLEAN NOT NULL,
    master_lb_enabled BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP
);
CREATE UNIQUE INDEX uniq_cluster0uuid ON cluster (uuid);
CREATE INDEX ix_cluster_project_id ON cluster (project_id);
CREATE INDEX ix_cluster_status ON cluster (status);
CREATE INDEX ix_cluster_name ON cluster (name);

CREATE TABLE nodegroup (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    uuid VARCHAR(36) NOT NULL,
    name VARCHAR(255) NOT NULL,
    cluster_id VARCHAR(255) NOT NULL,
    project_id VARCHAR(255) NOT NULL,
    docker_volume_size INTEGER,
    labels TEXT NOT NULL,
    flavor_id VARCHAR(255),
    image_id VARCHAR(255),
    node_addresses TEXT NOT NULL,
    node_count INTEGER NOT NULL,
    role VARCHAR(255) NOT NULL,
    max_node_count INTEGER,
    min_node_count INTEGER NOT NULL,
    is_default BOOLEAN NOT NULL,
    stack_id VARCHAR(255),
    status VARCHAR(255) NOT NULL,
    status_reason TEXT,
    version VARCHAR(255),
    node_labels TEXT NOT NULL,
    node_taints TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP
);
CREATE UNIQUE INDEX uniq_nodegroup0uuid ON nodegroup (uuid);
CREATE UNIQUE INDEX uniq_nodegroup0cluster_id0name ON nodegroup (cluster_id, name);
CREATE INDEX ix_nodegroup_cluster_id ON nodegroup (cluster_id);

CREATE TABLE x509keypair (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    uuid VARCHAR(36) NOT NULL,
    certificate TEXT NOT NULL,
    private_key TEXT NOT NULL,
    private_key_passphrase VARCHAR(255),
    intermediates TEXT,
    project_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP
);
CREATE UNIQUE INDEX uniq_x509keypair0uuid ON x509keypair (uuid);

CREATE TABLE magnum_service (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    host VARCHAR(255) NOT NULL,
    "binary" VARCHAR(255) NOT NULL,
    disabled BOOLEAN NOT NULL,
    disabled_reason VARCHAR(255),
    last_seen_up TIMESTAMP,
    forced_down BOOLEAN NOT NULL,
    report_count INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP
);
CREATE UNIQUE INDEX uniq_magnum_service0host0binary ON magnum_service (host, "binary");

CREATE TABLE quotas (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    project_id VARCHAR(255) NOT NULL,
    resource VARCHAR(255) NOT NULL,
    hard_limit INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP
);
CREATE UNIQUE INDEX uniq_quotas0project_id0resource ON quotas (project_id, resource);

CREATE TABLE federation (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    uuid VARCHAR(36) NOT NULL,
    project_id VARCHAR(255) NOT NULL,
    name VARCHAR(255),
    hostcluster_id VARCHAR(255),
    member_ids TEXT NOT NULL,
    status VARCHAR(255) NOT NULL,
    status_reason TEXT,
    properties TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP
);
CREATE UNIQUE INDEX uniq_federation0uuid ON federation (uuid);
CREATE INDEX ix_federation_project_id ON federation (project_id);

CREATE TABLE pending_operation (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    uuid VARCHAR(36) NOT NULL,
    cluster_uuid VARCHAR(36) NOT NULL,
    nodegroup_uuid VARCHAR(36),
    method VARCHAR(255) NOT NULL,
    args TEXT NOT NULL,
    context TEXT NOT NULL,
    state VARCHAR(255) NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP
);
CREATE UNIQUE INDEX uniq_pending_operation0uuid ON pending_operation (uuid);
CREATE INDEX ix_pending_operation_state ON pending_operation (state);
CREATE INDEX ix_pending_operation_cluster ON pending_operation (cluster_uuid);
