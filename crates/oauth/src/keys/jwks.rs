//! Public key sets: the keys a token may be verified with, parsed once into
//! the form aws-lc-rs verifies fastest with, and their JWKS rendering.
//!
//! A set comes either from our own signing keys (current plus previous ones
//! kept for rotation) or from an external issuer's JWKS document. Keys of types
//! we do not verify (RSA, other curves, encryption keys) are skipped and
//! listed for the log; a key of a supported type with bad members is an error,
//! since silently dropping it would turn a typo into "every token rejected".

use std::fmt;

use aws_lc_rs::signature::{ParsedPublicKey, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Algorithm, KeyError, PublicJwk, SigningKey};

/// One public key a token can be verified with.
pub struct VerifyingKey {
    /// The one algorithm it verifies, or `None` for an RSA key whose JWK
    /// names none: such a key verifies every RS* and PS* algorithm.
    alg: Option<Algorithm>,
    key: Material,
    jwk: PublicJwk,
}

enum Material {
    /// Parsed once for its one algorithm.
    Parsed(ParsedPublicKey),
    /// An RSA key (DER `RSAPublicKey`) for any RSA algorithm: parsed at each
    /// verification for the algorithm the token names.
    Rsa(Box<[u8]>),
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("alg", &self.alg)
            .field("kid", &self.jwk.kid)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// The algorithm this key verifies, when it is fixed (always, except for
    /// an RSA key published without `alg`); a token naming another is refused.
    pub fn algorithm(&self) -> Option<Algorithm> {
        self.alg
    }

    /// What kind of key this is, for messages (`EC P-256`, `RSA`, ...).
    pub fn key_type(&self) -> &'static str {
        self.alg.map_or("RSA", Algorithm::key_type)
    }

    /// Whether a signature of algorithm `alg` may be checked with this key:
    /// its own algorithm, or any RSA algorithm for an RSA key without `alg`.
    pub fn accepts(&self, alg: Algorithm) -> bool {
        match self.alg {
            Some(own) => own == alg,
            None => alg.signature_len().is_none(),
        }
    }

    /// The public key of a DER certificate (an `x5c` leaf): EC P-256 and
    /// P-384, Ed25519, or RSA of 2048 to 8192 bits (any RS*/PS* algorithm).
    pub fn from_certificate(der: &[u8]) -> Result<Self, String> {
        use certbound_pki::inspect::PublicKeyBytes;
        let public = certbound_pki::inspect::public_key(der).map_err(|e| e.to_string())?;
        let (alg, bytes, jwk) = match public {
            PublicKeyBytes::Ec { curve, point } => {
                let alg = match curve.as_str() {
                    "P-256" => Algorithm::Es256,
                    "P-384" => Algorithm::Es384,
                    other => return Err(format!("an EC key on curve {other} is not verified")),
                };
                let half = point.len().saturating_sub(1) / 2;
                let jwk = PublicJwk {
                    kty: "EC".to_owned(),
                    crv: curve.clone(),
                    x: URL_SAFE_NO_PAD.encode(point.get(1..=half).unwrap_or_default()),
                    y: Some(URL_SAFE_NO_PAD.encode(point.get(half + 1..).unwrap_or_default())),
                    ..bare_jwk("EC")
                };
                (Some(alg), point, jwk)
            }
            PublicKeyBytes::Ed25519(key) => {
                let jwk = PublicJwk {
                    crv: "Ed25519".to_owned(),
                    x: URL_SAFE_NO_PAD.encode(&key),
                    ..bare_jwk("OKP")
                };
                (Some(Algorithm::EdDsa), key, jwk)
            }
            PublicKeyBytes::Rsa { der, n, e } => {
                let bits = bit_len(&n);
                if !(2048..=8192).contains(&bits) {
                    return Err(format!(
                        "an RSA key of {bits} bits is not accepted (2048 to 8192)"
                    ));
                }
                let jwk = PublicJwk {
                    n: Some(URL_SAFE_NO_PAD.encode(&n)),
                    e: Some(URL_SAFE_NO_PAD.encode(&e)),
                    ..bare_jwk("RSA")
                };
                (None, der, jwk)
            }
            PublicKeyBytes::Other(kind) => return Err(format!("a {kind} key is not verified")),
        };
        let verification = alg.unwrap_or(Algorithm::Rs256).verification();
        let parsed = ParsedPublicKey::new(verification, &bytes)
            .map_err(|e| format!("the public key is not valid ({e})"))?;
        let key = match alg {
            Some(_) => Material::Parsed(parsed),
            None => Material::Rsa(bytes.into_boxed_slice()),
        };
        Ok(Self { alg, key, jwk })
    }

    /// The key id, when the key has one.
    pub fn kid(&self) -> Option<&str> {
        self.jwk.kid.as_deref()
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> &PublicJwk {
        &self.jwk
    }

    /// Checks `signature` over `message` as algorithm `alg`, which the caller
    /// has matched with [`VerifyingKey::accepts`].
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        if !self.accepts(alg) {
            return false;
        }
        match &self.key {
            Material::Parsed(key) => key.verify_sig(message, signature).is_ok(),
            Material::Rsa(der) => UnparsedPublicKey::new(alg.verification(), der)
                .verify(message, signature)
                .is_ok(),
        }
    }
}

