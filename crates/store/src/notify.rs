//! Fan-out of [`Change`]s to subscribers, without duplicates.
//!
//! Each backend learns of a change in two ways: from its own commits, at once,
//! and from other instances (PostgreSQL `LISTEN`, or polling the generation
//! counters for SQLite). The notifier remembers the highest generation it has
//! announced for each kind of change, so a change seen both ways is announced
//! once.

use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::broadcast;

use crate::model::Change;

/// How many changes a slow subscriber may fall behind before it lags (and
/// then reloads everything).
const CAPACITY: usize = 1024;

/// The sending side shared by a store and its background task.
#[derive(Debug)]
pub(crate) struct Notifier {
    sender: broadcast::Sender<Change>,
    registry: AtomicI64,
    revocations: AtomicI64,
}

impl Notifier {
    /// A notifier that has announced everything up to these generations.
    pub(crate) fn new(registry: i64, revocations: i64) -> Self {
        Self {
            sender: broadcast::channel(CAPACITY).0,
            registry: AtomicI64::new(registry),
            revocations: AtomicI64::new(revocations),
        }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.sender.subscribe()
    }

    pub(crate) fn has_subscribers(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    /// Announces `change` unless a generation at least as high was announced.
    pub(crate) fn reached(&self, change: Change, generation: i64) {
        let seen = match change {
            Change::Clients | Change::Client { .. } => &self.registry,
            Change::Revocations => &self.revocations,
            Change::Resync => return self.send(Change::Resync),
        };
        if seen.fetch_max(generation, Ordering::AcqRel) < generation {
            self.send(change);
        }
    }

    /// Announces what a poll of the generation counters found that no commit
    /// of this process announced. A commit announces its generation just
    /// after it commits, so a poll may read it first: a generation is taken
    /// for another process's only when it is still unannounced at the next
    /// poll (`last` holds what the previous poll read). Otherwise each such
    /// race would send a change to everyone as a full resync.
    pub(crate) fn polled(&self, registry: i64, revocations: i64, last: &mut (i64, i64)) {
        if last.0 > self.registry.load(Ordering::Acquire) {
            self.reached(Change::Clients, registry);
        }
        if last.1 > self.revocations.load(Ordering::Acquire) {
            self.reached(Change::Revocations, revocations);
        }
        *last = (registry, revocations);
    }

    /// Announces `change` unconditionally.
    pub(crate) fn send(&self, change: Change) {
        // An error only means nobody is subscribed right now.
        let _ = self.sender.send(change);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generation_is_announced_once() {
        let notifier = Notifier::new(3, 0);
        let mut rx = notifier.subscribe();
        notifier.reached(Change::Clients, 3);
        notifier.reached(Change::Clients, 4);
        notifier.reached(Change::Clients, 4);
        notifier.reached(Change::Revocations, 1);
        notifier.reached(Change::Resync, 0);
        assert_eq!(rx.try_recv().ok(), Some(Change::Clients));
        assert_eq!(rx.try_recv().ok(), Some(Change::Revocations));
        assert_eq!(rx.try_recv().ok(), Some(Change::Resync));
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn a_polled_generation_is_announced_only_when_no_commit_announces_it_by_the_next_poll() {
        let notifier = Notifier::new(3, 0);
        let mut rx = notifier.subscribe();
        let mut last = (3, 0);
        // A commit of this process at 4, read by a poll before it announced it.
        notifier.polled(4, 0, &mut last);
        assert!(rx.try_recv().is_err());
        notifier.reached(
            Change::Client {
                id: "a".into(),
                generation: 4,
            },
            4,
        );
        notifier.polled(4, 0, &mut last);
        assert!(matches!(rx.try_recv(), Ok(Change::Client { .. })));
        assert!(rx.try_recv().is_err());
        // Another process's commits, 5 and 6: announced at the second poll.
        notifier.polled(5, 1, &mut last);
        assert!(rx.try_recv().is_err());
        notifier.polled(6, 1, &mut last);
        assert_eq!(rx.try_recv().ok(), Some(Change::Clients));
        assert_eq!(rx.try_recv().ok(), Some(Change::Revocations));
        assert!(rx.try_recv().is_err());
    }
}
