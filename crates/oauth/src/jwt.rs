//! JWS compact serialization for RFC 9068 access tokens: signing, strict
//! parsing, signature verification, and the time/issuer/audience checks.
//!
//! Verification is written to leave no room for the classic JWT mistakes: the
//! token must be exactly three unpadded base64url parts, `alg: none` and HMAC
//! are refused (only the asymmetric algorithms of [`Algorithm`] exist), the
//! header's `alg` must be an algorithm of the key selected (never the other
//! way round), and unknown `crit` extensions are refused. Signature checking ([`verify`]) and claim
//! checking ([`Validation::validate`]) are separate steps so that each error
//! says exactly which check failed; [`crate::claims::verify_access_token`]
//! runs both.
//!
//! Speed matters here (a token is signed per token request and verified per
//! API call): each [`SigningKey`] carries its encoded header, verifying keys are
//! parsed once, and the header and signature are decoded on the stack.

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::keys::{Algorithm, KeySelectError, SigningKey, VerifyingKeys};

/// Largest token accepted (and produced), in bytes. Larger input is refused
/// before any decoding; real access tokens are well under 1 KiB.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The `typ` header of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Default clock leeway for `nbf` and `iat`, in seconds: tolerates small clock
/// differences between the issuer and the verifier.
pub const DEFAULT_LEEWAY_SECS: u64 = 60;

/// Longest encoded header accepted; ours are about 130 characters.
const MAX_HEADER_B64_LEN: usize = 1024;
/// Both ES256 (`r || s`) and Ed25519 signatures, the ones certbound makes, are 64 bytes.
const SIGNATURE_LEN: usize = 64;
/// The longest signature verified: RSA with an 8192-bit modulus.
const MAX_SIGNATURE_LEN: usize = 1024;

/// Which part of a token a parse error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The token as a whole (its length or its dots).
    Token,
    /// The JOSE header.
    Header,
    /// The claims.
    Payload,
    /// The signature.
    Signature,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Token => "token",
            Self::Header => "header",
            Self::Payload => "payload",
            Self::Signature => "signature",
        })
    }
}

