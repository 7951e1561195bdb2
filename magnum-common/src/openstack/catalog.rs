//! A token's service catalog and endpoint selection.

use serde::{Deserialize, Serialize};

/// One endpoint of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// public, internal or admin.
    pub interface: String,
    /// Region (Keystone sends both `region` and `region_id`).
    #[serde(default)]
    pub region: Option<String>,
    /// Region id.
    #[serde(default)]
    pub region_id: Option<String>,
    /// The URL.
    pub url: String,
}

/// One service of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// Service type (`image`, `compute`, `network`, `container-infra`, …).
    #[serde(rename = "type")]
    pub service_type: String,
    /// Service name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its endpoints.
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
}

/// A service catalog (Keystone v3 form).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Catalog(pub Vec<Service>);

/// Normalises oslo's interface spellings (`publicURL` → `public`).
pub fn interface_name(endpoint_type: &str) -> &str {
    match endpoint_type {
        "publicURL" | "public" => "public",
        "internalURL" | "internal" => "internal",
        "adminURL" | "admin" => "admin",
        other => other,
    }
}

impl Catalog {
    /// The URL of `service_type` for `interface`, in `region` when one is given.
    pub fn url_for(
        &self,
        service_type: &str,
        interface: &str,
        region: Option<&str>,
    ) -> Option<&str> {
        let interface = interface_name(interface);
        self.0
            .iter()
            .filter(|s| s.service_type == service_type)
            .flat_map(|s| s.endpoints.iter())
            .find(|e| {
                e.interface == interface
                    && region.is_none_or(|r| {
                        e.region.as_deref() == Some(r) || e.region_id.as_deref() == Some(r)
                    })
            })
            .map(|e| e.url.trim_end_matches('/'))
    }

    /// True if the catalog offers `service_type` at all.
    pub fn has(&self, service_type: &str) -> bool {
        self.0.iter().any(|s| s.service_type == service_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_interface_and_region() {
        let catalog: Catalog = serde_json::from_value(serde_json::json!([
            {"type": "image", "name": "glance", "endpoints": [
                {"interface": "internal", "region": "RegionOne", "url": "http://int:9292"},
                {"interface": "public", "region": "RegionTwo", "url": "http://two:9292/"},
                {"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "http://one:9292/"}
            ]}
        ]))
        .unwrap();
        assert_eq!(
            catalog.url_for("image", "publicURL", None),
            Some("http://two:9292")
        );
        assert_eq!(
            catalog.url_for("image", "public", Some("RegionOne")),
            Some("http://one:9292")
        );
        assert_eq!(
            catalog.url_for("image", "internalURL", None),
            Some("http://int:9292")
        );
        assert_eq!(catalog.url_for("compute", "public", None), None);
    }
}
