//! What goes wrong in the gateway outside a request's admission: building a
//! route's upstream client, and a certificate name a route does not allow.

/// A route that cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error("route {prefix}: upstream TLS: {source}")]
    UpstreamTls {
        prefix: String,
        source: Box<certbound_tls::Error>,
    },
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
