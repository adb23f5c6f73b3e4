//! `certbound pki revoke` and `certbound pki crl`: taking trust back in a CA
//! made by `pki init`. A revocation is recorded in the CA directory (one line
//! per certificate in `<ca>.revoked`, written to a temporary file and
//! renamed); a CRL signed by the CA's key lists them, numbered one more than
//! the last (`<ca>.crlnumber`).
//!
//! Each CA of the directory keeps its own list: the intermediate's (it issues
//! the leaves, and `pki crl` writes its CRL by default) and the root's (which
//! issued the intermediate: `pki crl --root`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use certbound_pki::CertDer;
use certbound_pki::generate::Signer;
use certbound_pki::generate::crl::{CRL_DAYS, RevokedEntry};
use certbound_pki::inspect::CertInfo;
use certbound_pki::revocation::Reason;
use certbound_pki::time_fmt::{date, parse_time, rfc3339};
use clap::Args;
use time::OffsetDateTime;

use super::pki::{CA_CERT, CA_KEY, INTERMEDIATE_CERT, INTERMEDIATE_KEY};
use super::pki_export::CaKeyPassword;
use super::usage;
use crate::files::{self, Output};

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// CA directory made by `certbound pki init`.
    #[arg(long, value_name = "DIR")]
    ca: PathBuf,
    /// The certificate to revoke (PEM or DER; the first certificate of the file).
    #[arg(value_name = "CERT")]
    cert: PathBuf,
    /// Why (RFC 5280 CRLReason): unspecified, keyCompromise, cACompromise,
    /// affiliationChanged, superseded, cessationOfOperation, certificateHold,
    /// privilegeWithdrawn, aACompromise.
    #[arg(long, value_name = "REASON", default_value = "unspecified", value_parser = parse_reason)]
    reason: Reason,
}

#[derive(Debug, Args)]
pub struct CrlArgs {
    /// CA directory made by `certbound pki init`.
    #[arg(long, value_name = "DIR")]
    ca: PathBuf,
    #[command(flatten)]
    ca_key_password: CaKeyPassword,
    /// Days until the CRL's nextUpdate: publish a new one before then.
    #[arg(long, value_name = "N", default_value_t = CRL_DAYS)]
    days: u32,
    /// Where to write the CRL (PEM) [default: DIR/intermediate.crl, or DIR/ca.crl].
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Write the root CA's CRL (the intermediates it revoked) instead of the CRL
    /// of the CA that issues leaves.
    #[arg(long)]
    root: bool,
}

