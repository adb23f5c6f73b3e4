//! The persistent state of certbound's authorization server: the client
//! registry, token revocations and the audit trail, behind one [`Store`] trait.
//!
//! Two backends implement it, chosen by the URL given to [`open`]:
//!
//! - **SQLite** (`sqlite://PATH`), the embedded default, for one server
//!   instance. The file is opened in WAL mode with `synchronous=FULL`, so a
//!   write that was answered survives a killed process.
//! - **PostgreSQL** (`postgres://...`), for several instances sharing one
//!   database behind a load balancer.
//!
//! Every write is one transaction, so nothing is half-written, and every
//! write to the registry or the revocations bumps a generation counter in the
//! same transaction. The server keeps the registry and revocations in memory
//! and reloads them when [`Store::subscribe`] announces a [`Change`]:
//!
//! - PostgreSQL: changes made through any instance arrive through
//!   `LISTEN`/`NOTIFY` within milliseconds. When the listening connection is
//!   lost the store reconnects with backoff and then sends [`Change::Resync`].
//! - SQLite: changes made through this store are announced after commit; those
//!   made through another store on the same file (a second `open` in this or
//!   another process) are found by polling the generation counters every
//!   [`SQLITE_POLL_INTERVAL`] while someone is subscribed, and announced by
//!   the first poll that finds them: a commit of this store claims its
//!   generation before it commits, so a poll never takes it for another's.
//!   Only one *server* should use a file; a second process may make
//!   occasional changes.
//!
//! Either way, a store announces its own commits in generation order, one
//! [`Change`] each, even when the tasks that committed them wake in another
//! order.
//!
//! [`Store::registry_generation`] is there for callers that prefer to poll.
//!
//! The schema is migrated at [`open`], with one migrations directory per
//! dialect (`migrations/sqlite`, `migrations/postgres`) holding the same
//! versions under the same names.

mod audit_sql;
mod error;
mod model;
mod notify;
mod postgres;
mod sqlite;

use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio::sync::broadcast;

pub use crate::error::StoreError;
pub use crate::model::{
    AssertionUse, AuditEvent, AuditFilter, AuditResult, Change, ClientRecord, DEFAULT_AUDIT_LIMIT,
    NewClient, truncate_to_micros,
};
pub use crate::postgres::{POSTGRES_MAX_CONNECTIONS, RECONNECT_BACKOFF_MAX};
pub use crate::sqlite::SQLITE_POLL_INTERVAL;

/// The server's persistent state. Held as `Arc<dyn Store>`; see [`open`].
///
/// Timestamps are returned in UTC with microsecond precision. Text that goes
/// into the registry or the revocations may not contain NUL characters
/// ([`StoreError::InvalidInput`]); client documents may contain anything JSON
/// can hold.
#[async_trait]
pub trait Store: Debug + Send + Sync {
    /// Where the store is, for logs: the URL with any password hidden.
    fn location(&self) -> &str;

    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Registers a client with version 1.
    /// [`StoreError::AlreadyExists`] when the id is taken.
    async fn create_client(
        &self,
        id: &str,
        name: &str,
        document: &serde_json::Value,
    ) -> Result<ClientRecord, StoreError>;

    /// Registers many clients with version 1, all or none, in one
    /// transaction of multi-row INSERTs: for a bulk import, where one
    /// [`Store::create_client`] per client would be one commit each. Bumps
    /// the registry generation once and announces [`Change::Clients`] (a
    /// full reload: many clients changed). Returns how many were created;
    /// an empty `clients` writes and announces nothing.
    /// [`StoreError::AlreadyExists`] when an id is taken, or given twice, in
    /// which case nothing is written.
    async fn create_clients(&self, clients: &[NewClient]) -> Result<u64, StoreError>;

    /// The client with this id, if registered.
    async fn get_client(&self, id: &str) -> Result<Option<ClientRecord>, StoreError>;

    /// All clients, or those whose name equals `name` ignoring case, ordered by
    /// name then id (bytewise, the same on both backends).
    async fn list_clients(&self, name: Option<&str>) -> Result<Vec<ClientRecord>, StoreError>;

