//! What a route checks before it proxies: the bearer token (signature with the
//! issuer's keys, `exp`, `iss`, `aud`, revocation), its binding to the
//! certificate on this very request (`cnf.x5t#S256`, RFC 8705 §3), its scopes,
//! and the allow rules on the client's identity. Answers follow RFC 6750 §3:
//! no token is a bare `Bearer` challenge, a bad token `invalid_token` (401), a
//! missing scope or a client the allow rules refuse `insufficient_scope` (403).
//! A `client-cert` route takes no token, so its 403 carries no challenge.
//!
//! Verified tokens are cached ([`crate::token_cache`]) by the SHA-256 of the token, so repeated
//! requests skip the signature check; every hit still checks `exp` and the
//! revocation set. A connection also remembers the last token a route
//! verified on it, so a client sending the same token again and again on a
//! kept-alive connection skips even the hashing.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use certbound_oauth::auth::AuthFailure;
use certbound_oauth::claims::thumbprints_match;
use certbound_oauth::client::ClientStatus;
use certbound_oauth::{JwtError, Validation, VerifyingKeys};
use certbound_pki::chain::ChainError;
use certbound_pki::inspect::{CertInfo, SanEntry};
use certbound_store::StoreError;
use time::OffsetDateTime;

use certbound_server::ClientIdentity;
use certbound_server::json_response;
use certbound_server::mount::Context;

use crate::error::{NameNotAllowed, RouteError};
use crate::proxy::UpstreamClient;
use crate::token_cache::{TokenCache, Verified};
use crate::{ExternalJwks, Require, RouteConfig, TokenSource};

/// How often an external issuer's JWKS is fetched again.
pub(super) const JWKS_REFRESH: Duration = Duration::from_secs(300);
/// How soon a JWKS that could not be fetched (and so gives no keys yet) is
/// tried again.
pub(super) const JWKS_RETRY: Duration = Duration::from_secs(5);
/// A token naming a `kid` the fetched JWKS lacks (the issuer rotated its
/// keys) fetches it again, but never sooner than this after the last fetch.
pub(super) const JWKS_REFETCH_MIN: Duration = Duration::from_secs(10);

/// A route ready to serve.
#[derive(Debug)]
pub(crate) struct Route {
    /// Its place in the gateway's list, which names it in per-connection memory.
    pub(super) index: usize,
    pub config: RouteConfig,
    pub(super) client: UpstreamClient,
    validation: Validation,
    /// An external issuer's keys (`None` until fetched); unused for local tokens.
    external_keys: ArcSwapOption<VerifyingKeys>,
    /// Woken when a token names a key the fetched JWKS lacks.
    jwks_wanted: tokio::sync::Notify,
    cache: TokenCache,
}

/// Who the route let through: the `X-Client-Id` value for the upstream.
#[derive(Debug, Default)]
pub(crate) struct Admitted {
    pub client_id: Option<HeaderValue>,
}

/// A refusal: status, challenge and a JSON body.
#[derive(Debug)]
pub(crate) struct Rejection {
    status: StatusCode,
    challenge: Option<String>,
    error: &'static str,
    description: String,
}

impl Rejection {
    fn no_token() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            challenge: Some("Bearer".into()),
            error: "invalid_request",
            description: "an access token is required: send Authorization: Bearer <token>".into(),
        }
    }

    fn invalid_token(description: impl Into<String>) -> Self {
        let description = description.into();
        Self {
            status: StatusCode::UNAUTHORIZED,
            challenge: Some(format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                certbound_oauth::error::sanitize(&description)
            )),
            error: "invalid_token",
            description,
        }
    }

    fn insufficient_scope(scope: &str) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            challenge: Some(format!(
                "Bearer error=\"insufficient_scope\", scope=\"{scope}\""
            )),
            error: "insufficient_scope",
            description: format!("the token lacks the scope `{scope}` this route requires"),
        }
    }

    /// A valid token whose client the route's allow rules refuse: the request
    /// needs privileges the token does not give, so a Bearer
    /// `insufficient_scope` challenge (RFC 6750 §3.1) goes with the 403.
    fn forbidden(description: impl Into<String>) -> Self {
        let description = description.into();
        Self {
            status: StatusCode::FORBIDDEN,
            challenge: Some(format!(
                "Bearer error=\"insufficient_scope\", error_description=\"{}\"",
                certbound_oauth::error::sanitize(&description)
            )),
            error: "access_denied",
            description,
        }
    }

    /// The client registry cannot be read: nothing is decided, try again.
    fn unavailable(error: &StoreError) -> Self {
        tracing::warn!(%error, "cannot read the client registry; request refused");
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            challenge: None,
            error: "temporarily_unavailable",
            description: "the server cannot read the client registry now; try again shortly".into(),
        }
    }

    /// A refusal on a `client-cert` route: no token is involved, so no Bearer
    /// challenge.
    fn certificate_refused(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            challenge: None,
            error: "access_denied",
            description: description.into(),
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.error, "error_description": self.description})
            .to_string();
        let mut resp = json_response(self.status, body);
        if let Some(c) = self.challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, c);
        }
        resp
    }
}

