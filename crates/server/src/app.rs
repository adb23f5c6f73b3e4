//! The HTTP application: routes and the fallbacks that keep every answer in
//! JSON.

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};

use crate::meta::{
    self, HEALTH_PATH, INTROSPECT_PATH, JWKS_PATH, METADATA_PATH, METRICS_PATH, OPENID_PATH,
    REVOKE_PATH, TOKEN_PATH,
};
use crate::reply::json_response;
use crate::state::AppState;
use crate::token;

/// The router for every listener.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
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
        .route(HEALTH_PATH, get(meta::health))
        .nest("/admin", crate::admin::router(Arc::clone(&state)))
        .nest("/console", crate::console::router(Arc::clone(&state)))
        // `/console/` is where people type it; the nested router only matches `/console`.
        .route(
            "/console/",
            get(|| async { axum::response::Redirect::permanent("/console") }),
        )
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
        METADATA_PATH | OPENID_PATH | JWKS_PATH => "metadata",
        p if p.starts_with("/admin") => "admin",
        _ => "other",
    };
    let start = std::time::Instant::now();
    let response = next.run(request).await;
    state.metrics.observe(endpoint, start.elapsed());
    response
}
