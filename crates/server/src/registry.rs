//! The client registry held in memory: a bounded cache of compiled
//! `ClientApplication`s in front of the store, so the token endpoint reads a
//! client without a lock or a database round trip once it has been seen.
//!
//! - A client not in the cache is read from the store by id (one indexed
//!   query; concurrent lookups of one id share it) and compiled; an id that
//!   is not registered is remembered as such, so unknown ids cost one query.
//!   Unknown ids are remembered apart from the clients (a bounded number):
//!   made-up ids never take a client's place, nor stop a registry that fits
//!   from being held whole.
//! - The cache holds at most `[store] client_cache` clients; past that, a
//!   client not asked for since the last sweep makes room (second chance).
//! - When the whole registry fits, it is kept whole: read in at start, in
//!   the background (start-up never waits for it), and every client changed
//!   is read again, so expiry warnings and CRL issuers cover every client.
//! - A change to one client (announced by the store with the generation it
//!   reached, from this instance or another) drops that client from the
//!   cache and reads it again when it was there (or the registry fits): no
//!   other client is touched. A change that may have been missed (a gap in
//!   the generations, a lagging subscription, a store generation not
//!   reached one poll interval later) empties the cache, which is read in
//!   again when the registry fits and otherwise fills on demand.
//!
//! Readers never lock: the clients are spread over [`SHARDS`] maps behind
//! `ArcSwap`s, and a write copies one of them. A read of the store that
//! began before a change of its shard was heard is not cached (each shard
//! counts the changes heard), so the cache never keeps what a change replaced.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use certbound_oauth::client::{ClientApplication, ClientStatus, CompiledClient, Policy};
use certbound_store::{Change, ClientRecord, Store, StoreError};
use time::OffsetDateTime;
use tokio::sync::{OnceCell, watch};

/// How often the store's generation is polled besides notifications.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// The maps the clients are spread over: a write copies one of them.
pub const SHARDS: usize = 256;

/// `[store] client_cache` when not set: compiled clients held in memory.
pub const DEFAULT_CACHE: usize = 50_000;

/// The number of registered clients is read again at most this often (and
/// only after a change): it is for health and metrics, not for decisions.
const COUNT_INTERVAL: Duration = Duration::from_secs(30);

/// Registries at least this large are compiled on several threads.
const PARALLEL_COMPILE_MIN: usize = 1024;
/// Most threads a full load compiles on.
const MAX_COMPILE_THREADS: usize = 8;

/// One cached answer for a registered id: the client, or `None` when its
/// record does not validate (it authenticates nobody).
#[derive(Debug)]
struct Entry {
    client: Option<Arc<CompiledClient>>,
    /// Read since the last eviction sweep passed it.
    used: AtomicBool,
}

type Map = HashMap<String, Arc<Entry>>;
/// A read of the store under way: the client, and whether it was cached.
type Loading = OnceCell<(Option<Arc<CompiledClient>>, bool)>;

/// The longest client id looked up: no registered id is longer (the admin
/// API allows 64 bytes), and a longer one is not worth a read or the memory
/// of remembering it.
const MAX_ID_LEN: usize = 256;

/// Reads of the store for ids not in the cache under way at once: anyone can
/// send a `client_id`, so a flood of unknown ids waits here rather than
/// taking every database connection from the audit trail and replay checks.
const MAX_CONCURRENT_READS: usize = 16;

/// Reads of one id a fetch makes before answering uncached.
const FETCH_ATTEMPTS: u32 = 4;

/// Most ids one shard remembers as not registered (16,384 in all). They are
/// kept apart from the clients, so that made-up ids, which anyone can send,
/// never take a client's place in the cache.
const UNKNOWN_PER_SHARD: usize = 64;

