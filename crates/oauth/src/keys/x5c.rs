//! Signing a JWS with a certificate's private key and the certificate chain
//! in its `x5c` header (RFC 7515 §4.1.6), as UDAP wants every JWT signed: the
//! server's signed metadata, a client's software statement and its
//! authentication tokens (HL7 FAST Security §7.1). The verifier finds the key
//! in the leaf certificate and trusts it through the chain.

use std::fmt;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use certbound_pki::inspect::PublicKeyBytes;

use super::Algorithm;

/// A private key with its certificate chain, signing compact JWS.
pub struct X5cSigner {
    alg: Algorithm,
    key: PairKind,
    header_b64: String,
}

enum PairKind {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl fmt::Debug for X5cSigner {
    // Never prints private material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("X5cSigner")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl X5cSigner {
    /// A signer for the PKCS#8 key `pkcs8`, whose certificate is `chain[0]`
    /// (DER, followed by its intermediates). RSA keys sign RS256 (UDAP's
    /// required algorithm), or `rsa_alg` when given (RS384, RS512, PS*); EC
    /// P-256 keys ES256 and P-384 keys ES384.
    pub fn new(
        pkcs8: &[u8],
        chain: &[Vec<u8>],
        rsa_alg: Option<Algorithm>,
    ) -> Result<Self, String> {
        let leaf = chain
            .first()
            .ok_or_else(|| "no certificate is given with the key".to_owned())?;
        let public = certbound_pki::inspect::public_key(leaf).map_err(|e| e.to_string())?;
        let (alg, key, matches) = match public {
            PublicKeyBytes::Rsa { der, .. } => {
                let pair = RsaKeyPair::from_pkcs8(pkcs8)
                    .map_err(|e| format!("the key is not an RSA PKCS#8 key for the certificate's RSA public key ({e})"))?;
                let alg = rsa_alg.unwrap_or(Algorithm::Rs256);
                if alg.signature_len().is_some() {
                    return Err(format!("{alg} is not an RSA algorithm"));
                }
                let matches = pair.public_key().as_ref() == der.as_slice();
                (alg, PairKind::Rsa(pair), matches)
            }
            PublicKeyBytes::Ec { curve, point } => {
                let (alg, signing) = match curve.as_str() {
                    "P-256" => (Algorithm::Es256, &ECDSA_P256_SHA256_FIXED_SIGNING),
                    "P-384" => (Algorithm::Es384, &ECDSA_P384_SHA384_FIXED_SIGNING),
                    other => {
                        return Err(format!(
                            "an EC key on curve {other} cannot sign here (P-256 or P-384)"
                        ));
                    }
                };
                let pair = EcdsaKeyPair::from_pkcs8(signing, pkcs8)
                    .map_err(|e| format!("the key is not an EC {curve} PKCS#8 key ({e})"))?;
                let matches = pair.public_key().as_ref() == point.as_slice();
                (alg, PairKind::Ec(pair), matches)
            }
            PublicKeyBytes::Ed25519(_) | PublicKeyBytes::Other(_) => {
                return Err("the certificate's key is neither RSA nor EC P-256/P-384, which UDAP signs with".to_owned());
            }
        };
        if !matches {
            return Err(
                "the private key is not the key of the certificate (the first of the chain)"
                    .to_owned(),
            );
        }
        let x5c: Vec<String> = chain.iter().map(|c| STANDARD.encode(c)).collect();
        let header = serde_json::json!({ "alg": alg.jws_name(), "x5c": x5c });
        Ok(Self {
            alg,
            key,
            header_b64: URL_SAFE_NO_PAD.encode(header.to_string()),
        })
    }

    /// The algorithm it signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// `claims` signed as a compact JWS with header `{"alg", "x5c"}`.
    pub fn sign(&self, claims: &serde_json::Value) -> Result<String, String> {
        let mut out = String::with_capacity(self.header_b64.len() + 1024);
        out.push_str(&self.header_b64);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(claims.to_string(), &mut out);
        let rng = SystemRandom::new();
        let signature = match &self.key {
            PairKind::Rsa(pair) => {
                let padding: &'static dyn signature::RsaEncoding = match self.alg {
                    Algorithm::Rs384 => &signature::RSA_PKCS1_SHA384,
                    Algorithm::Rs512 => &signature::RSA_PKCS1_SHA512,
                    Algorithm::Ps256 => &signature::RSA_PSS_SHA256,
                    Algorithm::Ps384 => &signature::RSA_PSS_SHA384,
                    Algorithm::Ps512 => &signature::RSA_PSS_SHA512,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(padding, &rng, out.as_bytes(), &mut sig)
                    .map_err(|_| "RSA signing failed".to_owned())?;
                sig
            }
            PairKind::Ec(pair) => pair
                .sign(&rng, out.as_bytes())
                .map_err(|_| "ECDSA signing failed".to_owned())?
                .as_ref()
                .to_vec(),
        };
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut out);
        Ok(out)
    }
}
