//! The mTLS gateway: a route admits a request only with what it requires,
//! answers each refusal with the right status and `WWW-Authenticate`, and
//! proxies the rest to an echo upstream that sees the forwarded identity (and
//! never a client's forged copy of it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;

use certbound_oauth::{IssueParams, SigningKey};
use certbound_testkit::{LeafOptions, self_signed};
use common::{Client, Harness, Reply, client_doc, echo_upstream, request};

fn routes(upstream: SocketAddr) -> String {
    format!(
        r#"
[[route]]
prefix = "/api/"
upstream = "http://{upstream}"
scopes = ["read"]
[[route]]
prefix = "/token-only/"
upstream = "http://{upstream}"
require = "token"
[[route]]
prefix = "/restricted/"
upstream = "http://{upstream}"
allow_client_ids = ["someone-else"]
[[route]]
prefix = "/cert-only/"
upstream = "http://{upstream}"
require = "client-cert"
allow_client_ids = ["partner"]
[[route]]
prefix = "/external/"
upstream = "http://{upstream}"
require = "token"
issuer = "https://external.example"
jwks_file = "external-jwks.json"
audience = "api.example"
[[route]]
prefix = "/down/"
upstream = "http://127.0.0.1:9"
connect_timeout = 2
"#
    )
}

struct Setup {
    h: Harness,
    partner: Client,
    stranger: Client,
    token: String,
    external: SigningKey,
}

async fn setup() -> Setup {
    let upstream = echo_upstream().await;
    // The external issuer's key, published as a JWKS file before the server starts.
    let (external, _) = SigningKey::generate(certbound_oauth::Algorithm::Es256).unwrap();
    let jwks = certbound_oauth::VerifyingKeys::from_signing_keys([&external])
        .unwrap()
        .to_jwks()
        .to_json();
    let h = Harness::start_with_files(&routes(upstream), &[("external-jwks.json", &jwks)]).await;
    let leaf = self_signed(&LeafOptions::client("partner").around_now());
    let mut doc = client_doc("partner", &leaf.cert_pem());
    doc["scope"] = "read write".into();
    h.register("partner", doc).await;
    let partner = Client::Cert(vec![leaf.cert.clone()], leaf.key_pem.clone());
    let other = self_signed(&LeafOptions::client("stranger").around_now());
    let stranger = Client::Cert(vec![other.cert.clone()], other.key_pem.clone());
    let token = h
        .token(
            "mtls",
            &partner,
            "grant_type=client_credentials&client_id=partner",
        )
        .await
        .unwrap()
        .json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    Setup {
        h,
        partner,
        stranger,
        token,
        external,
    }
}

async fn call(
    s: &Setup,
    client: &Client,
    path: &str,
    token: Option<&str>,
    extra: &[(&str, &str)],
) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers: Vec<(&str, &str)> = extra.to_vec();
    if let Some(a) = &auth {
        headers.push(("authorization", a));
    }
    request(
        s.h.addr("mtls-opt"),
        &s.h.pki,
        client,
        "POST",
        path,
        "text/plain",
        "hello upstream",
        &headers,
    )
    .await
    .unwrap()
}

