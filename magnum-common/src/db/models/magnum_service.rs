//! `magnum_service`: one row per (host, binary), bumped by each service's heartbeat.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::magnum_service::{self, dsl};
use crate::db::{AnyConnection, DbError, write_transaction};

/// A service row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Identifiable)]
#[diesel(table_name = magnum_service, treat_none_as_null = true)]
pub struct MagnumService {
    #[diesel(skip_insertion)]
    pub id: i32,
    pub host: String,
    pub binary: String,
    pub disabled: bool,
    pub disabled_reason: Option<String>,
    pub last_seen_up: Option<NaiveDateTime>,
    pub forced_down: bool,
    pub report_count: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

impl MagnumService {
    /// Whether the service is up: not forced down and seen within `down_after` seconds.
    pub fn is_up(&self, now: NaiveDateTime, down_after: i64) -> bool {
        let last = self
            .last_seen_up
            .or(self.updated_at)
            .unwrap_or(self.created_at);
        !self.forced_down && (now - last).num_seconds().abs() <= down_after
    }
}

/// Every service row, by id.
pub fn list(conn: &mut AnyConnection) -> Result<Vec<MagnumService>, DbError> {
    Ok(dsl::magnum_service
        .order(dsl::id.asc())
        .select(MagnumService::as_select())
        .load(conn)?)
}

/// Records a heartbeat of (host, binary), creating the row on first report.
pub fn heartbeat(
    conn: &mut AnyConnection,
    host: &str,
    binary: &str,
) -> Result<MagnumService, DbError> {
    let now = crate::db::now();
    write_transaction(conn, |c| {
        let updated = diesel::update(
            dsl::magnum_service.filter(dsl::host.eq(host).and(dsl::binary.eq(binary))),
        )
        .set((
            dsl::report_count.eq(dsl::report_count + 1),
            dsl::last_seen_up.eq(Some(now)),
            dsl::updated_at.eq(Some(now)),
        ))
        .execute(c)?;
        if updated == 0 {
            let row = MagnumService {
                id: 0,
                host: host.to_owned(),
                binary: binary.to_owned(),
                disabled: false,
                disabled_reason: None,
                last_seen_up: Some(now),
                forced_down: false,
                report_count: 1,
                created_at: now,
                updated_at: None,
            };
            diesel::insert_into(dsl::magnum_service)
                .values(row)
                .execute(c)?;
        }
        Ok(dsl::magnum_service
            .filter(dsl::host.eq(host).and(dsl::binary.eq(binary)))
            .select(MagnumService::as_select())
            .first(c)?)
    })
}
