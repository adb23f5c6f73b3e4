//! `certbound check`: every pre-deployment check of a certificate in one run,
//! each with a verdict (pass / info / warn / fail / skip), a message in plain
//! words and, for warnings and failures, a one-line fix.
//!
//! The runner takes bytes and facts (a key file's mode) and returns a
//! [`Report`]; the CLI reads the files and prints it.

mod certificate;
mod material;
pub mod online;
mod profile;
pub mod revocation;

use serde::Serialize;
use time::OffsetDateTime;

use crate::CertDer;
use crate::chain::Usage;
use crate::inspect::CertInfo;

/// Default for `--warn-days`: warn this many days before expiry.
pub const DEFAULT_WARN_DAYS: u32 = 30;

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    /// Not a problem, but worth knowing.
    Info,
    Warn,
    Fail,
    /// Not run: an input it needs was not given.
    Skip,
}

impl Status {
    /// The word printed in the checklist.
    pub fn word(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Info => "info",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        }
    }
}

/// One line of the checklist.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Stable identifier: parse, validity, purpose, key-usage, key, key-file,
    /// chain, host, strength, self-signed.
    pub id: &'static str,
    pub status: Status,
    pub message: String,
    /// How to fix it (for warn and fail), or how to run it (for skip).
    pub hint: Option<String>,
    /// Profile findings: the section of the standard the finding rests on
    /// ("RFC 5280 §4.2.1.9").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rfc: Option<&'static str>,
    /// Profile findings: `fail` (a MUST that a major verifier enforces) or
    /// `warn` (a SHOULD).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Status>,
    /// Profile findings: the certificate of the chain it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
}

impl Check {
    fn new(id: &'static str, status: Status, message: impl Into<String>) -> Self {
        Self {
            id,
            status,
            message: message.into(),
            hint: None,
            rfc: None,
            severity: None,
            certificate: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// A file handed to the checks: its name (for messages) and content.
#[derive(Debug, Clone, Copy)]
pub struct Named<'a> {
    pub name: &'a str,
    pub bytes: &'a [u8],
}

/// The private key to match, with its file mode when known.
#[derive(Debug, Clone, Copy)]
pub struct KeyFile<'a> {
    pub file: Named<'a>,
    /// Unix permission bits; `None` where the platform has none.
    pub mode: Option<u32>,
}

/// What to check.
#[derive(Debug, Clone)]
pub struct CheckInput<'a> {
    pub cert: Named<'a>,
    pub key: Option<KeyFile<'a>>,
    pub ca: Option<Named<'a>>,
    pub chain: Option<Named<'a>>,
    pub usage: Usage,
    pub host: Option<&'a str>,
    pub now: OffsetDateTime,
    pub warn_days: u32,
    /// Certificate files found near the others (the CLI passes those beside
    /// the CA file): never trusted, only searched when the chain is broken,
    /// to name the file that holds a missing intermediate.
    pub nearby: &'a [Named<'a>],
}

/// The outcome: the checklist and what the certificate says.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// No check failed.
    pub ok: bool,
    pub file: String,
    pub usage: Usage,
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
    pub checks: Vec<Check>,
    /// The leaf certificate, when the file held one.
    pub certificate: Option<Summary>,
    /// Further certificates from the file and `--chain`, in order.
    pub chain: Vec<Summary>,
    /// The verified path, leaf to anchor, when the chain verified.
    pub path: Option<Vec<String>>,
}

/// A certificate's facts plus the days left at the time of the check.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    #[serde(flatten)]
    pub info: CertInfo,
    pub days_left: i64,
}

impl Report {
    /// The first failing check, if any.
    pub fn first_failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| c.status == Status::Fail)
    }
}

