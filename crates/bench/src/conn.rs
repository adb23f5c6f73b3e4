//! A kept-alive connection for requests of the caller's making, on the load
//! generator's client stack ([`crate::load`]), whose answers the caller
//! judges: `bench-registry` asks for tokens it expects to be refused, and
//! uses the admin API.

use std::net::SocketAddr;

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use http_body_util::Full;
use hyper::Method;
use hyper::client::conn::http1;
use hyper::header::{HeaderName, HeaderValue};
use tokio_rustls::TlsConnector;

use crate::load::{Expect, REQUEST_TIMEOUT, TOKEN_PATH, check, connect_to, contains, roundtrip};

/// An answer as it came, for callers that judge it themselves.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

impl Answer {
    /// Whether it is what [`Expect::Token`] asks for: 200 with an access token.
    pub fn is_token(&self) -> bool {
        check(Expect::Token, self.status, &self.body).is_ok()
    }

    /// Whether it is a 401 `invalid_client` (RFC 6749 §5.2).
    pub fn is_invalid_client(&self) -> bool {
        self.status == 401 && contains(&self.body, br#""error":"invalid_client""#)
    }

    /// The status and the start of the body, for a report.
    pub fn describe(&self) -> String {
        let shown = String::from_utf8_lossy(&self.body[..self.body.len().min(200)]).into_owned();
        format!("{} {shown}", self.status)
    }
}

/// A kept-alive connection (HTTP/1.1 over TLS); its driver runs as its own task.
#[derive(Debug)]
pub struct Connection {
    sender: http1::SendRequest<Full<Bytes>>,
}

impl Connection {
    /// Connect to `addr` over TLS with `connector`.
    pub async fn open(addr: SocketAddr, connector: &TlsConnector) -> Result<Self> {
        let conn = tokio::time::timeout(REQUEST_TIMEOUT, connect_to(addr, Some(connector)))
            .await
            .map_err(|_| anyhow!("no connection within {}s", REQUEST_TIMEOUT.as_secs()))??;
        Ok(Self {
            sender: conn.sender,
        })
    }

    /// Whether the server (or a failure) closed it.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    /// Send `request` and read the whole answer, within [`REQUEST_TIMEOUT`].
    pub async fn send(&mut self, request: hyper::Request<Full<Bytes>>) -> Result<Answer> {
        tokio::time::timeout(REQUEST_TIMEOUT, roundtrip(&mut self.sender, request))
            .await
            .map_err(|_| anyhow!("no answer within {}s", REQUEST_TIMEOUT.as_secs()))?
    }
}

/// A request to `path` with a body of `content_type`, as the bench sends
/// them (`Host: localhost`); `headers` are added.
pub fn request(
    method: Method,
    path: &str,
    content_type: &'static str,
    headers: &[(HeaderName, HeaderValue)],
    body: impl Into<Bytes>,
) -> Result<hyper::Request<Full<Bytes>>> {
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, "localhost")
        .header(hyper::header::CONTENT_TYPE, content_type);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request
        .body(Full::new(body.into()))
        .context("building the request")
}

/// A client_credentials token request for `client_id`, which authenticates
/// by the connection's certificate.
pub fn token_request(client_id: &str) -> Result<hyper::Request<Full<Bytes>>> {
    request(
        Method::POST,
        TOKEN_PATH,
        "application/x-www-form-urlencoded",
        &[],
        format!("grant_type=client_credentials&client_id={client_id}"),
    )
}
