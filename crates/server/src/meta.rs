//! The documents clients read before they ask for a token: RFC 8414
//! authorization server metadata (also served as the OpenID configuration),
//! the JWKS with the keys that sign tokens, and a health check.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use certbound_oauth::metadata::{MetadataBuilder, MtlsEndpointAliases};

use crate::state::AppState;

/// Paths of the endpoints, relative to the issuer URL.
pub const TOKEN_PATH: &str = "/oauth2/token";
pub const INTROSPECT_PATH: &str = "/oauth2/introspect";
pub const REVOKE_PATH: &str = "/oauth2/revoke";
pub const METRICS_PATH: &str = "/metrics";
pub const JWKS_PATH: &str = "/oauth2/jwks";
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
pub const OPENID_PATH: &str = "/.well-known/openid-configuration";
pub const HEALTH_PATH: &str = "/healthz";

/// Render the metadata document. `mtls_url` is the public URL of a listener
/// that authenticates clients by certificate, when it differs from the issuer.
pub fn metadata_json(issuer: &str, mtls_url: Option<&str>) -> Result<String, String> {
    let mut builder = MetadataBuilder::new(
        issuer,
        format!("{issuer}{TOKEN_PATH}"),
        format!("{issuer}{JWKS_PATH}"),
    )
    .introspection_endpoint(format!("{issuer}{INTROSPECT_PATH}"))
    .revocation_endpoint(format!("{issuer}{REVOKE_PATH}"));
    if let Some(mtls) = mtls_url.filter(|m| m.trim_end_matches('/') != issuer) {
        let mtls = mtls.trim_end_matches('/');
        builder = builder.mtls_endpoint_aliases(MtlsEndpointAliases {
            token_endpoint: Some(format!("{mtls}{TOKEN_PATH}")),
            introspection_endpoint: Some(format!("{mtls}{INTROSPECT_PATH}")),
            revocation_endpoint: Some(format!("{mtls}{REVOKE_PATH}")),
        });
    }
    builder
        .build()
        .map(|m| m.to_json())
        .map_err(|e| e.to_string())
}

fn json(body: String, cache: &'static str) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    resp
}

pub async fn metadata(State(state): State<Arc<AppState>>) -> Response {
    json(state.documents.metadata.clone(), "public, max-age=300")
}

pub async fn jwks(State(state): State<Arc<AppState>>) -> Response {
    json(state.documents.jwks.clone(), "public, max-age=300")
}

pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    let clients = state.registry.snapshot().clients.len();
    json(
        format!("{{\"status\":\"ok\",\"clients\":{clients}}}"),
        "no-store",
    )
}

pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let body = state.metrics.render(
        state.registry.snapshot().clients.len(),
        state.audit.dropped(),
    );
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}
