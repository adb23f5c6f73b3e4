//! Client authentication shared by the token, introspection and revocation
//! endpoints (RFC 6749 §2.3, RFC 8705 §2): by the certificate of the
//! connection, checked against the client's trust store (with a per-connection
//! cache for kept-alive requests), by a JWT signed with the client's key
//! (`private_key_jwt`, RFC 7523 §2.2; its `jti` recorded in the store so a
//! replay is refused on every instance), or by secret (Basic or in the body).
//! A `private_key_jwt` client with a trust store that presents a certificate
//! must pass both checks. A failure is a [`Refusal`] carrying the precise
//! reason, which the endpoint logs and audits with the rest of its outcome;
//! the caller is answered `invalid_client`.

use std::sync::Arc;

use certbound_oauth::OAuthError;
use certbound_oauth::assertion::{self, ASSERTION_TYPE, AssertionError, Expected};
use certbound_oauth::auth::{AuthFailure, Method, authenticate_secret, check_status};
use certbound_oauth::client::CompiledClient;
use certbound_oauth::request::{ClientAssertion, ClientAuthentication};
use certbound_store::{AuditEvent, AuditResult};
use time::OffsetDateTime;

use crate::chain_cache::Key;
use crate::identity::ClientIdentity;
use crate::reply::OAuthReply;
use crate::state::AppState;

/// Who is calling an endpoint, as the request tells it.
#[derive(Debug)]
pub(crate) struct Caller<'a> {
    /// The audit record kind: "token", "introspect", "revoke".
    pub kind: &'static str,
    pub authorization: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub client_secret: Option<&'a str>,
    /// `client_assertion_type` and `client_assertion`.
    pub assertion: &'a ClientAssertion,
    pub identity: Option<&'a ClientIdentity>,
}

/// A caller that authenticated.
#[derive(Debug)]
pub(crate) struct Authenticated {
    pub client: Arc<CompiledClient>,
    pub method: Method,
    /// The authorization extensions a UDAP client asserted (`hl7-b2b`),
    /// for its token.
    pub extensions: Option<serde_json::Value>,
}

/// Authenticate the caller; `invalid_client` (or `invalid_request`) otherwise.
pub(crate) async fn authenticate(
    state: &AppState,
    caller: &Caller<'_>,
    now: OffsetDateTime,
) -> Result<Authenticated, Refusal> {
    let (client, method, extensions) = if caller.assertion.is_present() {
        by_assertion(state, caller, now).await?
    } else {
        let (client, method) = by_certificate_or_secret(state, caller, now).await?;
        (client, method, None)
    };
    // RFC 8705 §3.4 (or the HRex policy): no certificate, no token.
    let certificate = caller.identity.is_some_and(|i| i.thumbprint.is_some());
    if caller.kind == "token" && client.require_binding && !certificate {
        return Err(refuse(
            &client.id,
            Some(method.as_str()),
            AuthFailure::BindingRequired,
        ));
    }
    Ok(Authenticated {
        client,
        method,
        extensions,
    })
}

async fn by_certificate_or_secret(
    state: &AppState,
    caller: &Caller<'_>,
    now: OffsetDateTime,
) -> Result<(Arc<CompiledClient>, Method), Refusal> {
    let auth =
        ClientAuthentication::resolve(caller.authorization, caller.client_id, caller.client_secret)
            .map_err(|e| Refusal::Reply(OAuthReply(e.into())))?;
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
            return Err(Refusal::Reply(OAuthReply(OAuthError::invalid_request(
                "client_id is required (RFC 8705 §2: the certificate authenticates the client_id sent with it)",
            ))));
        }
    };
    let client = registered(state, client_id).await?;
    let result = match secret {
        // PBKDF2 takes milliseconds: keep it off the async workers.
        Some((secret, method)) => {
            let (c, secret) = (Arc::clone(&client), secret.to_string());
            tokio::task::spawn_blocking(move || authenticate_secret(&c, &secret, method))
                .await
                .unwrap_or(Err(AuthFailure::WrongSecret))
        }
        None => certificate(state, &client, identity, now).await,
    };
    match result {
        Ok(method) => Ok((client, method)),
        Err(failure) => {
            let method = if secret.is_some() {
                "client_secret"
            } else {
                "tls_client_auth"
            };
            Err(refuse(client_id, Some(method), failure))
        }
    }
}

