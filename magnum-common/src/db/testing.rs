//! A fresh, migrated database per test, on every backend the environment offers.
//!
//! SQLite (a temporary file) is always tested. `MAGNUM_TEST_DATABASE_URLS` adds
//! servers, space-separated, e.g. `mysql://root@127.0.0.1:3306
//! postgresql://postgres@127.0.0.1:5432`; each test then gets its own database
//! on each server, created on the fly and dropped afterwards. With
//! `MAGNUM_TEST_REQUIRE_BACKENDS=sqlite,mysql,postgres` a missing backend fails
//! the test instead of being skipped, so CI cannot silently test less.

use std::time::Duration;

use diesel::connection::SimpleConnection;

use super::{Backend, Database, DbUrl};

/// A database that lives as long as the test.
pub struct TestDatabase {
    /// The handle, migrated to the latest schema.
    pub db: Database,
    /// The URL it was opened with (for processes started by the test).
    pub url: String,
    cleanup: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// The backend name, for messages.
    pub fn name(&self) -> &'static str {
        self.db.backend().name()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.cleanup.take()
            && let Ok(url) = DbUrl::parse(&admin_url)
            && let Ok(mut conn) = url.connect()
        {
            let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"));
        }
    }
}

fn unique_name(test: &str) -> String {
    let clean: String = test
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(24)
        .collect::<String>()
        .to_ascii_lowercase();
    format!(
        "t_{clean}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// The servers named in `MAGNUM_TEST_DATABASE_URLS`.
pub fn server_urls() -> Vec<String> {
    std::env::var("MAGNUM_TEST_DATABASE_URLS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Where temporary directories go: `$TMPDIR`, or `/tmp` when it is unset or empty
/// (an empty one would put them in the working directory).
fn temp_root() -> std::path::PathBuf {
    std::env::var_os("TMPDIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| "/tmp".into(), Into::into)
}

/// A fresh SQLite database in a temporary directory.
pub fn sqlite(pool: u32) -> TestDatabase {
    let dir = tempfile::Builder::new()
        .prefix("magnum-test-")
        .tempdir_in(temp_root())
        .unwrap_or_else(|e| panic!("temp dir: {e}"));
    let url = format!("sqlite://{}/magnum.sqlite", dir.path().display());
    let db =
        Database::connect(&url, pool, Duration::from_secs(10)).unwrap_or_else(|e| panic!("{e}"));
    db.migrate().unwrap_or_else(|e| panic!("{e}"));
    TestDatabase {
        db,
        url,
        cleanup: None,
        _dir: Some(dir),
    }
}

fn on_server(server: &str, test: &str, pool: u32) -> TestDatabase {
    let parsed = DbUrl::parse(&format!("{}/x", server.trim_end_matches('/')))
        .unwrap_or_else(|e| panic!("{e}"));
    let admin_db = match parsed.backend {
        Backend::Mysql => "mysql",
        Backend::Postgres => "postgres",
        Backend::Sqlite => {
            panic!("MAGNUM_TEST_DATABASE_URLS names servers; SQLite is always tested")
        }
    };
    let base = server.trim_end_matches('/');
    let admin_url = format!("{base}/{admin_db}");
    let name = unique_name(test);
    let mut admin = DbUrl::parse(&admin_url)
        .and_then(|u| u.connect())
        .unwrap_or_else(|e| panic!("{e}"));
    let create = match parsed.backend {
        Backend::Mysql => format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"),
        _ => format!("CREATE DATABASE {name}"),
    };
    admin
        .batch_execute(&create)
        .unwrap_or_else(|e| panic!("{create}: {e}"));
    let url = format!("{base}/{name}");
    let db =
        Database::connect(&url, pool, Duration::from_secs(10)).unwrap_or_else(|e| panic!("{e}"));
    db.migrate().unwrap_or_else(|e| panic!("{e}"));
    TestDatabase {
        db,
        url,
        cleanup: Some((admin_url, name)),
        _dir: None,
    }
}

/// One fresh database per available backend: SQLite, then each configured server.
pub fn all_backends(test: &str) -> Vec<TestDatabase> {
    let mut dbs = vec![sqlite(4)];
    for server in server_urls() {
        dbs.push(on_server(&server, test, 4));
    }
    if let Ok(required) = std::env::var("MAGNUM_TEST_REQUIRE_BACKENDS") {
        for want in required.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            assert!(
                dbs.iter().any(|d| d.name() == want),
                "MAGNUM_TEST_REQUIRE_BACKENDS wants {want}, but MAGNUM_TEST_DATABASE_URLS does not name such a server"
            );
        }
    }
    dbs
}
