//! Client status: a client set to `status = "off"` gets `invalid_client` at
//! the token, introspection and revocation endpoints, its unexpired tokens stop
//! passing gateway routes and introspect as inactive, on every instance within
//! a second; set `active` again, it is served as before. A status certbound
//! does not know is a named validation error, never ignored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use certbound_store::{AuditFilter, AuditResult};
use certbound_testkit::{LeafOptions, TestPki, self_signed};
use common::{
    ADMIN_TOKEN, Client, Harness, Reply, client_doc, echo_upstream, eventually_within, request,
};
use serde_json::Value;

const TOKEN_FORM: &str = "grant_type=client_credentials&client_id=partner";

fn routes(upstream: SocketAddr) -> String {
    format!(
        r#"
[[route]]
prefix = "/api/"
upstream = "http://{upstream}"
[[route]]
prefix = "/cert-only/"
upstream = "http://{upstream}"
require = "client-cert"
allow_client_ids = ["partner"]
"#
    )
}

/// Retry `f` until it answers `want`, for at most `limit`; how long it took.
async fn within<F, Fut>(limit: Duration, want: u16, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    let start = Instant::now();
    eventually_within(&format!("status {want}"), limit, || {
        let reply = f();
        async move {
            let r = reply.await;
            if r.status == want {
                Ok(())
            } else {
                Err(format!("still {}: {}", r.status, r.body))
            }
        }
    })
    .await;
    start.elapsed()
}

/// Set the status of the client `id` through the admin API of `addr`, as
/// `certbound client disable/enable --server` does: GET, change, PUT.
async fn set_status(addr: SocketAddr, pki: &TestPki, id: &str, status: &str) {
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let path = format!("/admin/ClientApplication/{id}");
    let headers = [("authorization", auth.as_str())];
    let got = request(addr, pki, &Client::None, "GET", &path, "", "", &headers)
        .await
        .unwrap();
    assert_eq!(got.status, 200, "{}", got.body);
    let mut doc = got.json();
    doc["status"] = status.into();
    let put = request(
        addr,
        pki,
        &Client::None,
        "PUT",
        &path,
        "application/json",
        &doc.to_string(),
        &headers,
    )
    .await
    .unwrap();
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.json()["status"], status);
}

struct Setup {
    h: Harness,
    partner: Client,
    /// Another client, which introspects the partner's tokens.
    resource: Client,
}

async fn setup() -> Setup {
    let upstream = echo_upstream().await;
    let h = Harness::start(&routes(upstream)).await;
    let leaf = self_signed(&LeafOptions::client("partner").around_now());
    let mut doc = client_doc("partner", &leaf.cert_pem());
    doc["description"] = "kept as it came".into();
    h.register("partner", doc).await;
    let rs = self_signed(&LeafOptions::client("resource-server").around_now());
    h.register("resource-server", client_doc("rs", &rs.cert_pem()))
        .await;
    Setup {
        partner: Client::Cert(vec![leaf.cert.clone()], leaf.key_pem.clone()),
        resource: Client::Cert(vec![rs.cert.clone()], rs.key_pem.clone()),
        h,
    }
}

impl Setup {
    async fn post(&self, client: &Client, path: &str, body: &str) -> Reply {
        request(
            self.h.addr("mtls"),
            &self.h.pki,
            client,
            "POST",
            path,
            "application/x-www-form-urlencoded",
            body,
            &[],
        )
        .await
        .unwrap()
    }

    async fn token(&self) -> Reply {
        self.post(&self.partner, "/oauth2/token", TOKEN_FORM).await
    }

    async fn gateway(&self, path: &str, token: Option<&str>) -> Reply {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("authorization", a.as_str())).collect();
        request(
            self.h.addr("mtls"),
            &self.h.pki,
            &self.partner,
            "GET",
            path,
            "",
            "",
            &headers,
        )
        .await
        .unwrap()
    }

    /// Whether the resource server sees `token` as active.
    async fn active(&self, token: &str) -> Value {
        let r = self
            .post(
                &self.resource,
                "/oauth2/introspect",
                &format!("client_id=resource-server&token={token}"),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["active"].clone()
    }
}

