//! A store for unit tests that fails on demand, over a real one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use certbound_store::{
    AuditEvent, AuditFilter, Change, ClientRecord, Store as StoreTrait, StoreError,
};
use time::OffsetDateTime;

/// A real store that fails on demand: audit writes while `down` is set,
/// client reads while `reads_down` is set.
#[derive(Debug)]
pub(crate) struct Flaky {
    pub(crate) inner: Arc<dyn StoreTrait>,
    pub(crate) down: AtomicBool,
    /// Writes hang (a database that keeps them waiting for a connection).
    pub(crate) hang: AtomicBool,
    pub(crate) reads_down: AtomicBool,
}

impl Flaky {
    /// `inner`, working.
    pub(crate) fn new(inner: Arc<dyn StoreTrait>) -> Self {
        Self {
            inner,
            down: AtomicBool::new(false),
            hang: AtomicBool::new(false),
            reads_down: AtomicBool::new(false),
        }
    }
}

#[async_trait]
impl StoreTrait for Flaky {
    fn location(&self) -> &str {
        self.inner.location()
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
    async fn create_client(
        &self,
        id: &str,
        name: &str,
        document: &serde_json::Value,
    ) -> Result<ClientRecord, StoreError> {
        self.inner.create_client(id, name, document).await
    }
    async fn create_clients(
        &self,
        clients: &[certbound_store::NewClient],
    ) -> Result<u64, StoreError> {
        self.inner.create_clients(clients).await
    }
    async fn get_client(&self, id: &str) -> Result<Option<ClientRecord>, StoreError> {
        if self.reads_down.load(Ordering::Relaxed) {
            return Err(StoreError::Database {
                operation: "reading a client",
                message: "connection refused (test)".into(),
            });
        }
        self.inner.get_client(id).await
    }
    async fn list_clients(&self, name: Option<&str>) -> Result<Vec<ClientRecord>, StoreError> {
        self.inner.list_clients(name).await
    }
    async fn update_client(
        &self,
        id: &str,
        name: &str,
        document: &serde_json::Value,
        expected_version: Option<i64>,
    ) -> Result<ClientRecord, StoreError> {
        self.inner
            .update_client(id, name, document, expected_version)
            .await
    }
    async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        self.inner.delete_client(id).await
    }
    async fn count_clients(&self) -> Result<u64, StoreError> {
        self.inner.count_clients().await
    }
    async fn registry_generation(&self) -> Result<i64, StoreError> {
        self.inner.registry_generation().await
    }
    async fn revocation_generation(&self) -> Result<i64, StoreError> {
        self.inner.revocation_generation().await
    }
    async fn revoke(
        &self,
        jti: &str,
        client_id: &str,
        expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.inner.revoke(jti, client_id, expires_at).await
    }
    async fn is_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        self.inner.is_revoked(jti).await
    }
    async fn use_assertions(
        &self,
        uses: &[certbound_store::AssertionUse],
    ) -> Result<Vec<bool>, StoreError> {
        self.inner.use_assertions(uses).await
    }
    async fn active_revocations(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<(String, OffsetDateTime)>, StoreError> {
        self.inner.active_revocations(now).await
    }
    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.inner.purge_expired(now).await
    }
    async fn purge_audit(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        self.inner.purge_audit(before).await
    }
    async fn append_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        if self.hang.load(Ordering::Relaxed) {
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        }
        if self.down.load(Ordering::Relaxed) {
            return Err(StoreError::Database {
                operation: "writing audit events",
                message: "connection refused (test)".into(),
            });
        }
        self.inner.append_audit(events).await
    }
    async fn query_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        self.inner.query_audit(filter).await
    }
    async fn record_signing_key(&self, kid: &str) -> Result<(), StoreError> {
        self.inner.record_signing_key(kid).await
    }
    async fn signing_keys(&self) -> Result<Vec<String>, StoreError> {
        self.inner.signing_keys().await
    }
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.inner.subscribe()
    }
    async fn close(&self) {
        self.inner.close().await;
    }
}
