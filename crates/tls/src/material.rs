//! Certificates and keys read from files, for command-line flags and TLS
//! profiles alike: the same parsers as `certbound check` (so a file that check
//! accepts, TLS accepts), and the same words when a file is wrong.

use std::path::{Path, PathBuf};

use certbound_pki::key::parse_private_key;
use certbound_pki::{CertDer, CertInfo, parse_certificates};
use rustls_pki_types::PrivateKeyDer;

use crate::error::Error;

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
        let chain = load_certificates(cert, "the certificate")?;
        let key_bytes = read(key, "the key")?;
        let parsed = parse_private_key(&key_bytes).map_err(|source| Error::Key {
            path: key.to_path_buf(),
            source,
        })?;
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

    /// Load from optional flags: both or neither.
    pub fn from_flags(cert: Option<&Path>, key: Option<&Path>) -> Result<Option<Self>, Error> {
        match (cert, key) {
            (Some(c), Some(k)) => Self::load(c, k).map(Some),
            (None, None) => Ok(None),
            (Some(_), None) => Err(Error::HalfIdentity { missing: "--key" }),
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
