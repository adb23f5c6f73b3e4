//! Client authentication by a signed JWT: `private_key_jwt` (RFC 7523 §2.2
//! and §3, RFC 7521 §4.2), as SMART Backend Services clients use it.
//!
//! The client sends `client_assertion_type` =
//! `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and a
//! `client_assertion` signed with its private key; the server verifies it
//! with the public keys registered for the client ([`crate::VerifyingKeys`],
//! from an inline `jwks` or its `jwks_uri`). [`verify`] does every check that
//! needs no state; the caller records the `jti` (see the store's
//! `use_assertion`) so that a replay is refused.
//!
//! [`client_id_of`] reads the (still unverified) `sub` to find whose keys to
//! verify with: RFC 7523 §3 lets a client leave `client_id` out of the form.

#[cfg(test)]
mod tests;

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::jwt::{self, JwtError, MAX_TOKEN_LEN};
use crate::keys::{Algorithm, VerifyingKeys};

/// The `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest an assertion may live: `exp` at most this far ahead (SMART
/// Backend Services: "no more than five minutes in the future").
pub const MAX_LIFETIME_SECS: i64 = 300;

/// Clock leeway for `nbf` and `iat` and for the lifetime bound, seconds.
pub const LEEWAY_SECS: i64 = 60;

/// Longest `jti` kept (it is stored until the assertion expires).
pub const MAX_JTI_LEN: usize = 256;

/// What an assertion must satisfy besides its signature.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    /// The client: `iss` and `sub` must both be this.
    pub client_id: &'a str,
    /// `aud` must contain one of these: the token endpoint URL of each
    /// listener (RFC 8705 §5 aliases) and the issuer.
    pub audiences: &'a [String],
    /// The client's registered `jwks_uri`: a `jku` header must equal it.
    pub jwks_uri: Option<&'a str>,
    /// The verifier's time, Unix seconds.
    pub now: i64,
}

/// An assertion that passed every check; its `jti` is not yet recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assertion {
    /// The assertion id, to be recorded until `exp`.
    pub jti: String,
    /// When the assertion expires, Unix seconds.
    pub exp: i64,
    /// The algorithm it was signed with.
    pub alg: Algorithm,
    /// The key id of its header, when it has one.
    pub kid: Option<String>,
}

/// Exactly why an assertion was refused. The client is told only
/// `invalid_client`; this goes to the log and the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AssertionError {
    /// The form has `client_assertion` without the jwt-bearer type, or the reverse.
    #[error(
        "client_assertion_type must be \"{ASSERTION_TYPE}\" with a client_assertion (found {found:?})"
    )]
    WrongType {
        /// The `client_assertion_type` sent, if any.
        found: Option<String>,
    },
    /// Parsing, key selection or the signature failed.
    #[error("the client assertion is refused: {0}")]
    Jwt(JwtError),
    /// The header's `jku` is not the client's registered `jwks_uri`.
    #[error(
        "the client assertion's jku header is {jku:?}, not the client's registered jwks_uri ({})",
        registered.as_deref().unwrap_or("none is registered")
    )]
    JkuNotRegistered {
        /// The `jku` header.
        jku: String,
        /// The registered `jwks_uri`.
        registered: Option<String>,
    },
    /// The header's `typ` says it is an access token, not an assertion.
    #[error("the client assertion's typ is {typ:?}: an access token is not a client assertion")]
    AccessTokenTyp {
        /// The `typ` header.
        typ: String,
    },
    /// A required claim is absent or not of its type.
    #[error("the client assertion has no {claim:?} claim (or it is not a {kind})")]
    MissingClaim {
        /// The claim.
        claim: &'static str,
        /// What it must be.
        kind: &'static str,
    },
    /// `iss` or `sub` is not the client id.
    #[error(
        "the client assertion's {claim} is {found:?}, not the client_id {expected:?} (RFC 7523 §3: iss and sub are the client_id)"
    )]
    WrongClient {
        /// `iss` or `sub`.
        claim: &'static str,
        /// The client id authenticated.
        expected: String,
        /// The claim's value.
        found: String,
    },
    /// `aud` names none of the token endpoint URLs.
    #[error(
        "the client assertion is for audience {found:?}, not this token endpoint (one of {expected:?})"
    )]
    WrongAudience {
        /// The accepted audiences.
        expected: Vec<String>,
        /// The `aud` values.
        found: Vec<String>,
    },
    /// `exp` is not in the future.
    #[error("the client assertion expired {}s ago (exp {exp}, now {now})", now - exp)]
    Expired {
        /// The `exp` claim.
        exp: i64,
        /// The verifier's time.
        now: i64,
    },
    /// `exp` is more than five minutes ahead.
    #[error(
        "the client assertion's exp is {}s ahead; at most {MAX_LIFETIME_SECS}s are accepted (SMART Backend Services)",
        exp - now
    )]
    TooLong {
        /// The `exp` claim.
        exp: i64,
        /// The verifier's time.
        now: i64,
    },
    /// `nbf` or `iat` is in the future beyond the leeway.
    #[error(
        "the client assertion's {claim} ({at}) is in the future (now {now}); check the client's clock"
    )]
    NotYetValid {
        /// `nbf` or `iat`.
        claim: &'static str,
        /// Its value.
        at: i64,
        /// The verifier's time.
        now: i64,
    },
    /// `jti` is longer than [`MAX_JTI_LEN`] or empty.
    #[error("the client assertion's jti is {len} characters; 1 to {MAX_JTI_LEN} are accepted")]
    BadJti {
        /// Its length.
        len: usize,
    },
}