/// Run every check.
pub fn run(input: &CheckInput<'_>) -> Report {
    let mut checks = Vec::new();
    let mut report = Report {
        ok: false,
        file: input.cert.name.to_string(),
        usage: input.usage,
        checked_at: whole_seconds(input.now),
        checks: Vec::new(),
        certificate: None,
        chain: Vec::new(),
        path: None,
    };
    let certs = match crate::bundle::parse_certificates(input.cert.bytes) {
        Ok(certs) => certs,
        Err(e) => {
            checks.push(
                Check::new("parse", Status::Fail, format!("{}: {e}", input.cert.name))
                    .hint("give the certificate file (PEM or DER) as CERT"),
            );
            report.checks = checks;
            return report;
        }
    };
    let (leaf_der, in_file) = split_leaf(certs);
    let Ok(leaf) = CertInfo::from_der(&leaf_der) else {
        // parse_certificates has already parsed every certificate.
        checks.push(Check::new(
            "parse",
            Status::Fail,
            "the certificate cannot be read",
        ));
        report.checks = checks;
        return report;
    };
    let mut intermediates = in_file.clone();
    checks.push(Check::new(
        "parse",
        Status::Pass,
        parse_message(input.cert.name, input.cert.bytes, in_file.len()),
    ));
    if let Some(chain) = input.chain {
        match crate::bundle::parse_certificates(chain.bytes) {
            Ok(more) => intermediates.extend(more),
            Err(e) => checks.push(
                Check::new(
                    "parse",
                    Status::Fail,
                    format!("{} (--chain): {e}", chain.name),
                )
                .hint("--chain takes the intermediate certificates as PEM"),
            ),
        }
    }
    let ctx = certificate::Context {
        leaf: &leaf,
        leaf_der: &leaf_der,
        usage: input.usage,
        now: whole_seconds(input.now),
        warn_days: input.warn_days,
    };
    checks.push(certificate::validity(&ctx, input.cert.name));
    checks.push(certificate::purpose(&ctx));
    checks.push(certificate::key_usage(&ctx));
    checks.extend(material::key(input.key, &leaf_der));
    let chain = material::chain(&ctx, input.ca, &intermediates, input.nearby);
    report.path = chain.path;
    checks.push(chain.check);
    checks.push(certificate::host(&ctx, input.host));
    checks.push(certificate::strength(&ctx, &intermediates));
    checks.push(certificate::self_signed(&ctx));
    // The profile of the verified path (with its anchor), or of what was
    // presented when no path was built.
    let linted = match chain.certs {
        Some(path) => path,
        None => presented(&leaf_der, &intermediates),
    };
    checks.extend(profile::check(&linted, &scope(input)));
    see_chain(&mut checks);

    report.ok = !checks.iter().any(|c| c.status == Status::Fail);
    report.checks = checks;
    report.certificate = Some(summary(leaf, input.now));
    report.chain = intermediates
        .iter()
        .filter_map(|c| CertInfo::from_der(c).ok())
        .map(|i| summary(i, input.now))
        .collect();
    report
}

/// One cause, one FAIL line: when the chain failed on a critical extension,
/// the chain line names it (from the profile finding) and the finding says
/// "see chain".
fn see_chain(checks: &mut [Check]) {
    const CRITICAL: [&str; 4] = [
        "critical-extension-unknown",
        "aki-critical",
        "ski-critical",
        "aia-critical",
    ];
    let Some(chain) = checks.iter().position(|c| {
        c.id == "chain" && c.status == Status::Fail && c.message.contains("critical extension")
    }) else {
        return;
    };
    let Some(first) = checks
        .iter()
        .position(|c| CRITICAL.contains(&c.id) && c.status == Status::Fail)
    else {
        return;
    };
    checks[chain].message = format!("does not verify: {}", checks[first].message);
    checks[chain].hint = checks[first].hint.clone();
    for c in checks
        .iter_mut()
        .filter(|c| CRITICAL.contains(&c.id) && c.status == Status::Fail)
    {
        c.status = Status::Skip;
        c.message = format!("see chain ({})", c.message);
        c.hint = None;
    }
}

