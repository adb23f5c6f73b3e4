//! The HTTP application: routes and the fallbacks that keep every answer in
//! JSON, and the short way to a gateway route for paths no endpoint of
//! certbound's own can match.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};

use crate::meta::{
    self, HEALTH_PATH, INTROSPECT_PATH, JWKS_PATH, METADATA_PATH, METRICS_PATH, OPENID_PATH,
    REGISTER_PATH, REVOKE_PATH, SMART_PATH, TOKEN_PATH, UDAP_PATH,
};
use crate::mount::{Context, Mount};
use crate::reply::json_response;
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
pub(crate) fn route_only(gateway: &crate::gateway::Gateway, mounted: &[&str], path: &str) -> bool {
    !OWN_PREFIXES
        .iter()
        .chain(mounted)
        .any(|p| path.starts_with(p))
        && gateway.serves(path)
}

/// A request for a path only a gateway route serves: what the router's
/// fallback would do, with the latency recorded as the router's `timed`
/// layer records it.
pub(crate) async fn gateway_request(
    state: &AppState,
    request: axum::extract::Request,
    identity: Option<&crate::identity::ClientIdentity>,
) -> axum::response::Response {
    let start = Instant::now();
    let response = crate::gateway::serve(state, request, identity).await;
    state.metrics.observe("other", start.elapsed());
    response
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
        .fallback(crate::gateway::dispatch)
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
    use crate::gateway::{Gateway, Require, RouteConfig, TokenSource};

    fn route(prefix: &str) -> RouteConfig {
        RouteConfig {
            prefix: prefix.into(),
            upstream: "http://127.0.0.1:9".parse().unwrap(),
            upstream_tls: None,
            require: Require::BoundToken,
            scopes: Vec::new(),
            allow_client_ids: Vec::new(),
            allow_subject_cn: Vec::new(),
            allow_san_dns: Vec::new(),
            allow_san_uri: Vec::new(),
            audience: None,
            tokens: TokenSource::Local,
            client_ca: None,
            connect_timeout: std::time::Duration::from_secs(1),
            timeout: std::time::Duration::from_secs(1),
        }
    }

    #[test]
    fn only_paths_a_route_serves_outside_the_own_endpoints_skip_the_router() {
        let issuer = "https://localhost";
        let audience = [issuer.to_string()];
        let everything = Gateway::new(&[route("/")], issuer, &audience).unwrap();
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
                !route_only(&everything, &mounted, own),
                "{own} must reach the router"
            );
        }
        assert!(route_only(&everything, &mounted, "/api/items"));
        assert!(route_only(&everything, &mounted, "/"));
        // Nothing mounted there: a route serving `/` serves it.
        assert!(route_only(&everything, &[], "/console"));
        let api = Gateway::new(&[route("/api/")], issuer, &audience).unwrap();
        assert!(route_only(&api, &mounted, "/api/items"));
        // Not a route's: the router answers (404 from its fallback).
        assert!(!route_only(&api, &mounted, "/other"));
        assert!(!route_only(&api, &mounted, "/api"));
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
