//! The PostgreSQL backend: several server instances share one database.
//!
//! Every write to the registry or the revocations sends `NOTIFY` on
//! [`CHANNEL`] inside its transaction, so the notification goes out exactly
//! when the write commits. Each store keeps one extra connection that
//! `LISTEN`s on the channel and forwards what other instances changed to its
//! subscribers (its own notifications, tagged with an instance id, are skipped:
//! its subscribers already heard of them after commit). When that connection
//! is lost the store reconnects with exponential backoff, up to
//! [`RECONNECT_BACKOFF_MAX`] between attempts, and then sends
//! [`Change::Resync`], because notifications sent meanwhile are lost.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, QueryBuilder, Row, Transaction};
use time::OffsetDateTime;
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

use crate::error::{StoreError, describe};
use crate::model::{
    self, AssertionUse, AuditEvent, AuditFilter, Change, ClientRecord, NewClient, check_id,
    check_text, decode_document, encode_document, name_key, truncate_to_micros,
};
use crate::notify::{Claim, Counter, Notifier};
use crate::{Store, StoreError as E};

/// Connections each store opens at most for queries (plus one for `LISTEN`).
pub const POSTGRES_MAX_CONNECTIONS: u32 = 10;

/// The longest wait between two attempts to re-establish `LISTEN`.
pub const RECONNECT_BACKOFF_MAX: Duration = Duration::from_secs(10);

/// The first wait before re-establishing `LISTEN`.
const RECONNECT_BACKOFF_MIN: Duration = Duration::from_millis(200);

/// How long a query waits for a free connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// The notification channel; payloads are `clients:<instance>` or
/// `revocations:<instance>`.
pub(crate) const CHANNEL: &str = "certbound_changes";

/// Most rows per INSERT when appending audit events (11 values each, far
/// below PostgreSQL's 65535 parameters). A power of two: see `pow2_chunks`.
const AUDIT_CHUNK: usize = 512;

/// Most rows per INSERT when creating clients in bulk (6 parameters each,
/// 24576 in all, under PostgreSQL's 65535). A power of two: see `pow2_chunks`.
const CLIENT_CHUNK: usize = 4096;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

const CLIENT_COLUMNS: &str =
    "id, name, document::text AS document, created_at, updated_at, version";

/// A store in a PostgreSQL database.
#[derive(Debug)]
pub(crate) struct PgStore {
    pool: PgPool,
    notifier: Arc<Notifier>,
    /// Tags this store's notifications, so its listener can skip them.
    instance: String,
    location: String,
    /// Dropping the sender stops the listener task.
    stop_listener: Mutex<Option<oneshot::Sender<()>>>,
    listener_task: Mutex<Option<JoinHandle<()>>>,
}

impl PgStore {
    pub(crate) async fn open(url: &str, location: String) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url.parse().map_err(|e: sqlx::Error| E::InvalidUrl {
            url: location.clone(),
            reason: describe(&e),
        })?;
        let connect_error = |e: sqlx::Error| E::Connect {
            location: location.clone(),
            message: describe(&e),
        };
        let pool = PgPoolOptions::new()
            .max_connections(POSTGRES_MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone().application_name("certbound"))
            .await
            .map_err(connect_error)?;
        // Concurrent opens are safe: the migrator holds an advisory lock.
        MIGRATOR.run(&pool).await.map_err(|e| E::Migrate {
            location: location.clone(),
            message: e.to_string(),
        })?;
        let (registry, revocations): (i64, i64) =
            sqlx::query_as("SELECT registry_generation, revocation_generation FROM meta")
                .fetch_one(&pool)
                .await
                .map_err(E::during("reading the generation counters"))?;
        let notifier = Arc::new(Notifier::new(registry, revocations));

