//! The `[revocation]` section and the CRLs it names. They are read at start
//! (a CRL that cannot be used refuses the start), then again when a file
//! changes (polled every [`POLL_INTERVAL`]) and on SIGHUP; a new set that
//! fails keeps the old one and logs why. Every swap, and every time a CRL
//! of the set goes stale, bumps the set's generation: cached
//! authentications are keyed by it, so none outlives a revocation.
//!
//! A CRL is believed only when its issuer's key signed it: at load, against
//! every CA certificate the server knows (listener and route `client_ca`,
//! the clients' trust stores), and again by webpki against the issuer on
//! each verified path.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use certbound_pki::CertDer;
use certbound_pki::revocation::{CrlSet, RevocationCheck, Unavailable, parse_crls};
use serde::Deserialize;
use time::OffsetDateTime;
use tokio::sync::watch;

/// How often the CRL files are checked for changes (and the set for staleness).
pub(crate) const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// `[revocation]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRevocation {
    /// CRL files, PEM or DER, relative to the config file.
    #[serde(default)]
    pub crl_files: Vec<PathBuf>,
    /// "fail" (default) or "allow".
    pub unavailable: Option<String>,
    /// Ask the OCSP responder named in each certificate's AIA (default false).
    #[serde(default)]
    pub ocsp: bool,
    /// Fetch the CRLs each certificate's CRL Distribution Points name (default false).
    #[serde(default)]
    pub fetch_crl: bool,
}

/// `[revocation]` validated.
#[derive(Debug, Clone)]
pub struct RevocationConfig {
    pub crl_files: Vec<PathBuf>,
    pub unavailable: Unavailable,
    /// `ocsp = true`: see [`crate::ocsp`].
    pub ocsp: bool,
    /// `fetch_crl = true`: see [`crate::crl_fetch`].
    pub fetch_crl: bool,
}

impl RawRevocation {
    /// Validate: every file readable and holding usable CRLs.
    pub fn validate(
        &self,
        base: &Path,
        problem: &mut impl FnMut(String, String),
    ) -> Option<RevocationConfig> {
        let unavailable = match self.unavailable.as_deref() {
            None | Some("fail") => Unavailable::Fail,
            Some("allow") => Unavailable::Allow,
            Some(other) => {
                problem(
                    "revocation.unavailable".into(),
                    format!("`{other}` is neither \"fail\" nor \"allow\""),
                );
                Unavailable::Fail
            }
        };
        if self.crl_files.is_empty() && !self.ocsp && !self.fetch_crl {
            problem(
                "revocation.crl_files".into(),
                "empty: name at least one CRL file (PEM or DER), e.g. crl_files = [\"ca.crl\"], set fetch_crl = true or ocsp = true, or remove [revocation]".into(),
            );
            return None;
        }
        let crl_files: Vec<PathBuf> = self.crl_files.iter().map(|f| base.join(f)).collect();
        let mut ok = true;
        for (i, file) in crl_files.iter().enumerate() {
            if let Err(reason) = read_file(file) {
                problem(format!("revocation.crl_files[{i}]"), reason);
                ok = false;
            }
        }
        ok.then_some(RevocationConfig {
            crl_files,
            unavailable,
            ocsp: self.ocsp,
            fetch_crl: self.fetch_crl,
        })
    }
}

/// The CRLs of one file.
fn read_file(path: &Path) -> Result<Vec<certbound_pki::revocation::Crl>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let name = path.display().to_string();
    parse_crls(&name, &bytes).map_err(|e| format!("{e}; {}", e.hint()))
}

