//! `x509keypair`: certificates stored in the database (`cert_manager_type = x509keypair`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::x509keypair::dsl;
use crate::db::{AnyConnection, DbError};
use crate::ids::{ProjectId, UserId};

/// A certificate and its (encrypted) key.
#[derive(Clone, PartialEq, Queryable, Selectable, Insertable, Identifiable)]
#[diesel(table_name = crate::db::schema::x509keypair, treat_none_as_null = true)]
pub struct X509KeyPair {
    #[diesel(skip_insertion)]
    pub id: i32,
    pub uuid: String,
    pub certificate: String,
    pub private_key: String,
    pub private_key_passphrase: Option<String>,
    pub intermediates: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub project_id: ProjectId,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub user_id: UserId,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

impl std::fmt::Debug for X509KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys and passphrases never reach logs.
        f.debug_struct("X509KeyPair")
            .field("uuid", &self.uuid)
            .field("project_id", &self.project_id)
            .finish_non_exhaustive()
    }
}

/// Stores a key pair.
pub fn create(conn: &mut AnyConnection, row: X509KeyPair) -> Result<(), DbError> {
    diesel::insert_into(dsl::x509keypair)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The key pair `uuid`.
pub fn get(conn: &mut AnyConnection, uuid: &str) -> Result<Option<X509KeyPair>, DbError> {
    Ok(dsl::x509keypair
        .filter(dsl::uuid.eq(uuid))
        .select(X509KeyPair::as_select())
        .first(conn)
        .optional()?)
}

/// Deletes the key pair `uuid`.
pub fn delete(conn: &mut AnyConnection, uuid: &str) -> Result<usize, DbError> {
    Ok(diesel::delete(dsl::x509keypair.filter(dsl::uuid.eq(uuid))).execute(conn)?)
}
