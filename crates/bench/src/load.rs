//! The load generator: one client stack (tokio-rustls + hyper HTTP/1.1) for
//! every server, so that whatever the client costs, it costs the same on each
//! side. Three shapes of load: a new connection with a full mTLS handshake for
//! every request (session resumption off); long-lived connections sending
//! requests back to back (closed loop: the peak); and long-lived connections
//! fed at a constant arrival rate (open loop: latency at a given load, each
//! request timed from when it was due, so a stalled server cannot hide its
//! stall by slowing the client down). Every answer is checked; anything
//! unexpected counts as an error, not as a request served. A program that
//! makes its own requests and judges their answers (`bench-registry`) uses
//! a [`crate::conn::Connection`] of the same stack.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Method;
use hyper::client::conn::http1;
use hyper::header::{HeaderName, HeaderValue};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use certbound_testkit::Leaf;

use crate::conn::Answer;
use crate::setup::{CLIENT_ID, Pki};

/// The path both servers are asked for.
pub const TOKEN_PATH: &str = "/oauth2/token";
/// A request that has not been answered by then is an error.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause after an error so that a dead server does not turn into a busy loop.
const ERROR_PAUSE: Duration = Duration::from_millis(10);

/// What a correct answer looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// certbound's token endpoint: 200 with an access token.
    Token,
    /// nginx's fixed answer: 200 with `{"ok":true}`.
    Fixed,
    /// The bench upstream's answer, directly or through a proxy: 200 with
    /// [`crate::upstream::BODY`].
    Upstream,
    /// certbound's `/healthz` with every part well: 200 with `"status":"ok"`.
    Healthy,
}

/// Which key-exchange groups the client offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Groups {
    /// The aws-lc-rs provider's defaults as built (their order depends on
    /// rustls's `prefer-post-quantum` feature; the header prints it).
    Default,
    /// X25519 only, the same group for both servers.
    X25519,
    /// The post-quantum hybrid X25519MLKEM768 first, then X25519 (nginx 1.22
    /// with OpenSSL 3.0 has no ML-KEM and settles on X25519).
    Pq,
}

impl Groups {
    fn provider(self) -> rustls::crypto::CryptoProvider {
        use rustls::crypto::aws_lc_rs::kx_group;
        let mut provider = rustls::crypto::aws_lc_rs::default_provider();
        match self {
            Groups::Default => {}
            Groups::X25519 => provider.kx_groups = vec![kx_group::X25519],
            Groups::Pq => provider.kx_groups = vec![kx_group::X25519MLKEM768, kx_group::X25519],
        }
        provider
    }

    /// The groups offered, in order of preference.
    pub fn names(self) -> String {
        let provider = self.provider();
        let names: Vec<String> = provider
            .kx_groups
            .iter()
            .map(|g| {
                g.name()
                    .as_str()
                    .map_or_else(|| format!("{:?}", g.name()), str::to_string)
            })
            .collect();
        names.join(", ")
    }
}

/// Everything a worker needs to talk to one server: where, how (TLS or
/// plain TCP), which request, and what the answer must be.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub expect: Expect,
    /// `None`: plain HTTP over TCP.
    connector: Option<TlsConnector>,
    method: Method,
    path: &'static str,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
    /// Bodies each sent once instead of `body`, e.g. signed client assertions.
    bodies: Option<Arc<Bodies>>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("addr", &self.addr)
            .field("expect", &self.expect)
            .field("tls", &self.connector.is_some())
            .field("method", &self.method)
            .field("path", &self.path)
            .field("bodies", &self.bodies.as_ref().map(|b| b.len()))
            .finish_non_exhaustive()
    }
}

impl Target {
    /// The token request (client_credentials for the bench client) over mTLS.
    pub fn new(addr: SocketAddr, expect: Expect, connector: TlsConnector) -> Self {
        Self {
            addr,
            expect,
            connector: Some(connector),
            method: Method::POST,
            path: TOKEN_PATH,
            headers: vec![(
                hyper::header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )],
            body: Bytes::from(format!(
                "grant_type=client_credentials&client_id={CLIENT_ID}"
            )),
            bodies: None,
        }
    }

    /// `GET path` over mTLS with `connector`, or over plain TCP without one.
    pub fn get(
        addr: SocketAddr,
        path: &'static str,
        expect: Expect,
        connector: Option<TlsConnector>,
    ) -> Self {
        Self {
            addr,
            expect,
            connector,
            method: Method::GET,
            path,
            headers: Vec::new(),
            body: Bytes::new(),
            bodies: None,
        }
    }

