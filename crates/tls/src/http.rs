//! HTTP pieces shared by certbound's two kinds of HTTP server, the
//! authorization server (with its gateway) and the sidecar: the limits one
//! connection is held to and hyper's server builder that enforces them, the
//! upstream client, the hop-by-hop headers a proxy never forwards, and the one
//! transfer coding it passes on.

use std::time::Duration;

use http::header::{self, HeaderMap, HeaderName};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// Default `header_read_timeout_secs`: time to send a whole request head.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `idle_timeout_secs`: a connection with no request in progress
/// this long is closed.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default `max_connections` per listener: far below a typical file
/// descriptor limit of 65536 for the whole process (each proxied request
/// may hold an upstream connection too).
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Largest request head (request line and headers) accepted: room for a
/// forwarded certificate chain, far below what would let a peer hog memory.
/// Larger heads get 431.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// How often an HTTP/2 connection is pinged to tell a dead peer from an idle one.
pub const HTTP2_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(20);
/// How long an HTTP/2 ping may go unanswered before the connection is closed.
pub const HTTP2_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// Idle upstream connections are closed after this long.
pub const POOL_IDLE: Duration = Duration::from_secs(90);

/// What one connection may hold, per listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl Limits {
    /// hyper's connection builder with these limits: the request head must
    /// arrive whole within `header_read_timeout` (which also closes an idle
    /// HTTP/1.1 connection) and within [`MAX_HEADER_BYTES`]; HTTP/2 peers are
    /// pinged.
    pub fn builder(&self) -> hyper_util::server::conn::auto::Builder<TokioExecutor> {
        let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout)
            .max_buf_size(MAX_HEADER_BYTES);
        builder
            .http2()
            .timer(TokioTimer::new())
            .keep_alive_interval(HTTP2_KEEP_ALIVE_INTERVAL)
            .keep_alive_timeout(HTTP2_KEEP_ALIVE_TIMEOUT)
            .max_header_list_size(MAX_HEADER_BYTES as u32);
        builder
    }
}

/// An HTTP/1.1 and HTTP/2 client for `http://` and `https://` upstreams,
/// TLS by `tls`, idle connections closed after [`POOL_IDLE`].
pub fn build_client<B>(
    tls: rustls::ClientConfig,
    connect_timeout: Duration,
) -> Client<HttpsConnector<HttpConnector>, B>
where
    B: hyper::body::Body + Send + 'static + Unpin,
    B::Data: Send,
{
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE)
        .build(https)
}

/// Hop-by-hop headers (RFC 9110 §7.6.1), never forwarded: hyper writes
/// the framing of each hop itself.
const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Remove the hop-by-hop headers, and those `Connection` names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Most requests and responses carry none: one look at each name instead of a removal each.
    if !headers.keys().any(|k| HOP_BY_HOP.contains(k)) {
        return;
    }
    // Headers named by Connection are hop-by-hop too.
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(n);
    }
}

/// Whether a message's `Transfer-Encoding` is absent or one `chunked`: the
/// only framing hyper decodes whole.
pub fn single_chunked(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(header::TRANSFER_ENCODING).iter();
    match (values.next(), values.next()) {
        (None, _) => true,
        (Some(v), None) => v.as_bytes().trim_ascii().eq_ignore_ascii_case(b"chunked"),
        _ => false,
    }
}

/// What to do about a failure to listen, when there is something to say.
pub fn bind_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            ": another program (or another certbound) uses that port; stop it or choose another port"
        }
        std::io::ErrorKind::PermissionDenied => {
            ": ports below 1024 need privileges (e.g. CAP_NET_BIND_SERVICE); choose a port of 1024 or more"
        }
        std::io::ErrorKind::AddrNotAvailable => ": no interface of this machine has that address",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_removed() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, "close, x-secret".parse().unwrap());
        h.insert("x-secret", "1".parse().unwrap());
        h.insert(header::TE, "trailers".parse().unwrap());
        h.insert("x-kept", "1".parse().unwrap());
        strip_hop_by_hop(&mut h);
        assert_eq!(h.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["x-kept"]);
    }
}
