//! How an operation step failed: for good (the cluster shows why) or for now
//! (the operation is retried with backoff).

use magnum_common::db::DbError;
use magnum_common::openstack::cloud::CloudError;
use magnum_common::openstack::heat::HeatError;

use crate::certs::{CertError, StoreError};
use crate::drivers::DriverError;
use crate::trust::TrustError;

/// A failed step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpError {
    /// Retrying will not help; the message becomes the status_reason.
    #[error("{0}")]
    Permanent(String),
    /// A dependency failed; the operation is retried later.
    #[error("{0}")]
    Transient(String),
    /// A service refused our token (revoked, e.g. by a trustee password change in the same
    /// second it was issued): cached tokens are dropped and the operation is retried later.
    #[error("{0}")]
    Unauthorized(String),
}

impl OpError {
    /// True for a failure worth retrying.
    pub fn is_transient(&self) -> bool {
        matches!(self, OpError::Transient(_) | OpError::Unauthorized(_))
    }
}

impl From<DbError> for OpError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Corrupt(m) => OpError::Permanent(format!("corrupt database row: {m}")),
            other => OpError::Transient(other.to_string()),
        }
    }
}

impl From<magnum_common::db::diesel_error::Error> for OpError {
    fn from(e: magnum_common::db::diesel_error::Error) -> Self {
        OpError::from(DbError::from(e))
    }
}

impl From<HeatError> for OpError {
    fn from(e: HeatError) -> Self {
        match e {
            HeatError::Unauthorized => OpError::Unauthorized(e.to_string()),
            HeatError::Unavailable { .. } | HeatError::Conflict { .. } => {
                OpError::Transient(e.to_string())
            }
            HeatError::Unexpected { status, .. } if status >= 500 => {
                OpError::Transient(e.to_string())
            }
            HeatError::BadRequest(m) => OpError::Permanent(format!("Heat refused the stack: {m}")),
            other => OpError::Permanent(other.to_string()),
        }
    }
}

impl From<TrustError> for OpError {
    fn from(e: TrustError) -> Self {
        match e {
            TrustError::Unavailable(_) => OpError::Transient(e.to_string()),
            other => OpError::Permanent(other.to_string()),
        }
    }
}

impl From<CertError> for OpError {
    fn from(e: CertError) -> Self {
        match e {
            CertError::Store(StoreError::Db(db)) => OpError::from(db),
            other => OpError::Permanent(other.to_string()),
        }
    }
}

impl From<DriverError> for OpError {
    fn from(e: DriverError) -> Self {
        OpError::Permanent(e.to_string())
    }
}

impl From<CloudError> for OpError {
    fn from(e: CloudError) -> Self {
        match e {
            CloudError::Unavailable { .. } => OpError::Transient(e.to_string()),
            other => OpError::Permanent(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heat_failures_are_retried_or_final_by_kind() {
        let refused = OpError::from(HeatError::Unauthorized);
        assert!(matches!(refused, OpError::Unauthorized(_)) && refused.is_transient());
        let down = OpError::from(HeatError::Unexpected {
            status: 503,
            message: String::new(),
        });
        assert!(down.is_transient());
        let bad = OpError::from(HeatError::BadRequest("no such parameter".to_owned()));
        assert_eq!(
            bad,
            OpError::Permanent("Heat refused the stack: no such parameter".to_owned())
        );
    }
}
