//! The text output of `certbound client`: what a registration says in words.
//! Everything is computed from the resource as the admin API shows it, so
//! the local and the `--server` modes print the same: the trust store is
//! decoded (subject, CA or self-signed, expiry with days left, x5t#S256),
//! the auth method derived from it, and warnings recomputed with the
//! server's own validation when the resource does not carry them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use certbound_oauth::client::{ClientApplication, Policy};
use certbound_pki::CertInfo;
use certbound_pki::bundle::pem_blocks;
use certbound_pki::inspect::TrustRole;
use certbound_pki::time_fmt::{date, days_between, rfc3339};
use serde_json::Value;
use time::OffsetDateTime;

use crate::style::{BOLD, YELLOW, paint};

/// What `add` knows beyond the resource, for the ready-to-paste lines.
#[derive(Debug)]
pub struct Hints<'a> {
    pub token_url: Option<String>,
    pub server_ca: Option<PathBuf>,
    pub trust_store: Option<&'a Path>,
    pub secret_file: Option<&'a Path>,
}

/// The constraint fields of RFC 8705 §2.1.2, in the order they are shown.
const CONSTRAINTS: [&str; 5] = [
    "tls_client_auth_subject_dn",
    "tls_client_auth_san_dns",
    "tls_client_auth_san_uri",
    "tls_client_auth_san_ip",
    "tls_client_auth_san_email",
];

/// Fields shown by name; any other is listed under "other fields".
const KNOWN: [&str; 11] = [
    "resourceType",
    "id",
    "name",
    "status",
    "certificateTrustStore",
    "scope",
    "access_token_lifetime",
    "meta",
    "hasSecret",
    "warnings",
    "client_secret_hash",
];

/// A resource, decoded.
#[derive(Debug)]
struct Summary {
    id: String,
    name: String,
    method: &'static str,
    certs: Vec<CertInfo>,
    /// Blocks of the trust store that could not be read.
    unreadable: Vec<String>,
    warnings: Vec<String>,
    /// Validation errors of a stored client (written by hand, or by an older version).
    problems: Vec<String>,
    has_secret: bool,
}

fn text<'a>(resource: &'a Value, key: &str) -> Option<&'a str> {
    resource[key].as_str().filter(|s| !s.trim().is_empty())
}

fn summarize(resource: &Value, now: OffsetDateTime) -> Summary {
    let has_secret = resource["hasSecret"] == true;
    let (certs, unreadable) = decode(text(resource, "certificateTrustStore").unwrap_or(""));
    let mut doc = resource.clone();
    if let Some(obj) = doc.as_object_mut() {
        for k in ["meta", "hasSecret", "warnings"] {
            obj.remove(k);
        }
    }
    let (mut warnings, mut problems) = (Vec::new(), Vec::new());
    match serde_json::from_value::<ClientApplication>(doc) {
        Ok(mut app) => {
            if has_secret {
                // The hash itself is never shown; validation only asks whether there is one.
                app.client_secret_hash = Some("(stored)".into());
            }
            match app.validate(Policy::default(), now) {
                Ok(v) => warnings = v.warnings,
                Err(e) => {
                    problems =
                        e.0.iter()
                            .map(|f| format!("{}: {}", f.field, f.message))
                            .collect();
                }
            }
        }
        Err(e) => problems.push(format!("not a ClientApplication: {e}")),
    }
    if let Some(given) = resource["warnings"].as_array() {
        warnings = given
            .iter()
            .filter_map(|w| w.as_str().map(str::to_string))
            .collect();
    }
    let ca = certs.iter().any(|c| c.trust_role().vouches());
    let exact = certs.iter().any(|c| c.trust_role() == TrustRole::Pinned);
    let method = match (ca, exact, has_secret) {
        (true, true, _) => "tls_client_auth, self_signed_tls_client_auth",
        (true, false, _) => "tls_client_auth",
        (false, true, _) => "self_signed_tls_client_auth",
        (false, false, true) => "client_secret_basic, client_secret_post",
        (false, false, false) => "none",
    };
    Summary {
        id: text(resource, "id").unwrap_or("?").to_string(),
        name: resource["name"].as_str().unwrap_or("").to_string(),
        method,
        certs,
        unreadable,
        warnings,
        problems,
        has_secret,
    }
}

/// The certificates of a trust store, and the blocks that could not be read.
fn decode(pem: &str) -> (Vec<CertInfo>, Vec<String>) {
    let (mut certs, mut unreadable) = (Vec::new(), Vec::new());
    if pem.trim().is_empty() {
        return (certs, unreadable);
    }
    match pem_blocks(pem.as_bytes()) {
        Ok(blocks) => {
            for b in blocks {
                if b.label != "CERTIFICATE" {
                    unreadable.push(format!(
                        "block {} (line {}) is a {}",
                        b.index, b.line, b.label
                    ));
                    continue;
                }
                match CertInfo::from_der(&b.der) {
                    Ok(info) => certs.push(info),
                    Err(e) => unreadable.push(format!("block {} (line {}): {e}", b.index, b.line)),
                }
            }
        }
        Err(e) => unreadable.push(e.to_string()),
    }
    (certs, unreadable)
}

