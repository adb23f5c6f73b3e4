//! The client registry held in memory: every `ClientApplication` from the
//! store, validated and compiled, swapped in whole on every change so the
//! token endpoint reads it without a lock or a database round trip. Changes
//! arrive from the store's notifications (other instances included) and, as a
//! fallback, from polling the store's generation counter.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use certbound_oauth::client::{ClientApplication, ClientStatus, CompiledClient, Policy};
use certbound_store::{Change, Store, StoreError};
use time::OffsetDateTime;
use tokio::sync::watch;

/// How often the store's generation is polled besides notifications.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// One consistent view of the registry.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The store's registry generation this view was read at.
    pub generation: i64,
    pub clients: HashMap<String, Arc<CompiledClient>>,
}

/// The registry, always readable.
#[derive(Debug)]
pub struct Registry {
    current: ArcSwap<Snapshot>,
    store: Arc<dyn Store>,
    policy: Policy,
}

impl Registry {
    /// Load every client from the store.
    pub async fn load(store: Arc<dyn Store>, policy: Policy) -> Result<Arc<Self>, StoreError> {
        let registry = Arc::new(Self {
            current: ArcSwap::from_pointee(Snapshot::default()),
            store,
            policy,
        });
        registry.reload().await?;
        Ok(registry)
    }

    /// The current view.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// The status of `client_id`; `None` when it is not registered (or its
    /// record does not validate). Tokens are honoured only while `active`.
    pub fn status(&self, client_id: &str) -> Option<ClientStatus> {
        self.current.load().clients.get(client_id).map(|c| c.status)
    }

    /// Read the whole registry again and swap it in.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let generation = self.store.registry_generation().await?;
        let records = self.store.list_clients(None).await?;
        let now = OffsetDateTime::now_utc();
        let mut clients = HashMap::with_capacity(records.len());
        for record in records {
            match compile(&record.id, record.document, self.policy, now) {
                Ok(client) => {
                    clients.insert(record.id.clone(), Arc::new(client));
                }
                // Fail closed: a record that no longer validates authenticates nobody.
                Err(reason) => {
                    tracing::warn!(client_id = %record.id, %reason, "stored client skipped: it does not validate")
                }
            }
        }
        tracing::debug!(generation, clients = clients.len(), "registry loaded");
        self.current.store(Arc::new(Snapshot {
            generation,
            clients,
        }));
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
            loop {
                let reload = tokio::select! {
                    _ = shutdown.changed() => return,
                    change = changes.recv() => match change {
                        Ok(Change::Clients | Change::Resync) => true,
                        Ok(_) => false,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => true,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    },
                    _ = poll.tick() => match registry.store.registry_generation().await {
                        Ok(g) => g != registry.snapshot().generation,
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot poll the registry generation");
                            false
                        }
                    },
                };
                if reload {
                    if let Err(e) = registry.reload().await {
                        tracing::warn!(error = %e, "cannot reload the client registry; keeping the previous one");
                    }
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
