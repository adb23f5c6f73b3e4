//! The SQLite backend: the embedded default for a single server instance.
//!
//! The file is opened in WAL mode with `synchronous=FULL` (a committed write
//! survives a killed process or a power cut), a 5 s busy timeout and foreign
//! keys on. Write transactions start with `BEGIN IMMEDIATE`, so they take the
//! write lock up front and wait for it instead of failing half-way.
//!
//! A new file is created with mode 0600: client documents may hold secrets.
//!
//! Changes are announced to subscribers right after commit. Changes made
//! through another connection pool on the same file are found by polling the
//! generation counters (see [`SQLITE_POLL_INTERVAL`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use time::OffsetDateTime;
use tokio::sync::{broadcast, oneshot};

use crate::error::{StoreError, describe};
use crate::model::{
    self, AssertionUse, AuditEvent, AuditFilter, Change, ClientRecord, NewClient, check_id,
    check_text, decode_document, encode_document, from_micros, name_key, to_micros,
};
use crate::notify::{Claim, Counter, Notifier};
use crate::{Store, StoreError as E};

/// How often a subscribed SQLite store looks for changes made by other
/// connection pools on the same file; such a change is announced by the
/// first poll that reads it (see `Notifier::polled`).
pub const SQLITE_POLL_INTERVAL: Duration = Duration::from_millis(250);

/// How long a statement waits for another writer to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections per file pool: readers run in parallel in WAL mode; writers
/// take turns.
const MAX_CONNECTIONS: u32 = 4;

/// Most rows per INSERT when appending audit events (11 values each, well
/// under SQLite's limit on bound variables). A power of two: see `append_audit`.
const AUDIT_CHUNK: usize = 256;

/// Most rows per INSERT when creating clients in bulk (6 variables each,
/// 6144 in all, under SQLite's limit of 32766). A power of two: see
/// `pow2_chunks`.
const CLIENT_CHUNK: usize = 1024;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

const CLIENT_COLUMNS: &str = "id, name, document, created_at, updated_at, version";

/// A store in an SQLite file (or in memory).
#[derive(Debug)]
pub(crate) struct SqliteStore {
    pool: SqlitePool,
    notifier: Arc<Notifier>,
    location: String,
    /// Dropping the sender stops the poller.
    stop_poller: Mutex<Option<oneshot::Sender<()>>>,
}

impl SqliteStore {
    pub(crate) async fn open_file(path: PathBuf, location: String) -> Result<Self, StoreError> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(E::MissingDirectory { path, dir });
        }
        create_private(&path).map_err(|e| E::Connect {
            location: location.clone(),
            message: format!("cannot create {}: {e}", path.display()),
        })?;
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await
            .map_err(|e| connect_error(&location, &path, &e))?;
        Self::start(pool, location, true).await
    }

    pub(crate) async fn open_memory(location: String) -> Result<Self, StoreError> {
        // Each connection to ":memory:" is its own database, so the pool holds
        // exactly one connection, forever.
        let options = SqliteConnectOptions::new()
            .in_memory(true)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(|e| E::Connect {
                location: location.clone(),
                message: describe(&e),
            })?;
        Self::start(pool, location, false).await
    }

    async fn start(pool: SqlitePool, location: String, poll: bool) -> Result<Self, StoreError> {
        MIGRATOR.run(&pool).await.map_err(|e| E::Migrate {
            location: location.clone(),
            message: e.to_string(),
        })?;
        let (registry, revocations) = generations(&pool).await?;
        let notifier = Arc::new(Notifier::new(registry, revocations));
        let stop_poller = poll.then(|| {
            let (stop, stopped) = oneshot::channel();
            tokio::spawn(poll_generations(pool.clone(), notifier.clone(), stopped));
            stop
        });
        Ok(Self {
            pool,
            notifier,
            location,
            stop_poller: Mutex::new(stop_poller),
        })
    }

    async fn begin_write(
        &self,
        operation: &'static str,
    ) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(E::during(operation))
    }
}

/// Creates an empty database file readable by its owner only, unless the
/// file exists. SQLite gives its `-wal` and `-shm` files the same mode.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn connect_error(location: &str, path: &Path, error: &sqlx::Error) -> StoreError {
    E::Connect {
        location: location.to_owned(),
        message: format!("{} (file {})", describe(error), path.display()),
    }
}

async fn generations(pool: &SqlitePool) -> Result<(i64, i64), StoreError> {
    let row = sqlx::query("SELECT registry_generation, revocation_generation FROM meta")
        .fetch_one(pool)
        .await
        .map_err(E::during("reading the generation counters"))?;
    let read = |column| {
        row.try_get::<i64, _>(column)
            .map_err(|e| StoreError::corrupt("generation counter", describe(&e)))
    };
    Ok((read(0)?, read(1)?))
}

