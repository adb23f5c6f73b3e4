//! The diagnostics panel of the client form, rendered the same for the page
//! (no JavaScript) and for the JSON endpoint that the page's script calls as
//! the operator types.

use std::fmt::Write as _;

use super::diagnose::{CertReport, Diagnosis, Problem, Severity, field_label};
use super::html::esc;

/// "365 days left", "expired 41 days ago".
pub fn days_left(days: i64) -> String {
    match days {
        d if d < -1 => format!("expired {} days ago", -d),
        -1 => "expired 1 day ago".to_string(),
        0 => "expires within a day".to_string(),
        1 => "1 day left".to_string(),
        d => format!("{d} days left"),
    }
}

/// The date part of an RFC 3339 time, in a `<time>` element.
pub fn date(rfc3339: &str) -> String {
    let day = rfc3339.get(..10).unwrap_or(rfc3339);
    format!("<time datetime=\"{}\">{}</time>", esc(rfc3339), esc(day))
}

/// Where a problem's link leads: its certificate, or its field.
fn anchor(p: &Problem) -> String {
    match p.certificate {
        Some(i) => format!("#cert-{i}"),
        None => format!("#f-{}", p.field),
    }
}

fn problem_list(out: &mut String, problems: &[Problem]) {
    out.push_str("<ul>");
    for p in problems {
        let label = match p.certificate {
            Some(i) => format!("Certificate {i}"),
            None => field_label(p.field).to_string(),
        };
        let _ = write!(
            out,
            "<li><a href=\"{}\">{}</a>: {}</li>",
            esc(&anchor(p)),
            esc(&label),
            esc(&p.message)
        );
    }
    out.push_str("</ul>");
}

/// The panel's content below its heading and status line.
pub fn body(d: &Diagnosis) -> String {
    let mut out = String::new();
    if !d.errors.is_empty() {
        out.push_str("<div class=\"summary error\"><h3>Saving is blocked</h3>");
        problem_list(&mut out, &d.errors);
        out.push_str("</div>");
    }
    if !d.warnings.is_empty() {
        out.push_str("<div class=\"summary warning\"><h3>Warnings <span class=\"aside\">(saving is allowed)</span></h3>");
        problem_list(&mut out, &d.warnings);
        out.push_str("</div>");
    }
    if d.empty {
        out.push_str(
            "<p class=\"hint\">Paste the client's certificate(s) in PEM into the trust store field: \
             each is shown here, parsed and checked, before anything is saved.</p>",
        );
    } else if d.certificates.is_empty() {
        out.push_str("<p class=\"hint\">No certificate could be read from the trust store.</p>");
    }
    for c in &d.certificates {
        cert(&mut out, c);
    }
    out
}

fn cert(out: &mut String, c: &CertReport) {
    let i = c.index;
    let worst = c
        .findings
        .iter()
        .map(|f| f.severity)
        .min_by_key(|s| *s as u8)
        .unwrap_or(Severity::Pass);
    let _ = write!(
        out,
        "<article class=\"cert {}\" id=\"cert-{i}\" aria-labelledby=\"cert-{i}-title\">\
         <h3 id=\"cert-{i}-title\">Certificate {i}: {} <span class=\"badge {}\">{}</span></h3>\
         <dl class=\"facts\">",
        worst.class(),
        esc(&c.name),
        c.kind.label().replace(' ', "-"),
        esc(c.kind.label()),
    );
    let role = match c.kind {
        super::diagnose::Kind::Ca if c.self_signed => {
            "CA certificate (self-signed root)".to_string()
        }
        super::diagnose::Kind::Ca => "CA certificate (intermediate)".to_string(),
        super::diagnose::Kind::SelfSigned => {
            "self-signed leaf: authenticates exactly this certificate".to_string()
        }
        super::diagnose::Kind::Leaf => {
            "leaf issued by a CA: it does not belong in a trust store".to_string()
        }
    };
    let ekus = match &c.extended_key_usage {
        None => "none (any purpose)".to_string(),
        Some(list) if list.is_empty() => "empty".to_string(),
        Some(list) => list.join(", "),
    };
    let days_class = if c.days_left < 0 {
        "error"
    } else if c.days_left < 30 {
        "warning"
    } else {
        "pass"
    };
    let _ = write!(
        out,
        "<dt>Subject</dt><dd>{}</dd><dt>Issuer</dt><dd>{}</dd>\
         <dt>Valid</dt><dd>{} to {} <span class=\"days {days_class}\">({})</span></dd>\
         <dt>Type</dt><dd>{}</dd><dt>Extended key usage</dt><dd>{}</dd>\
         <dt>Key</dt><dd>{}, signed with {}</dd>\
         <dt>SHA-256</dt><dd><code class=\"fingerprint\">{}</code></dd>\
         <dt>x5t#S256</dt><dd><code class=\"fingerprint\">{}</code></dd></dl>",
        esc(&c.subject),
        esc(&c.issuer),
        date(&c.not_before),
        date(&c.not_after),
        esc(&days_left(c.days_left)),
        esc(&role),
        esc(&ekus),
        esc(&c.key),
        esc(&c.signature_algorithm),
        esc(&c.sha256_fingerprint),
        esc(&c.x5t_s256),
    );
    let _ = write!(
        out,
        "<h4 class=\"findings-title\">Findings <span class=\"aside\">(as <code>certbound check</code>)</span></h4><ul class=\"findings\">"
    );
    for f in &c.findings {
        let _ = write!(
            out,
            "<li class=\"finding {}\"><span class=\"sev\">{}</span> <span class=\"check\">{}</span> <span class=\"msg\">{}</span>",
            f.severity.class(),
            f.severity.word(),
            esc(&f.check),
            esc(&f.message)
        );
        if let Some(h) = &f.hint {
            let _ = write!(out, "<span class=\"fix\">Fix: {}</span>", esc(h));
        }
        out.push_str("</li>");
    }
    out.push_str("</ul></article>");
}
