//! certbound's server as a library: `bind(config)` opens the store, loads the
//! registry and keys, binds every listener and returns a [`Running`] server
//! that the CLI and the tests drive alike. What is built above it (the
//! console, the gateway) joins through [`bind_with`]: [`mount`] and [`routes`].
//!
//! Data flows one way: TCP accept → TLS handshake (client chain captured,
//! proof of key possession verified) → HTTP → client identity → token endpoint
//! → store (off the request path for the audit trail).

#![warn(unreachable_pub)]

pub mod admin;
pub(crate) mod answer_cache;
pub(crate) mod app;
pub mod audit;
pub(crate) mod audit_spill;
pub(crate) mod chain_cache;
pub(crate) mod client_auth;
pub mod client_keys;
pub mod config;
pub(crate) mod crl;
pub(crate) mod crl_fetch;
pub mod dev;
pub(crate) mod expiry;
pub(crate) mod fhir;
pub(crate) mod forwarded;
pub(crate) mod identity;
pub(crate) mod introspect;
pub(crate) mod keys;
pub(crate) mod listener;
pub mod meta;
pub(crate) mod metrics;
pub mod mount;
pub(crate) mod ocsp;
pub(crate) mod online_revocation;
pub mod registry;
pub(crate) mod reload;
pub(crate) mod replay;
pub(crate) mod reply;
pub(crate) mod request_check;
pub(crate) mod revocations;
pub mod routes;
pub mod signin_link;
pub(crate) mod state;
#[cfg(test)]
mod test_store;
pub(crate) mod tls_server;
pub(crate) mod token;
pub(crate) mod udap;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use certbound_oauth::client::Policy;
use certbound_store::StoreError;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::Config;
pub use identity::{ClientIdentity, Connection, Source};
pub use metrics::Metrics;
pub use reply::{json_response, not_found};

use crate::listener::BoundListener;
use crate::state::{AppState, Documents};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] keys::KeysError),
    #[error(transparent)]
    Tls(#[from] tls_server::TlsSetupError),
    // The OS error is printed once, as the cause.
    #[error(
        "cannot listen on {addr} (listener `{name}`){}",
        certbound_tls::http::bind_hint(source)
    )]
    Bind {
        name: String,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot set up a route: {0}")]
    Routes(routes::RoutesError),
    #[error(
        "the config has [[route]]s, and this server was started without the gateway that serves them"
    )]
    NoGateway,
    #[error("cannot publish the metadata: {0}")]
    Metadata(String),
    #[error("[udap]: {0}")]
    Udap(String),
    #[error("[revocation]: {}", .0.join("; "))]
    Revocation(Vec<String>),
    #[error("cannot create the data directory {}: {source}", path.display())]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// Create the data directory (mode 0700: it holds the signing key) if missing.
fn ensure_data_dir(dir: &std::path::Path) -> Result<(), ServerError> {
    use std::os::unix::fs::PermissionsExt;
    if dir.is_dir() {
        return Ok(());
    }
    let err = |source| ServerError::DataDir {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(err)
}

/// A listener as bound.
#[derive(Debug, Clone)]
pub struct Bound {
    pub name: String,
    pub addr: SocketAddr,
    pub tls: bool,
    /// Whether it asks clients for a certificate.
    pub mtls: bool,
}

/// A running server.
#[derive(Debug)]
pub struct Running {
    pub listeners: Vec<Bound>,
    /// The issuer URL in effect (derived from the first listener in dev mode).
    pub issuer: String,
    pub(crate) state: Arc<AppState>,
    reloader: Arc<reload::Reloader>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    audit_task: JoinHandle<()>,
}

impl Running {
    /// The store behind the server: for tests and tools that look past the API.
    pub fn store(&self) -> &Arc<dyn certbound_store::Store> {
        &self.state.store
    }

    /// The client registry in memory.
    pub fn registry(&self) -> &Arc<registry::Registry> {
        &self.state.registry
    }

    /// The key the server signs tokens with.
    pub fn signing_key(&self) -> &certbound_oauth::SigningKey {
        &self.state.signing_key
    }

    /// Who may use the admin API and the console; `None` without `[admin]`.
    pub fn admin(&self) -> Option<&config::AdminConfig> {
        self.state.admin.as_ref()
    }

    /// The `aud` of the tokens the server issues.
    pub fn audience(&self) -> &[String] {
        &self.state.audience
    }

    /// The server's counters, as `/metrics` renders them.
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.state.metrics
    }

    /// The address of the listener named `name`.
    pub fn addr(&self, name: &str) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|l| l.name == name)
            .map(|l| l.addr)
    }

    /// Reload every listener's certificates now (SIGHUP); a listener whose new
    /// files are invalid keeps its old ones.
    pub fn reload_tls(&self) -> Vec<reload::ReloadOutcome> {
        // The CRLs first: the `client_ca` listeners are then built with them.
        if let Some(crls) = &self.state.crls {
            let _ = crls.reload();
        }
        self.reloader.reload_all()
    }

    /// Ask every listener to stop accepting and drain.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }

    /// Wait until every listener has drained, then flush the audit trail.
    pub async fn wait(self) {
        for t in self.tasks {
            let _ = t.await;
        }
        let store = Arc::clone(&self.state.store);
        drop(self.state);
        if tokio::time::timeout(Duration::from_secs(5), self.audit_task)
            .await
            .is_err()
        {
            tracing::warn!("audit writer still busy at shutdown");
        }
        store.close().await;
    }
}

