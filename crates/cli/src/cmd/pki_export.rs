//! `certbound pki export`: a certificate, its chain and its key as one
//! PKCS#12 file for Java, .NET and Windows (PBES2 AES-256-CBC with
//! PBKDF2-HMAC-SHA256, a SHA-256 MAC, the alias as friendlyName), written
//! mode 0600. The password comes from a file, never from a prompt: CI has no
//! terminal. Also the password of an encrypted CA key for `pki issue` and
//! `pki sign`.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use certbound_pki::CertInfo;
use certbound_pki::key::{KeyError, parse_private_key_with_password};
use certbound_pki::pkcs12::write_pkcs12;
use certbound_tls::Identity;
use certbound_tls::material::{KeyPassword, load_certificates};
use clap::Args;

use crate::cmd::client::{key_password, tls_error};
use crate::cmd::usage;
use crate::files::{KEY_MODE, ensure_writable};

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Certificate file: the leaf, then its intermediates (PEM or DER).
    #[arg(long, value_name = "FILE")]
    cert: PathBuf,
    /// Its private key, PEM or DER (may be encrypted: see --key-password-file).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The PKCS#12 file to write (mode 0600).
    #[arg(long, value_name = "FILE")]
    p12: PathBuf,
    /// File whose first line is the password that protects the PKCS#12 file (required).
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// File whose first line is the password of an encrypted --key
    /// [default: $CERTBOUND_KEY_PASSWORD].
    #[arg(long, value_name = "FILE")]
    key_password_file: Option<PathBuf>,
    /// CA certificates to add after the chain (e.g. the root), as Java and .NET like it.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// The alias (friendlyName) of the entry [default: the leaf's CN, else "certbound"].
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Replace --p12 if it exists.
    #[arg(long)]
    force: bool,
}

pub fn run(a: ExportArgs) -> Result<()> {
    let Some(password_file) = &a.password_file else {
        return Err(usage(format!(
            "give the password that will protect {} with --password-file FILE (its first line); certbound never prompts for one",
            a.p12.display()
        )));
    };
    let password = KeyPassword::from_file(password_file).map_err(tls_error)?;
    let password = password.get().unwrap_or_default();
    if password.is_empty() {
        return Err(usage(format!(
            "the first line of {} is empty: a PKCS#12 file needs a password (Java and .NET refuse empty ones)",
            password_file.display()
        )));
    }
    let identity = Identity::load_with_password(
        &a.cert,
        Some(&a.key),
        &key_password(a.key_password_file.as_deref())?,
    )
    .map_err(tls_error)?;
    let mut chain = identity.chain.clone();
    if let Some(ca) = &a.ca {
        for c in load_certificates(ca, "the CA file").map_err(tls_error)? {
            if !chain.contains(&c) {
                chain.push(c);
            }
        }
    }
    let name = match &a.name {
        Some(n) => n.clone(),
        None => identity
            .leaf_info()
            .and_then(|i: CertInfo| common_name(&i.subject))
            .unwrap_or_else(|| "certbound".to_string()),
    };
    let bytes = write_pkcs12(identity.key.secret_der(), &chain, &name, password)
        .map_err(|e| anyhow::anyhow!(e.describe(&a.p12.display().to_string())))?;
    ensure_writable(&[a.p12.as_path()], a.force)?;
    write_private(&a.p12, &bytes)?;
    println!(
        "wrote {} (PKCS#12, mode 0600): the key and {} certificate{}, alias \"{name}\"; PBES2 AES-256-CBC, SHA-256 MAC",
        a.p12.display(),
        chain.len(),
        if chain.len() == 1 { "" } else { "s" }
    );
    Ok(())
}

/// The CN of a subject written as `CN=name, O=org`.
fn common_name(subject: &str) -> Option<String> {
    subject
        .split(", ")
        .find_map(|rdn| rdn.strip_prefix("CN="))
        .map(str::to_string)
}

/// Write bytes mode 0600 through a temporary file renamed into place.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(KEY_MODE)
            .open(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        f.set_permissions(fs::Permissions::from_mode(KEY_MODE))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The password of an encrypted CA key, for `pki issue` and `pki sign`.
#[derive(Debug, Args)]
pub struct CaKeyPassword {
    /// File whose first line is the password of the CA's key, when it is
    /// encrypted [default: $CERTBOUND_KEY_PASSWORD].
    #[arg(long = "ca-key-password-file", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

impl CaKeyPassword {
    /// The CA key as plain PKCS#8 DER when it is encrypted (decrypted with
    /// the password given), else the bytes as read.
    pub fn plain_key(&self, key: Vec<u8>, key_path: &Path) -> Result<Vec<u8>> {
        match parse_private_key_with_password(&key, None) {
            Err(KeyError::Encrypted { .. }) => {}
            _ => return Ok(key),
        }
        let password = KeyPassword::from_sources(
            self.file.as_deref(),
            std::env::var_os(certbound_tls::material::KEY_PASSWORD_ENV),
        )
        .map_err(tls_error)?;
        let name = key_path.display().to_string();
        match parse_private_key_with_password(&key, password.get()) {
            Ok(k) => Ok(k.key_pair.serialize_der()),
            Err(e @ KeyError::Encrypted { .. }) => Err(usage(
                e.describe(&name)
                    .replace("--key-password-file FILE", "--ca-key-password-file FILE"),
            )),
            Err(e) => Err(usage(e.describe(&name))),
        }
    }
}
