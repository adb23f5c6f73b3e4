//! The audit trail, written off the request path: handlers hand events to a
//! bounded channel and return; one task writes them to the store in batches.
//! If the store falls far behind, events are dropped and counted rather than
//! slowing down token issuance, and the drop is logged.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use certbound_store::{AuditEvent, Store};
use tokio::sync::mpsc;

/// Events waiting to be written before new ones are dropped.
pub const AUDIT_QUEUE: usize = 65_536;
/// Most events written in one transaction.
pub const AUDIT_BATCH: usize = 512;
/// How long a partial batch waits for more events before it is written.
pub const AUDIT_LINGER: std::time::Duration = std::time::Duration::from_millis(10);

/// Where handlers send events.
#[derive(Debug, Clone)]
pub struct AuditSender {
    tx: mpsc::Sender<AuditEvent>,
    dropped: Arc<AtomicU64>,
}

impl AuditSender {
    /// Queue an event; never waits.
    pub fn record(&self, event: AuditEvent) {
        if self.tx.try_send(event).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::error!(dropped = n, "audit queue full: events dropped");
            }
        }
    }

    /// Events dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Start the writer. It stops, after writing everything queued, when every
/// sender is gone.
pub fn spawn_writer(store: Arc<dyn Store>) -> (AuditSender, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<AuditEvent>(AUDIT_QUEUE);
    let task = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(AUDIT_BATCH);
        while rx.recv_many(&mut batch, AUDIT_BATCH).await > 0 {
            // Let a partial batch fill for a moment: one transaction (and one
            // fsync) for many events rather than one for every few.
            if batch.len() < AUDIT_BATCH {
                tokio::time::sleep(AUDIT_LINGER).await;
                while batch.len() < AUDIT_BATCH {
                    match rx.try_recv() {
                        Ok(event) => batch.push(event),
                        Err(_) => break,
                    }
                }
            }
            if let Err(e) = store.append_audit(&batch).await {
                tracing::warn!(error = %e, events = batch.len(), "audit write failed; retrying once");
                if let Err(e) = store.append_audit(&batch).await {
                    tracing::error!(error = %e, events = batch.len(), "audit events lost");
                }
            }
            batch.clear();
        }
    });
    (
        AuditSender {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        },
        task,
    )
}

/// How often events older than the retention are deleted.
pub const AUDIT_PURGE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Delete events older than `retention` at start and every
/// [`AUDIT_PURGE_INTERVAL`] until `shutdown` turns true. Several instances
/// on one database may all do it: the deletes are idempotent.
pub fn spawn_purger(
    store: Arc<dyn Store>,
    retention: std::time::Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(AUDIT_PURGE_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tick.tick() => {}
            }
            let before = time::OffsetDateTime::now_utc() - retention;
            match store.purge_audit(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, %before, "old audit events deleted"),
                Err(error) => tracing::warn!(%error, "cannot delete old audit events"),
            }
        }
    })
}
