//! Client secrets, for the clients that cannot use mTLS
//! (`client_secret_basic` / `client_secret_post`).
//!
//! Secrets are generated here (32 random bytes, base64url) and handed to the
//! client once; only a PBKDF2-HMAC-SHA256 hash is stored, as the
//! self-describing string `pbkdf2-sha256$ITER$SALT$HASH` (salt and hash in
//! base64url without padding), so the iteration count can be raised later
//! without breaking stored hashes ([`needs_rehash`]).
//!
//! Generated secrets carry 256 bits of entropy, so the work factor matters
//! mainly for secrets an administrator chose by hand. One verification at
//! [`PBKDF2_ITERATIONS`] costs milliseconds of CPU, so a server that sees many
//! secret-authenticated requests should cache successful verifications (and
//! call [`verify_without_hash`] for unknown clients so timing reveals nothing).

use std::num::NonZeroU32;

use aws_lc_rs::{pbkdf2, rand};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// PBKDF2 iterations for new hashes: the floor of [`MIN_ITERATIONS`], since
/// at 100 000 one verification already costs 10-15 ms on the development
/// machine (AMD EPYC, 2 cores, aws-lc-rs with SHA extensions; measured by the
/// `bench_jwt` example). Generated secrets have 256 bits of entropy, so more
/// work would buy nothing for them and would cost every request.
pub const PBKDF2_ITERATIONS: u32 = 100_000;

/// Fewer iterations than this in a stored hash is refused as too weak.
pub const MIN_ITERATIONS: u32 = 100_000;

/// More iterations than this in a stored hash is refused: a verification
/// would take seconds, which is a denial of service, not security.
pub const MAX_ITERATIONS: u32 = 10_000_000;

/// The scheme name that opens every stored hash.
pub const SCHEME: &str = "pbkdf2-sha256";

const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;
const SECRET_LEN: usize = 32;

/// What went wrong with a secret or a stored hash.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The system random source failed.
    #[error("the system random source failed; no secret or salt was made")]
    Random,
    /// An empty secret was given to hash.
    #[error("a client secret cannot be empty; generate one with `certbound`")]
    Empty,
    /// The stored hash does not have the expected form.
    #[error(
        "the stored client secret hash is malformed ({reason}); expected \
         `pbkdf2-sha256$ITERATIONS$SALT$HASH`: set a new secret for this client"
    )]
    Malformed {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The stored hash uses another scheme.
    #[error(
        "the stored client secret hash uses scheme {scheme:?}; only pbkdf2-sha256 is supported: set a new secret for this client"
    )]
    UnknownScheme {
        /// The scheme found.
        scheme: String,
    },
    /// The stored iteration count is out of the accepted range.
    #[error(
        "the stored client secret hash uses {iterations} iterations, outside {MIN_ITERATIONS}..={MAX_ITERATIONS}; \
         set a new secret for this client"
    )]
    Iterations {
        /// The count found.
        iterations: u32,
    },
}

/// A new random client secret: 32 bytes, base64url without padding (43 characters).
pub fn generate_secret() -> Result<String, SecretError> {
    let mut bytes = [0u8; SECRET_LEN];
    rand::fill(&mut bytes).map_err(|_| SecretError::Random)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Hashes a secret for storage with [`PBKDF2_ITERATIONS`] and a random salt.
pub fn hash_secret(secret: &str) -> Result<String, SecretError> {
    hash_with_iterations(secret, PBKDF2_ITERATIONS)
}

fn hash_with_iterations(secret: &str, iterations: u32) -> Result<String, SecretError> {
    if secret.is_empty() {
        return Err(SecretError::Empty);
    }
    let rounds = NonZeroU32::new(iterations).ok_or(SecretError::Iterations { iterations })?;
    let mut salt = [0u8; SALT_LEN];
    rand::fill(&mut salt).map_err(|_| SecretError::Random)?;
    let mut hash = [0u8; HASH_LEN];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        rounds,
        &salt,
        secret.as_bytes(),
        &mut hash,
    );
    Ok(format!(
        "{SCHEME}${iterations}${}${}",
        URL_SAFE_NO_PAD.encode(salt),
        URL_SAFE_NO_PAD.encode(hash)
    ))
}

struct Stored {
    iterations: NonZeroU32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

fn parse(encoded: &str) -> Result<Stored, SecretError> {
    let mut parts = encoded.split('$');
    let scheme = parts.next().unwrap_or_default();
    if scheme != SCHEME {
        return Err(SecretError::UnknownScheme {
            scheme: scheme.chars().take(32).collect(),
        });
    }
    let (Some(iterations), Some(salt), Some(hash), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SecretError::Malformed {
            reason: "it does not have four `$`-separated parts",
        });
    };
    let iterations: u32 = iterations.parse().map_err(|_| SecretError::Malformed {
        reason: "the iteration count is not a number",
    })?;
    if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
        return Err(SecretError::Iterations { iterations });
    }
    let iterations = NonZeroU32::new(iterations).ok_or(SecretError::Iterations { iterations })?;
    let salt = URL_SAFE_NO_PAD
        .decode(salt)
        .map_err(|_| SecretError::Malformed {
            reason: "the salt is not base64url",
        })?;
    let hash = URL_SAFE_NO_PAD
        .decode(hash)
        .map_err(|_| SecretError::Malformed {
            reason: "the hash is not base64url",
        })?;
    if salt.len() < SALT_LEN {
        return Err(SecretError::Malformed {
            reason: "the salt is shorter than 16 bytes",
        });
    }
    if hash.len() != HASH_LEN {
        return Err(SecretError::Malformed {
            reason: "the hash is not 32 bytes",
        });
    }
    Ok(Stored {
        iterations,
        salt,
        hash,
    })
}

