//! Expiry watch: the seconds left for every certificate certbound relies on —
//! each listener's certificate chain and `client_ca`, each certificate of each
//! client's trust store, each route's `client_ca` and upstream certificates —
//! and until the nextUpdate of each CRL in use (`[revocation]` files and
//! fetched CRLs) as the gauge `certbound_certificate_expiry_seconds`, and a
//! warning in the log [`WARN_DAYS`] days before a certificate expires (once
//! per certificate and threshold in a process's life; a CRL going stale is
//! warned about by [`crate::crl`]).
//!
//! The list is built at start, again when the registry, a listener's
//! certificate files or the CRLs in use change (checked every [`TICK`]), and
//! at least every [`RECHECK`]; a scrape only subtracts the time from each
//! `notAfter`.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use certbound_pki::CertDer;
use certbound_pki::inspect::CertInfo;
use certbound_pki::time_fmt;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::config::ListenerConfig;
use crate::config::route::RouteConfig;
use crate::metrics::CertExpiry;
use crate::state::AppState;

/// Days before `notAfter` at which the log warns, once each.
pub(crate) const WARN_DAYS: [i64; 2] = [30, 7];
/// Longest time between two rebuilds of the list (and checks of the thresholds).
pub(crate) const RECHECK: Duration = Duration::from_secs(3600);
/// How often the registry generation and the listeners' files are looked at.
pub(crate) const TICK: Duration = Duration::from_secs(2);

/// Registry generation, listener file stamps (modification time, size), and
/// the CRLs in use (source, nextUpdate).
type Seen = (
    u64,
    Vec<Option<(SystemTime, u64)>>,
    Vec<(String, OffsetDateTime)>,
);

/// What is watched besides the registry: fixed at start.
#[derive(Debug)]
pub(crate) struct Watch {
    listeners: Vec<ListenerConfig>,
    routes: Vec<RouteConfig>,
    /// Warnings given: (x5t#S256, threshold in days).
    warned: HashSet<(String, i64)>,
    /// What the last build saw.
    seen: Option<Seen>,
    built_at: Option<Instant>,
}

impl Watch {
    pub(crate) fn new(listeners: Vec<ListenerConfig>, routes: Vec<RouteConfig>) -> Self {
        Self {
            listeners,
            routes,
            warned: HashSet::new(),
            seen: None,
            built_at: None,
        }
    }

    /// The certificate files of the listeners, whose change rebuilds the list.
    fn files(&self) -> Vec<PathBuf> {
        self.listeners
            .iter()
            .filter_map(|l| l.tls_source.as_ref())
            .flat_map(|s| {
                [&s.raw.cert, &s.raw.client_ca]
                    .into_iter()
                    .flatten()
                    .map(|p| s.base.join(p))
            })
            .collect()
    }

    /// Rebuild the gauge and warn, when something changed or [`RECHECK`] passed.
    pub(crate) fn refresh(&mut self, state: &AppState, now: OffsetDateTime) {
        let crls = crls_in_use(state);
        let seen = (
            state.registry.writes(),
            certbound_tls::material::stamps(&self.files()),
            crls.iter()
                .map(|c| (c.source.clone(), c.next_update))
                .collect(),
        );
        let due = self.built_at.is_none_or(|t| t.elapsed() >= RECHECK);
        if !due && self.seen.as_ref() == Some(&seen) {
            return;
        }
        let mut watched = self.collect(state);
        for crl in &crls {
            watched.push(CertExpiry {
                source: "revocation",
                owner_label: "crl",
                owner: crl.source.clone(),
                role: "next_update",
                subject: crl.issuer.clone(),
                x5t_s256: String::new(),
                not_after: crl.next_update,
            });
        }
        self.warn(&watched, now);
        state.metrics.set_certificate_expiry(watched);
        self.seen = Some(seen);
        self.built_at = Some(Instant::now());
    }

    /// Every certificate relied on now, with what relies on it.
    fn collect(&self, state: &AppState) -> Vec<CertExpiry> {
        let mut out = Vec::new();
        for l in &self.listeners {
            let owner = ("listener", l.name.clone());
            let (chain, client_ca) = listener_certs(l);
            for (i, der) in chain.iter().enumerate() {
                let role = if i == 0 { "certificate" } else { "chain" };
                push(&mut out, "listener", &owner, role, der);
            }
            for der in &client_ca {
                push(&mut out, "listener", &owner, "client_ca", der);
            }
        }
        let mut clients = state.registry.cached();
        clients.sort_by(|a, b| a.id.cmp(&b.id));
        for client in clients {
            let id = &client.id;
            let Some(store) = client.trust_store.as_ref() else {
                continue;
            };
            for info in &store.certs {
                out.push(entry(
                    "client",
                    &("client_id", id.clone()),
                    "trust_store",
                    info,
                ));
            }
        }
        for r in &self.routes {
            let owner = ("route", r.prefix.clone());
            for der in r.client_ca.iter().flat_map(|a| a.certs()) {
                push(&mut out, "route", &owner, "client_ca", der);
            }
            if let Some(tls) = &r.upstream_tls {
                for der in tls.identity.iter().flat_map(|i| &i.chain) {
                    push(&mut out, "route", &owner, "upstream_certificate", der);
                }
                for der in tls.ca.iter().flatten() {
                    push(&mut out, "route", &owner, "upstream_ca", der);
                }
            }
        }
        out
    }

