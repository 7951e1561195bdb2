//! The database: diesel over SQLite, MySQL/MariaDB and PostgreSQL in one build.
//!
//! Calls here are synchronous; async callers run them on a blocking thread
//! (`web::block` in the API, `spawn_blocking` in the conductor).

mod connection;
pub mod migrations;
pub mod models;
pub mod pagination;
pub mod schema;
#[cfg(feature = "testing")]
pub mod testing;
mod types;

use std::time::Duration;

pub use connection::{
    AnyConnection, Backend, DbUrl, Manager, MultiBackend, Pool, PooledConnection, build_pool,
    redact_password, write_transaction,
};
/// Diesel's error types, for callers whose error enums wrap them.
pub use diesel::result as diesel_error;
pub use pagination::{Page, SortDir};
pub use types::{JsonList, JsonMap, Labels, MaybeHealth, now};

/// A database failure, kept apart from "not found" (which callers turn into 404s).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL could not be understood.
    #[error("invalid [database] connection URL {0}")]
    BadUrl(String),
    /// The server could not be reached or refused us.
    #[error("cannot connect to the {backend} database at {url}: {message}")]
    Connect {
        /// Backend name.
        backend: &'static str,
        /// The URL, password redacted.
        url: String,
        /// The driver's message.
        message: String,
    },
    /// No connection became free in time.
    #[error("database connection pool: {0}")]
    Pool(String),
    /// A unique constraint was violated.
    #[error("duplicate entry: {0}")]
    Duplicate(String),
    /// Migrations failed.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// A stored value could not be decoded (a corrupted row).
    #[error("corrupt value in the database: {0}")]
    Corrupt(String),
    /// Any other query failure.
    #[error("database error: {0}")]
    Query(diesel::result::Error),
}

impl From<diesel::result::Error> for DbError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                DbError::Duplicate(info.message().to_owned())
            }
            Error::DeserializationError(e) => DbError::Corrupt(e.to_string()),
            other => DbError::Query(other),
        }
    }
}

impl From<diesel::r2d2::PoolError> for DbError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        DbError::Pool(e.to_string())
    }
}

impl DbError {
    /// True for failures a retry may cure (the server went away, the pool was busy).
    pub fn is_transient(&self) -> bool {
        use diesel::result::Error;
        match self {
            DbError::Connect { .. } | DbError::Pool(_) => true,
            DbError::Query(Error::DatabaseError(kind, info)) => {
                matches!(
                    kind,
                    diesel::result::DatabaseErrorKind::ClosedConnection
                        | diesel::result::DatabaseErrorKind::SerializationFailure
                ) || info.message().contains("database is locked")
                    || info.message().contains("server has gone away")
                    || info.message().contains("Lost connection")
            }
            _ => false,
        }
    }
}

/// A database handle: the pool and what it is connected to.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    backend: Backend,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Database({})", self.backend.name())
    }
}

impl Database {
    /// Connects to `url` with a pool of `pool_size` connections.
    pub fn connect(url: &str, pool_size: u32, timeout: Duration) -> Result<Database, DbError> {
        let url = DbUrl::parse(url)?;
        if url.backend == Backend::Sqlite
            && url.driver_url != ":memory:"
            && let Some(dir) = std::path::Path::new(&url.driver_url).parent()
            && !dir.as_os_str().is_empty()
            && !dir.exists()
        {
            std::fs::create_dir_all(dir).map_err(|e| DbError::Connect {
                backend: "sqlite",
                url: url.driver_url.clone(),
                message: format!("cannot create directory {}: {e}", dir.display()),
            })?;
        }
        let pool = build_pool(&url, pool_size, timeout)?;
        Ok(Database {
            pool,
            backend: url.backend,
        })
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks a connection out of the pool.
    pub fn conn(&self) -> Result<PooledConnection, DbError> {
        Ok(self.pool.get()?)
    }

    /// Brings the schema to the latest version.
    pub fn migrate(&self) -> Result<Vec<String>, DbError> {
        migrations::upgrade(&mut *self.conn()?)
    }
}
