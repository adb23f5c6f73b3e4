//! `[revocation] ocsp = true`: ask the OCSP responder named in the AIA of
//! each certificate of a client's chain (leaf and intermediates, up to the
//! anchor the client is trusted by) whether it was revoked.
//!
//! Answers are cached in memory until their nextUpdate (at most
//! [`MAX_ENTRIES`]; when full, expired entries go first, then those that
//! expire soonest). A cached good answer keeps serving while a refresh runs
//! in the background once less than [`REFRESH_BEFORE`] of it is left; only a
//! certificate with no current answer waits for its responder (at most
//! [`FETCH_TIMEOUT`](certbound_tls::fetch::FETCH_TIMEOUT)). A failure to get
//! an answer is remembered for [`FAILURE_MEMORY`] so that a responder that is
//! down is not asked on every request; what it means is
//! `[revocation] unavailable`'s to decide.
//!
//! A good answer passes, a revoked one refuses with the date and reason, and
//! an "unknown" one refuses too: the issuer's own responder does not vouch
//! for the certificate.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use certbound_pki::CertDer;
use certbound_pki::chain::ChainError;
use certbound_pki::check::online::{self, Target};
use certbound_pki::ocsp::{OcspAnswer, OcspStatus, Reason};
use certbound_pki::revocation::Unavailable;
use certbound_pki::time_fmt::rfc3339;
use certbound_tls::fetch::{self, OcspCheckError};
use time::OffsetDateTime;

/// The most answers kept in memory.
pub const MAX_ENTRIES: usize = 10_000;
/// How long a failure to get an answer is remembered.
pub const FAILURE_MEMORY: Duration = Duration::from_secs(10);
/// A cached answer is refreshed in the background once less than this is
/// left of it (or less than half its life, for short-lived answers).
pub const REFRESH_BEFORE: Duration = Duration::from_secs(300);

/// What asking gives: an answer from a URL, or why there is none.
type Asked = Result<(String, OcspAnswer), String>;
type AskFuture = Pin<Box<dyn Future<Output = Asked> + Send>>;
/// Asks one certificate's responders (the network, or a test's stand-in).
pub type Ask = Arc<dyn Fn(CertDer, CertDer) -> AskFuture + Send + Sync>;

/// Why a chain is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Revoked {
        subject: String,
        serial: String,
        at: OffsetDateTime,
        reason: Option<Reason>,
        url: String,
    },
    Unknown {
        subject: String,
        serial: String,
        url: String,
    },
    /// No current answer could be had and `unavailable = "fail"`.
    Unavailable {
        subject: String,
        serial: String,
        reason: String,
    },
}

impl Refusal {
    /// The audit reason.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Revoked { .. } => "certificate_revoked",
            Refusal::Unknown { .. } => "certificate_status_unknown",
            Refusal::Unavailable { .. } => "revocation_unavailable",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Revoked {
                subject,
                serial,
                at,
                reason,
                url,
            } => write!(
                f,
                "certificate '{subject}' (serial {serial}) was revoked on {}, reason: {}, according to the OCSP responder {url}",
                rfc3339(*at),
                reason.map_or("not given", Reason::name)
            ),
            Refusal::Unknown {
                subject,
                serial,
                url,
            } => write!(
                f,
                "the OCSP responder {url} does not know certificate '{subject}' (serial {serial})"
            ),
            Refusal::Unavailable {
                subject,
                serial,
                reason,
            } => write!(
                f,
                "no current OCSP answer for certificate '{subject}' (serial {serial}): {reason}; [revocation] unavailable = \"fail\" refuses it"
            ),
        }
    }
}

/// The result of one certificate's check, for metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Good,
    Revoked,
    Unknown,
    /// No answer; allowed by `unavailable = "allow"` or refused.
    Unavailable,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Good => "good",
            Outcome::Revoked => "revoked",
            Outcome::Unknown => "unknown",
            Outcome::Unavailable => "unavailable",
        }
    }
}

struct Entry {
    asked: Asked,
    /// Until when the entry is used: the answer's nextUpdate, or the end of
    /// the failure memory.
    until: OffsetDateTime,
    /// When to start a background refresh (answers only).
    refresh_at: OffsetDateTime,
    refreshing: bool,
}

