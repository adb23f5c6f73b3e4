//! How the gateway (`[[route]]`s, crate `certbound-gateway`) plugs into the
//! server without the server importing it: the CLI hands [`crate::bind_with`]
//! a [`BuildRoutes`]; the server builds the routes with it once it knows the
//! issuer, asks them which paths they serve, and hands them those requests
//! with a [`Context`] that offers the checks a route needs from the server:
//! the registry, the issuer's keys and revocations, certificate
//! authentication and the revocation sources. A config with routes and no
//! gateway to serve them is refused at start, so no route is ever open.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::Request;
use axum::response::Response;
use certbound_oauth::VerifyingKeys;
use certbound_oauth::auth::{AuthFailure, Method};
use certbound_oauth::client::CompiledClient;
use certbound_pki::CertDer;
use certbound_pki::anchors::AnchorSet;
use certbound_pki::chain::{ChainError, Usage};
use time::OffsetDateTime;

use crate::config::route::RouteConfig;
use crate::identity::ClientIdentity;
use crate::mount::Context;
use crate::registry::Registry;

/// A request's answer, on its way.
pub type Answer<'a> = Pin<Box<dyn Future<Output = Response> + Send + 'a>>;

/// The `[[route]]`s at run time.
pub trait Routes: Send + Sync + std::fmt::Debug {
    /// Whether a route serves `path`, a normalized path (certbound's own
    /// endpoints aside: the server keeps those).
    fn serves(&self, path: &str) -> bool;

    /// Admit and forward `request` on the route that serves its path, or
    /// answer 404.
    fn serve<'a>(
        &'a self,
        context: &'a Context,
        request: Request,
        identity: Option<&'a ClientIdentity>,
    ) -> Answer<'a>;

    /// Background work the routes need (fetching external JWKS) until
    /// `shutdown` turns true.
    fn spawn_background(
        self: Arc<Self>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()>;
}

/// Why the routes could not be built.
pub type RoutesError = Box<dyn std::error::Error + Send + Sync>;

/// Builds the routes from the validated `[[route]]`s, the issuer URL in
/// effect and the `aud` of the server's tokens.
pub type BuildRoutes = fn(
    routes: &[RouteConfig],
    issuer: &str,
    audience: &[String],
) -> Result<Arc<dyn Routes>, RoutesError>;

/// What a route may ask of the server.
impl Context {
    /// The client registry.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.0.registry
    }

    /// The keys that verify the tokens this server issued.
    pub fn verifying_keys(&self) -> &VerifyingKeys {
        &self.0.verifying_keys
    }

    /// Whether the token with this `jti` was revoked (RFC 7009).
    pub fn is_revoked(&self, jti: &str) -> bool {
        self.0.revocations.is_revoked(jti)
    }

    /// Verify a client chain to `anchors` with the CRLs in force (counted in
    /// `certbound_revocation_checks_total`), as a listener's `client_ca` is.
    pub fn verify_client_chain(
        &self,
        anchors: &AnchorSet,
        chain: &[CertDer],
        now: OffsetDateTime,
    ) -> Result<(), ChainError> {
        let revocation = self.0.crls.as_ref().map(|c| c.check());
        let result = anchors
            .verify_checked(chain, Usage::Client, now, revocation.as_ref())
            .map(|_| ());
        if revocation.is_some()
            && let Some(r) = crate::crl::metric_result(&result.as_ref())
        {
            self.0.metrics.revocation_check("crl", r);
        }
        result
    }

    /// Whether the CRLs in force list `leaf` as revoked: when and why, in words.
    pub fn revoked_by_crl(&self, leaf: &CertDer, now: OffsetDateTime) -> Option<String> {
        let crls = self.0.crls.as_ref()?;
        let loaded = crls.current();
        match loaded.set.status(leaf, now) {
            certbound_pki::revocation::Status::Revoked {
                revoked_at, reason, ..
            } => {
                self.0.metrics.revocation_check("crl", "revoked");
                Some(format!(
                    "revoked on {} (reason: {reason})",
                    certbound_pki::time_fmt::rfc3339(revoked_at)
                ))
            }
            _ => None,
        }
    }

    /// Authenticate the connection's certificate as `client`, the way the
    /// token endpoint does: its caches, CRL and online revocation checks and
    /// their metrics.
    pub async fn authenticate_certificate(
        &self,
        client: &Arc<CompiledClient>,
        identity: Option<&ClientIdentity>,
        now: OffsetDateTime,
    ) -> Result<Method, AuthFailure> {
        crate::client_auth::certificate(&self.0, client, identity, now).await
    }

    /// Whether `[revocation] fetch_crl` or `ocsp` is on.
    pub fn checks_online_revocation(&self) -> bool {
        self.0.online_revocation.is_some()
    }

    /// Ask the revocation sources the certificates name about `chain`, up to
    /// `anchors` (a pass when none is on).
    pub async fn check_online_revocation(
        &self,
        chain: &[CertDer],
        anchors: &[CertDer],
    ) -> Result<(), ChainError> {
        crate::online_revocation::check(&self.0, chain, anchors).await
    }
}