/// Which check a token failed. The messages are for logs and operators; the
/// client is told only `invalid_token` (see [`crate::error::OAuthError`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// Longer than [`MAX_TOKEN_LEN`].
    #[error("the token is {len} bytes, more than the {max} accepted; it is not one of ours")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not a well-formed compact JWS.
    #[error("the token's {part} is malformed: {reason}")]
    Malformed {
        /// The part at fault.
        part: Part,
        /// What is wrong.
        reason: String,
    },
    /// The `alg` header names an algorithm we never accept (including `none`).
    #[error(
        "the token is signed with {alg:?}, which is not accepted (only RS256/384/512, \
         PS256/384/512, ES256, ES384 and EdDSA; never none or HMAC)"
    )]
    UnsupportedAlg {
        /// The `alg` header value.
        alg: String,
    },
    /// The header lists critical extensions we do not implement.
    #[error(
        "the token requires header extensions {names:?} (crit) that certbound does not implement"
    )]
    UnsupportedCrit {
        /// The names listed in `crit`.
        names: Vec<String>,
    },
    /// No key has the token's `kid`.
    #[error(
        "no verification key has kid {kid:?}; the token was signed by another issuer or with a \
         key that has been removed (refresh the JWKS if the issuer rotated its keys)"
    )]
    UnknownKid {
        /// The token's `kid`.
        kid: String,
    },
    /// The key named by `kid` is of another algorithm than the header says.
    #[error(
        "the token says alg {alg} but key {kid:?} is a {key_type} key that does not sign \
         with it; refused (algorithm confusion)"
    )]
    AlgMismatch {
        /// The token's `alg`.
        alg: Algorithm,
        /// The token's `kid`.
        kid: String,
        /// The kind of that key (`EC P-256`, `RSA`, ...).
        key_type: &'static str,
    },
    /// The token has no `kid` and no key of its algorithm exists.
    #[error("the token has no kid and no verification key is a {alg} key")]
    NoKeyForAlg {
        /// The token's `alg`.
        alg: Algorithm,
    },
    /// The token has no `kid` and several keys could have signed it.
    #[error(
        "the token has no kid but {candidates} {alg} keys could have signed it; the issuer must set kid"
    )]
    KidRequired {
        /// The token's `alg`.
        alg: Algorithm,
        /// How many keys of that algorithm there are.
        candidates: usize,
    },
    /// The signature does not verify with the selected key.
    #[error("the token's signature does not verify; it was altered or signed by another key")]
    BadSignature,
    /// The `typ` header is not `at+jwt` (RFC 9068 §4).
    #[error("the token's typ is {found:?}, not \"at+jwt\"; it is not an RFC 9068 access token")]
    WrongType {
        /// The `typ` header, if any.
        found: Option<String>,
    },
    /// A required claim is absent.
    #[error("the token has no {claim:?} claim, which access tokens must carry")]
    MissingClaim {
        /// The claim name.
        claim: &'static str,
    },
    /// `exp` is not in the future.
    #[error("the token expired at {} ({}s before now, {}); request a new token", Ts(*exp), now.saturating_sub(*exp), Ts(*now))]
    Expired {
        /// The token's `exp`.
        exp: i64,
        /// The verifier's time.
        now: i64,
    },
    /// `nbf` is in the future beyond the leeway.
    #[error("the token is not valid before {} (now {}); check the clocks of issuer and verifier", Ts(*nbf), Ts(*now))]
    NotYetValid {
        /// The token's `nbf`.
        nbf: i64,
        /// The verifier's time.
        now: i64,
    },
    /// `iat` is in the future beyond the leeway.
    #[error("the token claims to be issued at {}, after now ({}); check the clocks of issuer and verifier", Ts(*iat), Ts(*now))]
    IssuedInFuture {
        /// The token's `iat`.
        iat: i64,
        /// The verifier's time.
        now: i64,
    },
    /// `iss` is not the expected issuer.
    #[error(
        "the token was issued by {found:?}, expected {expected:?}; check the configured issuer"
    )]
    WrongIssuer {
        /// The configured issuer.
        expected: String,
        /// The token's `iss`.
        found: String,
    },
    /// `aud` does not contain the expected audience.
    #[error(
        "the token is for audience {found:?}, not {expected:?}; the client must request a token for this API"
    )]
    WrongAudience {
        /// The configured audience.
        expected: String,
        /// The token's `aud` values.
        found: Vec<String>,
    },
    /// The token carries no certificate binding but one is required.
    #[error(
        "the token is not bound to a certificate (no cnf.x5t#S256); a certificate-bound token is required"
    )]
    NotCertificateBound,
    /// The presented certificate is not the one the token is bound to.
    #[error(
        "the token is bound to certificate {expected} but the client presented {presented}; \
         the token was issued to another certificate (RFC 8705 §3)"
    )]
    CertificateMismatch {
        /// The token's `cnf.x5t#S256`.
        expected: String,
        /// The thumbprint of the presented certificate.
        presented: String,
    },
    /// The claims could not be serialised (a bug in the caller's claims type).
    #[error("the claims could not be serialised to JSON: {reason}")]
    Serialize {
        /// The serialiser's message.
        reason: String,
    },
    /// The crypto library failed to sign.
    #[error("signing the token failed in the crypto library; check the signing key")]
    Signing,
    /// The system random source failed.
    #[error("the system random source failed; the token was not issued")]
    Random,
}

impl JwtError {
    fn malformed(part: Part, reason: impl Into<String>) -> Self {
        Self::Malformed {
            part,
            reason: reason.into(),
        }
    }
}

/// A Unix time shown as RFC 3339 in messages (or as a number when out of range).
struct Ts(i64);

impl fmt::Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match time::OffsetDateTime::from_unix_timestamp(self.0)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            }) {
            Some(text) => f.write_str(&text),
            None => write!(f, "{} (Unix time)", self.0),
        }
    }
}