impl Route {
    pub(crate) fn new(
        config: RouteConfig,
        issuer: &str,
        audience: &[String],
    ) -> Result<Self, RouteError> {
        let (issuer, keys) = match &config.tokens {
            TokenSource::Local => (issuer.to_string(), None),
            TokenSource::External { issuer, jwks } => (
                issuer.clone(),
                match jwks {
                    ExternalJwks::File(k) => Some(Arc::clone(k)),
                    ExternalJwks::Uri { .. } => None,
                },
            ),
        };
        let mut validation = Validation::new(issuer);
        if let Some(aud) = config.audience.clone().or_else(|| match config.tokens {
            TokenSource::Local => audience.first().cloned(),
            TokenSource::External { .. } => None,
        }) {
            validation = validation.with_audience(aud);
        }
        Ok(Self {
            index: 0,
            client: UpstreamClient::new(&config)?,
            config,
            validation,
            external_keys: ArcSwapOption::new(keys),
            jwks_wanted: tokio::sync::Notify::new(),
            cache: TokenCache::default(),
        })
    }

    /// Check the request against the route's requirements.
    pub(crate) async fn admit(
        &self,
        context: &Context,
        token: Option<&str>,
        identity: Option<&ClientIdentity>,
    ) -> Result<Admitted, Rejection> {
        let now = OffsetDateTime::now_utc();
        let chain = identity.map(|i| i.chain.as_slice()).unwrap_or(&[]);
        if self.config.require == Require::ClientCert {
            return self
                .admit_certificate(context, identity, now)
                .await
                .map_err(|r| self.log(identity, None, r));
        }
        let Some(token) = token else {
            return Err(Rejection::no_token());
        };
        let verified = self
            .verify(context, token, now, identity)
            .await
            .map_err(|r| self.log(identity, None, r))?;
        let claims = &verified.claims;
        let client_id = Some(claims.client_id.as_str());
        if self.config.require == Require::BoundToken {
            let Some(cnf) = &claims.cnf else {
                return Err(self.log(identity, client_id, Rejection::invalid_token("the token is not bound to a certificate; this route requires a certificate-bound token")));
            };
            match identity.and_then(|i| i.thumbprint.as_deref()) {
                Some(presented) if thumbprints_match(presented, &cnf.x5t_s256) => {
                    // The token outlives nothing its certificate lost.
                    if let Some(refusal) = revoked_leaf(context, chain.first(), now) {
                        return Err(self.log(identity, client_id, refusal));
                    }
                }
                Some(_) => {
                    return Err(self.log(
                        identity,
                        client_id,
                        Rejection::invalid_token(
                            "the token is bound to another certificate than the one presented",
                        ),
                    ));
                }
                None => {
                    return Err(self.log(
                        identity,
                        client_id,
                        Rejection::invalid_token(
                            "the token is bound to a certificate: present it (mTLS)",
                        ),
                    ));
                }
            }
        }
        if let Some(missing) = self.config.scopes.iter().find(|s| !claims.has_scope(s)) {
            return Err(self.log(identity, client_id, Rejection::insufficient_scope(missing)));
        }
        if !self.config.allow_client_ids.is_empty()
            && !self.config.allow_client_ids.contains(&claims.client_id)
        {
            return Err(self.log(
                identity,
                client_id,
                Rejection::forbidden(format!(
                    "client `{}` is not allowed on this route",
                    claims.client_id
                )),
            ));
        }
        self.check_names(chain.first())
            .map_err(|d| self.log(identity, client_id, Rejection::forbidden(d)))?;
        Ok(Admitted {
            client_id: verified.client_id.clone(),
        })
    }

