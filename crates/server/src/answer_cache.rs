//! The memory of answers fetched over the network (OCSP answers, CRLs from
//! distribution points, clients' JWKS), shared by every request.
//!
//! An answer is kept until it expires (its nextUpdate, but never less than
//! [`FAILURE_MEMORY`], so that a stale source is not asked on every request);
//! a failure to get one is kept for [`FAILURE_MEMORY`]. A cached answer keeps
//! serving while a refresh runs in the background once less than
//! [`REFRESH_BEFORE`] of it is left (or less than half its life); only a key
//! with nothing cached waits for the source, and concurrent requests for the
//! same key wait for one fetch, not one each. At most `max_entries` are kept:
//! when full, expired entries go first, then those that expire soonest.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

/// How long a failure to get an answer is remembered.
pub(crate) const FAILURE_MEMORY: Duration = Duration::from_secs(10);
/// A cached answer is refreshed in the background once less than this is
/// left of it (or less than half its life, for short-lived answers).
pub(crate) const REFRESH_BEFORE: Duration = Duration::from_secs(300);

/// An answer, or why there is none.
pub(crate) type Fetched<V> = Result<V, String>;

struct Entry<V> {
    fetched: Fetched<V>,
    /// Until when the entry is used.
    until: OffsetDateTime,
    /// When to start a background refresh (answers only).
    refresh_at: OffsetDateTime,
    refreshing: bool,
}

/// Answers by key, each valid until `valid_until` says.
pub(crate) struct AnswerCache<V> {
    entries: Mutex<HashMap<String, Entry<V>>>,
    /// One lock per key being fetched, so that a miss is fetched once.
    fetching: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    valid_until: fn(&V) -> OffsetDateTime,
    max_entries: usize,
}

impl<V> std::fmt::Debug for AnswerCache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerCache")
            .field(
                "entries",
                &self.entries.lock().map(|e| e.len()).unwrap_or(0),
            )
            .field("max_entries", &self.max_entries)
            .finish_non_exhaustive()
    }
}

fn span(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::ZERO)
}

impl<V: Clone + Send + Sync + 'static> AnswerCache<V> {
    pub(crate) fn new(valid_until: fn(&V) -> OffsetDateTime, max_entries: usize) -> Arc<Self> {
        Arc::new(Self {
            entries: Mutex::default(),
            fetching: Mutex::default(),
            valid_until,
            max_entries: max_entries.max(1),
        })
    }

    /// The cached answer for `key` (starting a background refresh when one
    /// is due), or the one `fetch` gets.
    pub(crate) async fn get<F, Fut>(self: &Arc<Self>, key: String, fetch: F) -> Fetched<V>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Fetched<V>> + Send + 'static,
    {
        if let Some((fetched, refresh)) = self.cached(&key) {
            if refresh {
                let this = Arc::clone(self);
                let fut = fetch();
                tokio::spawn(async move {
                    match fut.await {
                        Ok(v) => this.store(key, Ok(v)),
                        // Keep serving the answer still current; try again later.
                        Err(reason) => {
                            tracing::warn!(%key, %reason, "refreshing a cached answer failed; the cached one serves until it expires");
                            this.retry_later(&key);
                        }
                    }
                });
            }
            return fetched;
        }
        let lock = {
            let mut fetching = self.fetching.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(fetching.entry(key.clone()).or_default())
        };
        let _held = lock.lock().await;
        // Another request may have fetched it while this one waited.
        if let Some((fetched, _)) = self.cached(&key) {
            return fetched;
        }
        let fetched = fetch().await;
        self.store(key.clone(), fetched.clone());
        self.fetching
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        fetched
    }

    /// The entry for `key` while in use, and whether a refresh is to start now.
    fn cached(&self, key: &str) -> Option<(Fetched<V>, bool)> {
        let now = OffsetDateTime::now_utc();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let e = entries.get_mut(key).filter(|e| now <= e.until)?;
        let refresh = e.fetched.is_ok() && now >= e.refresh_at && !e.refreshing;
        if refresh {
            e.refreshing = true;
        }
        Some((e.fetched.clone(), refresh))
    }

    /// Remember `fetched` for `key`.
    pub(crate) fn store(&self, key: String, fetched: Fetched<V>) {
        let now = OffsetDateTime::now_utc();
        let memory = now + span(FAILURE_MEMORY);
        let (until, refresh_at) = match &fetched {
            Ok(v) => {
                let valid_until = (self.valid_until)(v);
                let life = valid_until - now;
                let early = life.min(span(REFRESH_BEFORE)).min(life / 2);
                // A stale answer is asked for again after the failure memory, not on every request.
                (valid_until.max(memory), (valid_until - early).max(memory))
            }
            Err(_) => (memory, memory),
        };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.max_entries && !entries.contains_key(&key) {
            entries.retain(|_, e| e.until >= now);
            while entries.len() >= self.max_entries {
                let Some(soonest) = entries
                    .iter()
                    .min_by_key(|(_, e)| e.until)
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                entries.remove(&soonest);
            }
        }
        entries.insert(
            key,
            Entry {
                fetched,
                until,
                refresh_at,
                refreshing: false,
            },
        );
    }

    /// After a failed refresh: allow another attempt after the failure memory.
    fn retry_later(&self, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = entries.get_mut(key) {
            e.refreshing = false;
            let later = OffsetDateTime::now_utc() + span(FAILURE_MEMORY);
            e.refresh_at = later.min(e.until);
        }
    }

    /// How many entries are kept.
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// Every kept answer (for the expiry gauge).
    pub(crate) fn answers(&self) -> Vec<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .values()
            .filter_map(|e| e.fetched.as_ref().ok().cloned())
            .collect()
    }

    /// Make every entry due for a refresh (tests).
    #[cfg(test)]
    pub(crate) fn make_due(&self) {
        let past = OffsetDateTime::now_utc() - time::Duration::seconds(1);
        for e in self.entries.lock().unwrap().values_mut() {
            e.refresh_at = past;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn in_an_hour(_: &u32) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::hours(1)
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = AnswerCache::new(in_an_hour, 3);
        for i in 0..10 {
            cache.store(format!("k{i}"), Ok(i));
        }
        assert_eq!(cache.len(), 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_fetch_once() {
        let cache = AnswerCache::new(in_an_hour, 10);
        let calls = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(tokio::sync::Notify::new());
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (cache, calls, gate) = (Arc::clone(&cache), Arc::clone(&calls), Arc::clone(&gate));
            tasks.push(tokio::spawn(async move {
                cache
                    .get("k".into(), move || async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        gate.notified().await;
                        Ok(7)
                    })
                    .await
            }));
        }
        // Release the one fetch once it has started; the others wait on it.
        while calls.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        gate.notify_one();
        for t in tasks {
            assert_eq!(t.await.unwrap(), Ok(7));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failure_is_remembered_briefly() {
        let cache = AnswerCache::new(in_an_hour, 10);
        let first = cache
            .get("k".into(), || async { Err::<u32, _>("down".to_string()) })
            .await;
        assert_eq!(first, Err("down".into()));
        let second = cache.get("k".into(), || async { Ok(1) }).await;
        assert_eq!(
            second,
            Err("down".into()),
            "not asked again within the failure memory"
        );
    }
}
