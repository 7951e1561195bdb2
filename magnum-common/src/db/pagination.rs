//! Sorting and marker pagination shared by every collection.
//!
//! The sort key is one of a table's whitelisted columns; ordering and the
//! "rows after the marker" filter are SQL fragments with bound values, so one
//! implementation serves every table and backend. NULLs sort first (ascending)
//! on every backend, and the integer `id` always breaks ties, in the same
//! direction, as upstream's `paginate_query` does.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::expression::BoxableExpression;
use diesel::sql_types::{Bool, Integer, Text, Timestamp};

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDir {
    /// Ascending (the default).
    #[default]
    Asc,
    /// Descending.
    Desc,
}

impl SortDir {
    /// `asc` or `desc`.
    pub fn as_str(self) -> &'static str {
        match self {
            SortDir::Asc => "asc",
            SortDir::Desc => "desc",
        }
    }
}

/// The value of the marker row in the sort column.
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    /// An integer column.
    Int(Option<i32>),
    /// A text column.
    Text(Option<String>),
    /// A boolean column.
    Bool(Option<bool>),
    /// A timestamp column.
    Time(Option<NaiveDateTime>),
}

impl SortValue {
    fn is_null(&self) -> bool {
        matches!(
            self,
            SortValue::Int(None)
                | SortValue::Text(None)
                | SortValue::Bool(None)
                | SortValue::Time(None)
        )
    }
}

/// Conversion of a field into a [`SortValue`].
pub trait ToSortValue {
    /// The field as a sort value.
    fn to_sort_value(&self) -> SortValue;
}

impl ToSortValue for i32 {
    fn to_sort_value(&self) -> SortValue {
        SortValue::Int(Some(*self))
    }
}
impl ToSortValue for Option<i32> {
    fn to_sort_value(&self) -> SortValue {
        SortValue::Int(*self)
    }
}
impl ToSortValue for String {
    fn to_sort_value(&self) -> SortValue {
        SortValue::Text(Some(self.clone()))
    }
}
impl ToSortValue for Option<String> {
    fn to_sort_value(&self) -> SortValue {
        SortValue::Text(self.clone())
    }
}
impl ToSortValue for bool {
    fn to_sort_value(&self) -> SortValue {
        SortValue::Bool(Some(*self))
    }
}
impl ToSortValue for NaiveDateTime {
    fn to_sort_value(&self) -> SortValue {
        SortValue::Time(Some(*self))
    }
}
impl ToSortValue for Option<NaiveDateTime> {
    fn to_sort_value(&self) -> SortValue {
        SortValue::Time(*self)
    }
}

macro_rules! display_sort_value {
    ($($t:ty),*) => {$(
        impl ToSortValue for $t {
            fn to_sort_value(&self) -> SortValue {
                SortValue::Text(Some(self.to_string()))
            }
        }
    )*};
}
display_sort_value!(
    crate::ids::ClusterUuid,
    crate::ids::ClusterTemplateUuid,
    crate::ids::NodeGroupUuid,
    crate::ids::FederationUuid,
    crate::ids::ProjectId,
    crate::ids::UserId,
    crate::status::ClusterStatus,
    crate::status::FederationStatus,
    crate::status::Coe,
    crate::status::ServerType
);

/// A row type whose listing can be sorted and paged.
pub trait Sortable {
    /// Columns a client may sort on (never secrets).
    const SORT_KEYS: &'static [&'static str];
    /// The row's integer id (the tie-breaker).
    fn row_id(&self) -> i32;
    /// The row's value in `key`, for a marker; `None` if `key` is not sortable.
    fn sort_value(&self, key: &str) -> Option<SortValue>;

    /// The whitelisted spelling of `key`, if it is sortable.
    fn sort_key(key: &str) -> Option<&'static str> {
        Self::SORT_KEYS.iter().copied().find(|k| *k == key)
    }
}