/// A key of a JWKS document that was skipped because certbound does not
/// verify with its type, with the reason (for the log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgnoredJwk {
    /// Its position in `keys`, from 0.
    pub index: usize,
    /// Its `kid`, when it has one.
    pub kid: Option<String>,
    /// Why it was skipped.
    pub reason: String,
}

impl fmt::Display for IgnoredJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key #{}", self.index)?;
        if let Some(kid) = &self.kid {
            write!(f, " (kid {kid:?})")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// A JWKS document (RFC 7517 §5) as rendered for `/jwks`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The public keys.
    pub keys: Vec<PublicJwk>,
}

impl Jwks {
    /// The document as compact JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain strings into JSON cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"keys\":[]}"))
    }
}

/// The keys tokens are verified against, selected by `kid`.
#[derive(Debug, Default)]
pub struct VerifyingKeys {
    keys: Vec<VerifyingKey>,
    ignored: Vec<IgnoredJwk>,
}

impl VerifyingKeys {
    /// The public halves of our signing keys: the current key first, then the
    /// previous ones still accepted after a rotation. A key given twice is
    /// kept once.
    pub fn from_signing_keys<'a>(
        keys: impl IntoIterator<Item = &'a SigningKey>,
    ) -> Result<Self, KeyError> {
        let mut set = Self::default();
        for key in keys {
            if set.keys.iter().any(|k| k.kid() == Some(key.kid())) {
                continue;
            }
            set.keys.push(VerifyingKey {
                alg: Some(key.algorithm()),
                key: Material::Parsed(key.parsed_public_key()?),
                jwk: key.public_jwk().clone(),
            });
        }
        Ok(set)
    }

    /// Parses an external issuer's JWKS document. Keys of unsupported types or
    /// uses are skipped (see [`VerifyingKeys::ignored`]); a malformed key of a
    /// supported type is an error, and so is a set with no usable key.
    pub fn from_jwks_json(json: &[u8]) -> Result<Self, KeyError> {
        let doc: Value = serde_json::from_slice(json).map_err(|e| KeyError::NotJwks {
            reason: format!("invalid JSON ({e})"),
        })?;
        let keys = doc
            .as_object()
            .ok_or_else(|| KeyError::NotJwks {
                reason: "it is not a JSON object".to_owned(),
            })?
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| KeyError::NotJwks {
                reason: "it has no \"keys\" array".to_owned(),
            })?;
        let mut set = Self::default();
        for (index, value) in keys.iter().enumerate() {
            let obj = value.as_object().ok_or_else(|| KeyError::BadJwk {
                index,
                kid: None,
                reason: "it is not a JSON object".to_owned(),
            })?;
            let kid = optional_str(obj, "kid").map_err(|reason| KeyError::BadJwk {
                index,
                kid: None,
                reason,
            })?;
            let kid = kid.map(str::to_owned);
            match parse_jwk(obj, kid.clone()) {
                Ok(Parsed::Key(key)) => {
                    if kid.is_some() && set.keys.iter().any(|k| k.jwk.kid == kid) {
                        set.ignored.push(IgnoredJwk {
                            index,
                            kid,
                            reason: "an earlier key has the same kid".to_owned(),
                        });
                    } else {
                        set.keys.push(*key);
                    }
                }
                Ok(Parsed::Ignored(reason)) => set.ignored.push(IgnoredJwk { index, kid, reason }),
                Err(reason) => return Err(KeyError::BadJwk { index, kid, reason }),
            }
        }
        if set.keys.is_empty() {
            return Err(KeyError::NoUsableKeys {
                ignored: set.ignored,
            });
        }
        Ok(set)
    }

    /// The keys, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = &VerifyingKey> {
        self.keys.iter()
    }

    /// How many keys can verify tokens.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set is empty (it then verifies nothing).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Keys of the JWKS document that were skipped, with reasons.
    pub fn ignored(&self) -> &[IgnoredJwk] {
        &self.ignored
    }

    /// The set as a JWKS document.
    pub fn to_jwks(&self) -> Jwks {
        Jwks {
            keys: self.keys.iter().map(|k| k.jwk.clone()).collect(),
        }
    }

    /// The key a token names: by `kid`, or, for a token without `kid`, the
    /// only key of its algorithm. The algorithm must match the key's own.
    pub(crate) fn select(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Result<&VerifyingKey, KeySelectError> {
        match kid {
            Some(kid) => {
                let mut other_alg = None;
                for key in self.keys.iter().filter(|k| k.kid() == Some(kid)) {
                    if key.accepts(alg) {
                        return Ok(key);
                    }
                    other_alg = Some(key.key_type());
                }
                Err(match other_alg {
                    Some(key_type) => KeySelectError::AlgMismatch { key_type },
                    None => KeySelectError::UnknownKid,
                })
            }
            None => {
                let mut candidates = self.keys.iter().filter(|k| k.accepts(alg));
                match (candidates.next(), candidates.next()) {
                    (Some(key), None) => Ok(key),
                    (None, _) => Err(KeySelectError::NoKeyForAlg),
                    (Some(_), Some(_)) => Err(KeySelectError::KidRequired {
                        candidates: self.keys.iter().filter(|k| k.accepts(alg)).count(),
                    }),
                }
            }
        }
    }
}