fn parse_reason(s: &str) -> Result<Reason, String> {
    Reason::from_name(s)
        .filter(|r| *r != Reason::RemoveFromCrl)
        .ok_or_else(|| {
            format!(
                "unknown reason `{s}`; one of {}",
                Reason::ALL
                    .iter()
                    .filter(|r| **r != Reason::RemoveFromCrl)
                    .map(|r| r.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

/// One CA of the directory: its certificate, key and record files.
struct CaFiles {
    cert: PathBuf,
    key: PathBuf,
    revoked: PathBuf,
    number: PathBuf,
    crl: PathBuf,
}

impl CaFiles {
    fn new(dir: &Path, cert: &str, key: &str) -> Self {
        let stem = cert.trim_end_matches(".crt");
        Self {
            cert: dir.join(cert),
            key: dir.join(key),
            revoked: dir.join(format!("{stem}.revoked")),
            number: dir.join(format!("{stem}.crlnumber")),
            crl: dir.join(format!("{stem}.crl")),
        }
    }

    /// The CAs of `dir`, the one that issues leaves first.
    fn all(dir: &Path) -> Result<Vec<Self>> {
        let mut cas = Vec::new();
        if dir.join(INTERMEDIATE_CERT).exists() {
            cas.push(Self::new(dir, INTERMEDIATE_CERT, INTERMEDIATE_KEY));
        }
        if dir.join(CA_CERT).exists() {
            cas.push(Self::new(dir, CA_CERT, CA_KEY));
        }
        if cas.is_empty() {
            return Err(usage(format!(
                "{} has no {CA_CERT}: create a CA there first with `certbound pki init --out {}`",
                dir.display(),
                dir.display()
            )));
        }
        Ok(cas)
    }

    fn read_cert(&self) -> Result<CertDer> {
        let pem = files::read_input(&self.cert, "the CA certificate")?;
        certbound_pki::parse_certificates(&pem)
            .with_context(|| format!("reading {}", self.cert.display()))?
            .into_iter()
            .next()
            .ok_or_else(|| usage(format!("{} holds no certificate", self.cert.display())))
    }
}

/// One line of a `.revoked` file: `SERIAL<TAB>DATE<TAB>REASON<TAB>NAME`.
#[derive(Debug, Clone)]
struct Record {
    serial: Vec<u8>,
    revoked_at: OffsetDateTime,
    reason: Reason,
    name: String,
}

fn read_records(path: &Path) -> Result<Vec<Record>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(usage(format!("cannot read {}: {e}", path.display()))),
    };
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || {
            anyhow::anyhow!(
                "{} line {} is not `SERIAL<TAB>DATE<TAB>REASON<TAB>NAME`; fix or remove it",
                path.display(),
                i + 1
            )
        };
        let mut parts = line.splitn(4, '\t');
        let (Some(serial), Some(at), Some(reason)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let serial = serial
            .split(':')
            .map(|b| u8::from_str_radix(b, 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| bad())?;
        records.push(Record {
            serial,
            revoked_at: parse_time(at).map_err(|_| bad())?,
            reason: Reason::from_name(reason).ok_or_else(bad)?,
            name: parts.next().unwrap_or_default().to_string(),
        });
    }
    Ok(records)
}

fn write_records(path: &Path, records: &[Record]) -> Result<()> {
    let mut text = String::from(
        "# Certificates revoked by this CA (certbound pki revoke): serial, date, reason, name\n",
    );
    for r in records {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            certbound_pki::thumbprint::colon_hex(&r.serial),
            rfc3339(r.revoked_at),
            r.reason.name(),
            r.name.replace(['\t', '\n'], " ")
        ));
    }
    files::write_all(&[Output::cert(path.to_path_buf(), text)], true)
}

pub fn revoke(a: RevokeArgs, now: OffsetDateTime) -> Result<()> {
    // CRLs carry whole seconds.
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let input = files::read_input(&a.cert, "the certificate")?;
    let cert = certbound_pki::parse_certificates(&input)
        .with_context(|| format!("reading {}", a.cert.display()))?
        .into_iter()
        .next()
        .ok_or_else(|| usage(format!("{} holds no certificate", a.cert.display())))?;
    let info = CertInfo::from_der(&cert).map_err(|e| usage(e.to_string()))?;
    let cas = CaFiles::all(&a.ca)?;
    let mut issuer = None;
    for ca in &cas {
        let ca_cert = ca.read_cert()?;
        if ca_cert.as_ref() != cert.as_ref() && certbound_pki::chain::signed_by(&cert, &ca_cert) {
            issuer = Some((ca, ca_cert));
            break;
        }
    }
    let Some((ca, ca_cert)) = issuer else {
        return Err(usage(format!(
            "'{}' (issuer '{}') was not issued by the CA in {}: only the CA that issued a certificate can revoke it",
            info.display_name(),
            info.issuer_display_name(),
            a.ca.display()
        )));
    };
    let ca_name = CertInfo::from_der(&ca_cert)
        .map(|i| i.display_name().to_string())
        .unwrap_or_default();
    let serial = info.serial.clone();
    let mut records = read_records(&ca.revoked)?;
    if let Some(r) = records
        .iter()
        .find(|r| certbound_pki::thumbprint::colon_hex(&r.serial) == serial)
    {
        println!(
            "'{}' (serial {serial}) was already revoked on {} (reason: {}); nothing changed.",
            info.display_name(),
            rfc3339(r.revoked_at),
            r.reason
        );
        return Ok(());
    }
    records.push(Record {
        serial: x509_serial(&cert)?,
        revoked_at: now,
        reason: a.reason,
        name: info.display_name().to_string(),
    });
    write_records(&ca.revoked, &records)?;
    println!(
        "Revoked '{}' (serial {serial}) on {}, reason: {}.",
        info.display_name(),
        rfc3339(now),
        a.reason
    );
    println!("  recorded in {} (by '{ca_name}')", ca.revoked.display());
    let root = if ca.cert.ends_with(CA_CERT) && cas.len() > 1 {
        " --root"
    } else {
        ""
    };
    println!("\nNext: publish a new CRL and replace the file servers read:");
    println!("  certbound pki crl --ca {}{root}", a.ca.display());
    Ok(())
}

/// The raw serial bytes of `cert`, as CRLs list them.
fn x509_serial(cert: &[u8]) -> Result<Vec<u8>> {
    let info = CertInfo::from_der(cert).map_err(|e| usage(e.to_string()))?;
    info.serial
        .split(':')
        .map(|b| u8::from_str_radix(b, 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| usage("the certificate's serial number cannot be read"))
}

pub fn crl(a: CrlArgs, now: OffsetDateTime) -> Result<()> {
    let cas = CaFiles::all(&a.ca)?;
    let ca = if a.root { cas.last() } else { cas.first() }.ok_or_else(|| usage("no CA"))?;
    if a.days == 0 {
        return Err(usage("--days must be at least 1"));
    }
    let cert = ca.read_cert()?;
    let key = a
        .ca_key_password
        .plain_key(files::read_input(&ca.key, "the CA key")?, &ca.key)?;
    let signer = Signer::new(cert.clone(), &key)
        .with_context(|| format!("loading the CA from {}", a.ca.display()))?;
    let records = read_records(&ca.revoked)?;
    let last: u64 = match std::fs::read_to_string(&ca.number) {
        Ok(t) => t.trim().parse().map_err(|_| {
            anyhow::anyhow!(
                "{} does not hold a CRL number; it should hold the number of the last CRL written",
                ca.number.display()
            )
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(usage(format!("cannot read {}: {e}", ca.number.display()))),
    };
    let number = last + 1;
    let entries: Vec<RevokedEntry> = records
        .iter()
        .map(|r| RevokedEntry {
            serial: r.serial.clone(),
            revoked_at: r.revoked_at,
            reason: r.reason,
        })
        .collect();
    let made = signer.crl(&entries, number, now, a.days)?;
    let out = a.out.clone().unwrap_or_else(|| ca.crl.clone());
    if let Some(dir) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        files::ensure_dir(dir)?;
    }
    files::write_all(&[Output::cert(out.clone(), made.pem)], true)?;
    // The number is recorded once the CRL is written: a failed write reuses it.
    files::write_all(
        &[Output::cert(ca.number.clone(), format!("{number}\n"))],
        true,
    )?;
    println!(
        "Wrote CRL number {number} of '{}' listing {} revoked certificate{}: {}",
        signer.info().display_name(),
        entries.len(),
        if entries.len() == 1 { "" } else { "s" },
        out.display()
    );
    println!(
        "  next update {} ({} days): publish a new one before then, or verifiers treat it as stale",
        date(made.next_update),
        a.days
    );
    println!("\nVerify it:");
    println!(
        "  openssl crl -in {} -CAfile {} -noout",
        out.display(),
        ca.cert.display()
    );
    Ok(())
}
