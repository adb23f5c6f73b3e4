//! Client authentication shared by the token, introspection and revocation
//! endpoints (RFC 6749 §2.3, RFC 8705 §2): by the certificate of the
//! connection, checked against the client's trust store (with a per-connection
//! cache for kept-alive requests), or by secret (Basic or in the body).
//! Failures answer `invalid_client` and log and audit the precise reason.

use std::sync::Arc;

use certbound_oauth::OAuthError;
use certbound_oauth::auth::{AuthFailure, Method, authenticate_secret, check_status};
use certbound_oauth::client::CompiledClient;
use certbound_oauth::request::ClientAuthentication;
use certbound_store::{AuditEvent, AuditResult};
use time::OffsetDateTime;

use crate::chain_cache::Key;
use crate::identity::ClientIdentity;
use crate::reply::OAuthReply;
use crate::state::AppState;

/// Who is calling an endpoint, as the request tells it.
#[derive(Debug)]
pub struct Caller<'a> {
    /// The audit record kind: "token", "introspect", "revoke".
    pub kind: &'static str,
    pub authorization: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub client_secret: Option<&'a str>,
    pub identity: Option<&'a ClientIdentity>,
}

/// Authenticate the caller; `invalid_client` (or `invalid_request`) otherwise.
pub async fn authenticate(
    state: &AppState,
    caller: &Caller<'_>,
    now: OffsetDateTime,
) -> Result<(Arc<CompiledClient>, Method), OAuthReply> {
    let auth =
        ClientAuthentication::resolve(caller.authorization, caller.client_id, caller.client_secret)
            .map_err(|e| OAuthReply(e.into()))?;
    let identity = caller.identity;
    let (client_id, secret) = match &auth {
        ClientAuthentication::Basic {
            client_id,
            client_secret,
        } => (
            client_id,
            Some((client_secret.as_str(), Method::ClientSecretBasic)),
        ),
        ClientAuthentication::Post {
            client_id,
            client_secret,
        } => (
            client_id,
            Some((client_secret.as_str(), Method::ClientSecretPost)),
        ),
        ClientAuthentication::ClientId { client_id } => (client_id, None),
        ClientAuthentication::None => {
            return Err(OAuthReply(OAuthError::invalid_request(
                "client_id is required (RFC 8705 §2: the certificate authenticates the client_id sent with it)",
            )));
        }
    };
    let snapshot = state.registry.snapshot();
    let Some(client) = snapshot.clients.get(client_id.as_str()).cloned() else {
        let failure = AuthFailure::UnknownClient {
            client_id: client_id.clone(),
        };
        return Err(reject(state, caller, client_id, None, failure));
    };
    // Before any cache: an `off` client is refused however it authenticated before.
    if let Err(failure) = check_status(&client) {
        return Err(reject(state, caller, client_id, None, failure));
    }
    let result = match secret {
        // PBKDF2 takes milliseconds: keep it off the async workers.
        Some((secret, method)) => {
            let (c, secret) = (Arc::clone(&client), secret.to_string());
            tokio::task::spawn_blocking(move || authenticate_secret(&c, &secret, method))
                .await
                .unwrap_or(Err(AuthFailure::WrongSecret))
        }
        None if identity.is_some_and(|i| i.header_error.is_some()) => {
            Err(AuthFailure::UnreadableCertificate {
                reason: identity
                    .and_then(|i| i.header_error.clone())
                    .unwrap_or_default(),
            })
        }
        None => {
            let chain = identity.map(|i| i.chain.as_slice()).unwrap_or(&[]);
            // A cached success never outlives a change of the CRLs.
            let crls = state.crls.as_ref().map(|c| c.generation_and_check());
            let generation = (snapshot.generation, crls.as_ref().map_or(0, |c| c.0));
            match identity.and_then(|i| i.cached_auth(client_id, generation, now)) {
                Some(method) => Ok(method),
                None => {
                    let key = identity.and_then(|i| Key::new(client_id, generation, i));
                    let result = state
                        .chain_cache
                        .authenticate(key, &client, chain, now, crls.map(|c| c.1))
                        .await;
                    if state.crls.is_some() {
                        count_revocation_check(state, &result);
                    }
                    if let (Ok(method), Some(identity)) = (&result, identity) {
                        identity.remember_auth(client_id, generation, *method);
                    }
                    result
                }
            }
        }
    };
    // [revocation] fetch_crl / ocsp: asked on every request (answers are
    // cached until their nextUpdate), so a cached authentication does not
    // outlive one.
    let result = match (result, &state.online_revocation) {
        (Ok(Method::TlsClientAuth), Some(_)) => {
            let chain = identity.map(|i| i.chain.as_slice()).unwrap_or(&[]);
            let anchors = client
                .trust_store
                .as_ref()
                .map(|t| t.anchors.certs())
                .unwrap_or(&[]);
            crate::online_revocation::check(state, chain, anchors)
                .await
                .map(|()| Method::TlsClientAuth)
                .map_err(AuthFailure::Chain)
        }
        (result, _) => result,
    };
    match result {
        Ok(method) => Ok((client, method)),
        Err(failure) => {
            let method = if secret.is_some() {
                "client_secret"
            } else {
                "tls_client_auth"
            };
            Err(reject(state, caller, client_id, Some(method), failure))
        }
    }
}

/// Count a certificate authentication that checked the CRLs, by its result.
fn count_revocation_check(state: &AppState, result: &Result<Method, AuthFailure>) {
    let chain = match result {
        Ok(m) => Ok(m),
        Err(AuthFailure::Chain(e)) => Err(e),
        Err(_) => return,
    };
    if let Some(r) = crate::crl::metric_result(&chain) {
        state.metrics.revocation_check("crl", r);
    }
}

/// Log and audit a failed authentication; answer `invalid_client`.
fn reject(
    state: &AppState,
    caller: &Caller<'_>,
    client_id: &str,
    method: Option<&str>,
    failure: AuthFailure,
) -> OAuthReply {
    let identity = caller.identity;
    tracing::warn!(
        endpoint = caller.kind,
        client_id,
        reason = %failure,
        code = failure.code(),
        peer = ?identity.map(|i| i.peer),
        listener = ?identity.map(|i| i.listener.as_ref()),
        "client authentication failed"
    );
    state.metrics.auth_failure(failure.code());
    let mut event = audit_event(caller.kind, identity, AuditResult::Failure);
    event.client_id = Some(client_id.to_string());
    event.method = method.map(str::to_string);
    event.reason = Some(format!("{}: {failure}", failure.code()));
    state.audit.record(event);
    OAuthReply(OAuthError::invalid_client())
}

/// An audit event with the connection's facts filled in.
pub fn audit_event(
    kind: &str,
    identity: Option<&ClientIdentity>,
    result: AuditResult,
) -> AuditEvent {
    let mut event = AuditEvent::new(kind, result);
    if let Some(i) = identity {
        event.thumbprint = i.thumbprint.clone();
        event.subject = i.subject();
        event.peer = Some(i.peer.to_string());
        event.listener = Some(i.listener.to_string());
    }
    event
}