    async fn admit_certificate(
        &self,
        context: &Context,
        identity: Option<&ClientIdentity>,
        now: OffsetDateTime,
    ) -> Result<Admitted, Rejection> {
        if let Some(reason) = identity.and_then(|i| i.header_error.as_deref()) {
            return Err(Rejection::certificate_refused(format!(
                "the forwarded client certificate cannot be read: {reason}"
            )));
        }
        let chain = identity.map(|i| i.chain.as_slice()).unwrap_or(&[]);
        if chain.is_empty() {
            return Err(Rejection::certificate_refused(
                "a client certificate is required on this route",
            ));
        }
        let mut client_id = None;
        let mut trusted = false;
        // A refusal by the CRLs, named rather than "not trusted".
        let mut revoked: Option<ChainError> = None;
        if let Some(ca) = &self.config.client_ca {
            match context.verify_client_chain(ca, chain, now) {
                Ok(_) => trusted = true,
                Err(
                    e @ (ChainError::Revoked { .. } | ChainError::RevocationUnavailable { .. }),
                ) => revoked = Some(e),
                Err(_) => {}
            }
        }
        if !trusted {
            for id in &self.config.allow_client_ids {
                let client = context
                    .registry()
                    .get(id)
                    .await
                    .map_err(|e| Rejection::unavailable(&e))?;
                let Some(client) = client else { continue };
                // The token endpoint's path: its caches, its CRL and online
                // revocation checks and their metrics.
                match context
                    .authenticate_certificate(&client, identity, now)
                    .await
                {
                    Ok(_) => {
                        client_id = Some(id.clone());
                        break;
                    }
                    Err(AuthFailure::Chain(
                        e @ (ChainError::Revoked { .. } | ChainError::RevocationUnavailable { .. }),
                    )) => {
                        revoked.get_or_insert(e);
                    }
                    Err(_) => {}
                }
            }
            trusted = client_id.is_some();
        }
        if !trusted {
            if let Some(e) = revoked {
                return Err(Rejection::certificate_refused(format!(
                    "the client certificate is refused: {e}"
                )));
            }
            return Err(Rejection::certificate_refused(
                "the client certificate is not trusted on this route",
            ));
        }
        self.check_names(chain.first())
            .map_err(Rejection::certificate_refused)?;
        Ok(Admitted {
            client_id: client_id.and_then(|id| HeaderValue::from_str(&id).ok()),
        })
    }

    /// The subject CN / SAN allow rules (when any is set); the reason for a
    /// refusal, which the caller answers as its kind of route does.
    fn check_names(&self, leaf: Option<&certbound_pki::CertDer>) -> Result<(), NameNotAllowed> {
        let c = &self.config;
        if c.allow_subject_cn.is_empty() && c.allow_san_dns.is_empty() && c.allow_san_uri.is_empty()
        {
            return Ok(());
        }
        let Some(info) = leaf.and_then(|l| CertInfo::from_der(l).ok()) else {
            return Err(NameNotAllowed::NoCertificate);
        };
        let cn_ok = info
            .common_names
            .iter()
            .any(|cn| c.allow_subject_cn.contains(cn));
        let san_ok = info.subject_alt_names.iter().any(|s| match s {
            SanEntry::Dns(d) => c.allow_san_dns.iter().any(|a| a.eq_ignore_ascii_case(d)),
            SanEntry::Uri(u) => c.allow_san_uri.contains(u),
            _ => false,
        });
        if cn_ok || san_ok {
            Ok(())
        } else {
            Err(NameNotAllowed::Name {
                name: info.display_name().to_owned(),
            })
        }
    }

    async fn verify(
        &self,
        context: &Context,
        token: &str,
        now: OffsetDateTime,
        identity: Option<&ClientIdentity>,
    ) -> Result<Arc<Verified>, Rejection> {
        let remembered = identity.and_then(|i| i.remembered::<Verified>(self.index, token));
        let verified = match remembered {
            Some(v) => v,
            None => {
                let v = self.verify_cached(context, token, now)?;
                if let Some(i) = identity {
                    i.remember(self.index, token, Arc::clone(&v));
                }
                v
            }
        };
        let claims = &verified.claims;
        if now.unix_timestamp() >= claims.exp {
            return Err(Rejection::invalid_token("the token has expired"));
        }
        if matches!(self.config.tokens, TokenSource::Local) && context.is_revoked(&claims.jti) {
            return Err(Rejection::invalid_token("the token has been revoked"));
        }
        // Trust taken back: the client was switched off or removed since.
        if matches!(self.config.tokens, TokenSource::Local) {
            let status = context
                .registry()
                .status(&claims.client_id)
                .await
                .map_err(|e| Rejection::unavailable(&e))?;
            match status {
                Some(ClientStatus::Active) => {}
                Some(status) => {
                    return Err(Rejection::invalid_token(format!(
                        "the token's client `{}` has status \"{status}\"",
                        claims.client_id
                    )));
                }
                None => {
                    return Err(Rejection::invalid_token(format!(
                        "the token's client `{}` is no longer registered",
                        claims.client_id
                    )));
                }
            }
        }
        Ok(verified)
    }

