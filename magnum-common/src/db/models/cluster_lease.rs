//! `cluster_lease`: which conductor works on a cluster, until when.
//!
//! A conductor takes a cluster's lease before acting on it and gives it back when
//! done; while it works it renews it. A lease that expires (its conductor died)
//! is simply taken by the next conductor that wants the cluster, so work is
//! shared and never stuck. Each statement commits on its own: a lease is a
//! compare-and-set, not a transaction.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::cluster_lease::dsl;
use crate::db::{AnyConnection, DbError};
use crate::ids::ClusterUuid;

/// A lease row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::db::schema::cluster_lease)]
pub struct ClusterLease {
    /// The cluster.
    pub cluster_uuid: String,
    /// The conductor holding it (its RPC server id).
    pub owner: String,
    /// When it lapses unless renewed.
    pub expires_at: NaiveDateTime,
}

/// Takes (or renews) the lease on `cluster` for `owner` until `now + duration`.
/// False when another conductor holds a live lease on it.
pub fn acquire(
    conn: &mut AnyConnection,
    cluster: ClusterUuid,
    owner: &str,
    now: NaiveDateTime,
    duration: Duration,
) -> Result<bool, DbError> {
    acquire_key(conn, &cluster.to_string(), owner, now, duration)
}

/// Takes (or renews) a lease by its key: a cluster uuid, or the name of a
/// job only one conductor runs at a time (`sync`).
pub fn acquire_key(
    conn: &mut AnyConnection,
    key: &str,
    owner: &str,
    now: NaiveDateTime,
    duration: Duration,
) -> Result<bool, DbError> {
    let key = key.to_owned();
    let updated = diesel::update(
        dsl::cluster_lease
            .filter(dsl::cluster_uuid.eq(&key))
            .filter(dsl::owner.eq(owner).or(dsl::expires_at.lt(now))),
    )
    .set((dsl::owner.eq(owner), dsl::expires_at.eq(now + duration)))
    .execute(conn)?;
    if updated > 0 {
        return Ok(true);
    }
    let row = ClusterLease {
        cluster_uuid: key,
        owner: owner.to_owned(),
        expires_at: now + duration,
    };
    match diesel::insert_into(dsl::cluster_lease)
        .values(row)
        .execute(conn)
    {
        Ok(_) => Ok(true),
        Err(e) => match DbError::from(e) {
            // Someone else's live lease (or one taken a moment ago).
            DbError::Duplicate(_) => Ok(false),
            other => Err(other),
        },
    }
}

/// Takes the leases of as many of `clusters` as are free (or already ours);
/// returns those now held by `owner`.
pub fn acquire_many(
    conn: &mut AnyConnection,
    clusters: &[ClusterUuid],
    owner: &str,
    now: NaiveDateTime,
    duration: Duration,
) -> Result<Vec<ClusterUuid>, DbError> {
    let mut held = Vec::with_capacity(clusters.len());
    for chunk in clusters.chunks(500) {
        let keys: Vec<String> = chunk.iter().map(ToString::to_string).collect();
        let until = now + duration;
        diesel::update(
            dsl::cluster_lease
                .filter(dsl::cluster_uuid.eq_any(&keys))
                .filter(dsl::owner.eq(owner).or(dsl::expires_at.lt(now))),
        )
        .set((dsl::owner.eq(owner), dsl::expires_at.eq(until)))
        .execute(conn)?;
        let existing: Vec<(String, String)> = dsl::cluster_lease
            .filter(dsl::cluster_uuid.eq_any(&keys))
            .select((dsl::cluster_uuid, dsl::owner))
            .load(conn)?;
        let known: std::collections::HashSet<&str> =
            existing.iter().map(|(c, _)| c.as_str()).collect();
        for (cluster, key) in chunk.iter().zip(&keys) {
            if known.contains(key.as_str()) {
                continue;
            }
            if acquire(conn, *cluster, owner, now, duration)? {
                held.push(*cluster);
            }
        }
        held.extend(
            existing
                .iter()
                .filter(|(_, o)| o == owner)
                .filter_map(|(c, _)| c.parse::<ClusterUuid>().ok()),
        );
    }
    Ok(held)
}

/// Gives back `owner`'s lease on `cluster` (no-op if it lapsed and was taken).
pub fn release(conn: &mut AnyConnection, cluster: ClusterUuid, owner: &str) -> Result<(), DbError> {
    diesel::delete(
        dsl::cluster_lease
            .filter(dsl::cluster_uuid.eq(cluster.to_string()))
            .filter(dsl::owner.eq(owner)),
    )
    .execute(conn)?;
    Ok(())
}

/// Gives back `owner`'s leases on `clusters`.
pub fn release_many(
    conn: &mut AnyConnection,
    clusters: &[ClusterUuid],
    owner: &str,
) -> Result<(), DbError> {
    for chunk in clusters.chunks(500) {
        let keys: Vec<String> = chunk.iter().map(ToString::to_string).collect();
        diesel::delete(
            dsl::cluster_lease
                .filter(dsl::cluster_uuid.eq_any(keys))
                .filter(dsl::owner.eq(owner)),
        )
        .execute(conn)?;
    }
    Ok(())
}

/// The holder of `cluster`'s lease, if any and live at `now`.
pub fn holder(
    conn: &mut AnyConnection,
    cluster: ClusterUuid,
    now: NaiveDateTime,
) -> Result<Option<String>, DbError> {
    Ok(dsl::cluster_lease
        .filter(dsl::cluster_uuid.eq(cluster.to_string()))
        .filter(dsl::expires_at.ge(now))
        .select(dsl::owner)
        .first(conn)
        .optional()?)
}
