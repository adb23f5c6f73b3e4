//! `POST /oauth2/register`: UDAP dynamic client registration (HL7 FAST
//! Security §3, RFC 7591 as profiled). Anyone may call it; only a software
//! statement signed by the key of a certificate that chains to one of the
//! communities' anchors registers anything. The client is known by its
//! community and URI (the statement's `iss`, a URI SAN of its certificate):
//! its `client_id` is derived from that pair, so registering again updates
//! the same client (200) on any instance, and `grant_types: []` cancels it.
//!
//! Every refusal is an RFC 7591 §3.2.2 error (`invalid_software_statement`,
//! `unapproved_software_statement`, `invalid_client_metadata`), logged and
//! audited; nothing is stored unless every check passed.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use certbound_oauth::client::{ClientApplication, UdapRegistration};
use certbound_oauth::udap::{self, Statement, UdapError};
use certbound_store::{AssertionUse, AuditResult, StoreError};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::{Community, Udap};
use crate::client_auth::audit_event;
use crate::identity::{ClientIdentity, Connection};
use crate::reply::json_response;
use crate::state::AppState;

/// Largest registration request read: a statement with a chain of a few
/// RSA certificates, and certifications, fit well within it.
pub(crate) const MAX_BODY: usize = 256 * 1024;

/// A refused registration: the RFC 7591 error and its description.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl Refusal {
    fn bad(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
        }
    }

    fn unavailable(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: "temporarily_unavailable",
            description: description.into(),
        }
    }
}

impl From<UdapError> for Refusal {
    fn from(e: UdapError) -> Self {
        Self::bad(e.registration_error(), e.to_string())
    }
}

/// What a registration did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Created,
    Updated,
    Cancelled,
}

/// `POST /oauth2/register`.
pub(crate) async fn register(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let Some(udap) = &state.udap else {
        return json_response(
            StatusCode::NOT_FOUND,
            json!({
                "error": "not_found",
                "error_description": "this server does not offer dynamic registration (no [[udap.community]] is configured)",
            })
            .to_string(),
        );
    };
    let identity = request
        .extensions()
        .get::<Connection>()
        .map(|c| Arc::clone(&c.0));
    let mut claimed: Option<String> = None;
    match handle(&state, udap, request, &mut claimed).await {
        Ok((outcome, id, body)) => {
            let mut event = audit_event("register", identity.as_deref(), AuditResult::Success);
            event.client_id = Some(id.clone());
            event.method = Some("udap".into());
            event.detail = Some(
                match outcome {
                    Outcome::Created => "registered",
                    Outcome::Updated => "registration updated",
                    Outcome::Cancelled => "registration cancelled",
                }
                .to_owned(),
            );
            state.audit.record(event);
            if let Err(e) = state.registry.refresh(&id).await {
                tracing::warn!(error = %e, "registry refresh after a registration failed; the watcher will retry");
            }
            tracing::info!(client_id = %id, ?outcome, "UDAP registration");
            let status = if outcome == Outcome::Created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            let mut resp = json_response(status, body.to_string());
            if outcome == Outcome::Created {
                if let Ok(loc) = HeaderValue::from_str(&format!("/admin/ClientApplication/{id}")) {
                    resp.headers_mut().insert(header::LOCATION, loc);
                }
            }
            resp
        }
        Err(refusal) => {
            refused(&state, identity.as_deref(), claimed.as_deref(), &refusal);
            refusal.into_response()
        }
    }
}

fn refused(
    state: &AppState,
    identity: Option<&ClientIdentity>,
    client_id: Option<&str>,
    refusal: &Refusal,
) {
    tracing::warn!(
        error = refusal.error,
        reason = %refusal.description,
        client_id,
        peer = ?identity.map(|i| i.peer),
        "UDAP registration refused"
    );
    let mut event = audit_event("register", identity, AuditResult::Failure);
    event.client_id = client_id.map(str::to_owned);
    event.method = Some("udap".into());
    event.reason = Some(format!("{}: {}", refusal.error, refusal.description));
    state.audit.record(event);
}