/// The OCSP side of `[revocation]`, shared by every request.
pub struct OcspChecker {
    ask: Ask,
    unavailable: Unavailable,
    cache: Mutex<HashMap<String, Entry>>,
    max_entries: usize,
}

impl fmt::Debug for OcspChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OcspChecker")
            .field("unavailable", &self.unavailable)
            .field("cached", &self.cache.lock().map(|c| c.len()).unwrap_or(0))
            .finish_non_exhaustive()
    }
}

impl OcspChecker {
    /// A checker that asks over the network.
    pub fn new(unavailable: Unavailable) -> Arc<Self> {
        let ask: Ask = Arc::new(|cert: CertDer, issuer: CertDer| {
            Box::pin(async move {
                let now = OffsetDateTime::now_utc();
                match fetch::ask_ocsp(&cert, &issuer, now, fetch::FETCH_TIMEOUT).await {
                    Ok(o) => Ok((o.url, o.answer)),
                    Err(OcspCheckError::NoResponder) => {
                        Err("the certificate names no OCSP responder".to_string())
                    }
                    Err(e) => Err(e.to_string()),
                }
            }) as AskFuture
        });
        Self::with_ask(ask, unavailable, MAX_ENTRIES)
    }

    /// A checker that asks with `ask` (tests).
    pub fn with_ask(ask: Ask, unavailable: Unavailable, max_entries: usize) -> Arc<Self> {
        Arc::new(Self {
            ask,
            unavailable,
            cache: Mutex::new(HashMap::new()),
            max_entries,
        })
    }

    pub fn unavailable(&self) -> Unavailable {
        self.unavailable
    }

    /// Check the chain a client presented (leaf first) up to `anchors`, the
    /// CA certificates it is trusted by. Certificates that name no responder
    /// are not checked. Returns each checked certificate's outcome, or the
    /// first refusal.
    pub async fn check_chain(
        self: &Arc<Self>,
        chain: &[CertDer],
        anchors: &[CertDer],
    ) -> Result<Vec<Outcome>, Refusal> {
        let Some((leaf, intermediates)) = chain.split_first() else {
            return Ok(Vec::new());
        };
        let mut outcomes = Vec::new();
        for target in online::targets(leaf, intermediates, anchors) {
            if target.ocsp_urls.is_empty() {
                continue;
            }
            let asked = match &target.issuer {
                Some(issuer) => self.answer(&target, issuer).await,
                None => Err("its issuer is not among the certificates presented or trusted, so no request can be made".to_string()),
            };
            let now = OffsetDateTime::now_utc();
            match asked {
                Ok((url, answer)) => match answer.status {
                    _ if now > answer.valid_until => {
                        outcomes.push(Outcome::Unavailable);
                        self.unavailable_or(&target, format!("the answer from {url} went stale"))?;
                    }
                    OcspStatus::Good { .. } => outcomes.push(Outcome::Good),
                    OcspStatus::Revoked { at, reason } => {
                        return Err(Refusal::Revoked {
                            subject: target.name,
                            serial: target.serial,
                            at,
                            reason,
                            url,
                        });
                    }
                    OcspStatus::Unknown => {
                        return Err(Refusal::Unknown {
                            subject: target.name,
                            serial: target.serial,
                            url,
                        });
                    }
                },
                Err(reason) => {
                    outcomes.push(Outcome::Unavailable);
                    self.unavailable_or(&target, reason)?;
                }
            }
        }
        Ok(outcomes)
    }

    fn unavailable_or(&self, target: &Target, reason: String) -> Result<(), Refusal> {
        match self.unavailable {
            Unavailable::Fail => Err(Refusal::Unavailable {
                subject: target.name.clone(),
                serial: target.serial.clone(),
                reason,
            }),
            Unavailable::Allow => {
                tracing::warn!(subject = %target.name, serial = %target.serial, %reason, "no OCSP answer; allowed by [revocation] unavailable = \"allow\"");
                Ok(())
            }
        }
    }

