//! The database, from async code: every query runs on tokio's blocking pool.

use magnum_common::db::{AnyConnection, Database, DbError};

/// The conductor's handle on the database.
#[derive(Debug, Clone)]
pub struct Db(pub Database);

impl Db {
    /// Runs `f` with a pooled connection off the async workers.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let db = self.0.clone();
        match tokio::task::spawn_blocking(move || {
            let mut conn = db.conn()?;
            f(&mut conn)
        })
        .await
        {
            Ok(r) => r,
            Err(e) => Err(E::from(DbError::Pool(format!("database task failed: {e}")))),
        }
    }
}
