//! The audit trail, written off the request path: handlers hand events to a
//! bounded channel and return; one task writes them to the store in batches.
//! If the store falls far behind, events are dropped and counted rather than
//! slowing down token issuance, and the drop is logged.
//!
//! While the store refuses writes (a database restart), the writer appends
//! what it takes from the queue to a spill file ([`crate::audit_spill`]) and
//! tries to write the file back with a growing pause (up to
//! [`AUDIT_RETRY_MAX`]); new events go behind it until it is written, so the
//! order holds and the queue keeps draining. The sender tells whether events
//! wait for the store, so that the token endpoint can refuse to issue
//! unaudited tokens (`[audit] on_store_error = "refuse"`) and `/healthz` can
//! say so.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use certbound_store::{AuditEvent, Store};
use tokio::sync::mpsc;

use crate::audit_spill::Spill;

/// Events waiting to be written before new ones are dropped.
pub const AUDIT_QUEUE: usize = 65_536;
/// Most events written in one transaction.
pub const AUDIT_BATCH: usize = 512;
/// How long a partial batch waits for more events before it is written.
pub const AUDIT_LINGER: std::time::Duration = std::time::Duration::from_millis(10);
/// The first pause before a failed write is tried again; it doubles each time.
pub const AUDIT_RETRY_MIN: std::time::Duration = std::time::Duration::from_millis(100);
/// How long one write to the store may take before its events are spilled
/// instead: a database that is down may keep a write waiting for a
/// connection for seconds, while events go on arriving.
pub const AUDIT_WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);
/// The longest pause between two tries of a failed write.
pub const AUDIT_RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(2);

/// Where handlers send events.
#[derive(Debug, Clone)]
pub struct AuditSender {
    tx: mpsc::Sender<AuditEvent>,
    dropped: Arc<AtomicU64>,
    failing: Arc<AtomicBool>,
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

    /// Whether the last write to the store failed (and is being retried).
    pub fn store_failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }
}

