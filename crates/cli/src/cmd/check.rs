//! `certbound check`: read the files, run every check, print the checklist and
//! the certificate summary (or one JSON object with `--json`).

mod online;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use certbound_pki::chain::Usage;
use certbound_pki::check::{self, CheckInput, KeyFile, Named, Report, Status};
use certbound_pki::time_fmt::{parse_time, rfc3339};
use clap::{Args, ValueEnum};
use time::OffsetDateTime;

use crate::cmd::{EXIT_FAILED, usage};
use crate::files;
use crate::style::{BOLD, DIM, GREEN, RED, YELLOW, color_stdout, paint};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The certificate (PEM or DER); certificates after the first are used as intermediates.
    #[arg(value_name = "CERT")]
    cert: PathBuf,
    /// The private key that should belong to the certificate.
    #[arg(long, value_name = "KEY")]
    key: Option<PathBuf>,
    /// File whose first line is the password of an encrypted --key or a
    /// PKCS#12 CERT [default: $CERTBOUND_KEY_PASSWORD].
    #[arg(long, value_name = "FILE")]
    key_password_file: Option<PathBuf>,
    /// CA certificate(s) to verify the chain against.
    #[arg(long, visible_alias = "cacert", value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Intermediate certificates, if they are not in CERT.
    #[arg(long, value_name = "FILE")]
    chain: Option<PathBuf>,
    /// What the certificate is for.
    #[arg(long, value_enum, default_value = "any")]
    usage: UsageArg,
    /// Host name or IP address clients will connect to.
    #[arg(long, value_name = "NAME")]
    host: Option<String>,
    /// Check as of this time (RFC 3339, a date, or Unix seconds) instead of now.
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// Warn when the certificate expires within this many days.
    #[arg(long, value_name = "N", default_value_t = check::DEFAULT_WARN_DAYS)]
    warn_days: u32,
    /// Print one JSON object instead of the checklist.
    #[arg(long)]
    json: bool,
    /// A CRL (PEM or DER) to check the certificate and its intermediates
    /// against (repeatable); used only when signed by its issuer and current.
    #[arg(long, value_name = "FILE")]
    crl: Vec<PathBuf>,
    /// Also ask the OCSP responder named in the certificate's (and each
    /// intermediate's) Authority Information Access, and fetch the CRLs their
    /// CRL Distribution Points name (http://, 3 s each); a revoked
    /// certificate fails.
    #[arg(long)]
    online: bool,
    /// Run only the RFC 5280 profile checks (no CA file needed; the
    /// certificates of --ca, when given, are checked as anchors).
    #[arg(long, conflicts_with = "key")]
    lint_only: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum UsageArg {
    Client,
    Server,
    Any,
}

impl From<UsageArg> for Usage {
    fn from(u: UsageArg) -> Self {
        match u {
            UsageArg::Client => Usage::Client,
            UsageArg::Server => Usage::Server,
            UsageArg::Any => Usage::Any,
        }
    }
}

pub fn run(args: CheckArgs) -> Result<ExitCode> {
    let now = match &args.at {
        Some(t) => parse_time(t).map_err(usage)?,
        None => OffsetDateTime::now_utc(),
    };
    let cert_bytes = files::read_input(&args.cert, "the certificate")?;
    let key_bytes = args
        .key
        .as_ref()
        .map(|p| files::read_input(p, "the key"))
        .transpose()?;
    // PKCS#12, PKCS#7 and Java keystores, and encrypted keys.
    let (cert_bytes, key_bytes, key_path) = open_containers(&args, cert_bytes, key_bytes)?;
    let args = CheckArgs {
        key: key_path,
        ..args
    };
    let ca_bytes = args
        .ca
        .as_ref()
        .map(|p| files::read_input(p, "the CA file"))
        .transpose()?;
    let chain_bytes = args
        .chain
        .as_ref()
        .map(|p| files::read_input(p, "the chain file"))
        .transpose()?;
    let cert_name = args.cert.display().to_string();
    let key_name = args
        .key
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let ca_name = args
        .ca
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let chain_name = args
        .chain
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();

    let input = CheckInput {
        cert: Named {
            name: &cert_name,
            bytes: &cert_bytes,
        },
        key: key_bytes.as_ref().map(|bytes| KeyFile {
            file: Named {
                name: &key_name,
                bytes,
            },
            mode: args.key.as_ref().and_then(|p| files::mode_of(p)),
        }),
        ca: ca_bytes.as_ref().map(|bytes| Named {
            name: &ca_name,
            bytes,
        }),
        chain: chain_bytes.as_ref().map(|bytes| Named {
            name: &chain_name,
            bytes,
        }),
        usage: args.usage.into(),
        host: args.host.as_deref(),
        now,
        warn_days: args.warn_days,
        nearby: &[],
    };
    if args.lint_only {
        return print(&check::lint(&input), args.json);
    }
    let mut report = check::run(&input);
    // A broken chain: look beside the CA file for the missing intermediate
    // (read only now, never when the chain verifies) and check again with it.
    let chain_failed = report
        .checks
        .iter()
        .any(|c| c.id == "chain" && c.status == Status::Fail);
    if let (true, Some(ca)) = (chain_failed, args.ca.as_deref()) {
        let given: Vec<&Path> = [Some(&args.cert), args.ca.as_ref(), args.chain.as_ref()]
            .into_iter()
            .flatten()
            .map(PathBuf::as_path)
            .collect();
        let files = nearby_certificates(ca, &given);
        let nearby: Vec<Named<'_>> = files
            .iter()
            .map(|(name, bytes)| Named { name, bytes })
            .collect();
        if !nearby.is_empty() {
            report = check::run(&CheckInput {
                nearby: &nearby,
                ..input
            });
        }
    }
    let crl_files = args
        .crl
        .iter()
        .map(|p| Ok((p.display().to_string(), files::read_input(p, "the CRL")?)))
        .collect::<Result<Vec<_>>>()?;
    let crls: Vec<Named<'_>> = crl_files
        .iter()
        .map(|(name, bytes)| Named { name, bytes })
        .collect();
    check::revocation::add(&mut report, &input, &crls);
    if args.online {
        // The responders speak of now, whatever --at says.
        online::run(&mut report, &input, OffsetDateTime::now_utc())?;
    }
    print(&report, args.json)
}