    /// The same request with one more header.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The same request sending each of `bodies` once, in turn, instead of
    /// its own body; a run ends early when they run out.
    pub fn with_bodies(mut self, bodies: Arc<Bodies>) -> Self {
        self.bodies = Some(bodies);
        self
    }

    /// Whether the target sends bodies from a pool and the pool is used up.
    fn exhausted(&self) -> bool {
        self.bodies.as_ref().is_some_and(|b| b.exhausted())
    }
}

/// Request bodies each sent once (a `jti` may be used once), made before the
/// clock starts and taken in turn by every worker of a run.
#[derive(Debug)]
pub struct Bodies {
    bodies: Vec<Bytes>,
    next: AtomicUsize,
}

impl Bodies {
    pub fn new(bodies: Vec<Bytes>) -> Self {
        Self {
            bodies,
            next: AtomicUsize::new(0),
        }
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.bodies.len()
    }

    /// Whether there are none at all.
    pub fn is_empty(&self) -> bool {
        self.bodies.is_empty()
    }

    /// How many were taken (sent, or about to be).
    pub fn taken(&self) -> usize {
        self.next.load(Ordering::Relaxed).min(self.bodies.len())
    }

    /// Whether every one was taken.
    pub fn exhausted(&self) -> bool {
        self.taken() == self.bodies.len()
    }

    fn take(&self) -> Option<Bytes> {
        self.bodies
            .get(self.next.fetch_add(1, Ordering::Relaxed))
            .cloned()
    }
}

/// A target's [`Bodies`] ran out: the worker stops, and nothing is counted.
#[derive(Debug)]
pub struct Exhausted;

impl std::fmt::Display for Exhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the pool of request bodies is used up")
    }
}

impl std::error::Error for Exhausted {}

/// The client's TLS config: trusts the bench CA, presents the bench client
/// certificate, offers HTTP/1.1 and never resumes a session, so that every new
/// connection is a full handshake.
pub fn connector(pki: &Pki, groups: Groups) -> Result<TlsConnector> {
    connector_for(pki, &pki.client, groups)
}

/// [`connector`] presenting `client`, a leaf of any CA (the server's
/// certificate is still the bench CA's).
pub fn connector_for(pki: &Pki, client: &Leaf, groups: Groups) -> Result<TlsConnector> {
    let provider = groups.provider();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.cert.clone()).context("adding the CA")?;
    let key = {
        use rustls::pki_types::pem::PemObject;
        PrivateKeyDer::from_pem_slice(client.key_pem.as_bytes()).context("the client key")?
    };
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("TLS versions")?
        .with_root_certificates(roots)
        .with_client_auth_cert(vec![client.cert.clone()], key)
        .context("the client certificate")?;
    config.resumption = rustls::client::Resumption::disabled();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

/// What the handshake settled on.
#[derive(Debug, Clone)]
pub struct Negotiated {
    pub version: String,
    pub suite: String,
    pub group: String,
}

impl Negotiated {
    fn plain() -> Self {
        Self {
            version: "plain TCP (no TLS)".into(),
            suite: String::new(),
            group: String::new(),
        }
    }
}

impl std::fmt::Display for Negotiated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.suite.is_empty() {
            return write!(f, "{}", self.version);
        }
        write!(f, "{} {} {}", self.version, self.suite, self.group)
    }
}

/// An HTTP/1.1 connection whose driver runs as its own task.
pub(crate) struct Conn {
    pub(crate) sender: http1::SendRequest<Full<Bytes>>,
    driver: tokio::task::JoinHandle<()>,
    negotiated: Negotiated,
}

/// Connect (TCP, then TLS when the target has a connector) and start HTTP/1.1.
async fn connect(target: &Target) -> Result<Conn> {
    connect_to(target.addr, target.connector.as_ref()).await
}