/// Announces changes committed through other pools on the same file.
async fn poll_generations(
    pool: SqlitePool,
    notifier: Arc<Notifier>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut ticks = tokio::time::interval(SQLITE_POLL_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = ticks.tick() => {}
        }
        if !notifier.has_subscribers() {
            continue;
        }
        match generations(&pool).await {
            Ok((registry, revocations)) => {
                if failing {
                    tracing::info!("reading the SQLite store's generation counters works again");
                    failing = false;
                    notifier.send(Change::Resync);
                }
                notifier.polled(registry, revocations);
            }
            Err(error) => {
                if !failing {
                    tracing::warn!(%error, "cannot poll the SQLite store for changes");
                }
                failing = true;
            }
        }
    }
}

/// Bumps a generation counter inside `tx`; the new value, claimed as this
/// process's until the transaction commits (or fails).
async fn bump(
    notifier: &Arc<Notifier>,
    tx: &mut Transaction<'static, Sqlite>,
    counter: Counter,
) -> Result<Claim, StoreError> {
    let sql = match counter {
        Counter::Revocations => {
            "UPDATE meta SET revocation_generation = revocation_generation + 1 \
             RETURNING revocation_generation"
        }
        Counter::Registry => {
            "UPDATE meta SET registry_generation = registry_generation + 1 \
             RETURNING registry_generation"
        }
    };
    let generation = sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&mut **tx)
        .await
        .map_err(E::during("bumping the generation counter"))?;
    Ok(notifier.claim(counter, generation))
}

fn client_from_row(row: &SqliteRow) -> Result<ClientRecord, StoreError> {
    let id: String = row
        .try_get("id")
        .map_err(|e| StoreError::corrupt("client id", describe(&e)))?;
    let bad = |e: sqlx::Error| StoreError::corrupt(format!("client `{id}`"), describe(&e));
    let document: String = row.try_get("document").map_err(bad)?;
    let created_at: i64 = row.try_get("created_at").map_err(bad)?;
    let updated_at: i64 = row.try_get("updated_at").map_err(bad)?;
    Ok(ClientRecord {
        name: row.try_get("name").map_err(bad)?,
        document: decode_document(&id, &document)?,
        created_at: from_micros(created_at, "client creation time")?,
        updated_at: from_micros(updated_at, "client update time")?,
        version: row.try_get("version").map_err(bad)?,
        id,
    })
}