/// "expires 2026-07-01 (30 days left)" or "expired 2026-01-03 (41 days ago)".
fn expiry(now: OffsetDateTime, not_after: OffsetDateTime) -> String {
    let days = days_between(now, not_after);
    if not_after < now {
        format!("expired {} ({} days ago)", date(not_after), -days)
    } else {
        format!("expires {} ({days} days left)", date(not_after))
    }
}

fn kind(c: &CertInfo) -> &'static str {
    match c.trust_role() {
        TrustRole::Neither => "neither a CA nor self-signed",
        role => role.label(),
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// The key lines of a client, shared by `add` and `show`.
fn fields(out: &mut String, s: &Summary, resource: &Value) {
    let row = |out: &mut String, k: &str, v: &str| {
        let _ = writeln!(out, "  {k:<15} {v}");
    };
    row(out, "name", &s.name);
    if let Some(status) = text(resource, "status").filter(|s| *s != "active") {
        row(
            out,
            "status",
            &format!(
                "{status}: refused everywhere, its tokens too (`certbound client enable {}`)",
                s.id
            ),
        );
    }
    row(out, "auth method", s.method);
    let constraint = CONSTRAINTS
        .iter()
        .filter_map(|k| text(resource, k).map(|v| format!("{k} = {v}")))
        .collect::<Vec<_>>();
    if !constraint.is_empty() {
        row(out, "constraint", &constraint.join("; "));
    } else if s.certs.iter().any(|c| c.trust_role().vouches()) {
        row(
            out,
            "constraint",
            "none: any certificate the CA issues is accepted",
        );
    }
    row(out, "scope", text(resource, "scope").unwrap_or("any"));
    let lifetime = resource["access_token_lifetime"]
        .as_u64()
        .map_or_else(|| "the server's default".to_string(), |l| format!("{l} s"));
    row(out, "token lifetime", &lifetime);
    if s.has_secret {
        row(out, "secret", "set (stored as a hash)");
    }
}

fn warnings(out: &mut String, s: &Summary, color: bool) {
    for w in &s.warnings {
        let _ = writeln!(out, "{} {w}", paint(color, YELLOW, "warning:"));
    }
    if !s.problems.is_empty() {
        let _ = writeln!(
            out,
            "{} the server would refuse this client as it is stored:",
            paint(color, YELLOW, "invalid:")
        );
        for p in &s.problems {
            let _ = writeln!(out, "  {p}");
        }
    }
}

fn cert_block(out: &mut String, i: usize, c: &CertInfo, now: OffsetDateTime, full: bool) {
    let mut line = format!("{}, {}", kind(c), expiry(now, c.not_after));
    if full {
        let _ = writeln!(out, "    {}. subject   {}", i + 1, c.subject);
        let _ = writeln!(out, "       kind      {line}");
        let _ = writeln!(out, "       issuer    {}", c.issuer);
        let _ = writeln!(
            out,
            "       validity  {} → {}",
            rfc3339(c.not_before),
            rfc3339(c.not_after)
        );
        if !c.subject_alt_names.is_empty() {
            let sans: Vec<String> = c
                .subject_alt_names
                .iter()
                .map(ToString::to_string)
                .collect();
            let _ = writeln!(out, "       SANs      {}", sans.join(", "));
        }
        let _ = writeln!(
            out,
            "       key       {}, signed {}",
            c.key, c.signature_algorithm
        );
        let _ = writeln!(out, "       SHA-256   {}", c.sha256_fingerprint);
    } else {
        if c.trust_role() == TrustRole::Neither {
            line.push_str(&format!(" (issued by {})", c.issuer));
        }
        let _ = writeln!(out, "    {}. {}", i + 1, c.subject);
        let _ = writeln!(out, "       {line}");
    }
    if full || c.trust_role() == TrustRole::Pinned {
        let _ = writeln!(out, "       x5t#S256  {}", c.x5t_s256);
    }
}

fn trust_store(out: &mut String, s: &Summary, now: OffsetDateTime, full: bool) {
    if s.certs.is_empty() && s.unreadable.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "  {:<15} {}",
        "trust store",
        plural(s.certs.len(), "certificate")
    );
    for (i, c) in s.certs.iter().enumerate() {
        cert_block(out, i, c, now, full);
    }
    for u in &s.unreadable {
        let _ = writeln!(out, "    unreadable: {u}");
    }
}