    /// The token from the route's cache, else verified (signature, `iss`,
    /// `aud`, `exp`) and cached.
    fn verify_cached(
        &self,
        context: &Context,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Arc<Verified>, Rejection> {
        let key = certbound_pki::thumbprint::sha256(token.as_bytes());
        let verified = match self.cache.get(&key) {
            Some(c) => c,
            None => {
                let external = self.external_keys.load_full();
                let keys = match (&self.config.tokens, &external) {
                    (TokenSource::Local, _) => context.verifying_keys(),
                    (TokenSource::External { .. }, Some(k)) => k.as_ref(),
                    (TokenSource::External { issuer, .. }, None) => {
                        return Err(Rejection::invalid_token(format!(
                            "the keys of issuer {issuer} are not available yet"
                        )));
                    }
                };
                let claims = certbound_oauth::verify_access_token(
                    token,
                    keys,
                    &self.validation,
                    now.unix_timestamp(),
                )
                .map_err(|e| {
                    if matches!(e, JwtError::UnknownKid { .. }) && external.is_some() {
                        self.jwks_wanted.notify_one();
                    }
                    Rejection::invalid_token(e.to_string())
                })?;
                let verified = Arc::new(Verified {
                    client_id: HeaderValue::from_str(&claims.client_id).ok(),
                    claims,
                });
                self.cache.put(key, Arc::clone(&verified));
                verified
            }
        };
        Ok(verified)
    }

    /// `[revocation] fetch_crl` / `ocsp`: the chain of an admitted request
    /// asked about (client-cert and bound-token routes), up to the route's
    /// `client_ca` and the admitted client's trust store.
    pub(crate) async fn check_online_revocation(
        &self,
        context: &Context,
        identity: Option<&ClientIdentity>,
        admitted: &Admitted,
    ) -> Result<(), Rejection> {
        if !context.checks_online_revocation() {
            return Ok(());
        }
        let chain = identity.map(|i| i.chain.as_slice()).unwrap_or(&[]);
        if self.config.require == Require::Token || chain.is_empty() {
            return Ok(());
        }
        let client_id = admitted.client_id.as_ref().and_then(|v| v.to_str().ok());
        let mut anchors: Vec<certbound_pki::CertDer> = self
            .config
            .client_ca
            .as_ref()
            .map(|a| a.certs().to_vec())
            .unwrap_or_default();
        let client = match client_id {
            Some(id) => context.registry().get(id).await.ok().flatten(),
            None => None,
        };
        if let Some(store) = client.and_then(|c| c.trust_store.clone()) {
            anchors.extend(store.anchors.certs().iter().cloned());
        }
        match context.check_online_revocation(chain, &anchors).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let r = match self.config.require {
                    Require::ClientCert => Rejection::certificate_refused(format!(
                        "the client certificate is refused: {e}"
                    )),
                    _ => Rejection::invalid_token(format!(
                        "the certificate the token is bound to is refused: {e}"
                    )),
                };
                Err(self.log(identity, client_id, r))
            }
        }
    }

    fn log(
        &self,
        identity: Option<&ClientIdentity>,
        client_id: Option<&str>,
        r: Rejection,
    ) -> Rejection {
        tracing::info!(
            route = %self.config.prefix,
            client_id,
            status = r.status.as_u16(),
            reason = %r.description,
            peer = ?identity.map(|i| i.peer),
            "route refused a request"
        );
        r
    }
}

/// The token of `Authorization: Bearer ...`.
pub(super) fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Keep an external issuer's JWKS: fetched at start, again every
/// [`JWKS_REFRESH`], every [`JWKS_RETRY`] while none could be fetched, and
/// when a token names a key it lacks (at most every [`JWKS_REFETCH_MIN`]).
/// Returns at once for routes whose keys are local or from a file.
pub(super) async fn keep_jwks(route: &Route, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let TokenSource::External {
        jwks: ExternalJwks::Uri { uri, ca },
        ..
    } = &route.config.tokens
    else {
        return;
    };
    loop {
        let fetched_at = tokio::time::Instant::now();
        let fetched = tokio::select! {
            _ = shutdown.changed() => return,
            fetched = certbound_server::client_keys::fetch_jwks(uri, ca.as_deref()) => fetched,
        };
        match fetched {
            Ok(keys) => {
                tracing::debug!(route = %route.config.prefix, %uri, "external JWKS fetched");
                route.external_keys.store(Some(Arc::new(keys)));
            }
            Err(e) => {
                tracing::warn!(route = %route.config.prefix, %uri, error = %e, "cannot fetch the external JWKS; keeping the previous keys")
            }
        }
        let wait = if route.external_keys.load().is_none() {
            JWKS_RETRY
        } else {
            JWKS_REFRESH
        };
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(wait) => {}
            _ = route.jwks_wanted.notified() => {
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = tokio::time::sleep_until(fetched_at + JWKS_REFETCH_MIN) => {}
                }
            }
        }
    }
}

/// A bound token's certificate that the CRLs in force list as revoked.
fn revoked_leaf(
    context: &Context,
    leaf: Option<&certbound_pki::CertDer>,
    now: OffsetDateTime,
) -> Option<Rejection> {
    let revoked = context.revoked_by_crl(leaf?, now)?;
    Some(Rejection::invalid_token(format!(
        "the certificate the token is bound to was {revoked}"
    )))
}
