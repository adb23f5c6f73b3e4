//! The audit trail's SQL, written once for both dialects. They differ only
//! in how a time is stored (SQLite: microseconds since the epoch; PostgreSQL:
//! a `timestamptz`), which each store passes in as `time`.

use sqlx::{Database, Encode, QueryBuilder, Type};
use time::OffsetDateTime;

use crate::model::{self, clean, clean_opt};
use crate::{AuditEvent, AuditFilter};

/// The columns of an audit event, in the order rows are read and written.
pub(crate) const AUDIT_COLUMNS: &str =
    "at, kind, client_id, method, result, reason, thumbprint, subject, peer, listener, detail";

/// `INSERT` of `events`, one row each.
pub(crate) fn insert<'a, DB, T>(
    events: &'a [AuditEvent],
    time: fn(OffsetDateTime) -> T,
) -> QueryBuilder<'a, DB>
where
    DB: Database,
    T: 'a + Encode<'a, DB> + Type<DB>,
    String: Encode<'a, DB> + Type<DB>,
    Option<String>: Encode<'a, DB> + Type<DB>,
    &'a str: Encode<'a, DB> + Type<DB>,
{
    let mut insert = QueryBuilder::new(format!("INSERT INTO audit_events ({AUDIT_COLUMNS}) "));
    insert.push_values(events, |mut row, event| {
        row.push_bind(time(event.at))
            .push_bind(clean(&event.kind).into_owned())
            .push_bind(clean_opt(&event.client_id))
            .push_bind(clean_opt(&event.method))
            .push_bind(event.result.as_str())
            .push_bind(clean_opt(&event.reason))
            .push_bind(clean_opt(&event.thumbprint))
            .push_bind(clean_opt(&event.subject))
            .push_bind(clean_opt(&event.peer))
            .push_bind(clean_opt(&event.listener))
            .push_bind(clean_opt(&event.detail));
    });
    insert
}

/// `SELECT` of the events `filter` asks for, newest first.
pub(crate) fn select<'a, DB, T>(
    filter: &'a AuditFilter,
    time: fn(OffsetDateTime) -> T,
) -> QueryBuilder<'a, DB>
where
    DB: Database,
    T: 'a + Encode<'a, DB> + Type<DB>,
    String: Encode<'a, DB> + Type<DB>,
    &'a str: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    let mut query = QueryBuilder::new(format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE 1 = 1"
    ));
    if let Some(client_id) = &filter.client_id {
        query
            .push(" AND client_id = ")
            .push_bind(clean(client_id).into_owned());
    }
    if let Some(since) = filter.since {
        query.push(" AND at >= ").push_bind(time(since));
    }
    if let Some(result) = filter.result {
        query.push(" AND result = ").push_bind(result.as_str());
    }
    if let Some(kind) = &filter.kind {
        query
            .push(" AND kind = ")
            .push_bind(clean(kind).into_owned());
    }
    query
        .push(" ORDER BY at DESC, id DESC LIMIT ")
        .push_bind(model::audit_limit(filter));
    query
}