/// What `add` prints: the id, the trust store, warnings, and how to get a token.
pub fn added(resource: &Value, hints: &Hints<'_>, now: OffsetDateTime, color: bool) -> String {
    let s = summarize(resource, now);
    let mut out = String::new();
    let _ = writeln!(out, "{} {}", paint(color, BOLD, "registered client"), s.id);
    let _ = writeln!(out, "  {:<15} {}", "id", s.id);
    fields(&mut out, &s, resource);
    trust_store(&mut out, &s, now, false);
    warnings(&mut out, &s, color);
    let url = hints
        .token_url
        .clone()
        .unwrap_or_else(|| "https://AUTH-SERVER/oauth2/token".to_string());
    let ca = hints
        .server_ca
        .as_ref()
        .map_or_else(|| "SERVER-CA.crt".to_string(), |p| p.display().to_string());
    let id = &s.id;
    if s.has_secret {
        let _ = writeln!(out, "\nGet a token:");
        let secret = hints
            .secret_file
            .map_or_else(|| "SECRET-FILE".to_string(), |p| p.display().to_string());
        let _ = writeln!(
            out,
            "  curl -u \"{id}:$(cat {secret})\" --cacert {ca} -d grant_type=client_credentials {url}"
        );
        return out;
    }
    // A single self-signed certificate is the client's own: name its files.
    let own = (s.certs.len() == 1 && s.certs[0].trust_role() == TrustRole::Pinned)
        .then_some(hints.trust_store)
        .flatten();
    let (cert, key) = match own {
        Some(path) => {
            let key = path.with_extension("key");
            let key = if key.is_file() {
                key.display().to_string()
            } else {
                "CLIENT.key".to_string()
            };
            (path.display().to_string(), key)
        }
        None => ("CLIENT.crt".to_string(), "CLIENT.key".to_string()),
    };
    let _ = writeln!(out, "\nGet a token (from the server's mTLS listener):");
    let _ = writeln!(
        out,
        "  certbound token --token-url {url} --client-id {id} --cert {cert} --key {key} --ca {ca} --claims"
    );
    let _ = writeln!(
        out,
        "  curl --cert {cert} --key {key} --cacert {ca} -d grant_type=client_credentials -d client_id={id} {url}"
    );
    if own.is_none() {
        let _ = writeln!(
            out,
            "  (CLIENT.crt: a client certificate the trust store's CA issued{}, with its chain)",
            if s.method.contains("self_signed") {
                ", or one of its self-signed certificates"
            } else {
                ""
            }
        );
    }
    out
}

/// What `show` prints: every field, the trust store decoded in full.
pub fn resource(resource: &Value, now: OffsetDateTime, color: bool) -> String {
    let s = summarize(resource, now);
    let mut out = String::new();
    let _ = writeln!(out, "{} {}", paint(color, BOLD, "client"), s.id);
    fields(&mut out, &s, resource);
    if let Some(version) = resource["meta"]["versionId"].as_str() {
        let _ = writeln!(
            out,
            "  {:<15} {version}, updated {}",
            "version",
            resource["meta"]["lastUpdated"].as_str().unwrap_or("?")
        );
    }
    if let Some(obj) = resource.as_object() {
        for (k, v) in obj {
            if !KNOWN.contains(&k.as_str()) && !CONSTRAINTS.contains(&k.as_str()) {
                let _ = writeln!(out, "  {k:<15} {v}");
            }
        }
    }
    trust_store(&mut out, &s, now, true);
    warnings(&mut out, &s, color);
    out
}

/// What `list` prints: one row per client.
pub fn table(resources: &[Value], now: OffsetDateTime, name: Option<&str>) -> String {
    if resources.is_empty() {
        return match name {
            Some(n) => format!("no client named '{n}' is registered\n"),
            None => "no clients are registered\n".to_string(),
        };
    }
    let header = ["ID", "NAME", "AUTH", "CERTS", "EARLIEST EXPIRY", "WARNINGS"];
    let rows: Vec<[String; 6]> = resources
        .iter()
        .map(|r| {
            let s = summarize(r, now);
            let earliest = s.certs.iter().map(|c| c.not_after).min().map_or_else(
                || "-".to_string(),
                |t| {
                    let days = days_between(now, t);
                    if t < now {
                        format!("{} (EXPIRED {} days ago)", date(t), -days)
                    } else {
                        format!("{} ({days} days left)", date(t))
                    }
                },
            );
            let mut warn = (s.warnings.len() + s.problems.len()).to_string();
            if !s.problems.is_empty() {
                warn.push_str(" (invalid)");
            }
            let method = match r["status"].as_str() {
                Some(status) if status != "active" => format!("{} [{status}]", s.method),
                _ => s.method.to_string(),
            };
            [
                s.id,
                s.name,
                method,
                s.certs.len().to_string(),
                earliest,
                warn,
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                l.push_str(cell);
            } else {
                let _ = write!(l, "{cell:<w$}  ");
            }
        }
        let _ = writeln!(out, "{}", l.trim_end());
    };
    line(&header);
    for row in &rows {
        line(&row.each_ref().map(String::as_str));
    }
    out
}