impl AssertionError {
    /// A short stable name for metrics and the audit `reason` prefix.
    pub fn code(&self) -> &'static str {
        match self {
            Self::WrongType { .. } => "assertion_type",
            Self::Jwt(JwtError::BadSignature) => "assertion_signature",
            Self::Jwt(JwtError::UnsupportedAlg { .. } | JwtError::AlgMismatch { .. }) => {
                "assertion_alg"
            }
            Self::Jwt(
                JwtError::UnknownKid { .. }
                | JwtError::NoKeyForAlg { .. }
                | JwtError::KidRequired { .. },
            ) => "assertion_key",
            Self::Jwt(_) | Self::MissingClaim { .. } | Self::BadJti { .. } => "assertion_malformed",
            Self::JkuNotRegistered { .. } => "assertion_jku",
            Self::AccessTokenTyp { .. } => "assertion_typ",
            Self::WrongClient { .. } => "assertion_client",
            Self::WrongAudience { .. } => "assertion_audience",
            Self::Expired { .. } | Self::TooLong { .. } | Self::NotYetValid { .. } => {
                "assertion_time"
            }
        }
    }

    /// Whether the key set may be out of date: a re-fetched JWKS may verify.
    pub fn wants_fresh_keys(&self) -> bool {
        matches!(
            self,
            Self::Jwt(JwtError::UnknownKid { .. } | JwtError::NoKeyForAlg { .. })
        )
    }
}

#[derive(Deserialize)]
struct Claims {
    iss: Option<serde_json::Value>,
    sub: Option<serde_json::Value>,
    #[serde(default, with = "crate::claims::audience")]
    aud: Vec<String>,
    exp: Option<serde_json::Value>,
    nbf: Option<serde_json::Value>,
    iat: Option<serde_json::Value>,
    jti: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Subject {
    sub: Option<String>,
    iss: Option<String>,
}

/// The client id an assertion claims to be from (`sub`, else `iss`), read
/// without verifying anything: only to find whose keys verify it.
pub fn client_id_of(assertion: &str) -> Result<String, AssertionError> {
    let malformed = |reason: &str| {
        AssertionError::Jwt(JwtError::Malformed {
            part: jwt::Part::Payload,
            reason: reason.to_owned(),
        })
    };
    if assertion.len() > MAX_TOKEN_LEN {
        return Err(AssertionError::Jwt(JwtError::TooLarge {
            len: assertion.len(),
            max: MAX_TOKEN_LEN,
        }));
    }
    let payload = assertion
        .split('.')
        .nth(1)
        .ok_or_else(|| malformed("the assertion is not a compact JWS"))?;
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| malformed("not base64url without padding"))?;
    let subject: Subject = jwt::decode_json_object(&json).map_err(AssertionError::Jwt)?;
    subject
        .sub
        .or(subject.iss)
        .ok_or(AssertionError::MissingClaim {
            claim: "sub",
            kind: "string",
        })
}

/// Verifies `assertion` with `keys` and checks its claims against `expected`.
pub fn verify(
    assertion: &str,
    keys: &VerifyingKeys,
    expected: &Expected<'_>,
) -> Result<Assertion, AssertionError> {
    let verified = jwt::verify(assertion, keys).map_err(AssertionError::Jwt)?;
    let header = verified.header;
    if let Some(jku) = header.jku {
        if expected.jwks_uri != Some(jku.as_str()) {
            return Err(AssertionError::JkuNotRegistered {
                jku,
                registered: expected.jwks_uri.map(str::to_owned),
            });
        }
    }
    if let Some(typ) = header.typ.filter(|t| {
        t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
    }) {
        return Err(AssertionError::AccessTokenTyp { typ });
    }
    let claims: Claims = jwt::decode_json_object(&verified.payload).map_err(AssertionError::Jwt)?;
    let text = |value: Option<serde_json::Value>, claim: &'static str| match value {
        Some(serde_json::Value::String(s)) => Ok(s),
        _ => Err(AssertionError::MissingClaim {
            claim,
            kind: "string",
        }),
    };
    let number = |value: &Option<serde_json::Value>, claim: &'static str| match value {
        None => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or(AssertionError::MissingClaim {
            claim,
            kind: "number of seconds",
        }),
    };
    for (claim, value) in [("iss", claims.iss), ("sub", claims.sub)] {
        let found = text(value, claim)?;
        if found != expected.client_id {
            return Err(AssertionError::WrongClient {
                claim,
                expected: expected.client_id.to_owned(),
                found,
            });
        }
    }
    let aud = claims.aud;
    if !aud.iter().any(|a| expected.audiences.contains(a)) {
        return Err(AssertionError::WrongAudience {
            expected: expected.audiences.to_vec(),
            found: aud,
        });
    }
    let now = expected.now;
    let exp = number(&claims.exp, "exp")?.ok_or(AssertionError::MissingClaim {
        claim: "exp",
        kind: "number of seconds",
    })?;
    if exp <= now {
        return Err(AssertionError::Expired { exp, now });
    }
    if exp > now + MAX_LIFETIME_SECS + LEEWAY_SECS {
        return Err(AssertionError::TooLong { exp, now });
    }
    for (claim, value) in [("nbf", &claims.nbf), ("iat", &claims.iat)] {
        if let Some(at) = number(value, claim)?.filter(|at| *at > now + LEEWAY_SECS) {
            return Err(AssertionError::NotYetValid { claim, at, now });
        }
    }
    let jti = text(claims.jti, "jti")?;
    if jti.is_empty() || jti.chars().count() > MAX_JTI_LEN {
        return Err(AssertionError::BadJti {
            len: jti.chars().count(),
        });
    }
    Ok(Assertion {
        jti,
        exp,
        alg: header.alg,
        kid: header.kid,
    })
}

impl fmt::Display for Assertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} assertion jti={}", self.alg, self.jti)?;
        if let Some(kid) = &self.kid {
            write!(f, " kid={kid}")?;
        }
        Ok(())
    }
}