/// Whether a missing signing key may be made: not when the store records a
/// signing key (this or another instance signed with it), nor when it holds
/// signs of tokens issued before keys were recorded (token events in the
/// audit trail, revocations). Clients registered before the first start do
/// not count: nothing was signed for them yet.
async fn first_start(store: &dyn certbound_store::Store) -> Result<keys::FirstStart, ServerError> {
    let mut history = Vec::new();
    let kids = store.signing_keys().await?;
    if !kids.is_empty() {
        history.push(format!("it records the signing key {}", kids.join(", ")));
    }
    if store.revocation_generation().await? > 0 {
        history.push("it holds token revocations".to_string());
    }
    let filter = certbound_store::AuditFilter {
        kind: Some("token".into()),
        result: Some(certbound_store::AuditResult::Success),
        limit: Some(1),
        ..Default::default()
    };
    if !store.query_audit(&filter).await?.is_empty() {
        history.push("its audit trail holds issued tokens".to_string());
    }
    Ok(if history.is_empty() {
        keys::FirstStart::Yes
    } else {
        keys::FirstStart::No {
            history: history.join("; "),
        }
    })
}

/// Record the signing key in the store, and warn when the store names keys
/// this server does not publish (another instance signs with another key).
async fn record_signing_key(
    store: &dyn certbound_store::Store,
    keys: &keys::Keys,
) -> Result<(), ServerError> {
    let kid = keys.current.kid().to_string();
    let published: Vec<String> = keys
        .verifying
        .iter()
        .filter_map(|k| k.kid())
        .map(str::to_string)
        .collect();
    let foreign: Vec<String> = store
        .signing_keys()
        .await?
        .into_iter()
        .filter(|k| !published.contains(k))
        .collect();
    if !foreign.is_empty() {
        tracing::warn!(
            current = %kid,
            others = %foreign.join(", "),
            "the store records signing keys this server neither signs with nor publishes: if another instance signs with one, copy the same key to every instance (or list it in previous_keys)"
        );
    }
    store.record_signing_key(&kid).await?;
    Ok(())
}

/// What `private_key_jwt` assertions may name as `aud`: the issuer and the
/// token endpoint of each listener (RFC 7523 §3, RFC 8705 §5 aliases).
fn assertion_audiences(
    config: &Config,
    bound: &[Bound],
    issuer: &str,
    derived: bool,
) -> Vec<String> {
    let mut out = vec![issuer.to_owned(), format!("{issuer}{}", meta::TOKEN_PATH)];
    for (l, b) in config.listeners.iter().zip(bound) {
        let base = l.public_url.clone().or_else(|| derived.then(|| url_of(b)));
        if let Some(base) = base {
            let url = format!("{}{}", base.trim_end_matches('/'), meta::TOKEN_PATH);
            if !out.contains(&url) {
                out.push(url);
            }
        }
    }
    out
}

/// Start the server described by `config`, with only its own endpoints (and
/// so no `[[route]]`s).
pub async fn bind(config: &Config) -> Result<Running, ServerError> {
    bind_with(config, &[], None).await
}