// On the current thread: the harness captures the log of this thread.
#[tokio::test]
async fn an_off_client_is_refused_everywhere_until_it_is_active_again() {
    let s = setup().await;
    let addr = s.h.addr("tls");

    // Active (no status field): served everywhere.
    let r = s.token().await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(s.gateway("/api/x", Some(&token)).await.status, 200);
    assert_eq!(s.gateway("/cert-only/x", None).await.status, 200);
    assert_eq!(s.active(&token).await, true);

    // Off: the token endpoint refuses, with the status in the log and audit.
    set_status(addr, &s.h.pki, "partner", "off").await;
    let r = s.token().await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.json()["error"], "invalid_client");
    assert!(
        !r.body.contains("off"),
        "the peer is told little: {}",
        r.body
    );
    s.h.logs.assert_has("code=\"client_off\"");
    s.h.logs
        .assert_has("reason=client `partner` has status \"off\"");
    // Its unexpired token stops at the gateway, and introspects inactive.
    let r = s.gateway("/api/x", Some(&token)).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.json()["error"], "invalid_token");
    s.h.logs
        .assert_has("the token's client `partner` has status \"off\"");
    assert_eq!(s.gateway("/cert-only/x", None).await.status, 403);
    assert_eq!(s.active(&token).await, false);
    // As a caller of introspection and revocation it is refused too.
    for path in ["/oauth2/introspect", "/oauth2/revoke"] {
        let r = s
            .post(
                &s.partner,
                path,
                &format!("client_id=partner&token={token}"),
            )
            .await;
        assert_eq!(r.status, 401, "{path}: {}", r.body);
        assert_eq!(r.json()["error"], "invalid_client", "{path}");
    }
    // The other client is untouched.
    assert_eq!(
        s.post(
            &s.resource,
            "/oauth2/token",
            "grant_type=client_credentials&client_id=resource-server"
        )
        .await
        .status,
        200
    );
    // The audit record names the status.
    let events =
        s.h.audit_until(
            AuditFilter {
                client_id: Some("partner".into()),
                result: Some(AuditResult::Failure),
                ..Default::default()
            },
            |events| events.len() >= 3,
        )
        .await;
    assert_eq!(events.len(), 3, "{events:#?}");
    for e in &events {
        let reason = e.reason.as_deref().unwrap_or_default();
        assert!(reason.starts_with("client_off: "), "{reason}");
        assert!(reason.contains("status \"off\""), "{reason}");
    }

    // Active again: the old token passes again and new ones are issued.
    set_status(addr, &s.h.pki, "partner", "active").await;
    assert_eq!(s.token().await.status, 200);
    assert_eq!(s.gateway("/api/x", Some(&token)).await.status, 200);
    assert_eq!(s.gateway("/cert-only/x", None).await.status, 200);
    assert_eq!(s.active(&token).await, true);
    // Unknown top-level fields survived both changes.
    let got =
        s.h.admin("GET", "/admin/ClientApplication/partner", None, None)
            .await;
    assert_eq!(got.json()["description"], "kept as it came");
}

#[tokio::test]
async fn a_status_certbound_does_not_know_is_a_named_error() {
    let h = Harness::start("").await;
    let leaf = self_signed(&LeafOptions::client("partner").around_now());
    for (status, message) in [
        (Value::from("disabled"), "not \"disabled\""),
        (Value::from("OFF"), "not \"OFF\""),
        (Value::from(1), "must be a string, not a number"),
        (Value::from(false), "must be a string, not a boolean"),
    ] {
        let mut doc = client_doc("partner", &leaf.cert_pem());
        doc["status"] = status.clone();
        let r = h
            .admin("POST", "/admin/ClientApplication", Some(&doc), None)
            .await;
        assert_eq!(r.status, 400, "{status}: {}", r.body);
        let errors = r.json()["errors"].clone();
        assert_eq!(errors[0]["field"], "status", "{status}: {}", r.body);
        assert!(
            errors[0]["message"].as_str().unwrap().contains(message),
            "{status}: {}",
            r.body
        );
    }
    // The values it knows are accepted, and null means the default.
    for status in [Value::from("off"), Value::from("active"), Value::Null] {
        let mut doc = client_doc("partner", &leaf.cert_pem());
        doc["status"] = status.clone();
        let r = h
            .admin("POST", "/admin/ClientApplication", Some(&doc), None)
            .await;
        assert_eq!(r.status, 201, "{status}: {}", r.body);
    }
}

