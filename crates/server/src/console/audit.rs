//! The Audit page: recent authentication attempts and admin changes, newest
//! first, filtered by client, result and kind, each refusal with the precise
//! reason the server recorded (the peer was told only `invalid_client`).

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use certbound_oauth::client::valid_id;
use certbound_store::{AuditFilter, AuditResult};
use serde::Deserialize;

use super::html::{self, Section, esc, url_encode};
use super::session::SessionInfo;
use super::{BASE, Console};

/// Most events shown.
pub const AUDIT_PAGE_LIMIT: u32 = 200;
/// The kinds of event the store records.
const KINDS: [&str; 5] = ["token", "introspect", "revoke", "admin", "handshake"];

#[derive(Debug, Default, Deserialize)]
pub(super) struct AuditQuery {
    client: Option<String>,
    result: Option<String>,
    kind: Option<String>,
}

fn option(out: &mut String, value: &str, label: &str, selected: bool) {
    let _ = write!(
        out,
        "<option value=\"{}\"{}>{}</option>",
        esc(value),
        if selected { " selected" } else { "" },
        esc(label)
    );
}

/// GET /audit
pub(super) async fn page(
    State(c): State<Arc<Console>>,
    Query(q): Query<AuditQuery>,
    request: Request,
) -> Response {
    let Some(s) = request.extensions().get::<SessionInfo>().cloned() else {
        return super::internal("no session on a signed-in route");
    };
    let client = q.client.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let result = match q.result.as_deref() {
        Some("success") => Some(AuditResult::Success),
        Some("fail") => Some(AuditResult::Failure),
        _ => None,
    };
    let kind = q.kind.as_deref().filter(|k| KINDS.contains(k));
    let filter = AuditFilter {
        client_id: client.map(str::to_string),
        result,
        kind: kind.map(str::to_string),
        limit: Some(AUDIT_PAGE_LIMIT),
        ..AuditFilter::default()
    };
    let events = match c.state.store.query_audit(&filter).await {
        Ok(e) => e,
        Err(e) => return super::store_failed(&e, &s),
    };
    let mut b = String::from(
        "<h1>Audit</h1><p>Authentication attempts and admin changes, newest first. A refused client was told only \
         <code>invalid_client</code>; the reason column says which check failed.</p>",
    );
    let _ = write!(
        b,
        "<form class=\"filters\" method=\"get\" action=\"{BASE}/audit\"><div class=\"field\"><label for=\"a-client\">Client id</label>\
         <input type=\"text\" id=\"a-client\" name=\"client\" value=\"{}\" autocomplete=\"off\" spellcheck=\"false\"></div>\
         <div class=\"field\"><label for=\"a-result\">Result</label><select id=\"a-result\" name=\"result\">",
        esc(client.unwrap_or(""))
    );
    option(&mut b, "", "Any", result.is_none());
    option(
        &mut b,
        "success",
        "Success",
        result == Some(AuditResult::Success),
    );
    option(
        &mut b,
        "fail",
        "Refused",
        result == Some(AuditResult::Failure),
    );
    b.push_str("</select></div><div class=\"field\"><label for=\"a-kind\">Kind</label><select id=\"a-kind\" name=\"kind\">");
    option(&mut b, "", "Any", kind.is_none());
    for k in KINDS {
        option(&mut b, k, k, kind == Some(k));
    }
    b.push_str("</select></div><div class=\"actions\"><button type=\"submit\">Filter</button></div></form>");
    if events.is_empty() {
        b.push_str("<p>No event matches.</p>");
    } else {
        let _ = write!(
            b,
            "<table class=\"stack audit\"><caption>{} event{}{}</caption><thead><tr>\
             <th scope=\"col\">Time (UTC)</th><th scope=\"col\">Kind</th><th scope=\"col\">Client</th>\
             <th scope=\"col\">Result</th><th scope=\"col\">Reason</th><th scope=\"col\">Certificate</th>\
             <th scope=\"col\">Peer</th><th scope=\"col\">Listener</th><th scope=\"col\">Detail</th></tr></thead><tbody>",
            events.len(),
            if events.len() == 1 { "" } else { "s" },
            if events.len() as u64 >= u64::from(AUDIT_PAGE_LIMIT) {
                format!(" (the newest {AUDIT_PAGE_LIMIT})")
            } else {
                String::new()
            }
        );
        for e in &events {
            let at = certbound_pki::time_fmt::rfc3339(e.at);
            let client = match e.client_id.as_deref() {
                Some(id) if valid_id(id) && e.kind != "admin" => {
                    format!(
                        "<a href=\"{BASE}/clients/{}\">{}</a>",
                        url_encode(id),
                        esc(id)
                    )
                }
                Some(id) => format!("<code>{}</code>", esc(id)),
                None => "—".to_string(),
            };
            let (class, word) = match e.result {
                AuditResult::Success => ("pass", "success"),
                AuditResult::Failure => ("error", "refused"),
            };
            let cert = match (&e.subject, &e.thumbprint) {
                (None, None) => "—".to_string(),
                (subject, thumb) => format!(
                    "{}{}",
                    esc(subject.as_deref().unwrap_or("")),
                    thumb
                        .as_deref()
                        .map(|t| format!(" <code class=\"fingerprint\">{}</code>", esc(t)))
                        .unwrap_or_default()
                ),
            };
            let dash = |v: &Option<String>| esc(v.as_deref().unwrap_or("—")).to_string();
            let _ = write!(
                b,
                "<tr><td data-label=\"Time\"><time datetime=\"{}\">{}</time></td><td data-label=\"Kind\">{}</td>\
                 <td data-label=\"Client\">{client}</td><td data-label=\"Result\"><span class=\"badge {class}\">{word}</span>{}</td>\
                 <td data-label=\"Reason\">{}</td><td data-label=\"Certificate\">{cert}</td><td data-label=\"Peer\">{}</td>\
                 <td data-label=\"Listener\">{}</td><td data-label=\"Detail\">{}</td></tr>",
                esc(&at),
                esc(&at
                    .split_once('.')
                    .map_or(at.trim_end_matches('Z'), |(whole, _)| whole)
                    .replace('T', " ")),
                esc(&e.kind),
                e.method
                    .as_deref()
                    .map(|m| format!(" <span class=\"aside\">{}</span>", esc(m)))
                    .unwrap_or_default(),
                dash(&e.reason),
                dash(&e.peer),
                dash(&e.listener),
                dash(&e.detail),
            );
        }
        b.push_str("</tbody></table>");
    }
    html::html(
        StatusCode::OK,
        html::page("Audit", Section::Audit, Some(&s), &b),
    )
}