        // The listener gets its own one-connection pool, so it never takes a
        // connection from queries and is never recycled for age.
        let listener_pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_lazy_with(options.application_name("certbound-listener"));
        // Listen before returning, so no change after `open` is missed.
        let listener = listen(&listener_pool).await.map_err(connect_error)?;
        let instance = uuid::Uuid::new_v4().simple().to_string();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(forward_notifications(
            listener_pool,
            listener,
            notifier.clone(),
            instance.clone(),
            stopped,
        ));
        Ok(Self {
            pool,
            notifier,
            instance,
            location,
            stop_listener: Mutex::new(Some(stop)),
            listener_task: Mutex::new(Some(task)),
        })
    }

    async fn begin(
        &self,
        operation: &'static str,
    ) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool.begin().await.map_err(E::during(operation))
    }

    /// Bumps a generation counter and queues the notification, inside `tx`
    /// (naming the client changed, when one is); the new generation, claimed
    /// as this process's until the transaction commits (or fails).
    async fn announce(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        counter: Counter,
        client: Option<&str>,
    ) -> Result<Claim, StoreError> {
        let (sql, kind) = match counter {
            Counter::Revocations => (
                "UPDATE meta SET revocation_generation = revocation_generation + 1 \
                 RETURNING revocation_generation",
                "revocations",
            ),
            Counter::Registry => (
                "UPDATE meta SET registry_generation = registry_generation + 1 \
                 RETURNING registry_generation",
                "clients",
            ),
        };
        let generation = sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&mut **tx)
            .await
            .map_err(E::during("bumping the generation counter"))?;
        // Client ids are FHIR ids (no ':'), so the payload splits unambiguously.
        let payload = match client {
            Some(id) => format!("client:{}:{generation}:{id}", self.instance),
            None => format!("{kind}:{}", self.instance),
        };
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(&mut **tx)
            .await
            .map_err(E::during("notifying other instances"))?;
        Ok(self.notifier.claim(counter, generation))
    }

    async fn generation(&self, column: &'static str) -> Result<i64, StoreError> {
        sqlx::query_scalar(&format!("SELECT {column} FROM meta"))
            .fetch_one(&self.pool)
            .await
            .map_err(E::during("reading the generation counters"))
    }
}

/// A listener on a fresh connection, listening on [`CHANNEL`].
async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// What a notification payload announces to this instance, if anything.
fn parse_payload(payload: &str, own_instance: &str) -> Option<Change> {
    let mut parts = payload.splitn(4, ':');
    let kind = parts.next().unwrap_or_default();
    let instance = parts.next().unwrap_or_default();
    if instance == own_instance {
        return None;
    }
    Some(match kind {
        "client" => match (parts.next().and_then(|g| g.parse().ok()), parts.next()) {
            (Some(generation), Some(id)) if !id.is_empty() => Change::Client {
                id: id.into(),
                generation,
            },
            _ => Change::Clients,
        },
        "clients" => Change::Clients,
        "revocations" => Change::Revocations,
        // Sent by a newer version: something changed, reload everything.
        _ => Change::Resync,
    })
}

/// Forwards other instances' notifications until stopped; re-establishes the
/// listening connection when it is lost.
async fn forward_notifications(
    pool: PgPool,
    mut listener: PgListener,
    notifier: Arc<Notifier>,
    instance: String,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
        let received = tokio::select! {
            _ = &mut stop => return,
            received = listener.try_recv() => received,
        };
        match received {
            Ok(Some(notification)) => {
                if let Some(change) = parse_payload(notification.payload(), &instance) {
                    notifier.send(change);
                }
            }
            Ok(None) => {
                // sqlx reconnected and listens again; notifications in between are lost.
                tracing::warn!("the PostgreSQL LISTEN connection was lost and re-established");
                notifier.send(Change::Resync);
            }
            Err(error) => {
                tracing::warn!(
                    error = %describe(&error),
                    "the PostgreSQL LISTEN connection failed; reconnecting"
                );
                drop(listener);
                let mut delay = RECONNECT_BACKOFF_MIN;
                listener = loop {
                    tokio::select! {
                        _ = &mut stop => return,
                        _ = tokio::time::sleep(delay) => {}
                    }
                    match listen(&pool).await {
                        Ok(listener) => break listener,
                        Err(error) => {
                            tracing::warn!(
                                error = %describe(&error),
                                retry_in_ms = delay.as_millis(),
                                "cannot re-establish PostgreSQL LISTEN"
                            );
                            delay = (delay * 2).min(RECONNECT_BACKOFF_MAX);
                        }
                    }
                };
                tracing::info!("PostgreSQL LISTEN re-established");
                notifier.send(Change::Resync);
            }
        }
    }
}

fn client_from_row(row: &PgRow) -> Result<ClientRecord, StoreError> {
    let id: String = row
        .try_get("id")
        .map_err(|e| StoreError::corrupt("client id", describe(&e)))?;
    let bad = |e: sqlx::Error| StoreError::corrupt(format!("client `{id}`"), describe(&e));
    let document: String = row.try_get("document").map_err(bad)?;
    Ok(ClientRecord {
        name: row.try_get("name").map_err(bad)?,
        document: decode_document(&id, &document)?,
        created_at: row.try_get("created_at").map_err(bad)?,
        updated_at: row.try_get("updated_at").map_err(bad)?,
        version: row.try_get("version").map_err(bad)?,
        id,
    })
}

