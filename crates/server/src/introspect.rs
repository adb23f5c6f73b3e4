//! Token introspection (RFC 7662, `POST /oauth2/introspect`) and revocation
//! (RFC 7009, `POST /oauth2/revoke`), for clients authenticated the same way
//! as at the token endpoint.
//!
//! Introspection answers `{"active": false}` for anything that is not a live
//! token issued here: bad signature, other issuer, expired, revoked, or of a
//! client that is switched off or no longer registered. A client
//! may revoke only its own tokens; revoking an unknown or invalid token is not
//! an error (RFC 7009 §2.2).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use certbound_oauth::client::ClientStatus;
use certbound_oauth::introspect::IntrospectionResponse;
use certbound_oauth::request::IntrospectionRequest;
use certbound_oauth::{AccessTokenClaims, ErrorCode, OAuthError, Validation};
use certbound_store::AuditResult;
use time::OffsetDateTime;

use crate::client_auth::{Caller, Refusal, audit_event, authenticate};
use crate::identity::Connection;
use crate::reply::{OAuthReply, internal, json_response};
use crate::state::AppState;
use crate::token::read_form;

/// `POST /oauth2/introspect`.
pub(crate) async fn introspect(
    State(state): State<Arc<AppState>>,
    request: Request<Body>,
) -> Response {
    handle(&state, request, "introspect")
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// `POST /oauth2/revoke`.
pub(crate) async fn revoke(State(state): State<Arc<AppState>>, request: Request<Body>) -> Response {
    handle(&state, request, "revoke")
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn handle(
    state: &AppState,
    request: Request<Body>,
    kind: &'static str,
) -> Result<Response, OAuthReply> {
    let identity = request
        .extensions()
        .get::<Connection>()
        .map(|c| Arc::clone(&c.0));
    let (parts, body) = request.into_parts();
    let body = read_form(&parts.headers, body).await?;
    let req = IntrospectionRequest::parse(&body).map_err(|e| OAuthReply(e.into()))?;
    let caller = Caller {
        kind,
        authorization: parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
        client_id: req.client_id.as_deref(),
        client_secret: req.client_secret.as_deref(),
        assertion: &req.assertion,
        identity: identity.as_deref(),
    };
    let now = OffsetDateTime::now_utc();
    let crate::client_auth::Authenticated { client, method, .. } =
        match authenticate(state, &caller, now).await {
            Ok(authenticated) => authenticated,
            Err(refusal) => {
                if let Refusal::Client(refused) = &refusal {
                    state
                        .audit
                        .record(refused.event(state, kind, identity.as_deref()));
                }
                return Err(refusal.into_reply());
            }
        };
    let claims = verify(state, &req.token, now);
    let mut event = audit_event(kind, identity.as_deref(), AuditResult::Success);
    event.client_id = Some(client.id.clone());
    event.method = Some(method.as_str().into());
    if kind == "introspect" {
        // A token of a client switched off (or removed) since is inactive,
        // and so is one whose client cannot be read now (fail closed).
        let active = match &claims {
            Ok(c) if !state.revocations.is_revoked(&c.jti) => {
                matches!(
                    state.registry.status(&c.client_id).await,
                    Ok(Some(ClientStatus::Active))
                )
            }
            _ => false,
        };
        let response = match &claims {
            Ok(c) if active => IntrospectionResponse::active(c),
            _ => IntrospectionResponse::inactive(),
        };
        event.detail = Some(format!("active={}", response.active));
        state.audit.record(event);
        return Ok(json_response(StatusCode::OK, response.to_json()));
    }
    if let Ok(c) = &claims {
        if c.client_id != client.id {
            event.result = AuditResult::Failure;
            event.reason = Some(format!("token belongs to client {}", c.client_id));
            state.audit.record(event);
            return Err(OAuthReply(OAuthError::with_description(
                ErrorCode::UnauthorizedClient,
                "the token was not issued to this client",
            )));
        }
        let expires = OffsetDateTime::from_unix_timestamp(c.exp).unwrap_or(now);
        state
            .revocations
            .revoke(&c.jti, &c.client_id, expires)
            .await
            .map_err(|e| internal("cannot store a revocation", &e))?;
        event.detail = Some(format!("revoked jti={}", c.jti));
    } else {
        event.detail = Some("token not valid here: nothing to revoke".into());
    }
    state.audit.record(event);
    Ok(json_response(StatusCode::OK, "{}".into()))
}

/// A token issued and signed here, not expired.
fn verify(
    state: &AppState,
    token: &str,
    now: OffsetDateTime,
) -> Result<AccessTokenClaims, certbound_oauth::JwtError> {
    let validation = Validation::new(state.issuer.clone());
    certbound_oauth::verify_access_token(
        token,
        &state.verifying_keys,
        &validation,
        now.unix_timestamp(),
    )
}
