//! Fan-out of [`Change`]s to subscribers, in generation order, without
//! duplicates.
//!
//! Each backend learns of a change in two ways: from its own commits, at once,
//! and from other instances (PostgreSQL `LISTEN`, or polling the generation
//! counters for SQLite). The notifier remembers the highest generation it has
//! announced for each counter, so a change seen both ways is announced once.
//!
//! A commit of this process claims its generation ([`Notifier::claim`])
//! inside its transaction, before it commits: from then on no poll takes that
//! generation for another process's, and the claim is announced only after
//! every earlier claim, so that two commits whose tasks wake in the other
//! order still reach subscribers as consecutive generations (a gap would
//! make them reload everything).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::broadcast;

use crate::model::Change;

/// How many changes a slow subscriber may fall behind before it lags (and
/// then reloads everything).
const CAPACITY: usize = 1024;

/// A generation counter of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counter {
    Registry,
    Revocations,
}

impl Counter {
    /// What announces a change of this counter whose details are unknown.
    fn untold(self) -> Change {
        match self {
            Self::Registry => Change::Clients,
            Self::Revocations => Change::Revocations,
        }
    }
}

/// What the notifier knows of one counter.
#[derive(Debug)]
struct Counted {
    /// The highest generation announced.
    announced: AtomicI64,
    /// This process's claimed generations not yet announced: `None` while
    /// the transaction is open (or its task has not yet said it committed),
    /// the change once committed.
    claims: Mutex<BTreeMap<i64, Option<Change>>>,
}

impl Counted {
    fn new(generation: i64) -> Self {
        Self {
            announced: AtomicI64::new(generation),
            claims: Mutex::new(BTreeMap::new()),
        }
    }

    fn claims(&self) -> MutexGuard<'_, BTreeMap<i64, Option<Change>>> {
        // A panic while holding the lock leaves a map that is still whole.
        self.claims
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The sending side shared by a store and its background task.
#[derive(Debug)]
pub(crate) struct Notifier {
    sender: broadcast::Sender<Change>,
    registry: Counted,
    revocations: Counted,
}

/// A generation this process bumped inside an open transaction. Say
/// [`Claim::committed`] once the transaction committed; dropped without it
/// (the transaction failed and rolled back), the claim is withdrawn.
#[must_use = "a claim is announced by `committed`; dropped, it is withdrawn"]
#[derive(Debug)]
pub(crate) struct Claim {
    notifier: Arc<Notifier>,
    counter: Counter,
    generation: i64,
}

impl Claim {
    /// The transaction that created, changed or deleted client `id`
    /// committed: announce which client, at this generation.
    pub(crate) fn committed_client(self, id: &str) {
        let generation = self.generation;
        self.committed(Change::Client {
            id: id.into(),
            generation,
        });
    }

    /// The transaction committed: announce `change` once every earlier
    /// claim is announced or withdrawn.
    pub(crate) fn committed(self, change: Change) {
        let counted = self.notifier.counted(self.counter);
        let mut claims = counted.claims();
        if let Some(slot) = claims.get_mut(&self.generation) {
            *slot = Some(change);
        }
        self.notifier.flush(counted, &mut claims);
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let counted = self.notifier.counted(self.counter);
        let mut claims = counted.claims();
        if claims.get(&self.generation).is_some_and(Option::is_none) {
            claims.remove(&self.generation);
            self.notifier.flush(counted, &mut claims);
        }
    }
}

impl Notifier {
    /// A notifier that has announced everything up to these generations.
    pub(crate) fn new(registry: i64, revocations: i64) -> Self {
        Self {
            sender: broadcast::channel(CAPACITY).0,
            registry: Counted::new(registry),
            revocations: Counted::new(revocations),
        }
    }

    fn counted(&self, counter: Counter) -> &Counted {
        match counter {
            Counter::Registry => &self.registry,
            Counter::Revocations => &self.revocations,
        }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.sender.subscribe()
    }

