//! Token signing keys and the key sets tokens are verified against.
//!
//! The authorization server signs access tokens with one current key and keeps
//! its previous keys published so that tokens issued before a rotation still
//! verify. This module loads those keys from PKCS#8 PEM text, generates new
//! ones, names each by its RFC 7638 JWK thumbprint (`kid`), renders the public
//! halves as a JWKS (RFC 7517) for `/jwks`, and builds [`VerifyingKeys`] either
//! from our own keys, an external issuer's JWKS document, or a client's
//! (`private_key_jwt`).
//!
//! certbound signs with two algorithms only, on purpose: ES256 (P-256, the
//! default) and EdDSA (Ed25519). It verifies those and what clients and other
//! issuers sign with: RS256/384/512, PS256/384/512 and ES384. A key verifies
//! only the algorithms of its type (and its JWK's `alg`, when given), so one
//! cannot be confused for another; HMAC and `none` do not exist here. No file
//! I/O happens here: the caller reads key files and writes new
//! ones (with mode 0600).

mod jwks;
mod pem;
#[cfg(test)]
pub(crate) mod tests;
mod x5c;

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
    KeyPair, ParsedPublicKey, VerificationAlgorithm,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

pub(crate) use jwks::KeySelectError;
pub use jwks::{IgnoredJwk, Jwks, VerifyingKey, VerifyingKeys};
pub use x5c::X5cSigner;

/// A JWS signature algorithm that certbound verifies with. Only [`Algorithm::Es256`]
/// and [`Algorithm::EdDsa`] also sign (our own access tokens); the others verify
/// what clients sign (`private_key_jwt` assertions, RFC 7523) and external
/// issuers' tokens. HMAC and `none` are not algorithms here at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA with P-256 and SHA-256, signature `r || s` (64 bytes). The default.
    Es256,
    /// ECDSA with P-384 and SHA-384, signature `r || s` (96 bytes).
    Es384,
    /// Ed25519 (RFC 8037), 64-byte signature.
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (keys of 2048 to 8192 bits).
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256 and MGF1 SHA-256.
    Ps256,
    /// RSASSA-PSS with SHA-384.
    Ps384,
    /// RSASSA-PSS with SHA-512.
    Ps512,
}

impl Algorithm {
    /// Every algorithm verified, in the order metadata lists them.
    pub const VERIFIED: [Self; 9] = [
        Self::Rs256,
        Self::Rs384,
        Self::Rs512,
        Self::Ps256,
        Self::Ps384,
        Self::Ps512,
        Self::Es256,
        Self::Es384,
        Self::EdDsa,
    ];

    /// The `alg` header value (RFC 7518 §3.1, RFC 8037 §3.1).
    pub const fn jws_name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::EdDsa => "EdDSA",
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
        }
    }

    /// The algorithm named by a JWS `alg` header value, exactly as registered.
    pub fn from_jws_name(name: &str) -> Option<Self> {
        Self::VERIFIED.into_iter().find(|a| a.jws_name() == name)
    }

    /// What a key of this algorithm is called in messages.
    pub const fn key_type(self) -> &'static str {
        match self {
            Self::Es256 => "EC P-256",
            Self::Es384 => "EC P-384",
            Self::EdDsa => "Ed25519",
            Self::Rs256 | Self::Rs384 | Self::Rs512 | Self::Ps256 | Self::Ps384 | Self::Ps512 => {
                "RSA"
            }
        }
    }

    /// Whether certbound signs its own tokens with this algorithm.
    pub const fn signs(self) -> bool {
        matches!(self, Self::Es256 | Self::EdDsa)
    }

    /// The signature length in bytes, or `None` for RSA (the modulus length).
    pub(crate) const fn signature_len(self) -> Option<usize> {
        match self {
            Self::Es256 | Self::EdDsa => Some(64),
            Self::Es384 => Some(96),
            Self::Rs256 | Self::Rs384 | Self::Rs512 | Self::Ps256 | Self::Ps384 | Self::Ps512 => {
                None
            }
        }
    }

    pub(crate) fn verification(self) -> &'static dyn VerificationAlgorithm {
        match self {
            Self::Es256 => &ECDSA_P256_SHA256_FIXED,
            Self::Es384 => &signature::ECDSA_P384_SHA384_FIXED,
            Self::EdDsa => &signature::ED25519,
            Self::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Self::Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            Self::Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            Self::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
            Self::Ps384 => &signature::RSA_PSS_2048_8192_SHA384,
            Self::Ps512 => &signature::RSA_PSS_2048_8192_SHA512,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.jws_name())
    }
}