/// Why no key was selected; turned into a `JwtError` by the caller.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum KeySelectError {
    UnknownKid,
    AlgMismatch { key_type: &'static str },
    NoKeyForAlg,
    KidRequired { candidates: usize },
}

enum Parsed {
    Key(Box<VerifyingKey>),
    Ignored(String),
}

fn optional_str<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, String> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("\"{name}\" is not a string")),
    }
}

fn required_str<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    optional_str(obj, name)?.ok_or_else(|| format!("\"{name}\" is missing"))
}

/// A base64url member decoded; `what` describes its expected size for errors.
fn member_bytes(obj: &Map<String, Value>, name: &str, max: usize) -> Result<Vec<u8>, String> {
    let text = required_str(obj, name)?;
    if text.len() > max.div_ceil(3) * 4 {
        return Err(format!("\"{name}\" is longer than {max} bytes"));
    }
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| format!("\"{name}\" is not base64url without padding ({e})"))
}

fn coordinate(obj: &Map<String, Value>, name: &str, len: usize) -> Result<Vec<u8>, String> {
    let bytes = member_bytes(obj, name, len)?;
    if bytes.len() != len {
        return Err(format!(
            "\"{name}\" must be {len} bytes ({} base64url characters), found {} bytes",
            (len * 4).div_ceil(3),
            bytes.len()
        ));
    }
    Ok(bytes)
}

/// Smallest and largest RSA modulus accepted, in bytes (2048 to 8192 bits,
/// the range aws-lc-rs verifies; RFC 7518 §3.3 requires at least 2048).
const RSA_MIN_BYTES: usize = 256;
const RSA_MAX_BYTES: usize = 1024;

