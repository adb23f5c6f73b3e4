//! A small HTTPS client with a client certificate, for `certbound request`
//! and `certbound token`: one request per connection, HTTP/1.1 or HTTP/2 as
//! ALPN decides, over the traced TLS stream of [`connect`](crate::connect),
//! so a connection that fails (at the handshake, or with a TLS 1.3 alert
//! right after it) comes back as a [`ConnectReport`] with its diagnosis.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_LENGTH, HOST, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::client::{ALPN_H2, ALPN_HTTP1};
use crate::connect::{self, ConnectOptions, SessionInfo, Target};
use crate::error::Error;
use crate::report::ConnectReport;

/// The largest response body read into memory.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// How long the HTTP exchange may take after the handshake, by default.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The User-Agent sent unless the caller sets one.
pub const DEFAULT_USER_AGENT: &str = concat!("certbound/", env!("CARGO_PKG_VERSION"));

/// Which HTTP version to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpVersion {
    /// Offer h2 and http/1.1; the server picks.
    #[default]
    Auto,
    /// HTTP/1.1 only.
    Http1,
    /// HTTP/2 only: fail if the server does not agree to h2.
    Http2,
}

impl HttpVersion {
    /// The ALPN protocols to offer.
    pub fn alpn(self) -> Vec<Vec<u8>> {
        match self {
            HttpVersion::Auto => vec![ALPN_H2.to_vec(), ALPN_HTTP1.to_vec()],
            HttpVersion::Http1 => vec![ALPN_HTTP1.to_vec()],
            HttpVersion::Http2 => vec![ALPN_H2.to_vec()],
        }
    }
}

/// One request.
#[derive(Debug, Clone)]
pub struct HttpsRequest {
    pub method: Method,
    pub url: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub version: HttpVersion,
    /// Limit for the exchange after the handshake.
    pub timeout: Duration,
}

/// The response, with the TLS report of the connection it came over.
#[derive(Debug)]
pub struct HttpsResponse {
    pub tls: ConnectReport,
    /// The request line and headers as sent (with Host, User-Agent, ...).
    pub sent: SentRequest,
    pub version: http::Version,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// What went on the wire, for `-v`.
#[derive(Debug, Clone)]
pub struct SentRequest {
    pub version: http::Version,
    /// The request target: origin form (`/path?q`) for HTTP/1.1, the URL for HTTP/2.
    pub target: String,
    pub headers: HeaderMap,
}

impl HttpsRequest {
    /// A request without headers or body; the URL must be `https://`.
    pub fn new(method: &str, url: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::Url {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let uri: Uri = url
            .parse()
            .map_err(|e: http::uri::InvalidUri| bad(&e.to_string()))?;
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") => {
                return Err(bad(
                    "certbound speaks HTTPS only (it exists to test TLS): use https://",
                ));
            }
            Some(other) => return Err(bad(&format!("the scheme `{other}` is not https"))),
            None => {
                return Err(bad(
                    "it needs a scheme and a host, e.g. https://api.example.com/path",
                ));
            }
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(bad("the host is missing"));
        }
        let method = Method::from_bytes(method.trim().as_bytes())
            .map_err(|_| bad(&format!("`{method}` is not an HTTP method")))?;
        Ok(Self {
            method,
            url: uri,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            version: HttpVersion::Auto,
            timeout: DEFAULT_REQUEST_TIMEOUT,
        })
    }

    /// Add a header written as `Name: value` (curl's `-H`).
    pub fn header_line(&mut self, line: &str) -> Result<(), Error> {
        let bad = || Error::Header {
            header: line.to_string(),
        };
        let (name, value) = line.split_once(':').ok_or_else(bad)?;
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad())?;
        let value = HeaderValue::from_str(value.trim()).map_err(|_| bad())?;
        self.headers.append(name, value);
        Ok(())
    }

    /// Where to connect.
    pub fn target(&self) -> Target {
        let host = self.url.host().unwrap_or_default();
        Target {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port: self.url.port_u16().unwrap_or(443),
        }
    }
}

/// Send `req` over a new mTLS connection made with `opts` (its ALPN is set
/// from the request's version).
pub async fn send(req: &HttpsRequest, opts: &mut ConnectOptions) -> Result<HttpsResponse, Error> {
    opts.tls.alpn = req.version.alpn();
    let mut session = connect::open(&req.target(), opts).await?;
    // A TLS 1.3 server refuses a client certificate only after the
    // handshake: hear that out before sending, or the refusal may be lost
    // to a connection reset.
    let early = session
        .settle(opts.post_handshake_wait)
        .await
        .map_err(Error::Handshake)?;
    let h2 = session.alpn().as_deref() == Some(ALPN_H2);
    let (stream, info) = session.split();
    let stream = Prefixed {
        prefix: Bytes::from(early),
        inner: stream,
    };
    if req.version == HttpVersion::Http2 && !h2 {
        return Err(Error::Http {
            reason:
                "the server did not agree to HTTP/2 in ALPN: it speaks HTTP/1.1 only (drop --http2)"
                    .into(),
        });
    }
    let request = build(req, h2)?;
    let sent = SentRequest {
        version: request.version(),
        target: request.uri().to_string(),
        headers: request.headers().clone(),
    };
    let io = TokioIo::new(stream);
    let exchange = async {
        if h2 {
            let (mut sender, conn) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                    .await
                    .map_err(|e| failure(&info, &e))?;
            let task = tokio::spawn(conn);
            let result = sender.send_request(request).await;
            finish(&info, result, task).await
        } else {
            let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
                .await
                .map_err(|e| failure(&info, &e))?;
            let task = tokio::spawn(conn);
            let result = sender.send_request(request).await;
            finish(&info, result, task).await
        }
    };
    let (parts, body) = tokio::time::timeout(req.timeout, exchange)
        .await
        .map_err(|_| Error::Timeout {
            seconds: req.timeout.as_secs(),
        })??;
    Ok(HttpsResponse {
        tls: info.report(),
        sent,
        version: parts.0,
        status: parts.1,
        headers: parts.2,
        body,
    })
}

