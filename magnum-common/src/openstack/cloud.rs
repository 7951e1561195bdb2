//! Look-ups in Glance, Nova, Neutron and Cinder with the caller's token (and a node's console
//! output, which Nova gives through an action).
//!
//! Endpoints come from the token's catalog, as python-*client sessions find
//! them. These functions return what the services hold; deciding what is
//! "not found" or "ambiguous" for a template or cluster is the API's job.

use serde::Deserialize;
use serde_json::Value;

use super::catalog::Catalog;
use crate::config::Config;

/// Why a look-up did not produce an answer.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    /// The catalog has no endpoint for the service.
    #[error("no {0} endpoint in the service catalog")]
    NoEndpoint(&'static str),
    /// The service could not be reached or failed.
    #[error("{service} is unavailable: {message}")]
    Unavailable {
        /// Service type.
        service: &'static str,
        /// What happened.
        message: String,
    },
    /// The service refused the caller's token.
    #[error("{service} refused the request ({status})")]
    Refused {
        /// Service type.
        service: &'static str,
        /// HTTP status.
        status: u16,
    },
}

/// A Glance image: id, name and the properties Magnum reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Image {
    /// Image id.
    pub id: String,
    /// Image name.
    #[serde(default)]
    pub name: Option<String>,
    /// The `os_distro` property (selects the driver).
    #[serde(default)]
    pub os_distro: Option<String>,
    /// The `magnum_driver` property (names a driver explicitly).
    #[serde(default)]
    pub magnum_driver: Option<String>,
}

/// A Nova flavor.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Flavor {
    /// Flavor id.
    pub id: String,
    /// Flavor name.
    pub name: String,
}

/// A Nova keypair.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Keypair {
    /// Keypair name.
    pub name: String,
    /// The public key.
    #[serde(default)]
    pub public_key: String,
}

/// A Neutron network.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Network {
    /// Network id.
    pub id: String,
    /// Network name.
    #[serde(default)]
    pub name: String,
    /// Whether it is an external (router:external) network.
    #[serde(default, rename = "router:external")]
    pub router_external: bool,
}

/// A Neutron subnet.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Subnet {
    /// Subnet id.
    pub id: String,
    /// Subnet name.
    #[serde(default)]
    pub name: String,
    /// Its network.
    #[serde(default)]
    pub network_id: String,
    /// Its CIDR.
    #[serde(default)]
    pub cidr: String,
}

/// A Nova server, as far as Magnum looks at it (`GET /servers/detail`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Server {
    /// Server id.
    pub id: String,
    /// Server name.
    #[serde(default)]
    pub name: String,
    /// Nova status (ACTIVE, BUILD, SHUTOFF, ERROR, ...).
    #[serde(default)]
    pub status: String,
}

/// A Cinder volume type.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VolumeType {
    /// Type id.
    pub id: String,
    /// Type name.
    #[serde(default)]
    pub name: String,
}

/// Where each service is looked up: interface and region per service.
#[derive(Debug, Clone)]
pub struct Endpoints {
    image: (String, Option<String>),
    compute: (String, Option<String>),
    network: (String, Option<String>),
    volume: (String, Option<String>),
}

impl Endpoints {
    /// From `[glance_client]`, `[nova_client]` and `[neutron_client]`.
    pub fn from_config(cfg: &Config) -> Self {
        Endpoints {
            image: (
                cfg.glance_client.endpoint_type.clone(),
                cfg.glance_client.region_name.clone(),
            ),
            compute: (
                cfg.nova_client.endpoint_type.clone(),
                cfg.nova_client.region_name.clone(),
            ),
            network: (
                cfg.neutron_client.endpoint_type.clone(),
                cfg.neutron_client.region_name.clone(),
            ),
            volume: (
                cfg.cinder_client.endpoint_type.clone(),
                cfg.cinder_client.region_name.clone(),
            ),
        }
    }
}

/// Look-ups made on behalf of one caller.
pub struct CloudClient<'a> {
    http: &'a reqwest::Client,
    catalog: &'a Catalog,
    token: &'a str,
    endpoints: &'a Endpoints,
}

impl<'a> CloudClient<'a> {
    /// A client acting with `token`, finding services in `catalog`.
    pub fn new(
        http: &'a reqwest::Client,
        catalog: &'a Catalog,
        token: &'a str,
        endpoints: &'a Endpoints,
    ) -> Self {
        CloudClient {
            http,
            catalog,
            token,
            endpoints,
        }
    }

