//! What goes wrong in the gateway outside a request's admission: building a
//! route's upstream client, and fetching a JWKS over HTTPS.

use axum::http::StatusCode;
use axum::http::uri::InvalidUri;

/// A route that cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error("route {prefix}: upstream TLS: {source}")]
    UpstreamTls {
        prefix: String,
        source: Box<certbound_tls::Error>,
    },
}

/// A document (a JWKS) that could not be fetched.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("TLS: {0}")]
    Tls(#[from] Box<certbound_tls::Error>),
    #[error("not a URL: {0}")]
    Uri(#[from] InvalidUri),
    #[error("{0} is not an https:// URL")]
    NotHttps(axum::http::Uri),
    #[error("cannot make the request: {0}")]
    Request(#[from] axum::http::Error),
    #[error("timed out")]
    Timeout,
    #[error("{0}")]
    Client(#[from] hyper_util::client::legacy::Error),
    #[error("HTTP {0}")]
    Status(StatusCode),
    #[error("cannot read the answer: {0}")]
    Body(#[from] axum::Error),
    #[error("not a JWKS: {0}")]
    Jwks(#[from] certbound_oauth::keys::KeyError),
}

/// A certificate whose names a route does not allow.
#[derive(Debug, thiserror::Error)]
pub enum NameNotAllowed {
    #[error("this route allows certain certificate names only: present a client certificate")]
    NoCertificate,
    #[error("certificate '{name}' is not allowed on this route")]
    Name { name: String },
}

impl From<NameNotAllowed> for String {
    fn from(e: NameNotAllowed) -> Self {
        e.to_string()
    }
}
