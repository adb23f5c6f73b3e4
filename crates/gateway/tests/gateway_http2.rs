//! The gateway beyond one small HTTP/1.1 request: clients speaking HTTP/2
//! (ALPN h2) over mTLS, request and response bodies of several MiB that
//! stream through (the upstream sees the first bytes of an upload before the
//! client has sent the rest, and the client gets the first bytes of a
//! download before the upstream has produced the rest), and `https://`
//! upstreams reached with a `[tls.NAME]` profile (`upstream_tls`), including
//! one whose CA does not trust the upstream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../server/tests/common/mod.rs"]
mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use certbound_testkit::{Ca, LeafOptions, self_signed};
use common::{Client, Harness, client_doc, echo_upstream};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::{Request, Response, StatusCode, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{PrivateKeyDer, ServerName};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

type Body = UnsyncBoxBody<Bytes, Infallible>;

/// No test waits longer than this for anything.
const LIMIT: Duration = Duration::from_secs(60);
/// How long one side of a streaming check waits for the other before
/// concluding that the gateway held the body back.
const STALL: Duration = Duration::from_secs(10);
/// The large bodies: 8 MiB, sent in chunks of 64 KiB after a first one of 16 KiB.
const TOTAL: usize = 8 << 20;
const FIRST: usize = 16 << 10;
const CHUNK: usize = 64 << 10;

/// The bytes of a large body at `offset`: a pattern that shows a lost,
/// doubled or reordered chunk.
fn pattern(offset: usize, len: usize) -> Bytes {
    (offset..offset + len)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into()
}

/// How many bytes of `data`, found at `offset`, differ from the pattern.
fn mismatches(offset: usize, data: &[u8]) -> usize {
    data.iter()
        .enumerate()
        .filter(|(j, b)| **b != ((offset + j) % 251) as u8)
        .count()
}

fn full(body: impl Into<Bytes>) -> Body {
    Full::new(body.into()).boxed_unsync()
}

/// A body fed through a channel, one data frame per message.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(Frame::data(b))))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    H1,
    H2,
}

/// One client connection to a listener: mTLS, then HTTP/1.1 or HTTP/2 as
/// agreed in ALPN.
enum Conn {
    H1(hyper::client::conn::http1::SendRequest<Body>),
    H2(hyper::client::conn::http2::SendRequest<Body>),
}

