//! Real TLS servers for the client commands' tests, all on 127.0.0.1 with a
//! port the OS chose: `openssl s_server` as an independent implementation,
//! and rustls servers built in-process (a bare TLS server that records each
//! handshake, and an HTTPS server with a handler). Every server stops when
//! its guard drops, also when a test panics. Readiness is polled with the
//! testkit's `eventually`; nothing sleeps a fixed time.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use certbound_pki::CertInfo;
use certbound_testkit::wait::eventually_ok_sync;
use certbound_testkit::{Ca, Eku, LeafOptions, TestPki, pem};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use time::OffsetDateTime;
use tokio::io::AsyncReadExt;

/// A port that was free a moment ago (bind to port 0, read it, release it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// Poll until `openssl s_server` says ACCEPT (it bound the port) and TCP
/// connects. `Ok(false)` when it exited first, e.g. because another process
/// took the port between `free_port` and its bind.
fn wait_ready(port: u16, child: &mut Child, log: &Path) -> bool {
    eventually_ok_sync(
        &format!("openssl s_server listening on 127.0.0.1:{port}"),
        || {
            if let Ok(Some(_)) = child.try_wait() {
                return Ok(false);
            }
            let accepting = std::fs::read_to_string(log).is_ok_and(|l| l.contains("ACCEPT"));
            if accepting && TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(true);
            }
            Err(format!(
                "its output:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            ))
        },
    )
}

/// Validity for network tests: from yesterday to a month from now.
pub fn current() -> (OffsetDateTime, OffsetDateTime) {
    let now = OffsetDateTime::now_utc();
    (
        now - time::Duration::days(1),
        now + time::Duration::days(30),
    )
}

/// Every certificate the tests use, written to a temporary directory.
pub struct Files {
    pub dir: tempfile::TempDir,
    pub pki: TestPki,
    pub server_key: PrivateKeyDer<'static>,
    /// Server leaf and intermediate.
    pub server_chain: Vec<CertificateDer<'static>>,
}

impl Files {
    /// root.crt, inter.crt, other.crt; server.crt (leaf) + server.key with
    /// SANs localhost and 127.0.0.1 from the intermediate; alice.crt (leaf
    /// then intermediate) and alice-leaf.crt (leaf only); stranger.crt (from
    /// the other root); expired.crt; server-eku.crt (EKU serverAuth only);
    /// bob.crt (a second good client). Each NAME.crt has NAME.key.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let pki = TestPki::new();
        let (nb, na) = current();
        let inter = pki.intermediate.cert.clone();
        std::fs::write(d.join("root.crt"), pki.root.cert_pem()).unwrap();
        std::fs::write(d.join("inter.crt"), pki.intermediate.cert_pem()).unwrap();
        std::fs::write(d.join("other.crt"), pki.other_root.cert_pem()).unwrap();
        let server = pki
            .intermediate
            .issue(&LeafOptions::server("localhost").validity(nb, na));
        server.write(d, "server", &[]);
        let alice = pki
            .intermediate
            .issue(&LeafOptions::client("alice").validity(nb, na));
        alice.write(d, "alice", &[&inter]);
        alice.write(d, "alice-leaf", &[]);
        pki.intermediate
            .issue(&LeafOptions::client("bob").validity(nb, na))
            .write(d, "bob", &[&inter]);
        pki.other_root
            .issue(&LeafOptions::client("stranger").validity(nb, na))
            .write(d, "stranger", &[]);
        let now = OffsetDateTime::now_utc();
        pki.intermediate
            .issue(&LeafOptions::client("old-client").validity(
                now - time::Duration::days(60),
                now - time::Duration::days(3),
            ))
            .write(d, "expired", &[&inter]);
        pki.intermediate
            .issue(
                &LeafOptions::client("server-as-client")
                    .eku(Eku::Server)
                    .validity(nb, na),
            )
            .write(d, "server-eku", &[&inter]);
        let server_key = key_der(&d.join("server.key"));
        Files {
            server_chain: vec![server.cert.clone(), inter],
            server_key,
            dir,
            pki,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A server certificate (and key) named NAME, from `ca`, for `dns`
    /// only (no IP SANs), written as NAME.crt / NAME.key.
    pub fn server_cert(
        &self,
        name: &str,
        ca: &Ca,
        dns: &[&str],
    ) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let (nb, na) = current();
        let mut opts = LeafOptions::server(name).dns(dns).validity(nb, na);
        opts.ips.clear();
        let leaf = ca.issue(&opts);
        leaf.write(self.path(), name, &[]);
        (
            vec![leaf.cert.clone()],
            key_der(&self.path().join(format!("{name}.key"))),
        )
    }

    /// The DER certificates of NAME.crt.
    pub fn certs(&self, name: &str) -> Vec<CertificateDer<'static>> {
        certbound_pki::parse_certificates(&std::fs::read(self.path().join(name)).unwrap()).unwrap()
    }
}