    fn base(&self, service: &'static str) -> Result<&'a str, CloudError> {
        let (interface, region) = match service {
            "image" => &self.endpoints.image,
            "compute" => &self.endpoints.compute,
            "volumev3" => &self.endpoints.volume,
            _ => &self.endpoints.network,
        };
        self.catalog
            .url_for(service, interface, region.as_deref())
            .ok_or(CloudError::NoEndpoint(service))
    }

    /// GETs `path` from `service`; `Ok(None)` on 404.
    async fn get(
        &self,
        service: &'static str,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Option<Value>, CloudError> {
        let mut url = url::Url::parse(&format!("{}{path}", self.base(service)?)).map_err(|e| {
            CloudError::Unavailable {
                service,
                message: format!("bad endpoint URL: {e}"),
            }
        })?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let resp = super::send_idempotent(|| {
            self.http
                .get(url.clone())
                .header("X-Auth-Token", self.token)
                .header("Accept", "application/json")
        })
        .await
        .map_err(|e| CloudError::Unavailable {
            service,
            message: e.to_string(),
        })?;
        let status = resp.status();
        if status == 404 {
            return Ok(None);
        }
        if status.is_server_error() {
            return Err(CloudError::Unavailable {
                service,
                message: format!("answered {status}"),
            });
        }
        if !status.is_success() {
            return Err(CloudError::Refused {
                service,
                status: status.as_u16(),
            });
        }
        resp.json()
            .await
            .map(Some)
            .map_err(|e| CloudError::Unavailable {
                service,
                message: e.to_string(),
            })
    }

    /// POSTs `body` to `path` of `service` and returns the JSON answer (`Ok(None)` on 404).
    /// Only for requests that are safe to repeat (Nova actions that read).
    async fn post(
        &self,
        service: &'static str,
        path: &str,
        body: &Value,
    ) -> Result<Option<Value>, CloudError> {
        let url = format!("{}{path}", self.base(service)?);
        let resp = super::send_idempotent(|| {
            self.http
                .post(&url)
                .header("X-Auth-Token", self.token)
                .header("Accept", "application/json")
                .json(body)
        })
        .await
        .map_err(|e| CloudError::Unavailable {
            service,
            message: e.to_string(),
        })?;
        let status = resp.status();
        if status == 404 {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(if status.is_server_error() {
                CloudError::Unavailable {
                    service,
                    message: format!("answered {status}"),
                }
            } else {
                CloudError::Refused {
                    service,
                    status: status.as_u16(),
                }
            });
        }
        resp.json()
            .await
            .map(Some)
            .map_err(|e| CloudError::Unavailable {
                service,
                message: e.to_string(),
            })
    }

    fn parse<T: serde::de::DeserializeOwned>(
        service: &'static str,
        v: Value,
    ) -> Result<T, CloudError> {
        serde_json::from_value(v).map_err(|e| CloudError::Unavailable {
            service,
            message: format!("unexpected answer: {e}"),
        })
    }

    /// The image with id `id`.
    pub async fn image(&self, id: &str) -> Result<Option<Image>, CloudError> {
        match self.get("image", &format!("/v2/images/{id}"), &[]).await? {
            None => Ok(None),
            Some(v) => Ok(Some(Self::parse("image", v)?)),
        }
    }

    /// Images named `name`.
    pub async fn images_named(&self, name: &str) -> Result<Vec<Image>, CloudError> {
        let v = self
            .get("image", "/v2/images", &[("name", name)])
            .await?
            .unwrap_or(Value::Null);
        Self::parse(
            "image",
            v.get("images").cloned().unwrap_or(Value::Array(Vec::new())),
        )
    }

    /// Every flavor the caller can see.
    pub async fn flavors(&self) -> Result<Vec<Flavor>, CloudError> {
        let v = self
            .get("compute", "/flavors/detail", &[])
            .await?
            .unwrap_or(Value::Null);
        Self::parse(
            "compute",
            v.get("flavors")
                .cloned()
                .unwrap_or(Value::Array(Vec::new())),
        )
    }

    /// The caller's keypair `name`.
    pub async fn keypair(&self, name: &str) -> Result<Option<Keypair>, CloudError> {
        match self
            .get("compute", &format!("/os-keypairs/{name}"), &[])
            .await?
        {
            None => Ok(None),
            Some(v) => Ok(Some(Self::parse(
                "compute",
                v.get("keypair").cloned().unwrap_or(Value::Null),
            )?)),
        }
    }

    /// Networks matching the Neutron filters `query`.
    pub async fn networks(&self, query: &[(&str, &str)]) -> Result<Vec<Network>, CloudError> {
        let v = self
            .get("network", "/v2.0/networks", query)
            .await?
            .unwrap_or(Value::Null);
        Self::parse(
            "network",
            v.get("networks")
                .cloned()
                .unwrap_or(Value::Array(Vec::new())),
        )
    }

    /// Subnets matching the Neutron filters `query`.
    pub async fn subnets(&self, query: &[(&str, &str)]) -> Result<Vec<Subnet>, CloudError> {
        let v = self
            .get("network", "/v2.0/subnets", query)
            .await?
            .unwrap_or(Value::Null);
        Self::parse(
            "network",
            v.get("subnets")
                .cloned()
                .unwrap_or(Value::Array(Vec::new())),
        )
    }

    /// The caller's servers matching the Nova filters `query` (e.g. `name` as a regular
    /// expression), with their status.
    pub async fn servers(&self, query: &[(&str, &str)]) -> Result<Vec<Server>, CloudError> {
        let v = self
            .get("compute", "/servers/detail", query)
            .await?
            .unwrap_or(Value::Null);
        Self::parse(
            "compute",
            v.get("servers")
                .cloned()
                .unwrap_or(Value::Array(Vec::new())),
        )
    }

    /// The server with id `id`.
    pub async fn server(&self, id: &str) -> Result<Option<Server>, CloudError> {
        match self.get("compute", &format!("/servers/{id}"), &[]).await? {
            None => Ok(None),
            Some(v) => Ok(Some(Self::parse(
                "compute",
                v.get("server").cloned().unwrap_or(Value::Null),
            )?)),
        }
    }

    /// The last `lines` lines of a server's console (`None`: no such server).
    pub async fn console_output(
        &self,
        server_id: &str,
        lines: u32,
    ) -> Result<Option<String>, CloudError> {
        let body = serde_json::json!({"os-getConsoleOutput": {"length": lines}});
        Ok(self
            .post("compute", &format!("/servers/{server_id}/action"), &body)
            .await?
            .and_then(|v| v["output"].as_str().map(str::to_owned)))
    }

    /// Every volume type the caller can use.
    pub async fn volume_types(&self) -> Result<Vec<VolumeType>, CloudError> {
        let v = self
            .get("volumev3", "/types", &[])
            .await?
            .unwrap_or(Value::Null);
        Self::parse(
            "volumev3",
            v.get("volume_types")
                .cloned()
                .unwrap_or(Value::Array(Vec::new())),
        )
    }
}
