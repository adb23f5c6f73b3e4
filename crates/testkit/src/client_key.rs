//! A `private_key_jwt` client for tests and benchmarks: an ES384 key, its
//! public JWKS, and client assertions signed with it (RFC 7523 §2.2, SMART
//! Backend Services: `iss` = `sub` = client_id, `aud`, `exp`, `iat`, `jti`).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// How far ahead an assertion expires (servers accept at most 300 s).
pub const LIFETIME_SECS: i64 = 240;

/// An ES384 client key.
pub struct ClientKey {
    pair: EcdsaKeyPair,
    kid: String,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl ClientKey {
    /// A new random P-384 key named `kid`.
    ///
    /// # Panics
    /// When the system random source fails.
    pub fn es384(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng)
            .expect("a P-384 key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, doc.as_ref())
            .expect("the key just made");
        Self {
            pair,
            kid: kid.to_owned(),
        }
    }

    /// The public JWKS (`{"keys": [...]}`) to register.
    pub fn jwks(&self) -> serde_json::Value {
        let point = self.pair.public_key().as_ref();
        let (x, y) = (
            point.get(1..49).unwrap_or_default(),
            point.get(49..97).unwrap_or_default(),
        );
        serde_json::json!({"keys": [{
            "kty": "EC", "crv": "P-384", "use": "sig", "alg": "ES384", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
        }]})
    }

    /// An assertion of `client_id` for `aud` with id `jti`, issued now and
    /// expiring in [`LIFETIME_SECS`].
    ///
    /// # Panics
    /// When signing fails.
    pub fn assertion(&self, client_id: &str, aud: &str, jti: &str) -> String {
        self.assertion_at(client_id, aud, jti, unix_now())
    }

    /// [`ClientKey::assertion`] issued at `now` (Unix seconds).
    ///
    /// # Panics
    /// When signing fails.
    pub fn assertion_at(&self, client_id: &str, aud: &str, jti: &str, now: i64) -> String {
        let header = serde_json::json!({"alg": "ES384", "typ": "JWT", "kid": self.kid});
        let claims = serde_json::json!({
            "iss": client_id, "sub": client_id, "aud": aud,
            "exp": now + LIFETIME_SECS, "iat": now, "jti": jti,
        });
        let mut jws = URL_SAFE_NO_PAD.encode(header.to_string());
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(claims.to_string(), &mut jws);
        // ES384 in a JWS is r || s, 96 bytes (RFC 7518 §3.4): the FIXED algorithm.
        let signature = self
            .pair
            .sign(&SystemRandom::new(), jws.as_bytes())
            .expect("ES384 signing");
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut jws);
        jws
    }
}