impl FromStr for Algorithm {
    type Err = KeyError;

    /// Accepts the JWS names and the usual spellings of a command-line flag:
    /// `ES256`, `es256`, `p256`, `EdDSA`, `eddsa`, `ed25519`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "es256" | "p256" | "p-256" => Ok(Self::Es256),
            "eddsa" | "ed25519" => Ok(Self::EdDsa),
            _ => Err(KeyError::UnknownAlgorithm { name: s.to_owned() }),
        }
    }
}

/// What went wrong with a key or a key set.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text holds no PEM block at all.
    #[error(
        "the key text holds no PEM block (it starts with {start:?}); expected an unencrypted \
         PKCS#8 key beginning with `-----BEGIN PRIVATE KEY-----`, e.g. one made by \
         `certbound` or `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`"
    )]
    NoPem {
        /// The first characters of the text, for recognising what was given.
        start: String,
    },
    /// A PEM block is damaged.
    #[error("the PEM block `{label}` is damaged: {reason}; re-export the key")]
    BadPem {
        /// The label after `BEGIN`.
        label: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The PEM holds other things (certificates, public keys) but no private key.
    #[error(
        "the PEM text holds {found} but no private key; give the private key file \
         (`-----BEGIN PRIVATE KEY-----`), not the certificate or public key"
    )]
    NotAPrivateKey {
        /// The labels found, e.g. `CERTIFICATE`.
        found: String,
    },
    /// The key is encrypted with a passphrase.
    #[error(
        "the private key is encrypted (`{label}`); certbound needs it unencrypted: \
         `openssl pkcs8 -in KEY.pem -out KEY.plain.pem` (then keep that file mode 0600)"
    )]
    Encrypted {
        /// The PEM label, e.g. `ENCRYPTED PRIVATE KEY`.
        label: String,
    },
    /// A traditional (non-PKCS#8) key format.
    #[error(
        "the private key is in the traditional `{label}` format; convert it to PKCS#8 with \
         `openssl pkcs8 -topk8 -nocrypt -in KEY.pem -out KEY.p8.pem`{hint}"
    )]
    NotPkcs8 {
        /// The PEM label, e.g. `EC PRIVATE KEY`.
        label: String,
        /// Extra advice for key types that would still be unsupported after conversion.
        hint: &'static str,
    },
    /// A PKCS#8 key of a type certbound does not sign with.
    #[error(
        "the private key is {kind}; token signing keys must be EC P-256 (ES256) or Ed25519 \
         (EdDSA): make one with `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`"
    )]
    UnsupportedKeyType {
        /// What the key is, e.g. `RSA` or `EC P-384`.
        kind: String,
    },
    /// The PKCS#8 structure could not be read or was refused by the crypto library.
    #[error("the {kind} private key is invalid ({reason}); re-export or regenerate it")]
    Rejected {
        /// What the key claimed to be.
        kind: &'static str,
        /// The reason given.
        reason: String,
    },
    /// The system could not produce a key.
    #[error(
        "could not generate a new {alg} key: the crypto library failed (is the system random source available?)"
    )]
    Generate {
        /// The algorithm asked for.
        alg: Algorithm,
    },
    /// An algorithm name that is not supported.
    #[error("unknown signing algorithm {name:?}; use ES256 or EdDSA")]
    UnknownAlgorithm {
        /// The name given.
        name: String,
    },
    /// The document is not a JWKS.
    #[error(
        "the key set is not a JWKS document: {reason}; expected {{\"keys\":[...]}} (RFC 7517 §5)"
    )]
    NotJwks {
        /// What is wrong with it.
        reason: String,
    },
    /// One key of a JWKS is malformed.
    #[error("key #{index}{} of the JWKS is malformed: {reason}", kid_suffix(kid))]
    BadJwk {
        /// Its position in `keys`, from 0.
        index: usize,
        /// Its `kid`, when it has one.
        kid: Option<String>,
        /// What is wrong with it.
        reason: String,
    },
    /// No key of the set can verify tokens.
    #[error(
        "the key set holds no usable key{}; certbound verifies ES256 (EC P-256) and EdDSA (Ed25519) signatures",
        ignored_suffix(ignored)
    )]
    NoUsableKeys {
        /// Why each key was ignored.
        ignored: Vec<IgnoredJwk>,
    },
}

