//! POST of node groups: defaults from the cluster and its template, then one
//! transaction for the node group, the cluster's status and the conductor's operation.

use std::collections::BTreeMap;

use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use magnum_common::db::models::cluster_template::{self, Visibility};
use magnum_common::db::models::nodegroup::{self, NodeGroup};
use magnum_common::db::models::pending_operation::PendingOperation;
use magnum_common::db::{DbError, JsonList, JsonMap};
use magnum_common::status::ClusterStatus;
use serde_json::{Value, json};

use super::validate::{parse_taints, validate_counts, validate_node_attrs};
use super::view::NodeGroupView;
use super::{NODEGROUP_FIELDS, NODEGROUPS, cluster_for, cluster_status_check};
use crate::body;
use crate::conductor::rpc_context;
use crate::context::Ctx;
use crate::controllers::cluster::{operation_context, request_id};
use crate::error::{ApiError, ApiResult};
use crate::links::host_url;
use crate::query::Query;
use crate::state::AppState;
use crate::version::ApiVersion;

/// `POST …/nodegroups` → 202 with the node group (CREATE_IN_PROGRESS).
pub async fn create(
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
    ctx: Ctx,
    version: ApiVersion,
    cluster_ident: String,
) -> ApiResult<HttpResponse> {
    version.require(NODEGROUPS, "nodegroups")?;
    Query::parse(&req, &[])?;
    let raw = body::json(payload, &req, state.body_limit(), "nodegroup").await?;
    let given = body::validate("nodegroup", NODEGROUP_FIELDS, &raw)?;
    state.authorize(&ctx, "nodegroup:create", &ctx.own_target())?;
    let c = cluster_for(&state, &ctx, cluster_ident, None).await?;
    if c.api_address.is_none() {
        return Err(ApiError::Conflict(
            "Cluster API address is not available yet".to_owned(),
        ));
    }
    let name = given
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut ng = NodeGroup::new(
        c.uuid,
        c.project_id.clone(),
        name.clone(),
        given
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or("worker"),
    );
    let int = |k: &str| {
        given
            .get(k)
            .and_then(Value::as_i64)
            .and_then(|n| i32::try_from(n).ok())
    };
    ng.node_count = int("node_count").unwrap_or(1);
    ng.min_node_count = int("min_node_count").unwrap_or(0);
    ng.max_node_count = int("max_node_count");
    ng.docker_volume_size = int("docker_volume_size").or(c.docker_volume_size);
    ng.flavor_id = given
        .get("flavor_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| c.flavor_id.clone());
    let own_labels: Option<BTreeMap<String, String>> = given
        .get("labels")
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    ng.labels = JsonMap(match own_labels {
        None => c.labels.0.clone(),
        Some(own)
            if given
                .get("merge_labels")
                .and_then(Value::as_bool)
                .unwrap_or(false) =>
        {
            let mut merged = c.labels.0.clone();
            merged.extend(own);
            merged
        }
        Some(own) => own,
    });
    ng.node_labels = given
        .get("node_labels")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    ng.node_taints = JsonList(match given.get("node_taints") {
        Some(v) => parse_taints(&name, v)?,
        None => Vec::new(),
    });
    let (uuid, ct) = (c.uuid, c.cluster_template_id);
    let exists = {
        let name = name.clone();
        state
            .db(move |conn| {
                Ok(!matches!(
                    nodegroup::get_by_name(conn, uuid, &name)?,
                    magnum_common::db::models::ByName::None
                ))
            })
            .await?
    };
    if exists {
        return Err(ApiError::Conflict(format!(
            "A node group with name {name} already exists in the cluster {}.",
            c.name.clone().unwrap_or_else(|| uuid.to_string())
        )));
    }
    validate_counts(&ng)?;
    validate_node_attrs(&ng)?;
    if ng.is_master() {
        return Err(ApiError::BadRequest(
            "Creating master nodegroups is currently not supported.".to_owned(),
        ));
    }
    cluster_status_check(&c, "Creating")?;
    if given.get("image_id").is_none() {
        ng.image_id = state
            .db(move |conn| {
                Ok(cluster_template::get_by_uuid(conn, &Visibility::All, ct)?
                    .and_then(|t| t.image_id))
            })
            .await?;
    } else {
        ng.image_id = given
            .get("image_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
    }
    let context = operation_context(&ctx, &request_id(&req));
    let cluster_labels = c.labels.0.clone();
    let mut updated = c.clone();
    updated.status = ClusterStatus::UpdateInProgress;
    updated.status_reason = None;
    let op = PendingOperation::new(
        uuid,
        Some(ng.uuid),
        "nodegroup_create",
        json!({"nodegroup": ng.uuid}),
        context,
    )
    .with_token(ctx.token.as_deref().map(str::to_owned));
    let cluster_name = c.name.clone().unwrap_or_else(|| uuid.to_string());
    let saved = state
        .db(
            move |conn| match nodegroup::create_with_operation(conn, ng, Some(updated), op) {
                Err(DbError::Duplicate(_)) => Err(ApiError::Conflict(format!(
                    "A node group with name {name} already exists in the cluster {cluster_name}."
                ))),
                other => Ok(other?),
            },
        )
        .await?;
    state
        .conductor
        .cast(
            rpc_context(&ctx, &request_id(&req)),
            "nodegroup_create",
            json!({"cluster": uuid}),
        )
        .await;
    Ok(HttpResponse::Accepted().json(NodeGroupView::new(saved, &cluster_labels, &host_url(&req))))
}
