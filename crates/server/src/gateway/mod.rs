//! The mTLS gateway: `[[route]]`s put an existing HTTP API behind certbound.
//! A request whose path starts with a route's prefix (and is not one of
//! certbound's own endpoints) must carry what the route requires — a token
//! bound to the certificate on this request (RFC 8705 §3), a valid token, or an
//! allowed client certificate — and is then proxied, streaming, to the
//! upstream with the client's identity in headers the client cannot forge.
//!
//! Paths arrive normalized (dot segments, encoded slashes and the like were
//! refused by [`crate::request_check`] before routing); a route is chosen on
//! segment boundaries and the upstream gets the very path that chose it.

mod error;
mod guard;
mod pool;
pub(crate) mod proxy;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub(crate) use self::error::RouteError;
use crate::identity::Connection;
use crate::reply::json_response;
use crate::state::AppState;

pub(crate) use crate::config::route::{ExternalJwks, Require, RouteConfig, TokenSource};

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

    /// Fetch external JWKS now and keep them fresh.
    pub fn spawn_refresh(
        self: &Arc<Self>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let mut tasks = tokio::task::JoinSet::new();
            for index in 0..me.routes.len() {
                let (me, shutdown) = (Arc::clone(&me), shutdown.clone());
                tasks.spawn(async move { guard::keep_jwks(&me.routes[index], shutdown).await });
            }
            while tasks.join_next().await.is_some() {}
        })
    }

    /// The route for `path`, a normalized path (see [`crate::request_check`]):
    /// the longest prefix that covers it.
    fn find(&self, path: &str) -> Option<&guard::Route> {
        self.routes.iter().find(|r| covers(&r.config.prefix, path))
    }

    /// Whether a route serves `path` (certbound's own endpoints aside).
    pub fn serves(&self, path: &str) -> bool {
        self.find(path).is_some()
    }
}

/// Whether `prefix` covers `path` on segment boundaries: `/api/` covers
/// `/api/x`; `/api` covers `/api` and `/api/x`, never `/apiX`.
fn covers(prefix: &str, path: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'))
}

/// The router's fallback: a route, or 404.
pub(crate) async fn dispatch(
    State(state): State<Arc<AppState>>,
    request: Request<Body>,
) -> Response {
    let identity = request
        .extensions()
        .get::<Connection>()
        .map(|c| Arc::clone(&c.0));
    serve(&state, request, identity.as_deref()).await
}

/// Admit and forward `request` on the route that serves its path, or answer 404.
/// The listener calls this directly for paths that only a route serves.
pub(crate) async fn serve(
    state: &AppState,
    request: Request<Body>,
    identity: Option<&crate::identity::ClientIdentity>,
) -> Response {
    let Some(route) = state.gateway.find(request.uri().path()) else {
        return json_response(StatusCode::NOT_FOUND, r#"{"error":"not_found"}"#.into());
    };
    let token = guard::bearer(request.headers());
    match route.admit(state, token, identity).await {
        Ok(admitted) => match route
            .check_online_revocation(state, identity, &admitted)
            .await
        {
            Ok(()) => proxy::forward(route, request, identity, admitted).await,
            Err(rejection) => rejection.into_response(),
        },
        Err(rejection) => rejection.into_response(),
    }
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