fn kid_suffix(kid: &Option<String>) -> String {
    kid.as_ref()
        .map(|k| format!(" (kid {k:?})"))
        .unwrap_or_default()
}

fn ignored_suffix(ignored: &[IgnoredJwk]) -> String {
    if ignored.is_empty() {
        return String::new();
    }
    let list: Vec<String> = ignored.iter().map(ToString::to_string).collect();
    format!(" (ignored: {})", list.join("; "))
}

/// The public half of a key as a JSON Web Key (RFC 7517 §4; OKP per RFC 8037).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    /// `EC`, `OKP` or `RSA`.
    pub kty: String,
    /// `P-256`, `P-384` or `Ed25519`; empty for RSA.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub crv: String,
    /// base64url x coordinate (EC) or public key (OKP); empty for RSA.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub x: String,
    /// base64url y coordinate (EC only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// base64url modulus (RSA only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// base64url public exponent (RSA only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Intended use; `sig` for ours.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// `ES256` or `EdDSA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Key id; for our keys the RFC 7638 thumbprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
}

impl PublicJwk {
    fn from_public_key(alg: Algorithm, public: &[u8], kid: Option<String>) -> Self {
        let (kty, crv, x, y) = match alg {
            // Uncompressed SEC1 point: 0x04 || x (32) || y (32).
            Algorithm::Es256 => (
                "EC",
                "P-256",
                URL_SAFE_NO_PAD.encode(public.get(1..33).unwrap_or_default()),
                Some(URL_SAFE_NO_PAD.encode(public.get(33..65).unwrap_or_default())),
            ),
            _ => ("OKP", "Ed25519", URL_SAFE_NO_PAD.encode(public), None),
        };
        Self {
            kty: kty.to_owned(),
            crv: crv.to_owned(),
            x,
            y,
            n: None,
            e: None,
            use_: Some("sig".to_owned()),
            alg: Some(alg.jws_name().to_owned()),
            kid,
        }
    }

    /// The RFC 7638 thumbprint of this key: base64url SHA-256 of its required
    /// members (`crv`, `kty`, `x`, and `y` for EC; `e`, `kty`, `n` for RSA) in
    /// lexicographic order.
    pub fn thumbprint(&self) -> String {
        if let (Some(n), Some(e)) = (&self.n, &self.e) {
            return jwk_thumbprint(&[("e", e), ("kty", &self.kty), ("n", n)]);
        }
        match &self.y {
            Some(y) => jwk_thumbprint(&[
                ("crv", &self.crv),
                ("kty", &self.kty),
                ("x", &self.x),
                ("y", y),
            ]),
            None => jwk_thumbprint(&[("crv", &self.crv), ("kty", &self.kty), ("x", &self.x)]),
        }
    }
}

/// RFC 7638 JWK thumbprint of a key given by its required members (any key
/// type: `[("e", ..), ("kty", "RSA"), ("n", ..)]` works too). Members are sorted
/// here, so their order in `members` does not matter.
pub fn jwk_thumbprint(members: &[(&str, &str)]) -> String {
    let mut sorted: Vec<(&str, &str)> = members.to_vec();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut json = String::with_capacity(160);
    json.push('{');
    for (i, (name, value)) in sorted.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        push_json_string(&mut json, name);
        json.push(':');
        push_json_string(&mut json, value);
    }
    json.push('}');
    let hash = digest::digest(&digest::SHA256, json.as_bytes());
    URL_SAFE_NO_PAD.encode(hash.as_ref())
}

fn push_json_string(out: &mut String, s: &str) {
    // serde_json writes the shortest escaping, which is what RFC 7638 §3.3 requires.
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        // Serialising a &str cannot fail; keep a visible trace if it ever did.
        Err(_) => out.push_str("\"\""),
    }
}

/// The protected header we sign with, members in the order RFC 9068 shows them.
#[derive(Serialize)]
struct JwsHeaderOut<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

enum KeyPairInner {
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A private key that signs access tokens, with its `kid` and the encoded JWS
/// header computed once.
pub struct SigningKey {
    alg: Algorithm,
    pair: KeyPairInner,
    jwk: PublicJwk,
    kid: String,
    header_b64: String,
}

impl fmt::Debug for SigningKey {
    // Never prints private material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// PEM label of the PKCS#8 private keys this module reads and writes.
const PKCS8_LABEL: &str = "PRIVATE KEY";

impl SigningKey {
    /// Loads a key from PEM text holding an unencrypted PKCS#8 P-256 or Ed25519
    /// private key (other PEM blocks, such as certificates, are skipped).
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let der = pem::private_key_der(text)?;
        Self::from_pkcs8_der(&der)
    }

