//! What a pasted trust store is and what is wrong with it, before it is
//! saved: each certificate parsed, the findings `certbound check` gives for
//! it (run by the same code: expired, not yet valid, wrong EKU, keyUsage, weak
//! key or signature), and the problems the registry's validation finds (a
//! block that is neither a CA nor self-signed, a CA without a subject
//! constraint, bad fields). Errors block saving; warnings do not. A client
//! with keys for `private_key_jwt` needs no trust store: an empty one is then
//! no failure.

use certbound_oauth::client::{ClientApplication, MAX_TRUST_STORE_LEN, Policy, RESOURCE_TYPE};
use certbound_pki::bundle::pem_blocks;
use certbound_pki::chain::Usage;
use certbound_pki::check::{self, CheckInput, DEFAULT_WARN_DAYS, Named, Status};
use certbound_pki::inspect::{CertInfo, TrustRole};
use certbound_pki::time_fmt;
use serde::Serialize;
use time::OffsetDateTime;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Blocks saving.
    Error,
    Warning,
    Info,
    Pass,
}

impl Severity {
    pub fn word(self) -> &'static str {
        match self {
            Severity::Error => "Error",
            Severity::Warning => "Warning",
            Severity::Info => "Info",
            Severity::Pass => "Pass",
        }
    }

    pub fn class(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
            Severity::Pass => "pass",
        }
    }
}

/// One finding about one certificate.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// The `certbound check` id (validity, purpose, key-usage, strength,
    /// self-signed), or `trust-store` for the registry's own rules.
    pub check: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// What a certificate is to the trust store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Authenticates the certificates it issues.
    Ca,
    /// Authenticates exactly itself.
    SelfSigned,
    /// Neither: it does not belong in a trust store.
    Leaf,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Ca => "CA",
            Kind::SelfSigned => "self-signed",
            Kind::Leaf => "leaf",
        }
    }
}

/// One certificate of the trust store, described.
#[derive(Debug, Clone, Serialize)]
pub struct CertReport {
    /// 1-based position among the PEM blocks.
    pub index: usize,
    /// Line of its BEGIN line in the trust store.
    pub line: usize,
    /// Its common name, or the whole subject.
    pub name: String,
    pub kind: Kind,
    pub self_signed: bool,
    pub subject: String,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
    /// Negative once expired.
    pub days_left: i64,
    /// EKU names; `None` when the extension is absent (any purpose).
    pub extended_key_usage: Option<Vec<String>>,
    pub key: String,
    pub signature_algorithm: String,
    pub sha256_fingerprint: String,
    #[serde(rename = "x5t#S256")]
    pub x5t_s256: String,
    pub findings: Vec<Finding>,
}

impl CertReport {
    /// "'partner'", as messages name it.
    pub fn title(&self) -> String {
        format!("'{}'", self.name)
    }

    fn worst_validity(&self) -> Option<Severity> {
        self.findings
            .iter()
            .find(|f| {
                f.check == "validity" && matches!(f.severity, Severity::Error | Severity::Warning)
            })
            .map(|f| f.severity)
    }
}

/// A problem with the whole client (or one field), for the summary.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// The form field concerned (`certificateTrustStore`, `name`, ...).
    pub field: &'static str,
    /// The certificate concerned (its index), when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<usize>,
    pub message: String,
}

impl Problem {
    pub fn field(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            certificate: None,
            message: message.into(),
        }
    }
}

/// The whole diagnosis.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Diagnosis {
    /// No error: saving may proceed.
    pub can_save: bool,
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
    pub certificates: Vec<CertReport>,
    /// Whether the trust store field is empty.
    pub empty: bool,
    /// Whether the client has keys (`jwks` or `jwks_uri`) for
    /// `private_key_jwt`: it then needs no trust store.
    pub keys: bool,
    /// A UDAP client's registration: it authenticates with a certificate of
    /// its community and needs neither.
    pub udap: Option<certbound_oauth::client::UdapRegistration>,
}

