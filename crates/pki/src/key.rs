//! Private keys as users have them (PKCS#8, PKCS#1 RSA, SEC1 EC; PEM or DER;
//! encrypted with a password, or inside a PKCS#12 file)
//! and the question `openssl x509 -modulus | md5` answers by eye: does this key
//! belong to this certificate? Here it is answered by comparing public keys, for
//! RSA, ECDSA and Ed25519 alike.

use rustls_pki_types::{PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};

use crate::bundle::{BundleError, pem_blocks};

/// Why a private key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the key file is empty")]
    Empty,
    #[error("the private key is encrypted ({label}): {PASSWORD_HINT}")]
    Encrypted { label: String },
    #[error(
        "the password is wrong: the key does not decrypt with it (the password file's first line is the password)"
    )]
    WrongPassword,
    #[error(
        "the key is encrypted with {scheme}, which certbound cannot decrypt: convert it with `openssl pkcs8 -topk8 -v2 aes256 -in KEY -out key.p8`"
    )]
    UnsupportedEncryption { scheme: String },
    #[error("the PKCS#12 file cannot be used: {reason}")]
    Pkcs12 { reason: String },
    #[error("this is {found}, not a private key")]
    NotAKey { found: String },
    #[error(
        "the private key could not be read ({format}): it is corrupt or of a type certbound does not support (RSA, ECDSA P-256/P-384/P-521 and Ed25519 are supported)"
    )]
    Unsupported { format: &'static str },
    #[error("the key file is not PEM or DER: {0}")]
    Pem(#[from] BundleError),
}

/// How a user gives the password of an encrypted key or PKCS#12 file.
pub const PASSWORD_HINT: &str = "give its password with --key-password-file FILE or CERTBOUND_KEY_PASSWORD (key_password_file in a [tls.NAME] profile)";

impl KeyError {
    /// The error as a sentence about the key file `name`: "NAME is
    /// encrypted: …", "the password for NAME is wrong …", "the key NAME: …".
    pub fn describe(&self, name: &str) -> String {
        match self {
            KeyError::Encrypted { label } => {
                format!("{name} is encrypted ({label}): {PASSWORD_HINT}")
            }
            KeyError::WrongPassword => format!(
                "the password for {name} is wrong: it does not decrypt with it (the password file's first line is the password)"
            ),
            other => format!("the key {name}: {other}"),
        }
    }

    /// Whether a password (or another one) would help.
    pub fn is_password(&self) -> bool {
        matches!(self, KeyError::Encrypted { .. } | KeyError::WrongPassword)
    }
}

/// The encoding a key came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    Pkcs8,
    Pkcs1,
    Sec1,
}

impl KeyFormat {
    /// "PKCS#8", "PKCS#1 RSA", "SEC1 EC".
    pub fn name(self) -> &'static str {
        match self {
            KeyFormat::Pkcs8 => "PKCS#8",
            KeyFormat::Pkcs1 => "PKCS#1 RSA",
            KeyFormat::Sec1 => "SEC1 EC",
        }
    }
}

/// A parsed private key: enough to match it to a certificate and sign with it.
#[derive(Debug)]
pub struct PrivateKey {
    pub format: KeyFormat,
    /// The key pair, able to sign.
    pub key_pair: rcgen::KeyPair,
}

impl PrivateKey {
    /// The raw public key, as it appears in a certificate's subjectPublicKey.
    pub fn public_key_raw(&self) -> &[u8] {
        self.key_pair.public_key_raw()
    }