fn key_der(path: &Path) -> PrivateKeyDer<'static> {
    certbound_pki::key::parse_private_key(&std::fs::read(path).unwrap())
        .unwrap()
        .to_der()
}

/// `openssl s_server`, killed on drop.
pub struct OpensslServer {
    child: Child,
    pub port: u16,
    log: PathBuf,
    _stdin: Option<std::process::ChildStdin>,
}

impl OpensslServer {
    /// Start `openssl s_server` in `dir` with `args` (after -accept), on a
    /// free port (another, if the port was taken before s_server bound it).
    pub fn start(dir: &Path, args: &[&str]) -> Self {
        let mut last_log = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let log = dir.join(format!("s_server-{port}.log"));
            let out = std::fs::File::create(&log).unwrap();
            let mut child = Command::new("openssl")
                .arg("s_server")
                .arg("-accept")
                .arg(format!("127.0.0.1:{port}"))
                .args(args)
                .current_dir(dir)
                // s_server ends a session when stdin closes: keep it open.
                .stdin(Stdio::piped())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .unwrap_or_else(|e| {
                    panic!(
                        "cannot run `openssl s_server` ({e}): these tests need OpenSSL; install it with `apt-get install openssl` (or your system's package)"
                    )
                });
            let stdin = child.stdin.take();
            let mut server = Self {
                child,
                port,
                log,
                _stdin: stdin,
            };
            if wait_ready(port, &mut server.child, &server.log) {
                return server;
            }
            last_log = server.log();
        }
        panic!("openssl s_server did not start:\n{last_log}");
    }

    /// The standard mTLS server: our server chain, clients verified against
    /// root.crt and required (`-Verify 1 -verify_return_error`).
    pub fn mtls(files: &Files, version_flag: &str) -> Self {
        Self::start(
            files.path(),
            &[
                "-cert",
                "server.crt",
                "-key",
                "server.key",
                "-cert_chain",
                "inter.crt",
                "-CAfile",
                "root.crt",
                "-Verify",
                "1",
                "-verify_return_error",
                version_flag,
            ],
        )
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// What s_server printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The request a handler sees.
pub struct Seen {
    pub method: String,
    pub path: String,
    pub version: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    /// The client's leaf certificate (DER), from the TLS session.
    pub client_cert: Option<Vec<u8>>,
}

/// A handler: status, content type, body.
pub type Handler = Arc<dyn Fn(&Seen) -> (u16, &'static str, String) + Send + Sync>;

/// What an in-process server does after the handshake.
#[derive(Clone)]
pub enum Mode {
    /// Keep the connection open until the client leaves.
    Hold,
    /// Serve HTTP/1.1 or HTTP/2 (by ALPN) with the handler.
    Http(Handler),
}

/// A rustls server in its own thread and runtime; stops on drop.
pub struct RustlsServer {
    pub addr: SocketAddr,
    /// One line per connection: `accepted CN=...` or `rejected: reason`.
    pub events: Arc<Mutex<Vec<String>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A server config: the chain and key, clients required and verified
/// against `client_roots` (none: no client authentication), the versions.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_roots: Option<&[CertificateDer<'static>]>,
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .unwrap();
    let builder = match client_roots {
        Some(roots) => {
            let mut store = RootCertStore::empty();
            for r in roots {
                store.add(r.clone()).unwrap();
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(store), provider)
                .build()
                .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// A server that verifies client chains to `roots`, then refuses every
/// client certificate with `refusal`: rustls sends the alert that error
/// maps to (access_denied for an application's refusal, bad_certificate for a
/// name it does not accept, …), as a server with its own policy would.
pub fn refusing_server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    roots: &[CertificateDer<'static>],
    versions: &[&'static rustls::SupportedProtocolVersion],
    refusal: rustls::CertificateError,
) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut store = RootCertStore::empty();
    for r in roots {
        store.add(r.clone()).unwrap();
    }
    let inner = WebPkiClientVerifier::builder_with_provider(Arc::new(store), provider.clone())
        .build()
        .unwrap();
    let verifier = Arc::new(Refusing { inner, refusal });
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    Arc::new(config)
}

#[derive(Debug)]
struct Refusing {
    inner: Arc<dyn rustls::server::danger::ClientCertVerifier>,
    refusal: rustls::CertificateError,
}

impl rustls::server::danger::ClientCertVerifier for Refusing {
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        self.inner
            .verify_client_cert(end_entity, intermediates, now)?;
        Err(rustls::Error::InvalidCertificate(self.refusal.clone()))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

impl RustlsServer {
    pub fn start(config: Arc<ServerConfig>, mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let ev = events.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(serve(listener, config, mode, ev, stopped));
        });
        Self {
            addr,
            events,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// Wait until the server recorded `n` connections; return them.
    pub fn wait_events(&self, n: usize) -> Vec<String> {
        eventually_ok_sync(&format!("{n} connections recorded"), || {
            let events = self.events.lock().unwrap().clone();
            if events.len() >= n {
                Ok(events)
            } else {
                Err(format!("{events:?}"))
            }
        })
    }
}

impl Drop for RustlsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    mode: Mode,
    events: Arc<Mutex<Vec<String>>>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    loop {
        let socket = tokio::select! {
            _ = &mut stopped => return,
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(_) => continue,
            },
        };
        let acceptor = acceptor.clone();
        let events = events.clone();
        let mode = mode.clone();
        tokio::spawn(async move {
            let mut tls = match acceptor.accept(socket).into_fallible().await {
                Ok(tls) => tls,
                Err((e, mut socket)) => {
                    let reason = e
                        .get_ref()
                        .and_then(|i| i.downcast_ref::<rustls::Error>())
                        .map_or_else(|| e.to_string(), |r| format!("{r:?}"));
                    events.lock().unwrap().push(format!("rejected: {reason}"));
                    // A lingering close, as nginx and openssl do: read what
                    // the client still sends (its Finished after the refused
                    // Certificate) before closing, so that the kernel does not
                    // answer unread data with a reset that can overtake the
                    // alert already sent.
                    let mut buf = [0u8; 4096];
                    let linger =
                        async { while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {} };
                    let _ = tokio::time::timeout(Duration::from_secs(2), linger).await;
                    return;
                }
            };
            let peer = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.to_vec());
            let who = peer
                .as_ref()
                .and_then(|d| CertInfo::from_der(d).ok())
                .map_or_else(|| "no client certificate".to_string(), |i| i.subject);
            events.lock().unwrap().push(format!("accepted {who}"));
            match mode {
                Mode::Hold => {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = tls.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                    }
                }
                Mode::Http(handler) => serve_http(tls, peer, handler).await,
            }
        });
    }
}

async fn serve_http(
    tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    peer: Option<Vec<u8>>,
    handler: Handler,
) {
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let handler = handler.clone();
        let peer = peer.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let seen = Seen {
                method: parts.method.to_string(),
                path: parts
                    .uri
                    .path_and_query()
                    .map_or("/".into(), |p| p.to_string()),
                version: format!("{:?}", parts.version),
                headers: parts.headers,
                body,
                client_cert: peer,
            };
            let (status, content_type, text) = handler(&seen);
            Ok::<_, std::convert::Infallible>(
                http::Response::builder()
                    .status(status)
                    .header("content-type", content_type)
                    .body(Full::new(Bytes::from(text)))
                    .unwrap(),
            )
        }
    });
    let io = TokioIo::new(tls);
    if h2 {
        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .serve_connection(io, service)
            .await;
    } else {
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(io, service)
            .await;
    }
}

/// PEM of DER certificates, for writing files.
pub fn pem_all(certs: &[CertificateDer<'_>]) -> String {
    certs.iter().map(|c| pem("CERTIFICATE", c)).collect()
}