    /// Loads a key from unencrypted PKCS#8 DER.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        match pem::classify_pkcs8(der)? {
            pem::KeyKind::P256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|e| KeyError::Rejected {
                        kind: "EC P-256",
                        reason: e.to_string(),
                    })?;
                Ok(Self::new(Algorithm::Es256, KeyPairInner::Ec(pair)))
            }
            pem::KeyKind::Ed25519 => {
                let pair = Ed25519KeyPair::from_pkcs8(der).map_err(|e| KeyError::Rejected {
                    kind: "Ed25519",
                    reason: e.to_string(),
                })?;
                Ok(Self::new(Algorithm::EdDsa, KeyPairInner::Ed(pair)))
            }
            pem::KeyKind::Other(kind) => Err(KeyError::UnsupportedKeyType { kind }),
        }
    }

    /// Generates a new key. Returns it with its unencrypted PKCS#8 PEM text,
    /// which the caller writes to a file readable by the owner only (0600).
    pub fn generate(alg: Algorithm) -> Result<(Self, String), KeyError> {
        let rng = SystemRandom::new();
        let doc = match alg {
            Algorithm::Es256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            }
            // v1 is what `openssl genpkey -algorithm ED25519` writes and every tool reads.
            Algorithm::EdDsa => Ed25519KeyPair::generate_pkcs8v1(&rng),
            other => {
                return Err(KeyError::UnknownAlgorithm {
                    name: other.jws_name().to_owned(),
                });
            }
        }
        .map_err(|_| KeyError::Generate { alg })?;
        let key = Self::from_pkcs8_der(doc.as_ref())?;
        Ok((key, pem::encode(PKCS8_LABEL, doc.as_ref())))
    }

    fn new(alg: Algorithm, pair: KeyPairInner) -> Self {
        let public: &[u8] = match &pair {
            KeyPairInner::Ec(p) => p.public_key().as_ref(),
            KeyPairInner::Ed(p) => p.public_key().as_ref(),
        };
        let mut jwk = PublicJwk::from_public_key(alg, public, None);
        let kid = jwk.thumbprint();
        jwk.kid = Some(kid.clone());
        let header = JwsHeaderOut {
            alg: alg.jws_name(),
            typ: crate::jwt::ACCESS_TOKEN_TYP,
            kid: &kid,
        };
        // Serialising three plain strings cannot fail.
        let header_json = serde_json::to_string(&header).unwrap_or_default();
        let header_b64 = URL_SAFE_NO_PAD.encode(header_json);
        Self {
            alg,
            pair,
            jwk,
            kid,
            header_b64,
        }
    }

    /// The signing algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key id: the RFC 7638 thumbprint of the public key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK with `use`, `alg` and `kid`.
    pub fn public_jwk(&self) -> &PublicJwk {
        &self.jwk
    }

    /// The public key in the form the verifier needs (SEC1 point or raw Ed25519).
    pub(crate) fn public_key_bytes(&self) -> &[u8] {
        match &self.pair {
            KeyPairInner::Ec(p) => p.public_key().as_ref(),
            KeyPairInner::Ed(p) => p.public_key().as_ref(),
        }
    }

    /// The base64url JWS protected header `{"alg","typ":"at+jwt","kid"}`.
    pub(crate) fn header_b64(&self) -> &str {
        &self.header_b64
    }

    /// Signs `message`; the signature is 64 bytes for both algorithms.
    pub(crate) fn sign_raw(&self, message: &[u8]) -> Result<signature::Signature, SignError> {
        match &self.pair {
            // aws-lc-rs draws its own randomness; the rng argument is for API compatibility.
            KeyPairInner::Ec(p) => p.sign(&SystemRandom::new(), message),
            KeyPairInner::Ed(p) => p.try_sign(message),
        }
        .map_err(|_| SignError)
    }

    pub(crate) fn parsed_public_key(&self) -> Result<ParsedPublicKey, KeyError> {
        ParsedPublicKey::new(self.alg.verification(), self.public_key_bytes()).map_err(|e| {
            KeyError::Rejected {
                kind: self.alg.key_type(),
                reason: e.to_string(),
            }
        })
    }
}

/// The crypto library failed to sign (it does not say why).
#[derive(Debug)]
pub(crate) struct SignError;