/// Checks `secret` against a stored hash, in constant time. `Ok(false)` is a
/// wrong secret; an error means the stored hash itself is unusable.
pub fn verify_secret(secret: &str, encoded: &str) -> Result<bool, SecretError> {
    let stored = parse(encoded)?;
    Ok(pbkdf2::verify(
        pbkdf2::PBKDF2_HMAC_SHA256,
        stored.iterations,
        &stored.salt,
        secret.as_bytes(),
        &stored.hash,
    )
    .is_ok())
}

/// Spends the time of one verification and returns `false`: for a client id
/// that is unknown or has no secret, so that the response time does not tell
/// an attacker which client ids exist.
pub fn verify_without_hash(secret: &str) -> bool {
    let mut out = [0u8; HASH_LEN];
    let rounds = NonZeroU32::new(PBKDF2_ITERATIONS).unwrap_or(NonZeroU32::MIN);
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        rounds,
        &[0u8; SALT_LEN],
        secret.as_bytes(),
        &mut out,
    );
    false
}

/// Whether a stored hash uses fewer iterations than [`PBKDF2_ITERATIONS`]
/// (rehash the secret after the next successful verification).
pub fn needs_rehash(encoded: &str) -> bool {
    parse(encoded).map_or(true, |s| s.iterations.get() < PBKDF2_ITERATIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_random_and_43_chars() {
        let a = generate_secret().expect("random");
        let b = generate_secret().expect("random");
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn right_secret_verifies_wrong_one_does_not() {
        let secret = generate_secret().expect("random");
        let stored = hash_secret(&secret).expect("hash");
        assert!(stored.starts_with("pbkdf2-sha256$100000$"));
        assert!(verify_secret(&secret, &stored).expect("well-formed"));
        assert!(!verify_secret("wrong", &stored).expect("well-formed"));
        assert!(!verify_secret("", &stored).expect("well-formed"));
        assert!(!needs_rehash(&stored));
    }

    #[test]
    fn same_secret_hashes_differently_each_time() {
        let a = hash_secret("s3cret-value").expect("hash");
        let b = hash_secret("s3cret-value").expect("hash");
        assert_ne!(a, b, "salt must be random");
        assert!(verify_secret("s3cret-value", &a).expect("ok"));
        assert!(verify_secret("s3cret-value", &b).expect("ok"));
    }

    #[test]
    fn empty_secret_is_not_hashed() {
        assert_eq!(hash_secret(""), Err(SecretError::Empty));
    }

    #[test]
    fn independent_pbkdf2_vector_verifies() {
        // RFC 7914 §11 test vector for PBKDF2-HMAC-SHA256 ("passwd", "salt", c=1, 64 bytes):
        // its first 32 bytes equal a 32-byte derivation.
        let mut out = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            NonZeroU32::MIN,
            b"salt",
            b"passwd",
            &mut out,
        );
        let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
    }

    #[test]
    fn malformed_hashes_are_errors_not_mismatches() {
        let good = hash_secret("x").expect("hash");
        let parts: Vec<&str> = good.split('$').collect();
        let cases = [
            ("bcrypt$12$abc", "scheme"),
            ("pbkdf2-sha256$100000$abc", "parts"),
            (
                &*format!("pbkdf2-sha256$lots${}${}", parts[2], parts[3]),
                "number",
            ),
            (
                &*format!("pbkdf2-sha256$1000${}${}", parts[2], parts[3]),
                "weak",
            ),
            (
                &*format!("pbkdf2-sha256$999999999${}${}", parts[2], parts[3]),
                "slow",
            ),
            (&*format!("pbkdf2-sha256$100000$!!${}", parts[3]), "salt"),
            (
                &*format!("pbkdf2-sha256$100000${}$AAAA", parts[2]),
                "hash length",
            ),
            (&*format!("{good}$extra"), "extra part"),
        ];
        for (stored, what) in cases {
            assert!(verify_secret("x", stored).is_err(), "{what}: {stored}");
            assert!(needs_rehash(stored), "{what}");
        }
    }

    #[test]
    fn fewer_iterations_than_current_needs_rehash() {
        let stored = hash_with_iterations("x", PBKDF2_ITERATIONS + 1).expect("hash");
        assert!(!needs_rehash(&stored));
        assert!(verify_secret("x", &stored).expect("ok"));
    }

    #[test]
    fn verify_without_hash_is_always_false() {
        assert!(!verify_without_hash("anything"));
    }
}
