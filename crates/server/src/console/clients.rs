//! The Clients page (every ClientApplication with its authentication method,
//! trust store, earliest expiry and warnings; search by name) and deletion,
//! which asks for confirmation on a page of its own.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use certbound_oauth::client::{ClientApplication, ClientStatus, Policy};
use certbound_pki::inspect::TrustRole;
use certbound_store::ClientRecord;
use serde::Deserialize;
use time::OffsetDateTime;

use super::html::{self, Section, esc, url_encode};
use super::session::SessionInfo;
use super::{BASE, Console, panel};
use crate::admin;

/// Certificates expiring within this many days are flagged.
pub const EXPIRY_WARN_DAYS: i64 = certbound_pki::check::DEFAULT_WARN_DAYS as i64;

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
    if client.status == ClientStatus::Off {
        row.warnings.insert(
            0,
            "switched off (status \"off\"): it gets invalid_client and its tokens are refused"
                .into(),
        );
    }
    if let Some(store) = &client.trust_store {
        let mut methods = Vec::new();
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
        row.method = methods.join(", ");
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
    } else if client.secret_hash.is_some() {
        row.method = "client_secret_basic, client_secret_post".into();
        row.store = "none (authenticates with a secret)".into();
    }
    row
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
    let records = match c.state.store.list_clients(search).await {
        Ok(r) => r,
        Err(e) => return super::store_failed(&e, &s),
    };
    let policy = c.state.policy;
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
    let mut b = String::from("<h1>Clients</h1>");
    if let Some(id) = q.deleted.as_deref() {
        let _ = write!(
            b,
            "<div class=\"flash\" role=\"status\">Client <code>{}</code> deleted.</div>",
            esc(id)
        );
    }
    let _ = write!(
        b,
        "<div class=\"toolbar\"><form class=\"search\" role=\"search\" method=\"get\" action=\"{BASE}/clients\">\
         <label for=\"q\">Search by name</label> <input type=\"search\" id=\"q\" name=\"q\" value=\"{}\"> \
         <button type=\"submit\">Search</button>{}</form>\
         <a class=\"button\" href=\"{BASE}/clients/new\">New client</a></div>",
        esc(search.unwrap_or("")),
        if search.is_some() {
            format!(" <a href=\"{BASE}/clients\">Show all</a>")
        } else {
            String::new()
        }
    );
    if rows.is_empty() {
        match search {
            Some(q) => {
                let _ = write!(b, "<p>No client's name contains “{}”.</p>", esc(q));
            }
            None => {
                let _ = write!(
                    b,
                    "<p>No clients yet. <a href=\"{BASE}/clients/new\">Create the first one</a>.</p>"
                );
            }
        }
    } else {
        let caption = match search {
            Some(q) => format!(
                "{} client{} whose name contains “{q}”",
                rows.len(),
                if rows.len() == 1 { "" } else { "s" }
            ),
            None => format!(
                "{} client{}",
                rows.len(),
                if rows.len() == 1 { "" } else { "s" }
            ),
        };
        let _ = write!(
            b,
            "<table class=\"stack clients\"><caption>{}</caption><thead><tr>\
             <th scope=\"col\">Name</th><th scope=\"col\">Client id</th><th scope=\"col\">Authentication</th>\
             <th scope=\"col\">Trust store</th><th scope=\"col\">Earliest expiry</th><th scope=\"col\">Warnings</th>\
             </tr></thead><tbody>",
            esc(&caption)
        );
        for r in &rows {
            let expiry = match &r.expiry {
                Some((at, days)) => {
                    let class = if *days < 0 {
                        "error"
                    } else if *days < EXPIRY_WARN_DAYS {
                        "warning"
                    } else {
                        "pass"
                    };
                    format!(
                        "{} <span class=\"days {class}\">({})</span>",
                        panel::date(at),
                        esc(&panel::days_left(*days))
                    )
                }
                None => "—".to_string(),
            };
            let warnings = if r.warnings.is_empty() {
                "None".to_string()
            } else {
                html::list("warnings", &r.warnings)
            };
            let _ = write!(
                b,
                "<tr><th scope=\"row\" data-label=\"Name\"><a href=\"{BASE}/clients/{}\">{}</a></th>\
                 <td data-label=\"Client id\"><code>{}</code></td><td data-label=\"Authentication\">{}</td>\
                 <td data-label=\"Trust store\">{}</td><td data-label=\"Earliest expiry\">{expiry}</td>\
                 <td data-label=\"Warnings\">{warnings}</td></tr>",
                url_encode(&r.id),
                esc(if r.name.trim().is_empty() {
                    &r.id
                } else {
                    &r.name
                }),
                esc(&r.id),
                esc(&r.method),
                esc(&r.store),
            );
        }
        b.push_str("</tbody></table>");
    }
    html::html(
        StatusCode::OK,
        html::page("Clients", Section::Clients, Some(&s), &b),
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
    let record = match c.state.store.get_client(&id).await {
        Ok(Some(r)) => r,
        Ok(None) => return super::no_client(&id, &s),
        Err(e) => return super::store_failed(&e, &s),
    };
    let row = summarize(&record, c.state.policy, OffsetDateTime::now_utc());
    let title = format!("Delete client {}?", record.name);
    let mut b = String::new();
    let _ = write!(
        b,
        "<p class=\"crumbs\"><a href=\"{BASE}/clients\">Clients</a> › <a href=\"{BASE}/clients/{id_url}\">{name}</a> ›</p>\
         <h1>{title}</h1><dl class=\"facts\"><dt>Client id</dt><dd><code>{id}</code></dd>\
         <dt>Authentication</dt><dd>{method}</dd><dt>Trust store</dt><dd>{store}</dd></dl>\
         <p>The client stops authenticating at once, on every instance, and its registration cannot be restored.</p>\
         <form method=\"post\" action=\"{BASE}/clients/{id_url}/delete\" class=\"actions\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <button type=\"submit\" class=\"danger\">Delete client</button> \
         <a href=\"{BASE}/clients/{id_url}\">Cancel</a></form>",
        id_url = url_encode(&record.id),
        name = esc(&record.name),
        title = esc(&title),
        id = esc(&record.id),
        method = esc(&row.method),
        store = esc(&row.store),
        csrf = esc(&s.csrf),
    );
    html::html(
        StatusCode::OK,
        html::page(&title, Section::Clients, Some(&s), &b),
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
    match c.state.store.delete_client(&id).await {
        Ok(true) => {}
        Ok(false) => return super::no_client(&id, &s),
        Err(e) => return super::store_failed(&e, &s),
    }
    admin::changed(
        &c.state,
        &admin::actor(&request),
        format!("deleted client {id}"),
    )
    .await;
    html::redirect(&format!("{BASE}/clients?deleted={}", url_encode(&id)))
}
