//! The diagnostics panel of the client form, rendered the same for the page
//! (no JavaScript) and for the JSON endpoint that the page's script calls as
//! the operator types.

use maud::{Markup, html};

use super::diagnose::{CertReport, Diagnosis, Kind, Problem, Severity, field_label};

/// "365 days left", "expired 41 days ago".
pub(super) fn days_left(days: i64) -> String {
    match days {
        d if d < -1 => format!("expired {} days ago", -d),
        -1 => "expired 1 day ago".to_string(),
        0 => "expires within a day".to_string(),
        1 => "1 day left".to_string(),
        d => format!("{d} days left"),
    }
}

/// The class of a days-left figure: error once expired, warning within `warn`.
pub(super) fn days_class(days: i64, warn: i64) -> &'static str {
    if days < 0 {
        "error"
    } else if days < warn {
        "warning"
    } else {
        "pass"
    }
}

/// The date part of an RFC 3339 time, in a `<time>` element.
pub(super) fn date(rfc3339: &str) -> Markup {
    let day = rfc3339.get(..10).unwrap_or(rfc3339);
    html! { time datetime=(rfc3339) { (day) } }
}

/// The id of the element a field's problems link to: the constraint fields
/// share the chooser's value input; a field's other name (`jwksUri`,
/// `accessTokenLifetime`) leads to the input that sets it.
pub(super) fn field_anchor(field: &str) -> String {
    match field {
        f if f.starts_with("tls_client_auth_") || f == "constraint_type" => {
            "#f-constraint_value".to_string()
        }
        "jwksUri" => "#f-jwks_uri".to_string(),
        "accessTokenLifetime" => "#f-access_token_lifetime".to_string(),
        f => format!("#f-{f}"),
    }
}

/// Where a problem's link leads, and its label: its certificate, or its field.
pub(super) fn problem_target(p: &Problem) -> (String, String) {
    match p.certificate {
        Some(i) => (format!("#cert-{i}"), format!("Certificate {i}")),
        None => (field_anchor(p.field), field_label(p.field).to_string()),
    }
}

/// A list of problems, each linking to what it is about.
pub(super) fn problem_list<'a>(problems: impl IntoIterator<Item = &'a Problem>) -> Markup {
    html! {
        ul {
            @for p in problems {
                @let (href, label) = problem_target(p);
                li { a href=(href) { (label) } ": " (p.message) }
            }
        }
    }
}

/// The panel's content below its heading and status line.
pub(super) fn body(d: &Diagnosis) -> Markup {
    html! {
        @if !d.errors.is_empty() {
            div.summary.error { h3 { "Saving is blocked" } (problem_list(&d.errors)) }
        }
        @if !d.warnings.is_empty() {
            div.summary.warning {
                h3 { "Warnings " span.aside { "(saving is allowed)" } }
                (problem_list(&d.warnings))
            }
        }
        @if let (true, Some(u)) = (d.empty, &d.udap) {
            p.hint {
                "This client registered itself by UDAP as " (u.uri) " in community " (u.community)
                ": it authenticates with a certificate of that community (x5c), so it needs no trust store. \
                 Registering again (the same URI) updates it; setting it off keeps it off."
            }
        } @else if d.empty && d.keys {
            p.hint {
                "This client authenticates with its keys (private_key_jwt), so it needs no trust store. \
                 Certificates pasted into the trust store field are shown here, parsed and checked."
            }
        } @else if d.empty {
            p.hint {
                "Paste the client's certificate(s) in PEM into the trust store field: each is shown here, \
                 parsed and checked, before anything is saved."
            }
        } @else if d.certificates.is_empty() {
            p.hint { "No certificate could be read from the trust store." }
        }
        @for c in &d.certificates { (cert(c)) }
    }
}

fn cert(c: &CertReport) -> Markup {
    let i = c.index;
    let worst = c
        .findings
        .iter()
        .map(|f| f.severity)
        .min_by_key(|s| *s as u8)
        .unwrap_or(Severity::Pass);
    let role = match c.kind {
        Kind::Ca if c.self_signed => "CA certificate (self-signed root)",
        Kind::Ca => "CA certificate (intermediate)",
        Kind::SelfSigned => "self-signed leaf: authenticates exactly this certificate",
        Kind::Leaf => "leaf issued by a CA: it does not belong in a trust store",
    };
    let ekus = match &c.extended_key_usage {
        None => "none (any purpose)".to_string(),
        Some(list) if list.is_empty() => "empty".to_string(),
        Some(list) => list.join(", "),
    };
    html! {
        article class={ "cert " (worst.class()) } id={ "cert-" (i) } aria-labelledby={ "cert-" (i) "-title" } {
            h3 id={ "cert-" (i) "-title" } {
                "Certificate " (i) ": " (c.name) " "
                span class={ "badge " (c.kind.label().replace(' ', "-")) } { (c.kind.label()) }
            }
            dl.facts {
                dt { "Subject" } dd { (c.subject) }
                dt { "Issuer" } dd { (c.issuer) }
                dt { "Valid" }
                dd {
                    (date(&c.not_before)) " to " (date(&c.not_after)) " "
                    span class={ "days " (days_class(c.days_left, 30)) } { "(" (days_left(c.days_left)) ")" }
                }
                dt { "Type" } dd { (role) }
                dt { "Extended key usage" } dd { (ekus) }
                dt { "Key" } dd { (c.key) ", signed with " (c.signature_algorithm) }
                dt { "SHA-256" } dd { code.fingerprint { (c.sha256_fingerprint) } }
                dt { "x5t#S256" } dd { code.fingerprint { (c.x5t_s256) } }
            }
            h4.findings-title { "Findings " span.aside { "(as " code { "certbound check" } ")" } }
            ul.findings {
                @for f in &c.findings {
                    li class={ "finding " (f.severity.class()) } {
                        span.sev { (f.severity.word()) } " "
                        span.check { (f.check) } " "
                        span.msg { (f.message) }
                        @if let Some(h) = &f.hint { span.fix { "Fix: " (h) } }
                    }
                }
            }
        }
    }
}
