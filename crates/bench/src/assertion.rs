//! `private_key_jwt` for `bench-token --private-key-jwt`: the second bench
//! client's ES384 key, its JWKS (registered inline), and the token requests
//! that authenticate with a client assertion (RFC 7523 §2.2, as SMART Backend
//! Services send it): header `{"alg":"ES384","typ":"JWT","kid"}`, `iss` and
//! `sub` the client, `aud` the token URL, `exp` 240 s ahead, a `jti` never
//! used before.
//!
//! The assertions are signed before the clock starts, into a pool the load
//! generator takes one from per request (sized from the rate of the last run
//! of its kind, or of a short trial run, times the duration, with a margin; a
//! pool used up ends the run early and says so). Measured on the 2-core
//! machine the benchmark runs on: an ES384 signature costs the client
//! 150-175 µs of CPU, against about 385 µs for certbound to verify one
//! (`certbound_oauth::assertion::verify` in a loop) and 630-1000 µs of server
//! CPU per `private_key_jwt` token all told. With the store on tmpfs certbound
//! issued 2,760 such tokens/s: signed on the fly, that is 0.4 of the 2 cores
//! the server runs on, a quarter as much CPU again as the server spends, and
//! 0.15 ms more per request. Pre-signed, the client does the same work per
//! request for both methods and the comparison is of the server alone; the
//! pool for a 5 s run takes 0.3-1.6 s to sign.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use certbound_oauth::assertion::ASSERTION_TYPE;
use certbound_testkit::client_key::ClientKey;
use serde_json::Value;

use crate::load::Bodies;
use crate::procfs::Procs;

/// The `private_key_jwt` client's id.
pub const JWT_CLIENT_ID: &str = "bench-jwt-client";
/// The `kid` of its key.
pub const KID: &str = "bench-es384";
/// The audience: the token URL of the `[issuer] url` of the bench config.
pub const AUDIENCE: &str = "https://localhost/oauth2/token";
/// How far ahead an assertion expires (certbound accepts at most 300 s).
pub use certbound_testkit::client_key::LIFETIME_SECS;
/// The most assertions signed for one run.
pub const MAX_POOL: usize = 400_000;

/// The client's ES384 key (the test kit's), signing assertions with `jti`s
/// unique to this benchmark.
#[derive(Debug)]
pub struct Signer {
    key: ClientKey,
    /// Random, so that `jti`s differ between benchmarks on one store.
    prefix: String,
    next: AtomicU64,
}

/// A pool of signed token requests and what signing it cost.
#[derive(Debug)]
pub struct Pool {
    pub bodies: Arc<Bodies>,
    /// Wall-clock seconds spent signing.
    pub seconds: f64,
    /// CPU seconds this process spent signing.
    pub cpu_seconds: f64,
}

impl Pool {
    /// CPU µs per signed request.
    pub fn cpu_us_each(&self) -> f64 {
        self.cpu_seconds * 1e6 / self.bodies.len().max(1) as f64
    }
}

impl Signer {
    /// A new P-384 key.
    pub fn generate() -> Result<Self> {
        let mut random = [0u8; 8];
        aws_lc_rs::rand::fill(&mut random).map_err(|_| anyhow!("no random bytes"))?;
        Ok(Self {
            key: ClientKey::es384(KID),
            prefix: random.iter().map(|b| format!("{b:02x}")).collect(),
            next: AtomicU64::new(0),
        })
    }

    /// The public key as a JWKS, for the client's `jwks`.
    pub fn jwks(&self) -> Value {
        self.key.jwks()
    }

    /// A client assertion issued at `now` (Unix seconds), with a fresh `jti`.
    pub fn assertion(&self, now: i64) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let jti = format!("{}-{n}", self.prefix);
        self.key.assertion_at(JWT_CLIENT_ID, AUDIENCE, &jti, now)
    }

    /// A token request (client_credentials) carrying a fresh assertion.
    pub fn request_body(&self, now: i64) -> Bytes {
        Bytes::from(format!(
            "grant_type=client_credentials&client_assertion_type={}&client_assertion={}",
            ASSERTION_TYPE.replace(':', "%3A"),
            self.assertion(now)
        ))
    }

    /// `count` token requests signed on `threads` threads, before a run.
    pub fn pool(&self, count: usize, threads: usize) -> Result<Pool> {
        let threads = threads.clamp(1, count.max(1));
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let this = Procs::this();
        let (cpu0, t0) = (this.cpu_seconds(), Instant::now());
        let parts: Vec<Result<Vec<Bytes>>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|i| {
                    let share = count / threads + usize::from(i < count % threads);
                    scope.spawn(move || Ok((0..share).map(|_| self.request_body(now)).collect()))
                })
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join()
                        .unwrap_or_else(|_| Err(anyhow!("a signing thread panicked")))
                })
                .collect()
        });
        let mut bodies = Vec::with_capacity(count);
        for part in parts {
            bodies.extend(part.context("signing the client assertions")?);
        }
        Ok(Pool {
            bodies: Arc::new(Bodies::new(bodies)),
            seconds: t0.elapsed().as_secs_f64(),
            cpu_seconds: this.cpu_seconds() - cpu0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use certbound_oauth::VerifyingKeys;
    use certbound_oauth::assertion::{Expected, verify};

    #[test]
    fn requests_carry_assertions_the_jwks_verifies_with_unique_jtis() {
        let signer = Signer::generate().unwrap();
        let keys = VerifyingKeys::from_jwks_json(signer.jwks().to_string().as_bytes()).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let audiences = vec![AUDIENCE.to_string()];
        let expected = Expected {
            client_id: JWT_CLIENT_ID,
            audiences: &audiences,
            jwks_uri: None,
            now,
        };
        let a = verify(&signer.assertion(now), &keys, &expected).unwrap();
        assert_eq!(a.exp, now + LIFETIME_SECS);
        let body = signer.request_body(now);
        let body = std::str::from_utf8(&body).unwrap();
        let assertion = body
            .strip_prefix(
                "grant_type=client_credentials&client_assertion_type=\
                 urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=",
            )
            .unwrap();
        let b = verify(assertion, &keys, &expected).unwrap();
        assert_ne!(a.jti, b.jti);
        let pool = signer.pool(5, 2).unwrap();
        assert_eq!(pool.bodies.len(), 5);
    }
}
