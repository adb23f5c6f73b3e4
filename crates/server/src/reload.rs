//! Certificates reloaded without a restart: on SIGHUP, and when a watched
//! file (a listener's certificate, key or client CA bundle) changes. The new
//! files are loaded and checked as at start-up; only a complete, valid set is
//! swapped in, so a failed reload keeps the old certificates and logs why.
//! Handshakes in flight finish with the config they started with.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use certbound_pki::revocation::RevocationCheck;
use certbound_tls::profile::{RawProfile, TlsProfile};
use rustls::ServerConfig;
use tokio::sync::watch;

use crate::tls_server::server_config;

/// How often watched files are checked for changes.
pub(crate) const WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// Where a listener's TLS profile comes from, to load it again.
#[derive(Debug, Clone)]
pub struct TlsSource {
    pub name: String,
    pub raw: RawProfile,
    /// Directory relative paths start from.
    pub base: PathBuf,
}

impl TlsSource {
    fn files(&self) -> Vec<PathBuf> {
        [&self.raw.cert, &self.raw.key, &self.raw.client_ca]
            .into_iter()
            .flatten()
            .map(|p| self.base.join(p))
            .collect()
    }

    /// Load and check the files; build the server config (a `client_ca`
    /// listener checking `revocation`).
    pub fn load(&self, revocation: Option<&RevocationCheck>) -> Result<Arc<ServerConfig>, String> {
        let profile =
            TlsProfile::resolve(&self.name, &self.raw, &self.base).map_err(|problems| {
                problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            })?;
        server_config(&profile, revocation).map_err(|e| e.to_string())
    }
}

/// One listener's live TLS config.
#[derive(Debug)]
struct Entry {
    listener: String,
    source: TlsSource,
    current: Arc<ArcSwap<ServerConfig>>,
    stamps: std::sync::Mutex<Vec<Option<(SystemTime, u64)>>>,
}

/// Every reloadable listener.
#[derive(Debug, Default)]
pub(crate) struct Reloader {
    entries: Vec<Entry>,
    /// `[revocation]`: the CRLs `client_ca` listeners check.
    crls: Option<Arc<crate::crl::CrlStore>>,
}

/// The outcome of reloading one listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadOutcome {
    pub listener: String,
    pub result: Result<(), String>,
}

impl Reloader {
    /// Watch `current`, which serves `listener`, reloading it from `source`.
    pub(crate) fn add(
        &mut self,
        listener: &str,
        source: TlsSource,
        current: Arc<ArcSwap<ServerConfig>>,
    ) {
        let files = source.files();
        self.entries.push(Entry {
            listener: listener.to_string(),
            source,
            current,
            stamps: std::sync::Mutex::new(certbound_tls::material::stamps(&files)),
        });
    }

    /// Build `client_ca` listeners' configs with the CRLs of `crls`.
    pub(crate) fn set_crls(&mut self, crls: Arc<crate::crl::CrlStore>) {
        self.crls = Some(crls);
    }

    fn revocation(&self) -> Option<RevocationCheck> {
        self.crls.as_ref().map(|c| c.check())
    }

    /// Reload every listener now (SIGHUP).
    pub(crate) fn reload_all(&self) -> Vec<ReloadOutcome> {
        let revocation = self.revocation();
        self.entries
            .iter()
            .map(|e| reload(e, revocation.as_ref()))
            .collect()
    }

    /// Rebuild the listeners with a `client_ca` (the CRLs changed).
    pub(crate) fn reload_client_ca(&self) {
        let revocation = self.revocation();
        for entry in self
            .entries
            .iter()
            .filter(|e| e.source.raw.client_ca.is_some())
        {
            reload(entry, revocation.as_ref());
        }
    }

    /// Reload listeners whose files changed, every [`WATCH_INTERVAL`], until shutdown.
    pub(crate) fn spawn_watch(
        self: &Arc<Self>,
        mut shutdown: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(WATCH_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = tick.tick() => {}
                }
                for entry in &me.entries {
                    let now = certbound_tls::material::stamps(&entry.source.files());
                    let changed = entry.stamps.lock().map(|mut old| {
                        let changed = *old != now;
                        *old = now;
                        changed
                    });
                    if changed.unwrap_or(false) {
                        reload(entry, me.revocation().as_ref());
                    }
                }
            }
        })
    }
}

fn reload(entry: &Entry, revocation: Option<&RevocationCheck>) -> ReloadOutcome {
    let result = entry
        .source
        .load(revocation)
        .map(|config| entry.current.store(config));
    match &result {
        Ok(()) => tracing::info!(listener = %entry.listener, "TLS certificates reloaded"),
        Err(reason) => {
            tracing::error!(listener = %entry.listener, %reason, "TLS reload failed; keeping the previous certificates")
        }
    }
    ReloadOutcome {
        listener: entry.listener.clone(),
        result,
    }
}
