//! A route that accepts an external issuer's tokens with keys from its
//! `jwks_uri`: fetched over HTTPS verified with `jwks_ca`, fetched again when
//! a token names a key it lacks (a rotation), and refused in clear. The JWKS
//! server is a small rustls HTTPS server of the test's own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../server/tests/common/mod.rs"]
mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use certbound_oauth::{Algorithm, IssueParams, SigningKey, VerifyingKeys};
use certbound_testkit::{LeafOptions, TestPki};
use common::{Client, Harness, echo_upstream, eventually_ok, request};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;

/// What the JWKS server publishes, and how many times it was fetched.
struct Jwks {
    addr: SocketAddr,
    document: Arc<Mutex<String>>,
    fetched: Arc<AtomicUsize>,
}

fn jwks_of(keys: &[&SigningKey]) -> String {
    VerifyingKeys::from_signing_keys(keys.iter().copied())
        .unwrap()
        .to_jwks()
        .to_json()
}

/// An HTTPS server for `localhost` with a certificate from `pki`'s root,
/// answering `/jwks.json` with the current document.
async fn jwks_server(pki: &TestPki, document: String) -> Jwks {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = pki
        .root
        .issue(&LeafOptions::server("localhost").around_now());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![server.cert.clone()],
        PrivateKeyDer::from_pem_slice(server.key_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let document = Arc::new(Mutex::new(document));
    let fetched = Arc::new(AtomicUsize::new(0));
    let (doc, count) = (Arc::clone(&document), Arc::clone(&fetched));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (acceptor, doc, count) = (acceptor.clone(), Arc::clone(&doc), Arc::clone(&count));
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let (doc, count) = (Arc::clone(&doc), Arc::clone(&count));
                    async move {
                        let mut response = if req.uri().path() == "/jwks.json" {
                            count.fetch_add(1, Ordering::SeqCst);
                            Response::new(Full::new(Bytes::from(doc.lock().unwrap().clone())))
                        } else {
                            Response::new(Full::new(Bytes::new()))
                        };
                        if req.uri().path() != "/jwks.json" {
                            *response.status_mut() = hyper::StatusCode::NOT_FOUND;
                        }
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    Jwks {
        addr,
        document,
        fetched,
    }
}

fn token(key: &SigningKey, issuer: &str) -> String {
    let audience = ["api.example".to_string()];
    let params = IssueParams {
        issuer,
        client_id: "partner",
        subject: None,
        audience: &audience,
        scope: &[],
        lifetime_secs: 300,
        certificate_thumbprint: None,
        extensions: None,
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    certbound_oauth::issue(key, &params, now)
        .unwrap()
        .access_token
}

async fn call(h: &Harness, path: &str, token: &str) -> common::Reply {
    request(
        h.addr("tls"),
        &h.pki,
        &Client::None,
        "GET",
        path,
        "",
        "",
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await
    .unwrap()
}

/// Call until the status is `want`.
async fn until(h: &Harness, path: &str, token: &str, want: u16) -> common::Reply {
    eventually_ok(&format!("{path}: status {want}"), || async {
        let r = call(h, path, token).await;
        if r.status == want {
            Ok(r)
        } else {
            Err(format!("still {}: {}", r.status, r.body))
        }
    })
    .await
}

#[tokio::test]
async fn keys_from_jwks_uri_over_https_are_fetched_again_when_the_issuer_rotates() {
    let idp = TestPki::new();
    let (first, _) = SigningKey::generate(Algorithm::Es256).unwrap();
    let (second, _) = SigningKey::generate(Algorithm::Es256).unwrap();
    let jwks = jwks_server(&idp, jwks_of(&[&first])).await;
    let upstream = echo_upstream().await;
    let uri = format!("https://localhost:{}/jwks.json", jwks.addr.port());
    let config = format!(
        r#"
[[route]]
prefix = "/ext/"
upstream = "http://{upstream}"
require = "token"
issuer = "https://idp.example"
jwks_uri = "{uri}"
jwks_ca = "idp-ca.crt"
audience = "api.example"
[[route]]
prefix = "/ext-wrong-ca/"
upstream = "http://{upstream}"
require = "token"
issuer = "https://idp.example"
jwks_uri = "{uri}"
jwks_ca = "other-ca.crt"
audience = "api.example"
"#
    );
    let h = Harness::start_with_files(
        &config,
        &[
            ("idp-ca.crt", &idp.root.cert_pem()),
            ("other-ca.crt", &idp.other_root.cert_pem()),
        ],
    )
    .await;

    // The keys arrive over HTTPS verified with jwks_ca: the issuer's token passes.
    let good = token(&first, "https://idp.example");
    let r = until(&h, "/ext/items", &good, 200).await;
    assert_eq!(r.json()["path"], "/ext/items");
    assert_eq!(r.json()["headers"]["x-client-id"], "partner");
    // Another issuer's name with the same key, and a key nobody published: refused.
    let r = call(
        &h,
        "/ext/items",
        &token(&first, "https://elsewhere.example"),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.body.contains("invalid_token"), "{}", r.body);

    // A JWKS server the route's jwks_ca does not vouch for gives no keys at all.
    let r = call(&h, "/ext-wrong-ca/items", &good).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(
        r.body
            .contains("the keys of issuer https://idp.example are not available yet"),
        "{}",
        r.body
    );
    h.logs.assert_has("cannot fetch the external JWKS");

    // The issuer rotates: a token with the new key fails until the JWKS is
    // fetched again, which that very token triggers (at most every 10 s).
    let rotated = token(&second, "https://idp.example");
    let r = call(&h, "/ext/items", &rotated).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.body.contains("no verification key has kid"), "{}", r.body);
    let fetched_before = jwks.fetched.load(Ordering::SeqCst);
    *jwks.document.lock().unwrap() = jwks_of(&[&first, &second]);
    let r = until(&h, "/ext/items", &rotated, 200).await;
    assert_eq!(r.json()["headers"]["x-client-id"], "partner");
    assert!(jwks.fetched.load(Ordering::SeqCst) > fetched_before);
    // The old key still works while the issuer publishes it.
    assert_eq!(call(&h, "/ext/items", &good).await.status, 200);
}

#[test]
fn a_jwks_uri_in_clear_and_a_jwks_ca_without_one_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        r#"
[issuer]
url = "https://localhost"
[[listener]]
name = "api"
bind = "127.0.0.1:0"
[[route]]
prefix = "/ext/"
upstream = "http://127.0.0.1:9"
require = "token"
issuer = "https://idp.example"
jwks_uri = "http://idp.example/jwks.json"
[[route]]
prefix = "/file/"
upstream = "http://127.0.0.1:9"
jwks_ca = "ca.crt"
"#,
    )
    .unwrap();
    let err = certbound_server::Config::load(&path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("route[0].jwks_uri: `http://idp.example/jwks.json` must be an https:// URL"),
        "{err}"
    );
    assert!(
        err.contains("route[1].jwks_ca: verifies the jwks_uri server, so it needs jwks_uri"),
        "{err}"
    );
}