    /// The cached answer for `target`, refreshed in the background when due,
    /// or a fresh one.
    async fn answer(self: &Arc<Self>, target: &Target, issuer: &CertDer) -> Asked {
        let key = certbound_pki::sha256_fingerprint(&target.cert);
        let now = OffsetDateTime::now_utc();
        let mut refresh = false;
        let cached = {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            match cache.get_mut(&key) {
                Some(e) if now <= e.until => {
                    if e.asked.is_ok() && now >= e.refresh_at && !e.refreshing {
                        e.refreshing = true;
                        refresh = true;
                    }
                    Some(e.asked.clone())
                }
                _ => None,
            }
        };
        if let Some(asked) = cached {
            if refresh {
                let this = Arc::clone(self);
                let (cert, issuer) = (target.cert.clone(), issuer.clone());
                tokio::spawn(async move {
                    let asked = (this.ask)(cert, issuer).await;
                    match asked {
                        Ok(_) => this.store(key, asked),
                        // Keep serving the answer still current; try again later.
                        Err(reason) => {
                            tracing::warn!(%reason, "OCSP refresh failed; the cached answer serves until its nextUpdate");
                            this.retry_later(&key);
                        }
                    }
                });
            }
            return asked;
        }
        let asked = (self.ask)(target.cert.clone(), issuer.clone()).await;
        self.store(key, asked.clone());
        asked
    }

    fn store(&self, key: String, asked: Asked) {
        let now = OffsetDateTime::now_utc();
        let (until, refresh_at) = match &asked {
            Ok((_, answer)) => {
                let life = answer.valid_until - now;
                let early = life
                    .min(time::Duration::try_from(REFRESH_BEFORE).unwrap_or(time::Duration::ZERO))
                    .min(life / 2);
                (answer.valid_until, answer.valid_until - early)
            }
            Err(_) => {
                let until =
                    now + time::Duration::try_from(FAILURE_MEMORY).unwrap_or(time::Duration::ZERO);
                (until, until)
            }
        };
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= self.max_entries && !cache.contains_key(&key) {
            cache.retain(|_, e| e.until >= now);
            while cache.len() >= self.max_entries {
                let Some(soonest) = cache
                    .iter()
                    .min_by_key(|(_, e)| e.until)
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                cache.remove(&soonest);
            }
        }
        cache.insert(
            key,
            Entry {
                asked,
                until,
                refresh_at,
                refreshing: false,
            },
        );
    }

    /// After a failed refresh: allow another attempt after the failure memory.
    fn retry_later(&self, key: &str) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = cache.get_mut(key) {
            e.refreshing = false;
            let later = OffsetDateTime::now_utc()
                + time::Duration::try_from(FAILURE_MEMORY).unwrap_or(time::Duration::ZERO);
            e.refresh_at = later.min(e.until);
        }
    }

    /// How many answers are cached.
    pub fn cached(&self) -> usize {
        self.cache.lock().map(|c| c.len()).unwrap_or(0)
    }
}

/// Check a client's chain at `state`'s checker, count each certificate's
/// outcome (`certbound_revocation_checks_total{source="ocsp"}`), and turn a
/// refusal into the chain error that CRLs give, so that the log, the audit
/// record and the client's `invalid_client` are the same whatever the source.
pub async fn check(
    state: &crate::state::AppState,
    checker: &Arc<OcspChecker>,
    chain: &[CertDer],
    anchors: &[CertDer],
) -> Result<(), ChainError> {
    let result = checker.check_chain(chain, anchors).await;
    match &result {
        Ok(outcomes) => {
            for o in outcomes {
                state.metrics.revocation_check("ocsp", o.label());
            }
        }
        Err(refusal) => {
            let label = match refusal {
                Refusal::Revoked { .. } => Outcome::Revoked,
                Refusal::Unknown { .. } => Outcome::Unknown,
                Refusal::Unavailable { .. } => Outcome::Unavailable,
            };
            state.metrics.revocation_check("ocsp", label.label());
            tracing::warn!(reason = %refusal, code = refusal.code(), "OCSP refused a client chain");
        }
    }
    result.map(|_| ()).map_err(|refusal| match refusal {
        Refusal::Revoked {
            subject,
            serial,
            at,
            reason,
            ..
        } => ChainError::Revoked {
            cert: subject,
            serial,
            revoked_at: at,
            reason: reason.unwrap_or(Reason::Unspecified),
        },
        Refusal::Unknown { subject, url, .. } => ChainError::RevocationUnavailable {
            cert: subject,
            why: format!("the OCSP responder {url} does not know it (status unknown)"),
        },
        Refusal::Unavailable {
            subject, reason, ..
        } => ChainError::RevocationUnavailable {
            cert: subject,
            why: format!("no current OCSP answer: {reason}"),
        },
    })
}

#[cfg(test)]
mod tests;