impl Conn {
    async fn open(h: &Harness, listener: &str, client: &Client, proto: Proto) -> Conn {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(h.pki.root.cert.clone()).unwrap();
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let mut config = match client {
            Client::None => builder.with_no_client_auth(),
            Client::Cert(chain, key) => builder
                .with_client_auth_cert(
                    chain.clone(),
                    PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
                )
                .unwrap(),
            Client::Forged(..) => unreachable!("not used here"),
        };
        let alpn: &[u8] = match proto {
            Proto::H1 => b"http/1.1",
            Proto::H2 => b"h2",
        };
        config.alpn_protocols = vec![alpn.to_vec()];
        let tcp = TcpStream::connect(h.addr(listener)).await.unwrap();
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap();
        assert_eq!(
            tls.get_ref().1.alpn_protocol(),
            Some(alpn),
            "the listener agrees to {proto:?} in ALPN"
        );
        let io = TokioIo::new(tls);
        match proto {
            Proto::H1 => {
                let (sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
                tokio::spawn(conn);
                Conn::H1(sender)
            }
            Proto::H2 => {
                let (sender, conn) =
                    hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                        .await
                        .unwrap();
                tokio::spawn(conn);
                Conn::H2(sender)
            }
        }
    }

    fn proto(&self) -> Proto {
        match self {
            Conn::H1(_) => Proto::H1,
            Conn::H2(_) => Proto::H2,
        }
    }

    /// A request to `path`, in the form this connection's protocol needs.
    fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Body,
    ) -> Request<Body> {
        let mut r = Request::builder().method(method);
        r = match self.proto() {
            Proto::H1 => r.uri(path).header("host", "localhost"),
            Proto::H2 => r
                .uri(format!("https://localhost{path}"))
                .version(Version::HTTP_2),
        };
        if let Some(t) = token {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.body(body).unwrap()
    }

    /// Send; the response head, its body still to be read.
    async fn send(&mut self, request: Request<Body>) -> Response<Incoming> {
        let sent = async {
            match self {
                Conn::H1(s) => {
                    s.ready().await?;
                    s.send_request(request).await
                }
                Conn::H2(s) => {
                    s.ready().await?;
                    s.send_request(request).await
                }
            }
        };
        tokio::time::timeout(LIMIT, sent)
            .await
            .expect("the gateway answers in time")
            .expect("the request is answered")
    }

    /// Send a small request and read the whole answer.
    async fn call(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (StatusCode, Version, hyper::HeaderMap, String) {
        let request = self.request(method, path, token, headers, full(body.to_string()));
        let response = self.send(request).await;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        (
            parts.status,
            parts.version,
            parts.headers,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// A server with `extra` TOML, the client `partner` registered and a token bound to its certificate.
struct Setup {
    h: Harness,
    partner: Client,
    thumbprint: String,
    token: String,
}

async fn setup(extra: &str, files: &[(&str, &str)]) -> Setup {
    let h = Harness::start_with_files(extra, files).await;
    let leaf = self_signed(&LeafOptions::client("partner").around_now());
    h.register("partner", client_doc("partner", &leaf.cert_pem()))
        .await;
    let thumbprint = certbound_pki::x5t_s256(&leaf.cert);
    let partner = Client::Cert(vec![leaf.cert.clone()], leaf.key_pem.clone());
    let reply = h
        .token(
            "mtls",
            &partner,
            "grant_type=client_credentials&client_id=partner",
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let token = reply.json()["access_token"].as_str().unwrap().to_string();
    Setup {
        h,
        partner,
        thumbprint,
        token,
    }
}

/// The identity headers the echo upstream saw are the partner's.
#[track_caller]
fn assert_partner_identity(echo: &serde_json::Value, thumbprint: &str) {
    let headers = &echo["headers"];
    assert_eq!(headers["x-client-id"], "partner", "{echo}");
    assert_eq!(headers["x-client-cert-thumbprint"], thumbprint, "{echo}");
    assert!(
        headers["x-client-cert-subject"]
            .as_str()
            .unwrap()
            .contains("CN=partner"),
        "{echo}"
    );
    let client_cert = headers["client-cert"].as_str().unwrap();
    assert!(
        client_cert.starts_with(':') && client_cert.ends_with(':') && client_cert.len() > 100,
        "{client_cert}"
    );
    assert_eq!(headers["x-forwarded-for"], "127.0.0.1", "{echo}");
}

#[tokio::test]
async fn an_http2_client_reaches_a_bound_token_route_with_its_identity() {
    let echo = echo_upstream().await;
    let s = setup(
        &format!("[[route]]\nprefix = \"/api/\"\nupstream = \"http://{echo}\"\n"),
        &[],
    )
    .await;
    let mut conn = Conn::open(&s.h, "mtls-opt", &s.partner, Proto::H2).await;
    // Identity headers the client sends are replaced.
    let headers = [
        ("content-type", "text/plain"),
        ("x-client-id", "admin"),
        ("x-client-cert-thumbprint", "forged"),
    ];
    let (status, version, _, body) = conn
        .call(
            "POST",
            "/api/items?x=1",
            Some(&s.token),
            &headers,
            "hello over h2",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(version, Version::HTTP_2);
    let e = json(&body);
    assert_eq!(e["method"], "POST");
    assert_eq!(e["path"], "/api/items?x=1");
    assert_eq!(e["body"], "hello over h2");
    assert_eq!(e["headers"]["content-type"], "text/plain");
    // HTTP/2 has no Host header: the upstream gets its own authority.
    assert_eq!(e["headers"]["host"], echo.to_string());
    assert_partner_identity(&e, &s.thumbprint);

    // Several requests at once on the one connection, each answered as its own.
    let h2_sender = match &conn {
        Conn::H2(sender) => sender.clone(),
        Conn::H1(_) => unreachable!(),
    };
    let requests: Vec<_> = (0..8)
        .map(|i| {
            let mut c = Conn::H2(h2_sender.clone());
            let token = s.token.clone();
            tokio::spawn(async move {
                let (status, _, _, body) = c
                    .call("GET", &format!("/api/n/{i}"), Some(&token), &[], "")
                    .await;
                (i, status, body)
            })
        })
        .collect();
    for r in requests {
        let (i, status, body) = r.await.unwrap();
        assert_eq!(status, 200, "{body}");
        let e = json(&body);
        assert_eq!(e["path"], format!("/api/n/{i}"));
        assert_partner_identity(&e, &s.thumbprint);
    }

    // Refusals over HTTP/2 are the same as over HTTP/1.1.
    let (status, _, headers, body) = conn.call("GET", "/api/x", None, &[], "").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(headers["www-authenticate"], "Bearer");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        json(&body),
        serde_json::json!({
            "error": "invalid_request",
            "error_description": "an access token is required: send Authorization: Bearer <token>",
        })
    );
    let stranger = self_signed(&LeafOptions::client("stranger").around_now());
    let stranger = Client::Cert(vec![stranger.cert.clone()], stranger.key_pem.clone());
    let mut other = Conn::open(&s.h, "mtls-opt", &stranger, Proto::H2).await;
    let (status, _, _, body) = other.call("GET", "/api/x", Some(&s.token), &[], "").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        json(&body)["error_description"],
        "the token is bound to another certificate than the one presented"
    );
}

/// What the streaming upstream saw, for the client side to wait on.
struct Probe {
    /// (tag, bytes so far) of the upload being read.
    upload: watch::Sender<(String, usize)>,
    /// The tag of the last download whose first bytes the client has read.
    client_got_first: watch::Sender<String>,
    /// Downloads whose producer waited in vain for the client to see their first bytes.
    stalled: Mutex<Vec<String>>,
}

/// The value of `key` in the query of `uri`.
fn query(uri: &hyper::Uri, key: &str) -> String {
    uri.query()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .unwrap_or_default()
        .to_string()
}

/// An HTTP/1.1 upstream: `POST /stream/upload?tag=T` reads the body frame by
/// frame, publishing its progress, and answers with the byte count;
/// `GET /stream/download?tag=T&n=N` answers with N bytes of the pattern,
/// holding all but the first chunk back until the client has read it.
async fn streaming_upstream() -> (SocketAddr, Arc<Probe>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let probe = Arc::new(Probe {
        upload: watch::channel((String::new(), 0)).0,
        client_got_first: watch::channel(String::new()).0,
        stalled: Mutex::new(Vec::new()),
    });
    let p = Arc::clone(&probe);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let p = Arc::clone(&p);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let p = Arc::clone(&p);
                    async move { Ok::<_, Infallible>(stream_handler(&p, req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, probe)
}

async fn stream_handler(p: &Arc<Probe>, req: Request<Incoming>) -> Response<Body> {
    let tag = query(req.uri(), "tag");
    match req.uri().path() {
        "/stream/upload" => {
            let chunked = req
                .headers()
                .get("transfer-encoding")
                .is_some_and(|v| v == "chunked");
            let mut body = req.into_body();
            let (mut total, mut mismatched, mut frames) = (0usize, 0usize, 0usize);
            while let Some(frame) = body.frame().await {
                let Ok(frame) = frame else {
                    return Response::new(full("the request body broke off"));
                };
                if let Ok(data) = frame.into_data() {
                    mismatched += mismatches(total, &data);
                    total += data.len();
                    frames += 1;
                    p.upload.send_replace((tag.clone(), total));
                }
            }
            let answer = serde_json::json!({
                "bytes": total,
                "mismatched": mismatched,
                "frames": frames,
                "chunked": chunked,
            });
            Response::new(full(answer.to_string()))
        }
        "/stream/download" => {
            let n: usize = query(req.uri(), "n").parse().unwrap();
            let (tx, rx) = mpsc::channel::<Bytes>(4);
            let mut got_first = p.client_got_first.subscribe();
            let p = Arc::clone(p);
            tokio::spawn(async move {
                let first = FIRST.min(n);
                if tx.send(pattern(0, first)).await.is_err() {
                    return;
                }
                let timed_out = tokio::time::timeout(STALL, got_first.wait_for(|t| *t == tag))
                    .await
                    .is_err();
                if timed_out {
                    p.stalled.lock().unwrap().push(tag.clone());
                }
                let mut offset = first;
                while offset < n {
                    let len = CHUNK.min(n - offset);
                    if tx.send(pattern(offset, len)).await.is_err() {
                        return;
                    }
                    offset += len;
                }
            });
            Response::new(ChannelBody(rx).boxed_unsync())
        }
        _ => {
            let mut r = Response::new(full("no such path"));
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    }
}

/// Upload `TOTAL` bytes through the gateway and check that they streamed.
async fn upload(conn: &mut Conn, s: &Setup, probe: &Arc<Probe>, tag: &str) {
    let (tx, rx) = mpsc::channel::<Bytes>(4);
    let mut progress = probe.upload.subscribe();
    let feeder_tag = tag.to_string();
    let feeder = tokio::spawn(async move {
        tx.send(pattern(0, FIRST)).await.unwrap();
        // The upstream reads the first bytes while the rest is still unsent.
        let seen = tokio::time::timeout(
            STALL,
            progress.wait_for(|(t, n)| *t == feeder_tag && *n >= FIRST),
        )
        .await
        .is_ok();
        let mut offset = FIRST;
        while offset < TOTAL {
            let len = CHUNK.min(TOTAL - offset);
            tx.send(pattern(offset, len)).await.unwrap();
            offset += len;
        }
        seen
    });
    let request = conn.request(
        "POST",
        &format!("/stream/upload?tag={tag}"),
        Some(&s.token),
        &[("content-type", "application/octet-stream")],
        ChannelBody(rx).boxed_unsync(),
    );
    let response = conn.send(request).await;
    assert_eq!(response.status(), 200, "{tag}");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let answer = json(std::str::from_utf8(&body).unwrap());
    assert_eq!(answer["bytes"], TOTAL, "{tag}: {answer}");
    assert_eq!(answer["mismatched"], 0, "{tag}: {answer}");
    // A body of unknown length goes to the HTTP/1.1 upstream chunked, in many frames.
    assert_eq!(answer["chunked"], true, "{tag}: {answer}");
    assert!(answer["frames"].as_u64().unwrap() > 1, "{tag}: {answer}");
    assert!(
        feeder.await.unwrap(),
        "{tag}: the upstream saw none of the upload within {STALL:?} of its first {FIRST} bytes being sent: the gateway buffers request bodies"
    );
}

/// Download `TOTAL` bytes through the gateway and check that they streamed.
async fn download(conn: &mut Conn, s: &Setup, probe: &Arc<Probe>, tag: &str) {
    let request = conn.request(
        "GET",
        &format!("/stream/download?tag={tag}&n={TOTAL}"),
        Some(&s.token),
        &[],
        full(""),
    );
    let response = conn.send(request).await;
    assert_eq!(response.status(), 200, "{tag}");
    let mut body = response.into_body();
    let (mut got, mut mismatched, mut signalled) = (0usize, 0usize, false);
    while let Some(frame) = tokio::time::timeout(LIMIT, body.frame())
        .await
        .expect("the download goes on")
    {
        let Ok(data) = frame.unwrap().into_data() else {
            continue;
        };
        mismatched += mismatches(got, &data);
        got += data.len();
        if !signalled && got >= FIRST {
            probe.client_got_first.send_replace(tag.to_string());
            signalled = true;
        }
    }
    assert_eq!(got, TOTAL, "{tag}: the whole body");
    assert_eq!(mismatched, 0, "{tag}: bytes changed on the way");
    assert!(
        !probe.stalled.lock().unwrap().iter().any(|t| t == tag),
        "{tag}: the client got none of the download within {STALL:?} of its first {FIRST} bytes being produced: the gateway buffers response bodies"
    );
}

#[tokio::test]
async fn large_bodies_stream_both_ways_over_http1_and_http2() {
    let (upstream, probe) = streaming_upstream().await;
    let s = setup(
        &format!("[[route]]\nprefix = \"/stream/\"\nupstream = \"http://{upstream}\"\n"),
        &[],
    )
    .await;
    tokio::time::timeout(LIMIT * 2, async {
        for proto in [Proto::H1, Proto::H2] {
            let mut conn = Conn::open(&s.h, "mtls-opt", &s.partner, proto).await;
            let tag = format!("{proto:?}").to_lowercase();
            upload(&mut conn, &s, &probe, &format!("{tag}-up")).await;
            download(&mut conn, &s, &probe, &format!("{tag}-down")).await;
            // The connection serves on after both.
            upload(&mut conn, &s, &probe, &format!("{tag}-up-again")).await;
        }
    })
    .await
    .expect("the large bodies went through in time");
}

/// An HTTPS upstream (HTTP/2 and HTTP/1.1 by ALPN) that answers with a JSON
/// echo of the request plus what TLS told it: the protocol agreed and the
/// client certificate's name. Its own certificate comes from `issuer`; client
/// certificates are asked for and, when sent, must chain to `client_ca`.
struct TlsUpstream {
    addr: SocketAddr,
    /// Requests answered.
    served: Arc<AtomicUsize>,
    /// Handshakes that failed, with the reason.
    failed: Arc<Mutex<Vec<String>>>,
}

impl TlsUpstream {
    fn start(listener: TcpListener, issuer: &Ca, client_ca: &Ca) -> TlsUpstream {
        let addr = listener.local_addr().unwrap();
        let server = issuer.issue(&LeafOptions::server("tls-upstream").around_now());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(client_ca.cert.clone()).unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .allow_unauthenticated()
        .build()
        .unwrap();
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![server.cert.clone()],
                PrivateKeyDer::from_pem_slice(server.key_pem.as_bytes()).unwrap(),
            )
            .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let served = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(Mutex::new(Vec::new()));
        let (count, failures) = (Arc::clone(&served), Arc::clone(&failed));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, count, failures) =
                    (acceptor.clone(), Arc::clone(&count), Arc::clone(&failures));
                tokio::spawn(async move {
                    let tls = match acceptor.accept(stream).await {
                        Ok(tls) => tls,
                        Err(e) => {
                            failures.lock().unwrap().push(e.to_string());
                            return;
                        }
                    };
                    let (_, session) = tls.get_ref();
                    let alpn = session
                        .alpn_protocol()
                        .map(|p| String::from_utf8_lossy(p).into_owned());
                    let client_cert = session
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .and_then(|c| certbound_pki::CertInfo::from_der(c).ok())
                        .map(|i| i.display_name().to_string());
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (alpn, client_cert, count) =
                            (alpn.clone(), client_cert.clone(), Arc::clone(&count));
                        async move {
                            count.fetch_add(1, Ordering::SeqCst);
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let headers: serde_json::Map<String, serde_json::Value> = parts
                                .headers
                                .iter()
                                .map(|(k, v)| {
                                    (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into())
                                })
                                .collect();
                            let echo = serde_json::json!({
                                "version": format!("{:?}", parts.version),
                                "alpn": alpn,
                                "client_cert": client_cert,
                                "method": parts.method.as_str(),
                                "path": parts.uri.path_and_query().map(|p| p.as_str()),
                                "headers": headers,
                                "body": String::from_utf8_lossy(&body),
                            });
                            Ok::<_, Infallible>(Response::new(full(echo.to_string())))
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        TlsUpstream {
            addr,
            served,
            failed,
        }
    }
}

#[tokio::test]
async fn an_https_upstream_through_upstream_tls_and_one_whose_ca_does_not_trust_it() {
    // The upstream's address must be in the config before the server starts;
    // its certificate comes from the harness's PKI, which exists only then.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // The gateway's client certificate towards the upstream, from a CA of the upstream's.
    let gateway_ca = Ca::root("Upstream's client CA", "certbound tests");
    let gateway_cert = gateway_ca.issue(&LeafOptions::client("certbound-gateway").around_now());
    let elsewhere = Ca::root("Not the upstream's CA", "Elsewhere");
    let config = format!(
        r#"
[tls.upstream]
ca = "root.crt"
cert = "gateway-client.crt"
key = "gateway-client.key"
[tls.wrong-ca]
ca = "elsewhere.crt"
[[route]]
prefix = "/secure/"
upstream = "https://127.0.0.1:{port}/base"
upstream_tls = "upstream"
[[route]]
prefix = "/wrong-ca/"
upstream = "https://127.0.0.1:{port}"
upstream_tls = "wrong-ca"
"#
    );
    let s = setup(
        &config,
        &[
            ("gateway-client.crt", &gateway_cert.cert_pem()),
            ("gateway-client.key", &gateway_cert.key_pem),
            ("elsewhere.crt", &elsewhere.cert_pem()),
        ],
    )
    .await;
    let upstream = TlsUpstream::start(listener, &s.h.pki.root, &gateway_ca);
    assert_eq!(upstream.addr.port(), port);

    tokio::time::timeout(LIMIT, async {
        for proto in [Proto::H1, Proto::H2] {
            let mut conn = Conn::open(&s.h, "mtls-opt", &s.partner, proto).await;
            let (status, _, _, body) = conn
                .call(
                    "POST",
                    "/secure/items?q=1",
                    Some(&s.token),
                    &[("x-client-id", "admin")],
                    "hello over TLS",
                )
                .await;
            assert_eq!(status, 200, "{proto:?}: {body}");
            let e = json(&body);
            // The upstream URL's path is prefixed; TLS to the upstream agreed on HTTP/2.
            assert_eq!(e["path"], "/base/secure/items?q=1", "{proto:?}");
            assert_eq!(e["alpn"], "h2", "{proto:?}: {e}");
            assert_eq!(e["version"], "HTTP/2.0", "{proto:?}: {e}");
            // The profile's client certificate reached the upstream.
            assert_eq!(e["client_cert"], "certbound-gateway", "{proto:?}: {e}");
            assert_eq!(e["method"], "POST");
            assert_eq!(e["body"], "hello over TLS");
            assert_partner_identity(&e, &s.thumbprint);
        }
        assert_eq!(upstream.served.load(Ordering::SeqCst), 2);
        assert!(
            upstream.failed.lock().unwrap().is_empty(),
            "{:?}",
            upstream.failed.lock().unwrap()
        );

        // A profile whose CA does not trust the upstream: a 502 with a JSON
        // body, and the request never reaches the upstream.
        for proto in [Proto::H1, Proto::H2] {
            let mut conn = Conn::open(&s.h, "mtls-opt", &s.partner, proto).await;
            let (status, _, headers, body) = conn
                .call("GET", "/wrong-ca/x", Some(&s.token), &[], "")
                .await;
            assert_eq!(status, 502, "{proto:?}: {body}");
            assert_eq!(headers["content-type"], "application/json");
            assert_eq!(
                json(&body),
                serde_json::json!({
                    "error": "bad_gateway",
                    "error_description": "the upstream cannot be reached",
                })
            );
        }
        assert_eq!(
            upstream.served.load(Ordering::SeqCst),
            2,
            "nothing more served"
        );
        s.h.logs.assert_has("upstream request failed");
        s.h.logs.assert_has("invalid peer certificate");
        // The trusted route still works afterwards.
        let mut conn = Conn::open(&s.h, "mtls-opt", &s.partner, Proto::H1).await;
        let (status, _, _, body) = conn
            .call("GET", "/secure/again", Some(&s.token), &[], "")
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(json(&body)["path"], "/base/secure/again");
    })
    .await
    .expect("the HTTPS upstream checks finished in time");
}