/// Read every file and check each CRL's signature against `known` CA certificates.
pub(crate) fn load_set(
    config: &RevocationConfig,
    known: &[CertDer],
) -> Result<CrlSet, Vec<String>> {
    let mut crls = Vec::new();
    let mut errors = Vec::new();
    for file in &config.crl_files {
        match read_file(file) {
            Ok(parsed) => {
                for crl in parsed {
                    match crl.check_issuer(known) {
                        Ok(Some(_)) => crls.push(crl),
                        Ok(None) => {
                            tracing::warn!(
                                file = %crl.source,
                                issuer = %crl.issuer,
                                "no CA certificate known to the server is named like this CRL's issuer: its signature is checked when a chain names it"
                            );
                            crls.push(crl);
                        }
                        Err(e) => errors.push(format!("{e}; {}", e.hint())),
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(CrlSet::new(crls))
    } else {
        Err(errors)
    }
}

/// The set in force and its generation.
#[derive(Debug)]
pub struct Loaded {
    pub set: Arc<CrlSet>,
    pub generation: u64,
    /// Whether some CRL of the set was stale when this was made.
    stale: bool,
}

/// Where the CA certificates a CRL may be signed by come from, at each reload.
pub(crate) type KnownIssuers = Arc<dyn Fn() -> Vec<CertDer> + Send + Sync>;
/// Called after each swap (the `client_ca` listeners rebuild their TLS config).
type Listener = Box<dyn Fn() + Send + Sync>;

/// The live CRL set of a server.
pub struct CrlStore {
    config: RevocationConfig,
    current: ArcSwap<Loaded>,
    stamps: Mutex<Vec<Option<(SystemTime, u64)>>>,
    known: KnownIssuers,
    listeners: Mutex<Vec<Listener>>,
}

impl std::fmt::Debug for CrlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrlStore")
            .field("config", &self.config)
            .field("generation", &self.current.load().generation)
            .finish_non_exhaustive()
    }
}

impl CrlStore {
    /// Load the set at start: any problem refuses the start.
    pub fn load(config: RevocationConfig, known: KnownIssuers) -> Result<Arc<Self>, Vec<String>> {
        let set = load_set(&config, &known())?;
        for crl in set.crls() {
            tracing::info!(file = %crl.source, issuer = %crl.issuer, entries = crl.entries, next_update = %certbound_pki::time_fmt::rfc3339(crl.next_update), "CRL loaded");
        }
        let stale = any_stale(&set, OffsetDateTime::now_utc());
        let stamps = certbound_tls::material::stamps(&config.crl_files);
        Ok(Arc::new(Self {
            config,
            current: ArcSwap::from_pointee(Loaded {
                set: Arc::new(set),
                generation: 1,
                stale,
            }),
            stamps: Mutex::new(stamps),
            known,
            listeners: Mutex::default(),
        }))
    }

    /// The set in force.
    pub fn current(&self) -> Arc<Loaded> {
        self.current.load_full()
    }

    /// The check to verify chains with now.
    pub fn check(&self) -> RevocationCheck {
        self.generation_and_check().1
    }

    /// The generation of the set in force and the check by it, read together.
    pub fn generation_and_check(&self) -> (u64, RevocationCheck) {
        let loaded = self.current.load();
        (
            loaded.generation,
            RevocationCheck::crls(Arc::clone(&loaded.set), self.config.unavailable),
        )
    }

    pub fn unavailable(&self) -> Unavailable {
        self.config.unavailable
    }

    /// Call `f` after every swap.
    pub fn on_change(&self, f: impl Fn() + Send + Sync + 'static) {
        if let Ok(mut l) = self.listeners.lock() {
            l.push(Box::new(f));
        }
    }

    /// Read the files again; a failure keeps the set in force.
    pub fn reload(&self) -> Result<(), String> {
        match load_set(&self.config, &(self.known)()) {
            Ok(set) => {
                let stale = any_stale(&set, OffsetDateTime::now_utc());
                let generation = self.current.load().generation + 1;
                for crl in set.crls() {
                    tracing::info!(file = %crl.source, issuer = %crl.issuer, number = crl.number.as_deref().unwrap_or("-"), entries = crl.entries, next_update = %certbound_pki::time_fmt::rfc3339(crl.next_update), generation, "CRL reloaded");
                }
                self.current.store(Arc::new(Loaded {
                    set: Arc::new(set),
                    generation,
                    stale,
                }));
                self.changed();
                Ok(())
            }
            Err(errors) => {
                let reason = errors.join("; ");
                tracing::error!(%reason, "CRL reload failed; keeping the CRLs in force");
                Err(reason)
            }
        }
    }

    fn changed(&self) {
        if let Ok(listeners) = self.listeners.lock() {
            for f in listeners.iter() {
                f();
            }
        }
    }

    /// A new generation when a CRL of the set went stale since the last look,
    /// so that nothing cached while it was current outlives it.
    fn notice_staleness(&self, now: OffsetDateTime) {
        let loaded = self.current.load_full();
        if !loaded.stale && any_stale(&loaded.set, now) {
            for crl in loaded.set.crls().iter().filter(|c| c.is_stale(now)) {
                tracing::warn!(file = %crl.source, issuer = %crl.issuer, next_update = %certbound_pki::time_fmt::rfc3339(crl.next_update), unavailable = %self.config.unavailable, "CRL is stale (past its nextUpdate): replace it with a current one");
            }
            self.current.store(Arc::new(Loaded {
                set: Arc::clone(&loaded.set),
                generation: loaded.generation + 1,
                stale: true,
            }));
            self.changed();
        }
    }

    /// Reload when a file changes, and notice staleness, until shutdown.
    pub fn spawn_watch(
        self: &Arc<Self>,
        mut shutdown: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = tick.tick() => {}
                }
                let now = certbound_tls::material::stamps(&me.config.crl_files);
                let changed = me.stamps.lock().map(|mut old| {
                    let changed = *old != now;
                    *old = now;
                    changed
                });
                if changed.unwrap_or(false) {
                    let store = Arc::clone(&me);
                    // Parsing a large CRL takes a while: off the async workers.
                    let _ = tokio::task::spawn_blocking(move || store.reload()).await;
                }
                me.notice_staleness(OffsetDateTime::now_utc());
            }
        })
    }
}

fn any_stale(set: &CrlSet, now: OffsetDateTime) -> bool {
    set.crls().iter().any(|c| c.is_stale(now))
}

/// The outcome of a certificate authentication, for the revocation metric:
/// `None` when it failed before revocation mattered.
pub(crate) fn metric_result(
    outcome: &Result<impl Sized, &certbound_pki::chain::ChainError>,
) -> Option<&'static str> {
    use certbound_pki::chain::ChainError;
    match outcome {
        Ok(_) => Some("passed"),
        Err(ChainError::Revoked { .. }) => Some("revoked"),
        Err(ChainError::RevocationUnavailable { .. }) => Some("unavailable"),
        Err(_) => None,
    }
}
