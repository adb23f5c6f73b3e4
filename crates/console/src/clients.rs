//! The Clients page (every ClientApplication with its authentication methods:
//! certificate, private_key_jwt keys, secret; its trust store, earliest
//! expiry and warnings, each shortened to a few words: the client's page has
//! the full text; search by name) and deletion, which asks for confirmation
//! on a page of its own.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use certbound_oauth::client::{ClientApplication, ClientStatus, Policy};
use certbound_pki::inspect::TrustRole;
use certbound_store::ClientRecord;
use maud::html;
use serde::Deserialize;
use time::OffsetDateTime;

use super::html::{self, Section, url_encode};
use super::session::SessionInfo;
use super::{BASE, Console, panel};

/// Certificates expiring within this many days are flagged.
pub(super) const EXPIRY_WARN_DAYS: i64 = certbound_pki::check::DEFAULT_WARN_DAYS as i64;

/// One row of the table.
#[derive(Debug)]
struct Row {
    id: String,
    name: String,
    method: String,
    store: String,
    /// Earliest end of validity (RFC 3339) and days left.
    expiry: Option<(String, i64)>,
    warnings: Vec<String>,
}

fn summarize(r: &ClientRecord, policy: Policy, now: OffsetDateTime) -> Row {
    let mut row = Row {
        id: r.id.clone(),
        name: r.name.clone(),
        method: "—".into(),
        store: "—".into(),
        expiry: None,
        warnings: Vec::new(),
    };
    let validated = serde_json::from_value::<ClientApplication>(r.document.clone())
        .map_err(|e| e.to_string())
        .and_then(|app| app.validate(policy, now).map_err(|e| e.to_string()));
    let v = match validated {
        Ok(v) => v,
        Err(e) => {
            row.warnings.push(format!(
                "does not validate, so it authenticates nobody: {e}"
            ));
            return row;
        }
    };
    row.warnings = v.warnings;
    let client = v.client;
    match client.status {
        ClientStatus::Active => {}
        ClientStatus::Off => row.warnings.insert(
            0,
            "switched off (status \"off\"): it gets invalid_client and its tokens are refused"
                .into(),
        ),
        ClientStatus::Error => row.warnings.insert(
            0,
            "marked broken (status \"error\"): it gets invalid_client and its tokens are refused"
                .into(),
        ),
    }
    let mut methods = Vec::new();
    if let Some(store) = &client.trust_store {
        if !store.anchors.is_empty() {
            methods.push("tls_client_auth");
        }
        if store
            .certs
            .iter()
            .any(|c| c.trust_role() == TrustRole::Pinned)
        {
            methods.push("self_signed_tls_client_auth");
        }
        let cas = store
            .certs
            .iter()
            .filter(|c| c.trust_role().vouches())
            .count();
        let selfs = store.certs.len() - cas;
        let mut parts = Vec::new();
        if cas > 0 {
            parts.push(format!("{cas} CA{}", if cas == 1 { "" } else { "s" }));
        }
        if selfs > 0 {
            parts.push(format!("{selfs} self-signed"));
        }
        let names: Vec<String> = store
            .certs
            .iter()
            .take(3)
            .map(|c| format!("'{}'", c.display_name()))
            .collect();
        let more = if store.certs.len() > 3 { ", …" } else { "" };
        row.store = format!("{}: {}{more}", parts.join(" + "), names.join(", "));
        if let Some(earliest) = store.certs.iter().map(|c| c.not_after).min() {
            let days = certbound_pki::time_fmt::days_between(now, earliest);
            if (0..EXPIRY_WARN_DAYS).contains(&days) {
                row.warnings.push(format!(
                    "a certificate expires on {} ({})",
                    certbound_pki::time_fmt::date(earliest),
                    panel::days_left(days)
                ));
            }
            row.expiry = Some((certbound_pki::time_fmt::rfc3339(earliest), days));
        }
    } else if let Some(u) = &client.udap {
        row.store = format!("none (UDAP: {} in {})", u.uri, u.community);
    } else if client.keys.is_some() {
        row.store = "none (authenticates with its keys)".into();
    } else if client.secret_hash.is_some() {
        row.store = "none (authenticates with a secret)".into();
    }
    if client.keys.is_some() {
        methods.push("private_key_jwt");
    }
    if client.udap.is_some() {
        methods.push("private_key_jwt (UDAP x5c)");
    }
    // A secret beside a trust store or keys works too (validation warns).
    if client.secret_hash.is_some() {
        methods.push("client_secret_basic, client_secret_post");
    }
    if !methods.is_empty() {
        row.method = methods.join(", ");
    }
    row
}

