//! Forwarding an admitted request to the upstream: streaming both ways (no
//! body is buffered whole), HTTP/1.1 or HTTP/2 (ALPN) over pooled
//! connections (a plain `http://` upstream through the gateway's own HTTP/1.1
//! pool, an `https://` one through hyper-util's client), with the client's
//! identity in headers the client cannot set itself (`X-Client-Id`,
//! `X-Client-Cert-Subject`, `X-Client-Cert-Thumbprint`, RFC 9440 `Client-Cert`
//! / `Client-Cert-Chain`): any incoming copies are removed first, and so is
//! every header whose name a CGI/WSGI/Rack upstream would read as one of them
//! (`X_Client_Id` becomes `HTTP_X_CLIENT_ID` too). `X-Forwarded-For` is built
//! afresh (the peer's address alone); incoming `Forwarded`, `X-Forwarded-*`,
//! `X-Real-IP` and forwarded-certificate headers are dropped.
//!
//! Hop-by-hop headers (RFC 9110 §7.6.1), `Transfer-Encoding` among them, are
//! removed both ways and hyper frames each body once (`Content-Length` when
//! known, chunked otherwise): the upstream never sees a framing header the
//! gateway did not write. A request body the client framed badly (a broken
//! chunk) is a 400, the client's fault; an unreachable upstream is a 502 with
//! a JSON body, a slow one a 504.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::http::uri::{Authority, PathAndQuery, Scheme};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, Version, header};
use axum::response::Response;
use certbound_tls::ClientTls;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;

use certbound_server::{ClientIdentity, Source, json_response};

use crate::RouteConfig;
use crate::error::RouteError;
use crate::guard::{Admitted, Route};
use crate::pool::Http1Pool;
use certbound_tls::http::{build_client, single_chunked, strip_hop_by_hop};

const X_CLIENT_ID: HeaderName = HeaderName::from_static("x-client-id");
const X_CLIENT_CERT_SUBJECT: HeaderName = HeaderName::from_static("x-client-cert-subject");
const X_CLIENT_CERT_THUMBPRINT: HeaderName = HeaderName::from_static("x-client-cert-thumbprint");
const CLIENT_CERT: HeaderName = HeaderName::from_static("client-cert");
const CLIENT_CERT_CHAIN: HeaderName = HeaderName::from_static("client-cert-chain");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Headers the upstream gets only from certbound: the identity headers,
/// the forwarding headers and the headers in which proxies forward client
/// certificates. An incoming header whose name equals one of these once `_`
/// is read as `-` is dropped (names are lower case already).
const RESERVED: [&str; 16] = [
    "x-client-id",
    "x-client-cert-subject",
    "x-client-cert-thumbprint",
    "client-cert",
    "client-cert-chain",
    "x-forwarded-for",
    "forwarded",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-forwarded-prefix",
    "x-real-ip",
    "x-amzn-mtls-clientcert",
    "x-amzn-mtls-clientcert-leaf",
    "x-forwarded-client-cert",
    "x-forwarded-tls-client-cert",
];

/// Whether `name` reads as `reserved` to an upstream that maps `-` and `_`
/// alike (CGI, WSGI, Rack); both are lower case.
fn reads_as(name: &str, reserved: &str) -> bool {
    name.len() == reserved.len()
        && name
            .bytes()
            .zip(reserved.bytes())
            .all(|(n, r)| n == r || (n == b'_' && r == b'-'))
}

/// A pooled HTTP(S) client for one route's upstream, with the parts of the
/// upstream URL every request reuses.
#[derive(Debug, Clone)]
pub(crate) struct UpstreamClient {
    transport: Transport,
    scheme: Scheme,
    authority: Option<Authority>,
    /// The `Host` header: the upstream's authority.
    host: Option<HeaderValue>,
    /// The upstream URL's path without its trailing `/`, prefixed to every request's path.
    base_path: String,
}

/// How requests reach the upstream.
#[derive(Debug, Clone)]
enum Transport {
    /// `http://`: HTTP/1.1 over the gateway's own kept-alive connections.
    Plain(Arc<Http1Pool>),
    /// `https://`: hyper-util's client (TLS, then HTTP/2 or HTTP/1.1 by ALPN).
    Tls(Box<Client<HttpsConnector<HttpConnector>, Body>>),
}