/// `check --lint-only`: the profile checks alone, on the certificate, the
/// intermediates after it and in `--chain`, and the CA certificates of
/// `--ca` when given; no chain is built, no key or dates are checked.
pub fn lint(input: &CheckInput<'_>) -> Report {
    let mut report = Report {
        ok: false,
        file: input.cert.name.to_string(),
        usage: input.usage,
        checked_at: input.now,
        checks: Vec::new(),
        certificate: None,
        chain: Vec::new(),
        path: None,
    };
    let certs = match crate::bundle::parse_certificates(input.cert.bytes) {
        Ok(certs) => certs,
        Err(e) => {
            report.checks.push(
                Check::new("parse", Status::Fail, format!("{}: {e}", input.cert.name))
                    .hint("give the certificate file (PEM or DER) as CERT"),
            );
            return report;
        }
    };
    let (leaf_der, mut intermediates) = split_leaf(certs);
    report.checks.push(Check::new(
        "parse",
        Status::Pass,
        parse_message(input.cert.name, input.cert.bytes, intermediates.len()),
    ));
    let mut anchors = Vec::new();
    for (file, what, into) in [
        (input.chain, "--chain", &mut intermediates),
        (input.ca, "--ca", &mut anchors),
    ] {
        let Some(file) = file else { continue };
        match crate::bundle::parse_certificates(file.bytes) {
            Ok(more) => into.extend(more),
            Err(e) => report.checks.push(
                Check::new(
                    "parse",
                    Status::Fail,
                    format!("{} ({what}): {e}", file.name),
                )
                .hint(format!("{what} takes certificates as PEM or DER")),
            ),
        }
    }
    let mut linted = presented(&leaf_der, &intermediates);
    linted.extend(anchors.into_iter().map(|a| (a, profile::Role::Anchor)));
    report.checks.extend(profile::check(&linted, &scope(input)));
    report.ok = !report.checks.iter().any(|c| c.status == Status::Fail);
    report.certificate = CertInfo::from_der(&leaf_der)
        .ok()
        .map(|i| summary(i, input.now));
    report.chain = intermediates
        .iter()
        .filter_map(|c| CertInfo::from_der(c).ok())
        .map(|i| summary(i, input.now))
        .collect();
    report
}

/// The leaf and the presented intermediates, for the profile checks when
/// no path was built.
fn presented(leaf: &CertDer, intermediates: &[CertDer]) -> Vec<(CertDer, profile::Role)> {
    std::iter::once((leaf.clone(), profile::Role::Leaf))
        .chain(
            intermediates
                .iter()
                .map(|c| (c.clone(), profile::Role::Presented)),
        )
        .collect()
}

fn scope<'a>(input: &CheckInput<'a>) -> profile::Scope<'a> {
    profile::Scope {
        usage: input.usage,
        host: input.host,
    }
}

/// `now` at the precision of a certificate's times: X.509 encodes whole
/// seconds (RFC 5280 §4.1.2.5), so 23:59:59.7 is still 23:59:59, within a
/// certificate valid until then.
fn whole_seconds(now: OffsetDateTime) -> OffsetDateTime {
    now.replace_nanosecond(0).unwrap_or(now)
}

fn summary(info: CertInfo, now: OffsetDateTime) -> Summary {
    let days_left = crate::time_fmt::days_between(now, info.not_after);
    Summary { info, days_left }
}

/// The first certificate is the leaf; the rest are intermediates.
fn split_leaf(mut certs: Vec<CertDer>) -> (CertDer, Vec<CertDer>) {
    let rest = certs.split_off(1);
    // parse_certificates never returns an empty list.
    let leaf = certs
        .pop()
        .unwrap_or_else(|| rustls_pki_types::CertificateDer::from(Vec::new()));
    (leaf, rest)
}

fn parse_message(name: &str, bytes: &[u8], extra: usize) -> String {
    let format = if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        "PEM"
    } else {
        "DER"
    };
    match extra {
        0 => format!("{name}: {format}, one certificate"),
        1 => format!(
            "{name}: {format}, the certificate followed by 1 more (used as an intermediate)"
        ),
        n => format!(
            "{name}: {format}, the certificate followed by {n} more (used as intermediates)"
        ),
    }
}

#[cfg(test)]
mod tests;
