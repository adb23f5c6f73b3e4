//! What every request handler shares: the issuer's settings, the signing keys,
//! the registry, the store and the audit queue. Built once at start-up; the
//! parts that change (registry) swap themselves in without locks.

use std::sync::Arc;

use certbound_oauth::client::Policy;
use certbound_oauth::{SigningKey, VerifyingKeys};
use certbound_store::Store;

use crate::audit::AuditSender;
use crate::registry::Registry;

/// Shared state of the application.
#[derive(Debug)]
pub struct AppState {
    pub issuer: String,
    pub audience: Vec<String>,
    pub token_lifetime: u64,
    pub signing_key: SigningKey,
    pub verifying_keys: VerifyingKeys,
    pub policy: Policy,
    pub registry: Arc<Registry>,
    pub revocations: Arc<crate::revocations::Revocations>,
    pub metrics: crate::metrics::Metrics,
    pub store: Arc<dyn Store>,
    pub audit: AuditSender,
    /// `[audit] on_store_error`: what the token endpoint does while audit writes fail.
    pub audit_on_store_error: crate::config::OnStoreError,
    /// Certificate authentications that succeeded, shared across connections.
    pub chain_cache: crate::chain_cache::ChainCache,
    /// `[revocation]`: the CRLs in force; `None` when not configured.
    pub crls: Option<Arc<crate::crl::CrlStore>>,
    /// `[revocation] fetch_crl` / `ocsp`: the sources certificates name;
    /// `None` when both are off.
    pub online_revocation: Option<crate::online_revocation::Sources>,
    /// The `[[route]]`s; `None` without any.
    pub gateway: Option<Arc<dyn crate::routes::Routes>>,
    /// Peers allowed to read `/metrics`.
    pub metrics_allow: Vec<crate::forwarded::Cidr>,
    /// `None` when the admin API is disabled.
    pub admin: Option<crate::config::AdminConfig>,
    /// Every listener as configured, with the address it bound (the console's Listeners page).
    pub listeners: Vec<(crate::Bound, crate::config::ListenerConfig)>,
    /// Clients' `jwks_uri` key sets, fetched and cached.
    pub client_jwks: crate::client_keys::ClientJwks,
    /// Records client assertions' `jti`s in the store, batched.
    pub replays: crate::replay::Replays,
    /// The `aud` values a client assertion may carry.
    pub assertion_audiences: Vec<String>,
    /// `[[udap.community]]`; `None` when UDAP is off.
    pub udap: Option<crate::udap::Udap>,
    /// The prefixes of what is mounted beside the server's endpoints (the console).
    pub mounted: Vec<&'static str>,
    /// Documents that never change while running.
    pub documents: Documents,
}

/// JSON documents that never change while running, rendered once.
#[derive(Debug, Clone)]
pub struct Documents {
    pub jwks: String,
    pub metadata: String,
    /// `/.well-known/smart-configuration`.
    pub smart: String,
}