    /// "ECDSA P-256", "RSA", "Ed25519".
    pub fn kind(&self) -> &'static str {
        let alg = self.key_pair.algorithm();
        if alg == &rcgen::PKCS_ED25519 {
            "Ed25519"
        } else if alg == &rcgen::PKCS_ECDSA_P256_SHA256 {
            "ECDSA P-256"
        } else if alg == &rcgen::PKCS_ECDSA_P384_SHA384 {
            "ECDSA P-384"
        } else if alg == &rcgen::PKCS_ECDSA_P521_SHA512 {
            "ECDSA P-521"
        } else {
            "RSA"
        }
    }

    /// The key in the DER form rustls takes: PKCS#8 (PKCS#1 and SEC1 keys
    /// are converted; should that fail, they are passed in their own form,
    /// which rustls takes too).
    pub fn to_der(&self) -> PrivateKeyDer<'static> {
        let der = self.key_pair.serialize_der();
        match (self.format, self.pkcs8_der()) {
            (_, Some(pkcs8)) => PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8)),
            (KeyFormat::Pkcs1, None) => PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der)),
            (KeyFormat::Sec1, None) => PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(der)),
            (KeyFormat::Pkcs8, None) => PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der)),
        }
    }

    /// The key as PKCS#8 DER. rcgen keeps a key in the encoding it was read
    /// in, so PKCS#1 RSA and SEC1 EC keys are converted with aws-lc-rs.
    pub fn pkcs8_der(&self) -> Option<Vec<u8>> {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::signature::{self, EcdsaKeyPair};
        let der = self.key_pair.serialize_der();
        match self.format {
            KeyFormat::Pkcs8 => Some(der),
            KeyFormat::Pkcs1 => aws_lc_rs::rsa::KeyPair::from_der(&der)
                .ok()?
                .as_der()
                .ok()
                .map(|d| d.as_ref().to_vec()),
            KeyFormat::Sec1 => {
                let alg = match self.kind() {
                    "ECDSA P-384" => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                    "ECDSA P-521" => &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
                    _ => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                };
                EcdsaKeyPair::from_private_key_der(alg, &der)
                    .ok()?
                    .to_pkcs8v1()
                    .ok()
                    .map(|d| d.as_ref().to_vec())
            }
        }
    }

    /// Whether this key is the private half of the certificate's public key.
    pub fn matches_certificate(&self, cert_der: &[u8]) -> bool {
        match x509_parser::parse_x509_certificate(cert_der) {
            Ok((_, cert)) => {
                cert.public_key().subject_public_key.data.as_ref() == self.public_key_raw()
            }
            Err(_) => false,
        }
    }
}

/// Read a private key from PEM or DER bytes.
pub fn parse_private_key(input: &[u8]) -> Result<PrivateKey, KeyError> {
    parse_private_key_with_password(input, None)
}

/// Read a private key from PEM or DER bytes, decrypting it with `password`
/// when it is encrypted (PKCS#8 `ENCRYPTED PRIVATE KEY`, legacy
/// `Proc-Type: 4,ENCRYPTED` PEM, or a PKCS#12 file holding one key).
pub fn parse_private_key_with_password(
    input: &[u8],
    password: Option<&str>,
) -> Result<PrivateKey, KeyError> {
    if input.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(KeyError::Empty);
    }
    if !input.windows(11).any(|w| w == b"-----BEGIN ") {
        if crate::pkcs12::is_pkcs12(input) {
            return crate::pkcs12::read_pkcs12(input, password).map(|p| p.key);
        }
        if crate::encrypted::looks_like_encrypted_pkcs8(input) {
            return decrypt_pkcs8(input, password);
        }
        return parse_der_any(input);
    }
    let blocks = pem_blocks(input)?;
    let Some(block) = blocks.iter().find(|b| b.label.ends_with("PRIVATE KEY")) else {
        let found = match blocks.first().map(|b| b.label.as_str()) {
            Some("CERTIFICATE") => "a certificate".to_string(),
            Some("CERTIFICATE REQUEST") => "a certificate signing request".to_string(),
            Some(label) => format!("a PEM \"{label}\" block"),
            None => "text without a PEM block".to_string(),
        };
        return Err(KeyError::NotAKey { found });
    };
    if block.label == "ENCRYPTED PRIVATE KEY" {
        return decrypt_pkcs8(&block.der, password);
    }
    let format = match block.label.as_str() {
        "RSA PRIVATE KEY" => KeyFormat::Pkcs1,
        "EC PRIVATE KEY" => KeyFormat::Sec1,
        _ => KeyFormat::Pkcs8,
    };
    if block.encrypted_header {
        let label = format!("{}, Proc-Type: 4,ENCRYPTED", block.label);
        let Some(password) = password else {
            return Err(KeyError::Encrypted { label });
        };
        let dek = crate::encrypted::dek_info(input, block.line).ok_or(
            KeyError::UnsupportedEncryption {
                scheme: "a legacy PEM header without DEK-Info".to_string(),
            },
        )?;
        let plain = crate::encrypted::decrypt_legacy(&dek, &block.der, password)?;
        // Plain text that is not a key: the padding happened to fit, the
        // password is still wrong.
        return parse_der(&plain, format).map_err(|_| KeyError::WrongPassword);
    }
    parse_der(&block.der, format)
}

