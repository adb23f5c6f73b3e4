//! Public key sets: the keys a token may be verified with, parsed once into
//! the form aws-lc-rs verifies fastest with, and their JWKS rendering.
//!
//! A set comes either from our own signing keys (current plus previous ones
//! kept for rotation) or from an external issuer's JWKS document. Keys of types
//! we do not verify (RSA, other curves, encryption keys) are skipped and
//! listed for the log; a key of a supported type with bad members is an error,
//! since silently dropping it would turn a typo into "every token rejected".

use std::fmt;

use aws_lc_rs::signature::ParsedPublicKey;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Algorithm, KeyError, PublicJwk, SigningKey};

/// One public key a token can be verified with.
pub struct VerifyingKey {
    alg: Algorithm,
    key: ParsedPublicKey,
    jwk: PublicJwk,
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
    /// The algorithm this key verifies; a token naming another is refused.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key id, when the key has one.
    pub fn kid(&self) -> Option<&str> {
        self.jwk.kid.as_deref()
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> &PublicJwk {
        &self.jwk
    }

    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key.verify_sig(message, signature).is_ok()
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
                alg: key.algorithm(),
                key: key.parsed_public_key()?,
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
                    if key.alg == alg {
                        return Ok(key);
                    }
                    other_alg = Some(key.alg);
                }
                Err(match other_alg {
                    Some(key_alg) => KeySelectError::AlgMismatch { key_alg },
                    None => KeySelectError::UnknownKid,
                })
            }
            None => {
                let mut candidates = self.keys.iter().filter(|k| k.alg == alg);
                match (candidates.next(), candidates.next()) {
                    (Some(key), None) => Ok(key),
                    (None, _) => Err(KeySelectError::NoKeyForAlg),
                    (Some(_), Some(_)) => Err(KeySelectError::KidRequired {
                        candidates: self.keys.iter().filter(|k| k.alg == alg).count(),
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
    AlgMismatch { key_alg: Algorithm },
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

fn coordinate(obj: &Map<String, Value>, name: &str) -> Result<[u8; 32], String> {
    let text = required_str(obj, name)?;
    let mut out = [0u8; 32];
    // 32 bytes are 43 base64url characters; a longer text cannot fit.
    if text.len() != 43 {
        return Err(format!(
            "\"{name}\" must be 32 bytes (43 base64url characters), found {} characters",
            text.len()
        ));
    }
    match URL_SAFE_NO_PAD.decode_slice(text, &mut out) {
        Ok(32) => Ok(out),
        Ok(n) => Err(format!("\"{name}\" is {n} bytes, expected 32")),
        Err(e) => Err(format!("\"{name}\" is not base64url without padding ({e})")),
    }
}

fn parse_jwk(obj: &Map<String, Value>, kid: Option<String>) -> Result<Parsed, String> {
    let kty = required_str(obj, "kty")?;
    match optional_str(obj, "use")? {
        Some(use_) if use_ != "sig" => {
            return Ok(Parsed::Ignored(format!("its use is {use_:?}, not \"sig\"")));
        }
        _ => {}
    }
    let declared_alg = optional_str(obj, "alg")?;
    let alg = match kty {
        "EC" => {
            let crv = required_str(obj, "crv")?;
            if crv != "P-256" {
                return Ok(Parsed::Ignored(format!(
                    "curve {crv} is not supported (only P-256)"
                )));
            }
            Algorithm::Es256
        }
        "OKP" => {
            let crv = required_str(obj, "crv")?;
            if crv != "Ed25519" {
                return Ok(Parsed::Ignored(format!(
                    "OKP curve {crv} is not supported (only Ed25519)"
                )));
            }
            Algorithm::EdDsa
        }
        other => {
            return Ok(Parsed::Ignored(format!(
                "key type {other} is not supported (only EC P-256 and OKP Ed25519)"
            )));
        }
    };
    if let Some(declared) = declared_alg.filter(|d| *d != alg.jws_name()) {
        return Err(format!(
            "\"alg\" is {declared:?} but a {} key signs with {}",
            alg.key_type(),
            alg.jws_name()
        ));
    }
    if obj.contains_key("d") {
        return Err(
            "it contains the private key (\"d\"); a JWKS must publish public keys only, \
             so replace this key and remove \"d\""
                .to_owned(),
        );
    }
    let x = coordinate(obj, "x")?;
    let (bytes, y) = match alg {
        Algorithm::Es256 => {
            let y = coordinate(obj, "y")?;
            let mut point = Vec::with_capacity(65);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            (point, Some(URL_SAFE_NO_PAD.encode(y)))
        }
        Algorithm::EdDsa => (x.to_vec(), None),
    };
    let key = ParsedPublicKey::new(alg.verification(), &bytes)
        .map_err(|e| format!("the public key is not valid for {} ({e})", alg.key_type()))?;
    let jwk = PublicJwk {
        kty: kty.to_owned(),
        crv: if alg == Algorithm::Es256 {
            "P-256"
        } else {
            "Ed25519"
        }
        .to_owned(),
        x: URL_SAFE_NO_PAD.encode(x),
        y,
        use_: Some("sig".to_owned()),
        alg: Some(alg.jws_name().to_owned()),
        kid,
    };
    Ok(Parsed::Key(Box::new(VerifyingKey { alg, key, jwk })))
}
