//! Revocation sources over plain HTTP: POST an OCSP request to the responder a
//! certificate names (RFC 6960 appendix A.1) and GET a CRL from a CRL
//! Distribution Point. Both are http:// as is normal (the answers are signed),
//! with a short timeout and a limit on the size of what comes back.
//!
//! The OCSP answer is handed to [`certbound_pki::ocsp`] to be believed or not;
//! [`ask_ocsp`] does the whole exchange for one certificate.

use std::time::Duration;

use bytes::Bytes;
use certbound_pki::ocsp::{self, OcspAnswer, OcspError};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use time::OffsetDateTime;

/// How long one fetch may take, connection included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
/// The largest OCSP response read (a response is usually under 4 KiB).
pub const MAX_OCSP_RESPONSE_BYTES: usize = 64 * 1024;
/// The largest CRL read (the limit of the CRL reader).
pub const MAX_CRL_BYTES: usize = certbound_pki::revocation::MAX_CRL_BYTES;

/// Why nothing usable came back from a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("`{url}` cannot be fetched: {reason}")]
    Url { url: String, reason: String },
    #[error("{url} cannot be reached: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url} did not answer within {} s", timeout.as_secs_f32())]
    Timeout { url: String, timeout: Duration },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url} sent more than {limit} bytes; refused")]
    TooLarge { url: String, limit: usize },
}

impl FetchError {
    /// A stable identifier for logs and JSON.
    pub fn code(&self) -> &'static str {
        match self {
            FetchError::Url { .. } => "bad_url",
            FetchError::Unreachable { .. } => "unreachable",
            FetchError::Timeout { .. } => "timeout",
            FetchError::Status { .. } => "http_status",
            FetchError::TooLarge { .. } => "too_large",
        }
    }
}

/// POST an OCSP request; the body of a 200 answer.
pub async fn post_ocsp(
    url: &str,
    request: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, FetchError> {
    let req = Some((ocsp::REQUEST_CONTENT_TYPE, request.to_vec()));
    fetch(url, req, timeout, MAX_OCSP_RESPONSE_BYTES).await
}

/// GET a CRL (DER or PEM, as the server sends it), at most `limit` bytes.
pub async fn get_crl(url: &str, timeout: Duration, limit: usize) -> Result<Vec<u8>, FetchError> {
    fetch(url, None, timeout, limit).await
}

async fn fetch(
    url: &str,
    post: Option<(&str, Vec<u8>)>,
    timeout: Duration,
    limit: usize,
) -> Result<Vec<u8>, FetchError> {
    match tokio::time::timeout(timeout, exchange(url, post, limit)).await {
        Ok(r) => r,
        Err(_) => Err(FetchError::Timeout {
            url: url.to_string(),
            timeout,
        }),
    }
}

async fn exchange(
    url: &str,
    post: Option<(&str, Vec<u8>)>,
    limit: usize,
) -> Result<Vec<u8>, FetchError> {
    let bad = |reason: &str| FetchError::Url {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let uri: http::Uri = url.parse().map_err(|_| bad("it is not a URL"))?;
    if uri.scheme_str() != Some("http") {
        return Err(bad(
            "only http:// URLs are fetched (OCSP answers and CRLs are signed, so they travel in the clear)",
        ));
    }
    let host = uri.host().ok_or_else(|| bad("it names no host"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(80);
    let unreachable = |reason: String| FetchError::Unreachable {
        url: url.to_string(),
        reason,
    };
    let stream = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let task = tokio::spawn(conn);
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let authority = uri.authority().map_or(host, |a| a.as_str()).to_string();
    let builder = http::Request::builder()
        .uri(path)
        .header(http::header::HOST, authority)
        .header(
            http::header::USER_AGENT,
            concat!("certbound/", env!("CARGO_PKG_VERSION")),
        );
    let request = match post {
        Some((content_type, body)) => builder
            .method(http::Method::POST)
            .header(http::header::CONTENT_TYPE, content_type)
            .body(Full::new(Bytes::from(body))),
        None => builder
            .method(http::Method::GET)
            .body(Full::new(Bytes::new())),
    }
    .map_err(|e| bad(&e.to_string()))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| unreachable(e.to_string()));
    let result = async {
        let response = response?;
        let status = response.status();
        if status != http::StatusCode::OK {
            return Err(FetchError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            });
        }
        let too_large = || FetchError::TooLarge {
            url: url.to_string(),
            limit,
        };
        let declared = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        match Limited::new(response.into_body(), limit).collect().await {
            Ok(body) => Ok(body.to_bytes().to_vec()),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
            Err(e) => Err(unreachable(e.to_string())),
        }
    }
    .await;
    task.abort();
    result
}

/// Why asking a certificate's OCSP responder gave no believable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OcspCheckError {
    /// The certificate names no OCSP responder (no AIA OCSP URL).
    #[error("the certificate names no OCSP responder (no Authority Information Access OCSP URL)")]
    NoResponder,
    /// The request could not be made (the issuer given is not the issuer).
    #[error("{0}")]
    Request(OcspError),
    /// The responder could not be asked.
    #[error("the OCSP responder {0}")]
    Fetch(FetchError),
    /// The answer is not believed.
    #[error("{url}: {error}")]
    Response { url: String, error: OcspError },
}

impl OcspCheckError {
    /// A stable identifier for logs and JSON.
    pub fn code(&self) -> &'static str {
        match self {
            OcspCheckError::NoResponder => "ocsp_no_responder",
            OcspCheckError::Request(e) | OcspCheckError::Response { error: e, .. } => e.code(),
            OcspCheckError::Fetch(_) => "ocsp_unavailable",
        }
    }
}