/// Print the report (checklist or JSON); the exit code of its verdict.
fn print(report: &Report, json: bool) -> Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{}", render(report, color_stdout()));
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

/// The certificate bytes, the key bytes and the key's path after
/// [`open_containers`].
type Opened = (Vec<u8>, Option<Vec<u8>>, Option<PathBuf>);

/// A PKCS#12 CERT opened with the password (its chain as PEM becomes CERT,
/// its key the key unless --key is given); an encrypted --key decrypted;
/// PKCS#7 and Java keystores refused with the command that converts them.
fn open_containers(args: &CheckArgs, cert: Vec<u8>, key: Option<Vec<u8>>) -> Result<Opened> {
    use certbound_pki::key::{KeyError, parse_private_key_with_password};
    use certbound_pki::pkcs12::{Container, container, read_pkcs12};
    let cert_name = args.cert.display().to_string();
    let password = crate::cmd::client::key_password(args.key_password_file.as_deref())?;
    let kind = container(&cert);
    if let Some(c) = kind.filter(|c| *c != Container::Pkcs12) {
        let how = c.conversion(&cert_name).unwrap_or_default();
        let then = match c {
            Container::Jks | Container::Jceks => {
                " then check the .p12 (give its password with --key-password-file)"
            }
            _ => " then check that file",
        };
        return Err(usage(format!(
            "{cert_name} is {}, not a certificate: convert it with `{how}`,{then}",
            c.name()
        )));
    }
    let key = match (key, &args.key) {
        (Some(bytes), Some(path)) => {
            match parse_private_key_with_password(&bytes, password.get()) {
                // Decrypted: check the plain key (the key-file mode is still the file's).
                Ok(k) if password.get().is_some() => Some(k.key_pair.serialize_der()),
                Err(KeyError::WrongPassword) => {
                    return Err(usage(
                        KeyError::WrongPassword.describe(&path.display().to_string()),
                    ));
                }
                _ => Some(bytes),
            }
        }
        (k, _) => k,
    };
    if kind != Some(Container::Pkcs12) {
        return Ok((cert, key, args.key.clone()));
    }
    let p12 = read_pkcs12(&cert, password.get()).map_err(|e| usage(e.describe(&cert_name)))?;
    eprintln!(
        "{cert_name} is a PKCS#12 file: a private key{} and {} certificate{}; checking them",
        p12.friendly_name
            .as_deref()
            .map(|n| format!(" (alias \"{n}\")"))
            .unwrap_or_default(),
        p12.chain.len() + p12.other.len(),
        if p12.chain.len() + p12.other.len() == 1 {
            ""
        } else {
            "s"
        }
    );
    let pem: String = p12
        .chain
        .iter()
        .chain(&p12.other)
        .map(|c| certbound_pki::generate::pem_encode("CERTIFICATE", c))
        .collect();
    match key {
        Some(k) => Ok((pem.into_bytes(), Some(k), args.key.clone())),
        // The key-file check then looks at the .p12 itself, which holds the key.
        None => Ok((
            pem.into_bytes(),
            Some(p12.key.key_pair.serialize_der()),
            Some(args.cert.clone()),
        )),
    }
}

