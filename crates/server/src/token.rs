//! `POST /oauth2/token`: the client_credentials grant (RFC 6749 §4.4) with
//! client authentication by certificate (RFC 8705 §2: `tls_client_auth`,
//! `self_signed_tls_client_auth`) or by secret for clients without mTLS, and
//! certificate-bound JWT access tokens (RFC 8705 §3, RFC 9068).
//!
//! The peer learns little (`invalid_client`); the log and the audit record say
//! exactly which check failed.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use certbound_oauth::client::CompiledClient;
use certbound_oauth::request::{GrantType, MAX_FORM_BODY_LEN};
use certbound_oauth::{IssueParams, OAuthError, TokenRequest};
use certbound_store::AuditResult;
use time::OffsetDateTime;

use crate::client_auth::{Caller, Refusal, audit_event, authenticate};
use crate::identity::{ClientIdentity, Connection};
use crate::reply::{OAuthReply, internal, json_response};
use crate::state::AppState;

/// What became of one token request: [`finish`] logs, audits and counts it,
/// once.
struct Outcome {
    /// The `client_id` the request named in its body, when it could be read.
    client_id: Option<String>,
    /// The authentication method used, or the one attempted when refused.
    method: &'static str,
    result: Result<Issued, Refusal>,
}

/// A token issued.
struct Issued {
    response: Response,
    /// The client that authenticated (the request may not name it in its body).
    client_id: String,
    jti: String,
    bound: bool,
}

/// The token endpoint.
pub(crate) async fn token(State(state): State<Arc<AppState>>, request: Request<Body>) -> Response {
    let identity = request
        .extensions()
        .get::<Connection>()
        .map(|c| Arc::clone(&c.0));
    let identity = identity.as_deref();
    let (parts, body) = request.into_parts();
    let refused = |request: Option<&TokenRequest>, refusal: Refusal| Outcome {
        client_id: request.and_then(|r| r.client_id.clone()),
        method: attempted_method(&parts.headers, request, identity),
        result: Err(refusal),
    };
    let outcome = match read_form(&parts.headers, body).await {
        Err(reply) => refused(None, reply.into()),
        Ok(body) => match TokenRequest::parse(&body) {
            Err(e) => refused(None, OAuthReply(e.into()).into()),
            Ok(request) => match issue(&state, &parts.headers, &request, identity).await {
                Ok((issued, method)) => Outcome {
                    client_id: request.client_id.clone(),
                    method,
                    result: Ok(issued),
                },
                Err(reply) => refused(Some(&request), reply),
            },
        },
    };
    finish(&state, identity, outcome)
}

/// Log, audit and count `outcome`, and answer it: a token issued, a client
/// that failed authentication (with the precise check that failed), or a
/// request refused otherwise (malformed, another grant type, a scope not
/// allowed, the store down).
fn finish(state: &AppState, identity: Option<&ClientIdentity>, outcome: Outcome) -> Response {
    let Outcome {
        client_id,
        method,
        result,
    } = outcome;
    match result {
        Ok(issued) => {
            let mut event = audit_event("token", identity, AuditResult::Success);
            event.client_id = Some(issued.client_id.clone());
            event.method = Some(method.into());
            event.detail = Some(format!("jti={}", issued.jti));
            state.audit.record(event);
            state.metrics.token_request(method, "success");
            tracing::debug!(client_id = %issued.client_id, method, bound = issued.bound, "token issued");
            issued.response
        }
        Err(refusal) => {
            let event = match &refusal {
                Refusal::Client(refused) => refused.event(state, "token", identity),
                Refusal::Reply(reply) => {
                    let description = reply.0.description.as_deref().unwrap_or("");
                    tracing::info!(
                        listener = identity.map(|i| &*i.listener),
                        peer = identity.map(|i| i.peer.to_string()),
                        error = reply.0.code.as_str(),
                        description,
                        "token request refused"
                    );
                    let mut event = audit_event("token", identity, AuditResult::Failure);
                    event.client_id = client_id;
                    event.reason = Some(format!("{}: {description}", reply.0.code.as_str()));
                    event
                }
            };
            state.audit.record(event);
            let reply = refusal.into_reply();
            state.metrics.token_request(method, reply.0.code.as_str());
            reply.into_response()
        }
    }
}

