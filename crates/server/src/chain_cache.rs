//! Certificate authentications, shared across connections: verified off the
//! async workers behind a limit, and remembered.
//!
//! A client that opens a new connection for every token request presents the
//! same chain each time; verifying it again with webpki (a signature check per
//! certificate, plus the subject constraint) cost about a seventh of the
//! server's CPU per request in `bench-token`. The per-connection cache in
//! [`crate::identity`] cannot help there, so this one is keyed by what decides
//! the outcome: the client, the registry generation its trust store was read
//! at, and the SHA-256 of every certificate presented. A success is good until
//! the earliest `notAfter` of the presented chain (webpki does not check the
//! dates of trust anchors), and a registry change makes every entry miss.
//!
//! A failure is remembered for [`FAILURE_AGE`] only: a peer repeating a chain
//! built to make the path search expensive pays for it once, and a client
//! that fixes its chain presents another one, which misses. A verification
//! that is not cached runs on the blocking pool, at most [`VERIFY_SLOTS`] per
//! core at once, so that no chain, however tangled, holds up the async workers
//! that serve everyone else.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use certbound_oauth::auth::{AuthFailure, Method, authenticate_certificate};
use certbound_oauth::client::CompiledClient;
use certbound_pki::CertDer;
use certbound_pki::revocation::RevocationCheck;
use time::OffsetDateTime;
use tokio::sync::Semaphore;

use crate::identity::ClientIdentity;

/// Entries kept before the cache starts over.
pub(crate) const CAPACITY: usize = 4096;
/// Longest an entry is trusted, whatever the certificates' dates: a trust
/// anchor can expire (webpki does not check anchor dates; certbound does on a
/// full verification) without the registry changing.
pub(crate) const MAX_AGE: time::Duration = time::Duration::minutes(5);
/// How long a failed authentication is remembered for the same chain.
pub(crate) const FAILURE_AGE: time::Duration = time::Duration::seconds(10);
/// Verifications running at once, per core.
pub(crate) const VERIFY_SLOTS: usize = 1;

/// What a cached authentication depends on besides the chain: the
/// compilation of the client it was checked against (its `serial`, which a
/// change of that client, and of no other, replaces), and the generation of
/// the CRL set it was checked against (0 without `[revocation]`).
pub(crate) type Generation = (u64, u64);

/// What an authentication depended on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    client_id: String,
    generation: Generation,
    /// `x5t#S256` of each presented certificate, leaf first.
    chain: Vec<String>,
}

impl Key {
    /// The key for `client_id` at `generation` with the connection's chain;
    /// `None` without a certificate.
    pub fn new(client_id: &str, generation: Generation, identity: &ClientIdentity) -> Option<Self> {
        let leaf = identity.thumbprint.clone()?;
        let mut chain = Vec::with_capacity(identity.chain.len());
        chain.push(leaf);
        chain.extend(
            identity
                .chain
                .iter()
                .skip(1)
                .map(|c| certbound_pki::x5t_s256(c)),
        );
        Some(Self {
            client_id: client_id.to_string(),
            generation,
            chain,
        })
    }
}

type Outcome = Result<Method, AuthFailure>;

/// The cache and the verification limit, held in the server's state.
#[derive(Debug)]
pub struct ChainCache {
    entries: Mutex<HashMap<Key, (Outcome, OffsetDateTime)>>,
    slots: Semaphore,
}

impl Default for ChainCache {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            entries: Mutex::default(),
            slots: Semaphore::new(cores * VERIFY_SLOTS),
        }
    }
}

impl ChainCache {
    /// Authenticate `client` by `chain` (checked against `revocation`): from
    /// the cache under `key` when it holds an outcome still good at `now`,
    /// else verified on the blocking pool and remembered.
    pub async fn authenticate(
        &self,
        key: Option<Key>,
        client: &Arc<CompiledClient>,
        chain: &[CertDer],
        now: OffsetDateTime,
        revocation: Option<RevocationCheck>,
    ) -> Outcome {
        if let Some(outcome) = key.as_ref().and_then(|k| self.get(k, now)) {
            return outcome;
        }
        let outcome = match self.slots.acquire().await {
            Ok(_slot) => {
                let (c, owned) = (Arc::clone(client), chain.to_vec());
                tokio::task::spawn_blocking(move || {
                    authenticate_certificate(&c, &owned, now, revocation.as_ref())
                })
                .await
                .unwrap_or_else(|e| {
                    Err(AuthFailure::UnreadableCertificate {
                        reason: format!("verification did not finish: {e}"),
                    })
                })
            }
            // Never closed; verify here rather than fail if it were.
            Err(_) => authenticate_certificate(client, chain, now, revocation.as_ref()),
        };
        if let Some(key) = key {
            self.put(key, &outcome, chain, now);
        }
        outcome
    }