/// Start the server described by `config`, its listeners serving `mounts`
/// (the console) beside its own endpoints, and the `[[route]]`s through
/// what `routes` builds (the gateway). A config with routes and no `routes`
/// is refused ([`ServerError::NoGateway`]).
pub async fn bind_with(
    config: &Config,
    mounts: &[mount::Mount],
    routes: Option<routes::BuildRoutes>,
) -> Result<Running, ServerError> {
    ensure_data_dir(&config.data_dir)?;
    let store = certbound_store::open(&config.store_url).await?;
    let policy = Policy {
        require_constraints: config.issuer.require_subject_constraint,
        hrex: config.issuer.hrex,
    };
    let registry =
        registry::Registry::load(Arc::clone(&store), policy, config.client_cache).await?;
    let revocations = revocations::Revocations::load(Arc::clone(&store)).await?;
    let first = if config.issuer.signing_key.exists() {
        keys::FirstStart::Yes
    } else {
        first_start(store.as_ref()).await?
    };
    let keys = keys::load(
        &config.issuer.signing_key,
        config.issuer.algorithm,
        &config.issuer.previous_keys,
        &first,
    )?;
    record_signing_key(store.as_ref(), &keys).await?;

    let mut bound = Vec::new();
    let mut listeners = Vec::new();
    let mut reloader = reload::Reloader::default();
    let crls = match &config.revocation {
        Some(rc) if !rc.crl_files.is_empty() => {
            let crls = crl::CrlStore::load(rc.clone(), known_issuers(config, &registry))
                .map_err(ServerError::Revocation)?;
            reloader.set_crls(Arc::clone(&crls));
            Some(crls)
        }
        _ => None,
    };
    let revocation = crls.as_ref().map(|c| c.check());
    for l in &config.listeners {
        let tcp = TcpListener::bind(l.bind)
            .await
            .map_err(|source| ServerError::Bind {
                name: l.name.clone(),
                addr: l.bind,
                source,
            })?;
        let addr = tcp.local_addr().map_err(|source| ServerError::Bind {
            name: l.name.clone(),
            addr: l.bind,
            source,
        })?;
        let tls = match &l.tls {
            Some(profile) => {
                let live = Arc::new(arc_swap::ArcSwap::new(tls_server::server_config(
                    profile,
                    revocation.as_ref(),
                )?));
                if let Some(source) = &l.tls_source {
                    reloader.add(&l.name, source.clone(), Arc::clone(&live));
                }
                Some(live)
            }
            None => None,
        };
        let mtls = l
            .tls
            .as_ref()
            .is_some_and(|p| p.client_auth != certbound_tls::profile::ClientAuth::Off);
        bound.push(Bound {
            name: l.name.clone(),
            addr,
            tls: tls.is_some(),
            mtls,
        });
        listeners.push(BoundListener {
            name: l.name.as_str().into(),
            tcp,
            tls,
            forwarded: l.forwarded.clone().map(Arc::new),
            limits: l.limits,
            client_ca: l
                .tls
                .as_ref()
                .and_then(|p| p.client_ca.clone())
                .map(Arc::new),
        });
    }

    // In dev mode the URLs come from the ports actually bound.
    let derived = config.issuer.url.is_empty();
    let issuer = if derived {
        bound.first().map(url_of).unwrap_or_default()
    } else {
        config.issuer.url.clone()
    };
    // The mTLS alias: the first mTLS listener with a public URL, else (dev
    // mode) the first mTLS listener's bound address.
    let mtls = || config.listeners.iter().zip(&bound).filter(|(_, b)| b.mtls);
    let mtls_url = mtls()
        .find_map(|(l, _)| l.public_url.clone())
        .or_else(|| derived.then(|| mtls().next().map(|(_, b)| url_of(b)))?);
    warn_without_mtls_alias(config, &bound, &issuer, mtls_url.is_some());
    let audience = if derived {
        vec![issuer.clone()]
    } else {
        config.issuer.audience.clone()
    };
    let audiences = assertion_audiences(config, &bound, &issuer, derived);
    let metadata =
        meta::metadata_json(&issuer, mtls_url.as_deref()).map_err(ServerError::Metadata)?;
    let documents = Documents {
        jwks: keys.verifying.to_jwks().to_json(),
        smart: meta::smart_configuration_json(&metadata).map_err(ServerError::Metadata)?,
        metadata,
    };

    let gateway = match (config.routes.is_empty(), routes) {
        (true, _) => None,
        (false, None) => return Err(ServerError::NoGateway),
        (false, Some(build)) => {
            Some(build(&config.routes, &issuer, &audience).map_err(ServerError::Routes)?)
        }
    };
    let (audit, audit_task) = audit::spawn_writer(
        Arc::clone(&store),
        config.data_dir.join(audit_spill::SPILL_FILE),
    );
    let state = Arc::new(AppState {
        issuer: issuer.clone(),
        audience,
        token_lifetime: config.issuer.token_lifetime,
        signing_key: keys.current,
        verifying_keys: keys.verifying,
        policy,
        registry: Arc::clone(&registry),
        revocations: Arc::clone(&revocations),
        metrics: metrics::Metrics::default(),
        replays: replay::Replays::spawn(Arc::clone(&store)),
        store,
        audit,
        audit_on_store_error: config.audit_on_store_error,
        chain_cache: chain_cache::ChainCache::default(),
        crls: crls.clone(),
        online_revocation: config
            .revocation
            .as_ref()
            .and_then(|r| online_revocation::Sources::new(r.fetch_crl, r.ocsp, r.unavailable)),
        admin: config.admin.clone(),
        metrics_allow: config.metrics_allow.clone(),
        listeners: bound
            .iter()
            .cloned()
            .zip(config.listeners.iter().cloned())
            .collect(),
        gateway: gateway.clone(),
        client_jwks: client_keys::ClientJwks::new(config.issuer.jwks_ca.clone()),
        udap: udap::Udap::new(&config.udap, &issuer, &audiences).map_err(ServerError::Udap)?,
        assertion_audiences: audiences,
        mounted: mounts.iter().map(|m| m.prefix).collect(),
        documents,
    });
    let (shutdown, shutdown_rx) = watch::channel(false);
    let reloader = Arc::new(reloader);
    if let Some(crls) = &crls {
        // New CRLs: the `client_ca` listeners get a TLS config that checks them.
        let weak = Arc::downgrade(&reloader);
        crls.on_change(move || {
            if let Some(r) = weak.upgrade() {
                r.reload_client_ca();
            }
        });
    }
    let mut tasks = vec![
        registry.spawn_watcher(shutdown_rx.clone()),
        revocations.spawn_watcher(shutdown_rx.clone()),
        reloader.spawn_watch(shutdown_rx.clone()),
    ];
    if let Some(gateway) = gateway {
        tasks.push(gateway.spawn_background(shutdown_rx.clone()));
    }
    if let Some(crls) = &crls {
        tasks.push(crls.spawn_watch(shutdown_rx.clone()));
    }
    // The certificates relied on, exported and watched from the start.
    let mut expiry = expiry::Watch::new(config.listeners.clone(), config.routes.clone());
    expiry.refresh(&state, time::OffsetDateTime::now_utc());
    tasks.push(expiry::spawn(
        Arc::clone(&state),
        expiry,
        shutdown_rx.clone(),
    ));
    if let Some(retention) = config.audit_retention {
        tasks.push(audit::spawn_purger(
            Arc::clone(&state.store),
            retention,
            shutdown_rx.clone(),
        ));
    }
    let router = app::router(Arc::clone(&state), mounts);
    for l in listeners {
        tracing::info!(listener = %l.name, addr = ?l.tcp.local_addr().ok(), tls = l.tls.is_some(), "listening");
        tasks.push(tokio::spawn(listener::serve(
            l,
            router.clone(),
            Arc::clone(&state),
            shutdown_rx.clone(),
        )));
    }
    Ok(Running {
        reloader,
        listeners: bound,
        issuer,
        state,
        shutdown,
        tasks,
        audit_task,
    })
}

