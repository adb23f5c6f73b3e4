//! The client form: create and edit a ClientApplication, with its trust
//! store diagnosed on every Check (a plain POST, so it works without
//! JavaScript) and, through the page's script, as the operator types (the
//! JSON endpoint). Saving goes through the admin API's own validation and
//! store path, and is refused while the diagnosis has errors.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use certbound_oauth::client::{ClientApplication, RESOURCE_TYPE, parse_lifetime};
use certbound_store::{ClientRecord, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::diagnose::{self, Diagnosis, Problem};
use super::edit_view::{Mode, Outcome, render};
use super::form::Form;
use super::html::{self, url_encode};
use super::session::SessionInfo;
use super::{BASE, Console, panel};
use certbound_server::admin;

/// The constraint fields: name, label, example (RFC 8705 §2.1.2: at most one is set).
pub(super) const CONSTRAINTS: [(&str, &str, &str); 5] = [
    (
        "tls_client_auth_subject_dn",
        "Subject DN",
        "CN=partner,O=Example",
    ),
    (
        "tls_client_auth_san_dns",
        "SAN DNS name",
        "client.partner.example",
    ),
    (
        "tls_client_auth_san_uri",
        "SAN URI",
        "spiffe://partner.example/billing",
    ),
    ("tls_client_auth_san_ip", "SAN IP address", "192.0.2.10"),
    (
        "tls_client_auth_san_email",
        "SAN e-mail address",
        "ops@partner.example",
    ),
];

/// The form's fields as typed.
#[derive(Debug, Clone, Default)]
pub(super) struct ClientForm {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) trust_store: String,
    /// The constraint chosen (a field of [`CONSTRAINTS`]), or empty for none.
    pub(super) constraint_type: String,
    pub(super) constraint_value: String,
    /// The URL of the client's JWKS (`jwks_uri`, for `private_key_jwt`).
    pub(super) jwks_uri: String,
    /// The client's inline JWKS as JSON text (`jwks`).
    pub(super) jwks: String,
    /// `tls_client_certificate_bound_access_tokens` (RFC 8705 §3.4).
    pub(super) bound_tokens: bool,
    pub(super) scope: String,
    /// Seconds, or a duration as FHIR platforms write it (`1h`).
    pub(super) lifetime: String,
    pub(super) version: String,
    /// `active`, `off` or `error` (the ClientApplication's `status`).
    pub(super) status: String,
}

