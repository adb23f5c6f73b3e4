//! The records the store keeps, and the rules both backends apply to them.
//!
//! Both backends share these types and helpers so that they behave the same:
//! timestamps are UTC with microsecond precision (PostgreSQL's resolution),
//! client names match case-insensitively through a Unicode lower-cased key, and
//! text that PostgreSQL cannot hold (NUL characters) is refused or replaced the
//! same way on SQLite.

use std::borrow::Cow;
use std::collections::HashSet;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, UtcOffset};

use crate::error::StoreError;

/// How many audit events [`AuditFilter::limit`] returns when it is `None`.
pub const DEFAULT_AUDIT_LIMIT: u32 = 1000;

/// A registered OAuth client.
///
/// The store does not interpret `document`: the server defines its shape (the
/// `ClientApplication` resource) and the store keeps it verbatim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientRecord {
    /// The client id (`client_id` in OAuth), unique.
    pub id: String,
    /// The display name, used to filter listings.
    pub name: String,
    /// The client's full JSON document.
    pub document: serde_json::Value,
    /// When the client was registered (UTC, microsecond precision).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the client was last changed (UTC, microsecond precision).
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// 1 when created, bumped by every update.
    pub version: i64,
}

/// A client to register with [`crate::Store::create_clients`], many at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct NewClient {
    /// The client id (`client_id` in OAuth), unique.
    pub id: String,
    /// The display name.
    pub name: String,
    /// The client's full JSON document, kept verbatim.
    pub document: serde_json::Value,
}

/// The outcome recorded in an [`AuditEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuditResult {
    /// The request was granted.
    #[serde(rename = "success")]
    Success,
    /// The request was refused or failed.
    #[serde(rename = "fail")]
    Failure,
}

impl AuditResult {
    /// The stored form: `"success"` or `"fail"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "fail",
        }
    }
}

impl FromStr for AuditResult {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "success" => Ok(Self::Success),
            "fail" => Ok(Self::Failure),
            other => Err(format!(
                "unknown audit result `{other}`, expected success or fail"
            )),
        }
    }
}

/// One use of a client assertion to record: its `jti` of `client_id`,
/// remembered until `expires_at` (see [`crate::Store::use_assertions`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionUse {
    pub client_id: String,
    pub jti: String,
    pub expires_at: OffsetDateTime,
}

/// One entry of the audit trail.
///
/// `at` is stored with microsecond precision. NUL characters in the text
/// fields (possible in a hostile certificate's subject) are stored as U+FFFD so
/// that an event is never lost for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What happened: `"token"`, `"introspect"`, `"revoke"`, `"admin"` or `"handshake"`.
    pub kind: String,
    /// The client concerned, when known.
    pub client_id: Option<String>,
    /// The authentication method, e.g. `"tls_client_auth"`.
    pub method: Option<String>,
    /// Granted or refused.
    pub result: AuditResult,
    /// Why it was refused, or other short reason.
    pub reason: Option<String>,
    /// SHA-256 thumbprint of the client's leaf certificate.
    pub thumbprint: Option<String>,
    /// Subject DN of the client's leaf certificate.
    pub subject: Option<String>,
    /// The peer's address.
    pub peer: Option<String>,
    /// The listener that took the request.
    pub listener: Option<String>,
    /// Free-form detail.
    pub detail: Option<String>,
}

impl AuditEvent {
    /// An event of `kind` with `result`, happening now, with no other field set.
    pub fn new(kind: impl Into<String>, result: AuditResult) -> Self {
        Self {
            at: OffsetDateTime::now_utc(),
            kind: kind.into(),
            client_id: None,
            method: None,
            result,
            reason: None,
            thumbprint: None,
            subject: None,
            peer: None,
            listener: None,
            detail: None,
        }
    }
}

/// Which audit events [`crate::Store::query_audit`] returns. The default
/// returns the newest [`DEFAULT_AUDIT_LIMIT`] events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only events about this client.
    pub client_id: Option<String>,
    /// Only events at or after this instant.
    pub since: Option<OffsetDateTime>,
    /// Only events with this result.
    pub result: Option<AuditResult>,
    /// Only events of this kind.
    pub kind: Option<String>,
    /// At most this many events; `None` means [`DEFAULT_AUDIT_LIMIT`].
    pub limit: Option<u32>,
}

/// A change to the shared state, announced to [`crate::Store::subscribe`]rs.
///
/// A subscriber that sees `Resync`, or whose receiver reports
/// `RecvError::Lagged`, may have missed changes and should reload everything.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Change {
    /// The client registry changed in ways not told: reload the clients.
    Clients,
    /// One client was created, changed or deleted, which brought the
    /// registry generation to `generation`: read that client again. A
    /// subscriber whose view is older than `generation - 1` missed a change
    /// and should reload the clients.
    Client {
        id: std::sync::Arc<str>,
        generation: i64,
    },
    /// A token was revoked: reload the revocations.
    Revocations,
    /// Changes may have been missed: reload everything.
    Resync,
}

/// `t` in UTC, cut to whole microseconds: exactly what the store gives back.
pub fn truncate_to_micros(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    // Cannot fail: the result is a valid nanosecond (below 10^9) of the same second.
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000)
        .unwrap_or(t)
}

