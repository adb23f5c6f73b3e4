//! Bearer tokens that verified, remembered: by the SHA-256 of their text
//! for a route (so a repeated token skips the signature check; every use
//! still checks `exp` and revocation), and, on a connection, the last one
//! (see [`crate::identity`]). The gateway's routes fill them; the identity of
//! a connection holds one without knowing about routes.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, RwLock};

use axum::http::HeaderValue;
use certbound_oauth::AccessTokenClaims;

/// Most verified tokens remembered per route; the cache is emptied when full.
pub(crate) const TOKEN_CACHE_SIZE: usize = 100_000;

/// A token that passed the route's signature, `iss` and `aud` checks, with the
/// `X-Client-Id` value for the upstream encoded once.
#[derive(Debug)]
pub(crate) struct Verified {
    pub claims: AccessTokenClaims,
    /// `X-Client-Id` for the upstream.
    pub(crate) client_id: Option<HeaderValue>,
}

/// Verified tokens by the SHA-256 of their text.
#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    map: RwLock<HashMap<[u8; 32], Arc<Verified>, BuildHasherDefault<DigestHasher>>>,
}

/// Hashes a key that is already a SHA-256 digest by taking 8 of its bytes:
/// no second hash per request. Only verified tokens are inserted, so nobody
/// can fill the map with keys chosen to collide.
#[derive(Debug, Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn write(&mut self, bytes: &[u8]) {
        // `[u8; 32]` hashes as its length (a usize, through `write_usize`) and then its bytes.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(word);
        }
    }

    fn write_usize(&mut self, _: usize) {}

    fn finish(&self) -> u64 {
        self.0
    }
}

impl TokenCache {
    pub(crate) fn get(&self, key: &[u8; 32]) -> Option<Arc<Verified>> {
        self.map.read().ok()?.get(key).cloned()
    }

    pub(crate) fn put(&self, key: [u8; 32], claims: Arc<Verified>) {
        if let Ok(mut map) = self.map.write() {
            if map.len() >= TOKEN_CACHE_SIZE {
                map.clear();
            }
            map.insert(key, claims);
        }
    }
}
