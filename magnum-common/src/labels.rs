//! Labels are string maps; see `db::Labels`.