    /// The outcome of an authentication still good at `now`.
    pub fn get(&self, key: &Key, now: OffsetDateTime) -> Option<Outcome> {
        let entries = self.entries.lock().ok()?;
        let (outcome, until) = entries.get(key)?;
        (now <= *until).then(|| outcome.clone())
    }

    /// Remember a success until the first certificate of `chain` expires, or
    /// for [`MAX_AGE`] from `now`, whichever comes first; a failure for
    /// [`FAILURE_AGE`].
    pub fn put(&self, key: Key, outcome: &Outcome, chain: &[CertDer], now: OffsetDateTime) {
        let until = if outcome.is_ok() {
            // `None` sorts first: a certificate whose date cannot be read is not cached.
            let until = chain
                .iter()
                .map(|c| certbound_pki::inspect::not_after(c))
                .min()
                .flatten();
            let Some(until) = until.map(|u| u.min(now + MAX_AGE)) else {
                return;
            };
            until
        } else {
            now + FAILURE_AGE
        };
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(key, (outcome.clone(), until));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use certbound_testkit::{LeafOptions, TestPki};

    fn identity(chain: Vec<CertDer>) -> ClientIdentity {
        ClientIdentity::new(chain, ([127, 0, 0, 1], 1).into(), "mtls".into())
    }

    #[test]
    fn a_success_is_found_only_for_the_same_client_generation_and_chain() {
        let pki = TestPki::new();
        let a = pki.root.issue(&LeafOptions::client("a"));
        let b = pki.root.issue(&LeafOptions::client("b"));
        let via = pki.intermediate.issue(&LeafOptions::client("a"));
        let now = certbound_testkit::NOW;
        let cache = ChainCache::default();
        let chain = vec![a.cert.clone()];
        let key = Key::new("client-a", (7, 0), &identity(chain.clone())).unwrap();
        cache.put(key.clone(), &Ok(Method::TlsClientAuth), &chain, now);
        assert_eq!(cache.get(&key, now), Some(Ok(Method::TlsClientAuth)));
        // Another client, another compilation of it or CRL generation, another chain: not found.
        let other = |id: &str, serial: u64, chain: Vec<CertDer>| {
            Key::new(id, (serial, 0), &identity(chain)).unwrap()
        };
        assert_eq!(cache.get(&other("client-b", 7, chain.clone()), now), None);
        assert_eq!(cache.get(&other("client-a", 8, chain.clone()), now), None);
        let revoked_since = Key::new("client-a", (7, 1), &identity(chain.clone())).unwrap();
        assert_eq!(cache.get(&revoked_since, now), None);
        assert_eq!(
            cache.get(&other("client-a", 7, vec![b.cert.clone()]), now),
            None
        );
        let with_intermediate = vec![via.cert.clone(), pki.intermediate.cert.clone()];
        let key2 = other("client-a", 7, with_intermediate.clone());
        assert_ne!(key2, other("client-a", 7, vec![via.cert.clone()]));
        // Good for MAX_AGE at most, and never past the chain's first notAfter.
        assert_eq!(
            cache.get(&key, now + MAX_AGE),
            Some(Ok(Method::TlsClientAuth))
        );
        assert_eq!(
            cache.get(&key, now + MAX_AGE + time::Duration::seconds(1)),
            None
        );
        let near_end = certbound_testkit::NOT_AFTER - time::Duration::minutes(1);
        cache.put(key.clone(), &Ok(Method::TlsClientAuth), &chain, near_end);
        assert_eq!(
            cache.get(
                &key,
                certbound_testkit::NOT_AFTER + time::Duration::seconds(1)
            ),
            None
        );
        // A failure is remembered briefly.
        let failure = Err(AuthFailure::NoCertificate);
        let key3 = other("client-c", 7, chain.clone());
        cache.put(key3.clone(), &failure, &chain, now);
        assert_eq!(cache.get(&key3, now + FAILURE_AGE), Some(failure));
        assert_eq!(
            cache.get(&key3, now + FAILURE_AGE + time::Duration::seconds(1)),
            None
        );
        // No certificate, no key.
        assert!(Key::new("client-a", (7, 0), &identity(Vec::new())).is_none());
    }
}
