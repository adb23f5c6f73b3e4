//! The Audit page: recent authentication attempts and admin changes, newest
//! first, filtered by client, result and kind, each refusal with the precise
//! reason the server recorded (the peer was told only `invalid_client`). One
//! line per event, so a laptop screen shows about thirty; a cell too long for
//! its column shows the whole text on hover (and to screen readers), and
//! narrow screens show each event as a card with every value in full.

use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use certbound_oauth::client::valid_id;
use certbound_store::{AuditFilter, AuditResult};
use maud::{Markup, html};
use serde::Deserialize;

use super::html::{self, Section, url_encode};
use super::session::SessionInfo;
use super::{BASE, Console};

/// Most events shown.
pub(super) const AUDIT_PAGE_LIMIT: u32 = 200;
/// The kinds of event the store records.
const KINDS: [&str; 5] = ["token", "introspect", "revoke", "admin", "handshake"];

#[derive(Debug, Default, Deserialize)]
pub(super) struct AuditQuery {
    client: Option<String>,
    result: Option<String>,
    kind: Option<String>,
}

fn option(value: &str, label: &str, selected: bool) -> Markup {
    html! { option value=(value) selected[selected] { (label) } }
}

/// "2026-05-04 10:31:07 UTC" from an RFC 3339 time in UTC.
fn when(rfc3339: &str) -> String {
    let whole = rfc3339
        .split_once('.')
        .map_or(rfc3339.trim_end_matches('Z'), |(whole, _)| whole);
    format!("{} UTC", whole.replace('T', " "))
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
    let events = match c.state.store().query_audit(&filter).await {
        Ok(e) => e,
        Err(e) => return super::store_failed(&e, &s),
    };
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_string());
    let b = html! {
        div.page-head {
            h1 { "Audit" }
            form.filters.inline method="get" action={ (BASE) "/audit" } {
                div.field {
                    label for="a-client" { "Client id" }
                    input type="text" id="a-client" name="client" value=(client.unwrap_or(""))
                        autocomplete="off" spellcheck="false";
                }
                div.field {
                    label for="a-result" { "Result" }
                    select id="a-result" name="result" {
                        (option("", "Any", result.is_none()))
                        (option("success", "Success", result == Some(AuditResult::Success)))
                        (option("fail", "Refused", result == Some(AuditResult::Failure)))
                    }
                }
                div.field {
                    label for="a-kind" { "Kind" }
                    select id="a-kind" name="kind" {
                        (option("", "Any", kind.is_none()))
                        @for k in KINDS { (option(k, k, kind == Some(k))) }
                    }
                }
                div.actions { button type="submit" { "Filter" } }
            }
        }
        p.lede {
            "Authentication attempts and admin changes, newest first. A refused client was told only "
            code { "invalid_client" } "; the reason column says which check failed."
        }
        @if events.is_empty() {
            p { "No event matches." }
        } @else {
            table.stack.audit {
                caption {
                    (events.len()) " event" (if events.len() == 1 { "" } else { "s" })
                    @if events.len() as u64 >= u64::from(AUDIT_PAGE_LIMIT) { " (the newest " (AUDIT_PAGE_LIMIT) ")" }
                }
                colgroup {
                    col.c-time; col.c-kind; col.c-client; col.c-result; col.c-reason; col.c-subject; col.c-peer;
                }
                thead { tr {
                    th scope="col" { "Time" } th scope="col" { "Kind" } th scope="col" { "Client" }
                    th scope="col" { "Result" } th scope="col" { "Reason" } th scope="col" { "Subject" }
                    th scope="col" { "Peer" }
                } }
                tbody {
                    @for e in &events {
                        @let at = certbound_pki::time_fmt::rfc3339(e.at);
                        @let (class, word) = match e.result {
                            AuditResult::Success => ("pass", "success"),
                            AuditResult::Failure => ("error", "refused"),
                        };
                        // Admin events say what changed in `detail`; others may add a detail to the reason.
                        @let reason = match (&e.reason, &e.detail) {
                            (Some(r), Some(d)) if e.kind != "admin" => format!("{r} ({d})"),
                            (Some(r), _) => r.clone(),
                            (None, Some(d)) => d.clone(),
                            (None, None) => "—".to_string(),
                        };
                        @let subject = dash(&e.subject);
                        @let subject_title = match &e.thumbprint {
                            Some(t) => format!("{subject}\nx5t#S256 {t}"),
                            None => subject.clone(),
                        };
                        @let peer = dash(&e.peer);
                        @let peer_title = match &e.listener {
                            Some(l) => format!("{peer} on listener {l}"),
                            None => peer.clone(),
                        };
                        tr {
                            td data-label="Time" { time datetime=(at) { (when(&at)) } }
                            td data-label="Kind" title=[e.method.as_deref()] {
                                (e.kind)
                                @if let Some(m) = &e.method { span.visually-hidden { " (" (m) ")" } }
                            }
                            td data-label="Client" title=[e.client_id.as_deref()] {
                                @match e.client_id.as_deref() {
                                    Some(id) if valid_id(id) && e.kind != "admin" => {
                                        a href={ (BASE) "/clients/" (url_encode(id)) } { (id) }
                                    }
                                    Some(id) => code { (id) },
                                    None => "—",
                                }
                            }
                            td data-label="Result" { span class={ "badge " (class) } { (word) } }
                            td data-label="Reason" title=(reason) { (reason) }
                            td data-label="Subject" title=(subject_title) {
                                (subject)
                                @if let Some(t) = &e.thumbprint {
                                    span.visually-hidden { " x5t#S256 " } code.fingerprint.card-only { (t) }
                                }
                            }
                            td data-label="Peer" title=(peer_title) {
                                (peer)
                                @if let Some(l) = &e.listener { span.card-only.aside { " on " (l) } }
                            }
                        }
                    }
                }
            }
        }
    };
    html::html(
        StatusCode::OK,
        html::page("Audit", Section::Audit, Some(&s), b),
    )
}

#[cfg(test)]
mod tests {
    use super::when;

    #[test]
    fn times_carry_their_zone() {
        assert_eq!(when("2026-05-04T10:31:07.123Z"), "2026-05-04 10:31:07 UTC");
        assert_eq!(when("2026-05-04T10:31:07Z"), "2026-05-04 10:31:07 UTC");
    }
}