/// The registered, active client `client_id`; refusals are logged and audited.
async fn registered(state: &AppState, client_id: &str) -> Result<Arc<CompiledClient>, Refusal> {
    let found = state.registry.get(client_id).await.map_err(|e| {
        tracing::warn!(%client_id, error = %e, "cannot read the client from the store; refused");
        OAuthReply(OAuthError::with_description(
            certbound_oauth::ErrorCode::TemporarilyUnavailable,
            "the server cannot read the client registry now; try again shortly",
        ))
    })?;
    let Some(client) = found else {
        let failure = AuthFailure::UnknownClient {
            client_id: client_id.to_owned(),
        };
        return Err(refuse(client_id, None, failure));
    };
    // Before any cache: an `off` client is refused however it authenticated before.
    if let Err(failure) = check_status(&client) {
        return Err(refuse(client_id, None, failure));
    }
    Ok(client)
}

/// The certificate of the connection against the client's trust store, with
/// the caches and the online revocation sources: how the token,
/// introspection and revocation endpoints and the `client-cert` routes
/// authenticate a certificate as a client.
pub(crate) async fn certificate(
    state: &AppState,
    client: &Arc<CompiledClient>,
    identity: Option<&ClientIdentity>,
    now: OffsetDateTime,
) -> Result<Method, AuthFailure> {
    if let Some(reason) = identity.and_then(|i| i.header_error.clone()) {
        return Err(AuthFailure::UnreadableCertificate { reason });
    }
    let client_id = client.id.as_str();
    let chain = identity.map(|i| i.chain.as_slice()).unwrap_or(&[]);
    // A cached success never outlives a change of the client or of the CRLs.
    let crls = state.crls.as_ref().map(|c| c.generation_and_check());
    let generation = (client.serial, crls.as_ref().map_or(0, |c| c.0));
    let result = match identity.and_then(|i| i.cached_auth(client_id, generation, now)) {
        Some(method) => Ok(method),
        None => {
            let key = identity.and_then(|i| Key::new(client_id, generation, i));
            let result = state
                .chain_cache
                .authenticate(key, client, chain, now, crls.map(|c| c.1))
                .await;
            if state.crls.is_some() {
                count_revocation_check(state, &result);
            }
            if let (Ok(method), Some(identity)) = (&result, identity) {
                identity.remember_auth(client_id, generation, *method);
            }
            result
        }
    };
    // [revocation] fetch_crl / ocsp: asked on every request (answers are
    // cached until their nextUpdate), so a cached authentication does not
    // outlive one.
    match (result, &state.online_revocation) {
        (Ok(Method::TlsClientAuth), Some(_)) => {
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
    }
}

/// `private_key_jwt`: the assertion names the client (`sub`), is verified
/// with its keys (a UDAP client's: the certificate of its `x5c`, trusted by
/// its community), and its `jti` is recorded; a client with a trust store
/// that presents a certificate must also pass the certificate check.
async fn by_assertion(
    state: &AppState,
    caller: &Caller<'_>,
    now: OffsetDateTime,
) -> Result<(Arc<CompiledClient>, Method, Option<serde_json::Value>), Refusal> {
    if caller.authorization.is_some() || caller.client_secret.is_some() {
        return Err(Refusal::Reply(OAuthReply(OAuthError::invalid_request(
            "the request authenticates the client twice (client_assertion and a secret); use one method (RFC 6749 §2.3)",
        ))));
    }
    const METHOD: Option<&str> = Some("private_key_jwt");
    let sent_id = caller.client_id.unwrap_or("(none)");
    let fail =
        |client_id: &str, e: AssertionError| refuse(client_id, METHOD, AuthFailure::Assertion(e));
    let text = match (&caller.assertion.kind, &caller.assertion.assertion) {
        (Some(kind), Some(text)) if kind == ASSERTION_TYPE => text,
        (kind, text) => {
            let e = AssertionError::WrongType {
                found: kind.clone(),
            };
            // The audit names the client the assertion claims to be, when it can be read.
            let claimed = caller.client_id.map(str::to_owned).or_else(|| {
                text.as_deref()
                    .and_then(|t| assertion::client_id_of(t).ok())
            });
            return Err(fail(claimed.as_deref().unwrap_or(sent_id), e));
        }
    };
    let claimed = assertion::client_id_of(text).map_err(|e| fail(sent_id, e))?;
    if let Some(sent) = caller.client_id.filter(|sent| *sent != claimed) {
        let e = AssertionError::WrongClient {
            claim: "sub",
            expected: sent.to_owned(),
            found: claimed,
        };
        return Err(fail(sent, e));
    }
    let client = registered(state, &claimed).await?;
    let (jti, exp, extensions, shown) = match &client.udap {
        Some(registration) => {
            let token = crate::udap::authenticate(state, &client, registration, text, now)
                .await
                .map_err(|failure| refuse(&client.id, METHOD, failure))?;
            let shown = format!("UDAP authentication token jti={}", token.jti);
            (token.jti, token.exp, token.extensions, shown)
        }
        None => {
            let expected = Expected {
                client_id: &client.id,
                audiences: &state.assertion_audiences,
                jwks_uri: match &client.keys {
                    Some(certbound_oauth::client::ClientKeys::Uri(uri)) => Some(uri.as_str()),
                    _ => None,
                },
                now: now.unix_timestamp(),
            };
            let verified = state
                .client_jwks
                .verify(&client, text, &expected)
                .await
                .map_err(|failure| refuse(&client.id, METHOD, failure))?;
            let shown = verified.to_string();
            (verified.jti, verified.exp, None, shown)
        }
    };
    let expires = OffsetDateTime::from_unix_timestamp(exp).unwrap_or(now);
    let used = certbound_store::AssertionUse {
        client_id: client.id.clone(),
        jti: jti.clone(),
        expires_at: expires,
    };
    match state.replays.record(used).await {
        Ok(true) => {}
        Ok(false) => {
            let failure = AuthFailure::AssertionReplayed { jti };
            return Err(refuse(&client.id, METHOD, failure));
        }
        Err(e) => {
            tracing::warn!(client_id = %client.id, error = %e, "cannot record the client assertion's jti; refused");
            return Err(OAuthReply(OAuthError::with_description(
                certbound_oauth::ErrorCode::TemporarilyUnavailable,
                "the server cannot check the client assertion for replay now; try again shortly",
            ))
            .into());
        }
    }
    let presented = caller
        .identity
        .is_some_and(|i| !i.chain.is_empty() || i.header_error.is_some());
    if client.trust_store.is_some() && presented {
        certificate(state, &client, caller.identity, now)
            .await
            .map_err(|failure| refuse(&client.id, METHOD, failure))?;
    }
    tracing::debug!(client_id = %client.id, assertion = %shown, "client assertion verified");
    Ok((client, Method::PrivateKeyJwt, extensions))
}

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

/// Why a caller was not authenticated.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The client failed authentication; answered `invalid_client`.
    Client(ClientRefused),
    /// The request cannot be authenticated as sent, or the server cannot
    /// decide now: answered as it is.
    Reply(OAuthReply),
}