type Head = (http::Version, StatusCode, HeaderMap);

/// A stream that first yields bytes already read from it.
#[derive(Debug)]
struct Prefixed<S> {
    prefix: Bytes,
    inner: S,
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            let head = self.prefix.split_to(n);
            buf.put_slice(&head);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Read the response, or explain why there is none.
async fn finish(
    info: &SessionInfo,
    result: Result<http::Response<hyper::body::Incoming>, hyper::Error>,
    task: tokio::task::JoinHandle<Result<(), hyper::Error>>,
) -> Result<(Head, Bytes), Error> {
    let response = match result {
        Ok(r) => r,
        Err(e) => {
            // The connection task often holds the precise cause (the alert).
            if info.failure_report(&e).is_none()
                && let Ok(Ok(Err(conn_err))) =
                    tokio::time::timeout(Duration::from_secs(1), task).await
            {
                return Err(failure(info, &conn_err));
            }
            return Err(failure(info, &e));
        }
    };
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|e| {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Error::BodyTooLarge {
                    limit: MAX_BODY_BYTES,
                }
            } else {
                match info.failure_report(e.as_ref()) {
                    Some(report) => Error::Handshake(Box::new(report)),
                    None => Error::Http {
                        reason: chain(e.as_ref()),
                    },
                }
            }
        })?
        .to_bytes();
    Ok(((parts.version, parts.status, parts.headers), body))
}

/// A hyper error as a TLS diagnosis when TLS is the cause, else in words.
fn failure(info: &SessionInfo, e: &hyper::Error) -> Error {
    match info.failure_report(e) {
        Some(report) => Error::Handshake(Box::new(report)),
        None => Error::Http { reason: chain(e) },
    }
}

fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn build(req: &HttpsRequest, h2: bool) -> Result<http::Request<Full<Bytes>>, Error> {
    let uri = if h2 {
        req.url.clone()
    } else {
        let pq = req.url.path_and_query().map_or("/", |p| p.as_str());
        pq.parse::<Uri>().map_err(|e| Error::Url {
            url: req.url.to_string(),
            reason: e.to_string(),
        })?
    };
    let mut builder = http::Request::builder()
        .method(req.method.clone())
        .uri(uri)
        .version(if h2 {
            http::Version::HTTP_2
        } else {
            http::Version::HTTP_11
        });
    let mut headers = req.headers.clone();
    if !h2 && !headers.contains_key(HOST) {
        if let Some(authority) = req.url.authority() {
            let value = HeaderValue::from_str(authority.as_str()).map_err(|_| Error::Url {
                url: req.url.to_string(),
                reason: "the host cannot be sent in a Host header".into(),
            })?;
            headers.insert(HOST, value);
        }
    }
    headers
        .entry(USER_AGENT)
        .or_insert(HeaderValue::from_static(DEFAULT_USER_AGENT));
    headers
        .entry(ACCEPT)
        .or_insert(HeaderValue::from_static("*/*"));
    if !req.body.is_empty() || matches!(req.method, Method::POST | Method::PUT | Method::PATCH) {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(req.body.len()));
    }
    if let Some(h) = builder.headers_mut() {
        h.extend(headers);
    }
    builder
        .body(Full::new(req.body.clone()))
        .map_err(|e| Error::Http {
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_with_a_host() {
        let r = HttpsRequest::new("GET", "https://127.0.0.1:8443/x?y=1").unwrap();
        assert_eq!(r.target().port, 8443);
        assert_eq!(r.target().host, "127.0.0.1");
        let r = HttpsRequest::new("get", "https://[::1]/").unwrap();
        assert_eq!((r.target().host.as_str(), r.target().port), ("::1", 443));
        for bad in [
            "http://example.com/",
            "example.com/x",
            "ftp://example.com",
            "https:///x",
        ] {
            assert!(HttpsRequest::new("GET", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn header_lines_and_http1_request_form() {
        let mut r = HttpsRequest::new("POST", "https://api.test:8443/token?a=b").unwrap();
        r.header_line("X-Trace:  abc ").unwrap();
        assert!(r.header_line("no colon").is_err());
        assert!(r.header_line("bad name: v").is_err());
        r.body = Bytes::from_static(b"x=1");
        let h1 = build(&r, false).unwrap();
        assert_eq!(h1.uri(), "/token?a=b");
        assert_eq!(h1.headers()[HOST], "api.test:8443");
        assert_eq!(h1.headers()["x-trace"], "abc");
        assert_eq!(h1.headers()[CONTENT_LENGTH], "3");
        let h2 = build(&r, true).unwrap();
        assert_eq!(h2.uri(), "https://api.test:8443/token?a=b");
        assert!(!h2.headers().contains_key(HOST));
    }
}