async fn handle(
    state: &AppState,
    udap: &Udap,
    request: Request,
    claimed: &mut Option<String>,
) -> Result<(Outcome, String, Value), Refusal> {
    let bytes = axum::body::to_bytes(request.into_body(), MAX_BODY)
        .await
        .map_err(|_| Refusal {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            error: "invalid_client_metadata",
            description: format!("the request body is larger than {MAX_BODY} bytes"),
        })?;
    let body: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|e| {
        Refusal::bad(
            "invalid_client_metadata",
            format!("the body is not a JSON object ({e})"),
        )
    })?;
    let statement = match body.get("software_statement") {
        Some(Value::String(s)) => s.as_str(),
        _ => {
            return Err(Refusal::bad(
                "invalid_software_statement",
                "software_statement is required: the signed JWT of the registration (HL7 FAST Security §3.1)",
            ));
        }
    };
    match body.get("udap") {
        None => {}
        Some(Value::String(v)) if v == udap::VERSION => {}
        Some(other) => {
            return Err(Refusal::bad(
                "invalid_client_metadata",
                format!("udap is {other}; this server speaks UDAP version \"1\""),
            ));
        }
    }
    let now = OffsetDateTime::now_utc();
    let (community, signed) = trusted_by(state, udap, statement, now).await?;
    let st = udap::check_statement(&signed, &udap.registration_audiences, now.unix_timestamp())?;
    let id = udap::client_id(&community.config.name, &st.iss);
    *claimed = Some(id.clone());
    let scope = if st.cancels() {
        String::new()
    } else {
        granted_scope(community, &st)?
    };
    let used = AssertionUse {
        client_id: id.clone(),
        jti: format!("software_statement:{}", st.jti),
        expires_at: OffsetDateTime::from_unix_timestamp(st.exp).unwrap_or(now),
    };
    match state.replays.record(used).await {
        Ok(true) => {}
        Ok(false) => {
            return Err(Refusal::bad(
                "invalid_software_statement",
                format!(
                    "the software statement's jti {:?} was used before (a replay)",
                    st.jti
                ),
            ));
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot record the software statement's jti");
            return Err(Refusal::unavailable(
                "the server cannot check the software statement for replay now; try again shortly",
            ));
        }
    }
    let existing = state
        .store
        .get_client(&id)
        .await
        .map_err(|e| store_refusal(&e))?;
    let registration = UdapRegistration {
        community: community.config.name.clone(),
        uri: st.iss.clone(),
    };
    if let Some(record) = &existing {
        let theirs: Option<UdapRegistration> = record
            .document
            .get("udap")
            .and_then(|u| serde_json::from_value(u.clone()).ok());
        if theirs.as_ref() != Some(&registration) {
            return Err(Refusal::bad(
                "invalid_software_statement",
                format!(
                    "client_id {id} belongs to a client that was not registered by this URI in this community"
                ),
            ));
        }
    }
    let mut response = json!({
        "client_id": id,
        "software_statement": statement,
        "client_name": st.client_name,
        "grant_types": st.grant_types,
        "token_endpoint_auth_method": "private_key_jwt",
        "contacts": st.contacts,
    });
    if st.cancels() {
        if existing.is_some() {
            state
                .store
                .delete_client(&id)
                .await
                .map_err(|e| store_refusal(&e))?;
        }
        return Ok((Outcome::Cancelled, id, response));
    }
    response["scope"] = Value::String(scope.clone());
    if let Some(logo) = &st.logo_uri {
        response["logo_uri"] = Value::String(logo.clone());
    }
    let mut app = ClientApplication {
        id: Some(id.clone()),
        name: st.client_name.clone(),
        scope: Some(scope),
        udap: Some(registration),
        // A client the operator switched off stays off when it registers again.
        status: existing
            .as_ref()
            .and_then(|r| r.document.get("status"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        ..ClientApplication::default()
    };
    app.resource_type = certbound_oauth::client::RESOURCE_TYPE.to_owned();
    for (key, value) in [
        ("grant_types", json!(st.grant_types)),
        ("token_endpoint_auth_method", json!("private_key_jwt")),
        ("contacts", json!(st.contacts)),
    ] {
        app.extra.insert(key.to_owned(), value);
    }
    if let Some(logo) = &st.logo_uri {
        app.extra.insert("logo_uri".to_owned(), json!(logo));
    }
    app.validate(state.policy, now)
        .map_err(|e| Refusal::bad("invalid_client_metadata", e.to_string()))?;
    let document = serde_json::to_value(&app)
        .map_err(|e| Refusal::bad("invalid_client_metadata", e.to_string()))?;
    let outcome = match existing {
        Some(record) => {
            state
                .store
                .update_client(&id, &app.name, &document, Some(record.version))
                .await
                .map_err(|e| store_refusal(&e))?;
            Outcome::Updated
        }
        None => match state.store.create_client(&id, &app.name, &document).await {
            Ok(_) => Outcome::Created,
            // Registered at the same moment through another request or instance.
            Err(StoreError::AlreadyExists { .. }) => {
                return Err(Refusal::unavailable(
                    "the same client registered at the same moment; send the registration again",
                ));
            }
            Err(e) => return Err(store_refusal(&e)),
        },
    };
    Ok((outcome, id, response))
}

/// The community whose anchors the statement's chain leads to: tried in
/// configuration order. A statement that verifies to none is unapproved.
async fn trusted_by<'u>(
    state: &AppState,
    udap: &'u Udap,
    statement: &str,
    now: OffsetDateTime,
) -> Result<(&'u Community, certbound_oauth::udap::Signed), Refusal> {
    let mut reasons = Vec::new();
    for community in udap.communities() {
        match community.verify(state, statement, now).await {
            Ok(signed) => return Ok((community, signed)),
            Err(UdapError::Untrusted { reason, .. }) => {
                reasons.push(format!("{}: {reason}", community.config.name));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Refusal::bad(
        "unapproved_software_statement",
        format!(
            "the software statement's x5c certificate chain is not trusted by this server's communities ({})",
            reasons.join("; ")
        ),
    ))
}

/// The scope registered: what the statement asks for, less what the
/// community does not allow; nothing left is an error.
fn granted_scope(community: &Community, st: &Statement) -> Result<String, Refusal> {
    let asked = st.scope.as_deref().unwrap_or_default();
    let Some(allowed) = &community.config.scope else {
        return Ok(asked.to_owned());
    };
    let granted: Vec<&str> = asked
        .split(' ')
        .filter(|s| !s.is_empty() && allowed.iter().any(|a| certbound_oauth::scope::covers(a, s)))
        .collect();
    if granted.is_empty() {
        return Err(Refusal::bad(
            "invalid_client_metadata",
            format!(
                "scope: none of {asked:?} is allowed in community {} (allowed: {})",
                community.config.name,
                allowed.join(" ")
            ),
        ));
    }
    Ok(granted.join(" "))
}

fn store_refusal(e: &StoreError) -> Refusal {
    tracing::warn!(error = %e, "the store refused a UDAP registration");
    Refusal::unavailable("the server cannot store the registration now; try again shortly")
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        json_response(
            self.status,
            json!({"error": self.error, "error_description": self.description}).to_string(),
        )
    }
}
