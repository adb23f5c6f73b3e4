//! Certificates and keys read from files, for command-line flags and TLS
//! profiles alike: the same parsers as `certbound check` (so a file that check
//! accepts, TLS accepts), and the same words when a file is wrong. A key may
//! be encrypted, and a certificate file may be a PKCS#12 file that holds the
//! key too; the password comes from a [`KeyPassword`].

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use certbound_pki::key::{KeyError, parse_private_key_with_password};
use certbound_pki::pkcs12::{is_pkcs12, read_pkcs12};
use certbound_pki::{CertDer, CertInfo, parse_certificates};
use rustls_pki_types::PrivateKeyDer;

use crate::error::Error;

/// The environment variable that holds the password of an encrypted key or
/// PKCS#12 file, when no `--key-password-file` is given.
pub const KEY_PASSWORD_ENV: &str = "CERTBOUND_KEY_PASSWORD";

/// The password of an encrypted key or PKCS#12 file, if one was given. Its
/// `Debug` never shows the password.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KeyPassword(Option<String>);

impl fmt::Debug for KeyPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "KeyPassword(given)"
        } else {
            "KeyPassword(none)"
        })
    }
}

impl KeyPassword {
    /// No password: encrypted keys are refused with a message that asks for one.
    pub fn none() -> Self {
        Self(None)
    }

    /// A password given as such.
    pub fn new(password: impl Into<String>) -> Self {
        Self(Some(password.into()))
    }

    /// The first line of a file, its line ending stripped.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let bytes = read(path, "the key password file")?;
        let text = String::from_utf8(bytes).map_err(|_| Error::Config {
            reason: format!(
                "the key password file {} is not UTF-8 text: write the password as its first line",
                path.display()
            ),
        })?;
        let line = text.split('\n').next().unwrap_or_default();
        Ok(Self::new(line.strip_suffix('\r').unwrap_or(line)))
    }

    /// `--key-password-file FILE` if given, else the value of
    /// [`KEY_PASSWORD_ENV`] (passed in by the caller, which reads its
    /// environment), else none.
    pub fn from_sources(file: Option<&Path>, env: Option<OsString>) -> Result<Self, Error> {
        if let Some(file) = file {
            return Self::from_file(file);
        }
        match env {
            Some(v) => v.into_string().map(Self::new).map_err(|_| Error::Config {
                reason: format!("{KEY_PASSWORD_ENV} is not UTF-8 text"),
            }),
            None => Ok(Self::none()),
        }
    }

    /// The password, if one was given.
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// A client's (or server's) certificate chain and private key.
#[derive(Debug)]
pub struct Identity {
    /// The leaf first, then any intermediates the file holds after it.
    pub chain: Vec<CertDer>,
    /// The private key (PKCS#8; PKCS#1 and SEC1 files are converted).
    pub key: PrivateKeyDer<'static>,
    /// Where the chain came from, for messages.
    pub cert_path: PathBuf,
    /// Where the key came from, for messages.
    pub key_path: PathBuf,
}

impl Identity {
    /// Read a certificate file (leaf then intermediates) and its key, and
    /// check that the key belongs to the leaf.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, Error> {
        Self::load_with_password(cert, Some(key), &KeyPassword::none())
    }

    /// [`Identity::load`] for keys that may be encrypted, and for a PKCS#12
    /// `cert` file, which holds the key (`key` may then be `None`) and the
    /// chain. PKCS#12 is told by the file's content, not its name.
    pub fn load_with_password(
        cert: &Path,
        key: Option<&Path>,
        password: &KeyPassword,
    ) -> Result<Self, Error> {
        let cert_bytes = read(cert, "the certificate")?;
        let key_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source: KeyError| Error::Key { path, source }
        };
        if is_pkcs12(&cert_bytes) {
            let p12 = read_pkcs12(&cert_bytes, password.get()).map_err(key_error(cert))?;
            let key_path = key.unwrap_or(cert);
            let parsed = match key {
                Some(k) => {
                    let bytes = read(k, "the key")?;
                    parse_private_key_with_password(&bytes, password.get()).map_err(key_error(k))?
                }
                None => p12.key,
            };
            // read_pkcs12 puts the key's certificate first, always.
            if !p12
                .chain
                .first()
                .is_some_and(|leaf| parsed.matches_certificate(leaf))
            {
                return Err(Error::KeyMismatch {
                    cert: cert.to_path_buf(),
                    key: key_path.to_path_buf(),
                });
            }
            return Ok(Self {
                chain: p12.chain,
                key: parsed.to_der(),
                cert_path: cert.to_path_buf(),
                key_path: key_path.to_path_buf(),
            });
        }
        let Some(key) = key else {
            return Err(Error::HalfIdentity { missing: "--key" });
        };
        let chain = parse_certificates(&cert_bytes).map_err(|source| Error::Certificates {
            what: "the certificate",
            path: cert.to_path_buf(),
            source,
        })?;
        let key_bytes = read(key, "the key")?;
        let parsed =
            parse_private_key_with_password(&key_bytes, password.get()).map_err(key_error(key))?;
        // parse_certificates never returns an empty list.
        let leaf = chain.first().ok_or_else(|| Error::Certificates {
            what: "the certificate",
            path: cert.to_path_buf(),
            source: certbound_pki::BundleError::Empty,
        })?;
        if !parsed.matches_certificate(leaf) {
            return Err(Error::KeyMismatch {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
            });
        }
        Ok(Self {
            chain,
            key: parsed.to_der(),
            cert_path: cert.to_path_buf(),
            key_path: key.to_path_buf(),
        })
    }

    /// Load from optional flags: both or neither, or a PKCS#12 `--cert` alone.
    pub fn from_flags(
        cert: Option<&Path>,
        key: Option<&Path>,
        password: &KeyPassword,
    ) -> Result<Option<Self>, Error> {
        match (cert, key) {
            (Some(c), k) => Self::load_with_password(c, k, password).map(Some),
            (None, None) => Ok(None),
            (None, Some(_)) => Err(Error::HalfIdentity { missing: "--cert" }),
        }
    }

    /// The leaf certificate.
    /// A copy (the key is copied too: callers that keep identities in
    /// several configs, such as a gateway's upstream clients, need one each).
    pub fn duplicate(&self) -> Self {
        Self {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
            cert_path: self.cert_path.clone(),
            key_path: self.key_path.clone(),
        }
    }

    pub fn leaf(&self) -> Option<&CertDer> {
        self.chain.first()
    }

    /// The leaf described, when it parses (it always does after `load`).
    pub fn leaf_info(&self) -> Option<CertInfo> {
        self.leaf().and_then(|c| CertInfo::from_der(c).ok())
    }
}

/// Read one or more certificates (PEM or DER) from a file.
pub fn load_certificates(path: &Path, what: &'static str) -> Result<Vec<CertDer>, Error> {
    let bytes = read(path, what)?;
    parse_certificates(&bytes).map_err(|source| Error::Certificates {
        what,
        path: path.to_path_buf(),
        source,
    })
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}

/// Modification time and size of each file (`None` when it cannot be read):
/// what the watchers compare to notice a change.
pub fn stamps(files: &[PathBuf]) -> Vec<Option<(std::time::SystemTime, u64)>> {
    files
        .iter()
        .map(|f| {
            std::fs::metadata(f)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())))
        })
        .collect()
}