/// Seconds since the Unix epoch, now (0 if the clock is before 1970).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The protected header of a verified token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwsHeader {
    /// The algorithm (already checked against the key).
    pub alg: Algorithm,
    /// The `typ` header.
    pub typ: Option<String>,
    /// The `kid` header.
    pub kid: Option<String>,
    /// The `jku` header (RFC 7515 §4.1.2): a URL of the signer's JWKS, honoured
    /// only where the caller checks it against a registered URL.
    pub jku: Option<String>,
    /// The `x5c` header (RFC 7515 §4.1.6): base64 DER certificates, leaf first.
    pub x5c: Option<Vec<String>>,
}

/// A token whose signature verified; its claims are not yet validated.
#[derive(Clone, Debug)]
pub struct VerifiedJws {
    /// The protected header.
    pub header: JwsHeader,
    /// The decoded payload bytes (JSON for a JWT).
    pub payload: Vec<u8>,
}

impl VerifiedJws {
    /// Decodes the payload as a JSON object into `C`.
    pub fn claims<C: DeserializeOwned>(&self) -> Result<C, JwtError> {
        decode_json_object(&self.payload)
    }
}

pub(crate) fn decode_json_object<C: DeserializeOwned>(payload: &[u8]) -> Result<C, JwtError> {
    if payload.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(JwtError::malformed(
            Part::Payload,
            "it is not a JSON object",
        ));
    }
    serde_json::from_slice(payload)
        .map_err(|e| JwtError::malformed(Part::Payload, format!("invalid claims JSON ({e})")))
}

/// Signs `claims` as a compact JWS with the key's precomputed header
/// `{"alg","typ":"at+jwt","kid"}`.
pub fn sign<C: Serialize + ?Sized>(key: &SigningKey, claims: &C) -> Result<String, JwtError> {
    let payload = serde_json::to_vec(claims).map_err(|e| JwtError::Serialize {
        reason: e.to_string(),
    })?;
    let header = key.header_b64();
    let len = header.len() + 1 + b64_len(payload.len()) + 1 + b64_len(SIGNATURE_LEN);
    if len > MAX_TOKEN_LEN {
        return Err(JwtError::TooLarge {
            len,
            max: MAX_TOKEN_LEN,
        });
    }
    let mut token = String::with_capacity(len);
    token.push_str(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
    let signature = key
        .sign_raw(token.as_bytes())
        .map_err(|_| JwtError::Signing)?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut token);
    Ok(token)
}

const fn b64_len(n: usize) -> usize {
    (n * 4).div_ceil(3)
}

/// Parses `token` strictly, selects the key by `kid` (or the only key of the
/// token's algorithm when there is no `kid`), and verifies the signature.
/// Claims are not checked here: see [`Validation`].
pub fn verify(token: &str, keys: &VerifyingKeys) -> Result<VerifiedJws, JwtError> {
    verify_with(token, MAX_TOKEN_LEN, MAX_HEADER_B64_LEN, |header| {
        keys.select(header.alg, header.kid.as_deref())
            .map_err(|e| match e {
                KeySelectError::UnknownKid => JwtError::UnknownKid {
                    kid: header.kid.clone().unwrap_or_default(),
                },
                KeySelectError::AlgMismatch { key_type } => JwtError::AlgMismatch {
                    alg: header.alg,
                    kid: header.kid.clone().unwrap_or_default(),
                    key_type,
                },
                KeySelectError::NoKeyForAlg => JwtError::NoKeyForAlg { alg: header.alg },
                KeySelectError::KidRequired { candidates } => JwtError::KidRequired {
                    alg: header.alg,
                    candidates,
                },
            })
    })
}

/// Largest JWS with an `x5c` header accepted ([`verify_x5c`]): a certificate
/// chain of a few RSA certificates, base64 inside base64url, fits easily.
pub const MAX_X5C_TOKEN_LEN: usize = 64 * 1024;

/// Most certificates an `x5c` header may hold (leaf and intermediates).
pub const MAX_X5C_CERTS: usize = 8;

/// A JWS verified with the key of the first certificate of its own `x5c`
/// header (RFC 7515 §4.1.6). Whether that certificate is trusted is the
/// caller's question: nothing here checks the chain.
#[derive(Clone, Debug)]
pub struct X5cJws {
    /// The header and payload.
    pub jws: VerifiedJws,
    /// The `x5c` certificates (DER), leaf first.
    pub chain: Vec<Vec<u8>>,
}