/// The checklist and summary as text.
pub fn render(report: &Report, color: bool) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}  (usage: {}, at {})\n",
        paint(color, BOLD, "certbound check"),
        report.file,
        report.usage,
        rfc3339(
            report
                .checked_at
                .replace_nanosecond(0)
                .unwrap_or(report.checked_at)
        )
    );
    for c in &report.checks {
        let word = match c.status {
            Status::Pass => paint(color, GREEN, "pass"),
            Status::Info => paint(color, BOLD, "info"),
            Status::Warn => paint(color, YELLOW, "warn"),
            Status::Fail => paint(color, RED, "FAIL"),
            Status::Skip => paint(color, DIM, "skip"),
        };
        match c.rfc {
            Some(rfc) => {
                let _ = writeln!(out, "  {word}  {:<12} {} ({rfc})", c.id, c.message);
            }
            None => {
                let _ = writeln!(out, "  {word}  {:<12} {}", c.id, c.message);
            }
        }
        if let Some(hint) = &c.hint {
            match c.status {
                Status::Warn | Status::Fail => {
                    let _ = writeln!(
                        out,
                        "        {:<12} {} {hint}",
                        "",
                        paint(color, BOLD, "fix:")
                    );
                }
                Status::Skip => {
                    let _ = writeln!(out, "        {:<12} {}", "", paint(color, DIM, hint));
                }
                _ => {}
            }
        }
    }
    if let Some(cert) = &report.certificate {
        let i = &cert.info;
        let _ = writeln!(out, "\n{}", paint(color, BOLD, "Certificate"));
        let mut row = |k: &str, v: String| {
            let _ = writeln!(out, "  {k:<18} {v}");
        };
        row("subject", i.subject.clone());
        row("issuer", i.issuer.clone());
        row("serial", i.serial.clone());
        row(
            "validity",
            format!(
                "{} → {} ({} days left)",
                rfc3339(i.not_before),
                rfc3339(i.not_after),
                cert.days_left
            ),
        );
        row(
            "SANs",
            if i.subject_alt_names.is_empty() {
                "(none)".into()
            } else {
                i.subject_alt_names
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        );
        row(
            "key usage",
            i.key_usage
                .as_ref()
                .map_or("(no extension)".into(), |k| k.join(", ")),
        );
        row(
            "extended usage",
            if i.extended_key_usage.is_none() {
                "(no extension)".into()
            } else {
                i.eku_names().join(", ")
            },
        );
        row(
            "basic constraints",
            if i.is_ca {
                format!(
                    "CA{}",
                    i.path_len
                        .map(|p| format!(", pathlen {p}"))
                        .unwrap_or_default()
                )
            } else {
                "not a CA".into()
            },
        );
        row("key", i.key.to_string());
        row("signature", i.signature_algorithm.clone());
        row("SHA-256", i.sha256_fingerprint.clone());
        row("x5t#S256", i.x5t_s256.clone());
    }
    if !report.chain.is_empty() {
        let _ = writeln!(out, "\n{}", paint(color, BOLD, "Chain certificates"));
        for c in &report.chain {
            let _ = writeln!(
                out,
                "  {}  (issued by {}, {} days left)",
                c.info.display_name(),
                c.info.issuer_display_name(),
                c.days_left
            );
        }
    }
    if let Some(path) = &report.path {
        let _ = writeln!(out, "\n  {:<18} {}", "verified path", path.join(" → "));
    }
    let fails = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .count();
    let warns = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Warn)
        .count();
    let verdict = if fails == 0 {
        paint(color, GREEN, "OK")
    } else {
        paint(color, RED, "NOT OK")
    };
    let _ = writeln!(
        out,
        "\n{verdict}: {fails} failure{}, {warns} warning{}",
        if fails == 1 { "" } else { "s" },
        if warns == 1 { "" } else { "s" }
    );
    out
}

/// The certificate files beside the CA file (`*.crt`, `*.pem`, `*.cer`), other
/// than those given: where `check` looks for an intermediate that is missing
/// from the chain, to name the file that holds it. Never trusted for the
/// verdict. Bounded: the first 64 by name, each at most 256 KiB.
fn nearby_certificates(ca: &Path, given: &[&Path]) -> Vec<(String, Vec<u8>)> {
    const MAX_FILES: usize = 64;
    const MAX_BYTES: u64 = 256 * 1024;
    let dir = match ca.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e, "crt" | "pem" | "cer"))
        })
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() <= MAX_BYTES))
        .filter(|p| !given.iter().any(|g| same(p, g)))
        .collect();
    paths.sort();
    paths.truncate(MAX_FILES);
    let shown = |p: &Path| match ca.parent() {
        Some(d) if !d.as_os_str().is_empty() => p.display().to_string(),
        _ => p.strip_prefix(".").unwrap_or(p).display().to_string(),
    };
    paths
        .iter()
        .filter_map(|p| std::fs::read(p).ok().map(|b| (shown(p), b)))
        .collect()
}