impl UpstreamClient {
    pub(crate) fn new(config: &RouteConfig) -> Result<Self, RouteError> {
        let tls = match &config.upstream_tls {
            Some(profile) => ClientTls {
                identity: profile.identity.as_ref().map(|i| i.duplicate()),
                ca: profile.ca.clone(),
                versions: profile.min_version.into(),
                ..ClientTls::default()
            },
            None => ClientTls::default(),
        };
        let upstream = &config.upstream;
        // Only an https:// upstream needs a TLS config (and system roots when no CA is given).
        let transport = if upstream.scheme_str() == Some("https") {
            let tls_config = (*tls.build().map_err(|source| RouteError::UpstreamTls {
                prefix: config.prefix.clone(),
                source: Box::new(source),
            })?)
            .clone();
            Transport::Tls(Box::new(build_client(tls_config, config.connect_timeout)))
        } else {
            Transport::Plain(Arc::new(Http1Pool::new(
                upstream.clone(),
                config.connect_timeout,
            )))
        };
        Ok(Self {
            transport,
            scheme: upstream.scheme().cloned().unwrap_or(Scheme::HTTP),
            authority: upstream.authority().cloned(),
            host: upstream
                .authority()
                .and_then(|a| HeaderValue::from_str(a.as_str()).ok()),
            base_path: upstream.path().trim_end_matches('/').to_string(),
        })
    }

    /// The URI of the upstream request for a request to `path` (path and
    /// query): absolute for hyper-util's client, origin-form (the path) for
    /// the HTTP/1.1 pool, which writes it as it is.
    fn uri(&self, path: Option<&PathAndQuery>) -> Result<Uri, axum::http::Error> {
        let path_and_query = match path {
            // The common case: no base path, and the request's path as it came.
            Some(p) if self.base_path.is_empty() && p.as_str().starts_with('/') => p.clone(),
            _ => {
                let path = path.map_or("/", |p| p.as_str());
                format!("{}{path}", self.base_path).parse::<PathAndQuery>()?
            }
        };
        if let Transport::Plain(_) = self.transport {
            return Ok(Uri::from(path_and_query));
        }
        let mut parts = axum::http::uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = self.authority.clone();
        parts.path_and_query = Some(path_and_query);
        Ok(Uri::from_parts(parts)?)
    }

    /// Send the request; the response head, its body streaming.
    async fn send(
        &self,
        request: Request<Body>,
    ) -> Result<Response, Box<dyn std::error::Error + Send + Sync>> {
        match &self.transport {
            Transport::Plain(pool) => Ok(pool.send(request).await?),
            Transport::Tls(client) => Ok(client.request(request).await?.map(Body::new)),
        }
    }
}

/// Proxy `request` to the route's upstream.
pub(crate) async fn forward(
    route: &Route,
    request: Request<Body>,
    identity: Option<&ClientIdentity>,
    admitted: Admitted,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let upstream = &route.client;
    let uri = match upstream.uri(parts.uri.path_and_query()) {
        Ok(u) => u,
        Err(e) => {
            return bad_gateway(
                StatusCode::BAD_GATEWAY,
                &format!("cannot build the upstream URL: {e}"),
            );
        }
    };
    strip_hop_by_hop(&mut parts.headers);
    drop_reserved(&mut parts.headers, identity);
    set_identity(&mut parts.headers, identity, admitted);
    if let Some(host) = &upstream.host {
        parts.headers.insert(header::HOST, host.clone());
    }
    parts.uri = uri;
    parts.version = Version::HTTP_11;
    // A body still to come is watched, so that its failure is told apart from the upstream's.
    let client_body_failed = Arc::new(AtomicBool::new(false));
    let body = if hyper::body::Body::is_end_stream(&body) {
        body
    } else {
        Body::new(Watched {
            body,
            failed: Arc::clone(&client_body_failed),
        })
    };
    let request = Request::from_parts(parts, body);
    match tokio::time::timeout(route.config.timeout, route.client.send(request)).await {
        Err(_) => bad_gateway(
            StatusCode::GATEWAY_TIMEOUT,
            &format!(
                "the upstream did not answer within {}s",
                route.config.timeout.as_secs()
            ),
        ),
        Ok(Err(e)) => {
            let mut reason = e.to_string();
            let mut source = e.source();
            while let Some(s) = source {
                reason.push_str(": ");
                reason.push_str(&s.to_string());
                source = s.source();
            }
            if client_body_failed.load(Ordering::Relaxed) {
                let peer = identity.map(|i| i.peer.to_string()).unwrap_or_default();
                tracing::info!(route = %route.config.prefix, %peer, %reason, "the client's request body is malformed");
                return json_response(
                    StatusCode::BAD_REQUEST,
                    r#"{"error":"invalid_request","error_description":"the request body could not be read: it is not validly framed"}"#.into(),
                );
            }
            tracing::warn!(route = %route.config.prefix, upstream = %route.config.upstream, %reason, "upstream request failed");
            bad_gateway(StatusCode::BAD_GATEWAY, "the upstream cannot be reached")
        }
        Ok(Ok(mut response)) => {
            // hyper removed the chunking; any other coding would reach the
            // client unlabeled once the header is gone.
            if !single_chunked(response.headers()) {
                tracing::warn!(route = %route.config.prefix, upstream = %route.config.upstream, transfer_encoding = ?response.headers().get_all(header::TRANSFER_ENCODING).iter().collect::<Vec<_>>(), "the upstream answered with a transfer coding other than chunked");
                return bad_gateway(
                    StatusCode::BAD_GATEWAY,
                    "the upstream answered with a transfer coding other than chunked",
                );
            }
            strip_hop_by_hop(response.headers_mut());
            response
        }
    }
}

