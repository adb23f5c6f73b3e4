//! Certificate authentications that succeeded, shared across connections.
//!
//! A client that opens a new connection for every token request presents the
//! same chain each time; verifying it again with webpki (a signature check per
//! certificate, plus the subject constraint) cost about a seventh of the
//! server's CPU per request in `bench-token`. The per-connection cache in
//! [`crate::identity`] cannot help there, so this one is keyed by what decides
//! the outcome: the client, the registry generation its trust store was read
//! at, and the SHA-256 of every certificate presented. An entry is good until
//! the earliest `notAfter` of the presented chain (webpki does not check the
//! dates of trust anchors), and a registry change makes every entry miss.
//! Failures are never cached, so a bad chain is always judged afresh.

use std::collections::HashMap;
use std::sync::Mutex;

use certbound_oauth::auth::Method;
use certbound_pki::CertDer;
use time::OffsetDateTime;

use crate::identity::ClientIdentity;

/// Entries kept before the cache starts over.
pub const CAPACITY: usize = 4096;
/// Longest an entry is trusted, whatever the certificates' dates: a trust
/// anchor can expire (webpki does not check anchor dates; certbound does on a
/// full verification) without the registry changing.
pub const MAX_AGE: time::Duration = time::Duration::minutes(5);

/// What a successful authentication depended on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    client_id: String,
    generation: i64,
    /// `x5t#S256` of each presented certificate, leaf first.
    chain: Vec<String>,
}

impl Key {
    /// The key for `client_id` at registry `generation` with the connection's chain;
    /// `None` without a certificate.
    pub fn new(client_id: &str, generation: i64, identity: &ClientIdentity) -> Option<Self> {
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

/// The cache, held in the server's state.
#[derive(Debug, Default)]
pub struct ChainCache {
    entries: Mutex<HashMap<Key, (Method, OffsetDateTime)>>,
}

impl ChainCache {
    /// The method of a cached success still good at `now`.
    pub fn get(&self, key: &Key, now: OffsetDateTime) -> Option<Method> {
        let entries = self.entries.lock().ok()?;
        let (method, until) = entries.get(key)?;
        (now <= *until).then_some(*method)
    }

    /// Remember a success until the first certificate of `chain` expires, or
    /// for [`MAX_AGE`] from `now`, whichever comes first.
    pub fn put(&self, key: Key, method: Method, chain: &[CertDer], now: OffsetDateTime) {
        // `None` sorts first: a certificate whose date cannot be read is not cached.
        let until = chain
            .iter()
            .map(|c| certbound_pki::inspect::not_after(c))
            .min()
            .flatten();
        let Some(until) = until.map(|u| u.min(now + MAX_AGE)) else {
            return;
        };
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(key, (method, until));
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
        let key = Key::new("client-a", 7, &identity(chain.clone())).unwrap();
        cache.put(key.clone(), Method::TlsClientAuth, &chain, now);
        assert_eq!(cache.get(&key, now), Some(Method::TlsClientAuth));
        // Another client, another registry generation, another chain: not found.
        let other = |id: &str, generation, chain: Vec<CertDer>| {
            Key::new(id, generation, &identity(chain)).unwrap()
        };
        assert_eq!(cache.get(&other("client-b", 7, chain.clone()), now), None);
        assert_eq!(cache.get(&other("client-a", 8, chain.clone()), now), None);
        assert_eq!(
            cache.get(&other("client-a", 7, vec![b.cert.clone()]), now),
            None
        );
        let with_intermediate = vec![via.cert.clone(), pki.intermediate.cert.clone()];
        let key2 = other("client-a", 7, with_intermediate.clone());
        assert_ne!(key2, other("client-a", 7, vec![via.cert.clone()]));
        // Good for MAX_AGE at most, and never past the chain's first notAfter.
        assert_eq!(cache.get(&key, now + MAX_AGE), Some(Method::TlsClientAuth));
        assert_eq!(
            cache.get(&key, now + MAX_AGE + time::Duration::seconds(1)),
            None
        );
        let near_end = certbound_testkit::NOT_AFTER - time::Duration::minutes(1);
        cache.put(key.clone(), Method::TlsClientAuth, &chain, near_end);
        assert_eq!(
            cache.get(
                &key,
                certbound_testkit::NOT_AFTER + time::Duration::seconds(1)
            ),
            None
        );
        // No certificate, no key.
        assert!(Key::new("client-a", 7, &identity(Vec::new())).is_none());
    }
}
