//! Checks against the cloud, made with the caller's token (upstream's
//! `attr_validator`): the image and its `os_distro`, flavors, keypair, external
//! and fixed networks and subnets. Unlike 2023.1, fixed networks and subnets are
//! really looked up (as upstream later did), and a missing image is reported as
//! such rather than as an unsupported cluster type.

use magnum_common::ids::is_uuid_like;
use magnum_common::openstack::cloud::{CloudClient, CloudError, Flavor, Image};

use crate::context::RequestContext;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

fn cloud_error(e: CloudError) -> ApiError {
    match e {
        CloudError::NoEndpoint(service) => ApiError::Unavailable(format!(
            "No {service} endpoint in the service catalog; the look-up cannot be made. Please retry later."
        )),
        CloudError::Unavailable { service, message } => {
            tracing::warn!(service, %message, "cloud look-up failed");
            ApiError::Unavailable(format!(
                "The {service} service is unavailable. Please retry later."
            ))
        }
        CloudError::Refused { service, status } => ApiError::Forbidden(format!(
            "The {service} service refused the look-up ({status})."
        )),
    }
}

/// Look-ups for one request, remembering what it already fetched.
pub struct Validator<'a> {
    cloud: Option<CloudClient<'a>>,
    flavors: Option<Vec<Flavor>>,
}

impl<'a> Validator<'a> {
    /// A validator acting as the caller. In noauth mode (no token) nothing is looked up.
    pub fn new(state: &'a AppState, ctx: &'a RequestContext) -> Self {
        let cloud = ctx
            .token
            .as_deref()
            .filter(|_| state.auth.keystone().is_some())
            .map(|t| CloudClient::new(&state.http, &ctx.catalog, t, &state.endpoints));
        Validator {
            cloud,
            flavors: None,
        }
    }

    /// True when look-ups are made (keystone mode).
    pub fn enabled(&self) -> bool {
        self.cloud.is_some()
    }

    /// The image `ident` (id or unique name) with its `os_distro`.
    pub async fn image(&self, ident: &str) -> ApiResult<Option<Image>> {
        let Some(cloud) = &self.cloud else {
            return Ok(None);
        };
        let not_found = || ApiError::BadRequest(format!("Image {ident} could not be found."));
        let image = if is_uuid_like(ident) {
            cloud.image(ident).await.map_err(|e| match e {
                CloudError::Refused { status: 403, .. } => {
                    ApiError::Forbidden(format!("Not authorized for image {ident}."))
                }
                other => cloud_error(other),
            })?
        } else {
            let mut found = cloud.images_named(ident).await.map_err(cloud_error)?;
            if found.len() > 1 {
                return Err(ApiError::Conflict(format!(
                    "Multiple images exist with same name {ident}. Please use the resource id instead."
                )));
            }
            found.pop()
        };
        let image = image.ok_or_else(not_found)?;
        if image.os_distro.as_deref().is_none_or(str::is_empty) {
            return Err(ApiError::BadRequest(format!(
                "Image {ident} doesn't contain os_distro field."
            )));
        }
        Ok(Some(image))
    }

    /// The flavor `ident` exists (by id or name).
    pub async fn flavor(&mut self, ident: &str) -> ApiResult<()> {
        let Some(cloud) = &self.cloud else {
            return Ok(());
        };
        if self.flavors.is_none() {
            self.flavors = Some(cloud.flavors().await.map_err(cloud_error)?);
        }
        if self
            .flavors
            .iter()
            .flatten()
            .any(|f| f.id == ident || f.name == ident)
        {
            Ok(())
        } else {
            Err(ApiError::BadRequest(format!(
                "Unable to find flavor {ident}."
            )))
        }
    }

    /// The caller's keypair `name` exists.
    pub async fn keypair(&self, name: &str) -> ApiResult<()> {
        let Some(cloud) = &self.cloud else {
            return Ok(());
        };
        match cloud.keypair(name).await.map_err(cloud_error)? {
            Some(_) => Ok(()),
            None => Err(ApiError::NotFound(format!(
                "Unable to find keypair {name}."
            ))),
        }
    }

