//! PKCS#12 (`.p12`, `.pfx`) files, as Java keytool, .NET and `openssl pkcs12
//! -export` hand them out: read one into a private key and its certificate
//! chain (the leaf found by its public key, the rest ordered issuer after
//! subject), and write one that OpenSSL 3, Java 17 and .NET import (PBES2
//! AES-256-CBC with PBKDF2-HMAC-SHA256, a SHA-256 MAC, a friendlyName).
//!
//! The MAC is checked before anything is decrypted, so a wrong password is
//! reported as such and never as a parser error.

use p12_keystore::{KeyStore, KeyStoreEntry, Pkcs12Archive, PrivateKeyChain};

use crate::CertDer;
use crate::key::{KeyError, KeyFormat, PrivateKey};

/// PBKDF2 and MAC iterations of files we write: the JDK's default.
pub const EXPORT_ITERATIONS: u32 = 10_000;

/// What a PKCS#12 file held.
#[derive(Debug)]
pub struct Pkcs12Identity {
    /// The private key.
    pub key: PrivateKey,
    /// The certificate of the key first, then its issuers in order.
    pub chain: Vec<CertDer>,
    /// Certificates that are neither the leaf nor in its chain.
    pub other: Vec<CertDer>,
    /// The friendlyName (alias) of the key, when the file gives one.
    pub friendly_name: Option<String>,
}

/// Whether these bytes are a DER PKCS#12 PFX: SEQUENCE { INTEGER 3,
/// ContentInfo { id-data or id-signedData, … } … }.
pub fn is_pkcs12(input: &[u8]) -> bool {
    // SEQUENCE with a definite (short or long form) or indefinite length.
    let Some(rest) = skip_header(input, 0x30) else {
        return false;
    };
    let Some(rest) = rest.strip_prefix(&[0x02, 0x01, 0x03]) else {
        return false;
    };
    let Some(rest) = skip_header(rest, 0x30) else {
        return false;
    };
    const PKCS7: [u8; 10] = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07];
    rest.starts_with(&PKCS7) && matches!(rest.get(10), Some(1 | 2))
}

/// A file that holds certificates (and maybe a key) in a container rather
/// than as certificates, told apart by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// PKCS#12 (`.p12`, `.pfx`).
    Pkcs12,
    /// PKCS#7 / CMS SignedData in DER (`.p7b`), certificates only.
    Pkcs7Der,
    /// PKCS#7 in PEM (`-----BEGIN PKCS7-----`).
    Pkcs7Pem,
    /// A Java KeyStore (magic 0xFEEDFEED).
    Jks,
    /// A Java JCEKS keystore (magic 0xCECECECE).
    Jceks,
}

impl Container {
    /// What the file is, in words.
    pub fn name(self) -> &'static str {
        match self {
            Container::Pkcs12 => "a PKCS#12 file",
            Container::Pkcs7Der => "a PKCS#7 bundle (DER)",
            Container::Pkcs7Pem => "a PKCS#7 bundle (PEM)",
            Container::Jks => "a Java KeyStore (JKS)",
            Container::Jceks => "a Java JCEKS keystore",
        }
    }

    /// The command that turns `file` into something certbound reads: PEM
    /// certificates for PKCS#7, a PKCS#12 file for Java keystores. `None`
    /// for PKCS#12, which certbound reads itself.
    pub fn conversion(self, file: &str) -> Option<String> {
        let stem = file
            .rsplit_once('.')
            .filter(|(s, ext)| !s.is_empty() && !ext.contains('/'))
            .map_or(file, |(s, _)| s);
        match self {
            Container::Pkcs12 => None,
            Container::Pkcs7Der => Some(format!(
                "openssl pkcs7 -inform DER -print_certs -in {file} -out {stem}.pem"
            )),
            Container::Pkcs7Pem => Some(format!(
                "openssl pkcs7 -print_certs -in {file} -out {stem}.pem"
            )),
            Container::Jks | Container::Jceks => Some(format!(
                "keytool -importkeystore -srckeystore {file} -srcstoretype {} -destkeystore {stem}.p12 -deststoretype PKCS12",
                if self == Container::Jks {
                    "JKS"
                } else {
                    "JCEKS"
                }
            )),
        }
    }
}