/// Declares which fields of a row type are sortable.
#[macro_export]
macro_rules! sortable {
    ($row:ty { $($field:ident),+ $(,)? }) => {
        impl $crate::db::pagination::Sortable for $row {
            const SORT_KEYS: &'static [&'static str] = &[$(stringify!($field)),+];
            fn row_id(&self) -> i32 {
                self.id
            }
            fn sort_value(&self, key: &str) -> Option<$crate::db::pagination::SortValue> {
                use $crate::db::pagination::ToSortValue;
                match key {
                    $(stringify!($field) => Some(self.$field.to_sort_value()),)+
                    _ => None,
                }
            }
        }
    };
}

/// Where a page starts: the marker row's id and sort value.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// The marker row's id.
    pub id: i32,
    /// Its value in the sort column.
    pub value: SortValue,
}

/// One page request: size, order and start.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Maximum rows.
    pub limit: i64,
    /// A whitelisted sort column.
    pub sort_key: &'static str,
    /// Direction.
    pub sort_dir: SortDir,
    /// Start after this row.
    pub marker: Option<Marker>,
}

impl Page {
    /// The first `limit` rows by id.
    pub fn first(limit: i64) -> Self {
        Page {
            limit,
            sort_key: "id",
            sort_dir: SortDir::Asc,
            marker: None,
        }
    }

    /// A page starting after `row`, ordered like `self`.
    pub fn after<R: Sortable>(mut self, row: &R) -> Self {
        self.marker = row.sort_value(self.sort_key).map(|value| Marker {
            id: row.row_id(),
            value,
        });
        self
    }

    /// True for the common first page in id order, which callers serve with a
    /// statically shaped (and so statement-cached) query.
    pub fn is_first_by_id(&self) -> bool {
        self.marker.is_none() && self.sort_key == "id"
    }

    /// The ORDER BY clause.
    pub fn order_sql(&self) -> String {
        let dir = if self.sort_dir == SortDir::Asc {
            "ASC"
        } else {
            "DESC"
        };
        if self.sort_key == "id" {
            format!("id {dir}")
        } else {
            let c = self.sort_key;
            format!("CASE WHEN {c} IS NULL THEN 0 ELSE 1 END {dir}, {c} {dir}, id {dir}")
        }
    }

    /// The filter selecting rows after the marker, if any.
    pub fn marker_filter<QS: 'static>(
        &self,
    ) -> Option<Box<dyn BoxableExpression<QS, super::connection::MultiBackend, SqlType = Bool>>>
    {
        let marker = self.marker.as_ref()?;
        let asc = self.sort_dir == SortDir::Asc;
        let (after, id_after) = if asc { (">", "id >") } else { ("<", "id <") };
        let c = self.sort_key;
        if c == "id" {
            return Some(Box::new(
                sql::<Bool>(&format!("({id_after} "))
                    .bind::<Integer, _>(marker.id)
                    .sql(")"),
            ));
        }
        if marker.value.is_null() {
            let tail = if asc {
                format!(" OR {c} IS NOT NULL)")
            } else {
                ")".to_owned()
            };
            return Some(Box::new(
                sql::<Bool>(&format!("(({c} IS NULL AND {id_after} "))
                    .bind::<Integer, _>(marker.id)
                    .sql(&format!("){tail}")),
            ));
        }
        let nulls_after = if asc {
            ")"
        } else {
            &format!(" OR {c} IS NULL)")
        };
        macro_rules! compare {
            ($st:ty, $v:expr) => {
                Box::new(
                    sql::<Bool>(&format!("({c} {after} "))
                        .bind::<$st, _>($v.clone())
                        .sql(&format!(" OR ({c} = "))
                        .bind::<$st, _>($v.clone())
                        .sql(&format!(" AND {id_after} "))
                        .bind::<Integer, _>(marker.id)
                        .sql(&format!("){nulls_after}")),
                )
            };
        }
        Some(match &marker.value {
            SortValue::Int(Some(v)) => compare!(Integer, v),
            SortValue::Text(Some(v)) => compare!(Text, v),
            SortValue::Bool(Some(v)) => compare!(Bool, v),
            SortValue::Time(Some(v)) => compare!(Timestamp, v),
            _ => return None,
        })
    }
}
