//! The keys that verify clients' `private_key_jwt` assertions (RFC 7523).
//!
//! Inline `jwks` come compiled with the client. A `jwks_uri` is fetched over
//! https (`[issuer] jwks_ca`, else the system's roots; 10 s and 1 MiB at
//! most), kept [`KEEP`] and refreshed in the background, one fetch per URL at
//! a time ([`AnswerCache`]); a failed fetch is remembered for 10 s. When an
//! assertion names a key the cached set lacks (the client rotated its keys),
//! the set is fetched again, at most once per [`REFETCH_MIN`] and URL, and
//! replaces the cached one only when the fetch succeeds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use certbound_oauth::VerifyingKeys;
use certbound_oauth::assertion::{self, Assertion, Expected};
use certbound_oauth::auth::AuthFailure;
use certbound_oauth::client::{ClientKeys, CompiledClient};
use certbound_pki::CertDer;
use time::OffsetDateTime;

use axum::body::Body;
use axum::http::uri::InvalidUri;
use axum::http::{Request, StatusCode, Uri};
use certbound_tls::ClientTls;
use certbound_tls::http::build_client;

use crate::answer_cache::AnswerCache;

/// How long a fetched JWKS is used before it is fetched again.
pub(crate) const KEEP: Duration = Duration::from_secs(300);
/// The least time between two fetches of one `jwks_uri` asked for by
/// assertions naming an unknown key.
pub(crate) const REFETCH_MIN: Duration = Duration::from_secs(10);
/// Most `jwks_uri` sets kept.
const MAX_SETS: usize = 10_000;

/// A JWKS fetched from a client's `jwks_uri`.
#[derive(Debug)]
pub(crate) struct FetchedKeys {
    pub keys: VerifyingKeys,
    pub fetched_at: OffsetDateTime,
}

/// Every `jwks_uri` set, shared by all requests.
#[derive(Debug)]
pub struct ClientJwks {
    cache: Arc<AnswerCache<Arc<FetchedKeys>>>,
    ca: Option<Arc<Vec<CertDer>>>,
    /// When each URL was last fetched again for an unknown key: anyone can
    /// send an assertion naming a `kid` nobody has, so this bounds what it costs.
    refetched: Mutex<HashMap<String, OffsetDateTime>>,
}

fn keep_until(fetched: &Arc<FetchedKeys>) -> OffsetDateTime {
    fetched.fetched_at + span(KEEP)
}

fn span(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::ZERO)
}

async fn fetch(uri: String, ca: Option<Arc<Vec<CertDer>>>) -> Result<Arc<FetchedKeys>, String> {
    // Cached answers keep the error as text.
    let keys = fetch_jwks(&uri, ca.as_deref().map(Vec::as_slice))
        .await
        .map_err(|e| e.to_string())?;
    tracing::debug!(%uri, keys = keys.len(), "client JWKS fetched");
    Ok(Arc::new(FetchedKeys {
        keys,
        fetched_at: OffsetDateTime::now_utc(),
    }))
}

impl ClientJwks {
    /// `ca`: the CAs that verify the JWKS servers; `None` for the system's roots.
    pub fn new(ca: Option<Vec<CertDer>>) -> Self {
        Self {
            cache: AnswerCache::new(keep_until, MAX_SETS),
            ca: ca.map(Arc::new),
            refetched: Mutex::default(),
        }
    }

    /// Whether `uri`, fetched at `fetched_at`, may be fetched again now for
    /// an unknown key; if so, the attempt is recorded.
    fn may_refetch(&self, uri: &str, fetched_at: OffsetDateTime) -> bool {
        let now = OffsetDateTime::now_utc();
        let min = span(REFETCH_MIN);
        if now - fetched_at < min {
            return false;
        }
        let mut attempts = self.refetched.lock().unwrap_or_else(|e| e.into_inner());
        if attempts.get(uri).is_some_and(|at| now - *at < min) {
            return false;
        }
        if attempts.len() >= MAX_SETS {
            attempts.retain(|_, at| now - *at < min);
        }
        attempts.insert(uri.to_owned(), now);
        true
    }

