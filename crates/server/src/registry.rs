//! The client registry held in memory: every `ClientApplication` from the
//! store, validated and compiled, so the token endpoint reads it without a
//! lock or a database round trip. A change to one client (announced by the
//! store with the generation it reached, from this instance or another)
//! recompiles that client alone and swaps in a view that shares every other
//! client with the previous one: the clients are kept in [`SHARDS`] maps and
//! a change copies one of them. The whole registry is read again only when a
//! change may have been missed: a gap in the generations, a lagging or lost
//! subscription, or a store generation that the view has not reached one
//! poll interval later.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use certbound_oauth::client::{ClientApplication, ClientStatus, CompiledClient, Policy};
use certbound_store::{Change, ClientRecord, Store, StoreError};
use time::OffsetDateTime;
use tokio::sync::watch;

/// How often the store's generation is polled besides notifications.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// The maps the clients are spread over: a change copies one of them.
pub const SHARDS: usize = 256;

/// Registries at least this large are compiled on several threads.
const PARALLEL_COMPILE_MIN: usize = 1024;
/// Most threads a full load compiles on.
const MAX_COMPILE_THREADS: usize = 8;

type Shard = HashMap<String, Arc<CompiledClient>>;

/// One consistent view of the registry.
#[derive(Debug)]
pub struct Snapshot {
    /// The store's registry generation this view has every change up to.
    pub generation: i64,
    shards: Vec<Arc<Shard>>,
    len: usize,
}

impl Default for Snapshot {
    fn default() -> Self {
        Self {
            generation: 0,
            shards: (0..SHARDS).map(|_| Arc::default()).collect(),
            len: 0,
        }
    }
}

fn shard_of(id: &str) -> usize {
    // A fixed hash: the shard of an id is the same in every view.
    let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(id);
    (hash % SHARDS as u64) as usize
}

impl Snapshot {
    /// The client `id`, when registered (and valid).
    pub fn get(&self, id: &str) -> Option<&Arc<CompiledClient>> {
        self.shards.get(shard_of(id))?.get(id)
    }

    /// How many clients there are.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every client, in no particular order.
    pub fn clients(&self) -> impl Iterator<Item = &Arc<CompiledClient>> {
        self.shards.iter().flat_map(|s| s.values())
    }

    fn from_clients(generation: i64, clients: Vec<Arc<CompiledClient>>) -> Self {
        let mut shards: Vec<Shard> = (0..SHARDS).map(|_| HashMap::new()).collect();
        let len = clients.len();
        for c in clients {
            shards[shard_of(&c.id)].insert(c.id.clone(), c);
        }
        Self {
            generation,
            shards: shards.into_iter().map(Arc::new).collect(),
            len,
        }
    }

    /// This view with `id` replaced by `client` (removed when `None`), at
    /// `generation`: one shard is copied, the others shared.
    fn with(&self, id: &str, client: Option<Arc<CompiledClient>>, generation: i64) -> Self {
        let i = shard_of(id);
        let mut shard: Shard = (*self.shards[i]).clone();
        let before = shard.len();
        match client {
            Some(c) => {
                shard.insert(id.to_owned(), c);
            }
            None => {
                shard.remove(id);
            }
        }
        let len = self.len + shard.len() - before;
        let mut shards = self.shards.clone();
        shards[i] = Arc::new(shard);
        Self {
            generation,
            shards,
            len,
        }
    }
}

/// The registry, always readable.
#[derive(Debug)]
pub struct Registry {
    current: ArcSwap<Snapshot>,
    store: Arc<dyn Store>,
    policy: Policy,
    /// Clients compiled since start, for tests and metrics.
    compiled: AtomicU64,
    /// Held while the store is read and the view swapped (a reload or one
    /// client): each update reads the store after the one before it was
    /// applied, so no older read can overwrite a newer one (two refreshes
    /// of one client crossing, or a deleted client's record coming back).
    updating: tokio::sync::Mutex<()>,
}