impl Diagnosis {
    /// One line for a status region: "2 certificates: 1 error, no warnings".
    pub fn status(&self) -> String {
        if self.empty && self.errors.is_empty() {
            if let Some(u) = &self.udap {
                return format!(
                    "No certificate: the client registered by UDAP as {} in community {}, and authenticates with that community's certificates (x5c).",
                    u.uri, u.community
                );
            }
            return if self.keys {
                "No certificate: the client authenticates with its keys (private_key_jwt)."
                    .to_string()
            } else {
                "No certificate pasted yet.".to_string()
            };
        }
        let n = self.certificates.len();
        let count = |k: usize, one: &str, many: &str| match k {
            0 => format!("no {many}"),
            1 => format!("1 {one}"),
            k => format!("{k} {many}"),
        };
        format!(
            "{}: {}, {}{}",
            count(n, "certificate", "certificates"),
            count(self.errors.len(), "error", "errors"),
            count(self.warnings.len(), "warning", "warnings"),
            if self.can_save {
                "."
            } else {
                " — saving is blocked."
            }
        )
    }
}

/// The name a form field has on the page.
pub fn field_label(field: &str) -> &'static str {
    match field {
        "name" => "Name",
        "id" => "Client id",
        "certificateTrustStore" => "Certificate trust store",
        "tls_client_auth_subject_dn" => "Subject DN",
        "tls_client_auth_san_dns" => "SAN DNS name",
        "tls_client_auth_san_uri" => "SAN URI",
        "tls_client_auth_san_ip" => "SAN IP address",
        "tls_client_auth_san_email" => "SAN e-mail address",
        "constraint_type" => "Subject constraint",
        "scope" => "Scopes",
        "access_token_lifetime" | "accessTokenLifetime" => "Token lifetime",
        "jwks_uri" | "jwksUri" => "JWKS URL",
        "jwks" => "JWKS (JSON)",
        "tls_client_certificate_bound_access_tokens" => "Bound tokens only",
        "status" => "Status",
        "client_secret" => "Client secret",
        "version" => "Version",
        _ => "Client",
    }
}

/// Diagnose `app` as it would be saved; `form_errors` are problems the form
/// itself found (a lifetime that is not a number, a JWKS that is not JSON),
/// which replace validation's own messages on the same field.
pub fn diagnose(
    app: &ClientApplication,
    form_errors: Vec<Problem>,
    policy: Policy,
    now: OffsetDateTime,
) -> Diagnosis {
    // validate() trims the trust store before numbering lines: do the same so
    // its messages ("block 2 (line 12)") name the same blocks.
    let pem = app.certificate_trust_store.as_deref().unwrap_or("").trim();
    let form_fields: Vec<&str> = form_errors.iter().map(|p| p.field).collect();
    let mut d = Diagnosis {
        empty: pem.is_empty(),
        keys: app.jwks.is_some() || app.jwks_uri.is_some(),
        udap: app.udap.clone(),
        errors: form_errors,
        ..Diagnosis::default()
    };
    if !pem.is_empty() && pem.len() <= MAX_TRUST_STORE_LEN {
        if let Ok(blocks) = pem_blocks(pem.as_bytes()) {
            for b in blocks.iter().filter(|b| b.label == "CERTIFICATE") {
                if let Ok(info) = CertInfo::from_der(&b.der) {
                    d.certificates
                        .push(report(b.index, b.line, &b.der, &info, now));
                }
            }
        }
    }
    for c in &d.certificates {
        for f in c.findings.iter().filter(|f| f.severity == Severity::Error) {
            let title = c.title();
            let message = if f.message.contains(&title) {
                f.message.clone()
            } else {
                format!("{title}: {}", f.message)
            };
            d.errors.push(Problem {
                field: "certificateTrustStore",
                certificate: Some(c.index),
                message,
            });
        }
    }
    let errors = match app.validate(policy, now) {
        Ok(_) => Vec::new(),
        Err(e) => e.0,
    };
    for e in errors
        .into_iter()
        .filter(|e| !form_fields.contains(&e.field))
    {
        let at = if e.field == "certificateTrustStore" {
            block_of(&e.message, &d.certificates)
        } else {
            None
        };
        if let Some(i) = at {
            d.certificates[i]
                .findings
                .push(finding(Severity::Error, &e.message));
        }
        d.errors.push(Problem {
            field: e.field,
            certificate: at.map(|i| d.certificates[i].index),
            message: e.message,
        });
    }
    for w in trust_store_warnings(app, policy, now) {
        let at = block_of(&w, &d.certificates);
        if let Some(i) = at {
            // `check` already says it, in more detail.
            if d.certificates[i].worst_validity().is_some() {
                continue;
            }
            d.certificates[i]
                .findings
                .push(finding(Severity::Warning, &w));
        }
        d.warnings.push(Problem {
            field: "certificateTrustStore",
            certificate: at.map(|i| d.certificates[i].index),
            message: w,
        });
    }
    for c in &d.certificates {
        for f in c
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Warning && f.check != "trust-store")
        {
            d.warnings.push(Problem {
                field: "certificateTrustStore",
                certificate: Some(c.index),
                message: format!("{}: {}", c.title(), f.message),
            });
        }
    }
    d.can_save = d.errors.is_empty();
    d
}