/// Which container these bytes are, if any.
pub fn container(input: &[u8]) -> Option<Container> {
    if input.starts_with(&[0xfe, 0xed, 0xfe, 0xed]) {
        return Some(Container::Jks);
    }
    if input.starts_with(&[0xce, 0xce, 0xce, 0xce]) {
        return Some(Container::Jceks);
    }
    if is_pkcs12(input) {
        return Some(Container::Pkcs12);
    }
    const SIGNED_DATA: [u8; 11] = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
    ];
    if skip_header(input, 0x30).is_some_and(|rest| rest.starts_with(&SIGNED_DATA)) {
        return Some(Container::Pkcs7Der);
    }
    let head = &input[..input.len().min(4096)];
    if head.windows(17).any(|w| w == b"-----BEGIN PKCS7-") {
        return Some(Container::Pkcs7Pem);
    }
    None
}

/// Skip a DER tag `tag` and its length; the bytes after the header.
fn skip_header(input: &[u8], tag: u8) -> Option<&[u8]> {
    if *input.first()? != tag {
        return None;
    }
    let len = *input.get(1)?;
    let header = match len {
        0x80 => 2,
        l if l < 0x80 => 2,
        l => 2 + usize::from(l & 0x7f),
    };
    input.get(header..)
}

/// Read a PKCS#12 file. Without a password, the empty password is tried (as
/// `openssl pkcs12 -passout pass:` writes); if it does not open the file,
/// the error says a password is needed.
pub fn read_pkcs12(input: &[u8], password: Option<&str>) -> Result<Pkcs12Identity, KeyError> {
    let max = crate::encrypted::MAX_PBKDF2_ITERATIONS;
    if let Some(n) = iterations::largest(input).filter(|n| *n > u64::from(max)) {
        return Err(KeyError::Pkcs12 {
            reason: format!(
                "it asks for {} iterations of its key derivation or MAC; at most {max} are worked through. Re-export it with the usual count (OpenSSL's default is 2048: `openssl pkcs12 -export` without -iter)",
                if n == u64::MAX {
                    "more than 2^64".to_string()
                } else {
                    n.to_string()
                }
            ),
        });
    }
    let archive = match password {
        Some(pw) => open(input, pw)?,
        None => match open(input, "") {
            Ok(a) => a,
            Err(KeyError::WrongPassword) => {
                return Err(KeyError::Encrypted {
                    label: "PKCS#12".to_string(),
                });
            }
            Err(e) => return Err(e),
        },
    };
    let mut keys = archive.keys.into_iter();
    let Some(bag) = keys.next() else {
        return Err(KeyError::Pkcs12 {
            reason: "it holds no private key (a trust store?): give a PKCS#12 file made with the key, e.g. `openssl pkcs12 -export -inkey KEY -in CERT`".to_string(),
        });
    };
    if keys.next().is_some() {
        return Err(KeyError::Pkcs12 {
            reason: "it holds more than one private key: export the one you need into a file of its own (`keytool -importkeystore -srcalias ALIAS`)".to_string(),
        });
    }
    let key = crate::key::parse_der(bag.key.as_der(), KeyFormat::Pkcs8).map_err(|_| {
        KeyError::Unsupported {
            format: "PKCS#8 in PKCS#12",
        }
    })?;
    let mut certs: Vec<CertDer> = Vec::new();
    for c in archive.certs {
        let der = CertDer::from(c.cert.as_der().to_vec());
        if !certs.contains(&der) {
            certs.push(der);
        }
    }
    let Some(leaf_at) = certs.iter().position(|c| key.matches_certificate(c)) else {
        return Err(KeyError::Pkcs12 {
            reason: if certs.is_empty() {
                "it holds a private key but no certificate".to_string()
            } else {
                format!(
                    "none of its {} certificate(s) belongs to its private key",
                    certs.len()
                )
            },
        });
    };
    let leaf = certs.remove(leaf_at);
    let (chain, other) = order_chain(leaf, certs);
    Ok(Pkcs12Identity {
        key,
        chain,
        other,
        friendly_name: bag.friendly_name,
    })
}

