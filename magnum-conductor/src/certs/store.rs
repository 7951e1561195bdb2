//! Where certificates live (`[certificates] cert_manager_type`): rows of the
//! `x509keypair` table, or files under `storage_path` (development only).
//! Barbican is not offered (see the README).

use std::path::PathBuf;

use magnum_common::db::models::x509keypair::{self, X509KeyPair};
use magnum_common::db::{AnyConnection, DbError};
use magnum_common::ids::{ProjectId, UserId};

use super::pki::CertAndKey;

/// A certificate store.
#[derive(Debug, Clone)]
pub enum Store {
    /// The `x509keypair` table.
    Database,
    /// `<dir>/<ref>.crt` and `<dir>/<ref>.key`.
    Local(PathBuf),
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Database failure.
    #[error(transparent)]
    Db(#[from] DbError),
    /// File failure.
    #[error("certificate store {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What happened.
        message: String,
    },
    /// The configured manager type is not one we have.
    #[error("[certificates] cert_manager_type {0:?} is not supported (x509keypair or local)")]
    Unsupported(String),
}

impl Store {
    /// The store `[certificates]` names.
    pub fn from_config(kind: &str, storage_path: &str) -> Result<Store, StoreError> {
        match kind {
            "x509keypair" => Ok(Store::Database),
            "local" => Ok(Store::Local(PathBuf::from(storage_path))),
            other => Err(StoreError::Unsupported(other.to_owned())),
        }
    }

    /// Stores `pair`; returns its reference. Runs inside the caller's transaction
    /// for the database store.
    pub fn put(
        &self,
        conn: &mut AnyConnection,
        pair: &CertAndKey,
        project: &ProjectId,
        user: &UserId,
    ) -> Result<String, StoreError> {
        let reference = uuid::Uuid::new_v4().to_string();
        match self {
            Store::Database => {
                x509keypair::create(
                    conn,
                    X509KeyPair {
                        id: 0,
                        uuid: reference.clone(),
                        certificate: pair.cert.clone(),
                        private_key: pair.key.clone(),
                        private_key_passphrase: None,
                        intermediates: None,
                        project_id: project.clone(),
                        user_id: user.clone(),
                        created_at: magnum_common::db::now(),
                        updated_at: None,
                    },
                )?;
            }
            Store::Local(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| io(dir, &e))?;
                write_private(&dir.join(format!("{reference}.crt")), &pair.cert)?;
                write_private(&dir.join(format!("{reference}.key")), &pair.key)?;
            }
        }
        Ok(reference)
    }

    /// The pair behind `reference`, if it exists.
    pub fn get(
        &self,
        conn: &mut AnyConnection,
        reference: &str,
    ) -> Result<Option<CertAndKey>, StoreError> {
        match self {
            Store::Database => Ok(x509keypair::get(conn, reference)?.map(|row| CertAndKey {
                cert: row.certificate,
                key: row.private_key,
            })),
            Store::Local(dir) => {
                let crt = dir.join(format!("{reference}.crt"));
                let cert = match std::fs::read_to_string(&crt) {
                    Ok(c) => c,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(io(&crt, &e)),
                };
                let key_path = dir.join(format!("{reference}.key"));
                let key = std::fs::read_to_string(&key_path).map_err(|e| io(&key_path, &e))?;
                Ok(Some(CertAndKey { cert, key }))
            }
        }
    }

    /// Deletes `reference` (absent is fine).
    pub fn delete(&self, conn: &mut AnyConnection, reference: &str) -> Result<(), StoreError> {
        match self {
            Store::Database => {
                x509keypair::delete(conn, reference)?;
            }
            Store::Local(dir) => {
                for ext in ["crt", "key"] {
                    let p = dir.join(format!("{reference}.{ext}"));
                    match std::fs::remove_file(&p) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(io(&p, &e)),
                    }
                }
            }
        }
        Ok(())
    }
}

fn io(path: &std::path::Path, e: &std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn write_private(path: &std::path::Path, text: &str) -> Result<(), StoreError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io(path, &e))?;
    f.write_all(text.as_bytes()).map_err(|e| io(path, &e))
}
