//! `{ident}` look-ups: a UUID-like string by uuid, anything else by name; several
//! rows with the name → 409, none → 404, both within what the caller may see.

use magnum_common::db::AnyConnection;
use magnum_common::db::models::cluster::{self, Cluster};
use magnum_common::db::models::cluster_template::{self, ClusterTemplate, Visibility};
use magnum_common::db::models::federation::{self, Federation};
use magnum_common::db::models::nodegroup::{self, NodeGroup};
use magnum_common::db::models::{ByName, Scope};
use magnum_common::ids::{ClusterUuid, parse_uuid_like};

use crate::error::{ApiError, ApiResult};

/// 404 for a cluster.
pub fn cluster_not_found(ident: &str) -> ApiError {
    ApiError::NotFound(format!("Cluster {ident} could not be found."))
}

/// 404 for a template.
pub fn template_not_found(ident: &str) -> ApiError {
    ApiError::NotFound(format!("ClusterTemplate {ident} could not be found."))
}

/// The cluster `ident` within `scope`.
pub fn cluster(conn: &mut AnyConnection, scope: &Scope, ident: &str) -> ApiResult<Cluster> {
    if let Some(u) = parse_uuid_like(ident) {
        return cluster::get_by_uuid(conn, scope, u.into())?
            .ok_or_else(|| cluster_not_found(ident));
    }
    match cluster::get_by_name(conn, scope, ident)? {
        ByName::One(c) => Ok(c),
        ByName::None => Err(cluster_not_found(ident)),
        ByName::Many => Err(ApiError::Conflict(
            "Multiple clusters exist with same name. Please use the cluster uuid instead."
                .to_owned(),
        )),
    }
}

/// The template `ident` within `visibility`; with `allow_int`, an integer is a database id
/// (as upstream's `ClusterTemplate.get` accepts on cluster create).
pub fn template(
    conn: &mut AnyConnection,
    visibility: &Visibility,
    ident: &str,
    allow_int: bool,
) -> ApiResult<ClusterTemplate> {
    if let Some(u) = parse_uuid_like(ident) {
        return cluster_template::get_by_uuid(conn, visibility, u.into())?
            .ok_or_else(|| template_not_found(ident));
    }
    if allow_int && let Ok(id) = ident.parse::<i32>() {
        return cluster_template::get_by_id(conn, visibility, id)?
            .ok_or_else(|| template_not_found(ident));
    }
    match cluster_template::get_by_name(conn, visibility, ident)? {
        ByName::One(t) => Ok(t),
        ByName::None => Err(template_not_found(ident)),
        ByName::Many => Err(ApiError::Conflict(
            "Multiple ClusterTemplates exist with same name. Please use the ClusterTemplate uuid instead.".to_owned(),
        )),
    }
}

/// The node group `ident` of `cluster`: an integer is a database id, then uuid, then name.
pub fn nodegroup(
    conn: &mut AnyConnection,
    cluster: ClusterUuid,
    ident: &str,
) -> ApiResult<NodeGroup> {
    let not_found = || ApiError::NotFound(format!("Nodegroup {ident} could not be found."));
    if let Ok(id) = ident.parse::<i32>() {
        return nodegroup::get_by_id(conn, cluster, id)?.ok_or_else(not_found);
    }
    if let Some(u) = parse_uuid_like(ident) {
        return nodegroup::get_by_uuid(conn, cluster, u.into())?.ok_or_else(not_found);
    }
    match nodegroup::get_by_name(conn, cluster, ident)? {
        ByName::One(n) => Ok(n),
        ByName::None => Err(not_found()),
        ByName::Many => Err(ApiError::Conflict(
            "Multiple nodegroups exist with same name. Please use the nodegroup uuid instead."
                .to_owned(),
        )),
    }
}

/// The federation `ident` within `scope`.
pub fn federation(conn: &mut AnyConnection, scope: &Scope, ident: &str) -> ApiResult<Federation> {
    let not_found = || ApiError::NotFound(format!("Federation {ident} could not be found."));
    if let Some(u) = parse_uuid_like(ident) {
        return federation::get_by_uuid(conn, scope, u.into())?.ok_or_else(not_found);
    }
    match federation::get_by_name(conn, scope, ident)? {
        ByName::One(f) => Ok(f),
        ByName::None => Err(not_found()),
        ByName::Many => Err(ApiError::Conflict(
            "Multiple federations exist with same name. Please use the federation uuid instead."
                .to_owned(),
        )),
    }
}
