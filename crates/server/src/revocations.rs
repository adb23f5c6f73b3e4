//! Revoked tokens held in memory (their `jti` until the token would have
//! expired anyway), so verifying a token never waits on the database. Loaded
//! from the store at start, updated at once by local revocations and, through
//! the store's notifications or a poll, by other instances.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use certbound_store::{Change, Store, StoreError};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::registry::POLL_INTERVAL;

/// The revoked `jti`s and when each token expires.
#[derive(Debug)]
pub struct Revocations {
    current: ArcSwap<(i64, HashMap<String, OffsetDateTime>)>,
    store: Arc<dyn Store>,
}

impl Revocations {
    pub async fn load(store: Arc<dyn Store>) -> Result<Arc<Self>, StoreError> {
        let r = Arc::new(Self {
            current: ArcSwap::from_pointee((0, HashMap::new())),
            store,
        });
        r.reload().await?;
        Ok(r)
    }

    /// Whether the token with `jti` is revoked.
    pub fn is_revoked(&self, jti: &str) -> bool {
        self.current.load().1.contains_key(jti)
    }

    /// Revoke a token: stored first (so it is durable and other instances
    /// see it), then visible here at once.
    pub async fn revoke(
        &self,
        jti: &str,
        client_id: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.store.revoke(jti, client_id, expires_at).await?;
        self.reload().await
    }

    pub async fn reload(&self) -> Result<(), StoreError> {
        let generation = self.store.revocation_generation().await?;
        let now = OffsetDateTime::now_utc();
        let set: HashMap<String, OffsetDateTime> = self
            .store
            .active_revocations(now)
            .await?
            .into_iter()
            .collect();
        self.current.store(Arc::new((generation, set)));
        Ok(())
    }

    /// Keep the set current until `shutdown` turns true; purge expired rows hourly.
    pub fn spawn_watcher(
        self: &Arc<Self>,
        mut shutdown: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let me = Arc::clone(self);
        let mut changes = me.store.subscribe();
        tokio::spawn(async move {
            let mut poll = tokio::time::interval(POLL_INTERVAL);
            poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut purge = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                let reload = tokio::select! {
                    _ = shutdown.changed() => return,
                    change = changes.recv() => match change {
                        Ok(Change::Revocations | Change::Resync) => true,
                        Ok(_) => false,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => true,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    },
                    _ = poll.tick() => match me.store.revocation_generation().await {
                        Ok(g) => g != me.current.load().0,
                        Err(_) => false,
                    },
                    _ = purge.tick() => {
                        if let Err(e) = me.store.purge_expired(OffsetDateTime::now_utc()).await {
                            tracing::warn!(error = %e, "cannot purge expired revocations");
                        }
                        false
                    }
                };
                if reload {
                    if let Err(e) = me.reload().await {
                        tracing::warn!(error = %e, "cannot reload revocations; keeping the previous set");
                    }
                }
            }
        })
    }
}