/// Connect to `addr` (TCP, then TLS with `connector` when given) and start HTTP/1.1.
pub(crate) async fn connect_to(addr: SocketAddr, connector: Option<&TlsConnector>) -> Result<Conn> {
    let tcp = TcpStream::connect(addr).await.context("connect")?;
    tcp.set_nodelay(true).context("TCP_NODELAY")?;
    let Some(connector) = connector else {
        let (sender, conn) = http1::handshake::<_, Full<Bytes>>(TokioIo::new(tcp))
            .await
            .context("HTTP handshake")?;
        let driver = tokio::spawn(async move {
            let _ = conn.await;
        });
        return Ok(Conn {
            sender,
            driver,
            negotiated: Negotiated::plain(),
        });
    };
    let name = ServerName::try_from("localhost").context("server name")?;
    let tls = connector
        .connect(name, tcp)
        .await
        .context("TLS handshake")?;
    let negotiated = negotiated(&tls);
    let (sender, conn) = http1::handshake::<_, Full<Bytes>>(TokioIo::new(tls))
        .await
        .context("HTTP handshake")?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(Conn {
        sender,
        driver,
        negotiated,
    })
}

fn negotiated(tls: &TlsStream<TcpStream>) -> Negotiated {
    let conn = tls.get_ref().1;
    let show = |s: Option<String>| s.unwrap_or_else(|| "?".into());
    Negotiated {
        version: show(
            conn.protocol_version()
                .and_then(|v| v.as_str())
                .map(str::to_string),
        ),
        suite: show(
            conn.negotiated_cipher_suite()
                .and_then(|s| s.suite().as_str())
                .map(str::to_string),
        ),
        group: show(
            conn.negotiated_key_exchange_group()
                .and_then(|g| g.name().as_str())
                .map(str::to_string),
        ),
    }
}

/// Send one request on `sender` and check the answer; the answer's body.
async fn exchange(target: &Target, sender: &mut http1::SendRequest<Full<Bytes>>) -> Result<Bytes> {
    let body = match &target.bodies {
        Some(bodies) => bodies.take().ok_or(Exhausted)?,
        None => target.body.clone(),
    };
    let mut request = hyper::Request::builder()
        .method(target.method.clone())
        .uri(target.path)
        .header(hyper::header::HOST, "localhost");
    for (name, value) in &target.headers {
        request = request.header(name, value);
    }
    let request = request
        .body(Full::new(body))
        .context("building the request")?;
    let answer = roundtrip(sender, request).await?;
    check(target.expect, answer.status, &answer.body)?;
    Ok(answer.body)
}

/// Send `request` on `sender` and read the whole answer.
pub(crate) async fn roundtrip(
    sender: &mut http1::SendRequest<Full<Bytes>>,
    request: hyper::Request<Full<Bytes>>,
) -> Result<Answer> {
    sender.ready().await.context("connection not ready")?;
    let response = sender.send_request(request).await.context("request")?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .context("reading the body")?
        .to_bytes();
    Ok(Answer { status, body })
}