    /// `ident` names exactly one external network.
    pub async fn external_network(&self, ident: &str) -> ApiResult<()> {
        let Some(cloud) = &self.cloud else {
            return Ok(());
        };
        let nets = cloud
            .networks(&[("router:external", "True")])
            .await
            .map_err(cloud_error)?;
        match nets
            .iter()
            .filter(|n| n.id == ident || n.name == ident)
            .count()
        {
            0 => Err(ApiError::BadRequest(format!(
                "Unable to find external network {ident}."
            ))),
            1 => Ok(()),
            _ => Err(ApiError::Conflict(format!(
                "Multiple external networks exist with same name '{ident}'. Please use the external network ID instead."
            ))),
        }
    }

    /// `ident` names exactly one network.
    pub async fn fixed_network(&self, ident: &str) -> ApiResult<()> {
        let Some(cloud) = &self.cloud else {
            return Ok(());
        };
        let key = if is_uuid_like(ident) { "id" } else { "name" };
        match cloud
            .networks(&[(key, ident)])
            .await
            .map_err(cloud_error)?
            .len()
        {
            0 => Err(ApiError::BadRequest(format!(
                "Unable to find fixed network {ident}."
            ))),
            1 => Ok(()),
            _ => Err(ApiError::Conflict(format!(
                "Multiple networks exist with same name '{ident}'. Please use the network ID instead."
            ))),
        }
    }

    /// `ident` names exactly one subnet.
    pub async fn fixed_subnet(&self, ident: &str) -> ApiResult<()> {
        let Some(cloud) = &self.cloud else {
            return Ok(());
        };
        let key = if is_uuid_like(ident) { "id" } else { "name" };
        match cloud
            .subnets(&[(key, ident)])
            .await
            .map_err(cloud_error)?
            .len()
        {
            0 => Err(ApiError::BadRequest(format!(
                "Unable to find fixed subnet {ident}."
            ))),
            1 => Ok(()),
            _ => Err(ApiError::Conflict(format!(
                "Multiple subnets exist with same name '{ident}'. Please use the subnet ID instead."
            ))),
        }
    }
}

/// The label rules upstream checks on templates and clusters.
pub fn labels(labels: &std::collections::BTreeMap<String, String>) -> ApiResult<()> {
    if let Some(strategy) = labels.get("swarm_strategy") {
        let bad: Vec<&str> = strategy
            .split_whitespace()
            .filter(|s| !["spread", "binpack", "random"].contains(s))
            .collect();
        if !bad.is_empty() {
            return Err(ApiError::BadRequest(format!(
                "property \"labels/swarm_strategy\" with value \"{}\" is not supported, supported values are: spread, binpack, random, unspecified",
                bad.join(" ")
            )));
        }
    }
    Ok(())
}

/// The cloud resources a template or cluster names, checked in upstream's order:
/// image, flavor, master flavor, external network, fixed network, fixed subnet, labels.
#[derive(Debug, Default, Clone)]
pub struct Resources<'r> {
    /// Image id or name.
    pub image: Option<&'r str>,
    /// Node flavor.
    pub flavor: Option<&'r str>,
    /// Master flavor.
    pub master_flavor: Option<&'r str>,
    /// External network.
    pub external_network: Option<&'r str>,
    /// Fixed network.
    pub fixed_network: Option<&'r str>,
    /// Fixed subnet.
    pub fixed_subnet: Option<&'r str>,
    /// Keypair (cluster create only).
    pub keypair: Option<&'r str>,
}

impl Validator<'_> {
    /// Checks every resource named; returns the image when one was looked up.
    pub async fn resources(
        &mut self,
        r: &Resources<'_>,
        labels_map: &std::collections::BTreeMap<String, String>,
    ) -> ApiResult<Option<Image>> {
        let image = match r.image {
            Some(i) => self.image(i).await?,
            None => None,
        };
        if let Some(f) = r.flavor {
            self.flavor(f).await?;
        }
        if let Some(f) = r.master_flavor {
            self.flavor(f).await?;
        }
        if let Some(n) = r.external_network {
            self.external_network(n).await?;
        }
        if let Some(n) = r.fixed_network {
            self.fixed_network(n).await?;
        }
        if let Some(s) = r.fixed_subnet {
            self.fixed_subnet(s).await?;
        }
        labels(labels_map)?;
        if let Some(k) = r.keypair {
            self.keypair(k).await?;
        }
        Ok(image)
    }
}