/// Verifies `token` with the public key of its `x5c` leaf certificate (UDAP
/// software statements and authentication tokens, HL7 FAST Security §7.1).
pub fn verify_x5c(token: &str) -> Result<X5cJws, JwtError> {
    let mut chain = Vec::new();
    let jws = verify_with(token, MAX_X5C_TOKEN_LEN, MAX_X5C_TOKEN_LEN, |header| {
        chain = decode_x5c(header.x5c.as_deref())?;
        let leaf = chain.first().map(Vec::as_slice).unwrap_or_default();
        let key = crate::keys::VerifyingKey::from_certificate(leaf).map_err(|reason| {
            JwtError::malformed(
                Part::Header,
                format!("the x5c leaf certificate's key cannot verify: {reason}"),
            )
        })?;
        if !key.accepts(header.alg) {
            return Err(JwtError::AlgMismatch {
                alg: header.alg,
                kid: "x5c[0]".to_owned(),
                key_type: key.key_type(),
            });
        }
        Ok(Box::new(key))
    })?;
    Ok(X5cJws { jws, chain })
}

fn decode_x5c(x5c: Option<&[String]>) -> Result<Vec<Vec<u8>>, JwtError> {
    let x5c = x5c.filter(|c| !c.is_empty()).ok_or_else(|| {
        JwtError::malformed(
            Part::Header,
            "it has no \"x5c\" certificate chain (an array of base64 DER certificates, leaf first)",
        )
    })?;
    if x5c.len() > MAX_X5C_CERTS {
        return Err(JwtError::malformed(
            Part::Header,
            format!(
                "its x5c holds {} certificates; at most {MAX_X5C_CERTS} are accepted",
                x5c.len()
            ),
        ));
    }
    x5c.iter()
        .enumerate()
        .map(|(i, c)| {
            // RFC 7515 §4.1.6: base64 (not base64url) DER.
            base64::engine::general_purpose::STANDARD
                .decode(c)
                .map_err(|e| {
                    JwtError::malformed(
                        Part::Header,
                        format!("x5c[{i}] is not base64 DER (RFC 7515 §4.1.6: standard base64, with padding): {e}"),
                    )
                })
        })
        .collect()
}

/// Splits, parses the header, lets `select` find the key by the header,
/// checks the signature with it and decodes the payload.
fn verify_with<K: std::ops::Deref<Target = crate::keys::VerifyingKey>>(
    token: &str,
    max_len: usize,
    max_header: usize,
    select: impl FnOnce(&JwsHeader) -> Result<K, JwtError>,
) -> Result<VerifiedJws, JwtError> {
    if token.len() > max_len {
        return Err(JwtError::TooLarge {
            len: token.len(),
            max: max_len,
        });
    }
    let (header_b64, rest) = token.split_once('.').ok_or_else(|| {
        JwtError::malformed(
            Part::Token,
            "expected three base64url parts separated by dots, found one",
        )
    })?;
    let (payload_b64, signature_b64) = rest.split_once('.').ok_or_else(|| {
        JwtError::malformed(
            Part::Token,
            "expected three base64url parts separated by dots, found two",
        )
    })?;
    if signature_b64.contains('.') {
        return Err(JwtError::malformed(
            Part::Token,
            "more than three parts (an encrypted JWE is not accepted)",
        ));
    }
    if payload_b64.is_empty() {
        return Err(JwtError::malformed(Part::Payload, "it is empty"));
    }
    let header = parse_header(header_b64, max_header)?;
    let key = select(&header)?;
    let mut buf = [0u8; MAX_SIGNATURE_LEN + 3];
    let signature = decode_signature(signature_b64, header.alg, &mut buf)?;
    let signing_input = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
    if !key.verify(header.alg, signing_input, signature) {
        return Err(JwtError::BadSignature);
    }
    let payload = URL_SAFE_NO_PAD.decode(payload_b64).map_err(|e| {
        JwtError::malformed(
            Part::Payload,
            format!("not base64url without padding ({e})"),
        )
    })?;
    Ok(VerifiedJws { header, payload })
}