impl ClientForm {
    fn from_form(f: &Form) -> Self {
        // The chooser (a type and a value); a field posted by its own name
        // (a script, the admin API's name) counts too.
        let (constraint_type, constraint_value) = CONSTRAINTS
            .iter()
            .find(|(field, _, _)| !f.get(field).trim().is_empty())
            .map_or_else(
                || {
                    (
                        f.get("constraint_type").trim().to_string(),
                        f.get("constraint_value").to_string(),
                    )
                },
                |(field, _, _)| ((*field).to_string(), f.get(field).to_string()),
            );
        Self {
            id: f.get("id").trim().to_string(),
            name: f.get("name").to_string(),
            // Browsers send CRLF line ends from a textarea.
            trust_store: f.get("certificateTrustStore").replace("\r\n", "\n"),
            constraint_type,
            constraint_value,
            jwks_uri: match f.get("jwks_uri") {
                "" => f.get("jwksUri").to_string(),
                uri => uri.to_string(),
            },
            jwks: f.get("jwks").replace("\r\n", "\n"),
            bound_tokens: !f
                .get("tls_client_certificate_bound_access_tokens")
                .is_empty(),
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
        let (constraint_type, constraint_value) = CONSTRAINTS
            .iter()
            .map(|(field, _, _)| ((*field).to_string(), s(field)))
            .find(|(_, v)| !v.is_empty())
            .unwrap_or_default();
        Self {
            id: r.id.clone(),
            name: s("name"),
            trust_store: s("certificateTrustStore"),
            constraint_type,
            constraint_value,
            jwks_uri: match s("jwks_uri") {
                uri if uri.is_empty() => s("jwksUri"),
                uri => uri,
            },
            jwks: r
                .document
                .get("jwks")
                .filter(|v| !v.is_null())
                .and_then(|v| serde_json::to_string_pretty(v).ok())
                .unwrap_or_default(),
            bound_tokens: r
                .document
                .get("tls_client_certificate_bound_access_tokens")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            scope: s("scope"),
            // The number, or the text FHIR platforms write ("1h"), as stored.
            lifetime: r
                .document
                .get("access_token_lifetime")
                .and_then(Value::as_u64)
                .map_or_else(|| s("accessTokenLifetime"), |n| n.to_string()),
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
        // The secret hash is the server's to keep (admin::prepare decides, see
        // diagnose_doc); the others are server-managed.
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
        for (field, _, _) in CONSTRAINTS {
            set(field, "");
        }
        let value = self.constraint_value.trim();
        match CONSTRAINTS
            .iter()
            .find(|(field, _, _)| *field == self.constraint_type)
        {
            Some((field, _, _)) => set(field, value),
            None if value.is_empty() => {}
            None if self.constraint_type.is_empty() => problems.push(Problem::field(
                "constraint_type",
                "a constraint value is set without its type: choose Subject DN or a SAN type, or clear the value",
            )),
            None => problems.push(Problem::field(
                "constraint_type",
                format!(
                    "`{}` is not a constraint type: choose Subject DN or a SAN type",
                    self.constraint_type
                ),
            )),
        }
        // One name for the URL: `jwksUri` (the FHIR platforms' spelling) goes.
        set("jwksUri", "");
        set("jwks_uri", self.jwks_uri.trim());
        set("scope", self.scope.trim());
        obj.remove("jwks");
        let jwks = self.jwks.trim();
        if !jwks.is_empty() {
            match serde_json::from_str::<Value>(jwks) {
                Ok(keys) => {
                    if !keys.is_object() {
                        problems.push(Problem::field(
                            "jwks",
                            "is not a JWKS: write a JSON object with the public keys, {\"keys\": [...]}",
                        ));
                    }
                    obj.insert("jwks".into(), keys);
                }
                Err(e) => {
                    problems.push(Problem::field(
                        "jwks",
                        format!(
                            "is not JSON ({e}): paste the JWKS as published, {{\"keys\": [...]}}"
                        ),
                    ));
                    // Kept as text, so that the client still has keys and no
                    // other field is blamed; this problem blocks saving.
                    obj.insert("jwks".into(), jwks.into());
                }
            }
        }
        obj.remove("tls_client_certificate_bound_access_tokens");
        if self.bound_tokens {
            obj.insert(
                "tls_client_certificate_bound_access_tokens".into(),
                true.into(),
            );
        }
        // Active is the default: a client without `status` keeps none.
        match self.status.as_str() {
            "" | "active" if !obj.contains_key("status") => {}
            status => {
                obj.insert("status".into(), status.into());
            }
        }
        let lifetime = self.lifetime.trim();
        obj.remove("access_token_lifetime");
        obj.remove("accessTokenLifetime");
        if !lifetime.is_empty() {
            match lifetime.parse::<u64>() {
                Ok(n) => {
                    obj.insert("access_token_lifetime".into(), n.into());
                }
                // A duration ("1h") stays as FHIR platforms write it.
                Err(_) if parse_lifetime(lifetime).is_some() => {
                    obj.insert("accessTokenLifetime".into(), lifetime.into());
                }
                Err(_) => problems.push(Problem::field(
                    "access_token_lifetime",
                    format!(
                        "`{lifetime}` is not a whole number of seconds, nor a duration such as 30m or 1h"
                    ),
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
            // The form has no secret field: the stored secret stays as
            // admin::prepare keeps it for a change without `secret` (unless
            // a trust store replaces it on a client that had none).
            app.client_secret_hash =
                admin::kept_secret(app.certificate_trust_store.is_some(), existing);
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
    diagnose::diagnose(&app, problems, c.state.policy(), OffsetDateTime::now_utc())
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
    let record = match c.state.store().get_client(&id).await {
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
    let (app, _warnings) = match c.state.prepare_client(doc, None, None).await {
        Ok(prepared) => prepared,
        Err(e) => return refuse(admin_problems(&e), e.status),
    };
    let id = app.id.clone().unwrap_or_default();
    let document = match serde_json::to_value(&app) {
        Ok(d) => d,
        Err(e) => return super::internal(&format!("cannot serialize a client: {e}")),
    };
    match c
        .state
        .store()
        .create_client(&id, &app.name, &document)
        .await
    {
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
    c.state
        .client_changed(&request, format!("created client {id}"))
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
    let record = match c.state.store().get_client(&id).await {
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
    let (app, _warnings) = match c.state.prepare_client(doc, Some(&id), Some(&record)).await {
        Ok(prepared) => prepared,
        Err(e) => return refuse(admin_problems(&e), e.status),
    };
    let document = match serde_json::to_value(&app) {
        Ok(d) => d,
        Err(e) => return super::internal(&format!("cannot serialize a client: {e}")),
    };
    match c
        .state
        .store()
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
    c.state
        .client_changed(&request, format!("replaced client {id}"))
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
        Some(id) => c.state.store().get_client(id).await.ok().flatten(),
        None => None,
    };
    let form = ClientForm::from_form(&f);
    let (doc, problems) = form.document(existing.as_ref().map(|r| &r.document), existing.is_none());
    let d = diagnose_doc(&c, &doc, problems, existing.as_ref());
    let body = json!({
        "status": d.status(),
        "can_save": d.can_save,
        "diagnosis": d,
        "html": panel::body(&d).into_string(),
    });
    certbound_server::json_response(StatusCode::OK, body.to_string())
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

#[cfg(test)]
mod tests {
    use certbound_oauth::client::Policy;
    use certbound_testkit::client_key::ClientKey;

    use super::*;

    fn record(document: Value) -> ClientRecord {
        let now = OffsetDateTime::now_utc();
        ClientRecord {
            id: "smart".into(),
            name: "SMART".into(),
            document,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    fn diagnosis(doc: &Value, problems: Vec<Problem>) -> Diagnosis {
        let app: ClientApplication = serde_json::from_value(doc.clone()).unwrap();
        diagnose::diagnose(&app, problems, Policy::default(), OffsetDateTime::now_utc())
    }

    #[test]
    fn the_keys_fields_round_trip() {
        let key = ClientKey::es384("k1");
        let stored = json!({
            "resourceType": "ClientApplication", "name": "SMART",
            "jwksUri": "https://smart.example/jwks.json",
            "tls_client_certificate_bound_access_tokens": true,
            "accessTokenLifetime": "1h",
        });
        let form = ClientForm::from_record(&record(stored.clone()));
        assert_eq!(form.jwks_uri, "https://smart.example/jwks.json");
        assert!(form.bound_tokens);
        assert_eq!(form.lifetime, "1h");
        // Saved as read: one name for the URL, the duration as written.
        let (doc, problems) = form.document(Some(&stored), false);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(doc["jwks_uri"], "https://smart.example/jwks.json");
        assert!(doc.get("jwksUri").is_none());
        assert_eq!(doc["tls_client_certificate_bound_access_tokens"], true);
        assert_eq!(doc["accessTokenLifetime"], "1h");
        assert!(doc.get("access_token_lifetime").is_none());

        // Inline keys instead of the URL, the box unchecked, seconds.
        let inline = ClientForm {
            jwks_uri: String::new(),
            jwks: serde_json::to_string_pretty(&key.jwks()).unwrap(),
            bound_tokens: false,
            lifetime: "600".into(),
            ..form
        };
        let (doc, problems) = inline.document(Some(&stored), false);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(doc["jwks"], key.jwks());
        for gone in [
            "jwks_uri",
            "jwksUri",
            "tls_client_certificate_bound_access_tokens",
            "accessTokenLifetime",
        ] {
            assert!(doc.get(gone).is_none(), "{gone} kept: {doc}");
        }
        assert_eq!(doc["access_token_lifetime"], 600);
        let again = ClientForm::from_record(&record(doc));
        assert_eq!(
            serde_json::from_str::<Value>(&again.jwks).unwrap(),
            key.jwks()
        );
    }

    #[test]
    fn a_udap_client_keeps_its_registration_through_the_form() {
        let stored = json!({
            "resourceType": "ClientApplication", "name": "Partner",
            "udap": {"community": "urn:oid:1.2.3", "uri": "https://partner.example.org/app"},
            "scope": "system/*.rs",
        });
        let form = ClientForm {
            name: "Partner (renamed)".into(),
            scope: "system/*.rs".into(),
            ..ClientForm::default()
        };
        let (doc, problems) = form.document(Some(&stored), false);
        assert_eq!(doc["udap"], stored["udap"]);
        let d = diagnosis(&doc, problems);
        assert!(d.can_save, "{:?}", d.errors);
        assert!(
            d.status()
                .contains("registered by UDAP as https://partner.example.org/app"),
            "{}",
            d.status()
        );
    }

    #[test]
    fn a_keys_only_client_needs_no_trust_store() {
        let form = ClientForm {
            name: "SMART".into(),
            jwks_uri: "https://smart.example/jwks.json".into(),
            ..ClientForm::default()
        };
        let (doc, problems) = form.document(None, true);
        let d = diagnosis(&doc, problems);
        assert!(d.can_save, "{:?}", d.errors);
        assert!(d.empty && d.keys);
        assert_eq!(
            d.status(),
            "No certificate: the client authenticates with its keys (private_key_jwt)."
        );
        // Neither keys nor a certificate: the trust store is what is missing.
        let (doc, problems) = ClientForm {
            jwks_uri: String::new(),
            ..form
        }
        .document(None, true);
        let d = diagnosis(&doc, problems);
        assert!(!d.can_save);
        assert_eq!(d.errors[0].field, "certificateTrustStore");
    }

    #[test]
    fn a_jwks_that_is_not_json_is_one_problem_at_its_field() {
        for text in ["{\"keys\": [", "[]"] {
            let form = ClientForm {
                name: "SMART".into(),
                jwks: text.into(),
                ..ClientForm::default()
            };
            let (doc, problems) = form.document(None, true);
            let d = diagnosis(&doc, problems);
            assert!(!d.can_save);
            let fields: Vec<&str> = d.errors.iter().map(|p| p.field).collect();
            assert_eq!(fields, ["jwks"], "{text}: {:?}", d.errors);
        }
    }

    #[test]
    fn a_lifetime_that_is_no_duration_is_refused_by_the_form() {
        let form = ClientForm {
            lifetime: "soon".into(),
            ..ClientForm::default()
        };
        let (doc, problems) = form.document(None, true);
        assert!(doc.get("accessTokenLifetime").is_none());
        assert_eq!(problems[0].field, "access_token_lifetime");
        assert!(
            problems[0]
                .message
                .contains("is not a whole number of seconds")
        );
    }
}