    /// Warn once per certificate and threshold, naming every use of it.
    fn warn(&mut self, watched: &[CertExpiry], now: OffsetDateTime) {
        let mut by_cert: BTreeMap<&str, Vec<&CertExpiry>> = BTreeMap::new();
        for w in watched.iter().filter(|w| w.source != "revocation") {
            by_cert.entry(w.x5t_s256.as_str()).or_default().push(w);
        }
        for (x5t, uses) in by_cert {
            let first = uses[0];
            let left = first.not_after - now;
            let Some(threshold) = WARN_DAYS
                .iter()
                .copied()
                .filter(|d| left <= time::Duration::days(*d))
                .min()
            else {
                continue;
            };
            if !self.warned.insert((x5t.to_string(), threshold)) {
                continue;
            }
            // A certificate first seen inside 7 days is not warned about at 30 as well.
            for d in WARN_DAYS.iter().filter(|d| **d > threshold) {
                self.warned.insert((x5t.to_string(), *d));
            }
            let used_by = uses
                .iter()
                .map(|u| u.used_by())
                .collect::<Vec<_>>()
                .join(", ");
            let date = time_fmt::date(first.not_after);
            let days = time_fmt::days_between(now, first.not_after);
            if left.is_negative() {
                tracing::warn!(
                    subject = %first.subject,
                    x5t_s256 = x5t,
                    not_after = %date,
                    used_by,
                    "certificate '{}' expired on {date} ({} days ago): it authenticates nothing until replaced",
                    first.subject,
                    -days
                );
            } else {
                tracing::warn!(
                    subject = %first.subject,
                    x5t_s256 = x5t,
                    not_after = %date,
                    days_left = days,
                    threshold_days = threshold,
                    used_by,
                    "certificate '{}' expires on {date}, in {days} days: replace it before then",
                    first.subject
                );
            }
        }
    }
}

/// A CRL in use, as watched.
#[derive(Debug)]
struct CrlInUse {
    /// Its file or URL.
    source: String,
    issuer: String,
    next_update: OffsetDateTime,
}

/// The CRLs in use: the `[revocation]` files' and those fetched.
fn crls_in_use(state: &AppState) -> Vec<CrlInUse> {
    let summary = |c: &certbound_pki::revocation::Crl| CrlInUse {
        source: c.source.clone(),
        issuer: c.issuer.clone(),
        next_update: c.next_update,
    };
    let mut out: Vec<CrlInUse> = Vec::new();
    if let Some(store) = &state.crls {
        out.extend(store.current().set.crls().iter().map(summary));
    }
    if let Some(fetcher) = state
        .online_revocation
        .as_ref()
        .and_then(|s| s.crl.as_ref())
    {
        out.extend(fetcher.crls().iter().map(|c| summary(c)));
    }
    out.sort_by(|a, b| a.source.cmp(&b.source));
    out
}

/// A listener's chain and client CAs: read again from its files (which a
/// reload may have changed), else as loaded at start.
fn listener_certs(l: &ListenerConfig) -> (Vec<CertDer>, Vec<CertDer>) {
    let profile = l.tls.as_deref();
    let loaded_chain = || {
        profile
            .and_then(|p| p.identity.as_ref())
            .map(|i| i.chain.clone())
            .unwrap_or_default()
    };
    let loaded_ca = || {
        profile
            .and_then(|p| p.client_ca.clone())
            .unwrap_or_default()
    };
    let read = |path: &Option<PathBuf>| {
        let source = l.tls_source.as_ref()?;
        let bytes = std::fs::read(source.base.join(path.as_ref()?)).ok()?;
        certbound_pki::parse_certificates(&bytes)
            .ok()
            .filter(|c| !c.is_empty())
    };
    let source = l.tls_source.as_ref();
    let chain = source
        .and_then(|s| read(&s.raw.cert))
        .unwrap_or_else(loaded_chain);
    let client_ca = source
        .and_then(|s| read(&s.raw.client_ca))
        .unwrap_or_else(loaded_ca);
    (chain, client_ca)
}

fn push(
    out: &mut Vec<CertExpiry>,
    source: &'static str,
    owner: &(&'static str, String),
    role: &'static str,
    der: &CertDer,
) {
    if let Ok(info) = CertInfo::from_der(der) {
        out.push(entry(source, owner, role, &info));
    }
}

fn entry(
    source: &'static str,
    owner: &(&'static str, String),
    role: &'static str,
    info: &CertInfo,
) -> CertExpiry {
    CertExpiry {
        source,
        owner_label: owner.0,
        owner: owner.1.clone(),
        role,
        subject: info.subject.clone(),
        x5t_s256: info.x5t_s256.clone(),
        not_after: info.not_after,
    }
}

/// Keep the watch current until shutdown.
pub(crate) fn spawn(
    state: Arc<AppState>,
    mut watch: Watch,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tick.tick() => {}
            }
            watch.refresh(&state, OffsetDateTime::now_utc());
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(x5t: &str, days_left: i64, now: OffsetDateTime) -> CertExpiry {
        CertExpiry {
            source: "client",
            owner_label: "client_id",
            owner: "partner".into(),
            role: "trust_store",
            subject: "CN=partner".into(),
            x5t_s256: x5t.into(),
            not_after: now + time::Duration::days(days_left),
        }
    }

    #[test]
    fn thresholds_are_crossed_once_each() {
        let now = OffsetDateTime::now_utc();
        let mut w = Watch::new(Vec::new(), Vec::new());
        w.warn(
            &[cert("a", 40, now), cert("b", 20, now), cert("c", 3, now)],
            now,
        );
        let mut warned: Vec<_> = w.warned.iter().cloned().collect();
        warned.sort();
        // b crossed 30; c is inside 7, so 30 is not warned separately.
        assert_eq!(
            warned,
            [("b".into(), 30), ("c".into(), 7), ("c".into(), 30)]
        );
        // Later, b is inside 7 days: warned once more.
        w.warn(&[cert("b", 6, now)], now);
        assert!(w.warned.contains(&("b".to_string(), 7)));
        assert_eq!(w.warned.len(), 4);
    }
}