/// Decodes the signature into `buf`, checking its length for `alg`: exact
/// for EC and Ed25519, 256 to 1024 bytes (the modulus) for RSA.
fn decode_signature<'b>(
    text: &str,
    alg: Algorithm,
    buf: &'b mut [u8; MAX_SIGNATURE_LEN + 3],
) -> Result<&'b [u8], JwtError> {
    if text.is_empty() {
        return Err(JwtError::malformed(
            Part::Signature,
            "it is empty (unsigned tokens are refused)",
        ));
    }
    let (min, max) = alg
        .signature_len()
        .map_or((256, MAX_SIGNATURE_LEN), |len| (len, len));
    if text.len() < b64_len(min) || text.len() > b64_len(max) {
        let expected = if min == max {
            format!("{} base64url characters ({min} bytes)", b64_len(min))
        } else {
            format!(
                "{} to {} base64url characters ({min} to {max} bytes)",
                b64_len(min),
                b64_len(max)
            )
        };
        return Err(JwtError::malformed(
            Part::Signature,
            format!("expected {expected} for {alg}, found {}", text.len()),
        ));
    }
    let n = URL_SAFE_NO_PAD.decode_slice(text, buf).map_err(|e| {
        JwtError::malformed(
            Part::Signature,
            format!("not base64url without padding ({e})"),
        )
    })?;
    match buf.get(..n) {
        Some(bytes) if (min..=max).contains(&n) => Ok(bytes),
        _ => Err(JwtError::malformed(
            Part::Signature,
            format!("decodes to {n} bytes, expected {min} to {max}"),
        )),
    }
}

/// A JSON string borrowed from the decoded header when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_owned()))
            }
        }
        deserializer.deserialize_str(TextVisitor).map(Text)
    }
}

#[derive(Deserialize)]
struct RawHeader<'a> {
    #[serde(borrow)]
    alg: Option<Text<'a>>,
    #[serde(borrow)]
    typ: Option<Text<'a>>,
    #[serde(borrow)]
    kid: Option<Text<'a>>,
    #[serde(borrow)]
    jku: Option<Text<'a>>,
    #[serde(borrow)]
    crit: Option<Vec<Text<'a>>>,
    #[serde(borrow)]
    x5c: Option<Vec<Text<'a>>>,
}

fn parse_header(text: &str, max_len: usize) -> Result<JwsHeader, JwtError> {
    if text.is_empty() {
        return Err(JwtError::malformed(Part::Header, "it is empty"));
    }
    if text.len() > max_len {
        return Err(JwtError::malformed(
            Part::Header,
            format!("longer than {max_len} characters"),
        ));
    }
    // Ordinary headers (about 130 characters) decode on the stack.
    let mut buf = [0u8; MAX_HEADER_B64_LEN / 4 * 3 + 3];
    let mut heap = Vec::new();
    let out: &mut [u8] = if text.len() <= MAX_HEADER_B64_LEN {
        &mut buf
    } else {
        heap.resize(text.len() / 4 * 3 + 3, 0);
        &mut heap
    };
    let n = URL_SAFE_NO_PAD.decode_slice(text, out).map_err(|e| {
        JwtError::malformed(Part::Header, format!("not base64url without padding ({e})"))
    })?;
    let json = out.get(..n).unwrap_or_default();
    if json.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(JwtError::malformed(Part::Header, "it is not a JSON object"));
    }
    let raw: RawHeader<'_> = serde_json::from_slice(json)
        .map_err(|e| JwtError::malformed(Part::Header, format!("invalid JSON ({e})")))?;
    let Some(Text(alg_name)) = raw.alg else {
        return Err(JwtError::malformed(Part::Header, "it has no \"alg\""));
    };
    let alg = Algorithm::from_jws_name(&alg_name).ok_or_else(|| JwtError::UnsupportedAlg {
        alg: alg_name.into_owned(),
    })?;
    if let Some(crit) = raw.crit {
        // RFC 7515 §4.1.11: every listed extension must be understood; we implement none.
        return Err(JwtError::UnsupportedCrit {
            names: crit.into_iter().map(|t| t.0.into_owned()).collect(),
        });
    }
    Ok(JwsHeader {
        alg,
        typ: raw.typ.map(|t| t.0.into_owned()),
        kid: raw.kid.map(|t| t.0.into_owned()),
        jku: raw.jku.map(|t| t.0.into_owned()),
        x5c: raw
            .x5c
            .map(|certs| certs.into_iter().map(|t| t.0.into_owned()).collect()),
    })
}

