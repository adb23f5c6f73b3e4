//! The key of a request and the proof that the requester holds it: the
//! request's signature over its CertificationRequestInfo, verified with
//! aws-lc-rs for the algorithms certbound accepts, and refused with the
//! reason for the others (SHA-1 and MD5 among them).

use aws_lc_rs::signature::{self, RsaPssSaltLength, VerificationAlgorithm};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::public_key::PublicKey;
use x509_parser::signature_algorithm::RsaSsaPssParams;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::CsrError;
use crate::inspect::KeyKind;
use crate::oid;

/// The public key of a request, as rcgen writes it into a certificate.
#[derive(Debug, Clone)]
pub(super) struct CsrKey {
    pub(super) alg: &'static rcgen::SignatureAlgorithm,
    pub(super) raw: Vec<u8>,
    pub(super) rsa: bool,
}

impl rcgen::PublicKeyData for CsrKey {
    fn der_bytes(&self) -> &[u8] {
        &self.raw
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.alg
    }
}

/// The request's key as rcgen will write it, and as users read it. The key is
/// written into the certificate byte for byte as the request has it.
pub(super) fn request_key(spki: &SubjectPublicKeyInfo<'_>) -> Result<(CsrKey, KeyKind), CsrError> {
    let alg_oid = spki.algorithm.algorithm.to_id_string();
    let (alg, kind): (&'static rcgen::SignatureAlgorithm, KeyKind) = match alg_oid.as_str() {
        "1.2.840.113549.1.1.1" => {
            let bits = match spki.parsed() {
                Ok(PublicKey::RSA(rsa)) => rsa.key_size(),
                _ => {
                    return Err(CsrError::Malformed {
                        reason: "its RSA public key cannot be decoded".to_string(),
                    });
                }
            };
            if bits < 2048 {
                return Err(CsrError::WeakKey { bits });
            }
            if bits > 8192 {
                return Err(CsrError::UnsupportedKey {
                    key: format!("RSA {bits} bits"),
                });
            }
            (&rcgen::PKCS_RSA_SHA256, KeyKind::Rsa { bits })
        }
        "1.2.840.10045.2.1" => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .unwrap_or_default();
            match oid::curve_name(&curve) {
                Some("P-256") => (
                    &rcgen::PKCS_ECDSA_P256_SHA256,
                    KeyKind::Ec {
                        curve: "P-256".into(),
                        bits: 256,
                    },
                ),
                Some("P-384") => (
                    &rcgen::PKCS_ECDSA_P384_SHA384,
                    KeyKind::Ec {
                        curve: "P-384".into(),
                        bits: 384,
                    },
                ),
                name => {
                    return Err(CsrError::UnsupportedKey {
                        key: format!("ECDSA on curve {}", name.unwrap_or(&curve)),
                    });
                }
            }
        }
        "1.3.101.112" => (&rcgen::PKCS_ED25519, KeyKind::Ed25519),
        other => {
            let key = match other {
                "1.2.840.113549.1.1.10" => "an RSA-PSS-only key (id-RSASSA-PSS)".to_string(),
                "1.3.101.113" => "Ed448".to_string(),
                "1.2.840.10040.4.1" => "DSA".to_string(),
                _ => format!("of algorithm {other}"),
            };
            return Err(CsrError::UnsupportedKey { key });
        }
    };
    let key = CsrKey {
        alg,
        raw: spki.subject_public_key.data.to_vec(),
        rsa: matches!(kind, KeyKind::Rsa { .. }),
    };
    // rcgen rebuilds the SubjectPublicKeyInfo from the algorithm; an encoding
    // it would change (explicit curve parameters, RSA without NULL) is refused
    // rather than certified as a different byte string.
    if rcgen::PublicKeyData::subject_public_key_info(&key) != spki.raw {
        return Err(CsrError::UnsupportedKey {
            key: format!("{kind} in an unusual encoding"),
        });
    }
    Ok((key, kind))
}

const SHA1: &str = "1.3.14.3.2.26";
const SHA256: &str = "2.16.840.1.101.3.4.2.1";
const SHA384: &str = "2.16.840.1.101.3.4.2.2";
const SHA512: &str = "2.16.840.1.101.3.4.2.3";