fn parse_jwk(obj: &Map<String, Value>, kid: Option<String>) -> Result<Parsed, String> {
    let kty = required_str(obj, "kty")?;
    match optional_str(obj, "use")? {
        Some(use_) if use_ != "sig" => {
            return Ok(Parsed::Ignored(format!("its use is {use_:?}, not \"sig\"")));
        }
        _ => {}
    }
    let declared = match optional_str(obj, "alg")? {
        None => None,
        Some(name) => match Algorithm::from_jws_name(name) {
            Some(alg) => Some(alg),
            None => {
                return Ok(Parsed::Ignored(format!(
                    "its alg {name:?} is not one certbound verifies"
                )));
            }
        },
    };
    if obj.contains_key("d") || obj.contains_key("p") {
        return Err(
            "it contains the private key (\"d\"); a JWKS must publish public keys only, \
             so replace this key and remove \"d\""
                .to_owned(),
        );
    }
    let (fixed, bytes, jwk) = match kty {
        "EC" => {
            let crv = required_str(obj, "crv")?;
            let (alg, len) = match crv {
                "P-256" => (Algorithm::Es256, 32),
                "P-384" => (Algorithm::Es384, 48),
                other => {
                    return Ok(Parsed::Ignored(format!(
                        "curve {other} is not supported (only P-256 and P-384)"
                    )));
                }
            };
            let (x, y) = (coordinate(obj, "x", len)?, coordinate(obj, "y", len)?);
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            let jwk = PublicJwk {
                crv: crv.to_owned(),
                x: URL_SAFE_NO_PAD.encode(x),
                y: Some(URL_SAFE_NO_PAD.encode(y)),
                ..bare_jwk("EC")
            };
            (Some(alg), point, jwk)
        }
        "OKP" => {
            let crv = required_str(obj, "crv")?;
            if crv != "Ed25519" {
                return Ok(Parsed::Ignored(format!(
                    "OKP curve {crv} is not supported (only Ed25519)"
                )));
            }
            let x = coordinate(obj, "x", 32)?;
            let jwk = PublicJwk {
                crv: crv.to_owned(),
                x: URL_SAFE_NO_PAD.encode(&x),
                ..bare_jwk("OKP")
            };
            (Some(Algorithm::EdDsa), x, jwk)
        }
        "RSA" => {
            let n = strip_zeros(member_bytes(obj, "n", RSA_MAX_BYTES + 1)?);
            let e = strip_zeros(member_bytes(obj, "e", 8)?);
            if n.len() < RSA_MIN_BYTES || n.len() > RSA_MAX_BYTES {
                return Err(format!(
                    "the RSA modulus is {} bits; 2048 to 8192 bits are accepted",
                    bit_len(&n)
                ));
            }
            if e.is_empty() || e.last().is_some_and(|b| b & 1 == 0) {
                return Err("the RSA public exponent \"e\" is not an odd number".to_owned());
            }
            let jwk = PublicJwk {
                n: Some(URL_SAFE_NO_PAD.encode(&n)),
                e: Some(URL_SAFE_NO_PAD.encode(&e)),
                ..bare_jwk("RSA")
            };
            (None, rsa_public_key_der(&n, &e), jwk)
        }
        other => {
            return Ok(Parsed::Ignored(format!(
                "key type {other} is not supported (only RSA, EC P-256/P-384 and OKP Ed25519)"
            )));
        }
    };
    let alg = match (fixed, declared) {
        (Some(own), Some(said)) if own != said => {
            return Err(format!(
                "\"alg\" is {:?} but a {} key signs with {}",
                said.jws_name(),
                own.key_type(),
                own.jws_name()
            ));
        }
        (None, Some(said)) if said.signature_len().is_some() => {
            return Err(format!(
                "\"alg\" is {:?} but this is an RSA key",
                said.jws_name()
            ));
        }
        (own, said) => own.or(said),
    };
    let key = match alg {
        Some(alg) => Material::Parsed(
            ParsedPublicKey::new(alg.verification(), &bytes)
                .map_err(|e| format!("the public key is not valid for {} ({e})", alg.key_type()))?,
        ),
        None => {
            // Checked once here, so a bad key is an error now, not at each token.
            ParsedPublicKey::new(Algorithm::Rs256.verification(), &bytes)
                .map_err(|e| format!("the public key is not a valid RSA key ({e})"))?;
            Material::Rsa(bytes.into_boxed_slice())
        }
    };
    let jwk = PublicJwk {
        alg: alg.map(|a| a.jws_name().to_owned()),
        kid,
        ..jwk
    };
    Ok(Parsed::Key(Box::new(VerifyingKey { alg, key, jwk })))
}

fn bare_jwk(kty: &str) -> PublicJwk {
    PublicJwk {
        kty: kty.to_owned(),
        crv: String::new(),
        x: String::new(),
        y: None,
        n: None,
        e: None,
        use_: Some("sig".to_owned()),
        alg: None,
        kid: None,
    }
}

fn strip_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

fn bit_len(bytes: &[u8]) -> usize {
    bytes
        .first()
        .map_or(0, |b| bytes.len() * 8 - b.leading_zeros() as usize)
}

/// DER `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`
/// (RFC 8017 §A.1.1) from unsigned big-endian `n` and `e` without leading zeros.
fn rsa_public_key_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(n.len() + e.len() + 16);
    for int in [n, e] {
        let pad = int.first().is_some_and(|b| b & 0x80 != 0);
        body.push(0x02);
        push_der_len(&mut body, int.len() + usize::from(pad));
        if pad {
            body.push(0);
        }
        body.extend_from_slice(int);
    }
    let mut der = Vec::with_capacity(body.len() + 4);
    der.push(0x30);
    push_der_len(&mut der, body.len());
    der.extend_from_slice(&body);
    der
}

fn push_der_len(out: &mut Vec<u8>, len: usize) {
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    match len {
        0..=0x7f => out.push(len as u8),
        _ => {
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
    }
}