/// The registered claims that [`Validation`] checks, borrowed from a claims set.
#[derive(Clone, Copy, Debug, Default)]
pub struct RegisteredClaims<'a> {
    /// `iss`.
    pub iss: Option<&'a str>,
    /// `aud`, as a list (a single string is a list of one).
    pub aud: &'a [String],
    /// `exp`, Unix seconds.
    pub exp: Option<i64>,
    /// `nbf`, Unix seconds.
    pub nbf: Option<i64>,
    /// `iat`, Unix seconds.
    pub iat: Option<i64>,
}

/// What a verified token's claims must satisfy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validation {
    /// `iss` must equal this.
    pub issuer: String,
    /// When set, `aud` must contain this.
    pub audience: Option<String>,
    /// Clock leeway for `nbf` and `iat`, seconds. `exp` gets none: a token is
    /// expired at its `exp`.
    pub leeway_secs: u64,
    /// Accept any `typ` header instead of requiring `at+jwt`. Weakens RFC 9068
    /// §4; only for external issuers that do not type their tokens.
    pub danger_accept_any_typ: bool,
}

impl Validation {
    /// Checks for tokens of `issuer`, with the default leeway, any audience.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: None,
            leeway_secs: DEFAULT_LEEWAY_SECS,
            danger_accept_any_typ: false,
        }
    }

    /// Also require `aud` to contain `audience`.
    #[must_use]
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Use another clock leeway.
    #[must_use]
    pub fn with_leeway_secs(mut self, leeway_secs: u64) -> Self {
        self.leeway_secs = leeway_secs;
        self
    }

    /// Checks `typ`, `exp`, `nbf`, `iat`, `iss` and `aud`, in that order, at
    /// time `now` (Unix seconds).
    pub fn validate(
        &self,
        header: &JwsHeader,
        claims: &RegisteredClaims<'_>,
        now: i64,
    ) -> Result<(), JwtError> {
        if !self.danger_accept_any_typ && !is_access_token_typ(header.typ.as_deref()) {
            return Err(JwtError::WrongType {
                found: header.typ.clone(),
            });
        }
        let leeway = i64::try_from(self.leeway_secs).unwrap_or(i64::MAX);
        let exp = claims.exp.ok_or(JwtError::MissingClaim { claim: "exp" })?;
        if now >= exp {
            return Err(JwtError::Expired { exp, now });
        }
        if let Some(nbf) = claims.nbf.filter(|nbf| *nbf > now.saturating_add(leeway)) {
            return Err(JwtError::NotYetValid { nbf, now });
        }
        if let Some(iat) = claims.iat.filter(|iat| *iat > now.saturating_add(leeway)) {
            return Err(JwtError::IssuedInFuture { iat, now });
        }
        let iss = claims.iss.ok_or(JwtError::MissingClaim { claim: "iss" })?;
        if iss != self.issuer {
            return Err(JwtError::WrongIssuer {
                expected: self.issuer.clone(),
                found: iss.to_owned(),
            });
        }
        if let Some(expected) = &self.audience {
            if !claims.aud.iter().any(|a| a == expected) {
                return Err(JwtError::WrongAudience {
                    expected: expected.clone(),
                    found: claims.aud.to_vec(),
                });
            }
        }
        Ok(())
    }
}

/// RFC 9068 §4: `at+jwt`, also written `application/at+jwt`; media types are
/// case-insensitive.
fn is_access_token_typ(typ: Option<&str>) -> bool {
    let Some(typ) = typ else { return false };
    let bare = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => typ.get(12..).unwrap_or(typ),
        _ => typ,
    };
    bare.eq_ignore_ascii_case(ACCESS_TOKEN_TYP)
}
