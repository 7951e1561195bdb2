//! The fixed catalogue: images, flavors, networks and subnets, with stable ids.
//!
//! Every value is built once, as the JSON the real service would send (minus the
//! per-request links, which the handlers add).

use std::sync::LazyLock;

use serde_json::{Value, json};

/// Project that "owns" the stand-in's resources (a Keystone-style hex id).
pub const OWNER_PROJECT: &str = "5f0c8a1e3b2d4c6a9e7f1b0d2c4a6e8f";

/// Image `fedora-coreos-40` (os_distro fedora-coreos).
pub const IMAGE_FEDORA_COREOS: &str = "459a72ae-3ad9-478f-b711-ec4480d150d6";
/// Image `fedora-atomic-33` (os_distro fedora-atomic).
pub const IMAGE_FEDORA_ATOMIC: &str = "9b0fce41-3749-40e7-8a8a-d6d78b29cfde";
/// Image `cirros-0.6` (no os_distro).
pub const IMAGE_CIRROS: &str = "31c7637a-4c0d-4f6b-ab58-d7982ebe51e9";
/// First image named `duplicate-image`.
pub const IMAGE_DUPLICATE_1: &str = "dfc6a9c9-8ddd-42fb-a519-6d83c8207f82";
/// Second image named `duplicate-image`.
pub const IMAGE_DUPLICATE_2: &str = "745a1f22-c8f7-47d2-92c5-5244c67ee898";

/// External network `public`.
pub const NET_PUBLIC: &str = "623f1e84-1cc2-4450-9836-6cf621f8da85";
/// Network `private`.
pub const NET_PRIVATE: &str = "65c2b873-3c56-4a52-b721-8656197b315e";
/// First external network named `duplicate-net`.
pub const NET_DUPLICATE_1: &str = "bf816b61-f6a7-4fac-b67e-8336e82c5455";
/// Second external network named `duplicate-net`.
pub const NET_DUPLICATE_2: &str = "3ee8107b-8ba0-41c8-a14d-fb235c069638";
/// Subnet `public-subnet` (172.24.4.0/24).
pub const SUBNET_PUBLIC: &str = "cc6ace24-b7c3-4b49-b1b4-97b021b3bf48";
/// Subnet `private-subnet` (10.0.0.0/24).
pub const SUBNET_PRIVATE: &str = "f09a28c5-cbde-47f5-8a4e-67df90281323";

/// Whether a scalar JSON value reads as `want` (how query filters compare).
pub fn value_is(v: &Value, want: &str) -> bool {
    match v {
        Value::String(s) => s == want,
        Value::Number(n) => n.to_string() == want,
        Value::Bool(b) => b.to_string() == want,
        _ => false,
    }
}

const CREATED: &str = "2024-05-01T10:00:00Z";

fn image(id: &str, name: &str, os_distro: Option<&str>, size: u64) -> Value {
    let mut v = json!({
        "id": id,
        "name": name,
        "status": "active",
        "visibility": "public",
        "protected": false,
        "os_hidden": false,
        "owner": OWNER_PROJECT,
        "disk_format": "qcow2",
        "container_format": "bare",
        "size": size,
        "virtual_size": null,
        "min_disk": 0,
        "min_ram": 0,
        "created_at": CREATED,
        "updated_at": CREATED,
        "tags": [],
        "self": format!("/v2/images/{id}"),
        "file": format!("/v2/images/{id}/file"),
        "schema": "/v2/schemas/image",
    });
    if let Some(d) = os_distro {
        v["os_distro"] = json!(d);
    }
    v
}

/// Node image shaped like Fedora Atomic (os_distro `fedora-atomic`): Debian 12, booted as a
/// system container of the local cloud.
pub const IMAGE_NODE_ATOMIC: &str = "6a1b0c2e-7f3d-4e5a-9b8c-1d2e3f4a5b6c";
/// Node image shaped like Fedora CoreOS (os_distro `fedora-coreos`).
pub const IMAGE_NODE_COREOS: &str = "7b2c1d3f-8a4e-4f6b-ac9d-2e3f4a5b6c7d";

/// The Docker image behind the node images, when the local cloud has one.
static NODE_IMAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Registers the Docker image of the node images (once, at start).
pub fn set_node_image(reference: &str) {
    let _ = NODE_IMAGE.set(reference.to_owned());
}

/// The images of the image service: the look-up fixtures, then the node images when there is
/// a node image to boot.
pub fn images() -> &'static [Value] {
    static ALL: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = IMAGES.clone();
        if let Some(reference) = NODE_IMAGE.get() {
            for (id, name, distro, shape) in [
                (IMAGE_NODE_ATOMIC, "debian-12-node-atomic", "fedora-atomic", "Fedora Atomic"),
                (IMAGE_NODE_COREOS, "debian-12-node-coreos", "fedora-coreos", "Fedora CoreOS"),
            ] {
                let mut v = image(id, name, Some(distro), 0);
                v["container_format"] = json!("docker");
                v["disk_format"] = json!("raw");
                v["docker_image"] = json!(reference);
                v["os_type"] = json!("linux");
                v["description"] = json!(format!(
                    "Debian 12 (not Fedora) with systemd, cloud-init and Docker, shaped like {shape} for Magnum's drivers; booted as a system container by this local cloud"
                ));
                all.push(v);
            }
        }
        all
    })
}