fn audit_from_row(row: &SqliteRow) -> Result<AuditEvent, StoreError> {
    let bad = |e: sqlx::Error| StoreError::corrupt("audit event", describe(&e));
    let at: i64 = row.try_get("at").map_err(bad)?;
    let result: String = row.try_get("result").map_err(bad)?;
    Ok(AuditEvent {
        at: from_micros(at, "audit event time")?,
        kind: row.try_get("kind").map_err(bad)?,
        client_id: row.try_get("client_id").map_err(bad)?,
        method: row.try_get("method").map_err(bad)?,
        result: result
            .parse()
            .map_err(|e| StoreError::corrupt("audit event", e))?,
        reason: row.try_get("reason").map_err(bad)?,
        thumbprint: row.try_get("thumbprint").map_err(bad)?,
        subject: row.try_get("subject").map_err(bad)?,
        peer: row.try_get("peer").map_err(bad)?,
        listener: row.try_get("listener").map_err(bad)?,
        detail: row.try_get("detail").map_err(bad)?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    fn location(&self) -> &str {
        &self.location
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(E::during("checking the database"))?;
        Ok(())
    }

    async fn create_client(
        &self,
        id: &str,
        name: &str,
        document: &serde_json::Value,
    ) -> Result<ClientRecord, StoreError> {
        check_id("client id", id)?;
        check_text("client name", name)?;
        let text = encode_document(document)?;
        let now = model::now();
        let mut tx = self.begin_write("creating a client").await?;
        let inserted = sqlx::query(
            "INSERT INTO clients (id, name, name_key, document, created_at, updated_at, version) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, 1) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(name)
        .bind(name_key(name))
        .bind(&text)
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await
        .map_err(E::during("creating a client"))?;
        if inserted.rows_affected() == 0 {
            return Err(E::AlreadyExists { id: id.to_owned() });
        }
        let claim = bump(&self.notifier, &mut tx, Counter::Registry).await?;
        tx.commit().await.map_err(E::during("creating a client"))?;
        claim.committed_client(id);
        Ok(ClientRecord {
            id: id.to_owned(),
            name: name.to_owned(),
            document: document.clone(),
            created_at: now,
            updated_at: now,
            version: 1,
        })
    }

    async fn create_clients(&self, clients: &[NewClient]) -> Result<u64, StoreError> {
        const DOING: &str = "creating clients";
        let rows = model::new_client_rows(clients)?;
        if rows.is_empty() {
            return Ok(0);
        }
        let now = to_micros(model::now());
        let mut tx = self.begin_write(DOING).await?;
        for chunk in crate::pow2_chunks(&rows, CLIENT_CHUNK) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO clients (id, name, name_key, document, created_at, updated_at, version) ",
            );
            insert.push_values(chunk, |mut row, (client, text)| {
                row.push_bind(client.id.as_str())
                    .push_bind(client.name.as_str())
                    .push_bind(name_key(&client.name))
                    .push_bind(text.as_str())
                    .push_bind(now)
                    .push_bind(now)
                    .push("1");
            });
            insert.push(" ON CONFLICT (id) DO NOTHING RETURNING id");
            let inserted: Vec<String> = insert
                .build_query_scalar()
                .fetch_all(&mut *tx)
                .await
                .map_err(E::during(DOING))?;
            if inserted.len() < chunk.len() {
                return Err(model::taken(chunk, &inserted));
            }
        }
        let claim = bump(&self.notifier, &mut tx, Counter::Registry).await?;
        tx.commit().await.map_err(E::during(DOING))?;
        claim.committed(Change::Clients);
        Ok(rows.len() as u64)
    }

    async fn get_client(&self, id: &str) -> Result<Option<ClientRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {CLIENT_COLUMNS} FROM clients WHERE id = ?1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(E::during("reading a client"))?;
        row.as_ref().map(client_from_row).transpose()
    }

    async fn list_clients(&self, name: Option<&str>) -> Result<Vec<ClientRecord>, StoreError> {
        let rows = match name {
            Some(name) => {
                sqlx::query(&format!(
                    "SELECT {CLIENT_COLUMNS} FROM clients WHERE name_key = ?1 ORDER BY name, id"
                ))
                .bind(name_key(name))
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {CLIENT_COLUMNS} FROM clients ORDER BY name, id"
                ))
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(E::during("listing clients"))?;
        rows.iter().map(client_from_row).collect()
    }

    async fn update_client(
        &self,
        id: &str,
        name: &str,
        document: &serde_json::Value,
        expected_version: Option<i64>,
    ) -> Result<ClientRecord, StoreError> {
        check_text("client name", name)?;
        let text = encode_document(document)?;
        let mut tx = self.begin_write("updating a client").await?;
        let row = sqlx::query(&format!(
            "UPDATE clients SET name = ?2, name_key = ?3, document = ?4, updated_at = ?5, \
             version = version + 1 WHERE id = ?1 AND (?6 IS NULL OR version = ?6) \
             RETURNING {CLIENT_COLUMNS}"
        ))
        .bind(id)
        .bind(name)
        .bind(name_key(name))
        .bind(&text)
        .bind(to_micros(model::now()))
        .bind(expected_version)
        .fetch_optional(&mut *tx)
        .await
        .map_err(E::during("updating a client"))?;
        let Some(row) = row else {
            let current: Option<i64> =
                sqlx::query_scalar("SELECT version FROM clients WHERE id = ?1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(E::during("updating a client"))?;
            return Err(E::not_updated(id, expected_version, current));
        };
        let record = client_from_row(&row)?;
        let claim = bump(&self.notifier, &mut tx, Counter::Registry).await?;
        tx.commit().await.map_err(E::during("updating a client"))?;
        claim.committed_client(id);
        Ok(record)
    }

    async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write("deleting a client").await?;
        let deleted = sqlx::query("DELETE FROM clients WHERE id = ?1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(E::during("deleting a client"))?;
        if deleted.rows_affected() == 0 {
            return Ok(false);
        }
        let claim = bump(&self.notifier, &mut tx, Counter::Registry).await?;
        tx.commit().await.map_err(E::during("deleting a client"))?;
        claim.committed_client(id);
        Ok(true)
    }

    async fn count_clients(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM clients")
            .fetch_one(&self.pool)
            .await
            .map_err(E::during("counting clients"))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn registry_generation(&self) -> Result<i64, StoreError> {
        Ok(generations(&self.pool).await?.0)
    }

    async fn revocation_generation(&self) -> Result<i64, StoreError> {
        Ok(generations(&self.pool).await?.1)
    }

    async fn revoke(
        &self,
        jti: &str,
        client_id: &str,
        expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        check_id("token id (jti)", jti)?;
        check_text("client id", client_id)?;
        let mut tx = self.begin_write("revoking a token").await?;
        let inserted = sqlx::query(
            "INSERT INTO revocations (jti, client_id, expires_at, revoked_at) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (jti) DO NOTHING",
        )
        .bind(jti)
        .bind(client_id)
        .bind(to_micros(expires_at))
        .bind(to_micros(model::now()))
        .execute(&mut *tx)
        .await
        .map_err(E::during("revoking a token"))?;
        if inserted.rows_affected() == 0 {
            return Ok(false);
        }
        let claim = bump(&self.notifier, &mut tx, Counter::Revocations).await?;
        tx.commit().await.map_err(E::during("revoking a token"))?;
        claim.committed(Change::Revocations);
        Ok(true)
    }

    async fn is_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM revocations WHERE jti = ?1")
            .bind(jti)
            .fetch_optional(&self.pool)
            .await
            .map_err(E::during("checking a revocation"))?;
        Ok(found.is_some())
    }

    async fn active_revocations(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<(String, OffsetDateTime)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT jti, expires_at FROM revocations WHERE expires_at > ?1 ORDER BY jti",
        )
        .bind(to_micros(now))
        .fetch_all(&self.pool)
        .await
        .map_err(E::during("loading revocations"))?;
        rows.into_iter()
            .map(|(jti, expires_at)| Ok((jti, from_micros(expires_at, "revocation expiry")?)))
            .collect()
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let mut tx = self.begin_write("purging expired revocations").await?;
        let purged = sqlx::query("DELETE FROM revocations WHERE expires_at <= ?1")
            .bind(to_micros(now))
            .execute(&mut *tx)
            .await
            .map_err(E::during("purging expired revocations"))?;
        tx.commit()
            .await
            .map_err(E::during("purging expired revocations"))?;
        Ok(purged.rows_affected())
    }

    async fn record_signing_key(&self, kid: &str) -> Result<(), StoreError> {
        check_id("signing key id", kid)?;
        let mut tx = self.begin_write("recording the signing key").await?;
        sqlx::query("INSERT INTO signing_keys (kid, first_used_at) VALUES (?1, ?2) ON CONFLICT (kid) DO NOTHING")
            .bind(kid)
            .bind(to_micros(OffsetDateTime::now_utc()))
            .execute(&mut *tx)
            .await
            .map_err(E::during("recording the signing key"))?;
        tx.commit()
            .await
            .map_err(E::during("recording the signing key"))
    }

    async fn use_assertions(&self, uses: &[AssertionUse]) -> Result<Vec<bool>, StoreError> {
        for u in uses {
            check_text("client id", &u.client_id)?;
            check_text("assertion id (jti)", &u.jti)?;
        }
        const DOING: &str = "recording client assertions";
        let mut tx = self.begin_write(DOING).await?;
        sqlx::query("DELETE FROM client_assertions WHERE expires_at < ?1")
            .bind(to_micros(model::now()))
            .execute(&mut *tx)
            .await
            .map_err(E::during(DOING))?;
        let mut fresh = Vec::with_capacity(uses.len());
        for u in uses {
            let inserted = sqlx::query(
                "INSERT INTO client_assertions (client_id, jti, expires_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (client_id, jti) DO NOTHING",
            )
            .bind(&u.client_id)
            .bind(&u.jti)
            .bind(to_micros(u.expires_at))
            .execute(&mut *tx)
            .await
            .map_err(E::during(DOING))?;
            fresh.push(inserted.rows_affected() == 1);
        }
        tx.commit().await.map_err(E::during(DOING))?;
        Ok(fresh)
    }

    async fn signing_keys(&self) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar("SELECT kid FROM signing_keys ORDER BY first_used_at, kid")
            .fetch_all(&self.pool)
            .await
            .map_err(E::during("reading the signing keys"))
    }

    async fn purge_audit(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let mut tx = self.begin_write("purging old audit events").await?;
        let purged = sqlx::query("DELETE FROM audit_events WHERE at < ?1")
            .bind(to_micros(before))
            .execute(&mut *tx)
            .await
            .map_err(E::during("purging old audit events"))?;
        tx.commit()
            .await
            .map_err(E::during("purging old audit events"))?;
        Ok(purged.rows_affected())
    }

    async fn append_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write("recording audit events").await?;
        for chunk in crate::pow2_chunks(events, AUDIT_CHUNK) {
            let mut insert = crate::audit_sql::insert::<Sqlite, _>(chunk, to_micros);
            insert
                .build()
                .execute(&mut *tx)
                .await
                .map_err(E::during("recording audit events"))?;
        }
        tx.commit()
            .await
            .map_err(E::during("recording audit events"))?;
        Ok(())
    }

    async fn query_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        let mut query = crate::audit_sql::select::<Sqlite, _>(filter, to_micros);
        let rows = query
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(E::during("reading audit events"))?;
        rows.iter().map(audit_from_row).collect()
    }

    fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.notifier.subscribe()
    }

    async fn close(&self) {
        if let Ok(mut stop) = self.stop_poller.lock() {
            stop.take();
        }
        self.pool.close().await;
    }
}
