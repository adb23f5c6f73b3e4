//! The keys that verify clients' `private_key_jwt` assertions (RFC 7523).
//!
//! Inline `jwks` come compiled with the client. A `jwks_uri` is fetched over
//! https (`[issuer] jwks_ca`, else the system's roots; 10 s and 1 MiB at
//! most), kept [`KEEP`] and refreshed in the background, one fetch per URL at
//! a time ([`AnswerCache`]); a failed fetch is remembered for 10 s. When an
//! assertion names a key the cached set lacks (the client rotated its keys),
//! the set is fetched again, at most once per [`REFETCH_MIN`].

use std::sync::Arc;
use std::time::Duration;

use certbound_oauth::VerifyingKeys;
use certbound_oauth::assertion::{self, Assertion, Expected};
use certbound_oauth::auth::AuthFailure;
use certbound_oauth::client::{ClientKeys, CompiledClient};
use certbound_pki::CertDer;
use time::OffsetDateTime;

use crate::answer_cache::AnswerCache;

/// How long a fetched JWKS is used before it is fetched again.
pub const KEEP: Duration = Duration::from_secs(300);
/// The least time between two fetches of one `jwks_uri` asked for by
/// assertions naming an unknown key.
pub const REFETCH_MIN: Duration = Duration::from_secs(10);
/// Most `jwks_uri` sets kept.
const MAX_SETS: usize = 10_000;

/// A JWKS fetched from a client's `jwks_uri`.
#[derive(Debug)]
pub struct FetchedKeys {
    pub keys: VerifyingKeys,
    pub fetched_at: OffsetDateTime,
}

/// Every `jwks_uri` set, shared by all requests.
#[derive(Debug)]
pub struct ClientJwks {
    cache: Arc<AnswerCache<Arc<FetchedKeys>>>,
    ca: Option<Arc<Vec<CertDer>>>,
}

fn keep_until(fetched: &Arc<FetchedKeys>) -> OffsetDateTime {
    fetched.fetched_at + time::Duration::try_from(KEEP).unwrap_or(time::Duration::ZERO)
}

impl ClientJwks {
    /// `ca`: the CAs that verify the JWKS servers; `None` for the system's roots.
    pub fn new(ca: Option<Vec<CertDer>>) -> Self {
        Self {
            cache: AnswerCache::new(keep_until, MAX_SETS),
            ca: ca.map(Arc::new),
        }
    }

    async fn fetch(&self, uri: &str) -> Result<Arc<FetchedKeys>, String> {
        let (owned, ca) = (uri.to_owned(), self.ca.clone());
        self.cache
            .get(uri.to_owned(), move || async move {
                let body =
                    crate::gateway::proxy::fetch(&owned, ca.as_deref().map(Vec::as_slice)).await?;
                let keys = VerifyingKeys::from_jwks_json(&body).map_err(|e| e.to_string())?;
                tracing::debug!(uri = %owned, keys = keys.len(), "client JWKS fetched");
                Ok(Arc::new(FetchedKeys {
                    keys,
                    fetched_at: OffsetDateTime::now_utc(),
                }))
            })
            .await
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
        let unavailable = |reason| AuthFailure::KeysUnavailable {
            uri: uri.clone(),
            reason,
        };
        let fetched = self.fetch(uri).await.map_err(unavailable)?;
        match assertion::verify(assertion, &fetched.keys, expected) {
            Err(e)
                if e.wants_fresh_keys()
                    && OffsetDateTime::now_utc() - fetched.fetched_at
                        >= time::Duration::try_from(REFETCH_MIN)
                            .unwrap_or(time::Duration::ZERO) =>
            {
                tracing::info!(client_id = %client.id, %uri, reason = %e, "fetching the client's JWKS again");
                self.cache.forget(uri);
                let fresh = self.fetch(uri).await.map_err(unavailable)?;
                assertion::verify(assertion, &fresh.keys, expected).map_err(AuthFailure::Assertion)
            }
            result => result.map_err(AuthFailure::Assertion),
        }
    }
}