fn audit_from_row(row: &PgRow) -> Result<AuditEvent, StoreError> {
    let bad = |e: sqlx::Error| StoreError::corrupt("audit event", describe(&e));
    let result: String = row.try_get("result").map_err(bad)?;
    Ok(AuditEvent {
        at: row.try_get("at").map_err(bad)?,
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
impl Store for PgStore {
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
        let mut tx = self.begin("creating a client").await?;
        let inserted = sqlx::query(
            "INSERT INTO clients (id, name, name_key, document, created_at, updated_at, version) \
             VALUES ($1, $2, $3, CAST($4 AS json), $5, $5, 1) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(name)
        .bind(name_key(name))
        .bind(&text)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(E::during("creating a client"))?;
        if inserted.rows_affected() == 0 {
            return Err(E::AlreadyExists { id: id.to_owned() });
        }
        let claim = self.announce(&mut tx, Counter::Registry, Some(id)).await?;
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
        let now = model::now();
        let mut tx = self.begin(DOING).await?;
        for chunk in crate::pow2_chunks(&rows, CLIENT_CHUNK) {
            let mut insert = QueryBuilder::<Postgres>::new(
                "INSERT INTO clients (id, name, name_key, document, created_at, updated_at, version) ",
            );
            insert.push_values(chunk, |mut row, (client, text)| {
                row.push_bind(client.id.as_str())
                    .push_bind(client.name.as_str())
                    .push_bind(name_key(&client.name))
                    .push("CAST(")
                    .push_bind_unseparated(text.as_str())
                    .push_unseparated(" AS json)")
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
        // A full reload, not one client: payload `clients:<instance>`.
        let claim = self.announce(&mut tx, Counter::Registry, None).await?;
        tx.commit().await.map_err(E::during(DOING))?;
        claim.committed(Change::Clients);
        Ok(rows.len() as u64)
    }

    async fn get_client(&self, id: &str) -> Result<Option<ClientRecord>, StoreError> {
        if id.contains('\0') {
            return Ok(None); // Nothing stored holds NUL; PostgreSQL text cannot.
        }
        let row = sqlx::query(&format!(
            "SELECT {CLIENT_COLUMNS} FROM clients WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(E::during("reading a client"))?;
        row.as_ref().map(client_from_row).transpose()
    }

    async fn list_clients(&self, name: Option<&str>) -> Result<Vec<ClientRecord>, StoreError> {
        let order = r#"ORDER BY name COLLATE "C", id COLLATE "C""#;
        let rows = match name {
            Some(name) if name.contains('\0') => return Ok(Vec::new()),
            Some(name) => {
                sqlx::query(&format!(
                    "SELECT {CLIENT_COLUMNS} FROM clients WHERE name_key = $1 {order}"
                ))
                .bind(name_key(name))
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query(&format!("SELECT {CLIENT_COLUMNS} FROM clients {order}"))
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
        if id.contains('\0') {
            return Err(E::NotFound { id: id.to_owned() });
        }
        check_text("client name", name)?;
        let text = encode_document(document)?;
        let mut tx = self.begin("updating a client").await?;
        let row = sqlx::query(&format!(
            "UPDATE clients SET name = $2, name_key = $3, document = CAST($4 AS json), \
             updated_at = $5, version = version + 1 \
             WHERE id = $1 AND (CAST($6 AS bigint) IS NULL OR version = $6) \
             RETURNING {CLIENT_COLUMNS}"
        ))
        .bind(id)
        .bind(name)
        .bind(name_key(name))
        .bind(&text)
        .bind(model::now())
        .bind(expected_version)
        .fetch_optional(&mut *tx)
        .await
        .map_err(E::during("updating a client"))?;
        let Some(row) = row else {
            let current: Option<i64> =
                sqlx::query_scalar("SELECT version FROM clients WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(E::during("updating a client"))?;
            return Err(E::not_updated(id, expected_version, current));
        };
        let record = client_from_row(&row)?;
        let claim = self.announce(&mut tx, Counter::Registry, Some(id)).await?;
        tx.commit().await.map_err(E::during("updating a client"))?;
        claim.committed_client(id);
        Ok(record)
    }

    async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        if id.contains('\0') {
            return Ok(false);
        }
        let mut tx = self.begin("deleting a client").await?;
        let deleted = sqlx::query("DELETE FROM clients WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(E::during("deleting a client"))?;
        if deleted.rows_affected() == 0 {
            return Ok(false);
        }
        let claim = self.announce(&mut tx, Counter::Registry, Some(id)).await?;
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
        self.generation("registry_generation").await
    }

    async fn revocation_generation(&self) -> Result<i64, StoreError> {
        self.generation("revocation_generation").await
    }

    async fn revoke(
        &self,
        jti: &str,
        client_id: &str,
        expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        check_id("token id (jti)", jti)?;
        check_text("client id", client_id)?;
        let mut tx = self.begin("revoking a token").await?;
        let inserted = sqlx::query(
            "INSERT INTO revocations (jti, client_id, expires_at, revoked_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (jti) DO NOTHING",
        )
        .bind(jti)
        .bind(client_id)
        .bind(truncate_to_micros(expires_at))
        .bind(model::now())
        .execute(&mut *tx)
        .await
        .map_err(E::during("revoking a token"))?;
        if inserted.rows_affected() == 0 {
            return Ok(false);
        }
        let claim = self.announce(&mut tx, Counter::Revocations, None).await?;
        tx.commit().await.map_err(E::during("revoking a token"))?;
        claim.committed(Change::Revocations);
        Ok(true)
    }

    async fn is_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        if jti.contains('\0') {
            return Ok(false);
        }
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM revocations WHERE jti = $1)")
            .bind(jti)
            .fetch_one(&self.pool)
            .await
            .map_err(E::during("checking a revocation"))
    }

    async fn active_revocations(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<(String, OffsetDateTime)>, StoreError> {
        sqlx::query_as(
            r#"SELECT jti, expires_at FROM revocations WHERE expires_at > $1 ORDER BY jti COLLATE "C""#,
        )
        .bind(truncate_to_micros(now))
        .fetch_all(&self.pool)
        .await
        .map_err(E::during("loading revocations"))
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let purged = sqlx::query("DELETE FROM revocations WHERE expires_at <= $1")
            .bind(truncate_to_micros(now))
            .execute(&self.pool)
            .await
            .map_err(E::during("purging expired revocations"))?;
        Ok(purged.rows_affected())
    }

    async fn record_signing_key(&self, kid: &str) -> Result<(), StoreError> {
        check_id("signing key id", kid)?;
        sqlx::query("INSERT INTO signing_keys (kid, first_used_at) VALUES ($1, $2) ON CONFLICT (kid) DO NOTHING")
            .bind(kid)
            .bind(truncate_to_micros(OffsetDateTime::now_utc()))
            .execute(&self.pool)
            .await
            .map_err(E::during("recording the signing key"))?;
        Ok(())
    }

    async fn use_assertions(&self, uses: &[AssertionUse]) -> Result<Vec<bool>, StoreError> {
        for u in uses {
            check_text("client id", &u.client_id)?;
            check_text("assertion id (jti)", &u.jti)?;
        }
        const DOING: &str = "recording client assertions";
        let mut tx = self.pool.begin().await.map_err(E::during(DOING))?;
        sqlx::query("DELETE FROM client_assertions WHERE expires_at < $1")
            .bind(truncate_to_micros(OffsetDateTime::now_utc()))
            .execute(&mut *tx)
            .await
            .map_err(E::during(DOING))?;
        // Each insert is one statement: of two instances inserting the same
        // jti at once, exactly one inserts it (the other waits for its
        // transaction, then finds the conflict).
        let mut fresh = Vec::with_capacity(uses.len());
        for u in uses {
            let inserted = sqlx::query(
                "INSERT INTO client_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (client_id, jti) DO NOTHING",
            )
            .bind(&u.client_id)
            .bind(&u.jti)
            .bind(truncate_to_micros(u.expires_at))
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
        let purged = sqlx::query("DELETE FROM audit_events WHERE at < $1")
            .bind(truncate_to_micros(before))
            .execute(&self.pool)
            .await
            .map_err(E::during("purging old audit events"))?;
        Ok(purged.rows_affected())
    }

    async fn append_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin("recording audit events").await?;
        for chunk in crate::pow2_chunks(events, AUDIT_CHUNK) {
            let mut insert = crate::audit_sql::insert::<Postgres, _>(chunk, truncate_to_micros);
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
        let mut query = crate::audit_sql::select::<Postgres, _>(filter, truncate_to_micros);
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
        if let Ok(mut stop) = self.stop_listener.lock() {
            stop.take();
        }
        let task = self.listener_task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            // The task ends at its next await once stopped; a panic in it has
            // been reported already.
            let _ = task.await;
        }
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads() {
        assert_eq!(parse_payload("clients:b", "a"), Some(Change::Clients));
        assert_eq!(
            parse_payload("revocations:b", "a"),
            Some(Change::Revocations)
        );
        assert_eq!(parse_payload("clients:a", "a"), None);
        assert_eq!(
            parse_payload("client:b:42:partner.one", "a"),
            Some(Change::Client {
                id: "partner.one".into(),
                generation: 42
            })
        );
        assert_eq!(parse_payload("client:a:42:partner", "a"), None);
        // A malformed client payload still says the registry changed.
        assert_eq!(
            parse_payload("client:b:x:partner", "a"),
            Some(Change::Clients)
        );
        assert_eq!(parse_payload("client:b:7", "a"), Some(Change::Clients));
        assert_eq!(parse_payload("keys:b", "a"), Some(Change::Resync));
        assert_eq!(parse_payload("", "a"), Some(Change::Resync));
    }
}
