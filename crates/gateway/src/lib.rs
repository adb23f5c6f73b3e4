//! The mTLS gateway: `[[route]]`s put an existing HTTP API behind certbound.
//! A request whose path starts with a route's prefix (and is not one of
//! certbound's own endpoints) must carry what the route requires — a token
//! bound to the certificate on this request (RFC 8705 §3), a valid token, or an
//! allowed client certificate — and is then proxied, streaming, to the
//! upstream with the client's identity in headers the client cannot forge.
//!
//! Paths arrive normalized (dot segments, encoded slashes and the like were
//! refused by the server's listener before routing); a route is chosen on
//! segment boundaries and the upstream gets the very path that chose it.
//!
//! The server does not import this crate: the CLI hands [`BUILD`] to
//! `certbound_server::bind_with`, and the server calls the routes through
//! its `Routes` trait with a `Context`.

mod error;
mod guard;
mod pool;
mod proxy;
mod token_cache;

use std::sync::Arc;

use axum::extract::Request;
use axum::response::IntoResponse;
use certbound_server::ClientIdentity;
use certbound_server::config::route::{ExternalJwks, Require, RouteConfig, TokenSource};
use certbound_server::mount::Context;
use certbound_server::not_found;
use certbound_server::routes::{Answer, BuildRoutes, Routes, RoutesError};

pub use self::error::RouteError;

/// What the CLI hands the server: builds the routes of a config.
pub const BUILD: BuildRoutes = build;

fn build(
    configs: &[RouteConfig],
    issuer: &str,
    audience: &[String],
) -> Result<Arc<dyn Routes>, RoutesError> {
    Ok(Arc::new(Gateway::new(configs, issuer, audience)?))
}

/// The routes at run time, longest prefix first.
#[derive(Debug)]
pub struct Gateway {
    routes: Vec<guard::Route>,
}

impl Gateway {
    /// Build the routes: upstream clients and token verifiers.
    pub fn new(
        configs: &[RouteConfig],
        issuer: &str,
        audience: &[String],
    ) -> Result<Self, RouteError> {
        let mut routes = Vec::new();
        for c in configs {
            routes.push(guard::Route::new(c.clone(), issuer, audience)?);
        }
        routes.sort_by_key(|r| std::cmp::Reverse(r.config.prefix.len()));
        for (index, route) in routes.iter_mut().enumerate() {
            route.index = index;
        }
        Ok(Self { routes })
    }

    /// The route for `path`, a normalized path: the longest prefix that covers it.
    fn find(&self, path: &str) -> Option<&guard::Route> {
        self.routes.iter().find(|r| covers(&r.config.prefix, path))
    }

    /// Admit and forward `request` on the route that serves its path, or answer 404.
    async fn answer(
        &self,
        context: &Context,
        request: Request,
        identity: Option<&ClientIdentity>,
    ) -> axum::response::Response {
        let Some(route) = self.find(request.uri().path()) else {
            return not_found();
        };
        let token = guard::bearer(request.headers());
        match route.admit(context, token, identity).await {
            Ok(admitted) => match route
                .check_online_revocation(context, identity, &admitted)
                .await
            {
                Ok(()) => proxy::forward(route, request, identity, admitted).await,
                Err(rejection) => rejection.into_response(),
            },
            Err(rejection) => rejection.into_response(),
        }
    }
}

impl Routes for Gateway {
    fn serves(&self, path: &str) -> bool {
        self.find(path).is_some()
    }

    fn serve<'a>(
        &'a self,
        context: &'a Context,
        request: Request,
        identity: Option<&'a ClientIdentity>,
    ) -> Answer<'a> {
        Box::pin(self.answer(context, request, identity))
    }

    /// Fetch external JWKS now and keep them fresh.
    fn spawn_background(
        self: Arc<Self>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tasks = tokio::task::JoinSet::new();
            for index in 0..self.routes.len() {
                let (me, shutdown) = (Arc::clone(&self), shutdown.clone());
                tasks.spawn(async move { guard::keep_jwks(&me.routes[index], shutdown).await });
            }
            while tasks.join_next().await.is_some() {}
        })
    }
}

/// Whether `prefix` covers `path` on segment boundaries: `/api/` covers
/// `/api/x`; `/api` covers `/api` and `/api/x`, never `/apiX`.
fn covers(prefix: &str, path: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn a_prefix_covers_paths_on_segment_boundaries() {
        assert!(covers("/api/", "/api/x"));
        assert!(covers("/api/", "/api/"));
        assert!(!covers("/api/", "/api"));
        assert!(!covers("/api/", "/apiX/y"));
        assert!(covers("/api", "/api"));
        assert!(covers("/api", "/api/x"));
        assert!(!covers("/api", "/apiX"));
        assert!(!covers("/api", "/api.json"));
        assert!(covers("/", "/anything"));
    }
}
