//! The token signing keys: the current key, read from its PEM file or created
//! (mode 0600) on first start, and previous keys kept in the JWKS so tokens
//! signed before a rotation still verify.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use certbound_oauth::{Algorithm, SigningKey, VerifyingKeys};

/// Why the keys could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("cannot read the signing key {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the signing key {}: {source}", path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the signing key {} is not usable: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error(
        "the token signing key {} is missing, but the store has been used ({history}): a new key would make every token issued so far stop verifying, and other instances sharing the store would not publish it. Restore the key file (from a backup, or copy it from another instance of this store, mode 0600); if it is truly lost, create a new one deliberately with `{create}` and chmod 600 it",
        path.display()
    )]
    Lost {
        path: PathBuf,
        history: String,
        create: &'static str,
    },
}

/// Whether a missing signing key may be created: only on a first start, when
/// the store has no history. `history` says what the store holds, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FirstStart {
    Yes,
    No { history: String },
}

/// The current key and every key published in the JWKS.
#[derive(Debug)]
pub(crate) struct Keys {
    pub current: SigningKey,
    pub verifying: VerifyingKeys,
}

/// Load the signing key (creating it if absent on a first start) and the previous keys.
pub(crate) fn load(
    path: &Path,
    algorithm: Algorithm,
    previous: &[PathBuf],
    first: &FirstStart,
) -> Result<Keys, KeysError> {
    if let (FirstStart::No { history }, false) = (first, path.exists()) {
        return Err(KeysError::Lost {
            path: path.to_path_buf(),
            history: history.clone(),
            create: match algorithm {
                Algorithm::Es256 => {
                    "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out KEYFILE"
                }
                _ => "openssl genpkey -algorithm ed25519 -out KEYFILE",
            },
        });
    }
    let current = load_or_create(path, algorithm)?;
    let mut old = Vec::new();
    for p in previous {
        old.push(read_key(p)?);
    }
    let verifying = VerifyingKeys::from_signing_keys(std::iter::once(&current).chain(old.iter()))
        .map_err(|e| KeysError::Invalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok(Keys { current, verifying })
}

fn load_or_create(path: &Path, algorithm: Algorithm) -> Result<SigningKey, KeysError> {
    if path.exists() {
        return read_key(path);
    }
    let (key, pem) = SigningKey::generate(algorithm).map_err(|e| KeysError::Invalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let create = |path: &Path| -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(pem.as_bytes())?;
        f.sync_all()
    };
    create(path).map_err(|source| KeysError::Create {
        path: path.to_path_buf(),
        source,
    })?;
    tracing::info!(path = %path.display(), kid = %key.kid(), "created a new token signing key");
    Ok(key)
}

fn read_key(path: &Path) -> Result<SigningKey, KeysError> {
    let pem = std::fs::read_to_string(path).map_err(|source| KeysError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), mode = format!("{mode:04o}"), "the signing key is readable by others: run chmod 600 on it");
        }
    }
    SigningKey::from_pem(&pem).map_err(|e| KeysError::Invalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}
