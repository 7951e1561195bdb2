//! One module per table: the row type and the queries on it.

pub mod changes;
pub mod cluster;
pub mod cluster_lease;
pub mod cluster_template;
pub mod federation;
pub mod magnum_service;
pub mod nodegroup;
pub mod pending_operation;
pub mod quota;
pub mod x509keypair;

use crate::ids::{ProjectId, UserId};

/// Which projects' rows a query may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every project (admins with the `*_all_projects` rules).
    All,
    /// One project.
    Project(ProjectId),
    /// A caller without a project (unscoped or domain-scoped token): their own rows.
    User(UserId),
}

impl Scope {
    /// The project to filter on, if any. A user scope filters on a project no row
    /// has, for tables without a user column.
    pub fn project(&self) -> Option<&str> {
        match self {
            Scope::All => None,
            Scope::Project(p) => Some(p.as_str()),
            Scope::User(_) => Some(""),
        }
    }
}

/// The result of looking a row up by name.
#[derive(Debug)]
pub enum ByName<T> {
    /// No row has that name.
    None,
    /// Exactly one.
    One(T),
    /// Several: the caller must use the uuid.
    Many,
}

impl<T> ByName<T> {
    pub(crate) fn from_rows(mut rows: Vec<T>) -> Self {
        match rows.len() {
            0 => ByName::None,
            1 => rows.pop().map_or(ByName::None, ByName::One),
            _ => ByName::Many,
        }
    }
}