#[derive(Debug, Default)]
struct Shard {
    map: ArcSwap<Map>,
    /// Held by writers of `map` (readers never take it).
    write: Mutex<()>,
    /// Changes heard for ids of this shard: a store read that began at
    /// another count may predate one of them, so it is not cached.
    epoch: AtomicU64,
    /// Reads of the store under way, by id: one per id.
    loading: Mutex<HashMap<String, Arc<Loading>>>,
    /// Ids read from the store and found not registered (writers hold
    /// `write`; at most [`UNKNOWN_PER_SHARD`], any one making room).
    unknown: Mutex<HashSet<String>>,
    /// Where the next eviction sweep starts.
    hand: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How many entries of `map` are registered clients.
fn registered(map: &Map) -> i64 {
    map.values().filter(|e| e.client.is_some()).count() as i64
}

fn shard_of(id: &str) -> usize {
    // A fixed hash: an id is always in the same shard.
    let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(id);
    (hash % SHARDS as u64) as usize
}

/// The registry, always readable.
#[derive(Debug)]
pub struct Registry {
    shards: Vec<Shard>,
    /// Most entries one shard holds.
    per_shard: usize,
    store: Arc<dyn Store>,
    policy: Policy,
    /// The store's registry generation the cache has every change up to.
    generation: AtomicI64,
    /// Registered clients, as last counted, and when.
    count: AtomicU64,
    counted: Mutex<(Instant, i64)>,
    /// Registered clients in the cache (kept exact under the shard locks).
    held: AtomicI64,
    /// Whether the cache holds every registered client: a read-in completed
    /// and nothing was evicted or cleared since.
    whole: AtomicBool,
    /// While a read-in runs: the ids changed since it began, which it must
    /// not cache (its read may predate the change).
    warming: Mutex<Option<HashSet<String>>>,
    /// One read-in at a time.
    warm_lock: tokio::sync::Mutex<()>,
    /// Times the cache was emptied: a read-in that began before is void.
    clears: AtomicU64,
    /// Clients compiled since start.
    compiled: AtomicU64,
    /// Store reads for ids not in the cache.
    fetched: AtomicU64,
    /// Writes to the cache, so a reader can tell it changed.
    writes: AtomicU64,
    /// Bounds the store reads of [`Registry::fetch`].
    reads: tokio::sync::Semaphore,
}

impl Registry {
    /// A registry over `store` holding at most `capacity` clients; when the
    /// store has no more than that, they are read in by a background task.
    pub async fn load(
        store: Arc<dyn Store>,
        policy: Policy,
        capacity: usize,
    ) -> Result<Arc<Self>, StoreError> {
        let generation = store.registry_generation().await?;
        let count = store.count_clients().await?;
        let registry = Arc::new(Self {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
            store,
            policy,
            generation: AtomicI64::new(generation),
            count: AtomicU64::new(count),
            counted: Mutex::new((Instant::now(), generation)),
            held: AtomicI64::new(0),
            whole: AtomicBool::new(false),
            warming: Mutex::new(None),
            warm_lock: tokio::sync::Mutex::new(()),
            clears: AtomicU64::new(0),
            compiled: AtomicU64::new(0),
            fetched: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            reads: tokio::sync::Semaphore::new(MAX_CONCURRENT_READS),
        });
        if registry.fits() {
            let warming = Arc::clone(&registry);
            tokio::spawn(async move {
                if let Err(e) = warming.warm().await {
                    tracing::warn!(error = %e, "cannot read the registry in; clients are read as they are asked for");
                }
            });
        }
        tracing::debug!(generation, clients = count, "registry opened");
        Ok(registry)
    }

    /// Most clients held in memory.
    pub fn capacity(&self) -> usize {
        self.per_shard * SHARDS
    }

    /// The store's registry generation the registry has every change up to.
    pub fn generation(&self) -> i64 {
        self.generation.load(Ordering::Acquire)
    }

    /// How many clients are registered: exact while the cache holds them
    /// all, else as counted (at most every 30 s).
    pub fn count(&self) -> u64 {
        if self.whole.load(Ordering::Acquire) {
            u64::try_from(self.held.load(Ordering::Acquire)).unwrap_or(0)
        } else {
            self.count.load(Ordering::Relaxed)
        }
    }

    /// Whether the cache holds every registered client.
    pub fn is_whole(&self) -> bool {
        self.whole.load(Ordering::Acquire)
    }

    /// Swap in `map` for `shard` (whose write lock the caller holds),
    /// keeping the count of registered clients held exact.
    fn publish(&self, shard: &Shard, map: Map) {
        let delta = registered(&map) - registered(&shard.map.load());
        shard.map.store(Arc::new(map));
        self.held.fetch_add(delta, Ordering::AcqRel);
        self.writes.fetch_add(1, Ordering::Relaxed);
    }

    /// How many client documents were compiled since start.
    pub fn compiled(&self) -> u64 {
        self.compiled.load(Ordering::Relaxed)
    }