fn decrypt_pkcs8(der: &[u8], password: Option<&str>) -> Result<PrivateKey, KeyError> {
    let Some(password) = password else {
        return Err(KeyError::Encrypted {
            label: "ENCRYPTED PRIVATE KEY".to_string(),
        });
    };
    let plain = crate::encrypted::decrypt_pkcs8(der, password)?;
    parse_der(&plain, KeyFormat::Pkcs8).map_err(|_| KeyError::WrongPassword)
}

/// A key of a known format from its DER.
pub(crate) fn parse_der(der: &[u8], format: KeyFormat) -> Result<PrivateKey, KeyError> {
    let der = der.to_vec();
    let key = match format {
        KeyFormat::Pkcs1 => PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der)),
        KeyFormat::Sec1 => PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(der)),
        KeyFormat::Pkcs8 => PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der)),
    };
    rcgen::KeyPair::try_from(&key)
        .map(|key_pair| PrivateKey { format, key_pair })
        .map_err(|_| KeyError::Unsupported {
            format: format.name(),
        })
}

fn parse_der_any(input: &[u8]) -> Result<PrivateKey, KeyError> {
    if input.first() != Some(&0x30) {
        return Err(KeyError::NotAKey {
            found: "neither PEM nor DER".to_string(),
        });
    }
    if x509_parser::parse_x509_certificate(input).is_ok() {
        return Err(KeyError::NotAKey {
            found: "a DER certificate".to_string(),
        });
    }
    let candidates = [
        (
            KeyFormat::Pkcs8,
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(input.to_vec())),
        ),
        (
            KeyFormat::Pkcs1,
            PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(input.to_vec())),
        ),
        (
            KeyFormat::Sec1,
            PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(input.to_vec())),
        ),
    ];
    for (format, key) in candidates {
        if let Ok(key_pair) = rcgen::KeyPair::try_from(&key) {
            return Ok(PrivateKey { format, key_pair });
        }
    }
    Err(KeyError::Unsupported { format: "DER" })
}

/// Whether a key file's Unix permission bits let anyone but the owner read it.
pub fn mode_is_loose(mode: u32) -> bool {
    mode & 0o077 != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_wrong_inputs_are_named() {
        assert_eq!(parse_private_key(b"  \n").unwrap_err(), KeyError::Empty);
        let cert_pem = b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
        assert_eq!(
            parse_private_key(cert_pem).unwrap_err(),
            KeyError::NotAKey {
                found: "a certificate".into()
            }
        );
        let enc =
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(matches!(
            parse_private_key(enc).unwrap_err(),
            KeyError::Encrypted { .. }
        ));
        let legacy = b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nMAA=\n-----END RSA PRIVATE KEY-----\n";
        assert!(matches!(
            parse_private_key(legacy).unwrap_err(),
            KeyError::Encrypted { .. }
        ));
        assert!(matches!(
            parse_private_key(b"hello").unwrap_err(),
            KeyError::NotAKey { .. }
        ));
    }

    #[test]
    fn generated_keys_round_trip_and_match() {
        for alg in [
            &rcgen::PKCS_ECDSA_P256_SHA256,
            &rcgen::PKCS_ED25519,
            &rcgen::PKCS_ECDSA_P384_SHA384,
        ] {
            let kp = rcgen::KeyPair::generate_for(alg).unwrap();
            let cert = rcgen::CertificateParams::new(vec!["a.test".into()])
                .unwrap()
                .self_signed(&kp)
                .unwrap();
            let parsed = parse_private_key(kp.serialize_pem().as_bytes()).unwrap();
            assert!(parsed.matches_certificate(cert.der()));
            let other = rcgen::KeyPair::generate_for(alg).unwrap();
            let parsed_other = parse_private_key(other.serialize_pem().as_bytes()).unwrap();
            assert!(!parsed_other.matches_certificate(cert.der()));
            // DER works too.
            assert!(
                parse_private_key(&kp.serialize_der())
                    .unwrap()
                    .matches_certificate(cert.der())
            );
        }
    }

    #[test]
    fn loose_modes() {
        assert!(!mode_is_loose(0o600));
        assert!(!mode_is_loose(0o400));
        assert!(mode_is_loose(0o640));
        assert!(mode_is_loose(0o644));
        assert!(mode_is_loose(0o604));
    }
}