/// Now, as the store records it.
pub(crate) fn now() -> OffsetDateTime {
    truncate_to_micros(OffsetDateTime::now_utc())
}

/// Microseconds since the Unix epoch, rounded down (SQLite's representation).
pub(crate) fn to_micros(t: OffsetDateTime) -> i64 {
    let micros = t.unix_timestamp_nanos().div_euclid(1000);
    // OffsetDateTime spans years ±9999, about ±3.2e17 µs: always fits.
    i64::try_from(micros).unwrap_or(if micros < 0 { i64::MIN } else { i64::MAX })
}

/// The instant `micros` microseconds after the Unix epoch, in UTC.
pub(crate) fn from_micros(micros: i64, what: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .map_err(|e| StoreError::corrupt(what, e))
}

/// The key under which names are matched: Unicode lower case.
pub(crate) fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// Refuses an identifier that is empty or holds a NUL character.
pub(crate) fn check_id(field: &'static str, value: &str) -> Result<(), StoreError> {
    if value.is_empty() {
        return Err(StoreError::InvalidInput {
            field,
            reason: "it is empty",
        });
    }
    check_text(field, value)
}

/// Refuses text holding a NUL character, which PostgreSQL cannot store.
pub(crate) fn check_text(field: &'static str, value: &str) -> Result<(), StoreError> {
    if value.contains('\0') {
        return Err(StoreError::InvalidInput {
            field,
            reason: "it contains a NUL character",
        });
    }
    Ok(())
}

/// A client document as stored: compact JSON text. JSON escapes NUL as
/// `\u0000`, so any document can be stored.
pub(crate) fn encode_document(document: &serde_json::Value) -> Result<String, StoreError> {
    serde_json::to_string(document).map_err(|_| StoreError::InvalidInput {
        field: "client document",
        reason: "it cannot be written as JSON",
    })
}

/// Each of `clients` beside its document as stored, once every client is
/// checked the way [`crate::Store::create_client`] checks one. An id given
/// twice is [`StoreError::AlreadyExists`], as the second insert would be.
pub(crate) fn new_client_rows(
    clients: &[NewClient],
) -> Result<Vec<(&NewClient, String)>, StoreError> {
    let mut seen = HashSet::with_capacity(clients.len());
    clients
        .iter()
        .map(|client| {
            check_id("client id", &client.id)?;
            check_text("client name", &client.name)?;
            if !seen.insert(client.id.as_str()) {
                return Err(StoreError::AlreadyExists {
                    id: client.id.clone(),
                });
            }
            Ok((client, encode_document(&client.document)?))
        })
        .collect()
}

/// Why a bulk insert of `chunk` (`INSERT … ON CONFLICT (id) DO NOTHING
/// RETURNING id`) inserted only `inserted`: the first id it skipped is taken.
pub(crate) fn taken(chunk: &[(&NewClient, String)], inserted: &[String]) -> StoreError {
    let inserted: HashSet<&str> = inserted.iter().map(String::as_str).collect();
    let id = chunk
        .iter()
        .map(|(client, _)| client.id.as_str())
        .find(|id| !inserted.contains(id))
        .unwrap_or_default();
    StoreError::AlreadyExists { id: id.to_owned() }
}

/// A client document read back.
pub(crate) fn decode_document(id: &str, text: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::corrupt(format!("client document of `{id}`"), e))
}

/// Audit text as stored: NUL replaced by U+FFFD.
pub(crate) fn clean(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// Optional audit text as stored.
pub(crate) fn clean_opt(text: &Option<String>) -> Option<String> {
    text.as_deref().map(|t| clean(t).into_owned())
}

/// The limit a filter asks for, as SQL wants it.
pub(crate) fn audit_limit(filter: &AuditFilter) -> i64 {
    i64::from(filter.limit.unwrap_or(DEFAULT_AUDIT_LIMIT))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn micros_round_trip_and_round_down() {
        let t = datetime!(2026-01-03 10:00:00.123456789 +02:00);
        let cut = truncate_to_micros(t);
        assert_eq!(cut, datetime!(2026-01-03 08:00:00.123456 UTC));
        assert_eq!(cut.offset(), UtcOffset::UTC);
        assert_eq!(from_micros(to_micros(t), "t").ok(), Some(cut));
        let before_epoch = datetime!(1969-12-31 23:59:59.9999995 UTC);
        assert_eq!(to_micros(before_epoch), -1);
        assert_eq!(
            truncate_to_micros(before_epoch),
            datetime!(1969-12-31 23:59:59.999999 UTC)
        );
    }

    #[test]
    fn audit_result_has_two_stored_forms() {
        for r in [AuditResult::Success, AuditResult::Failure] {
            assert_eq!(r.as_str().parse::<AuditResult>(), Ok(r));
            assert_eq!(
                serde_json::to_value(r).ok(),
                Some(serde_json::Value::from(r.as_str()))
            );
        }
        assert!("failure".parse::<AuditResult>().is_err());
    }

    #[test]
    fn text_rules() {
        assert!(check_id("client id", "").is_err());
        assert!(check_id("client id", "a\0b").is_err());
        assert!(check_id("client id", "app-1").is_ok());
        assert_eq!(clean("CN=a\0b"), "CN=a\u{FFFD}b");
        assert_eq!(name_key("ÄPP Straße"), "äpp straße");
    }
}