pub(crate) fn check(expect: Expect, status: u16, body: &[u8]) -> Result<()> {
    let good = status == 200
        && match expect {
            Expect::Token => contains(body, br#""access_token":""#),
            Expect::Fixed => body == br#"{"ok":true}"#,
            Expect::Upstream => body == crate::upstream::BODY,
            Expect::Healthy => contains(body, br#""status":"ok""#),
        };
    if good {
        return Ok(());
    }
    let shown = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    Err(anyhow!("unexpected answer: {status} {shown}"))
}

pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// One full request on a new connection: connect, handshake, request, read,
/// close. Returns what the handshake settled on and the answer's body.
async fn new_connection_request(target: &Target) -> Result<(Negotiated, Bytes)> {
    let Conn {
        mut sender,
        driver,
        negotiated,
    } = connect(target).await?;
    let body = exchange(target, &mut sender).await?;
    // Dropping the sender lets the connection send close_notify and FIN.
    drop(sender);
    let _ = driver.await;
    Ok((negotiated, body))
}

/// Ask once on a new connection, checking the answer; what the handshake
/// settled on and the answer's body.
pub async fn ask(target: &Target) -> Result<(Negotiated, Bytes)> {
    tokio::time::timeout(REQUEST_TIMEOUT, new_connection_request(target))
        .await
        .map_err(|_| anyhow!("no answer within {}s", REQUEST_TIMEOUT.as_secs()))?
}

/// Probe until the server answers correctly, for at most `within`; what the
/// handshake settled on and the answer's body.
pub async fn wait_ready(
    target: &Target,
    within: Duration,
    mut alive: impl FnMut() -> Result<()>,
) -> Result<(Negotiated, Bytes)> {
    let deadline = Instant::now() + within;
    loop {
        match ask(target).await {
            Ok(n) => return Ok(n),
            Err(e) if Instant::now() >= deadline => {
                return Err(e.context(format!("not ready within {}s", within.as_secs())));
            }
            Err(_) => {
                alive()?;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// What one worker saw.
#[derive(Debug, Default)]
struct WorkerResult {
    latencies_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

impl WorkerResult {
    fn error(&mut self, e: &anyhow::Error) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(format!("{e:#}"));
        }
    }
}

/// What a run measured on the client's side.
#[derive(Debug)]
pub struct Measured {
    pub elapsed: Duration,
    /// Sorted, microseconds.
    pub latencies_us: Vec<u32>,
    pub errors: u64,
    pub first_error: Option<String>,
}

impl Measured {
    pub fn requests(&self) -> usize {
        self.latencies_us.len()
    }

    pub fn rate(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64()
    }

    /// The longest latency, in milliseconds.
    pub fn max_ms(&self) -> f64 {
        self.latencies_us
            .last()
            .map_or(f64::NAN, |us| f64::from(*us) / 1000.0)
    }

    /// The latency below which `pct` percent of requests finished, in milliseconds.
    pub fn percentile_ms(&self, pct: usize) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let i = (self.latencies_us.len() * pct / 100).min(self.latencies_us.len() - 1);
        f64::from(self.latencies_us[i]) / 1000.0
    }
}

impl Measured {
    /// Several runs as one: their requests, latencies, errors and time together.
    pub fn combine<'a>(runs: impl IntoIterator<Item = &'a Measured>) -> Measured {
        let mut m = Measured {
            elapsed: Duration::ZERO,
            latencies_us: Vec::new(),
            errors: 0,
            first_error: None,
        };
        for r in runs {
            m.elapsed += r.elapsed;
            m.latencies_us.extend_from_slice(&r.latencies_us);
            m.errors += r.errors;
            m.first_error = m.first_error.or_else(|| r.first_error.clone());
        }
        m.latencies_us.sort_unstable();
        m
    }
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

fn merge(results: Vec<WorkerResult>, elapsed: Duration) -> Measured {
    let mut m = Measured {
        elapsed,
        latencies_us: Vec::new(),
        errors: 0,
        first_error: None,
    };
    for r in results {
        m.latencies_us.extend(r.latencies_us);
        m.errors += r.errors;
        m.first_error = m.first_error.or(r.first_error);
    }
    m.latencies_us.sort_unstable();
    m
}

/// `concurrency` workers, each doing connect → handshake → POST → read →
/// close in a loop for `duration`. `on_start` is called when the clock starts.
pub async fn run_new_connections(
    target: &Target,
    concurrency: usize,
    duration: Duration,
    on_start: impl FnOnce(),
) -> Measured {
    on_start();
    let start = Instant::now();
    let deadline = start + duration;
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let target = target.clone();
        workers.push(tokio::spawn(async move {
            let mut r = WorkerResult::default();
            while Instant::now() < deadline && !target.exhausted() {
                let t0 = Instant::now();
                let outcome =
                    tokio::time::timeout(REQUEST_TIMEOUT, new_connection_request(&target)).await;
                match outcome {
                    Ok(Ok(_)) => r.latencies_us.push(micros(t0.elapsed())),
                    Ok(Err(e)) if e.is::<Exhausted>() => break,
                    Ok(Err(e)) => {
                        r.error(&e);
                        tokio::time::sleep(ERROR_PAUSE).await;
                    }
                    Err(_) => r.error(&anyhow!("timed out")),
                }
            }
            r
        }));
    }
    collect(workers, start).await
}

/// `connections` connections, opened before the clock starts, each sending
/// requests back to back for `duration`. A connection that fails is counted
/// as an error and opened again.
pub async fn run_kept_alive(
    target: &Target,
    connections: usize,
    duration: Duration,
    on_start: impl FnOnce(),
) -> Result<Measured> {
    let mut senders = Vec::with_capacity(connections);
    for _ in 0..connections {
        senders.push(
            open(target)
                .await
                .context("opening the kept-alive connections")?,
        );
    }
    on_start();
    let start = Instant::now();
    let deadline = start + duration;
    let mut workers = Vec::with_capacity(connections);
    for sender in senders {
        let target = target.clone();
        workers.push(tokio::spawn(async move {
            let mut r = WorkerResult::default();
            let mut sender = Some(sender);
            while Instant::now() < deadline && !target.exhausted() {
                let t0 = Instant::now();
                let s = match sender.as_mut() {
                    Some(s) => s,
                    None => match open(&target).await {
                        Ok(s) => sender.insert(s),
                        Err(e) => {
                            r.error(&e);
                            tokio::time::sleep(ERROR_PAUSE).await;
                            continue;
                        }
                    },
                };
                match tokio::time::timeout(REQUEST_TIMEOUT, exchange(&target, s)).await {
                    Ok(Ok(_)) => r.latencies_us.push(micros(t0.elapsed())),
                    Ok(Err(e)) if e.is::<Exhausted>() => break,
                    Ok(Err(e)) => {
                        r.error(&e);
                        sender = None;
                    }
                    Err(_) => {
                        r.error(&anyhow!("timed out"));
                        sender = None;
                    }
                }
            }
            r
        }));
    }
    Ok(collect(workers, start).await)
}

/// A kept-alive connection: its driver runs as its own task.
async fn open(target: &Target) -> Result<http1::SendRequest<Full<Bytes>>> {
    Ok(connect(target).await?.sender)
}

/// `connections` connections, opened before the clock starts, sharing one
/// queue of arrivals due at a constant `rate` per second for `duration`: an
/// idle connection takes the next arrival and sends it when it is due; when
/// every connection is busy, arrivals wait in the queue. Each latency runs
/// from when the request was due, not from when it was sent, so waiting for a
/// connection counts. A thread paces the arrivals with the kernel's sleep
/// (tens of µs of slack), not the runtime's millisecond timer.
pub async fn run_open_loop(
    target: &Target,
    connections: usize,
    rate: f64,
    duration: Duration,
    on_start: impl FnOnce(),
) -> Result<Measured> {
    let mut senders = Vec::with_capacity(connections);
    for _ in 0..connections {
        senders.push(
            open(target)
                .await
                .context("opening the kept-alive connections")?,
        );
    }
    let arrivals = (rate * duration.as_secs_f64()).round().max(1.0) as u64;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    on_start();
    let start = Instant::now();
    let pacer = std::thread::Builder::new()
        .name("bench-pacer".into())
        .spawn(move || {
            for i in 0..arrivals {
                let due = start + Duration::from_secs_f64(i as f64 / rate);
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                if tx.send(due).is_err() {
                    return;
                }
            }
        })
        .context("starting the pacer thread")?;
    let mut workers = Vec::with_capacity(connections);
    for sender in senders {
        let (target, rx) = (target.clone(), Arc::clone(&rx));
        workers.push(tokio::spawn(async move {
            let mut r = WorkerResult::default();
            let mut sender = Some(sender);
            loop {
                let due = { rx.lock().await.recv().await };
                let Some(due) = due else { break };
                let s = match sender.as_mut() {
                    Some(s) => s,
                    None => match open(&target).await {
                        Ok(s) => sender.insert(s),
                        Err(e) => {
                            r.error(&e);
                            continue;
                        }
                    },
                };
                match tokio::time::timeout(REQUEST_TIMEOUT, exchange(&target, s)).await {
                    Ok(Ok(_)) => r.latencies_us.push(micros(due.elapsed())),
                    Ok(Err(e)) if e.is::<Exhausted>() => break,
                    Ok(Err(e)) => {
                        r.error(&e);
                        sender = None;
                    }
                    Err(_) => {
                        r.error(&anyhow!("timed out"));
                        sender = None;
                    }
                }
            }
            r
        }));
    }
    let measured = collect(workers, start).await;
    let _ = pacer.join();
    Ok(measured)
}

async fn collect(workers: Vec<tokio::task::JoinHandle<WorkerResult>>, start: Instant) -> Measured {
    let mut results = Vec::with_capacity(workers.len());
    for w in workers {
        match w.await {
            Ok(r) => results.push(r),
            Err(e) => {
                let mut r = WorkerResult::default();
                r.error(&anyhow!("worker failed: {e}"));
                results.push(r);
            }
        }
    }
    merge(results, start.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_taken_once_each_then_run_out() {
        let bodies = Bodies::new(vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")]);
        assert_eq!(bodies.take().as_deref(), Some(&b"a"[..]));
        assert!(!bodies.exhausted());
        assert_eq!(bodies.take().as_deref(), Some(&b"b"[..]));
        assert!(bodies.exhausted());
        assert!(bodies.take().is_none());
        assert_eq!(bodies.taken(), 2);
        let e = anyhow::Error::from(Exhausted);
        assert!(e.is::<Exhausted>());
    }
}
