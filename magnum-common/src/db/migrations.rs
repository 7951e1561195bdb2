//! Embedded migrations, one directory per backend with identical names.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{AnyConnection, DbError};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const MYSQL: EmbeddedMigrations = embed_migrations!("migrations/mysql");

fn set(conn: &AnyConnection) -> EmbeddedMigrations {
    match conn {
        AnyConnection::Sqlite(_) => SQLITE,
        AnyConnection::Postgresql(_) => POSTGRES,
        AnyConnection::Mysql(_) => MYSQL,
    }
}

/// Applies pending migrations; returns the versions applied.
pub fn upgrade(conn: &mut AnyConnection) -> Result<Vec<String>, DbError> {
    let migrations = set(conn);
    let applied = conn
        .run_pending_migrations(migrations)
        .map_err(|e| DbError::Migration(e.to_string()))?;
    Ok(applied.into_iter().map(|v| v.to_string()).collect())
}

/// The newest applied migration, or `None` on an empty database.
pub fn version(conn: &mut AnyConnection) -> Result<Option<String>, DbError> {
    let applied = conn
        .applied_migrations()
        .map_err(|e| DbError::Migration(e.to_string()))?;
    Ok(applied.into_iter().map(|v| v.to_string()).max())
}

/// The newest migration this build knows.
pub fn latest_known() -> Option<String> {
    use diesel::migration::MigrationSource;
    let list: Vec<_> = MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE).ok()?;
    list.iter().map(|m| m.name().version().to_string()).max()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    fn names(dir: &str) -> BTreeSet<String> {
        let path = format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// The three dialect directories must hold the same migrations.
    #[test]
    fn dialects_line_up() {
        let sqlite = names("sqlite");
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, names("postgres"));
        assert_eq!(sqlite, names("mysql"));
    }
}
