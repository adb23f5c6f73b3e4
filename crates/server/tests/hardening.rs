//! Hardening of the listener and the gateway against requests crafted to be
//! read one way by certbound and another by the upstream: dot segments and
//! other ambiguous paths, look-alike identity and forwarding headers,
//! transfer codings and bad chunks; and against connections that hold
//! resources (half-sent heads, idle keep-alive, too many connections).
//! Requests are written as raw bytes, where a client library would have
//! normalized them; the upstream is a raw recorder that sees the bytes the
//! gateway wrote.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use certbound_testkit::{LeafOptions, self_signed};
use common::{Client, Harness, client_doc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bound on every wait in these tests.
const LIMIT: Duration = Duration::from_secs(10);

/// One request as the upstream read it off the wire.
#[derive(Debug, Clone)]
struct Seen {
    /// The request line's target, as written.
    target: String,
    /// Header lines as written (names lower-cased), in order.
    headers: Vec<(String, String)>,
    /// The body after the framing was removed.
    body: Vec<u8>,
    /// Which connection (0, 1, …) of the upstream carried it.
    connection: usize,
}

impl Seen {
    fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// A raw HTTP/1.1 upstream that records each request and answers 200 `ok`,
/// keeping connections alive. It understands `Content-Length` and a single
/// `chunked` and fails the test on any other framing.
#[derive(Clone)]
struct Recorder {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Recorder {
    async fn start() -> Recorder {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        tokio::spawn(async move {
            let mut connection = 0;
            while let Ok((stream, _)) = listener.accept().await {
                let record = Arc::clone(&record);
                tokio::spawn(serve_recorded(stream, connection, record));
                connection += 1;
            }
        });
        Recorder { addr, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve_recorded(mut stream: TcpStream, connection: usize, record: Arc<Mutex<Vec<Seen>>>) {
    let mut buf = Vec::new();
    loop {
        let Some(end) = read_until(&mut stream, &mut buf, b"\r\n\r\n").await else {
            return;
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let target = lines.next().unwrap().split(' ').nth(1).unwrap().to_string();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.to_ascii_lowercase(), v.trim().to_string())
            })
            .collect();
        let get = |name: &str| headers.iter().filter(|(n, _)| n == name).count();
        assert!(
            get("content-length") + get("transfer-encoding") <= 1,
            "framed twice: {headers:?}"
        );
        let mut body = Vec::new();
        if let Some((_, te)) = headers.iter().find(|(n, _)| n == "transfer-encoding") {
            assert_eq!(
                te, "chunked",
                "the upstream got a transfer coding it cannot read"
            );
            loop {
                let Some(end) = read_until(&mut stream, &mut buf, b"\r\n").await else {
                    return;
                };
                let line = String::from_utf8_lossy(&buf[..end]).into_owned();
                buf.drain(..end + 2);
                let size = usize::from_str_radix(line.split(';').next().unwrap().trim(), 16)
                    .expect("a chunk size");
                if size == 0 {
                    let Some(end) = read_until(&mut stream, &mut buf, b"\r\n").await else {
                        return;
                    };
                    buf.drain(..end + 2);
                    break;
                }
                while buf.len() < size + 2 {
                    if !read_more(&mut stream, &mut buf).await {
                        return;
                    }
                }
                body.extend_from_slice(&buf[..size]);
                assert_eq!(&buf[size..size + 2], b"\r\n");
                buf.drain(..size + 2);
            }
        } else if let Some((_, len)) = headers.iter().find(|(n, _)| n == "content-length") {
            let len: usize = len.parse().unwrap();
            while buf.len() < len {
                if !read_more(&mut stream, &mut buf).await {
                    return;
                }
            }
            body = buf.drain(..len).collect();
        }
        record.lock().unwrap().push(Seen {
            target,
            headers,
            body,
            connection,
        });
        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
        if stream.write_all(answer).await.is_err() {
            return;
        }
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 4096];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

async fn read_until(stream: &mut TcpStream, buf: &mut Vec<u8>, needle: &[u8]) -> Option<usize> {
    loop {
        if let Some(i) = buf.windows(needle.len()).position(|w| w == needle) {
            return Some(i);
        }
        if !read_more(stream, buf).await {
            return None;
        }
    }
}

/// Routes on the recorder, a plain listener, and a token with scope `read`
/// (not `admin`).
struct Setup {
    h: Harness,
    upstream: Recorder,
    token: String,
}

async fn setup(listener_keys: &str) -> Setup {
    let upstream = Recorder::start().await;
    let u = upstream.addr;
    let extra = format!(
        r#"
[[listener]]
name = "plain"
bind = "127.0.0.1:0"
{listener_keys}
[[route]]
prefix = "/api/"
upstream = "http://{u}"
require = "token"
scopes = ["read"]
[[route]]
prefix = "/scoped/"
upstream = "http://{u}"
require = "token"
scopes = ["admin"]
[[route]]
prefix = "/v1"
upstream = "http://{u}"
require = "token"
"#
    );
    let h = Harness::start(&extra).await;
    let leaf = self_signed(&LeafOptions::client("partner").around_now());
    let mut doc = client_doc("partner", &leaf.cert_pem());
    doc["scope"] = "read".into();
    h.register("partner", doc).await;
    let partner = Client::Cert(vec![leaf.cert.clone()], leaf.key_pem.clone());
    let reply = h
        .token(
            "mtls",
            &partner,
            "grant_type=client_credentials&client_id=partner",
        )
        .await
        .unwrap();
    let token = reply.json()["access_token"].as_str().unwrap().to_string();
    Setup { h, upstream, token }
}

/// A response read off the wire.
#[derive(Debug)]
struct RawReply {
    status: u16,
    text: String,
}

/// Write `request` on a new connection and read until the server closes it.
async fn raw(addr: SocketAddr, request: &[u8]) -> RawReply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(LIMIT, stream.read_to_end(&mut out))
        .await
        .expect("the server answers and closes")
        .ok();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    RawReply { status, text }
}

/// A GET of `target` with the token, on a connection closed after it.
fn get(s: &Setup, target: &str, extra: &str) -> Vec<u8> {
    format!(
        "GET {target} HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {}\r\n{extra}connection: close\r\n\r\n",
        s.token
    )
    .into_bytes()
}

#[tokio::test]
async fn dot_segments_and_other_ambiguous_paths_never_reach_another_route() {
    let s = setup("").await;
    let plain = s.h.addr("plain");

    // Accepted beside the refusals: the token's own route, and the path the upstream gets.
    let r = raw(plain, &get(&s, "/api/x?q=../y", "")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // An escape of an unreserved character is decoded: route and upstream see `/api/x`.
    let r = raw(plain, &get(&s, "/%61pi/x", "")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The other route refuses the token directly.
    let r = raw(plain, &get(&s, "/scoped/x", "")).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.text.contains("insufficient_scope"), "{}", r.text);
    let targets: Vec<String> = s.upstream.seen().into_iter().map(|r| r.target).collect();
    assert_eq!(targets, ["/api/x?q=../y", "/api/x"]);

    for path in [
        "/api/../scoped/x",
        "/api/%2e%2e/scoped/x",
        "/api/%2E%2e/scoped/x",
        "/api/.%2E/scoped/x",
        "/api/./../scoped/x",
        "/api/..;/scoped/x",
        "/api/%2e%2e%2fscoped/x",
        "/api/..%2Fscoped/x",
        "/api/..%5cscoped/x",
        "/api/..\\scoped/x",
        "//scoped/x",
        "/api//../scoped/x",
        "/api/x/..",
        // An own endpoint through a route, a route through an own endpoint.
        "/api/../admin/ClientApplication",
        "/admin/../api/x",
        "/oauth2/%2e%2e/scoped/x",
    ] {
        let r = raw(plain, &get(&s, path, "")).await;
        assert_eq!(r.status, 400, "{path}: {}", r.text);
        assert!(r.text.contains("invalid_request"), "{path}: {}", r.text);
    }
    assert_eq!(
        s.upstream.seen().len(),
        2,
        "no refused path reached the upstream"
    );
    s.h.logs.assert_has("request refused before routing");
    s.h.logs.assert_has("reason=\"dot_segment\"");

    // Prefixes match on segment boundaries: `/v1` covers `/v1` and `/v1/x`, not `/v1x`.
    assert_eq!(raw(plain, &get(&s, "/v1/x", "")).await.status, 200);
    assert_eq!(raw(plain, &get(&s, "/v1", "")).await.status, 200);
    assert_eq!(raw(plain, &get(&s, "/v1x", "")).await.status, 404);
    assert_eq!(raw(plain, &get(&s, "/apix/y", "")).await.status, 404);
    let targets: Vec<String> = s.upstream.seen().into_iter().map(|r| r.target).collect();
    assert_eq!(targets[2..], ["/v1/x", "/v1"]);
}

#[tokio::test]
async fn the_upstream_gets_forwarding_and_identity_headers_from_certbound_only() {
    let s = setup("").await;
    let plain = s.h.addr("plain");
    let forged = "x-forwarded-for: 10.6.6.6\r\nX_Forwarded_For: 10.6.6.7\r\nforwarded: for=10.6.6.8\r\n\
                  x-forwarded-proto: gopher\r\nx-forwarded-host: evil.example\r\nx-real-ip: 10.6.6.9\r\n\
                  X_Client_Id: admin\r\nx_client_id: admin\r\nX-CLIENT-ID: admin\r\nx_client_cert_subject: CN=admin\r\n\
                  x_forwarded_client_cert: Hash=1\r\nx-client-idx: kept\r\n";
    let r = raw(plain, &get(&s, "/api/x", forged)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let seen = s.upstream.seen().pop().unwrap();
    assert_eq!(seen.header("x-forwarded-for"), ["127.0.0.1"], "{seen:?}");
    assert_eq!(seen.header("x-client-id"), ["partner"], "{seen:?}");
    for gone in [
        "x_forwarded_for",
        "forwarded",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-real-ip",
        "x_client_id",
        "x_client_cert_subject",
        "x_forwarded_client_cert",
    ] {
        assert!(
            seen.header(gone).is_empty(),
            "{gone} reached the upstream: {seen:?}"
        );
    }
    assert_eq!(seen.header("x-client-idx"), ["kept"]);

    // Without anything forged, the same headers.
    let r = raw(plain, &get(&s, "/api/x", "")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let seen = s.upstream.seen().pop().unwrap();
    assert_eq!(seen.header("x-forwarded-for"), ["127.0.0.1"]);
    assert_eq!(seen.header("x-client-id"), ["partner"]);
}

/// A POST of `body_and_framing` (headers that frame the body, blank line,
/// body) to `/api/x` with the token.
fn post(s: &Setup, framing: &str, body: &str) -> Vec<u8> {
    format!(
        "POST /api/x HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {}\r\nconnection: close\r\n{framing}\r\n{body}",
        s.token
    )
    .into_bytes()
}

#[tokio::test]
async fn bodies_reach_the_upstream_framed_once_and_other_transfer_codings_are_refused() {
    let s = setup("").await;
    let plain = s.h.addr("plain");
    let chunked = "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n";
    for (framing, body) in [
        ("transfer-encoding: chunked\r\n", chunked),
        ("Transfer-Encoding: Chunked\r\n", chunked),
        (
            "transfer-encoding: chunked\r\nconnection: keep-alive, x-hop\r\nx-hop: 1\r\nte: trailers\r\nkeep-alive: timeout=5\r\nproxy-connection: keep-alive\r\n",
            chunked,
        ),
        ("content-length: 11\r\n", "hello world"),
    ] {
        let r = raw(plain, &post(&s, framing, body)).await;
        assert_eq!(r.status, 200, "{framing}: {}", r.text);
        let seen = s.upstream.seen().pop().unwrap();
        assert_eq!(seen.body, b"hello world", "{framing}");
        for hop in ["x-hop", "te", "keep-alive", "proxy-connection"] {
            assert!(seen.header(hop).is_empty(), "{hop} forwarded: {seen:?}");
        }
    }
    // All of them on one kept-alive upstream connection.
    let seen = s.upstream.seen();
    assert_eq!(seen.len(), 4);
    assert!(seen.iter().all(|r| r.connection == 0), "{seen:?}");

    // Codings hyper would accept (`chunked` last) but certbound cannot forward faithfully: 400.
    for framing in [
        "transfer-encoding: chunked, chunked\r\n",
        "transfer-encoding: gzip, chunked\r\n",
        "transfer-encoding: identity, chunked\r\n",
        "transfer-encoding: gzip\r\ntransfer-encoding: chunked\r\n",
    ] {
        let r = raw(plain, &post(&s, framing, chunked)).await;
        assert_eq!(r.status, 400, "{framing}: {}", r.text);
        assert!(r.text.contains("Transfer-Encoding must be"), "{}", r.text);
    }
    s.h.logs.assert_has("reason=\"transfer_encoding\"");
    assert_eq!(
        s.upstream.seen().len(),
        4,
        "no refused body reached the upstream"
    );

    // The next request still uses the pooled connection, framed once.
    let r = raw(plain, &post(&s, "content-length: 2\r\n", "ok")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let seen = s.upstream.seen().pop().unwrap();
    assert_eq!((seen.body.as_slice(), seen.connection), (&b"ok"[..], 0));
}

#[tokio::test]
async fn a_badly_framed_chunk_is_the_clients_fault() {
    let s = setup("").await;
    let plain = s.h.addr("plain");
    // A newline inside a chunk extension.
    let bad = "5;ext\nx\r\nhello\r\n0\r\n\r\n";
    let r = raw(plain, &post(&s, "transfer-encoding: chunked\r\n", bad)).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.text.contains("the request body could not be read"),
        "{}",
        r.text
    );
    s.h.logs
        .assert_has("the client's request body is malformed");
    // A good one beside it.
    let good = "5;ext=1\r\nhello\r\n0\r\n\r\n";
    let r = raw(plain, &post(&s, "transfer-encoding: chunked\r\n", good)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(s.upstream.seen().pop().unwrap().body, b"hello");
}

/// Read one response with a `Content-Length` body off a kept-alive connection.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let read = async {
        let end = read_until(stream, &mut buf, b"\r\n\r\n")
            .await
            .expect("a response head");
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap());
        while buf.len() < end + 4 + len {
            assert!(read_more(stream, &mut buf).await, "the body ended early");
        }
    };
    tokio::time::timeout(LIMIT, read).await.expect("a response");
    String::from_utf8_lossy(&buf).into_owned()
}

/// Wait, at most [`LIMIT`], for the server to close `stream`; how long it took.
async fn closed(stream: &mut TcpStream) -> Duration {
    let start = std::time::Instant::now();
    let mut sink = [0u8; 1024];
    let wait = async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(LIMIT, wait)
        .await
        .expect("the server closes the connection");
    start.elapsed()
}

const HEALTH: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n";

#[tokio::test]
async fn a_half_sent_head_is_closed_after_the_header_read_timeout() {
    let s = setup("header_read_timeout_secs = 1\nidle_timeout_secs = 30").await;
    let plain = s.h.addr("plain");
    // Accepted beside it: a whole head in time is answered.
    let mut whole = TcpStream::connect(plain).await.unwrap();
    whole.write_all(HEALTH).await.unwrap();
    assert!(read_response(&mut whole).await.starts_with("HTTP/1.1 200"));

    // Half a head, then nothing.
    let mut half = TcpStream::connect(plain).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nhost: loc")
        .await
        .unwrap();
    let took = closed(&mut half).await;
    assert!(took >= Duration::from_millis(900), "closed after {took:?}");

    // A head trickled a byte at a time is closed as well: the time counts from its start.
    let mut slow = TcpStream::connect(plain).await.unwrap();
    let (mut reader, mut writer) = slow.split();
    let trickle = async {
        for b in HEALTH.iter().cycle() {
            if writer.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let mut sink = [0u8; 64];
    let start = std::time::Instant::now();
    tokio::select! {
        () = trickle => {}
        r = tokio::time::timeout(LIMIT, reader.read(&mut sink)) => {
            assert!(matches!(r, Ok(Ok(0) | Err(_))), "closed without an answer: {r:?}");
        }
    }
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let s = setup("header_read_timeout_secs = 30\nidle_timeout_secs = 1").await;
    let mut stream = TcpStream::connect(s.h.addr("plain")).await.unwrap();
    // Kept alive: a second request right after the first is served on it.
    for _ in 0..2 {
        stream.write_all(HEALTH).await.unwrap();
        assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    }
    let took = closed(&mut stream).await;
    assert!(took >= Duration::from_millis(900), "closed after {took:?}");
}

#[tokio::test]
async fn beyond_max_connections_a_connection_waits_until_one_closes() {
    let s = setup("max_connections = 2").await;
    let plain = s.h.addr("plain");
    let mut first = TcpStream::connect(plain).await.unwrap();
    let mut second = TcpStream::connect(plain).await.unwrap();
    for stream in [&mut first, &mut second] {
        stream.write_all(HEALTH).await.unwrap();
        assert!(read_response(stream).await.starts_with("HTTP/1.1 200"));
    }
    // The third is left in the backlog: its request is not answered...
    let mut third = TcpStream::connect(plain).await.unwrap();
    third.write_all(HEALTH).await.unwrap();
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut byte)).await;
    assert!(early.is_err(), "served beyond the cap: {early:?}");
    let metrics = s.h.running.metrics().render(0, 0);
    assert!(
        metrics.contains("certbound_connection_limit_reached_total{listener=\"plain\"}"),
        "{metrics}"
    );
    // ...until one closes.
    drop(first);
    assert!(read_response(&mut third).await.starts_with("HTTP/1.1 200"));
    // The second still works.
    second.write_all(HEALTH).await.unwrap();
    assert!(read_response(&mut second).await.starts_with("HTTP/1.1 200"));
}