    /// How many times an id not in the cache was read from the store.
    pub fn fetched(&self) -> u64 {
        self.fetched.load(Ordering::Relaxed)
    }

    /// How many times the cache was emptied (a resync): a read in progress
    /// then is read again, since it may predate what the resync was for.
    pub fn clears(&self) -> u64 {
        self.clears.load(Ordering::Acquire)
    }

    /// A number that changes whenever the cached clients do.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// The clients in memory now (every client when the registry fits).
    pub fn cached(&self) -> Vec<Arc<CompiledClient>> {
        self.shards
            .iter()
            .flat_map(|s| {
                s.map
                    .load()
                    .values()
                    .filter_map(|e| e.client.clone())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The client `id`, from memory or else the store; `None` when it is
    /// not registered (or its record does not validate).
    pub async fn get(&self, id: &str) -> Result<Option<Arc<CompiledClient>>, StoreError> {
        if id.is_empty() || id.len() > MAX_ID_LEN {
            return Ok(None);
        }
        let shard = &self.shards[shard_of(id)];
        if let Some(entry) = shard.map.load().get(id) {
            entry.used.store(true, Ordering::Relaxed);
            return Ok(entry.client.clone());
        }
        if lock(&shard.unknown).contains(id) {
            return Ok(None);
        }
        self.fetch(shard, id).await
    }

    /// The status of `client_id`; `None` when it is not registered (or its
    /// record does not validate). Tokens are honoured only while `active`.
    pub async fn status(&self, client_id: &str) -> Result<Option<ClientStatus>, StoreError> {
        Ok(self.get(client_id).await?.map(|c| c.status))
    }

    /// Read `id` from the store into the cache; concurrent callers for one
    /// id share the read. A read that a change of its shard overtook is read
    /// again (a few times at most, then answered uncached).
    async fn fetch(
        &self,
        shard: &Shard,
        id: &str,
    ) -> Result<Option<Arc<CompiledClient>>, StoreError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let cell = Arc::clone(lock(&shard.loading).entry(id.to_owned()).or_default());
            let result = cell
                .get_or_try_init(|| async {
                    if let Some(entry) = shard.map.load().get(id) {
                        return Ok((entry.client.clone(), true));
                    }
                    if lock(&shard.unknown).contains(id) {
                        return Ok((None, true));
                    }
                    // Never closed, so acquiring cannot fail.
                    let _permit = self.reads.acquire().await.ok();
                    let epoch = shard.epoch.load(Ordering::Acquire);
                    self.fetched.fetch_add(1, Ordering::Relaxed);
                    let Some(record) = self.store.get_client(id).await? else {
                        return Ok((None, self.remember_unknown(shard, id, epoch)));
                    };
                    let client = self.compile_record(&record.id, record.version, record.document);
                    let cached = self.insert(shard, id, client.clone(), epoch);
                    Ok((client, cached))
                })
                .await
                .cloned();
            {
                let mut loading = lock(&shard.loading);
                if loading.get(id).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                    loading.remove(id);
                }
            }
            match result {
                Ok((client, cached)) if cached || attempts >= FETCH_ATTEMPTS => return Ok(client),
                Ok(_) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Cache `client` as `id`, unless a change of the shard was heard since
    /// `epoch` (the read may predate it); makes room when the shard is full.
    /// Whether it was cached.
    fn insert(
        &self,
        shard: &Shard,
        id: &str,
        client: Option<Arc<CompiledClient>>,
        epoch: u64,
    ) -> bool {
        let _write = lock(&shard.write);
        if shard.epoch.load(Ordering::Acquire) != epoch {
            return false;
        }
        let mut map: Map = (**shard.map.load()).clone();
        if !map.contains_key(id) && map.len() >= self.per_shard {
            self.evict(shard, &mut map);
        }
        let entry = Entry {
            client,
            used: AtomicBool::new(false),
        };
        map.insert(id.to_owned(), Arc::new(entry));
        self.publish(shard, map);
        true
    }

    /// Remember that `id` is not registered, unless a change of its shard
    /// was heard since `epoch` (the read may predate it); whether it is
    /// remembered. A full shard forgets another unknown id, never a client.
    fn remember_unknown(&self, shard: &Shard, id: &str, epoch: u64) -> bool {
        let _write = lock(&shard.write);
        if shard.epoch.load(Ordering::Acquire) != epoch {
            return false;
        }
        let mut unknown = lock(&shard.unknown);
        if unknown.len() >= UNKNOWN_PER_SHARD && !unknown.contains(id) {
            let other = unknown.iter().next().cloned();
            if let Some(other) = other {
                unknown.remove(&other);
            }
        }
        unknown.insert(id.to_owned());
        true
    }

    /// Drop one entry: the first from the hand on not read since the sweep
    /// last passed it, clearing the marks of those passed over.
    fn evict(&self, shard: &Shard, map: &mut Map) {
        let len = map.len();
        if len == 0 {
            return;
        }
        let start = shard.hand.load(Ordering::Relaxed) % len;
        let order = map.iter().skip(start).chain(map.iter().take(start));
        let mut victim = None;
        let mut passed = 0;
        for (id, entry) in order {
            passed += 1;
            if !entry.used.swap(false, Ordering::Relaxed) {
                victim = Some(id.clone());
                break;
            }
        }
        // Every one was read since: the first of the sweep goes.
        let victim = victim.or_else(|| map.keys().nth(start).cloned());
        shard.hand.store(start + passed, Ordering::Relaxed);
        if let Some(victim) = victim {
            map.remove(&victim);
            self.whole.store(false, Ordering::Release);
        }
    }

    fn compile_record(
        &self,
        id: &str,
        version: i64,
        document: serde_json::Value,
    ) -> Option<Arc<CompiledClient>> {
        let serial = self.compiled.fetch_add(1, Ordering::Relaxed) + 1;
        match compile(id, document, self.policy, OffsetDateTime::now_utc()) {
            Ok(mut client) => {
                client.version = version;
                client.serial = serial;
                Some(Arc::new(client))
            }
            // Fail closed: a record that no longer validates authenticates nobody.
            Err(reason) => {
                tracing::warn!(client_id = %id, %reason, "stored client skipped: it does not validate");
                None
            }
        }
    }

    /// Read every client into the cache (as far as it holds them): what
    /// start-up does in the background when the registry fits. A client
    /// changed while the store was read is left to its change; when every
    /// client found room, the cache is whole. How many clients it read in.
    pub async fn warm(&self) -> Result<usize, StoreError> {
        let _one = self.warm_lock.lock().await;
        let clears = self.clears.load(Ordering::Acquire);
        *lock(&self.warming) = Some(HashSet::new());
        let warmed = self.read_in(clears).await;
        *lock(&self.warming) = None;
        let (warmed, complete) = warmed?;
        if complete && self.clears.load(Ordering::Acquire) == clears {
            self.whole.store(true, Ordering::Release);
        }
        self.writes.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(clients = warmed, whole = complete, "registry read in");
        Ok(warmed)
    }

    /// [`Registry::warm`]'s read and insertions; whether every client found room.
    async fn read_in(&self, clears: u64) -> Result<(usize, bool), StoreError> {
        let records = self.store.list_clients(None).await?;
        let mut by_shard: Vec<Vec<Arc<CompiledClient>>> = vec![Vec::new(); SHARDS];
        for client in self.compile_all(records) {
            by_shard[shard_of(&client.id)].push(client);
        }
        let (mut warmed, mut complete) = (0, true);
        for (shard, clients) in self.shards.iter().zip(by_shard) {
            let _write = lock(&shard.write);
            // Emptied meanwhile: a change may have been missed before the read.
            if self.clears.load(Ordering::Acquire) != clears {
                return Ok((0, false));
            }
            if clients.is_empty() {
                continue;
            }
            let changed = lock(&self.warming);
            let mut map: Map = (**shard.map.load()).clone();
            for client in clients {
                if changed.as_ref().is_some_and(|c| c.contains(&client.id)) {
                    continue;
                }
                if map.len() >= self.per_shard && !map.contains_key(&client.id) {
                    complete = false;
                    break;
                }
                warmed += 1;
                map.entry(client.id.clone()).or_insert_with(|| {
                    Arc::new(Entry {
                        client: Some(client),
                        used: AtomicBool::new(false),
                    })
                });
            }
            drop(changed);
            self.publish(shard, map);
        }
        Ok((warmed, complete))
    }

    /// Compile every record, on every core when there are many, with the
    /// caller's log subscriber.
    fn compile_all(&self, records: Vec<ClientRecord>) -> Vec<Arc<CompiledClient>> {
        let threads = std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .min(MAX_COMPILE_THREADS);
        if threads == 1 || records.len() < PARALLEL_COMPILE_MIN {
            return records
                .into_iter()
                .filter_map(|r| self.compile_record(&r.id, r.version, r.document))
                .collect();
        }
        let per_thread = records.len().div_ceil(threads);
        let mut parts: Vec<Vec<ClientRecord>> = Vec::with_capacity(threads);
        let mut records = records.into_iter();
        loop {
            let part: Vec<ClientRecord> = records.by_ref().take(per_thread).collect();
            if part.is_empty() {
                break;
            }
            parts.push(part);
        }
        let dispatch = tracing::dispatcher::get_default(Clone::clone);
        std::thread::scope(|scope| {
            let handles: Vec<_> = parts
                .into_iter()
                .map(|part| {
                    let dispatch = dispatch.clone();
                    scope.spawn(move || {
                        tracing::dispatcher::with_default(&dispatch, || {
                            part.into_iter()
                                .filter_map(|r| self.compile_record(&r.id, r.version, r.document))
                                .collect::<Vec<_>>()
                        })
                    })
                })
                .collect();
            // A thread that panicked compiled nothing: its clients are not
            // cached and are read again when asked for.
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
    }

    /// Client `id` changed: drop it from the cache and read it again when it
    /// was there or the whole registry fits (a client in use stays in
    /// memory, and a registry that fits stays whole). This instance calls it
    /// after its own writes, so it sees them at once; the store's
    /// announcement of the change calls it again.
    pub async fn refresh(&self, id: &str) -> Result<(), StoreError> {
        if self.forget(id) || self.fits() {
            self.fetch(&self.shards[shard_of(id)], id).await?;
        }
        Ok(())
    }

    /// Drop `id` from the cache, and make sure no read of the store under
    /// way is cached; whether it was there.
    fn forget(&self, id: &str) -> bool {
        let shard = &self.shards[shard_of(id)];
        let _write = lock(&shard.write);
        shard.epoch.fetch_add(1, Ordering::AcqRel);
        if let Some(changed) = lock(&self.warming).as_mut() {
            changed.insert(id.to_owned());
        }
        lock(&shard.unknown).remove(id);
        let current = shard.map.load();
        if !current.contains_key(id) {
            return false;
        }
        let mut map: Map = (**current).clone();
        map.remove(id);
        self.publish(shard, map);
        true
    }

    /// Forget every cached client: a change may have been missed. The cache
    /// fills again on demand; `generation` is what the store had before.
    fn clear(&self, generation: i64) {
        self.whole.store(false, Ordering::Release);
        self.clears.fetch_add(1, Ordering::AcqRel);
        for shard in &self.shards {
            let _write = lock(&shard.write);
            shard.epoch.fetch_add(1, Ordering::AcqRel);
            lock(&shard.unknown).clear();
            self.publish(shard, Map::default());
        }
        self.generation.fetch_max(generation, Ordering::AcqRel);
    }

    /// Read the store's generation, then forget every cached client; read
    /// them all in again when they fit.
    pub async fn resync(&self) -> Result<(), StoreError> {
        let generation = self.store.registry_generation().await?;
        self.clear(generation);
        self.recount(generation, true).await?;
        if self.fits() {
            self.warm().await?;
        }
        Ok(())
    }

    /// Whether every registered client fits in the cache (as last counted).
    fn fits(&self) -> bool {
        self.is_whole()
            || usize::try_from(self.count.load(Ordering::Relaxed))
                .is_ok_and(|c| c < self.capacity())
    }

    /// Count the registered clients again: when `now`, or when the registry
    /// changed and the last count is [`COUNT_INTERVAL`] old.
    async fn recount(&self, generation: i64, now: bool) -> Result<(), StoreError> {
        if !now {
            let counted = lock(&self.counted);
            if counted.1 == generation || counted.0.elapsed() < COUNT_INTERVAL {
                return Ok(());
            }
        }
        let count = self.store.count_clients().await?;
        self.count.store(count, Ordering::Relaxed);
        *lock(&self.counted) = (Instant::now(), generation);
        Ok(())
    }

    /// One change announced by the store.
    async fn on_change(&self, change: Change) -> Result<(), StoreError> {
        match change {
            Change::Client { id, generation } => {
                let have = self.generation();
                if generation <= have {
                    Ok(())
                } else if generation == have + 1 {
                    // Applied once forgotten; reading it again is a courtesy,
                    // done before the generation is reached so that reaching
                    // it means the registry is done with the change.
                    let cached = self.forget(&id);
                    let read = if cached || self.fits() {
                        self.fetch(&self.shards[shard_of(&id)], &id).await.map(drop)
                    } else {
                        Ok(())
                    };
                    self.generation.fetch_max(generation, Ordering::AcqRel);
                    read
                } else {
                    tracing::debug!(have, generation, "registry generations skipped; resyncing");
                    self.resync().await
                }
            }
            Change::Clients | Change::Resync => self.resync().await,
            _ => Ok(()),
        }
    }

    /// Keep the registry current until `shutdown` turns true.
    pub fn spawn_watcher(
        self: &Arc<Self>,
        mut shutdown: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let registry = Arc::clone(self);
        let mut changes = registry.store.subscribe();
        tokio::spawn(async move {
            let mut poll = tokio::time::interval(POLL_INTERVAL);
            poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // A store generation the registry had not reached at the last poll.
            let mut behind: Option<i64> = None;
            loop {
                let result = tokio::select! {
                    _ = shutdown.changed() => return,
                    change = changes.recv() => match change {
                        Ok(change) => registry.on_change(change).await,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => registry.resync().await,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    },
                    _ = poll.tick() => match registry.store.registry_generation().await {
                        Ok(g) => {
                            let have = registry.generation();
                            if g <= have {
                                behind = None;
                                registry.recount(have, false).await
                            } else if behind.is_some_and(|b| have < b) {
                                // Not reached in a whole interval: a change was missed.
                                behind = None;
                                tracing::debug!(have, store = g, "registry behind the store; resyncing");
                                registry.resync().await
                            } else {
                                behind = Some(g);
                                Ok(())
                            }
                        }
                        Err(e) => Err(e),
                    },
                };
                if let Err(e) = result {
                    tracing::warn!(error = %e, "cannot follow the client registry; keeping what is cached");
                }
            }
        })
    }
}

/// Validate and compile a stored document.
pub fn compile(
    id: &str,
    document: serde_json::Value,
    policy: Policy,
    now: OffsetDateTime,
) -> Result<CompiledClient, String> {
    let mut app: ClientApplication = serde_json::from_value(document).map_err(|e| e.to_string())?;
    app.id = Some(id.to_string());
    app.validate(policy, now)
        .map(|v| v.client)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::test_store::Flaky;

    fn document(id: &str, ca_pem: &str) -> serde_json::Value {
        serde_json::json!({
            "resourceType": "ClientApplication",
            "name": id,
            "certificateTrustStore": ca_pem,
        })
    }

    #[tokio::test]
    async fn a_client_that_cannot_be_read_is_refused_and_one_held_still_answers() {
        let inner = certbound_store::open("sqlite::memory:").await.unwrap();
        let leaf = certbound_testkit::self_signed(
            &certbound_testkit::LeafOptions::client("held").around_now(),
        );
        // More clients than the cache holds: read on demand, none read in.
        let clients: Vec<certbound_store::NewClient> = (0..300)
            .map(|i| {
                let id = format!("c{i}");
                certbound_store::NewClient {
                    document: document(&id, &leaf.cert_pem()),
                    name: id.clone(),
                    id,
                }
            })
            .collect();
        inner.create_clients(&clients).await.unwrap();
        let store = Arc::new(Flaky::new(inner));
        let registry = Registry::load(store.clone(), Policy::default(), 256)
            .await
            .unwrap();
        assert!(registry.get("c1").await.unwrap().is_some());

        store.reads_down.store(true, Ordering::Relaxed);
        assert!(
            registry.get("c1").await.unwrap().is_some(),
            "held: answered"
        );
        assert!(
            registry.get("c2").await.is_err(),
            "not held: an error, not a refusal remembered"
        );
        assert!(registry.get("c2").await.is_err());

        store.reads_down.store(false, Ordering::Relaxed);
        assert!(
            registry.get("c2").await.unwrap().is_some(),
            "read once the store is back"
        );
    }
}