fn bad_gateway(status: StatusCode, description: &str) -> Response {
    let error = if status == StatusCode::GATEWAY_TIMEOUT {
        "upstream_timeout"
    } else {
        "bad_gateway"
    };
    json_response(
        status,
        serde_json::json!({"error": error, "error_description": description}).to_string(),
    )
}

/// Drop the incoming headers that read as one certbound sets (see
/// [`RESERVED`]), or as the forwarded-certificate header the identity came in.
fn drop_reserved(headers: &mut HeaderMap, identity: Option<&ClientIdentity>) {
    let forwarded_in = match identity.map(|i| &i.source) {
        Some(Source::Header { name }) => Some(name.as_str()),
        _ => None,
    };
    let reserved = |name: &HeaderName| {
        let name = name.as_str();
        RESERVED.iter().any(|r| reads_as(name, r))
            || forwarded_in.is_some_and(|f| reads_as(name, f))
    };
    // Most requests carry none: one look at each name, removals only when needed.
    if !headers.keys().any(reserved) {
        return;
    }
    let names: Vec<HeaderName> = headers.keys().filter(|n| reserved(n)).cloned().collect();
    for name in names {
        headers.remove(name);
    }
}

/// A request body on its way to the upstream that records whether reading
/// it from the client failed.
struct Watched {
    body: Body,
    failed: Arc<AtomicBool>,
}

impl hyper::body::Body for Watched {
    type Data = hyper::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(Some(Err(_))) = &polled {
            self.failed.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// The identity headers: the connection's are encoded once per connection
/// and shared by its requests. `X-Forwarded-For` is the peer's address alone.
fn set_identity(headers: &mut HeaderMap, identity: Option<&ClientIdentity>, admitted: Admitted) {
    if let Some(id) = admitted.client_id {
        headers.insert(X_CLIENT_ID, id);
    }
    let Some(identity) = identity else {
        return;
    };
    let values = identity.upstream_headers();
    for (name, value) in [
        (X_CLIENT_CERT_SUBJECT, &values.subject),
        (X_CLIENT_CERT_THUMBPRINT, &values.thumbprint),
        (CLIENT_CERT, &values.client_cert),
        (CLIENT_CERT_CHAIN, &values.client_cert_chain),
    ] {
        if let Some(v) = value {
            headers.insert(name, v.clone());
        }
    }
    if let Some(v) = &values.peer_ip {
        headers.insert(X_FORWARDED_FOR, v.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alike_names_of_reserved_headers_are_dropped() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("x_client_id", "admin"),
            ("x-client_id", "admin"),
            ("x-forwarded-for", "10.9.9.9"),
            ("x_forwarded_for", "10.9.9.9"),
            ("forwarded", "for=10.9.9.9"),
            ("x_amzn_mtls_clientcert", "forged"),
            ("my-proxy-cert", "forged"),
            ("x-client-idx", "kept"),
            ("accept", "kept"),
        ] {
            headers.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        let identity = ClientIdentity::forwarded(
            Ok(Vec::new()),
            "127.0.0.1:1".parse().unwrap(),
            "l".into(),
            "my-proxy-cert",
        );
        drop_reserved(&mut headers, Some(&identity));
        let mut left: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, ["accept", "x-client-idx"]);
        for name in [
            X_CLIENT_ID,
            X_CLIENT_CERT_SUBJECT,
            X_CLIENT_CERT_THUMBPRINT,
            CLIENT_CERT,
            CLIENT_CERT_CHAIN,
            X_FORWARDED_FOR,
        ] {
            assert!(RESERVED.contains(&name.as_str()), "{name} must be reserved");
        }
    }
}
