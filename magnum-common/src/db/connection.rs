//! One connection type over SQLite, MySQL/MariaDB and PostgreSQL, picked by URL scheme.

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};

use super::DbError;

/// A connection to whichever backend the URL named.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    /// PostgreSQL.
    Postgresql(diesel::PgConnection),
    /// MySQL or MariaDB.
    Mysql(diesel::MysqlConnection),
    /// SQLite (the embedded default).
    Sqlite(diesel::SqliteConnection),
}

/// The database backends Magnum runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file (or `:memory:`).
    Sqlite,
    /// MySQL or MariaDB.
    Mysql,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// The name used in messages and migration directories.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Mysql => "mysql",
            Backend::Postgres => "postgres",
        }
    }
}

/// A database URL understood: the backend and the URL its driver wants.
#[derive(Clone, PartialEq, Eq)]
pub struct DbUrl {
    /// The backend.
    pub backend: Backend,
    /// What to hand to the backend's driver.
    pub(crate) driver_url: String,
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DbUrl({}, {})",
            self.backend.name(),
            redact_password(&self.driver_url)
        )
    }
}

/// The URL with any password replaced by `***`, for logs and messages.
pub fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

impl DbUrl {
    /// Parses an oslo.db (SQLAlchemy) URL: `sqlite:////abs/path`, `sqlite:///rel/path`,
    /// `sqlite://` (memory),
    /// `mysql://` or `mysql+pymysql://`, `postgresql://`, `postgres://` or
    /// `postgresql+psycopg2://`. A bare path is a SQLite file.
    pub fn parse(url: &str) -> Result<DbUrl, DbError> {
        let bad = |why: &str| DbError::BadUrl(format!("{}: {why}", redact_password(url)));
        let Some((scheme, rest)) = url.split_once("://") else {
            if url.is_empty() {
                return Err(bad("empty database URL"));
            }
            return Ok(DbUrl {
                backend: Backend::Sqlite,
                driver_url: url.to_owned(),
            });
        };
        let base = scheme
            .split('+')
            .next()
            .unwrap_or(scheme)
            .to_ascii_lowercase();
        match base.as_str() {
            "sqlite" => {
                // As SQLAlchemy: the path follows the third slash, so sqlite:////abs/path is
                // absolute and sqlite:///rel/path relative.
                let path = match rest.strip_prefix('/').unwrap_or(rest) {
                    "" | ":memory:" => ":memory:".to_owned(),
                    other => other.to_owned(),
                };
                Ok(DbUrl {
                    backend: Backend::Sqlite,
                    driver_url: path,
                })
            }
            "mysql" | "mariadb" => {
                let mut u =
                    url::Url::parse(&format!("mysql://{rest}")).map_err(|e| bad(&e.to_string()))?;
                if u.host_str().is_none_or(str::is_empty) {
                    return Err(bad("no host"));
                }
                if u.path().trim_matches('/').is_empty() {
                    return Err(bad("no database name"));
                }
                // oslo URLs often carry ?charset=utf8; the driver rejects options it does not know.
                let keep: Vec<(String, String)> = u
                    .query_pairs()
                    .filter(|(k, _)| matches!(k.as_ref(), "ssl_mode" | "ssl_ca" | "unix_socket"))
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                u.set_query(None);
                if !keep.is_empty() {
                    u.query_pairs_mut().extend_pairs(keep);
                }
                Ok(DbUrl {
                    backend: Backend::Mysql,
                    driver_url: u.to_string(),
                })
            }
            "postgresql" | "postgres" => {
                let u = url::Url::parse(&format!("postgresql://{rest}"))
                    .map_err(|e| bad(&e.to_string()))?;
                Ok(DbUrl {
                    backend: Backend::Postgres,
                    driver_url: u.to_string(),
                })
            }
            other => Err(bad(&format!(
                "unsupported scheme {other:?} (use sqlite://, mysql:// or postgresql://)"
            ))),
        }
    }

    /// Opens one connection, with the backend's own error on failure.
    pub fn connect(&self) -> Result<AnyConnection, DbError> {
        let fail = |e: ConnectionError| DbError::Connect {
            backend: self.backend.name(),
            url: redact_password(&self.driver_url),
            message: e.to_string().trim().to_owned(),
        };
        let mut conn = match self.backend {
            Backend::Sqlite => AnyConnection::Sqlite(
                diesel::SqliteConnection::establish(&self.driver_url).map_err(fail)?,
            ),
            Backend::Mysql => AnyConnection::Mysql(
                diesel::MysqlConnection::establish(&self.driver_url).map_err(fail)?,
            ),
            Backend::Postgres => AnyConnection::Postgresql(
                diesel::PgConnection::establish(&self.driver_url).map_err(fail)?,
            ),
        };
        let setup = match self.backend {
            // WAL lets readers run beside the writer; writers wait rather than fail.
            Backend::Sqlite if self.driver_url != ":memory:" => {
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;"
            }
            Backend::Sqlite => "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
            Backend::Mysql => "SET SESSION sql_mode = 'TRADITIONAL'; SET time_zone = '+00:00';",
            Backend::Postgres => "SET TIME ZONE 'UTC';",
        };
        conn.batch_execute(setup).map_err(|e| DbError::Connect {
            backend: self.backend.name(),
            url: redact_password(&self.driver_url),
            message: e.to_string(),
        })?;
        Ok(conn)
    }
}

