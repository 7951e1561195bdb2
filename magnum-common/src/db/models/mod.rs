//! One module per table: the row type and the queries on it.

pub mod cluster;
pub mod cluster_template;
pub mod federation;
pub mod magnum_service;
pub mod nodegroup;
pub mod pending_operation;
pub mod quota;
pub mod x509keypair;

use crate::ids::ProjectId;

/// Which projects' rows a query may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every project (admins with the `*_all_projects` rules).
    All,
    /// One project.
    Project(ProjectId),
}

impl Scope {
    /// The project to filter on, if any.
    pub fn project(&self) -> Option<&str> {
        match self {
            Scope::All => None,
            Scope::Project(p) => Some(p.as_str()),
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
