//! Table definitions, identical across the three backends.
//!
//! UUIDs are `VARCHAR(36)`, JSON documents (labels, addresses, health reasons)
//! are `TEXT`, as in upstream Magnum, so the common diesel subset covers them.

diesel::table! {
    cluster_template (id) {
        id -> Integer,
        uuid -> Text,
        project_id -> Text,
        user_id -> Text,
        name -> Nullable<Text>,
        image_id -> Nullable<Text>,
        flavor_id -> Nullable<Text>,
        master_flavor_id -> Nullable<Text>,
        keypair_id -> Nullable<Text>,
        external_network_id -> Nullable<Text>,
        fixed_network -> Nullable<Text>,
        fixed_subnet -> Nullable<Text>,
        network_driver -> Nullable<Text>,
        volume_driver -> Nullable<Text>,
        dns_nameserver -> Nullable<Text>,
        apiserver_port -> Nullable<Integer>,
        docker_volume_size -> Nullable<Integer>,
        docker_storage_driver -> Nullable<Text>,
        cluster_distro -> Nullable<Text>,
        coe -> Text,
        http_proxy -> Nullable<Text>,
        https_proxy -> Nullable<Text>,
        no_proxy -> Nullable<Text>,
        registry_enabled -> Bool,
        labels -> Text,
        tls_disabled -> Bool,
        public -> Bool,
        server_type -> Text,
        insecure_registry -> Nullable<Text>,
        master_lb_enabled -> Bool,
        floating_ip_enabled -> Bool,
        hidden -> Bool,
        tags -> Nullable<Text>,
        driver -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    cluster (id) {
        id -> Integer,
        uuid -> Text,
        project_id -> Text,
        user_id -> Text,
        name -> Nullable<Text>,
        cluster_template_id -> Text,
        keypair -> Nullable<Text>,
        docker_volume_size -> Nullable<Integer>,
        labels -> Text,
        master_flavor_id -> Nullable<Text>,
        flavor_id -> Nullable<Text>,
        stack_id -> Nullable<Text>,
        api_address -> Nullable<Text>,
        status -> Text,
        status_reason -> Nullable<Text>,
        health_status -> Nullable<Text>,
        health_status_reason -> Text,
        create_timeout -> Nullable<Integer>,
        discovery_url -> Nullable<Text>,
        ca_cert_ref -> Nullable<Text>,
        magnum_cert_ref -> Nullable<Text>,
        etcd_ca_cert_ref -> Nullable<Text>,
        front_proxy_ca_cert_ref -> Nullable<Text>,
        trust_id -> Nullable<Text>,
        trustee_username -> Nullable<Text>,
        trustee_user_id -> Nullable<Text>,
        trustee_password -> Nullable<Text>,
        coe_version -> Nullable<Text>,
        container_version -> Nullable<Text>,
        fixed_network -> Nullable<Text>,
        fixed_subnet -> Nullable<Text>,
        floating_ip_enabled -> Bool,
        master_lb_enabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    nodegroup (id) {
        id -> Integer,
        uuid -> Text,
        name -> Text,
        cluster_id -> Text,
        project_id -> Text,
        docker_volume_size -> Nullable<Integer>,
        labels -> Text,
        flavor_id -> Nullable<Text>,
        image_id -> Nullable<Text>,
        node_addresses -> Text,
        node_count -> Integer,
        role -> Text,
        max_node_count -> Nullable<Integer>,
        min_node_count -> Integer,
        is_default -> Bool,
        stack_id -> Nullable<Text>,
        status -> Text,
        status_reason -> Nullable<Text>,
        version -> Nullable<Text>,
        node_labels -> Text,
        node_taints -> Text,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    x509keypair (id) {
        id -> Integer,
        uuid -> Text,
        certificate -> Text,
        private_key -> Text,
        private_key_passphrase -> Nullable<Text>,
        intermediates -> Nullable<Text>,
        project_id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    magnum_service (id) {
        id -> Integer,
        host -> Text,
        binary -> Text,
        disabled -> Bool,
        disabled_reason -> Nullable<Text>,
        last_seen_up -> Nullable<Timestamp>,
        forced_down -> Bool,
        report_count -> Integer,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    quotas (id) {
        id -> Integer,
        project_id -> Text,
        resource -> Text,
        hard_limit -> Integer,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    federation (id) {
        id -> Integer,
        uuid -> Text,
        project_id -> Text,
        name -> Nullable<Text>,
        hostcluster_id -> Nullable<Text>,
        member_ids -> Text,
        status -> Text,
        status_reason -> Nullable<Text>,
        properties -> Text,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// The conductor's outbox: an operation the API accepted, written in the same
    /// transaction as the change it asks for, so a lost message never loses work.
    pending_operation (id) {
        id -> Integer,
        uuid -> Text,
        cluster_uuid -> Text,
        nodegroup_uuid -> Nullable<Text>,
        method -> Text,
        args -> Text,
        context -> Text,
        state -> Text,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
        auth_token -> Nullable<Text>,
        progress -> Nullable<Text>,
        not_before -> Nullable<Timestamp>,
    }
}

diesel::table! {
    cluster_lease (cluster_uuid) {
        cluster_uuid -> Text,
        owner -> Text,
        expires_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    cluster_template,
    cluster,
    nodegroup,
    x509keypair,
    magnum_service,
    quotas,
    federation,
    pending_operation,
    cluster_lease,
);