    /// Replaces a client's name and document and bumps its version.
    /// [`StoreError::NotFound`] when the id is not registered;
    /// [`StoreError::VersionMismatch`] when `expected_version` is given and the
    /// stored version is another (someone changed it meanwhile), in which case
    /// nothing is written.
    async fn update_client(
        &self,
        id: &str,
        name: &str,
        document: &serde_json::Value,
        expected_version: Option<i64>,
    ) -> Result<ClientRecord, StoreError>;

    /// Removes a client; `false` when it was not registered.
    async fn delete_client(&self, id: &str) -> Result<bool, StoreError>;

    /// How many clients are registered.
    async fn count_clients(&self) -> Result<u64, StoreError>;

    /// A number that grows with every committed change to the registry.
    async fn registry_generation(&self) -> Result<i64, StoreError>;

    /// A number that grows with every newly recorded revocation.
    async fn revocation_generation(&self) -> Result<i64, StoreError>;

    /// Records that the token `jti` of `client_id` is revoked until
    /// `expires_at`. Idempotent: revoking a revoked token changes nothing and
    /// returns `false`; `true` when newly recorded.
    async fn revoke(
        &self,
        jti: &str,
        client_id: &str,
        expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Whether `jti` is recorded as revoked (expired entries count until they
    /// are purged, so the answer fails closed).
    async fn is_revoked(&self, jti: &str) -> Result<bool, StoreError>;

    /// The revocations that expire after `now`, as `(jti, expires_at)`,
    /// ordered by jti: what the server's in-memory set must hold.
    async fn active_revocations(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<(String, OffsetDateTime)>, StoreError>;

    /// Deletes revocations that expired at or before `now`; returns how many.
    /// Announces nothing: expired tokens are refused anyway.
    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError>;

    /// Records each client assertion `jti` of `client_id` as used until
    /// `expires_at`, all in one transaction (the server batches concurrent
    /// token requests into one): for each, `true` when it is new, `false`
    /// when it was used before (a replay, by an earlier call or earlier in
    /// `uses`). Entries that expired are deleted on the way.
    async fn use_assertions(&self, uses: &[AssertionUse]) -> Result<Vec<bool>, StoreError>;

    /// [`Store::use_assertions`] for one assertion.
    async fn use_assertion(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let one = AssertionUse {
            client_id: client_id.to_owned(),
            jti: jti.to_owned(),
            expires_at,
        };
        Ok(self
            .use_assertions(&[one])
            .await?
            .first()
            .copied()
            .unwrap_or(false))
    }

    /// Deletes audit events recorded before `before`; returns how many.
    async fn purge_audit(&self, before: OffsetDateTime) -> Result<u64, StoreError>;

    /// Appends audit events in one transaction: all are stored or none.
    async fn append_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError>;

    /// Audit events matching `filter`, newest first (events with the same
    /// timestamp: last appended first).
    async fn query_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError>;

    /// Remember that a server signs tokens with the key `kid` (idempotent).
    async fn record_signing_key(&self, kid: &str) -> Result<(), StoreError>;

    /// The kids of every signing key recorded, oldest first.
    async fn signing_keys(&self) -> Result<Vec<String>, StoreError>;

    /// Announcements of changes to the registry and revocations; see [`Change`].
    fn subscribe(&self) -> broadcast::Receiver<Change>;

    /// Stops background work and closes connections, waiting for queries in
    /// flight. Later calls fail.
    async fn close(&self);
}

/// What an URL names.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    SqliteFile(PathBuf),
    SqliteMemory,
    Postgres,
}

/// Opens the store at `url` and brings its schema up to date.
///
/// Accepted forms:
/// - `sqlite://PATH` or `sqlite:PATH` (`sqlite:///abs/path`, `sqlite://rel/path`):
///   the file is created if missing; its directory must exist.
/// - `sqlite::memory:`: a private in-memory database, gone when the store is
///   dropped (for tests and `serve --dev`).
/// - `postgres://USER:PASSWORD@HOST:PORT/DATABASE` or `postgresql://...`, with
///   the usual libpq parameters such as `?sslmode=require`.
///
/// Must be called inside a tokio runtime: the store runs a background task.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    let location = redact(url);
    Ok(match parse(url, &location)? {
        Target::SqliteFile(path) => Arc::new(sqlite::SqliteStore::open_file(path, location).await?),
        Target::SqliteMemory => Arc::new(sqlite::SqliteStore::open_memory(location).await?),
        Target::Postgres => Arc::new(postgres::PgStore::open(url, location).await?),
    })
}

fn parse(url: &str, location: &str) -> Result<Target, StoreError> {
    let invalid = |reason: &str| StoreError::InvalidUrl {
        url: location.to_owned(),
        reason: reason.to_owned(),
    };
    if let Some(rest) = url.strip_prefix("sqlite:") {
        if rest == ":memory:" || rest == "//:memory:" {
            return Ok(Target::SqliteMemory);
        }
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.is_empty() {
            return Err(invalid(
                "it names no file; write `sqlite://PATH`, e.g. `sqlite:///var/lib/certbound/store.db`",
            ));
        }
        if path.contains('?') || path.contains('#') {
            return Err(invalid(
                "query parameters are not supported (certbound sets the SQLite options itself); \
                 remove everything from `?`",
            ));
        }
        return Ok(Target::SqliteFile(PathBuf::from(path)));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres);
    }
    Err(StoreError::UnsupportedUrl {
        url: location.to_owned(),
    })
}

