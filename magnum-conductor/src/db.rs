//! The database, from async code: SQLite queries run inline, the others on
//! tokio's blocking pool.

use magnum_common::db::{AnyConnection, Backend, Database, DbError};

/// The conductor's handle on the database.
#[derive(Debug, Clone)]
pub struct Db(pub Database);

impl Db {
    /// Runs `f` with a pooled connection. SQLite answers from a local file in
    /// microseconds (WAL, no fsync per commit), so its queries run inline on the
    /// async worker, as in the API: handing each to the blocking pool cost two
    /// thread switches, more than most queries (a cluster create makes a dozen).
    /// No transaction spans an `.await`, so inline writers never wait on each
    /// other for longer than one closure. Network databases use the blocking pool.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        if self.0.backend() == Backend::Sqlite {
            let mut conn = self.0.conn()?;
            // A panic stays an error, as it is from the blocking pool.
            return std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut conn)))
                .unwrap_or_else(|_| {
                    Err(E::from(DbError::Pool(
                        "database task failed: it panicked".to_owned(),
                    )))
                });
        }
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
