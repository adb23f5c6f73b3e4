//! `[revocation] fetch_crl = true`: get the CRL that a certificate's CRL
//! Distribution Points name (http://, as the CA publishes it) and look the
//! certificate up in it ([`crate::online_revocation`] asks for each
//! certificate of a client's chain).
//!
//! A fetched CRL is believed only when it is of the certificate's issuer:
//! named like it and signed by its key (checked once, when fetched). It is
//! kept in an [`AnswerCache`] by URL and issuer until its nextUpdate (at most
//! [`MAX_CRLS`]), refreshed in the background before then; only a
//! certificate whose CRL is not yet known waits for the fetch (at most
//! [`FETCH_TIMEOUT`](certbound_tls::fetch::FETCH_TIMEOUT), at most
//! [`MAX_CRL_BYTES`](certbound_tls::fetch::MAX_CRL_BYTES)), parsed off the
//! async workers.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use certbound_pki::CertDer;
use certbound_pki::check::online::Target;
use certbound_pki::revocation::{self, Crl};
use certbound_pki::time_fmt::rfc3339;
use certbound_tls::fetch;
use time::OffsetDateTime;

use crate::answer_cache::AnswerCache;
use crate::online_revocation::{Refusal, Verdict};

/// The most CRLs kept in memory (each at most
/// [`MAX_CRL_BYTES`](certbound_tls::fetch::MAX_CRL_BYTES)).
pub(crate) const MAX_CRLS: usize = 32;

type GetFuture = Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send>>;
/// Gets the bytes at a URL (the network, or a test's stand-in).
pub(crate) type Get = Arc<dyn Fn(String) -> GetFuture + Send + Sync>;

/// The CRL-fetching side of `[revocation]`, shared by every request.
pub struct CrlFetcher {
    get: Get,
    cache: Arc<AnswerCache<Arc<Crl>>>,
}

impl fmt::Debug for CrlFetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrlFetcher")
            .field("cached", &self.cache.len())
            .finish_non_exhaustive()
    }
}

impl CrlFetcher {
    /// A fetcher over the network.
    pub fn new() -> Arc<Self> {
        let get: Get = Arc::new(|url: String| {
            Box::pin(async move {
                fetch::get_crl(&url, fetch::FETCH_TIMEOUT, fetch::MAX_CRL_BYTES)
                    .await
                    .map_err(|e| e.to_string())
            }) as GetFuture
        });
        Self::with_get(get, MAX_CRLS)
    }

    /// A fetcher that gets with `get` (tests).
    pub fn with_get(get: Get, max_crls: usize) -> Arc<Self> {
        Arc::new(Self {
            get,
            cache: AnswerCache::new(|crl: &Arc<Crl>| crl.next_update, max_crls),
        })
    }

    /// What the CRLs `target`'s distribution points name say of it: the
    /// first one that can be had decides.
    pub async fn verdict(&self, target: &Target) -> Verdict {
        let Some(issuer) = &target.issuer else {
            return Verdict::Unavailable(
                "its issuer is not among the certificates presented or trusted, so no CRL can be checked".into(),
            );
        };
        let mut why = Vec::new();
        for url in &target.crl_urls {
            match self.crl(url, issuer).await {
                Ok(crl) => match crl.lists(&target.cert) {
                    Some((at, reason)) => {
                        return Verdict::Refused(Refusal::Revoked {
                            subject: target.name.clone(),
                            serial: target.serial.clone(),
                            at,
                            reason: Some(reason),
                            by: format!("the CRL at {url}"),
                        });
                    }
                    None if crl.is_stale(OffsetDateTime::now_utc()) => why.push(format!(
                        "the CRL at {url} is past its nextUpdate ({})",
                        rfc3339(crl.next_update)
                    )),
                    None => return Verdict::Good,
                },
                Err(reason) => why.push(reason),
            }
        }
        Verdict::Unavailable(format!("no current CRL: {}", why.join("; ")))
    }

    /// The CRL of `issuer` at `url`, cached or fetched.
    async fn crl(&self, url: &str, issuer: &CertDer) -> Result<Arc<Crl>, String> {
        let key = format!("{url} {}", certbound_pki::sha256_fingerprint(issuer));
        let (get, url, issuer) = (Arc::clone(&self.get), url.to_string(), issuer.clone());
        self.cache
            .get(key, move || async move {
                let bytes = get(url.clone()).await?;
                // A CRL of 100,000 serials takes tens of milliseconds to read.
                tokio::task::spawn_blocking(move || {
                    let crls = revocation::parse_crls(&url, &bytes).map_err(|e| e.to_string())?;
                    let crl = revocation::issued_by(&url, crls, &issuer)
                        .map_err(|e| format!("{e}; {}", e.hint()))?;
                    tracing::info!(%url, issuer = %crl.issuer, entries = crl.entries, next_update = %rfc3339(crl.next_update), "CRL fetched");
                    Ok(Arc::new(crl))
                })
                .await
                .map_err(|e| format!("reading the CRL failed: {e}"))?
            })
            .await
    }

    /// The CRLs kept, for the expiry gauge.
    pub fn crls(&self) -> Vec<Arc<Crl>> {
        self.cache.answers()
    }
}

#[cfg(test)]
mod tests;
