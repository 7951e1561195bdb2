//! `/v1/certificates`: the cluster CA, CSR signing and CA rotation. All three are
//! synchronous conductor calls; the API checks input and policy first.

use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use magnum_common::db::models::cluster_template::{self, Visibility};
use serde_json::{Value, json};

use super::cluster::cluster_target;
use super::lookup;
use crate::body::{self, Field, Kind};
use crate::conductor::rpc_context;
use crate::context::Ctx;
use crate::controllers::cluster::request_id;
use crate::error::{ApiError, ApiResult};
use crate::links::{self, host_url};
use crate::query::Query;
use crate::state::AppState;

/// Certificate signing request attributes.
pub const CERTIFICATE_FIELDS: &[Field] = &[
    Field::opt("cluster_uuid", Kind::Text, "The cluster, by uuid or name."),
    Field::opt("bay_uuid", Kind::Text, "Legacy spelling of cluster_uuid."),
    Field::opt(
        "csr",
        Kind::Str {
            min: 1,
            max: usize::MAX,
            pattern: None,
        },
        "PEM certificate signing request.",
    ),
    Field::opt(
        "ca_cert_type",
        Kind::Text,
        "kubernetes (default), etcd or front-proxy.",
    ),
    Field::opt("pem", Kind::Ignored, "Ignored."),
    Field::ro("links"),
];

/// `GET /v1/certificates/{cluster}[?ca_cert_type=]` → 200 with the CA PEM.
pub async fn show(
    req: HttpRequest,
    state: Data<AppState>,
    ctx: Ctx,
    ident: String,
) -> ApiResult<HttpResponse> {
    let q = Query::parse(&req, &["ca_cert_type"])?;
    let scope = ctx.scope(false);
    let c = state
        .db(move |conn| lookup::cluster(conn, &scope, &ident))
        .await?;
    state.authorize(&ctx, "certificate:get", &cluster_target(&c))?;
    let result = state
        .conductor
        .call(
            rpc_context(&ctx, &request_id(&req)),
            "get_ca_certificate",
            json!({"cluster": c.uuid, "ca_cert_type": q.get("ca_cert_type")}),
        )
        .await?;
    let pem = result.get("pem").cloned().unwrap_or(Value::Null);
    let uuid = c.uuid.to_string();
    Ok(HttpResponse::Ok().json(json!({
        "bay_uuid": uuid, "cluster_uuid": uuid, "pem": pem,
        "links": links::resource(&host_url(&req), "certificates", &uuid),
    })))
}

/// `POST /v1/certificates` → 201 with the signed certificate.
pub async fn create(
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
    ctx: Ctx,
) -> ApiResult<HttpResponse> {
    Query::parse(&req, &[])?;
    let raw = body::json(payload, &req, state.body_limit(), "certificate").await?;
    let given = body::validate("certificate", CERTIFICATE_FIELDS, &raw)?;
    let ident = given
        .get("cluster_uuid")
        .or_else(|| given.get("bay_uuid"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::BadRequest("Invalid input for field/attribute cluster_uuid. Value: 'None'. Mandatory field missing.".to_owned()))?;
    let csr = given
        .get("csr")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::BadRequest(
                "Invalid input for field/attribute csr. Value: 'None'. Mandatory field missing."
                    .to_owned(),
            )
        })?;
    if !csr.contains("-----BEGIN CERTIFICATE REQUEST-----")
        && !csr.contains("-----BEGIN NEW CERTIFICATE REQUEST-----")
    {
        return Err(ApiError::BadRequest(format!("Received invalid csr {csr}.")));
    }
    let scope = ctx.scope(false);
    let c = state
        .db(move |conn| match lookup::cluster(conn, &scope, &ident) {
            // An unknown cluster in the body is a bad request, as upstream.
            Err(ApiError::NotFound(m)) => Err(ApiError::BadRequest(m)),
            other => other,
        })
        .await?;
    state.authorize(&ctx, "certificate:create", &cluster_target(&c))?;
    let ca_cert_type = given.get("ca_cert_type").cloned();
    let result = state
        .conductor
        .call(
            rpc_context(&ctx, &request_id(&req)),
            "sign_certificate",
            json!({"cluster": c.uuid, "csr": csr, "ca_cert_type": ca_cert_type}),
        )
        .await?;
    let uuid = c.uuid.to_string();
    let mut body = json!({
        "bay_uuid": uuid, "cluster_uuid": uuid, "csr": csr, "pem": result.get("pem").cloned().unwrap_or(Value::Null),
        "links": links::resource(&host_url(&req), "certificates", &uuid),
    });
    if let Some(t) = ca_cert_type {
        body["ca_cert_type"] = t;
    }
    Ok(HttpResponse::Created().json(body))
}

/// `PATCH /v1/certificates/{cluster}` (no body) → 202: rotate the cluster's CA.
pub async fn rotate(
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
    ctx: Ctx,
    ident: String,
) -> ApiResult<HttpResponse> {
    Query::parse(&req, &[])?;
    body::empty(payload, &req, state.body_limit()).await?;
    let scope = ctx.scope(false);
    let (c, tls_disabled) = state
        .db(move |conn| {
            let c = lookup::cluster(conn, &scope, &ident)?;
            let t = cluster_template::get_by_uuid(conn, &Visibility::All, c.cluster_template_id)?;
            Ok((c, t.is_some_and(|t| t.tls_disabled)))
        })
        .await?;
    state.authorize(&ctx, "certificate:rotate_ca", &cluster_target(&c))?;
    if tls_disabled {
        return Err(ApiError::BadRequest(
            "Rotating the CA certificate on a non-TLS cluster is not supported".to_owned(),
        ));
    }
    state
        .conductor
        .call(
            rpc_context(&ctx, &request_id(&req)),
            "rotate_ca_certificate",
            json!({"cluster": c.uuid}),
        )
        .await?;
    Ok(HttpResponse::Accepted().json(json!({"uuid": c.uuid})))
}