/// A believed answer and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspOutcome {
    pub url: String,
    pub answer: OcspAnswer,
}

/// Ask the responder(s) named in `cert`'s AIA about it (`issuer` issued it;
/// both DER), with a fresh nonce, and check the answer at `now`. The
/// responders are tried in order until one gives a believable answer; the
/// last failure is returned otherwise.
pub async fn ask_ocsp(
    cert: &[u8],
    issuer: &[u8],
    now: OffsetDateTime,
    timeout: Duration,
) -> Result<OcspOutcome, OcspCheckError> {
    let urls = ocsp::responder_urls(cert);
    let mut nonce = [0u8; 16];
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let nonce = match provider.secure_random.fill(&mut nonce) {
        Ok(()) => Some(&nonce[..]),
        Err(_) => None,
    };
    let request = ocsp::request(cert, issuer, nonce).map_err(OcspCheckError::Request)?;
    let mut last = OcspCheckError::NoResponder;
    for url in urls {
        let body = match post_ocsp(&url, &request.der, timeout).await {
            Ok(body) => body,
            Err(e) => {
                last = OcspCheckError::Fetch(e);
                continue;
            }
        };
        match ocsp::verify_response(&body, cert, issuer, request.nonce.as_deref(), now) {
            Ok(answer) => return Ok(OcspOutcome { url, answer }),
            Err(error) => last = OcspCheckError::Response { url, error },
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Serve one connection with `reply` (raw HTTP) after reading the request
    /// head and body; return the URL and what was received.
    async fn serve_once(reply: Vec<u8>) -> (String, tokio::task::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/ocsp", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = s.read(&mut buf).await.unwrap_or(0);
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got).to_string();
                let Some((head, body)) = text.split_once("\r\n\r\n") else {
                    if n == 0 {
                        break;
                    }
                    continue;
                };
                let len = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                if body.len() >= len || n == 0 {
                    break;
                }
            }
            if !reply.is_empty() {
                let _ = s.write_all(&reply).await;
                let _ = s.shutdown().await;
            } else {
                // Never answer: hold the connection until the client gives up.
                let _ = s.read(&mut buf).await;
            }
            got
        });
        (url, task)
    }

    fn ok(body: &[u8]) -> Vec<u8> {
        let mut r = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    }

    #[tokio::test]
    async fn posts_the_request_and_reads_the_answer() {
        let (url, task) = serve_once(ok(b"answer")).await;
        let body = post_ocsp(&url, b"question", FETCH_TIMEOUT).await;
        assert_eq!(body.as_deref(), Ok(&b"answer"[..]));
        let got = String::from_utf8_lossy(&task.await.expect("server")).to_string();
        assert!(got.starts_with("POST /ocsp HTTP/1.1\r\n"), "{got}");
        assert!(
            got.to_ascii_lowercase()
                .contains("content-type: application/ocsp-request"),
            "{got}"
        );
        assert!(got.ends_with("question"), "{got}");
    }

    #[tokio::test]
    async fn gets_a_crl_within_its_limit_and_refuses_more() {
        let (url, _task) = serve_once(ok(&[7u8; 100])).await;
        assert_eq!(
            get_crl(&url, FETCH_TIMEOUT, 100).await.map(|b| b.len()),
            Ok(100)
        );
        let (url, _task) = serve_once(ok(&[7u8; 101])).await;
        let err = get_crl(&url, FETCH_TIMEOUT, 100).await.unwrap_err();
        assert_eq!(err.code(), "too_large", "{err}");
        // Chunked, with no length announced: cut off at the limit all the same.
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n80\r\n"
                .to_vec();
        let mut chunked = chunked;
        chunked.extend_from_slice(&[1u8; 128]);
        chunked.extend_from_slice(b"\r\n0\r\n\r\n");
        let (url, _task) = serve_once(chunked).await;
        let err = get_crl(&url, FETCH_TIMEOUT, 100).await.unwrap_err();
        assert_eq!(err.code(), "too_large", "{err}");
    }

    #[tokio::test]
    async fn failures_are_named() {
        let (url, _task) =
            serve_once(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n".to_vec())
                .await;
        let err = post_ocsp(&url, b"q", FETCH_TIMEOUT).await.unwrap_err();
        assert_eq!(
            err,
            FetchError::Status {
                url: url.clone(),
                status: 500
            }
        );

        let (url, _task) = serve_once(Vec::new()).await;
        let err = post_ocsp(&url, b"q", Duration::from_millis(300))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "timeout");
        assert!(err.to_string().contains("within 0.3 s"), "{err}");

        // A port nobody listens on.
        let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/", closed.local_addr().expect("addr"));
        drop(closed);
        let err = post_ocsp(&url, b"q", FETCH_TIMEOUT).await.unwrap_err();
        assert_eq!(err.code(), "unreachable", "{err}");

        for bad in [
            "https://ocsp.example/",
            "ldap://ldap.example/cn=CA",
            "not a url",
        ] {
            let err = post_ocsp(bad, b"q", FETCH_TIMEOUT).await.unwrap_err();
            assert_eq!(err.code(), "bad_url", "{bad}: {err}");
        }
    }
}