    /// Verifies `assertion` with the keys of `client` and checks its claims.
    /// The `jti` is not recorded here.
    pub async fn verify(
        &self,
        client: &CompiledClient,
        assertion: &str,
        expected: &Expected<'_>,
    ) -> Result<Assertion, AuthFailure> {
        let uri = match &client.keys {
            None => return Err(AuthFailure::NoKeys),
            Some(ClientKeys::Inline(keys)) => {
                return assertion::verify(assertion, keys, expected)
                    .map_err(AuthFailure::Assertion);
            }
            Some(ClientKeys::Uri(uri)) => uri,
        };
        let (owned, ca) = (uri.clone(), self.ca.clone());
        let fetched = self
            .cache
            .get(uri.clone(), move || fetch(owned, ca))
            .await
            .map_err(|reason| AuthFailure::KeysUnavailable {
                uri: uri.clone(),
                reason,
            })?;
        let error = match assertion::verify(assertion, &fetched.keys, expected) {
            Err(e) if e.wants_fresh_keys() && self.may_refetch(uri, fetched.fetched_at) => e,
            result => return result.map_err(AuthFailure::Assertion),
        };
        tracing::info!(client_id = %client.id, %uri, reason = %error, "fetching the client's JWKS again");
        // The set in hand stays when the fetch fails: a flaky JWKS server (or
        // someone sending unknown kids) never takes the known keys away.
        match fetch(uri.clone(), self.ca.clone()).await {
            Ok(fresh) => {
                self.cache.store(uri.clone(), Ok(Arc::clone(&fresh)));
                assertion::verify(assertion, &fresh.keys, expected).map_err(AuthFailure::Assertion)
            }
            Err(reason) => {
                tracing::warn!(client_id = %client.id, %uri, %reason, "cannot fetch the client's JWKS again; keeping the keys in hand");
                Err(AuthFailure::Assertion(error))
            }
        }
    }
}

/// A document (a JWKS) that could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("TLS: {0}")]
    Tls(#[from] Box<certbound_tls::Error>),
    #[error("not a URL: {0}")]
    Uri(#[from] InvalidUri),
    #[error("{0} is not an https:// URL")]
    NotHttps(axum::http::Uri),
    #[error("cannot make the request: {0}")]
    Request(#[from] axum::http::Error),
    #[error("timed out")]
    Timeout,
    #[error("{0}")]
    Client(#[from] hyper_util::client::legacy::Error),
    #[error("HTTP {0}")]
    Status(StatusCode),
    #[error("cannot read the answer: {0}")]
    Body(#[from] axum::Error),
    #[error("not a JWKS: {0}")]
    Jwks(#[from] certbound_oauth::keys::KeyError),
}

/// GET a JWKS over HTTPS, verified with `ca` (the system roots when `None`).
pub async fn fetch_jwks(
    uri: &str,
    ca: Option<&[certbound_pki::CertDer]>,
) -> Result<VerifyingKeys, FetchError> {
    let tls = ClientTls {
        ca: ca.map(<[_]>::to_vec),
        ..ClientTls::default()
    }
    .build()
    .map_err(Box::new)?;
    let client = build_client((*tls).clone(), Duration::from_secs(5));
    let uri: Uri = uri.parse()?;
    if uri.scheme_str() != Some("https") {
        return Err(FetchError::NotHttps(uri));
    }
    let request = Request::get(uri).body(Body::empty())?;
    let response = tokio::time::timeout(Duration::from_secs(10), client.request(request))
        .await
        .map_err(|_| FetchError::Timeout)??;
    if !response.status().is_success() {
        return Err(FetchError::Status(response.status()));
    }
    let body = axum::body::to_bytes(Body::new(response.into_body()), 1024 * 1024).await?;
    Ok(VerifyingKeys::from_jwks_json(&body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_fetched_again_at_most_once_per_ten_seconds() {
        let jwks = ClientJwks::new(None);
        let now = OffsetDateTime::now_utc();
        let old = now - time::Duration::minutes(1);
        assert!(jwks.may_refetch("https://a.example/jwks", old));
        // A second unknown kid right after: no second fetch.
        assert!(!jwks.may_refetch("https://a.example/jwks", old));
        // Another client's URL is its own.
        assert!(jwks.may_refetch("https://b.example/jwks", old));
        // A set fetched moments ago is not fetched again.
        assert!(!jwks.may_refetch("https://c.example/jwks", now));
    }
}