impl Registry {
    /// Load every client from the store.
    pub async fn load(store: Arc<dyn Store>, policy: Policy) -> Result<Arc<Self>, StoreError> {
        let registry = Arc::new(Self {
            current: ArcSwap::from_pointee(Snapshot::default()),
            store,
            policy,
            compiled: AtomicU64::new(0),
            updating: tokio::sync::Mutex::new(()),
        });
        registry.reload().await?;
        Ok(registry)
    }

    /// The current view.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// How many client documents were compiled since start (every one at a
    /// full reload, one per change otherwise).
    pub fn compiled(&self) -> u64 {
        self.compiled.load(Ordering::Relaxed)
    }

    /// The status of `client_id`; `None` when it is not registered (or its
    /// record does not validate). Tokens are honoured only while `active`.
    pub fn status(&self, client_id: &str) -> Option<ClientStatus> {
        self.current.load().get(client_id).map(|c| c.status)
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

    /// Read the whole registry again and swap it in.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let _updating = self.updating.lock().await;
        let generation = self.store.registry_generation().await?;
        let records = self.store.list_clients(None).await?;
        let clients = self.compile_all(records);
        tracing::debug!(generation, clients = clients.len(), "registry loaded");
        self.current
            .store(Arc::new(Snapshot::from_clients(generation, clients)));
        Ok(())
    }

    /// Compile every record, on every core when there are many: a large
    /// registry loads in a fraction of the time (start-up included). Runs on
    /// the caller's thread and scoped threads, as the sequential compile
    /// did, with the caller's log subscriber.
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
            // A thread that panicked compiled nothing: its clients are
            // missing, so they authenticate nobody (fail closed).
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
    }

    /// Read client `id` again and swap it in (or out, when it is gone),
    /// leaving the generation as it is: this instance sees its own change at
    /// once; the store's announcement of it advances the generation.
    pub async fn refresh(&self, id: &str) -> Result<(), StoreError> {
        self.apply(id, None).await
    }

    /// [`Registry::refresh`], then the view is at `generation` when given.
    async fn apply(&self, id: &str, generation: Option<i64>) -> Result<(), StoreError> {
        let _updating = self.updating.lock().await;
        let record = self.store.get_client(id).await?;
        let client = record.and_then(|r| self.compile_record(&r.id, r.version, r.document));
        let view = self.current.load();
        let generation = generation.map_or(view.generation, |g| g.max(view.generation));
        self.current
            .store(Arc::new(view.with(id, client, generation)));
        Ok(())
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
            // A store generation the view had not reached at the last poll.
            let mut behind: Option<i64> = None;
            loop {
                let result = tokio::select! {
                    _ = shutdown.changed() => return,
                    change = changes.recv() => match change {
                        Ok(Change::Client { id, generation }) => {
                            let have = registry.snapshot().generation;
                            if generation <= have {
                                Ok(())
                            } else if generation == have + 1 {
                                registry.apply(&id, Some(generation)).await
                            } else {
                                tracing::debug!(have, generation, "registry generations skipped; reloading");
                                registry.reload().await
                            }
                        }
                        Ok(Change::Clients | Change::Resync) => registry.reload().await,
                        Ok(_) => Ok(()),
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => registry.reload().await,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    },
                    _ = poll.tick() => match registry.store.registry_generation().await {
                        Ok(g) => {
                            let have = registry.snapshot().generation;
                            if g <= have {
                                behind = None;
                                Ok(())
                            } else if behind.is_some_and(|b| have < b) {
                                // Not reached in a whole interval: a change was missed.
                                behind = None;
                                tracing::debug!(have, store = g, "registry behind the store; reloading");
                                registry.reload().await
                            } else {
                                behind = Some(g);
                                Ok(())
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot poll the registry generation");
                            Ok(())
                        }
                    },
                };
                if let Err(e) = result {
                    tracing::warn!(error = %e, "cannot update the client registry; keeping the previous view");
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
