//! The conductor's RPC methods (spec §3), as the API (ours or upstream's)
//! calls them.
//!
//! Casts about an operation the API recorded are nudges: the reconciler finds
//! the operation in the outbox. Calls that must answer (certificates, upgrade,
//! CA rotation, credential rotation) check what they must synchronously and
//! record an operation for the rest, in one transaction.

use std::sync::Arc;
use std::time::Duration;

use magnum_common::db::models::changes::{self, ClusterChange, NodeGroupChange};
use magnum_common::db::models::cluster_template::{self, Visibility};
use magnum_common::db::models::pending_operation::{self, PendingOperation};
use magnum_common::ids::{ClusterTemplateUuid, ClusterUuid, OperationUuid};
use magnum_common::rpc::{Handler, HandlerFuture, RemoteError};
use magnum_common::status::{ClusterOp, ClusterStatus};
use serde_json::{Value, json};

use crate::certs::CaKind;
use crate::error::OpError;
use crate::ops::render::{self, Loaded};
use crate::reconciler::Reconciler;
use crate::services::Services;

/// How long a synchronous call waits for its operation (bays at 1.1).
const CALL_WAIT: Duration = Duration::from_secs(50);

/// The RPC endpoint.
pub struct Endpoint {
    svc: Arc<Services>,
    reconciler: Arc<Reconciler>,
}

impl Endpoint {
    /// An endpoint over the services and the reconciler.
    pub fn new(svc: Arc<Services>, reconciler: Arc<Reconciler>) -> Arc<Self> {
        Arc::new(Endpoint { svc, reconciler })
    }
}

impl Handler for Endpoint {
    fn handle(&self, ctx: Value, method: String, args: Value) -> HandlerFuture {
        let (svc, rec) = (Arc::clone(&self.svc), Arc::clone(&self.reconciler));
        Box::pin(async move { dispatch(&svc, &rec, ctx, &method, args).await })
    }
}

fn bad(message: impl Into<String>) -> RemoteError {
    RemoteError::new("InvalidParameterValue", message)
}

fn from_op(e: OpError) -> RemoteError {
    match e {
        OpError::Permanent(m) => RemoteError::new("NotSupported", m),
        OpError::Transient(m) | OpError::Unauthorized(m) => {
            RemoteError::new("ServiceUnavailable", m)
        }
    }
}

fn cluster_arg(args: &Value) -> Result<ClusterUuid, RemoteError> {
    ["cluster", "uuid", "cluster_uuid"]
        .iter()
        .find_map(|k| args.get(k).and_then(Value::as_str))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("a cluster uuid is required"))
}

async fn load(svc: &Services, uuid: ClusterUuid) -> Result<Loaded, RemoteError> {
    render::load(svc, uuid)
        .await
        .map_err(from_op)?
        .ok_or_else(|| {
            RemoteError::new(
                "ClusterNotFound",
                format!("Cluster {uuid} could not be found."),
            )
        })
}

async fn dispatch(
    svc: &Services,
    rec: &Reconciler,
    ctx: Value,
    method: &str,
    args: Value,
) -> Result<Value, RemoteError> {
    match method {
        "ping_conductor" => Ok(Value::Bool(true)),
        "cluster_create" | "cluster_update" | "cluster_delete" | "cluster_resize"
        | "nodegroup_create" | "nodegroup_update" | "nodegroup_delete" => {
            let cluster = cluster_arg(&args)?;
            let op = args
                .get("operation")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<OperationUuid>().ok());
            match (
                op,
                args.get("wait").and_then(Value::as_bool).unwrap_or(false),
            ) {
                (Some(op), true) => match rec.wait_for(cluster, op, CALL_WAIT).await {
                    Some(Err(reason)) => Err(RemoteError::new("OperationFailed", reason)),
                    Some(Ok(())) => Ok(json!({"uuid": cluster, "done": true})),
                    None => Ok(json!({"uuid": cluster, "done": false})),
                },
                _ => {
                    rec.nudge(cluster);
                    Ok(Value::Null)
                }
            }
        }
        "get_ca_certificate" => {
            let l = load(svc, cluster_arg(&args)?).await?;
            let kind = CaKind::from_param(args.get("ca_cert_type").and_then(Value::as_str));
            let pem = svc
                .certs
                .ca_pem(&l.cluster, kind)
                .await
                .map_err(cert_error)?;
            Ok(json!({"cluster_uuid": l.cluster.uuid, "pem": pem}))
        }
        "sign_certificate" => {
            let l = load(svc, cluster_arg(&args)?).await?;
            let csr = args
                .get("csr")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("csr is required"))?;
            let kind = CaKind::from_param(args.get("ca_cert_type").and_then(Value::as_str));
            let pem = svc
                .certs
                .sign(&l.cluster, csr, kind)
                .await
                .map_err(cert_error)?;
            Ok(json!({"cluster_uuid": l.cluster.uuid, "csr": csr, "pem": pem}))
        }
        "cluster_upgrade" => upgrade(svc, rec, &ctx, &args).await,
        "rotate_ca_certificate" => rotate_ca(svc, rec, &ctx, &args).await,
        "credential_rotate" => {
            let l = load(svc, cluster_arg(&args)?).await?;
            if l.cluster.trustee_user_id.is_none() {
                return Err(RemoteError::new(
                    "NotSupported",
                    "The cluster has no credential to rotate yet.",
                ));
            }
            record(
                svc,
                rec,
                &l,
                None,
                "credential_rotate",
                json!({}),
                &ctx,
                ClusterOp::Update,
            )
            .await
        }
        "federation_create" | "federation_update" | "federation_delete" => {
            Err(RemoteError::with_module(
                "builtins",
                "NotImplementedError",
                "Federations are not implemented.",
            ))
        }
        other => Err(RemoteError::no_such_method(other)),
    }
}

