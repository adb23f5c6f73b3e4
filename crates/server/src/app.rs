//! The HTTP application: routes and the fallbacks that keep every answer in
//! JSON, and the short way to a gateway route for paths no endpoint of
//! certbound's own can match.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::identity::{ClientIdentity, Connection};
use crate::meta::{
    self, HEALTH_PATH, INTROSPECT_PATH, JWKS_PATH, METADATA_PATH, METRICS_PATH, OPENID_PATH,
    REGISTER_PATH, REVOKE_PATH, SMART_PATH, TOKEN_PATH, UDAP_PATH,
};
use crate::mount::{Context, Mount};
use crate::reply::{json_response, not_found};
use crate::routes::Routes;
use crate::state::AppState;
use crate::token;

/// Every path the router serves itself starts with one of these; anything
/// else reaches the router's fallback, the gateway. A new endpoint outside
/// them must be added here, or requests for it on a path a route covers
/// would go to the route.
pub(crate) const OWN_PREFIXES: [&str; 6] = [
    "/oauth2/",
    "/.well-known/",
    "/metrics",
    "/healthz",
    "/admin",
    crate::fhir::BASE,
];
/// Whether `path` can only be a gateway route's: it is outside every
/// endpoint of certbound's own and of what is mounted beside them (the
/// console), and a route serves it. Such requests skip the router (and its
/// per-request boxing) and go to [`gateway_request`].
pub(crate) fn route_only(gateway: Option<&dyn Routes>, mounted: &[&str], path: &str) -> bool {
    gateway.is_some_and(|gateway| {
        !OWN_PREFIXES
            .iter()
            .chain(mounted)
            .any(|p| path.starts_with(p))
            && gateway.serves(path)
    })
}

/// A request for a path only a gateway route serves: what the router's
/// fallback would do, with the latency recorded as the router's `timed`
/// layer records it.
pub(crate) async fn gateway_request(
    state: Arc<AppState>,
    request: Request,
    identity: Option<&ClientIdentity>,
) -> Response {
    let start = Instant::now();
    let context = Context(state);
    let response = match &context.0.gateway {
        Some(gateway) => gateway.serve(&context, request, identity).await,
        None => not_found(),
    };
    context.0.metrics.observe("other", start.elapsed());
    response
}

/// The router's fallback: a gateway route, or 404.
async fn dispatch(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let identity = request
        .extensions()
        .get::<Connection>()
        .map(|c| Arc::clone(&c.0));
    let context = Context(state);
    match &context.0.gateway {
        Some(gateway) => gateway.serve(&context, request, identity.as_deref()).await,
        None => not_found(),
    }
}

/// The router for every listener: the server's endpoints and `mounts`.
pub(crate) fn router(state: Arc<AppState>, mounts: &[Mount]) -> Router {
    let mut router = Router::new()
        .route(TOKEN_PATH, post(token::token).fallback(method_not_allowed))
        .route(
            INTROSPECT_PATH,
            post(crate::introspect::introspect).fallback(method_not_allowed),
        )
        .route(
            REVOKE_PATH,
            post(crate::introspect::revoke).fallback(method_not_allowed),
        )
        .route(METRICS_PATH, get(meta::metrics))
        .route(JWKS_PATH, get(meta::jwks))
        .route(METADATA_PATH, get(meta::metadata))
        .route(OPENID_PATH, get(meta::metadata))
        .route(SMART_PATH, get(meta::smart_configuration))
        .route(UDAP_PATH, get(crate::udap::discovery::udap))
        .route(
            REGISTER_PATH,
            post(crate::udap::register::register).fallback(method_not_allowed),
        )
        .route(HEALTH_PATH, get(meta::health))
        // Unless a `[[route]]` serves `/` (then `route_only` sends it there first).
        .route("/", get(meta::home))
        .nest("/admin", crate::admin::router(Arc::clone(&state)))
        .nest(crate::fhir::BASE, crate::fhir::router(Arc::clone(&state)));
    for mount in mounts {
        let routes = (mount.router)(Context(Arc::clone(&state)));
        router = router.merge(routes.with_state(()));
    }
    router
        .fallback(dispatch)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            timed,
        ))
        .with_state(state)
}

async fn method_not_allowed() -> impl IntoResponse {
    json_response(
        StatusCode::METHOD_NOT_ALLOWED,
        r#"{"error":"invalid_request","error_description":"use POST"}"#.into(),
    )
}

/// Record each request's latency under its endpoint.
async fn timed(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = request.uri().path();
    let endpoint = match path {
        TOKEN_PATH => "token",
        INTROSPECT_PATH => "introspect",
        REVOKE_PATH => "revoke",
        METADATA_PATH | OPENID_PATH | SMART_PATH | UDAP_PATH | JWKS_PATH => "metadata",
        REGISTER_PATH => "register",
        p if p.starts_with("/admin") || p.starts_with(crate::fhir::BASE) => "admin",
        _ => "other",
    };
    let start = Instant::now();
    let response = next.run(request).await;
    state.metrics.observe(endpoint, start.elapsed());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Routes that serve every path under a prefix.
    #[derive(Debug)]
    struct Under(&'static str);

    impl Routes for Under {
        fn serves(&self, path: &str) -> bool {
            path.starts_with(self.0)
        }

        fn serve<'a>(
            &'a self,
            _: &'a Context,
            _: Request,
            _: Option<&'a ClientIdentity>,
        ) -> crate::routes::Answer<'a> {
            Box::pin(async { not_found() })
        }

        fn spawn_background(
            self: Arc<Self>,
            _: tokio::sync::watch::Receiver<bool>,
        ) -> tokio::task::JoinHandle<()> {
            tokio::spawn(async {})
        }
    }

    #[test]
    fn only_paths_a_route_serves_outside_the_own_endpoints_skip_the_router() {
        let everything: &dyn Routes = &Under("/");
        let mounted = ["/console"];
        for own in [
            TOKEN_PATH,
            METADATA_PATH,
            HEALTH_PATH,
            METRICS_PATH,
            "/admin/ClientApplication",
            "/console",
            "/console/",
        ] {
            assert!(
                !route_only(Some(everything), &mounted, own),
                "{own} must reach the router"
            );
        }
        assert!(route_only(Some(everything), &mounted, "/api/items"));
        assert!(route_only(Some(everything), &mounted, "/"));
        // Nothing mounted there: a route serving `/` serves it.
        assert!(route_only(Some(everything), &[], "/console"));
        let api: &dyn Routes = &Under("/api/");
        assert!(!route_only(None, &mounted, "/api/items"));
        assert!(route_only(Some(api), &mounted, "/api/items"));
        // Not a route's: the router answers (404 from its fallback).
        assert!(!route_only(Some(api), &mounted, "/other"));
        assert!(!route_only(Some(api), &mounted, "/api"));
    }

    #[test]
    fn own_endpoints_are_never_route_only() {
        let own = [
            TOKEN_PATH,
            INTROSPECT_PATH,
            REVOKE_PATH,
            METRICS_PATH,
            JWKS_PATH,
            METADATA_PATH,
            OPENID_PATH,
            HEALTH_PATH,
            "/admin",
            "/admin/ClientApplication",
        ];
        for path in own {
            assert!(
                OWN_PREFIXES.iter().any(|p| path.starts_with(p)),
                "{path} is not covered by OWN_PREFIXES"
            );
        }
    }
}
