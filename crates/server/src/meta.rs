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
pub const SMART_PATH: &str = "/.well-known/smart-configuration";
pub const UDAP_PATH: &str = "/.well-known/udap";
pub const REGISTER_PATH: &str = "/oauth2/register";
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

/// The SMART App Launch 2.x discovery document (`/.well-known/smart-configuration`)
/// for Backend Services clients: the token endpoint (and its mTLS alias),
/// `private_key_jwt` with its algorithms, `client_credentials`, and the
/// `client-confidential-asymmetric` capability.
pub fn smart_configuration_json(metadata: &str) -> Result<String, String> {
    let doc: serde_json::Value = serde_json::from_str(metadata).map_err(|e| e.to_string())?;
    let mut smart = serde_json::Map::new();
    for field in [
        "issuer",
        "jwks_uri",
        "token_endpoint",
        "token_endpoint_auth_methods_supported",
        "token_endpoint_auth_signing_alg_values_supported",
        "grant_types_supported",
        "introspection_endpoint",
        "revocation_endpoint",
        "mtls_endpoint_aliases",
        "tls_client_certificate_bound_access_tokens",
    ] {
        if let Some(value) = doc.get(field) {
            smart.insert(field.to_owned(), value.clone());
        }
    }
    smart.insert(
        "scopes_supported".to_owned(),
        serde_json::json!([
            "system/*.rs",
            "system/*.cruds",
            "system/*.read",
            "system/*.write"
        ]),
    );
    smart.insert(
        "capabilities".to_owned(),
        serde_json::json!(["client-confidential-asymmetric"]),
    );
    Ok(serde_json::Value::Object(smart).to_string())
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

pub async fn smart_configuration(State(state): State<Arc<AppState>>) -> Response {
    json(state.documents.smart.clone(), "public, max-age=300")
}

pub async fn jwks(State(state): State<Arc<AppState>>) -> Response {
    json(state.documents.jwks.clone(), "public, max-age=300")
}

pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    let clients = state.registry.count();
    let store = match tokio::time::timeout(HEALTH_STORE_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) if !state.audit.store_failing() => None,
        Ok(Ok(())) => Some("audit writes are failing".to_string()),
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!(
            "no answer within {} s",
            HEALTH_STORE_TIMEOUT.as_secs()
        )),
    };
    match store {
        None => json(
            format!("{{\"status\":\"ok\",\"clients\":{clients},\"store\":\"ok\"}}"),
            "no-store",
        ),
        Some(problem) => {
            let body = serde_json::json!({
                "status": "degraded",
                "clients": clients,
                "store": problem,
            });
            let mut response = json(body.to_string(), "no-store");
            *response.status_mut() = axum::http::StatusCode::SERVICE_UNAVAILABLE;
            response
        }
    }
}

/// How long `/healthz` waits for the store to answer.
pub const HEALTH_STORE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// `/metrics`, for peers in `[metrics] allow_from` that reached certbound
/// directly (relayed requests from a proxy would expose it to the proxy's clients).
pub async fn metrics(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
) -> Response {
    let allowed = request
        .extensions()
        .get::<crate::identity::Connection>()
        .is_some_and(|c| {
            let proxied = state
                .listeners
                .iter()
                .any(|(b, l)| b.name == *c.0.listener && l.forwarded.is_some());
            !proxied
                && state
                    .metrics_allow
                    .iter()
                    .any(|cidr| cidr.contains(c.0.peer.ip()))
        });
    if !allowed {
        return crate::reply::json_response(
            StatusCode::FORBIDDEN,
            r#"{"error":"access_denied","error_description":"metrics are served to the addresses in [metrics] allow_from"}"#.into(),
        );
    }
    let body = state
        .metrics
        .render(state.registry.count(), state.audit.dropped());
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

/// `GET /`: what this server is and where its documents are, for a person
/// who opens the issuer URL in a browser (HTML) or a script that asks for
/// `application/json`. The page links by path only, so nothing in it comes
/// from the configuration or the request.
pub async fn home(State(state): State<Arc<AppState>>, headers: axum::http::HeaderMap) -> Response {
    let console = state.admin.is_some();
    let wants_json = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.split(';').next().unwrap_or("").trim())
        .find(|t| matches!(*t, "application/json" | "text/html"))
        == Some("application/json");
    if wants_json {
        let issuer = state.issuer.trim_end_matches('/');
        let body = serde_json::json!({
            "issuer": issuer,
            "metadata": format!("{issuer}{METADATA_PATH}"),
            "jwks": format!("{issuer}{JWKS_PATH}"),
            "token": format!("{issuer}{TOKEN_PATH}"),
            "health": format!("{issuer}{HEALTH_PATH}"),
            "console": console.then(|| format!("{issuer}{CONSOLE_PATH}")),
        });
        return json(body.to_string(), "no-store");
    }
    let page = if console {
        HOME_PAGE.replace("<!--console-->", HOME_CONSOLE_ITEM)
    } else {
        HOME_PAGE.to_string()
    };
    let mut resp = (StatusCode::OK, page).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept"));
    resp
}

/// Where the web console is mounted.
pub const CONSOLE_PATH: &str = "/console";

/// The page of `GET /`; `<!--console-->` becomes [`HOME_CONSOLE_ITEM`] when
/// the console is on.
const HOME_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>certbound</title></head>
<body>
<h1>certbound</h1>
<p>An OAuth 2.0 authorization server that authenticates clients by their TLS certificate (RFC 8705).</p>
<ul>
<li><a href="/.well-known/oauth-authorization-server">Authorization server metadata</a> (RFC 8414)</li>
<li><a href="/oauth2/jwks">JWKS</a>: the keys that sign the tokens</li>
<li><a href="/healthz">Health</a></li>
<!--console-->
</ul>
<p>Tokens: <code>POST /oauth2/token</code> with <code>grant_type=client_credentials</code> and the client's certificate.</p>
</body>
</html>
"#;

/// The console's line of [`HOME_PAGE`].
const HOME_CONSOLE_ITEM: &str = r#"<li><a href="/console">Console</a>: clients, their certificates, listeners and the audit trail</li>"#;
