//! Authentication of every route but `/`, `/v1` and `/healthcheck`.
//!
//! Identity headers a client sends (`X-User-Id`, `X-Roles`, …) are removed before
//! anything else looks at the request; identity comes only from the validated
//! token (or, in noauth mode, deliberately from those headers).

use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{Error, HttpMessage, ResponseError};
use magnum_common::openstack::catalog::Catalog;

use crate::auth::Authenticator;
use crate::context::RequestContext;
use crate::error::ApiError;
use crate::state::AppState;

/// Routes anyone may call.
pub fn is_public(path: &str) -> bool {
    matches!(path, "/" | "/v1" | "/healthcheck")
}

/// Identity headers keystonemiddleware sets and therefore strips from clients.
const IDENTITY_HEADERS: &[&str] = &[
    "x-identity-status",
    "x-service-identity-status",
    "x-domain-id",
    "x-domain-name",
    "x-project-id",
    "x-project-name",
    "x-project-domain-id",
    "x-project-domain-name",
    "x-user-id",
    "x-user-name",
    "x-user-domain-id",
    "x-user-domain-name",
    "x-roles",
    "x-service-catalog",
    "x-is-admin-project",
    "openstack-system-scope",
    "x-service-domain-id",
    "x-service-domain-name",
    "x-service-project-id",
    "x-service-project-name",
    "x-service-project-domain-id",
    "x-service-project-domain-name",
    "x-service-user-id",
    "x-service-user-name",
    "x-service-user-domain-id",
    "x-service-user-domain-name",
    "x-service-roles",
    "x-user",
    "x-tenant-id",
    "x-tenant-name",
    "x-tenant",
    "x-role",
];

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The project a trustee acts for: its user name is `<cluster_uuid>_<project_id>`.
pub fn trustee_project(user_name: &str) -> Option<String> {
    user_name
        .split_once('_')
        .map(|(_, project)| project.to_owned())
        .filter(|p| !p.is_empty())
}

async fn authenticate(req: &ServiceRequest, state: &AppState) -> Result<RequestContext, ApiError> {
    let headers = req.headers();
    match state.auth.as_ref() {
        Authenticator::NoAuth => {
            let user_id = header(headers, "x-user-id")
                .unwrap_or("noauth-user")
                .to_owned();
            let project_id = header(headers, "x-project-id").map(str::to_owned);
            let roles: Vec<String> = header(headers, "x-roles")
                .map(|r| r.split(',').map(|s| s.trim().to_owned()).collect())
                .unwrap_or_default();
            let mut ctx = RequestContext {
                user_name: header(headers, "x-user-name")
                    .unwrap_or(&user_id)
                    .to_owned(),
                user_id,
                user_domain_id: header(headers, "x-user-domain-id")
                    .unwrap_or("default")
                    .to_owned(),
                project_name: project_id.clone(),
                project_id,
                project_domain_id: Some("default".to_owned()),
                roles,
                is_admin: false,
                is_trustee: false,
                token: header(headers, "x-auth-token").map(Arc::from),
                catalog: Arc::new(Catalog::default()),
            };
            ctx.is_admin = state.policy.is_admin(&ctx.credentials());
            Ok(ctx)
        }
        Authenticator::Keystone(ks) => {
            let token = header(headers, "x-auth-token")
                .or_else(|| header(headers, "x-storage-token"))
                .ok_or_else(|| ks.missing_token())?;
            if let Some(service_token) = header(headers, "x-service-token") {
                ks.validate_service_token(service_token).await?;
            }
            let info = ks.validate(token).await?;
            let is_trustee = state
                .trustee_domain_id
                .as_deref()
                .is_some_and(|d| d == info.user_domain_id);
            let project_id = match (&info.project_id, is_trustee) {
                (Some(p), _) => Some(p.clone()),
                (None, true) => trustee_project(&info.user_name),
                (None, false) => None,
            };
            let mut ctx = RequestContext {
                user_id: info.user_id.clone(),
                user_name: info.user_name.clone(),
                user_domain_id: info.user_domain_id.clone(),
                project_id,
                project_name: info.project_name.clone(),
                project_domain_id: info.project_domain_id.clone(),
                roles: info.roles.clone(),
                is_admin: false,
                is_trustee,
                token: Some(Arc::from(token)),
                catalog: Arc::new(info.catalog.clone()),
            };
            ctx.is_admin = state.policy.is_admin(&ctx.credentials());
            Ok(ctx)
        }
    }
}

/// Authenticates the request and stores its [`RequestContext`].
pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let noauth = req
        .app_data::<Data<AppState>>()
        .is_some_and(|s| matches!(s.auth.as_ref(), Authenticator::NoAuth));
    if !noauth {
        let headers = req.head_mut().headers_mut();
        for name in IDENTITY_HEADERS {
            headers.remove(*name);
        }
    }
    if is_public(req.path()) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let Some(state) = req.app_data::<Data<AppState>>().cloned() else {
        let e = ApiError::Internal("application state missing".to_owned());
        return Ok(req.into_response(e.error_response()).map_into_right_body());
    };
    match authenticate(&req, &state).await {
        Ok(ctx) => {
            tracing::debug!(user_id = %ctx.user_id, project_id = ctx.project_id.as_deref().unwrap_or(""), "authenticated");
            req.extensions_mut().insert(Arc::new(ctx));
            next.call(req)
                .await
                .map(ServiceResponse::map_into_left_body)
        }
        Err(e) => Ok(req.into_response(e.error_response()).map_into_right_body()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trustee_names() {
        assert_eq!(
            trustee_project("27e3153e-d5bf-4b7e-b517-fb518e17f34c_abc123").as_deref(),
            Some("abc123")
        );
        assert_eq!(trustee_project("a_b_c").as_deref(), Some("b_c"));
        assert_eq!(trustee_project("nounderscore"), None);
        assert!(is_public("/") && is_public("/v1") && !is_public("/v1/clusters"));
    }
}
