//! The client form: create and edit a ClientApplication, with its trust
//! store diagnosed on every Check (a plain POST, so it works without
//! JavaScript) and, through the page's script, as the operator types (the
//! JSON endpoint). Saving goes through the admin API's own validation and
//! store path, and is refused while the diagnosis has errors.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use certbound_oauth::client::{ClientApplication, RESOURCE_TYPE, STATUS_VALUES};
use certbound_store::{ClientRecord, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::diagnose::{self, Diagnosis, Problem, field_label};
use super::form::Form;
use super::html::{self, Section, esc, url_encode};
use super::session::SessionInfo;
use super::{BASE, Console, panel};
use crate::admin;

/// The constraint fields: name, label, hint.
const CONSTRAINTS: [(&str, &str, &str); 5] = [
    (
        "tls_client_auth_subject_dn",
        "Subject DN",
        "The exact subject of the client's certificate, e.g. CN=partner,O=Example",
    ),
    (
        "tls_client_auth_san_dns",
        "SAN DNS name",
        "A dNSName the certificate must carry",
    ),
    (
        "tls_client_auth_san_uri",
        "SAN URI",
        "A URI the certificate must carry",
    ),
    (
        "tls_client_auth_san_ip",
        "SAN IP address",
        "An IP address the certificate must carry",
    ),
    (
        "tls_client_auth_san_email",
        "SAN e-mail address",
        "An rfc822Name the certificate must carry",
    ),
];

/// The form's fields as typed.
#[derive(Debug, Clone, Default)]
pub(super) struct ClientForm {
    id: String,
    name: String,
    trust_store: String,
    constraints: [String; 5],
    scope: String,
    lifetime: String,
    version: String,
    /// `active` or `off` (the ClientApplication's `status`).
    status: String,
}

impl ClientForm {
    fn from_form(f: &Form) -> Self {
        Self {
            id: f.get("id").trim().to_string(),
            name: f.get("name").to_string(),
            // Browsers send CRLF line ends from a textarea.
            trust_store: f.get("certificateTrustStore").replace("\r\n", "\n"),
            constraints: CONSTRAINTS.map(|(field, _, _)| f.get(field).to_string()),
            scope: f.get("scope").to_string(),
            lifetime: f.get("access_token_lifetime").to_string(),
            version: f.get("version").to_string(),
            status: f.get("status").trim().to_string(),
        }
    }

    fn from_record(r: &ClientRecord) -> Self {
        let s = |k: &str| {
            r.document
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        Self {
            id: r.id.clone(),
            name: s("name"),
            trust_store: s("certificateTrustStore"),
            constraints: CONSTRAINTS.map(|(field, _, _)| s(field)),
            scope: s("scope"),
            lifetime: r
                .document
                .get("access_token_lifetime")
                .and_then(Value::as_u64)
                .map(|n| n.to_string())
                .unwrap_or_default(),
            version: r.version.to_string(),
            status: s("status"),
        }
    }

    /// The document to validate and save: `base` (the stored client, whose
    /// other fields are kept) with the form's fields set, empty ones removed.
    fn document(&self, base: Option<&Value>, creating: bool) -> (Value, Vec<Problem>) {
        let mut problems = Vec::new();
        let mut doc = base
            .filter(|b| b.is_object())
            .cloned()
            .unwrap_or_else(|| json!({}));
        let Some(obj) = doc.as_object_mut() else {
            return (doc, problems);
        };
        // The secret hash is the server's to keep (admin::prepare keeps it for
        // a client without a trust store); the others are server-managed.
        for k in ["client_secret_hash", "meta", "warnings", "hasSecret"] {
            obj.remove(k);
        }
        obj.insert("resourceType".into(), RESOURCE_TYPE.into());
        let mut set = |key: &str, value: &str| {
            if value.is_empty() {
                obj.remove(key);
            } else {
                obj.insert(key.into(), value.into());
            }
        };
        if creating {
            set("id", self.id.trim());
        }
        set("name", self.name.trim());
        let store = self.trust_store.trim();
        set(
            "certificateTrustStore",
            &if store.is_empty() {
                String::new()
            } else {
                format!("{store}\n")
            },
        );
        for ((field, _, _), value) in CONSTRAINTS.iter().zip(&self.constraints) {
            set(field, value.trim());
        }
        set("scope", self.scope.trim());
        // Active is the default: a client without `status` keeps none.
        match self.status.as_str() {
            "" | "active" if !obj.contains_key("status") => {}
            status => {
                obj.insert("status".into(), status.into());
            }
        }
        let lifetime = self.lifetime.trim();
        obj.remove("access_token_lifetime");
        if !lifetime.is_empty() {
            match lifetime.parse::<u64>() {
                Ok(n) => {
                    obj.insert("access_token_lifetime".into(), n.into());
                }
                Err(_) => problems.push(Problem::field(
                    "access_token_lifetime",
                    format!("`{lifetime}` is not a whole number of seconds"),
                )),
            }
        }
        (doc, problems)
    }
}

/// Diagnose a document as `admin::prepare` would see it.
fn diagnose_doc(
    c: &Console,
    doc: &Value,
    mut problems: Vec<Problem>,
    existing: Option<&ClientRecord>,
) -> Diagnosis {
    let app = match serde_json::from_value::<ClientApplication>(doc.clone()) {
        Ok(mut app) => {
            // A client without a trust store keeps its stored secret (admin::prepare).
            if app.certificate_trust_store.is_none() {
                app.client_secret_hash = existing
                    .and_then(|r| r.document.get("client_secret_hash"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            app
        }
        Err(e) => {
            problems.push(Problem::field(
                "resourceType",
                format!("the stored client cannot be read: {e}"),
            ));
            ClientApplication::default()
        }
    };
    diagnose::diagnose(&app, problems, c.state.policy, OffsetDateTime::now_utc())
}

/// Whether the form is for a new client or an existing one.
enum Mode<'a> {
    Create,
    Edit(&'a ClientRecord),
}

/// Everything a render needs besides the form.
struct Outcome<'a> {
    diagnosis: Option<&'a Diagnosis>,
    /// Problems found while saving (validation, the store), beyond the diagnosis.
    save_problems: &'a [Problem],
    /// Whether the operator pressed Save (errors then block with a summary).
    attempted: bool,
    flash: Option<&'a str>,
}

/// GET /clients/new
pub(super) async fn new_form(State(c): State<Arc<Console>>, request: Request) -> Response {
    let Some(s) = request.extensions().get::<SessionInfo>().cloned() else {
        return super::internal("no session on a signed-in route");
    };
    let out = Outcome {
        diagnosis: None,
        save_problems: &[],
        attempted: false,
        flash: None,
    };
    render(
        &c,
        &s,
        Mode::Create,
        &ClientForm::default(),
        &out,
        StatusCode::OK,
    )
}

#[derive(Debug, Deserialize)]
pub(super) struct EditQuery {
    saved: Option<String>,
}

/// GET /clients/{id}
pub(super) async fn edit_form(
    State(c): State<Arc<Console>>,
    Path(id): Path<String>,
    Query(q): Query<EditQuery>,
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
    let form = ClientForm::from_record(&record);
    let (doc, problems) = form.document(Some(&record.document), false);
    let diagnosis = diagnose_doc(&c, &doc, problems, Some(&record));
    let flash = match q.saved.as_deref() {
        Some("created") => Some("Client created. It can authenticate at once."),
        Some("updated") => Some("Changes saved. They apply at once, on every instance."),
        _ => None,
    };
    let out = Outcome {
        diagnosis: Some(&diagnosis),
        save_problems: &[],
        attempted: false,
        flash,
    };
    render(&c, &s, Mode::Edit(&record), &form, &out, StatusCode::OK)
}

/// POST /clients/new: Check or Save.
pub(super) async fn submit_new(State(c): State<Arc<Console>>, request: Request) -> Response {
    let (Some(s), Some(f)) = (
        request.extensions().get::<SessionInfo>().cloned(),
        request.extensions().get::<Form>().cloned(),
    ) else {
        return super::internal("no session or form on a signed-in POST");
    };
    let form = ClientForm::from_form(&f);
    let saving = f.get("action") == "save";
    let (doc, problems) = form.document(None, true);
    let diagnosis = diagnose_doc(&c, &doc, problems, None);
    let refuse = |problems: Vec<Problem>, status: StatusCode| {
        let out = Outcome {
            diagnosis: Some(&diagnosis),
            save_problems: &problems,
            attempted: saving,
            flash: None,
        };
        render(&c, &s, Mode::Create, &form, &out, status)
    };
    if !saving {
        return refuse(Vec::new(), StatusCode::OK);
    }
    if !diagnosis.can_save {
        return refuse(Vec::new(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (app, _warnings) = match admin::prepare(&c.state, doc, None, None).await {
        Ok(prepared) => prepared,
        Err(e) => return refuse(admin_problems(&e), e.status),
    };
    let id = app.id.clone().unwrap_or_default();
    let document = match serde_json::to_value(&app) {
        Ok(d) => d,
        Err(e) => return super::internal(&format!("cannot serialize a client: {e}")),
    };
    match c.state.store.create_client(&id, &app.name, &document).await {
        Ok(_) => {}
        Err(StoreError::AlreadyExists { id }) => {
            return refuse(
                vec![Problem::field(
                    "id",
                    format!(
                        "a client `{id}` exists already: choose another id, or leave it empty for a random one"
                    ),
                )],
                StatusCode::CONFLICT,
            );
        }
        Err(e) => return super::store_failed(&e, &s),
    }
    admin::changed(
        &c.state,
        &admin::actor(&request),
        format!("created client {id}"),
    )
    .await;
    html::redirect(&format!("{BASE}/clients/{}?saved=created", url_encode(&id)))
}

/// POST /clients/{id}: Check or Save.
pub(super) async fn submit_edit(
    State(c): State<Arc<Console>>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let (Some(s), Some(f)) = (
        request.extensions().get::<SessionInfo>().cloned(),
        request.extensions().get::<Form>().cloned(),
    ) else {
        return super::internal("no session or form on a signed-in POST");
    };
    let record = match c.state.store.get_client(&id).await {
        Ok(Some(r)) => r,
        Ok(None) => return super::no_client(&id, &s),
        Err(e) => return super::store_failed(&e, &s),
    };
    let mut form = ClientForm::from_form(&f);
    let saving = f.get("action") == "save";
    let (doc, problems) = form.document(Some(&record.document), false);
    let diagnosis = diagnose_doc(&c, &doc, problems, Some(&record));
    let current = record.version.to_string();
    let mut conflict = Vec::new();
    if saving && form.version != current {
        conflict.push(Problem::field(
            "version",
            format!(
                "someone changed this client (now version {current}) since you opened it: check the fields and save again to replace their change, or reload the page to see it"
            ),
        ));
    }
    // A second Save replaces the newer version knowingly.
    form.version = current;
    let refuse = |problems: Vec<Problem>, status: StatusCode| {
        let out = Outcome {
            diagnosis: Some(&diagnosis),
            save_problems: &problems,
            attempted: saving,
            flash: None,
        };
        render(&c, &s, Mode::Edit(&record), &form, &out, status)
    };
    if !saving {
        return refuse(Vec::new(), StatusCode::OK);
    }
    if !conflict.is_empty() {
        return refuse(conflict, StatusCode::CONFLICT);
    }
    if !diagnosis.can_save {
        return refuse(Vec::new(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (app, _warnings) = match admin::prepare(&c.state, doc, Some(&id), Some(&record)).await {
        Ok(prepared) => prepared,
        Err(e) => return refuse(admin_problems(&e), e.status),
    };
    let document = match serde_json::to_value(&app) {
        Ok(d) => d,
        Err(e) => return super::internal(&format!("cannot serialize a client: {e}")),
    };
    match c
        .state
        .store
        .update_client(&id, &app.name, &document, Some(record.version))
        .await
    {
        Ok(_) => {}
        Err(StoreError::NotFound { .. }) => return super::no_client(&id, &s),
        Err(StoreError::VersionMismatch { current, .. }) => {
            return refuse(
                vec![Problem::field(
                    "version",
                    format!(
                        "someone changed this client (now version {current}) while you were saving: reload the page to see their change"
                    ),
                )],
                StatusCode::CONFLICT,
            );
        }
        Err(e) => return super::store_failed(&e, &s),
    }
    admin::changed(
        &c.state,
        &admin::actor(&request),
        format!("replaced client {id}"),
    )
    .await;
    html::redirect(&format!("{BASE}/clients/{}?saved=updated", url_encode(&id)))
}

#[derive(Debug, Deserialize)]
pub(super) struct DiagnoseQuery {
    client: Option<String>,
}

/// POST /api/diagnose: the diagnosis of the posted form, as JSON, with the
/// panel's HTML (rendered and escaped here, as for the page).
pub(super) async fn diagnose_json(
    State(c): State<Arc<Console>>,
    Query(q): Query<DiagnoseQuery>,
    request: Request,
) -> Response {
    let Some(f) = request.extensions().get::<Form>().cloned() else {
        return super::internal("no form on a signed-in POST");
    };
    let existing = match q.client.as_deref().filter(|id| !id.is_empty()) {
        Some(id) => c.state.store.get_client(id).await.ok().flatten(),
        None => None,
    };
    let form = ClientForm::from_form(&f);
    let (doc, problems) = form.document(existing.as_ref().map(|r| &r.document), existing.is_none());
    let d = diagnose_doc(&c, &doc, problems, existing.as_ref());
    let body = json!({
        "status": d.status(),
        "can_save": d.can_save,
        "diagnosis": d,
        "html": panel::body(&d),
    });
    crate::reply::json_response(StatusCode::OK, body.to_string())
}

/// The admin API's error as problems beside the fields.
fn admin_problems(e: &admin::AdminError) -> Vec<Problem> {
    if e.fields.is_empty() {
        return vec![Problem::field("resourceType", e.description.clone())];
    }
    e.fields
        .iter()
        .map(|f| Problem::field(f.field, f.message.clone()))
        .collect()
}

fn render(
    c: &Console,
    s: &SessionInfo,
    mode: Mode<'_>,
    form: &ClientForm,
    out: &Outcome<'_>,
    status: StatusCode,
) -> Response {
    let empty = Diagnosis::default();
    let d = out.diagnosis.unwrap_or(&empty);
    let all: Vec<&Problem> = d.errors.iter().chain(out.save_problems).collect();
    // Beside the fields only once Save was pressed: while checking, the panel lists them.
    let field_errors = |field: &str| -> Vec<&str> {
        all.iter()
            .filter(|p| {
                (out.attempted || !out.save_problems.is_empty())
                    && p.certificate.is_none()
                    && p.field == field
            })
            .map(|p| p.message.as_str())
            .collect()
    };
    let (title, action, diagnose_url) = match &mode {
        Mode::Create => (
            "New client".to_string(),
            format!("{BASE}/clients/new"),
            format!("{BASE}/api/diagnose"),
        ),
        Mode::Edit(r) => (
            format!("Client {}", r.name),
            format!("{BASE}/clients/{}", url_encode(&r.id)),
            format!("{BASE}/api/diagnose?client={}", url_encode(&r.id)),
        ),
    };
    let mut b = String::new();
    let _ = write!(
        b,
        "<p class=\"crumbs\"><a href=\"{BASE}/clients\">Clients</a> ›</p><h1>{}</h1>",
        esc(&title)
    );
    if let Some(msg) = out.flash {
        let _ = write!(b, "<div class=\"flash\" role=\"status\">{}</div>", esc(msg));
    }
    if out.attempted && !all.is_empty() {
        let _ = write!(
            b,
            "<div class=\"summary error error-summary\" id=\"error-summary\" tabindex=\"-1\" role=\"alert\">\
             <h2>Not saved: {} problem{} to fix</h2><ul>",
            all.len(),
            if all.len() == 1 { "" } else { "s" }
        );
        for p in &all {
            let (href, label) = match p.certificate {
                Some(i) => (format!("#cert-{i}"), format!("Certificate {i}")),
                None => (format!("#f-{}", p.field), field_label(p.field).to_string()),
            };
            let _ = write!(
                b,
                "<li><a href=\"{}\">{}</a>: {}</li>",
                esc(&href),
                esc(&label),
                esc(&p.message)
            );
        }
        b.push_str("</ul></div>");
    }
    let _ = write!(
        b,
        "<div class=\"edit-grid\"><form id=\"client-form\" class=\"client-form\" method=\"post\" action=\"{}\" data-diagnose=\"{}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&action),
        esc(&diagnose_url),
        esc(&s.csrf)
    );
    match &mode {
        Mode::Create => {
            input(
                &mut b,
                "name",
                "Name",
                &form.name,
                None,
                &field_errors("name"),
                "required maxlength=\"200\" autocomplete=\"off\"",
            );
            input(
                &mut b,
                "id",
                "Client id (optional)",
                &form.id,
                Some(
                    "1 to 64 letters, digits, '-' and '.'. Left empty, a random id is made. It cannot change later.",
                ),
                &field_errors("id"),
                "maxlength=\"64\" autocomplete=\"off\" spellcheck=\"false\"",
            );
        }
        Mode::Edit(r) => {
            let _ = write!(
                b,
                "<input type=\"hidden\" name=\"version\" value=\"{}\">\
                 <dl class=\"facts meta\"><dt>Client id</dt><dd><code>{}</code></dd>\
                 <dt>Version</dt><dd>{}, changed {}</dd></dl>",
                esc(&form.version),
                esc(&r.id),
                r.version,
                panel::date(&certbound_pki::time_fmt::rfc3339(r.updated_at)),
            );
            for msg in field_errors("version") {
                let _ = write!(
                    b,
                    "<p class=\"field-error\" id=\"f-version\">{}</p>",
                    esc(msg)
                );
            }
            if r.document.get("client_secret_hash").is_some() {
                b.push_str(
                    "<p class=\"note\">This client authenticates with a secret, which the console keeps unchanged. \
                     Pasting a trust store switches it to certificate authentication and drops the secret.</p>",
                );
            }
            input(
                &mut b,
                "name",
                "Name",
                &form.name,
                None,
                &field_errors("name"),
                "required maxlength=\"200\" autocomplete=\"off\"",
            );
        }
    }
    status_select(&mut b, &form.status, &field_errors("status"));
    textarea(&mut b, form, &field_errors("certificateTrustStore"));
    b.push_str(
        "<fieldset class=\"constraints\"><legend>Subject constraint <span class=\"aside\">(RFC 8705 §2.1.2; at most one)</span></legend>\
         <p class=\"hint\" id=\"constraints-hint\">With a CA in the trust store, set one so that only the right certificate from that CA \
         authenticates as this client.</p>",
    );
    for ((field, label, hint), value) in CONSTRAINTS.iter().zip(&form.constraints) {
        input(
            &mut b,
            field,
            label,
            value,
            Some(hint),
            &field_errors(field),
            "autocomplete=\"off\" spellcheck=\"false\"",
        );
    }
    b.push_str("</fieldset>");
    input(
        &mut b,
        "scope",
        "Scopes",
        &form.scope,
        Some("Space-separated scopes the client may ask for. Empty allows any."),
        &field_errors("scope"),
        "autocomplete=\"off\" spellcheck=\"false\"",
    );
    let lifetime_hint = format!(
        "In seconds, 60 to 86400. Empty uses the server's default ({} seconds).",
        c.state.token_lifetime
    );
    input(
        &mut b,
        "access_token_lifetime",
        "Token lifetime",
        &form.lifetime,
        Some(&lifetime_hint),
        &field_errors("access_token_lifetime"),
        "inputmode=\"numeric\" autocomplete=\"off\"",
    );
    for p in out
        .save_problems
        .iter()
        .filter(|p| p.field == "resourceType")
    {
        let _ = write!(
            b,
            "<p class=\"field-error\" id=\"f-resourceType\">{}</p>",
            esc(&p.message)
        );
    }
    b.push_str(
        "<div class=\"actions\"><button type=\"submit\" name=\"action\" value=\"check\" class=\"secondary\" formnovalidate>Check certificates</button> \
         <button type=\"submit\" name=\"action\" value=\"save\">Save client</button></div>",
    );
    if let Mode::Edit(r) = &mode {
        let _ = write!(
            b,
            "<p class=\"danger-zone\"><a href=\"{BASE}/clients/{}/delete\">Delete this client…</a></p>",
            url_encode(&r.id)
        );
    }
    b.push_str("</form>");
    let status_text = if out.diagnosis.is_some() {
        d.status()
    } else {
        "No certificate pasted yet.".to_string()
    };
    let panel_body = if out.diagnosis.is_some() {
        panel::body(d)
    } else {
        panel::body(&Diagnosis {
            empty: true,
            ..Diagnosis::default()
        })
    };
    let _ = write!(
        b,
        "<section class=\"diagnostics\" aria-labelledby=\"diag-title\"><h2 id=\"diag-title\">Certificate diagnostics</h2>\
         <p id=\"diag-status\" class=\"status\" role=\"status\">{}</p><div id=\"diagnostics-body\">{}</div></section></div>",
        esc(&status_text),
        panel_body
    );
    html::html(status, html::page(&title, Section::Clients, Some(s), &b))
}

/// One labelled input with its hint and errors.
fn input(
    out: &mut String,
    field: &str,
    label: &str,
    value: &str,
    hint: Option<&str>,
    errors: &[&str],
    attrs: &str,
) {
    let _ = write!(
        out,
        "<div class=\"field{}\">",
        if errors.is_empty() { "" } else { " invalid" }
    );
    let _ = write!(out, "<label for=\"f-{field}\">{}</label>", esc(label));
    let described = describe(out, field, hint, errors);
    let _ = write!(
        out,
        "<input type=\"text\" id=\"f-{field}\" name=\"{field}\" value=\"{}\"{described}{} {attrs}></div>",
        esc(value),
        if errors.is_empty() {
            ""
        } else {
            " aria-invalid=\"true\""
        },
    );
}

/// The status select: active, or off (refused everywhere, tokens included).
fn status_select(out: &mut String, value: &str, errors: &[&str]) {
    let field = "status";
    let _ = write!(
        out,
        "<div class=\"field{}\"><label for=\"f-{field}\">Status</label>",
        if errors.is_empty() { "" } else { " invalid" }
    );
    let described = describe(
        out,
        field,
        Some(
            "Off: the client gets invalid_client and its unexpired tokens are refused, at once on every instance. \
             Active again, they work again.",
        ),
        errors,
    );
    let _ = write!(out, "<select id=\"f-{field}\" name=\"{field}\"{described}>");
    let value = if value.is_empty() { "active" } else { value };
    for (option, label) in [("active", "Active"), ("off", "Off")] {
        let _ = write!(
            out,
            "<option value=\"{option}\"{}>{label}</option>",
            if option == value { " selected" } else { "" }
        );
    }
    if !STATUS_VALUES.contains(&value) {
        let _ = write!(
            out,
            "<option value=\"{}\" selected>{}</option>",
            esc(value),
            esc(value)
        );
    }
    out.push_str("</select></div>");
}

fn textarea(out: &mut String, form: &ClientForm, errors: &[&str]) {
    let field = "certificateTrustStore";
    let _ = write!(
        out,
        "<div class=\"field{}\">",
        if errors.is_empty() { "" } else { " invalid" }
    );
    let _ = write!(
        out,
        "<label for=\"f-{field}\">Certificate trust store (PEM)</label>"
    );
    let described = describe(
        out,
        field,
        Some(
            "Paste the client's self-signed certificate, or the CA certificate(s) that issue its certificates, \
             as received: text around the PEM blocks is ignored.",
        ),
        errors,
    );
    let _ = write!(
        out,
        "<textarea id=\"f-{field}\" name=\"{field}\" rows=\"14\" spellcheck=\"false\" autocomplete=\"off\" \
         autocapitalize=\"off\"{described}{}>\n{}</textarea></div>",
        if errors.is_empty() {
            ""
        } else {
            " aria-invalid=\"true\""
        },
        esc(&form.trust_store)
    );
}

/// Write the hint and errors of `field`; return the `aria-describedby` attribute.
fn describe(out: &mut String, field: &str, hint: Option<&str>, errors: &[&str]) -> String {
    let mut ids = Vec::new();
    if let Some(h) = hint {
        let _ = write!(
            out,
            "<p class=\"hint\" id=\"f-{field}-hint\">{}</p>",
            esc(h)
        );
        ids.push(format!("f-{field}-hint"));
    }
    if !errors.is_empty() {
        let _ = write!(out, "<div class=\"field-error\" id=\"f-{field}-error\">");
        for e in errors {
            let _ = write!(out, "<p>{}</p>", esc(e));
        }
        out.push_str("</div>");
        ids.push(format!("f-{field}-error"));
    }
    if ids.is_empty() {
        String::new()
    } else {
        format!(" aria-describedby=\"{}\"", ids.join(" "))
    }
}