fn challenge(r: &Reply) -> String {
    r.headers
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// A token signed by `key` with chosen claims.
fn forge(
    key: &SigningKey,
    issuer: &str,
    aud: &str,
    scope: &[String],
    thumbprint: Option<&str>,
    now: i64,
) -> String {
    let audience = [aud.to_string()];
    let params = IssueParams {
        issuer,
        client_id: "partner",
        subject: None,
        audience: &audience,
        scope,
        lifetime_secs: 60,
        certificate_thumbprint: thumbprint,
    };
    certbound_oauth::issue(key, &params, now)
        .unwrap()
        .access_token
}

#[tokio::test]
async fn a_bound_token_with_its_certificate_reaches_the_upstream_with_the_identity() {
    let s = setup().await;
    let forged = [
        ("x-client-id", "admin"),
        ("x-client-cert-subject", "CN=admin"),
        ("x-client-cert-thumbprint", "forged"),
        ("client-cert", ":AAAA:"),
    ];
    let r = call(&s, &s.partner, "/api/items?x=1", Some(&s.token), &forged).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let echo = r.json();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/api/items?x=1");
    assert_eq!(echo["body"], "hello upstream");
    let headers = &echo["headers"];
    assert_eq!(
        headers["x-client-id"], "partner",
        "spoofed identity headers are replaced"
    );
    assert!(
        headers["x-client-cert-subject"]
            .as_str()
            .unwrap()
            .contains("CN=partner")
    );
    let Client::Cert(chain, _) = &s.partner else {
        unreachable!()
    };
    assert_eq!(
        headers["x-client-cert-thumbprint"],
        certbound_pki::x5t_s256(&chain[0])
    );
    let client_cert = headers["client-cert"].as_str().unwrap();
    assert!(client_cert.starts_with(':') && client_cert.ends_with(':') && client_cert.len() > 100);
    assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
}

#[tokio::test]
async fn every_rejection_has_its_status_and_challenge() {
    let s = setup().await;
    let now = certbound_oauth::jwt::unix_now();
    let key = SigningKey::from_pem(
        &std::fs::read_to_string(s.h.dir.path().join("data/signing-key.pem")).unwrap(),
    )
    .unwrap();
    let Client::Cert(chain, _) = &s.partner else {
        unreachable!()
    };
    let tp = certbound_pki::x5t_s256(&chain[0]);
    let read = vec!["read".to_string()];

    // No token: a bare challenge.
    let r = call(&s, &s.partner, "/api/x", None, &[]).await;
    assert_eq!((r.status, challenge(&r).as_str()), (401, "Bearer"));
    // A valid token presented with another certificate.
    let r = call(&s, &s.stranger, "/api/x", Some(&s.token), &[]).await;
    assert_eq!(r.status, 401);
    assert!(
        challenge(&r).contains("error=\"invalid_token\""),
        "{}",
        challenge(&r)
    );
    assert!(r.body.contains("another certificate"));
    // The token without any certificate.
    let r = call(&s, &Client::None, "/api/x", Some(&s.token), &[]).await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("present it"));
    // Expired (signed by our own key, in the past).
    let expired = forge(
        &key,
        "https://localhost",
        "https://localhost",
        &read,
        Some(&tp),
        now - 3600,
    );
    let r = call(&s, &s.partner, "/api/x", Some(&expired), &[]).await;
    assert_eq!(r.status, 401);
    assert!(
        challenge(&r).contains("invalid_token") && r.body.contains("expired"),
        "{}",
        r.body
    );
    // Wrong issuer.
    let foreign_iss = forge(
        &key,
        "https://evil.example",
        "https://localhost",
        &read,
        Some(&tp),
        now,
    );
    let r = call(&s, &s.partner, "/api/x", Some(&foreign_iss), &[]).await;
    assert_eq!(r.status, 401, "{}", r.body);
    // Bad signature: another key.
    let (other_key, _) = SigningKey::generate(certbound_oauth::Algorithm::Es256).unwrap();
    let bad_sig = forge(
        &other_key,
        "https://localhost",
        "https://localhost",
        &read,
        Some(&tp),
        now,
    );
    let r = call(&s, &s.partner, "/api/x", Some(&bad_sig), &[]).await;
    assert_eq!(r.status, 401, "{}", r.body);
    // Wrong scope.
    let write_only = forge(
        &key,
        "https://localhost",
        "https://localhost",
        &["write".to_string()],
        Some(&tp),
        now,
    );
    let r = call(&s, &s.partner, "/api/x", Some(&write_only), &[]).await;
    assert_eq!(r.status, 403);
    assert!(
        challenge(&r).contains("insufficient_scope"),
        "{}",
        challenge(&r)
    );
    // Not a bound token on a bound-token route.
    let unbound = forge(
        &key,
        "https://localhost",
        "https://localhost",
        &read,
        None,
        now,
    );
    let r = call(&s, &s.partner, "/api/x", Some(&unbound), &[]).await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("not bound"));
    // The client is not in the allow rules.
    let r = call(&s, &s.partner, "/restricted/x", Some(&s.token), &[]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Revoked.
    let revoke = format!("client_id=partner&token={}", s.token);
    let rr = request(
        s.h.addr("mtls"),
        &s.h.pki,
        &s.partner,
        "POST",
        "/oauth2/revoke",
        "application/x-www-form-urlencoded",
        &revoke,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(rr.status, 200);
    let r = call(&s, &s.partner, "/api/x", Some(&s.token), &[]).await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("revoked"), "{}", r.body);
    s.h.logs.assert_has("route refused a request");
}

#[tokio::test]
async fn token_only_client_cert_external_and_unreachable_routes() {
    let s = setup().await;
    // require = "token": any certificate (or none) with a valid token.
    assert_eq!(
        call(&s, &Client::None, "/token-only/x", Some(&s.token), &[])
            .await
            .status,
        200
    );
    // require = "client-cert": the partner's certificate authenticates as an allowed client.
    let r = call(&s, &s.partner, "/cert-only/x", None, &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["headers"]["x-client-id"], "partner");
    assert_eq!(
        call(&s, &s.stranger, "/cert-only/x", None, &[])
            .await
            .status,
        403
    );
    assert_eq!(
        call(&s, &Client::None, "/cert-only/x", None, &[])
            .await
            .status,
        403
    );
    // An external issuer's token, with the right and a wrong audience.
    let now = certbound_oauth::jwt::unix_now();
    let good = forge(
        &s.external,
        "https://external.example",
        "api.example",
        &[],
        None,
        now,
    );
    assert_eq!(
        call(&s, &Client::None, "/external/x", Some(&good), &[])
            .await
            .status,
        200
    );
    let wrong_aud = forge(
        &s.external,
        "https://external.example",
        "other",
        &[],
        None,
        now,
    );
    assert_eq!(
        call(&s, &Client::None, "/external/x", Some(&wrong_aud), &[])
            .await
            .status,
        401
    );
    // Our own tokens are not the external issuer's.
    assert_eq!(
        call(&s, &Client::None, "/external/x", Some(&s.token), &[])
            .await
            .status,
        401
    );
    // An unreachable upstream: 502 with a JSON body.
    let r = call(&s, &s.partner, "/down/x", Some(&s.token), &[]).await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.json()["error"], "bad_gateway");
    // No route: 404; certbound's own endpoints still answer.
    assert_eq!(
        call(&s, &s.partner, "/nowhere", Some(&s.token), &[])
            .await
            .status,
        404
    );
    assert_eq!(s.h.get("tls", "/healthz").await.unwrap().status, 200);
}
