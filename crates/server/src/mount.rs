//! How a part of certbound built above the server (the console) joins its
//! listeners: a [`Mount`] names the path prefix it owns and makes its routes
//! from a [`Context`], the little of the application it may read and do.
//! The server never imports what it mounts; the CLI hands the mounts to
//! [`crate::bind_with`]. The gateway gets the same [`Context`], with the
//! checks of [`crate::routes`].

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use certbound_oauth::client::{ClientApplication, Policy};
use certbound_store::{AuditEvent, ClientRecord, Store};
use serde_json::Value;

use crate::admin::{Actor, AdminError};
use crate::config::{AdminConfig, ListenerConfig};
use crate::state::AppState;

/// A set of routes the server's listeners serve beside its own.
#[derive(Debug, Clone, Copy)]
pub struct Mount {
    /// Every path the routes answer starts with it: requests under it reach
    /// the router even where a `[[route]]` serves `/`.
    pub prefix: &'static str,
    /// The routes, with their paths in full (the prefix included).
    pub router: fn(Context) -> Router,
}

/// What a mounted part sees of the running server.
#[derive(Debug, Clone)]
pub struct Context(pub(crate) Arc<AppState>);

impl Context {
    /// The store behind the registry and the audit trail.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.0.store
    }

    /// `[admin]`; `None` when the admin API is off.
    pub fn admin(&self) -> Option<&AdminConfig> {
        self.0.admin.as_ref()
    }

    /// How client documents are validated.
    pub fn policy(&self) -> Policy {
        self.0.policy
    }

    /// The lifetime of the tokens the server issues, in seconds.
    pub fn token_lifetime(&self) -> u64 {
        self.0.token_lifetime
    }

    /// The issuer URL in effect.
    pub fn issuer(&self) -> &str {
        &self.0.issuer
    }

    /// The authorization server metadata (RFC 8414) as served.
    pub fn metadata(&self) -> &str {
        &self.0.documents.metadata
    }

    /// Every listener as configured, with the address it bound.
    pub fn listeners(&self) -> &[(crate::Bound, ListenerConfig)] {
        &self.0.listeners
    }

    /// Queue an audit record (never waits on the store).
    pub fn audit(&self, event: AuditEvent) {
        self.0.audit.record(event);
    }

    /// Validate a posted client document as the admin API does.
    pub async fn prepare_client(
        &self,
        doc: Value,
        path_id: Option<&str>,
        existing: Option<&ClientRecord>,
    ) -> Result<(ClientApplication, Vec<String>), AdminError> {
        crate::admin::prepare(&self.0, doc, path_id, existing).await
    }

    /// Audit a change `request` made to a client and make this instance
    /// see it at once.
    pub fn client_changed(
        &self,
        request: &Request,
        detail: String,
    ) -> impl Future<Output = ()> + Send + 'static {
        let actor: Actor = crate::admin::actor(request);
        let state = Arc::clone(&self.0);
        async move { crate::admin::changed(&state, &actor, detail).await }
    }
}