fn cert_error(e: crate::certs::CertError) -> RemoteError {
    match e {
        crate::certs::CertError::Pki(crate::certs::PkiError::InvalidCsr(m)) => {
            RemoteError::new("InvalidCsr", format!("Received invalid csr {m}."))
        }
        crate::certs::CertError::NotFound(m) => RemoteError::new("CertificateNotFound", m),
        other => RemoteError::new("CertificateStorageException", other.to_string()),
    }
}

/// Records an operation that moves the cluster (and optionally a node group)
/// to UPDATE_IN_PROGRESS, if its status allows `what`, and queues it.
#[allow(clippy::too_many_arguments)]
async fn record(
    svc: &Services,
    rec: &Reconciler,
    l: &Loaded,
    nodegroup: Option<magnum_common::ids::NodeGroupUuid>,
    method: &str,
    args: Value,
    ctx: &Value,
    what: ClusterOp,
) -> Result<Value, RemoteError> {
    let uuid = l.cluster.uuid;
    let context = strip_token(ctx);
    let token = ctx
        .get("auth_token")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let op = PendingOperation::new(uuid, nodegroup, method, args, context).with_token(token);
    let read_status = l.cluster.status;
    let applied = svc
        .db
        .run(move |c| {
            magnum_common::db::write_transaction(c, |tx| {
                let Some(current) = magnum_common::db::models::cluster::get_by_uuid(
                    tx,
                    &magnum_common::db::models::Scope::All,
                    uuid,
                )?
                else {
                    return Ok(Err(format!("Cluster {uuid} could not be found.")));
                };
                if current.status != read_status || !current.status.allows(what) {
                    return Ok(Err(format!(
                        "Updating a cluster when status is \"{}\" is not supported",
                        current.status
                    )));
                }
                changes::update_cluster(
                    tx,
                    uuid,
                    ClusterChange::new()
                        .status(ClusterStatus::UpdateInProgress)
                        .status_reason(None),
                )?;
                if let Some(ng) = nodegroup {
                    changes::update_nodegroup(
                        tx,
                        ng,
                        NodeGroupChange::new().status(ClusterStatus::UpdateInProgress, None),
                    )?;
                }
                pending_operation::insert(tx, op)?;
                Ok::<_, OpError>(Ok(()))
            })
        })
        .await
        .map_err(from_op)?;
    applied.map_err(|m| RemoteError::new("NotSupported", m))?;
    rec.nudge(uuid);
    Ok(json!({"uuid": uuid}))
}

/// The request context without the token (it goes to its own column).
fn strip_token(ctx: &Value) -> Value {
    let mut c = ctx.clone();
    if let Some(m) = c.as_object_mut() {
        m.remove("auth_token");
    }
    c
}

async fn upgrade(
    svc: &Services,
    rec: &Reconciler,
    ctx: &Value,
    args: &Value,
) -> Result<Value, RemoteError> {
    let l = load(svc, cluster_arg(args)?).await?;
    let target: ClusterTemplateUuid = args
        .get("cluster_template")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("cluster_template is required"))?;
    let to = svc
        .db
        .run(move |c| cluster_template::get_by_uuid(c, &Visibility::All, target))
        .await
        .map_err(|e| from_op(e.into()))?
        .ok_or_else(|| {
            RemoteError::new(
                "ClusterTemplateNotFound",
                format!("ClusterTemplate {target} could not be found."),
            )
        })?;
    let ng = args
        .get("nodegroup")
        .and_then(Value::as_str)
        .and_then(|u| l.group(u))
        .cloned();
    let max_batch = args
        .get("max_batch_size")
        .and_then(Value::as_i64)
        .and_then(|n| i32::try_from(n).ok())
        .unwrap_or(1);
    let driver = crate::ops::driver_for(svc, &l.template).map_err(from_op)?;
    let inputs = render::bare_inputs(&l, ng.as_ref()).map_err(from_op)?;
    let parameters = driver
        .upgrade_parameters(&inputs, &to, max_batch)
        .map_err(|e| RemoteError::new("InvalidVersion", e.to_string()))?;
    let ng_uuid = ng.as_ref().map(|n| n.uuid);
    let op_args = json!({"cluster_template": target, "max_batch_size": max_batch, "nodegroup": ng_uuid,
                         "parameters": parameters, "labels": to.labels.0});
    record(
        svc,
        rec,
        &l,
        ng_uuid,
        "cluster_upgrade",
        op_args,
        ctx,
        ClusterOp::Upgrade,
    )
    .await
}

async fn rotate_ca(
    svc: &Services,
    rec: &Reconciler,
    ctx: &Value,
    args: &Value,
) -> Result<Value, RemoteError> {
    let l = load(svc, cluster_arg(args)?).await?;
    if l.template.tls_disabled {
        return Err(bad(
            "Rotating the CA certificate on a non-TLS cluster is not supported",
        ));
    }
    if l.template.cluster_distro.as_deref() != Some("fedora-coreos") {
        return Err(RemoteError::new(
            "NotSupported",
            "Rotating the CA certificate is not supported for this cluster's driver.",
        ));
    }
    if !l.cluster.status.allows(ClusterOp::RotateCa) {
        return Err(RemoteError::new(
            "NotSupported",
            format!(
                "Updating a cluster when status is \"{}\" is not supported",
                l.cluster.status
            ),
        ));
    }
    svc.certs.rotate(&l.cluster).await.map_err(cert_error)?;
    record(
        svc,
        rec,
        &l,
        None,
        "rotate_ca_certificate",
        json!({}),
        ctx,
        ClusterOp::RotateCa,
    )
    .await
}