/// The CA certificates a CRL may be signed by, read again at each CRL reload:
/// the listeners' and routes' `client_ca`, and every client's trust store.
fn known_issuers(config: &Config, registry: &Arc<registry::Registry>) -> crl::KnownIssuers {
    let mut fixed: Vec<certbound_pki::CertDer> = config
        .listeners
        .iter()
        .filter_map(|l| l.tls.as_ref()?.client_ca.clone())
        .flatten()
        .collect();
    for community in &config.udap {
        fixed.extend(community.anchors.iter().cloned());
        fixed.extend(community.intermediates.iter().cloned());
    }
    fixed.extend(
        config
            .routes
            .iter()
            .filter_map(|r| r.client_ca.as_ref())
            .flat_map(|a| a.certs().iter().cloned()),
    );
    let registry = Arc::clone(registry);
    Arc::new(move || {
        let mut known = fixed.clone();
        for client in registry.cached() {
            if let Some(store) = &client.trust_store {
                known.extend(store.anchors.certs().iter().cloned());
            }
        }
        known
    })
}

/// Without an mTLS alias in the metadata, clients are sent to the issuer's
/// token endpoint; when a listener that asks for no certificate may be
/// what answers there, certificate-authenticated clients fail with
/// `invalid_client`. Say so at start, with the fix.
fn warn_without_mtls_alias(config: &Config, bound: &[Bound], issuer: &str, alias: bool) {
    let mtls = config.listeners.iter().zip(bound).find(|(_, b)| b.mtls);
    let open = config
        .listeners
        .iter()
        .zip(bound)
        .find(|(l, b)| !b.mtls && l.forwarded.is_none());
    if let (false, Some((mtls, _)), Some((open, _))) = (alias, mtls, open) {
        tracing::warn!(
            mtls_listener = %mtls.name,
            listener = %open.name,
            "no mTLS listener has a public_url, so the metadata names no mtls_endpoint_aliases: clients are sent to {issuer}{}, and if listener '{}' (which asks for no client certificate) answers there, clients that authenticate by certificate get invalid_client; set public_url on listener '{}' to the URL clients reach it at",
            meta::TOKEN_PATH,
            open.name,
            mtls.name,
        );
    }
}

fn url_of(b: &Bound) -> String {
    let scheme = if b.tls { "https" } else { "http" };
    format!("{scheme}://{}", b.addr)
}