async fn instance(
    dir: &std::path::Path,
    name: &str,
    db: &str,
    upstream: SocketAddr,
) -> certbound_server::Running {
    let toml = format!(
        r#"
data_dir = "{name}-data"
[store]
url = "{db}"
[issuer]
url = "https://localhost"
signing_key = "../shared-signing-key.pem"
[tls.tls]
cert = "server.crt"
key = "server.key"
client_auth = "optional"
[[listener]]
name = "tls"
bind = "127.0.0.1:0"
tls = "tls"
[admin]
token_file = "admin-token"
[[route]]
prefix = "/api/"
upstream = "http://{upstream}"
"#
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, toml).unwrap();
    certbound_server::bind_with(
        &certbound_server::Config::load(&path).unwrap(),
        &[],
        Some(certbound_gateway::BUILD),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_applies_on_every_instance_within_a_second() {
    let db = certbound_testkit::postgres::database("status");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = TestPki::new();
    pki.root
        .issue(&LeafOptions::server("localhost").around_now())
        .write(d, "server", &[]);
    certbound_testkit::write_private(&d.join("admin-token"), ADMIN_TOKEN);
    let upstream = echo_upstream().await;
    let a = instance(d, "a", &db, upstream).await;
    let b = instance(d, "b", &db, upstream).await;
    let (addr_a, addr_b) = (a.addr("tls").unwrap(), b.addr("tls").unwrap());

    let leaf = self_signed(&LeafOptions::client("partner").around_now());
    let mut doc = client_doc("partner", &leaf.cert_pem());
    doc["id"] = "partner".into();
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let created = request(
        addr_a,
        &pki,
        &Client::None,
        "POST",
        "/admin/ClientApplication",
        "application/json",
        &doc.to_string(),
        &[("authorization", &auth)],
    )
    .await
    .unwrap();
    assert_eq!(created.status, 201, "{}", created.body);
    let client = Client::Cert(vec![leaf.cert.clone()], leaf.key_pem.clone());
    let token_at = |addr: SocketAddr| {
        let (pki, client) = (&pki, &client);
        async move {
            request(
                addr,
                pki,
                client,
                "POST",
                "/oauth2/token",
                "application/x-www-form-urlencoded",
                TOKEN_FORM,
                &[],
            )
            .await
            .unwrap()
        }
    };
    let gateway_at = |addr: SocketAddr, token: String| {
        let (pki, client) = (&pki, &client);
        async move {
            let auth = format!("Bearer {token}");
            request(
                addr,
                pki,
                client,
                "GET",
                "/api/x",
                "",
                "",
                &[("authorization", &auth)],
            )
            .await
            .unwrap()
        }
    };
    within(Duration::from_secs(1), 200, || token_at(addr_b)).await;
    let token = token_at(addr_a).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    within(Duration::from_secs(1), 200, || {
        gateway_at(addr_b, token.clone())
    })
    .await;

    // Off through A: B refuses tokens and gateway requests within a second.
    set_status(addr_a, &pki, "partner", "off").await;
    let took = within(Duration::from_secs(1), 401, || token_at(addr_b)).await;
    eprintln!("B refused tokens after {took:?}");
    within(Duration::from_secs(1), 401, || {
        gateway_at(addr_b, token.clone())
    })
    .await;
    assert_eq!(token_at(addr_a).await.status, 401);
    assert_eq!(gateway_at(addr_a, token.clone()).await.status, 401);

    // Active again through B: A serves within a second.
    set_status(addr_b, &pki, "partner", "active").await;
    within(Duration::from_secs(1), 200, || token_at(addr_a)).await;
    within(Duration::from_secs(1), 200, || {
        gateway_at(addr_a, token.clone())
    })
    .await;

    for r in [a, b] {
        r.shutdown();
        r.wait().await;
    }
}

/// One kept-alive HTTPS connection presenting `leaf`: the per-connection and
/// shared authentication caches are in play for every request after the first.
struct KeptAlive {
    sender: hyper::client::conn::http1::SendRequest<http_body_util::Full<hyper::body::Bytes>>,
}

impl KeptAlive {
    async fn open(h: &Harness, listener: &str, leaf: &certbound_testkit::Leaf) -> Self {
        use rustls::pki_types::pem::PemObject;
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(h.pki.root.cert.clone()).unwrap();
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(
                vec![leaf.cert.clone()],
                rustls::pki_types::PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).unwrap(),
            )
            .unwrap();
        let tcp = tokio::net::TcpStream::connect(h.addr(listener))
            .await
            .unwrap();
        let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
            .connect(
                rustls::pki_types::ServerName::try_from("localhost").unwrap(),
                tcp,
            )
            .await
            .unwrap();
        let (sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .unwrap();
        tokio::spawn(conn);
        Self { sender }
    }

    async fn send(&mut self, method: &str, path: &str, body: &str, auth: Option<&str>) -> u16 {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost")
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(token) = auth {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let req = req
            .body(http_body_util::Full::new(hyper::body::Bytes::from(
                body.to_string(),
            )))
            .unwrap();
        self.sender.ready().await.unwrap();
        let resp = self.sender.send_request(req).await.unwrap();
        let status = resp.status().as_u16();
        http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap();
        status
    }
}

#[tokio::test]
async fn no_cache_keeps_an_off_client_in_on_a_kept_alive_connection() {
    let upstream = echo_upstream().await;
    let h = Harness::start(&routes(upstream)).await;
    let leaf = self_signed(&LeafOptions::client("partner").around_now());
    h.register("partner", client_doc("partner", &leaf.cert_pem()))
        .await;
    let s = Setup {
        partner: Client::Cert(vec![leaf.cert.clone()], leaf.key_pem.clone()),
        resource: Client::None,
        h,
    };
    let access = s.token().await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut conn = KeptAlive::open(&s.h, "mtls", &leaf).await;
    // Twice while active: the second answers come from the caches.
    for _ in 0..2 {
        assert_eq!(
            conn.send("POST", "/oauth2/token", TOKEN_FORM, None).await,
            200
        );
        assert_eq!(conn.send("GET", "/api/x", "", Some(&access)).await, 200);
    }

    set_status(s.h.addr("tls"), &s.h.pki, "partner", "off").await;
    assert_eq!(
        conn.send("POST", "/oauth2/token", TOKEN_FORM, None).await,
        401
    );
    assert_eq!(conn.send("GET", "/api/x", "", Some(&access)).await, 401);

    set_status(s.h.addr("tls"), &s.h.pki, "partner", "active").await;
    assert_eq!(
        conn.send("POST", "/oauth2/token", TOKEN_FORM, None).await,
        200
    );
    assert_eq!(conn.send("GET", "/api/x", "", Some(&access)).await, 200);
}