/// The registry's warnings about the trust store alone. Validation returns
/// warnings only when every field is valid, so the other fields are set
/// aside: a CA without a constraint is worth a warning before a name is typed.
fn trust_store_warnings(
    app: &ClientApplication,
    policy: Policy,
    now: OffsetDateTime,
) -> Vec<String> {
    let mut probe = app.clone();
    probe.resource_type = RESOURCE_TYPE.to_string();
    probe.id = None;
    probe.name = "probe".to_string();
    probe.scope = None;
    probe.access_token_lifetime = None;
    probe.access_token_lifetime_text = None;
    probe.jwks = None;
    probe.jwks_uri = None;
    probe.tls_client_certificate_bound_access_tokens = None;
    probe.client_secret_hash = None;
    probe
        .validate(policy, now)
        .map(|v| v.warnings)
        .unwrap_or_default()
}

/// Which certificate a validation message is about: its "block N (line L)".
fn block_of(message: &str, certs: &[CertReport]) -> Option<usize> {
    certs
        .iter()
        .position(|c| message.contains(&format!("block {} (line {})", c.index, c.line)))
}

fn finding(severity: Severity, message: &str) -> Finding {
    Finding {
        severity,
        check: "trust-store".to_string(),
        message: message.to_string(),
        hint: None,
    }
}

fn report(
    index: usize,
    line: usize,
    der: &[u8],
    info: &CertInfo,
    now: OffsetDateTime,
) -> CertReport {
    let role = info.trust_role();
    let kind = match role {
        TrustRole::Ca | TrustRole::PinnedCa => Kind::Ca,
        TrustRole::Pinned => Kind::SelfSigned,
        TrustRole::Neither => Kind::Leaf,
    };
    let name = info.display_name().to_string();
    let title = format!("'{name}'");
    // A CA in a trust store is not itself a client certificate: check it for any use.
    let usage = if role.vouches() {
        Usage::Any
    } else {
        Usage::Client
    };
    let checked = check::run(&CheckInput {
        cert: Named {
            name: &title,
            bytes: der,
        },
        key: None,
        ca: None,
        chain: None,
        usage,
        host: None,
        now,
        warn_days: DEFAULT_WARN_DAYS,
        nearby: &[],
    });
    let mut findings: Vec<Finding> = checked
        .checks
        .into_iter()
        .filter(|c| c.status != Status::Skip && !(c.id == "parse" && c.status == Status::Pass))
        .map(|c| {
            let severity = match c.status {
                Status::Fail => Severity::Error,
                Status::Warn => Severity::Warning,
                Status::Info => Severity::Info,
                Status::Pass | Status::Skip => Severity::Pass,
            };
            Finding {
                severity,
                check: c.id.to_string(),
                message: c.message,
                // Hints of passing checks are about command-line flags.
                hint: matches!(severity, Severity::Error | Severity::Warning)
                    .then_some(c.hint)
                    .flatten(),
            }
        })
        .collect();
    if kind == Kind::Ca {
        findings.push(Finding {
            severity: Severity::Info,
            check: "trust-store".to_string(),
            message: "a CA certificate: every client certificate it issues (that meets the subject constraint, when one is set) authenticates as this client".to_string(),
            hint: None,
        });
    }
    CertReport {
        index,
        line,
        name,
        kind,
        self_signed: info.self_signed,
        subject: info.subject.clone(),
        issuer: info.issuer.clone(),
        not_before: time_fmt::rfc3339(info.not_before),
        not_after: time_fmt::rfc3339(info.not_after),
        days_left: time_fmt::days_between(now, info.not_after),
        extended_key_usage: info.extended_key_usage.as_ref().map(|_| info.eku_names()),
        key: info.key.to_string(),
        signature_algorithm: info.signature_algorithm.clone(),
        sha256_fingerprint: info.sha256_fingerprint.clone(),
        x5t_s256: info.x5t_s256.clone(),
        findings,
    }
}