/// A warning cut to a few words for the table; the client's page has it whole.
pub(super) fn short_warning(w: &str) -> String {
    const MAX: usize = 60;
    let short = if w.starts_with("the trust store holds a CA certificate and no") {
        "a CA and no subject constraint: any certificate it issues can act as this client"
            .to_string()
    } else if let Some(at) = w.find(": ") {
        let mut head = w[..at].to_string();
        // "certificate 'x' (block 1 (line 3)) expired on …": drop the position.
        if let (Some(open), Some(close)) = (head.find(" (block "), head.find(")) ")) {
            if open < close {
                head.replace_range(open..close + 2, "");
            }
        }
        head
    } else {
        w.to_string()
    };
    if short.chars().count() <= MAX {
        return short;
    }
    let cut: String = short.chars().take(MAX).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(a, _)| a);
    format!("{cut} …")
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    q: Option<String>,
    deleted: Option<String>,
}

/// GET /clients
pub(super) async fn list(
    State(c): State<Arc<Console>>,
    Query(q): Query<ListQuery>,
    request: Request,
) -> Response {
    let Some(s) = request.extensions().get::<SessionInfo>().cloned() else {
        return super::internal("no session on a signed-in route");
    };
    let search = q.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let records = match c.state.store().list_clients(search).await {
        Ok(r) => r,
        Err(e) => return super::store_failed(&e, &s),
    };
    let policy = c.state.policy();
    let now = OffsetDateTime::now_utc();
    // Parsing every trust store is CPU work: keep it off the async workers.
    let rows = match tokio::task::spawn_blocking(move || {
        records
            .iter()
            .map(|r| summarize(r, policy, now))
            .collect::<Vec<_>>()
    })
    .await
    {
        Ok(rows) => rows,
        Err(e) => return super::internal(&format!("summarizing clients failed: {e}")),
    };
    let plural = if rows.len() == 1 { "" } else { "s" };
    let b = html! {
        h1 { "Clients" }
        @if let Some(id) = q.deleted.as_deref() {
            div.flash role="status" { "Client " code { (id) } " deleted." }
        }
        div.toolbar {
            form.search role="search" method="get" action={ (BASE) "/clients" } {
                label for="q" { "Search by name" } " "
                input type="search" id="q" name="q" value=(search.unwrap_or(""));
                " "
                button type="submit" { "Search" }
                @if search.is_some() { " " a href={ (BASE) "/clients" } { "Show all" } }
            }
            a.button href={ (BASE) "/clients/new" } { "New client" }
        }
        @if rows.is_empty() {
            @match search {
                Some(q) => p { "No client's name contains “" (q) "”." },
                None => p { "No clients yet. " a href={ (BASE) "/clients/new" } { "Create the first one" } "." },
            }
        } @else {
            table.stack.clients {
                caption {
                    (rows.len()) " client" (plural)
                    @if let Some(q) = search { " whose name contains “" (q) "”" }
                }
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Client id" } th scope="col" { "Authentication" }
                    th scope="col" { "Trust store" } th scope="col" { "Earliest expiry" } th scope="col" { "Warnings" }
                } }
                tbody {
                    @for r in &rows {
                        @let href = format!("{BASE}/clients/{}", url_encode(&r.id));
                        tr {
                            th scope="row" data-label="Name" {
                                a href=(href) { (if r.name.trim().is_empty() { &r.id } else { &r.name }) }
                            }
                            td data-label="Client id" { code.id { (r.id) } }
                            td data-label="Authentication" { (r.method) }
                            td data-label="Trust store" { (r.store) }
                            td data-label="Earliest expiry" {
                                @match &r.expiry {
                                    Some((at, days)) => {
                                        (panel::date(at)) " "
                                        span class={ "days " (panel::days_class(*days, EXPIRY_WARN_DAYS)) } {
                                            "(" (panel::days_left(*days)) ")"
                                        }
                                    }
                                    None => "—",
                                }
                            }
                            td data-label="Warnings" {
                                @if r.warnings.is_empty() {
                                    "None"
                                } @else {
                                    ul.warnings { @for w in &r.warnings { li { (short_warning(w)) } } }
                                    a.more href=(href) { "Details" span.visually-hidden { " of " (r.id) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    html::html(
        StatusCode::OK,
        html::page("Clients", Section::Clients, Some(&s), b),
    )
}

/// GET /clients/{id}/delete: the confirmation step.
pub(super) async fn confirm_delete(
    State(c): State<Arc<Console>>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let Some(s) = request.extensions().get::<SessionInfo>().cloned() else {
        return super::internal("no session on a signed-in route");
    };
    let record = match c.state.store().get_client(&id).await {
        Ok(Some(r)) => r,
        Ok(None) => return super::no_client(&id, &s),
        Err(e) => return super::store_failed(&e, &s),
    };
    let row = summarize(&record, c.state.policy(), OffsetDateTime::now_utc());
    let title = format!("Delete client {}?", record.name);
    let client_url = format!("{BASE}/clients/{}", url_encode(&record.id));
    let b = html! {
        p.crumbs { a href={ (BASE) "/clients" } { "Clients" } " › " a href=(client_url) { (record.name) } " ›" }
        h1 { (title) }
        dl.facts {
            dt { "Client id" } dd { code { (record.id) } }
            dt { "Authentication" } dd { (row.method) }
            dt { "Trust store" } dd { (row.store) }
        }
        p { "The client stops authenticating at once, on every instance, and its registration cannot be restored." }
        form.actions method="post" action={ (client_url) "/delete" } {
            input type="hidden" name="csrf" value=(s.csrf);
            button.danger type="submit" { "Delete client" }
            " "
            a href=(client_url) { "Cancel" }
        }
    };
    html::html(
        StatusCode::OK,
        html::page(&title, Section::Clients, Some(&s), b),
    )
}

/// POST /clients/{id}/delete
pub(super) async fn delete(
    State(c): State<Arc<Console>>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let Some(s) = request.extensions().get::<SessionInfo>().cloned() else {
        return super::internal("no session on a signed-in route");
    };
    match c.state.store().delete_client(&id).await {
        Ok(true) => {}
        Ok(false) => return super::no_client(&id, &s),
        Err(e) => return super::store_failed(&e, &s),
    }
    c.state
        .client_changed(&request, format!("deleted client {id}"))
        .await;
    html::redirect(&format!("{BASE}/clients?deleted={}", url_encode(&id)))
}

#[cfg(test)]
mod tests {
    use super::short_warning;

    #[test]
    fn warnings_are_shortened_to_their_head() {
        assert_eq!(
            short_warning(
                "certificate 'p' (block 1 (line 1)) expired on 2021-01-01: it authenticates nobody until replaced"
            ),
            "certificate 'p' expired on 2021-01-01"
        );
        assert_eq!(
            short_warning(
                "switched off (status \"off\"): it gets invalid_client and its tokens are refused"
            ),
            "switched off (status \"off\")"
        );
        assert_eq!(
            short_warning("a certificate expires on 2026-01-03 (3 days left)"),
            "a certificate expires on 2026-01-03 (3 days left)"
        );
        let long = short_warning(&"word ".repeat(40));
        assert!(long.ends_with(" …") && long.chars().count() <= 62, "{long}");
    }
}