/// A client that failed authentication, with the precise failure for the
/// log and the audit trail (never for the caller).
#[derive(Debug)]
pub(crate) struct ClientRefused {
    client_id: String,
    /// The method attempted, when known.
    method: Option<&'static str>,
    failure: AuthFailure,
}

impl From<OAuthReply> for Refusal {
    fn from(reply: OAuthReply) -> Self {
        Self::Reply(reply)
    }
}

impl Refusal {
    /// The answer to the caller.
    pub(crate) fn into_reply(self) -> OAuthReply {
        match self {
            Self::Client(_) => OAuthReply(OAuthError::invalid_client()),
            Self::Reply(reply) => reply,
        }
    }
}

impl ClientRefused {
    /// Log and count the failure; its audit record as an endpoint of `kind`.
    pub(crate) fn event(
        &self,
        state: &AppState,
        kind: &str,
        identity: Option<&ClientIdentity>,
    ) -> AuditEvent {
        let failure = &self.failure;
        tracing::warn!(
            endpoint = kind,
            client_id = self.client_id.as_str(),
            reason = %failure,
            code = failure.code(),
            peer = ?identity.map(|i| i.peer),
            listener = ?identity.map(|i| i.listener.as_ref()),
            "client authentication failed"
        );
        state.metrics.auth_failure(failure.code());
        let mut event = audit_event(kind, identity, AuditResult::Failure);
        event.client_id = Some(self.client_id.clone());
        event.method = self.method.map(str::to_string);
        event.reason = Some(format!("{}: {failure}", failure.code()));
        event
    }
}

/// A failed client authentication.
fn refuse(client_id: &str, method: Option<&'static str>, failure: AuthFailure) -> Refusal {
    Refusal::Client(ClientRefused {
        client_id: client_id.to_owned(),
        method,
        failure,
    })
}

/// An audit event with the connection's facts filled in.
pub(crate) fn audit_event(
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
