//! The one place errors become HTTP: OAuth errors render RFC 6749 §5.2 JSON
//! with `Cache-Control: no-store`, the right status and, for a 401, a
//! `WWW-Authenticate` challenge. Internal errors reach the client as a generic
//! `server_error` and the log in full.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use certbound_oauth::error::{Challenge, NO_STORE_HEADERS};
use certbound_oauth::{ErrorCode, OAuthError};

/// Realm named in `WWW-Authenticate: Basic` challenges.
pub(crate) const REALM: &str = "certbound";

/// An OAuth error on its way to the client.
#[derive(Debug)]
pub(crate) struct OAuthReply(pub OAuthError);

impl From<OAuthError> for OAuthReply {
    fn from(e: OAuthError) -> Self {
        Self(e)
    }
}

impl IntoResponse for OAuthReply {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let mut resp = json_response(status, self.0.to_json());
        // A 401 names the scheme clients can use (RFC 9110 §15.5.2).
        if self.0.code == ErrorCode::InvalidClient {
            let value = self
                .0
                .www_authenticate(Challenge::ClientAuth {
                    basic_realm: Some(REALM),
                })
                .unwrap_or_else(|| format!("Basic realm=\"{REALM}\""));
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
        }
        resp
    }
}

/// A JSON body with the no-store headers every OAuth response carries.
pub fn json_response(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in NO_STORE_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    resp
}

/// 404 `{"error":"not_found"}`: a path nothing serves (or a feature that is off).
pub fn not_found() -> Response {
    json_response(StatusCode::NOT_FOUND, r#"{"error":"not_found"}"#.into())
}

/// `server_error` to the client, the cause to the log.
pub(crate) fn internal(context: &str, error: &dyn std::fmt::Display) -> OAuthReply {
    tracing::error!(%error, "{context}");
    OAuthReply(OAuthError::server_error())
}
