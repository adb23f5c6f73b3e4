//! `[revocation] ocsp = true`: ask the OCSP responder named in the AIA of a
//! certificate whether it was revoked ([`crate::online_revocation`] asks
//! for each certificate of a client's chain).
//!
//! Answers are kept in an [`AnswerCache`] until their nextUpdate (at most
//! [`MAX_ENTRIES`]); only a certificate with no current answer waits for its
//! responder (at most [`FETCH_TIMEOUT`](certbound_tls::fetch::FETCH_TIMEOUT)).
//!
//! A good answer passes, a revoked one refuses with the date and reason, and
//! an "unknown" one refuses too: the issuer's own responder does not vouch
//! for the certificate.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use certbound_pki::CertDer;
use certbound_pki::check::online::Target;
use certbound_pki::ocsp::{OcspAnswer, OcspStatus};
use certbound_tls::fetch::{self, OcspCheckError};
use time::OffsetDateTime;

use crate::answer_cache::AnswerCache;
use crate::online_revocation::{Refusal, Verdict};

/// The most answers kept in memory.
pub(crate) const MAX_ENTRIES: usize = 10_000;

/// What asking gives: an answer from a URL, or why there is none.
type Asked = Result<(String, OcspAnswer), String>;
type AskFuture = Pin<Box<dyn Future<Output = Asked> + Send>>;
/// Asks one certificate's responders (the network, or a test's stand-in).
pub(crate) type Ask = Arc<dyn Fn(CertDer, CertDer) -> AskFuture + Send + Sync>;

/// The OCSP side of `[revocation]`, shared by every request.
pub struct OcspChecker {
    ask: Ask,
    cache: Arc<AnswerCache<(String, OcspAnswer)>>,
}

impl fmt::Debug for OcspChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OcspChecker")
            .field("cached", &self.cache.len())
            .finish_non_exhaustive()
    }
}

impl OcspChecker {
    /// A checker that asks over the network.
    pub fn new() -> Arc<Self> {
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
        Self::with_ask(ask, MAX_ENTRIES)
    }

    /// A checker that asks with `ask` (tests).
    pub fn with_ask(ask: Ask, max_entries: usize) -> Arc<Self> {
        Arc::new(Self {
            ask,
            cache: AnswerCache::new(|(_, answer)| answer.valid_until, max_entries),
        })
    }

    /// What the responders `target` names say of it.
    pub async fn verdict(&self, target: &Target) -> Verdict {
        let Some(issuer) = &target.issuer else {
            return Verdict::Unavailable(
                "its issuer is not among the certificates presented or trusted, so no OCSP request can be made".into(),
            );
        };
        match self.answer(target, issuer).await {
            Ok((url, answer)) => match answer.status {
                _ if OffsetDateTime::now_utc() > answer.valid_until => {
                    Verdict::Unavailable(format!("the OCSP answer from {url} went stale"))
                }
                OcspStatus::Good { .. } => Verdict::Good,
                OcspStatus::Revoked { at, reason } => Verdict::Refused(Refusal::Revoked {
                    subject: target.name.clone(),
                    serial: target.serial.clone(),
                    at,
                    reason,
                    by: format!("the OCSP responder {url}"),
                }),
                OcspStatus::Unknown => Verdict::Refused(Refusal::Unknown {
                    subject: target.name.clone(),
                    serial: target.serial.clone(),
                    url,
                }),
            },
            Err(reason) => Verdict::Unavailable(format!("no current OCSP answer: {reason}")),
        }
    }

    /// The cached answer for `target`, refreshed in the background when due,
    /// or a fresh one.
    async fn answer(&self, target: &Target, issuer: &CertDer) -> Asked {
        let key = certbound_pki::sha256_fingerprint(&target.cert);
        let (ask, cert, issuer) = (Arc::clone(&self.ask), target.cert.clone(), issuer.clone());
        self.cache.get(key, move || ask(cert, issuer)).await
    }

    /// How many answers are cached.
    pub fn cached(&self) -> usize {
        self.cache.len()
    }
}

#[cfg(test)]
mod tests;
