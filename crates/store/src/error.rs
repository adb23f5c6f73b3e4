//! The store's error type, and the translation of sqlx errors into it.
//!
//! sqlx errors never leave this crate: they become a [`StoreError`] that says
//! what the store was doing, what the database answered (its message, not a
//! debug dump), and what the operator can do about it.

use std::path::PathBuf;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL names no backend the store knows.
    #[error(
        "unsupported store URL `{url}`: use `sqlite://PATH`, `sqlite:PATH` or `sqlite::memory:` \
         for an embedded database, or `postgres://USER:PASSWORD@HOST:PORT/DATABASE` \
         (also `postgresql://`) for PostgreSQL"
    )]
    UnsupportedUrl {
        /// The URL as given, password redacted.
        url: String,
    },

    /// The URL has a known scheme but cannot be used.
    #[error("invalid store URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given, password redacted.
        url: String,
        /// What is wrong with it and how to fix it.
        reason: String,
    },

    /// The directory that should hold a new SQLite file does not exist.
    #[error(
        "cannot create the SQLite database {}: the directory {} does not exist; \
         create it first or choose another path",
        path.display(),
        dir.display()
    )]
    MissingDirectory {
        /// The database file.
        path: PathBuf,
        /// Its parent directory.
        dir: PathBuf,
    },

    /// The database could not be opened or reached.
    #[error(
        "cannot open the store at {location}: {message}{}",
        connect_advice(location, message)
    )]
    Connect {
        /// Where the store is, password redacted.
        location: String,
        /// What the database or the network said.
        message: String,
    },

    /// The schema could not be brought up to date.
    #[error(
        "cannot update the schema of the store at {location}: {message}; if the database was \
         written by a newer certbound, upgrade certbound; if a migration file was edited, \
         restore it"
    )]
    Migrate {
        /// Where the store is, password redacted.
        location: String,
        /// What the migrator said.
        message: String,
    },

    /// A client with this id is already registered.
    #[error("client `{id}` already exists; update it instead, or register it under another id")]
    AlreadyExists {
        /// The client id.
        id: String,
    },

    /// No client with this id is registered.
    #[error("client `{id}` is not registered; list the clients to see the registered ids")]
    NotFound {
        /// The client id.
        id: String,
    },

    /// The client changed since the version the update was based on.
    #[error(
        "client `{id}` is at version {current}, not {expected}: someone changed it meanwhile; read it again and reapply the change"
    )]
    VersionMismatch {
        /// The client id.
        id: String,
        /// The version the update expected.
        expected: i64,
        /// The version stored.
        current: i64,
    },

    /// A value given to the store cannot be stored.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// Which value, e.g. "client id".
        field: &'static str,
        /// Why it was refused.
        reason: &'static str,
    },

    /// A row in the database does not decode; it was likely edited by hand.
    #[error(
        "the store holds an unreadable {what}: {message}; the database may have been edited by \
         hand or written by another program, repair or delete the row"
    )]
    Corrupt {
        /// What could not be read, e.g. "client document of `app-1`".
        what: String,
        /// Why.
        message: String,
    },

    /// The database refused or failed an operation.
    #[error("the store failed while {operation}: {message}")]
    Database {
        /// What the store was doing, e.g. "creating a client".
        operation: &'static str,
        /// What the database said, with advice when the cause is known.
        message: String,
    },
}

/// What to check when a store cannot be opened, by backend; nothing when the
/// message already says it.
fn connect_advice(location: &str, message: &str) -> &'static str {
    if !location.starts_with("sqlite") {
        "; check that the database is running and reachable and that the URL, user and \
         password are right"
    } else if message.contains("writable") {
        ""
    } else {
        "; check that the file and its directory exist and are writable by this user \
         (SQLite also writes the -wal and -shm files beside it)"
    }
}