/// r2d2 manager that connects with the concrete backend, so connection errors are
/// the backend's own (the derive's `establish` hides them behind a generic message).
#[derive(Debug)]
pub struct Manager {
    url: DbUrl,
}

impl Manager {
    /// A manager for `url`.
    pub fn new(url: DbUrl) -> Self {
        Manager { url }
    }
}

impl ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = DbError;

    fn connect(&self) -> Result<AnyConnection, DbError> {
        self.url.connect()
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), DbError> {
        conn.batch_execute("SELECT 1").map_err(DbError::from)
    }

    fn has_broken(&self, _conn: &mut AnyConnection) -> bool {
        false
    }
}

/// A pool of connections to one database.
pub type Pool = r2d2::Pool<Manager>;
/// A connection checked out of the pool.
pub type PooledConnection = r2d2::PooledConnection<Manager>;

/// Builds a pool of `size` connections; fails at once, with the backend's message, if
/// the database cannot be reached.
pub fn build_pool(url: &DbUrl, size: u32, timeout: Duration) -> Result<Pool, DbError> {
    // Test one connection first so the caller sees the real cause, not a pool timeout.
    drop(url.connect()?);
    let size = if url.backend == Backend::Sqlite && url.driver_url == ":memory:" {
        1
    } else {
        size.max(1)
    };
    r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .connection_timeout(timeout)
        .test_on_check_out(false)
        .build(Manager::new(url.clone()))
        .map_err(|e| DbError::Pool(e.to_string()))
}

/// Runs `f` in a transaction that may write. On SQLite the write lock is taken at
/// the start (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead
/// of one failing when it upgrades a read lock.
pub fn write_transaction<T, E>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let AnyConnection::Sqlite(inner) = conn else {
        return conn.transaction(f);
    };
    // Nested: the outer transaction already holds the write lock; use a savepoint.
    if AnsiTransactionManager::transaction_manager_status_mut(inner)
        .transaction_depth()?
        .is_some()
    {
        return conn.transaction(f);
    }
    AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
    match f(conn) {
        Ok(value) => {
            <AnyConnection as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            let _ = <AnyConnection as Connection>::TransactionManager::rollback_transaction(conn);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_schemes() {
        let u = DbUrl::parse("sqlite:////var/lib/magnum/magnum.sqlite").unwrap();
        assert_eq!(
            (u.backend, u.driver_url.as_str()),
            (Backend::Sqlite, "/var/lib/magnum/magnum.sqlite")
        );
        assert_eq!(
            DbUrl::parse("sqlite:///rel/x.db").unwrap().driver_url,
            "rel/x.db"
        );
        assert_eq!(DbUrl::parse("sqlite://").unwrap().driver_url, ":memory:");
        assert_eq!(DbUrl::parse("/tmp/x.db").unwrap().backend, Backend::Sqlite);
        let u =
            DbUrl::parse("mysql+pymysql://magnum:pw@127.0.0.1:3306/magnum?charset=utf8").unwrap();
        assert_eq!(
            (u.backend, u.driver_url.as_str()),
            (Backend::Mysql, "mysql://magnum:pw@127.0.0.1:3306/magnum")
        );
        let u = DbUrl::parse("postgresql+psycopg2://p@127.0.0.1/magnum").unwrap();
        assert_eq!(u.backend, Backend::Postgres);
        assert!(format!("{:?}", DbUrl::parse("mysql://u:secret@h/db").unwrap()).contains("***"));
        for bad in ["", "oracle://x/y", "mysql://host-only", "mysql:///db"] {
            let err = DbUrl::parse(bad).unwrap_err().to_string();
            assert!(!err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn unreachable_server_is_named() {
        let url = DbUrl::parse("postgresql://nobody:secret@127.0.0.1:1/magnum").unwrap();
        let err = build_pool(&url, 1, Duration::from_secs(1))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("postgres") && err.contains("127.0.0.1:1"),
            "{err}"
        );
        assert!(!err.contains("secret"), "{err}");
    }
}
