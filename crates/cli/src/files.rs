//! Reading inputs and writing outputs safely: private keys are created with
//! mode 0600, nothing is overwritten without `--force`, and every file is
//! written to a temporary name and renamed, so a crash never leaves half a key.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cmd::usage;

/// Mode of private key files.
pub const KEY_MODE: u32 = 0o600;
/// Mode of certificate files.
pub const CERT_MODE: u32 = 0o644;
/// Mode of a directory created to hold keys.
pub const DIR_MODE: u32 = 0o700;

/// Read a file the user named; a failure is a usage error (exit 2).
pub fn read_input(path: &Path, what: &str) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| usage(format!("cannot read {what} {}: {e}", path.display())))
}

/// A file's Unix permission bits, when it can be stat'ed.
pub fn mode_of(path: &Path) -> Option<u32> {
    fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

/// One file to write.
#[derive(Debug)]
pub struct Output {
    pub path: PathBuf,
    pub contents: String,
    pub mode: u32,
}

impl Output {
    pub fn key(path: PathBuf, contents: String) -> Self {
        Self {
            path,
            contents,
            mode: KEY_MODE,
        }
    }

    pub fn cert(path: PathBuf, contents: String) -> Self {
        Self {
            path,
            contents,
            mode: CERT_MODE,
        }
    }
}

/// Refuse, before anything is written, if any output exists and `force` is off.
pub fn ensure_writable(outputs: &[&Path], force: bool) -> Result<()> {
    if force {
        return Ok(());
    }
    let existing: Vec<String> = outputs
        .iter()
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !existing.is_empty() {
        anyhow::bail!(
            "{} already exist{}; certbound never overwrites certificates or keys: pass --force to replace {}",
            existing.join(", "),
            if existing.len() == 1 { "s" } else { "" },
            if existing.len() == 1 { "it" } else { "them" },
        );
    }
    Ok(())
}

/// Create `dir` (mode 0700 when new) and its parents.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))
        .with_context(|| format!("cannot set mode of {}", dir.display()))?;
    Ok(())
}

/// Write all outputs: each to a temporary file with its final mode, then renamed
/// into place.
pub fn write_all(outputs: &[Output], force: bool) -> Result<()> {
    let paths: Vec<&Path> = outputs.iter().map(|o| o.path.as_path()).collect();
    ensure_writable(&paths, force)?;
    for out in outputs {
        write_atomic(out)?;
    }
    Ok(())
}

fn write_atomic(out: &Output) -> Result<()> {
    let dir = out
        .path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = out
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(out.mode)
            .open(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        // The umask may have narrowed the mode; set it exactly.
        f.set_permissions(fs::Permissions::from_mode(out.mode))?;
        f.write_all(out.contents.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, &out.path).with_context(|| format!("cannot write {}", out.path.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
