//! Harness for server tests: a real server on 127.0.0.1:0 from a config file
//! in a temporary directory, an HTTPS client with any client certificate (or
//! a forged one), and the server's log captured per test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use certbound_server::{Config, Running};
// The one way tests wait for the background; each test binary uses a few.
#[allow(unused_imports)]
pub use certbound_testkit::wait::{eventually, eventually_ok, eventually_some, eventually_within};
use certbound_testkit::{LeafOptions, TestPki, pem};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::CertifiedKey;

/// A running server and everything around it.
pub struct Harness {
    pub running: Running,
    pub dir: tempfile::TempDir,
    pub pki: TestPki,
    pub logs: Logs,
    _guard: tracing::subscriber::DefaultGuard,
}

/// The server's log, captured.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Assert the log holds `needle`.
    #[track_caller]
    pub fn assert_has(&self, needle: &str) {
        let text = self.text();
        assert!(
            text.contains(needle),
            "the server log lacks {needle:?}:\n{text}"
        );
    }

    /// Wait until the log holds `needle`: some lines are written by a task
    /// of the server's, after the client has its answer.
    pub async fn wait_for(&self, needle: &str) {
        eventually_ok(&format!("{needle:?} in the server log"), || async {
            let text = self.text();
            if text.contains(needle) {
                Ok(())
            } else {
                Err(text)
            }
        })
        .await;
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

pub const BASE_CONFIG: &str = r#"
data_dir = "data"
[issuer]
url = "https://localhost"
[tls.tls]
cert = "server.crt"
key = "server.key"
[tls.mtls]
cert = "server.crt"
key = "server.key"
client_auth = "required"
[tls.mtls-ca]
cert = "server.crt"
key = "server.key"
client_auth = "required"
client_ca = "root.crt"
[tls.mtls-opt]
cert = "server.crt"
key = "server.key"
client_auth = "optional"
[[listener]]
name = "mtls-opt"
bind = "127.0.0.1:0"
tls = "mtls-opt"
[[listener]]
name = "tls"
bind = "127.0.0.1:0"
tls = "tls"
[[listener]]
name = "mtls"
bind = "127.0.0.1:0"
tls = "mtls"
[[listener]]
name = "mtls-ca"
bind = "127.0.0.1:0"
tls = "mtls-ca"
[admin]
token_file = "admin-token"
client_certs = ["admin.crt"]
"#;

/// The admin bearer token of test servers.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

impl Harness {
    /// The audit events `filter` selects, once `ready` holds for them: the
    /// audit trail is written off the request path.
    pub async fn audit_until(
        &self,
        filter: certbound_store::AuditFilter,
        ready: impl Fn(&[certbound_store::AuditEvent]) -> bool,
    ) -> Vec<certbound_store::AuditEvent> {
        let (filter, ready) = (&filter, &ready);
        eventually_ok("the audit events awaited", || async move {
            let events = self.running.store().query_audit(filter).await.unwrap();
            if ready(&events) {
                Ok(events)
            } else {
                Err(format!("{events:#?}"))
            }
        })
        .await
    }

    /// Start a server with the base config plus `extra` TOML.
    pub async fn start(extra: &str) -> Harness {
        Self::start_with_files(extra, &[]).await
    }

    /// Start with extra files written next to the config first.
    pub async fn start_with_files(extra: &str, files: &[(&str, &str)]) -> Harness {
        Self::start_mounted(extra, files, &[]).await
    }

    /// Start with extra files, the listeners serving `mounts` too (the
    /// console's tests include this harness).
    pub async fn start_mounted(
        extra: &str,
        files: &[(&str, &str)],
        mounts: &[certbound_server::mount::Mount],
    ) -> Harness {
        let logs = Logs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        let dir = tempfile::tempdir().unwrap();
        let pki = TestPki::new();
        let server = pki
            .root
            .issue(&LeafOptions::server("localhost").around_now());
        server.write(dir.path(), "server", &[]);
        std::fs::write(dir.path().join("root.crt"), pki.root.cert_pem()).unwrap();
        certbound_testkit::write_private(&dir.path().join("admin-token"), ADMIN_TOKEN);
        let admin = certbound_testkit::self_signed(&LeafOptions::client("admin").around_now());
        admin.write(dir.path(), "admin", &[]);
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let path = dir.path().join("certbound.toml");
        std::fs::write(&path, format!("{BASE_CONFIG}\n{extra}")).unwrap();
        let config = Config::load(&path).unwrap();
        let running = certbound_server::bind_with(&config, mounts, Some(certbound_gateway::BUILD))
            .await
            .unwrap();
        Harness {
            running,
            dir,
            pki,
            logs,
            _guard: guard,
        }
    }

    pub fn addr(&self, listener: &str) -> SocketAddr {
        self.running.addr(listener).unwrap()
    }

    /// Register a client straight in the store, as the admin API would.
    pub async fn register(&self, id: &str, doc: serde_json::Value) {
        let name = doc["name"].as_str().unwrap_or(id).to_string();
        let store = self.running.store();
        store.create_client(id, &name, &doc).await.unwrap();
        self.running.registry().refresh(id).await.unwrap();
    }

    /// POST a form to the token endpoint of `listener` with `client` as the TLS identity.
    pub async fn token(
        &self,
        listener: &str,
        client: &Client,
        body: &str,
    ) -> Result<Reply, String> {
        request(
            self.addr(listener),
            &self.pki,
            client,
            "POST",
            "/oauth2/token",
            "application/x-www-form-urlencoded",
            body,
            &[],
        )
        .await
    }

    /// The admin certificate and key written at start.
    pub fn admin_client(&self) -> Client {
        let pem = std::fs::read(self.dir.path().join("admin.crt")).unwrap();
        let cert = certbound_pki::parse_certificates(&pem).unwrap().remove(0);
        let key = std::fs::read_to_string(self.dir.path().join("admin.key")).unwrap();
        Client::Cert(vec![cert], key)
    }

    /// Call the admin API with the admin token (or `token` when given).
    pub async fn admin(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
        token: Option<&str>,
    ) -> Reply {
        self.admin_with(method, path, body, token, "application/json", &[])
            .await
    }

    /// [`Harness::admin`] with the body's content type and `extra` headers
    /// (the FHIR endpoint's `application/fhir+json`, `If-Match`).
    pub async fn admin_with(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
        token: Option<&str>,
        content_type: &str,
        extra: &[(&str, &str)],
    ) -> Reply {
        let auth = format!("Bearer {}", token.unwrap_or(ADMIN_TOKEN));
        let mut headers: Vec<(&str, &str)> = if token == Some("") {
            vec![]
        } else {
            vec![("authorization", auth.as_str())]
        };
        headers.extend_from_slice(extra);
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let ct = if body.is_empty() { "" } else { content_type };
        request(
            self.addr("tls"),
            &self.pki,
            &Client::None,
            method,
            path,
            ct,
            &body,
            &headers,
        )
        .await
        .unwrap()
    }

    pub async fn get(&self, listener: &str, path: &str) -> Result<Reply, String> {
        request(
            self.addr(listener),
            &self.pki,
            &Client::None,
            "GET",
            path,
            "",
            "",
            &[],
        )
        .await
    }
}

/// The TLS identity a test client presents.
pub enum Client {
    None,
    /// A chain (leaf first) and the leaf's key in PEM.
    Cert(Vec<CertificateDer<'static>>, String),
    /// A chain presented with a key that is not the leaf's: signs CertificateVerify with the wrong key.
    Forged(Vec<CertificateDer<'static>>, String),
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

#[derive(Debug)]
struct FixedCert(Arc<CertifiedKey>);

impl rustls::client::ResolvesClientCert for FixedCert {
    fn resolve(
        &self,
        _hints: &[&[u8]],
        _schemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
    fn has_certs(&self) -> bool {
        true
    }
}

fn key_der(pem_text: &str) -> PrivateKeyDer<'static> {
    use rustls::pki_types::pem::PemObject;
    PrivateKeyDer::from_pem_slice(pem_text.as_bytes()).unwrap()
}

/// One request on a new connection.
#[allow(clippy::too_many_arguments)]
pub async fn request(
    addr: SocketAddr,
    pki: &TestPki,
    client: &Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> Result<Reply, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.root.cert.clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        Client::None => builder.with_no_client_auth(),
        Client::Cert(chain, key) => builder
            .with_client_auth_cert(chain.clone(), key_der(key))
            .unwrap(),
        Client::Forged(chain, key) => {
            let signer = provider
                .key_provider
                .load_private_key(key_der(key))
                .unwrap();
            builder.with_client_cert_resolver(Arc::new(FixedCert(Arc::new(CertifiedKey::new(
                chain.clone(),
                signer,
            )))))
        }
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| format!("http: {e}"))?;
    tokio::spawn(conn);
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost");
    if !content_type.is_empty() {
        req = req.header("content-type", content_type);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(Bytes::from(body.to_string()))).unwrap();
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("request: {e}"))?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    Ok(Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// A config in `dir` with one TLS listener, "tls" (a server certificate
/// from `pki` for localhost), no admin API, and `extra` appended.
pub fn tls_only_config(dir: &std::path::Path, pki: &TestPki, extra: &str) -> Config {
    pki.root
        .issue(&LeafOptions::server("localhost").around_now())
        .write(dir, "server", &[]);
    let path = dir.join("certbound.toml");
    std::fs::write(
        &path,
        format!(
            "data_dir = \"data\"\n[issuer]\nurl = \"https://localhost\"\n\
             [tls.tls]\ncert = \"server.crt\"\nkey = \"server.key\"\n\
             [[listener]]\nname = \"tls\"\nbind = \"127.0.0.1:0\"\ntls = \"tls\"\n{extra}"
        ),
    )
    .unwrap();
    Config::load(&path).unwrap()
}

/// A `ClientApplication` document.
pub fn client_doc(name: &str, trust_store: &str) -> serde_json::Value {
    serde_json::json!({
        "resourceType": "ClientApplication",
        "name": name,
        "certificateTrustStore": trust_store,
    })
}

pub fn pem_of(cert: &CertificateDer<'_>) -> String {
    pem("CERTIFICATE", cert)
}

/// Decode a JWT's payload (no verification: the tests verify separately).
pub fn claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// One request over plain HTTP (a listener behind a proxy).
pub async fn plain_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> Result<Reply, String> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| format!("http: {e}"))?;
    tokio::spawn(conn);
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost");
    if !content_type.is_empty() {
        req = req.header("content-type", content_type);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(Bytes::from(body.to_string()))).unwrap();
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("request: {e}"))?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    Ok(Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// An upstream that answers every request with a JSON echo of it.
pub async fn echo_upstream() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    |req: hyper::Request<hyper::body::Incoming>| async move {
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
                                (
                                    k.to_string(),
                                    String::from_utf8_lossy(v.as_bytes()).into_owned().into(),
                                )
                            })
                            .collect();
                        let echo = serde_json::json!({
                            "method": parts.method.as_str(),
                            "path": parts.uri.to_string(),
                            "headers": headers,
                            "body": String::from_utf8_lossy(&body),
                        });
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                            Bytes::from(echo.to_string()),
                        )))
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// An upstream that accepts connections and never answers: each socket is
/// held open (never read, never written) for as long as the test runs.
pub async fn silent_upstream() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    addr
}