/// `url` with the password of its user-info, and any `password=` parameter,
/// replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => p.to_owned(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Result<Target, StoreError> {
        parse(url, &redact(url))
    }

    #[test]
    fn url_forms() {
        assert_eq!(
            target("sqlite:///var/lib/x.db").ok(),
            Some(Target::SqliteFile("/var/lib/x.db".into()))
        );
        assert_eq!(
            target("sqlite://data/x.db").ok(),
            Some(Target::SqliteFile("data/x.db".into()))
        );
        assert_eq!(
            target("sqlite:x.db").ok(),
            Some(Target::SqliteFile("x.db".into()))
        );
        assert_eq!(target("sqlite::memory:").ok(), Some(Target::SqliteMemory));
        assert_eq!(target("postgres://u:p@h/db").ok(), Some(Target::Postgres));
        assert_eq!(target("postgresql://h/db").ok(), Some(Target::Postgres));
        assert!(matches!(
            target("sqlite://"),
            Err(StoreError::InvalidUrl { .. })
        ));
        assert!(matches!(
            target("sqlite://x.db?mode=ro"),
            Err(StoreError::InvalidUrl { .. })
        ));
        match target("mysql://root:hunter2@h/db") {
            Err(e @ StoreError::UnsupportedUrl { .. }) => {
                let message = e.to_string();
                assert!(!message.contains("hunter2"), "{message}");
                assert!(message.contains("sqlite://PATH"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact("postgres://app:s3cr:et@db.example:5432/certbound?sslmode=require&password=x"),
            "postgres://app:***@db.example:5432/certbound?sslmode=require&password=***"
        );
        assert_eq!(redact("postgres://db/c"), "postgres://db/c");
        assert_eq!(redact("sqlite:///a/b.db"), "sqlite:///a/b.db");
    }
}

/// Split `items` into chunks whose lengths are powers of two (at most `max`,
/// itself a power of two): a multi-row INSERT then comes in at most
/// log2(max)+1 shapes, so each connection's statement cache holds a handful
/// of statements instead of one per batch size (each a compiled program that
/// grows with its rows: with one per size, the SQLite cache held ~70 MiB after
/// a few seconds at 30k tokens/s).
pub(crate) fn pow2_chunks<T>(items: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let len = 1usize << rest.len().min(max).ilog2();
        let (chunk, tail) = rest.split_at(len);
        rest = tail;
        Some(chunk)
    })
}

#[cfg(test)]
mod chunk_tests {
    #[test]
    fn chunks_are_powers_of_two_and_cover_everything() {
        let items: Vec<u32> = (0..1000).collect();
        let lens: Vec<usize> = super::pow2_chunks(&items, 256).map(<[u32]>::len).collect();
        assert_eq!(lens, [256, 256, 256, 128, 64, 32, 8]);
        assert_eq!(lens.iter().sum::<usize>(), 1000);
        assert_eq!(super::pow2_chunks::<u32>(&[], 256).count(), 0);
        assert_eq!(
            super::pow2_chunks(&[1], 256)
                .map(<[i32]>::len)
                .collect::<Vec<_>>(),
            [1]
        );
    }
}
