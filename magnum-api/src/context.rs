//! Who is calling: the identity the auth middleware established.

use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload};
use magnum_common::db::models::Scope;
use magnum_common::ids::{ProjectId, UserId};
use magnum_common::openstack::catalog::Catalog;
use magnum_common::policy::{Credentials, Target};

use crate::error::ApiError;

/// The authenticated caller of one request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// Keystone user id.
    pub user_id: String,
    /// User name.
    pub user_name: String,
    /// The user's domain id.
    pub user_domain_id: String,
    /// Project of a project-scoped token; for a trustee, the project its name encodes.
    pub project_id: Option<String>,
    /// Project name.
    pub project_name: Option<String>,
    /// The project's domain id.
    pub project_domain_id: Option<String>,
    /// Role names.
    pub roles: Vec<String>,
    /// `context_is_admin` passed.
    pub is_admin: bool,
    /// True when the caller is a cluster trustee (user in the trustee domain).
    pub is_trustee: bool,
    /// The user's token, for look-ups in other services on their behalf.
    pub token: Option<Arc<str>>,
    /// The token's service catalog.
    pub catalog: Arc<Catalog>,
}

impl RequestContext {
    /// The policy credentials. A trustee's project (derived from its user name) only
    /// scopes the rows it sees; rules see no project, so owner rules deny it, as in 2023.1.
    pub fn credentials(&self) -> Credentials {
        Credentials {
            user_id: self.user_id.clone(),
            project_id: if self.is_trustee {
                None
            } else {
                self.project_id.clone()
            },
            domain_id: Some(self.user_domain_id.clone()),
            user_domain_id: Some(self.user_domain_id.clone()),
            project_domain_id: self.project_domain_id.clone(),
            roles: self.roles.clone(),
            is_admin: self.is_admin,
        }
    }

    /// A policy target describing the caller itself (for actions without an object).
    pub fn own_target(&self) -> Target {
        let mut t = Target::default();
        if let Some(p) = &self.project_id {
            t.insert("project_id".to_owned(), p.clone());
        }
        t.insert("user_id".to_owned(), self.user_id.clone());
        t
    }

    /// The rows the caller may see: every project for admins who asked for it, else
    /// their project, else (no project in the token) their own rows.
    pub fn scope(&self, all_projects: bool) -> Scope {
        if all_projects {
            Scope::All
        } else if let Some(p) = &self.project_id {
            Scope::Project(ProjectId::from(p.as_str()))
        } else {
            Scope::User(UserId::from(self.user_id.as_str()))
        }
    }

    /// The caller's project, required to own anything.
    pub fn owner_project(&self) -> Result<ProjectId, ApiError> {
        self.project_id
            .as_deref()
            .map(ProjectId::from)
            .ok_or_else(|| {
                ApiError::Forbidden(
                    "A project-scoped token is required to create resources.".to_owned(),
                )
            })
    }
}

/// Extractor for the request context (set by the auth middleware).
#[derive(Debug, Clone)]
pub struct Ctx(pub Arc<RequestContext>);

impl std::ops::Deref for Ctx {
    type Target = RequestContext;
    fn deref(&self) -> &RequestContext {
        &self.0
    }
}

impl FromRequest for Ctx {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Arc<RequestContext>>()
                .cloned()
                .map(Ctx)
                .ok_or_else(|| {
                    ApiError::Internal(
                        "no request context: the auth middleware did not run".to_owned(),
                    )
                }),
        )
    }
}