fn open(input: &[u8], password: &str) -> Result<Pkcs12Archive, KeyError> {
    use p12_keystore::error::Error as E;
    Pkcs12Archive::from_pkcs12(input, password).map_err(|e| match e {
        E::MacError(_) | E::UnpadError => KeyError::WrongPassword,
        E::UnsupportedEncryptionScheme | E::UnsupportedMacAlgorithm => {
            KeyError::UnsupportedEncryption {
                scheme: "a PKCS#12 encryption or MAC algorithm certbound does not know".to_string(),
            }
        }
        E::Pkcs5Error(reason) if reason.contains("ecrypt") => KeyError::WrongPassword,
        other => KeyError::Pkcs12 {
            reason: format!("it is not a valid PKCS#12 file ({other})"),
        },
    })
}

/// The leaf, then each issuer found among `rest` (by subject and issuer
/// name, stopping at a self-signed certificate); what is left over second.
fn order_chain(leaf: CertDer, mut rest: Vec<CertDer>) -> (Vec<CertDer>, Vec<CertDer>) {
    let names = |der: &CertDer| -> Option<(Vec<u8>, Vec<u8>)> {
        let (_, c) = x509_parser::parse_x509_certificate(der).ok()?;
        Some((
            c.tbs_certificate.subject.as_raw().to_vec(),
            c.tbs_certificate.issuer.as_raw().to_vec(),
        ))
    };
    let mut chain = vec![leaf];
    while let Some((subject, issuer)) = chain.last().and_then(names) {
        if subject == issuer {
            break;
        }
        let Some(at) = rest
            .iter()
            .position(|c| names(c).is_some_and(|(s, _)| s == issuer))
        else {
            break;
        };
        chain.push(rest.remove(at));
    }
    (chain, rest)
}

/// Write a key and its chain (leaf first) as a PKCS#12 file protected by
/// `password`: PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) for the key and the
/// certificates, an HMAC-SHA256 MAC, `friendly_name` as the alias.
/// `key_pkcs8` is the plain PKCS#8 DER of the key.
pub fn write_pkcs12(
    key_pkcs8: &[u8],
    chain: &[CertDer],
    friendly_name: &str,
    password: &str,
) -> Result<Vec<u8>, KeyError> {
    let failed = |e: p12_keystore::error::Error| KeyError::Pkcs12 {
        reason: format!("it could not be written ({e})"),
    };
    let p12_key = p12_keystore::PrivateKey::from_der(key_pkcs8).map_err(failed)?;
    let certs = chain
        .iter()
        .map(|c| p12_keystore::Certificate::from_der(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(failed)?;
    // The local key ID ties the key bag to the leaf's bag: OpenSSL uses the
    // leaf's SHA-1 thumbprint; any value unique in the file works.
    let local_key_id = chain
        .first()
        .map(|c| crate::thumbprint::sha256(c)[..20].to_vec())
        .unwrap_or_else(|| b"certbound".to_vec());
    let mut store = KeyStore::new();
    store.add_entry(
        friendly_name,
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(local_key_id, p12_key, certs)),
    );
    store
        .writer(password)
        .encryption_iterations(EXPORT_ITERATIONS)
        .mac_iterations(EXPORT_ITERATIONS)
        .write()
        .map_err(failed)
}

mod iterations;

#[cfg(test)]
mod tests;