/// Start the writer, spilling to `spill` (see [`crate::audit_spill`]) while
/// the store refuses writes. It stops, after writing or spilling everything
/// queued, when every sender is gone.
pub fn spawn_writer(
    store: Arc<dyn Store>,
    spill: std::path::PathBuf,
) -> (AuditSender, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<AuditEvent>(AUDIT_QUEUE);
    let failing = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicU64::new(0));
    let (writer_failing, writer_dropped) = (Arc::clone(&failing), Arc::clone(&dropped));
    let task = tokio::spawn(async move {
        let (failing, dropped) = (writer_failing, writer_dropped);
        let mut spill = Spill::open(spill);
        failing.store(spill.pending(), Ordering::Relaxed);
        let mut batch = Vec::with_capacity(AUDIT_BATCH);
        let mut pause = AUDIT_RETRY_MIN;
        let mut next_try = tokio::time::Instant::now();
        // The last write to the store failed (whether or not its events
        // could be spilled).
        let mut store_down = false;
        loop {
            // While events wait in the spill file, try it again at `next_try`
            // even when nothing new comes.
            let received = if spill.pending() {
                tokio::select! {
                    n = rx.recv_many(&mut batch, AUDIT_BATCH) => Some(n),
                    _ = tokio::time::sleep_until(next_try) => None,
                }
            } else {
                Some(rx.recv_many(&mut batch, AUDIT_BATCH).await)
            };
            let closed = received == Some(0);
            if received.is_some_and(|n| n > 0) && batch.len() < AUDIT_BATCH {
                // Let a partial batch fill for a moment: one transaction (and
                // one fsync) for many events rather than one for every few.
                tokio::time::sleep(AUDIT_LINGER).await;
                while batch.len() < AUDIT_BATCH {
                    match rx.try_recv() {
                        Ok(event) => batch.push(event),
                        Err(_) => break,
                    }
                }
            }
            if !spill.pending() && !batch.is_empty() {
                let written =
                    match tokio::time::timeout(AUDIT_WRITE_TIMEOUT, store.append_audit(&batch))
                        .await
                    {
                        Ok(r) => r.map_err(|e| e.to_string()),
                        Err(_) => Err(format!(
                            "the store did not answer within {} ms",
                            AUDIT_WRITE_TIMEOUT.as_millis()
                        )),
                    };
                match written {
                    Ok(()) => {
                        batch.clear();
                        store_down = false;
                    }
                    Err(e) => {
                        store_down = true;
                        if !failing.swap(true, Ordering::Relaxed) {
                            tracing::error!(error = %e, "audit write failed; events wait in the spill file until the store is back");
                        }
                        pause = AUDIT_RETRY_MIN;
                        next_try = tokio::time::Instant::now() + pause;
                    }
                }
            }
            if !batch.is_empty() {
                // Behind the spill file, in order.
                if let Err(e) = spill.append(&batch).await {
                    let n = dropped.fetch_add(batch.len() as u64, Ordering::Relaxed)
                        + batch.len() as u64;
                    tracing::error!(error = %e, dropped = n, "audit events dropped: the store refuses them and they cannot be spilled");
                }
                batch.clear();
            }
            if spill.pending() && (tokio::time::Instant::now() >= next_try || closed) {
                match spill.write_back(store.as_ref(), AUDIT_WRITE_TIMEOUT).await {
                    Ok(n) => {
                        store_down = false;
                        tracing::info!(
                            events = n,
                            "audit writes resumed: the spilled events are in the store"
                        );
                        pause = AUDIT_RETRY_MIN;
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "the store still refuses the spilled audit events");
                        next_try = tokio::time::Instant::now() + pause;
                        pause = (pause * 2).min(AUDIT_RETRY_MAX);
                    }
                }
            }
            failing.store(store_down || spill.pending(), Ordering::Relaxed);
            if closed {
                if spill.pending() {
                    tracing::error!(
                        "audit events wait in the spill file at shutdown: the next start writes them to the store"
                    );
                }
                return;
            }
        }
    });
    (
        AuditSender {
            tx,
            dropped,
            failing,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_store::Flaky;
    use certbound_store::{AuditFilter, AuditResult, Store as StoreTrait};

    async fn count(store: &dyn StoreTrait) -> usize {
        store
            .query_audit(&AuditFilter::default())
            .await
            .map_or(0, |e| e.len())
    }

    /// Wait (bounded) until `f` holds.
    async fn until(mut f: impl AsyncFnMut() -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        while tokio::time::Instant::now() < deadline {
            if f().await {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        false
    }

    #[tokio::test]
    async fn events_are_held_while_the_store_is_down_and_written_when_it_is_back() {
        let inner = certbound_store::open("sqlite::memory:").await.unwrap();
        let store = Arc::new(Flaky::new(inner));
        let dir = tempfile::tempdir().unwrap();
        let spill = dir.path().join(crate::audit_spill::SPILL_FILE);
        let (sender, task) = spawn_writer(Arc::clone(&store) as Arc<dyn StoreTrait>, spill.clone());
        sender.record(AuditEvent::new("token", AuditResult::Success));
        assert!(until(async || count(store.as_ref()).await == 1).await);
        assert!(!sender.store_failing());

        store.down.store(true, Ordering::Relaxed);
        for _ in 0..5 {
            sender.record(AuditEvent::new("token", AuditResult::Success));
        }
        assert!(until(async || sender.store_failing()).await);
        assert!(
            until(async || std::fs::read_to_string(&spill).is_ok_and(|t| t.lines().count() == 5))
                .await,
            "the events wait in the spill file"
        );
        assert_eq!(count(store.as_ref()).await, 1, "nothing written while down");

        store.down.store(false, Ordering::Relaxed);
        assert!(until(async || count(store.as_ref()).await == 6).await);
        assert!(until(async || !sender.store_failing()).await);
        assert!(!spill.exists(), "the spill file is gone once written back");
        assert_eq!(sender.dropped(), 0);

        // Down at shutdown: the events stay in the file, and the next writer
        // puts them in the store first.
        store.down.store(true, Ordering::Relaxed);
        for _ in 0..3 {
            sender.record(AuditEvent::new("token", AuditResult::Success));
        }
        drop(sender);
        task.await.unwrap();
        assert_eq!(std::fs::read_to_string(&spill).unwrap().lines().count(), 3);
        store.down.store(false, Ordering::Relaxed);
        let (sender, task) = spawn_writer(Arc::clone(&store) as Arc<dyn StoreTrait>, spill.clone());
        assert!(until(async || count(store.as_ref()).await == 9).await);
        assert!(until(async || !spill.exists()).await);

        // A write that hangs is given up after AUDIT_WRITE_TIMEOUT: its
        // events go to the file rather than holding the queue.
        store.hang.store(true, Ordering::Relaxed);
        for _ in 0..2 {
            sender.record(AuditEvent::new("token", AuditResult::Success));
        }
        assert!(
            until(async || std::fs::read_to_string(&spill).is_ok_and(|t| t.lines().count() == 2))
                .await
        );
        assert!(sender.store_failing());
        store.hang.store(false, Ordering::Relaxed);
        assert!(until(async || count(store.as_ref()).await == 11).await);
        assert!(until(async || !spill.exists()).await);
        drop(sender);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn without_a_spill_file_events_are_dropped_counted_and_the_store_still_failing() {
        let inner = certbound_store::open("sqlite::memory:").await.unwrap();
        let store = Arc::new(Flaky::new(inner));
        store.down.store(true, Ordering::Relaxed);
        let dir = tempfile::tempdir().unwrap();
        // A spill file that cannot be written (its directory does not exist).
        let spill = dir
            .path()
            .join("missing")
            .join(crate::audit_spill::SPILL_FILE);
        let (sender, task) = spawn_writer(Arc::clone(&store) as Arc<dyn StoreTrait>, spill);
        for _ in 0..2 {
            sender.record(AuditEvent::new("token", AuditResult::Success));
        }
        assert!(until(async || sender.dropped() == 2).await);
        assert!(
            sender.store_failing(),
            "unaudited tokens must not look audited"
        );
        store.down.store(false, Ordering::Relaxed);
        sender.record(AuditEvent::new("token", AuditResult::Success));
        assert!(until(async || count(store.as_ref()).await == 1).await);
        assert!(until(async || !sender.store_failing()).await);
        drop(sender);
        task.await.unwrap();
    }
}