/// Verify the request's signature over its CertificationRequestInfo with
/// the key it carries; return the algorithm's name.
pub(super) fn verify_signature(
    csr: &X509CertificationRequest<'_>,
    key: &CsrKey,
) -> Result<String, CsrError> {
    let sig_oid = csr.signature_algorithm.algorithm.to_id_string();
    let known = oid::signature_algorithm(&sig_oid);
    let mut name = if known.name == "unknown" {
        sig_oid.clone()
    } else {
        known.name.to_string()
    };
    if known.weak || matches!(sig_oid.as_str(), "1.3.14.3.2.29" | "1.2.840.113549.1.1.2") {
        return Err(CsrError::WeakSignature { algorithm: name });
    }
    let is_ec =
        key.alg == &rcgen::PKCS_ECDSA_P256_SHA256 || key.alg == &rcgen::PKCS_ECDSA_P384_SHA384;
    let p256 = key.alg == &rcgen::PKCS_ECDSA_P256_SHA256;
    let ed25519 = key.alg == &rcgen::PKCS_ED25519;
    let mismatch = |name: &str| CsrError::Malformed {
        reason: format!("it is signed with {name}, which does not fit its key"),
    };
    let message = csr.certification_request_info.raw;
    let sig = csr.signature_value.data.as_ref();
    let pk = key.raw.as_slice();
    let result = match sig_oid.as_str() {
        "1.2.840.113549.1.1.11" | "1.2.840.113549.1.1.12" | "1.2.840.113549.1.1.13" => {
            if !key.rsa {
                return Err(mismatch(&name));
            }
            let alg = match sig_oid.as_str() {
                "1.2.840.113549.1.1.11" => &signature::RSA_PKCS1_2048_8192_SHA256,
                "1.2.840.113549.1.1.12" => &signature::RSA_PKCS1_2048_8192_SHA384,
                _ => &signature::RSA_PKCS1_2048_8192_SHA512,
            };
            alg.verify_sig(pk, message, sig)
        }
        "1.2.840.113549.1.1.10" => {
            if !key.rsa {
                return Err(mismatch(&name));
            }
            let (hash, salt) = pss_params(csr, &mut name)?;
            let alg = match hash {
                SHA256 => signature::RSA_PSS_2048_8192_SHA256,
                SHA384 => signature::RSA_PSS_2048_8192_SHA384,
                _ => signature::RSA_PSS_2048_8192_SHA512,
            };
            alg.with_pss_salt_length(RsaPssSaltLength::Custom(salt))
                .verify_sig(pk, message, sig)
        }
        "1.2.840.10045.4.3.2" | "1.2.840.10045.4.3.3" | "1.2.840.10045.4.3.4" => {
            if !is_ec {
                return Err(mismatch(&name));
            }
            let alg = match (p256, sig_oid.as_str()) {
                (true, "1.2.840.10045.4.3.2") => &signature::ECDSA_P256_SHA256_ASN1,
                (true, "1.2.840.10045.4.3.3") => &signature::ECDSA_P256_SHA384_ASN1,
                (true, _) => &signature::ECDSA_P256_SHA512_ASN1,
                (false, "1.2.840.10045.4.3.2") => &signature::ECDSA_P384_SHA256_ASN1,
                (false, "1.2.840.10045.4.3.3") => &signature::ECDSA_P384_SHA384_ASN1,
                (false, _) => &signature::ECDSA_P384_SHA512_ASN1,
            };
            alg.verify_sig(pk, message, sig)
        }
        "1.3.101.112" => {
            if !ed25519 {
                return Err(mismatch(&name));
            }
            signature::ED25519.verify_sig(pk, message, sig)
        }
        _ => return Err(CsrError::UnsupportedSignature { algorithm: name }),
    };
    result.map_err(|_| CsrError::BadSignature {
        algorithm: name.clone(),
    })?;
    Ok(name)
}

/// The hash and salt length of an RSA-PSS signature, which must use MGF1
/// with that same hash; `name` gains the hash.
fn pss_params(
    csr: &X509CertificationRequest<'_>,
    name: &mut String,
) -> Result<(&'static str, u16), CsrError> {
    let unsupported = |algorithm: String| CsrError::UnsupportedSignature { algorithm };
    let params = csr
        .signature_algorithm
        .parameters
        .clone()
        .ok_or_else(|| unsupported("RSA-PSS without parameters".to_string()))?;
    let params = RsaSsaPssParams::try_from(params).map_err(|_| CsrError::Malformed {
        reason: "its RSA-PSS parameters cannot be decoded".to_string(),
    })?;
    let hash = match params.hash_algorithm_oid().to_id_string().as_str() {
        SHA256 => SHA256,
        SHA384 => SHA384,
        SHA512 => SHA512,
        SHA1 => {
            return Err(CsrError::WeakSignature {
                algorithm: "RSA-PSS with SHA-1".to_string(),
            });
        }
        other => return Err(unsupported(format!("RSA-PSS with hash {other}"))),
    };
    let hash_name = match hash {
        SHA256 => "SHA-256",
        SHA384 => "SHA-384",
        _ => "SHA-512",
    };
    *name = format!("RSA-PSS with {hash_name}");
    let mgf = params
        .mask_gen_algorithm()
        .map_err(|_| CsrError::Malformed {
            reason: "its RSA-PSS mask generation function cannot be decoded".to_string(),
        })?;
    if mgf.mgf.to_id_string() != "1.2.840.113549.1.1.8" || mgf.hash.to_id_string() != hash {
        return Err(unsupported(format!(
            "{name} and a mask generation function other than MGF1 with {hash_name}"
        )));
    }
    if params.trailer_field() != 1 {
        return Err(CsrError::Malformed {
            reason: "its RSA-PSS trailer field is not 1 (RFC 4055)".to_string(),
        });
    }
    let salt = u16::try_from(params.salt_length()).map_err(|_| CsrError::Malformed {
        reason: "its RSA-PSS salt length is out of range".to_string(),
    })?;
    Ok((hash, salt))
}