    pub(crate) fn has_subscribers(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    /// Claim `generation` of `counter` for a commit of this process: call it
    /// inside the transaction that bumped the counter, before it commits.
    pub(crate) fn claim(self: &Arc<Self>, counter: Counter, generation: i64) -> Claim {
        self.counted(counter).claims().insert(generation, None);
        Claim {
            notifier: Arc::clone(self),
            counter,
            generation,
        }
    }

    /// Announce the committed claims at the front, in generation order; a
    /// claim still open holds back the ones after it.
    fn flush(&self, counted: &Counted, claims: &mut BTreeMap<i64, Option<Change>>) {
        while let Some(entry) = claims.first_entry() {
            let generation = *entry.key();
            if entry.get().is_none() {
                return;
            }
            if let Some(change) = entry.remove() {
                if counted.announced.fetch_max(generation, Ordering::AcqRel) < generation {
                    self.send(change);
                }
            }
        }
    }

    /// Announce what a poll of the generation counters found that no commit
    /// of this process claimed: another process's commits.
    pub(crate) fn polled(&self, registry: i64, revocations: i64) {
        for (counter, read) in [
            (Counter::Registry, registry),
            (Counter::Revocations, revocations),
        ] {
            let counted = self.counted(counter);
            // Under the lock, so that a claim announced meanwhile shows in `announced`.
            let claims = counted.claims();
            let announced = counted.announced.load(Ordering::Acquire);
            if read <= announced {
                continue;
            }
            let ours = claims.range(announced + 1..=read).count();
            if i64::try_from(ours).is_ok_and(|ours| ours < read - announced) {
                counted.announced.fetch_max(read, Ordering::AcqRel);
                self.send(counter.untold());
            }
        }
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

    fn client(id: &str, generation: i64) -> Change {
        Change::Client {
            id: id.into(),
            generation,
        }
    }

    fn received(rx: &mut broadcast::Receiver<Change>) -> Vec<Change> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    #[test]
    fn a_generation_is_announced_once() {
        let notifier = Arc::new(Notifier::new(3, 0));
        let mut rx = notifier.subscribe();
        let claim = notifier.claim(Counter::Registry, 4);
        claim.committed(client("a", 4));
        notifier
            .claim(Counter::Revocations, 1)
            .committed(Change::Revocations);
        // Polls that read them find them announced.
        notifier.polled(4, 1);
        notifier.polled(4, 1);
        assert_eq!(received(&mut rx), [client("a", 4), Change::Revocations]);
    }

    #[test]
    fn a_claimed_generation_read_by_a_poll_before_it_is_announced_is_not_taken_for_another_process()
    {
        let notifier = Arc::new(Notifier::new(3, 0));
        let mut rx = notifier.subscribe();
        let claim = notifier.claim(Counter::Registry, 4);
        // Committed, but its task is late to say so: polls read it meanwhile.
        notifier.polled(4, 0);
        notifier.polled(4, 0);
        assert_eq!(received(&mut rx), []);
        claim.committed(client("a", 4));
        assert_eq!(received(&mut rx), [client("a", 4)]);
    }

    #[test]
    fn another_process_s_commits_are_announced_at_the_first_poll_that_reads_them() {
        let notifier = Arc::new(Notifier::new(3, 0));
        let mut rx = notifier.subscribe();
        // 4 is ours, still open; 5 and 6 are another process's.
        let claim = notifier.claim(Counter::Registry, 4);
        notifier.polled(4, 0);
        assert_eq!(received(&mut rx), []);
        notifier.polled(6, 1);
        assert_eq!(received(&mut rx), [Change::Clients, Change::Revocations]);
        // Ours, announced after a reload that covered it, is not announced again.
        claim.committed(client("a", 4));
        notifier.polled(6, 1);
        assert_eq!(received(&mut rx), []);
    }

    #[test]
    fn commits_whose_tasks_wake_in_the_other_order_are_announced_in_generation_order() {
        let notifier = Arc::new(Notifier::new(3, 0));
        let mut rx = notifier.subscribe();
        let first = notifier.claim(Counter::Registry, 4);
        let second = notifier.claim(Counter::Registry, 5);
        second.committed(client("b", 5));
        assert_eq!(received(&mut rx), [], "5 waits for 4");
        first.committed(client("a", 4));
        assert_eq!(received(&mut rx), [client("a", 4), client("b", 5)]);
    }

    #[test]
    fn a_withdrawn_claim_holds_nothing_back_and_is_never_announced() {
        let notifier = Arc::new(Notifier::new(3, 0));
        let mut rx = notifier.subscribe();
        let rolled_back = notifier.claim(Counter::Registry, 4);
        drop(rolled_back);
        // The generation is bumped again by the next commit, ours.
        notifier
            .claim(Counter::Registry, 4)
            .committed(client("b", 4));
        assert_eq!(received(&mut rx), [client("b", 4)]);
        // Withdrawn while a later claim waits on it: the later one goes out.
        let open = notifier.claim(Counter::Registry, 5);
        let waiting = notifier.claim(Counter::Registry, 6);
        waiting.committed(client("c", 6));
        assert_eq!(received(&mut rx), []);
        drop(open);
        assert_eq!(received(&mut rx), [client("c", 6)]);
    }
}