/// The Docker image a Glance image boots, if it is a node image.
pub fn docker_image_of(image_id: &str) -> Option<String> {
    images()
        .iter()
        .find(|i| i["id"] == image_id)
        .and_then(|i| i["docker_image"].as_str().map(str::to_owned))
}

/// Glance images, in listing order.
pub static IMAGES: LazyLock<Vec<Value>> = LazyLock::new(|| {
    vec![
        image(
            IMAGE_FEDORA_COREOS,
            "fedora-coreos-40",
            Some("fedora-coreos"),
            734_003_200,
        ),
        image(
            IMAGE_FEDORA_ATOMIC,
            "fedora-atomic-33",
            Some("fedora-atomic"),
            612_368_384,
        ),
        image(IMAGE_CIRROS, "cirros-0.6", None, 21_430_272),
        image(
            IMAGE_DUPLICATE_1,
            "duplicate-image",
            Some("fedora-coreos"),
            734_003_200,
        ),
        image(
            IMAGE_DUPLICATE_2,
            "duplicate-image",
            Some("fedora-coreos"),
            734_003_200,
        ),
    ]
});

fn flavor(id: &str, name: &str, vcpus: u32, ram_mb: u32, disk_gb: u32) -> Value {
    json!({
        "id": id,
        "name": name,
        "vcpus": vcpus,
        "ram": ram_mb,
        "disk": disk_gb,
        "swap": "",
        "rxtx_factor": 1.0,
        "OS-FLV-EXT-DATA:ephemeral": 0,
        "OS-FLV-DISABLED:disabled": false,
        "os-flavor-access:is_public": true,
    })
}

/// Nova flavors (DevStack's ids and sizes).
pub static FLAVORS: LazyLock<Vec<Value>> = LazyLock::new(|| {
    vec![
        flavor("1", "m1.tiny", 1, 512, 1),
        flavor("2", "m1.small", 1, 2048, 20),
        flavor("3", "m1.medium", 2, 4096, 40),
        flavor("4", "m1.large", 4, 8192, 80),
        flavor("5", "m1.xlarge", 8, 16384, 160),
        flavor("d1", "ds1G", 1, 1024, 10),
        flavor("d2", "ds2G", 2, 2048, 10),
        flavor("d4", "ds4G", 4, 4096, 20),
    ]
});

fn network(
    id: &str,
    name: &str,
    external: bool,
    shared: bool,
    subnets: &[&str],
    mtu: u32,
) -> Value {
    json!({
        "id": id,
        "name": name,
        "status": "ACTIVE",
        "admin_state_up": true,
        "router:external": external,
        "shared": shared,
        "subnets": subnets,
        "tenant_id": OWNER_PROJECT,
        "project_id": OWNER_PROJECT,
        "mtu": mtu,
        "port_security_enabled": true,
        "availability_zones": ["nova"],
        "availability_zone_hints": [],
        "ipv4_address_scope": null,
        "ipv6_address_scope": null,
        "l2_adjacency": true,
        "description": "",
        "tags": [],
        "created_at": CREATED,
        "updated_at": CREATED,
        "revision_number": 1,
    })
}

/// Neutron networks.
pub static NETWORKS: LazyLock<Vec<Value>> = LazyLock::new(|| {
    let mut public = network(NET_PUBLIC, "public", true, false, &[SUBNET_PUBLIC], 1500);
    public["is_default"] = json!(true);
    vec![
        public,
        network(NET_PRIVATE, "private", false, true, &[SUBNET_PRIVATE], 1450),
        network(NET_DUPLICATE_1, "duplicate-net", true, false, &[], 1500),
        network(NET_DUPLICATE_2, "duplicate-net", true, false, &[], 1500),
    ]
});

fn subnet(
    id: &str,
    name: &str,
    network_id: &str,
    cidr: &str,
    gateway: &str,
    pool: (&str, &str),
) -> Value {
    json!({
        "id": id,
        "name": name,
        "network_id": network_id,
        "tenant_id": OWNER_PROJECT,
        "project_id": OWNER_PROJECT,
        "cidr": cidr,
        "ip_version": 4,
        "gateway_ip": gateway,
        "enable_dhcp": true,
        "allocation_pools": [{"start": pool.0, "end": pool.1}],
        "dns_nameservers": [],
        "host_routes": [],
        "ipv6_ra_mode": null,
        "ipv6_address_mode": null,
        "subnetpool_id": null,
        "service_types": [],
        "description": "",
        "tags": [],
        "created_at": CREATED,
        "updated_at": CREATED,
        "revision_number": 0,
    })
}

/// Neutron subnets.
pub static SUBNETS: LazyLock<Vec<Value>> = LazyLock::new(|| {
    let mut public = subnet(
        SUBNET_PUBLIC,
        "public-subnet",
        NET_PUBLIC,
        "172.24.4.0/24",
        "172.24.4.1",
        ("172.24.4.2", "172.24.4.254"),
    );
    public["enable_dhcp"] = json!(false);
    vec![
        public,
        subnet(
            SUBNET_PRIVATE,
            "private-subnet",
            NET_PRIVATE,
            "10.0.0.0/24",
            "10.0.0.1",
            ("10.0.0.2", "10.0.0.254"),
        ),
    ]
});