/// Read a form body within the size limit.
pub(crate) async fn read_form(
    headers: &HeaderMap,
    body: Body,
) -> Result<axum::body::Bytes, OAuthReply> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(OAuthReply(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        )));
    }
    axum::body::to_bytes(body, MAX_FORM_BODY_LEN)
        .await
        .map_err(|_| {
            OAuthReply(OAuthError::invalid_request(format!(
                "the body is larger than {MAX_FORM_BODY_LEN} bytes"
            )))
        })
}

/// Authenticate the client and sign its token; the token and the method
/// the client authenticated by.
async fn issue(
    state: &AppState,
    headers: &HeaderMap,
    request: &TokenRequest,
    identity: Option<&ClientIdentity>,
) -> Result<(Issued, &'static str), Refusal> {
    if let GrantType::Other(grant) = &request.grant_type {
        return Err(OAuthReply(OAuthError::unsupported_grant_type(grant)).into());
    }
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let now = OffsetDateTime::now_utc();
    let caller = Caller {
        kind: "token",
        authorization,
        client_id: request.client_id.as_deref(),
        client_secret: request.client_secret.as_deref(),
        assertion: &request.assertion,
        identity,
    };
    let crate::client_auth::Authenticated {
        client,
        method,
        extensions,
    } = authenticate(state, &caller, now).await?;
    if state.audit_on_store_error == crate::config::OnStoreError::Refuse
        && state.audit.store_failing()
    {
        tracing::warn!(
            client_id = %client.id,
            "token refused: the store takes no audit events ([audit] on_store_error = \"refuse\")"
        );
        return Err(OAuthReply(OAuthError::with_description(
            certbound_oauth::ErrorCode::TemporarilyUnavailable,
            "the server cannot record the issuance now; try again shortly",
        ))
        .into());
    }

    let scope = grant_scope(&client, &request.scope)?;
    let thumbprint = identity.and_then(|i| i.thumbprint.as_deref());
    let params = IssueParams {
        issuer: &state.issuer,
        client_id: &client.id,
        subject: None,
        audience: &state.audience,
        scope: &scope,
        lifetime_secs: lifetime(&client, state.token_lifetime),
        certificate_thumbprint: thumbprint,
        extensions: extensions.as_ref(),
    };
    let issued = certbound_oauth::issue(&state.signing_key, &params, now.unix_timestamp())
        .map_err(|e| internal("cannot sign the access token", &e))?;
    let body = serde_json::to_string(&issued.response())
        .map_err(|e| internal("cannot render the token response", &e))?;
    let issued = Issued {
        response: json_response(StatusCode::OK, body),
        client_id: client.id.clone(),
        jti: issued.claims.jti,
        bound: thumbprint.is_some(),
    };
    Ok((issued, method.as_str()))
}

/// The client's token lifetime; at most an hour for a UDAP client (HL7 FAST
/// Security §5.2.2).
fn lifetime(client: &CompiledClient, default: u64) -> u64 {
    let lifetime = client.token_lifetime.unwrap_or(default);
    match client.udap {
        Some(_) => lifetime.min(certbound_oauth::udap::MAX_ACCESS_TOKEN_LIFETIME),
        None => lifetime,
    }
}

/// The scopes to grant: those asked for, each allowed; or, when none are
/// asked for, every scope the client is allowed.
fn grant_scope(client: &CompiledClient, requested: &[String]) -> Result<Vec<String>, OAuthReply> {
    match &client.allowed_scopes {
        None => Ok(requested.to_vec()),
        Some(allowed) if requested.is_empty() => Ok(allowed.clone()),
        Some(allowed) => {
            let covered = |s: &String| allowed.iter().any(|a| certbound_oauth::scope::covers(a, s));
            if let Some(bad) = requested.iter().find(|s| !covered(s)) {
                return Err(OAuthReply(OAuthError::invalid_scope(format!(
                    "the client may not request `{bad}`"
                ))));
            }
            Ok(requested.to_vec())
        }
    }
}

/// The authentication method a refused request attempted, for the metrics:
/// from the request as parsed (`None` when it could not be).
fn attempted_method(
    headers: &HeaderMap,
    request: Option<&TokenRequest>,
    identity: Option<&ClientIdentity>,
) -> &'static str {
    if headers.contains_key(header::AUTHORIZATION) {
        "client_secret_basic"
    } else if request.is_some_and(|r| r.assertion.is_present()) {
        "private_key_jwt"
    } else if request.is_some_and(|r| r.client_secret.is_some()) {
        "client_secret_post"
    } else if identity.is_some_and(|i| !i.chain.is_empty()) {
        "tls_client_auth"
    } else {
        "none"
    }
}