impl StoreError {
    /// Why an update of client `id` changed no row: the client is gone, or
    /// (when the update named the version it expected) it is at `current`.
    pub(crate) fn not_updated(id: &str, expected: Option<i64>, current: Option<i64>) -> Self {
        match (current, expected) {
            (Some(current), Some(expected)) => Self::VersionMismatch {
                id: id.to_owned(),
                expected,
                current,
            },
            _ => Self::NotFound { id: id.to_owned() },
        }
    }

    /// Wraps a sqlx error met while doing `operation`.
    pub(crate) fn database(operation: &'static str, error: &sqlx::Error) -> Self {
        Self::Database {
            operation,
            message: describe(error),
        }
    }

    /// A closure for `map_err` that wraps a sqlx error met while doing `operation`.
    pub(crate) fn during(operation: &'static str) -> impl Fn(sqlx::Error) -> Self {
        move |error| Self::database(operation, &error)
    }

    /// Wraps a sqlx error met while decoding a row.
    pub(crate) fn corrupt(what: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            what: what.into(),
            message: message.to_string(),
        }
    }
}

/// A sqlx error in words for an operator: the database's own message when
/// there is one, advice for the common operational failures.
pub(crate) fn describe(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let advice = match code.as_str() {
                // SQLITE_BUSY, SQLITE_LOCKED and their extended codes.
                "5" | "6" | "261" | "517" => {
                    "; another process holds the database file locked, \
                     make sure only one certbound server uses it"
                }
                // SQLITE_FULL, SQLITE_IOERR; PostgreSQL disk_full.
                "13" | "10" | "53100" => "; check the free disk space and the file system",
                // SQLITE_READONLY.
                "8" => "; make the database file and its directory writable",
                // PostgreSQL insufficient_privilege.
                "42501" => "; grant the database user the needed privileges",
                // PostgreSQL too_many_connections.
                "53300" => "; raise max_connections or run fewer instances",
                _ => "",
            };
            if code.is_empty() {
                format!("{}{advice}", db.message())
            } else {
                format!("{} (code {code}){advice}", db.message())
            }
        }
        sqlx::Error::PoolTimedOut => "timed out waiting for a database connection; the database \
                                      is unreachable or every connection is busy"
            .to_owned(),
        sqlx::Error::PoolClosed => "the store has been closed".to_owned(),
        sqlx::Error::Io(io) => format!("input/output error: {io}"),
        sqlx::Error::Tls(tls) => format!("TLS error: {tls}"),
        sqlx::Error::Protocol(message) => format!("protocol error: {message}"),
        sqlx::Error::RowNotFound => "an expected row is missing".to_owned(),
        sqlx::Error::ColumnNotFound(column) => format!("column `{column}` is missing"),
        sqlx::Error::ColumnDecode { index, source } => {
            format!("column {index} does not decode: {source}")
        }
        sqlx::Error::Configuration(source) => format!("configuration error: {source}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_to_do() {
        let e = StoreError::NotFound { id: "app-1".into() };
        assert!(e.to_string().contains("`app-1` is not registered"));
        let e = StoreError::UnsupportedUrl {
            url: "mysql://x".into(),
        };
        assert!(e.to_string().contains("sqlite://PATH"), "{e}");
        assert!(e.to_string().contains("postgres://"), "{e}");
        // The advice fits the backend: a file for SQLite, a server for PostgreSQL.
        let e = StoreError::Connect {
            location: "sqlite://data/certbound.db".into(),
            message: "disk I/O error".into(),
        };
        assert!(e.to_string().contains("writable by this user"), "{e}");
        assert!(!e.to_string().contains("password"), "{e}");
        let e = StoreError::Connect {
            location: "postgres://certbound@db/certbound".into(),
            message: "connection refused".into(),
        };
        assert!(e.to_string().contains("user and password"), "{e}");
        let e = StoreError::database("listing clients", &sqlx::Error::PoolTimedOut);
        assert!(
            e.to_string()
                .starts_with("the store failed while listing clients: timed out")
        );
    }
}
