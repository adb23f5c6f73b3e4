//! The mTLS gateway: a route admits a request only with what it requires,
//! answers each refusal with the right status and `WWW-Authenticate`, and
//! proxies the rest to an echo upstream that sees the forwarded identity (and
//! never a client's forged copy of it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../server/tests/common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use certbound_oauth::error::sanitize;
use certbound_oauth::{IssueParams, JwtError, SigningKey};
use certbound_testkit::{Leaf, LeafOptions, self_signed};
use common::{Client, Harness, Reply, client_doc, echo_upstream, request, silent_upstream};

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
    setup_with("").await
}

/// The setup with `extra` TOML after the routes; `{echo}` in it stands for
/// the echo upstream's address.
async fn setup_with(extra: &str) -> Setup {
    let upstream = echo_upstream().await;
    // The external issuer's key, published as a JWKS file before the server starts.
    let (external, _) = SigningKey::generate(certbound_oauth::Algorithm::Es256).unwrap();
    let jwks = certbound_oauth::VerifyingKeys::from_signing_keys([&external])
        .unwrap()
        .to_jwks()
        .to_json();
    let config = format!(
        "{}{}",
        routes(upstream),
        extra.replace("{echo}", &upstream.to_string())
    );
    let h = Harness::start_with_files(&config, &[("external-jwks.json", &jwks)]).await;
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

/// The `invalid_token` challenge for a reason (already free of `"`).
fn invalid_token(description: &str) -> String {
    format!("Bearer error=\"invalid_token\", error_description=\"{description}\"")
}

/// The challenge of a client the allow rules refuse (RFC 6750 §3.1).
fn not_allowed(description: &str) -> String {
    format!("Bearer error=\"insufficient_scope\", error_description=\"{description}\"")
}

/// Assert a refusal: its status, its exact `WWW-Authenticate` (or that it has
/// none), and its JSON body.
#[track_caller]
fn assert_refused(
    r: &Reply,
    status: u16,
    www_authenticate: Option<&str>,
    error: &str,
    description: &str,
) {
    assert_eq!(r.status, status, "{}", r.body);
    let challenges: Vec<&str> = r
        .headers
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    match www_authenticate {
        Some(expected) => assert_eq!(challenges, [expected]),
        None => assert!(challenges.is_empty(), "unexpected challenge {challenges:?}"),
    }
    assert_eq!(
        r.headers.get("content-type").unwrap(),
        "application/json",
        "{}",
        r.body
    );
    assert_eq!(
        r.json(),
        serde_json::json!({"error": error, "error_description": description})
    );
}

fn as_client(leaf: &Leaf) -> Client {
    Client::Cert(vec![leaf.cert.clone()], leaf.key_pem.clone())
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
        extensions: None,
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

    // No token: a bare challenge (RFC 6750 §3.1: no error code).
    let r = call(&s, &s.partner, "/api/x", None, &[]).await;
    assert_refused(
        &r,
        401,
        Some("Bearer"),
        "invalid_request",
        "an access token is required: send Authorization: Bearer <token>",
    );
    // A valid token presented with another certificate.
    let r = call(&s, &s.stranger, "/api/x", Some(&s.token), &[]).await;
    let reason = "the token is bound to another certificate than the one presented";
    assert_refused(
        &r,
        401,
        Some(&invalid_token(reason)),
        "invalid_token",
        reason,
    );
    // The token without any certificate.
    let r = call(&s, &Client::None, "/api/x", Some(&s.token), &[]).await;
    let reason = "the token is bound to a certificate: present it (mTLS)";
    assert_refused(
        &r,
        401,
        Some(&invalid_token(reason)),
        "invalid_token",
        reason,
    );
    // Expired (signed by our own key, in the past): the reason names the
    // server's "now", somewhere between before and after the request.
    let issued_at = now - 3600;
    let expired = forge(
        &key,
        "https://localhost",
        "https://localhost",
        &read,
        Some(&tp),
        issued_at,
    );
    let before = certbound_oauth::jwt::unix_now();
    let r = call(&s, &s.partner, "/api/x", Some(&expired), &[]).await;
    let after = certbound_oauth::jwt::unix_now();
    let exp = issued_at + 60;
    let reasons: Vec<String> = (before..=after)
        .map(|now| JwtError::Expired { exp, now }.to_string())
        .collect();
    let reason = r.json()["error_description"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(reasons.contains(&reason), "{reason:?} not in {reasons:?}");
    assert!(
        reason.starts_with("the token expired at ") && reason.ends_with("; request a new token"),
        "{reason}"
    );
    assert_refused(
        &r,
        401,
        Some(&invalid_token(&reason)),
        "invalid_token",
        &reason,
    );
    // Wrong issuer: the reason's double quotes become single ones in the header.
    let foreign_iss = forge(
        &key,
        "https://evil.example",
        "https://localhost",
        &read,
        Some(&tp),
        now,
    );
    let r = call(&s, &s.partner, "/api/x", Some(&foreign_iss), &[]).await;
    assert_refused(
        &r,
        401,
        Some(&invalid_token(
            "the token was issued by 'https://evil.example', expected 'https://localhost'; check the configured issuer",
        )),
        "invalid_token",
        "the token was issued by \"https://evil.example\", expected \"https://localhost\"; check the configured issuer",
    );
    // Signed by another key: its kid is unknown here.
    let (other_key, _) = SigningKey::generate(certbound_oauth::Algorithm::Es256).unwrap();
    let other_signer = forge(
        &other_key,
        "https://localhost",
        "https://localhost",
        &read,
        Some(&tp),
        now,
    );
    let r = call(&s, &s.partner, "/api/x", Some(&other_signer), &[]).await;
    let reason = JwtError::UnknownKid {
        kid: other_key.kid().to_string(),
    }
    .to_string();
    assert!(reason.contains(other_key.kid()), "{reason}");
    assert_refused(
        &r,
        401,
        Some(&invalid_token(&sanitize(&reason))),
        "invalid_token",
        &reason,
    );
    // Bad signature: our kid, but the signature of another token.
    let good = forge(
        &key,
        "https://localhost",
        "https://localhost",
        &read,
        Some(&tp),
        now,
    );
    let other = forge(
        &key,
        "https://localhost",
        "https://localhost",
        &["write".to_string()],
        Some(&tp),
        now,
    );
    let (signed, _) = good.rsplit_once('.').unwrap();
    let (_, other_signature) = other.rsplit_once('.').unwrap();
    let bad_sig = format!("{signed}.{other_signature}");
    let r = call(&s, &s.partner, "/api/x", Some(&bad_sig), &[]).await;
    let reason = "the token's signature does not verify; it was altered or signed by another key";
    assert_refused(
        &r,
        401,
        Some(&invalid_token(reason)),
        "invalid_token",
        reason,
    );
    // Wrong scope: 403 insufficient_scope naming the scope.
    let write_only = forge(
        &key,
        "https://localhost",
        "https://localhost",
        &["write".to_string()],
        Some(&tp),
        now,
    );
    let r = call(&s, &s.partner, "/api/x", Some(&write_only), &[]).await;
    assert_refused(
        &r,
        403,
        Some("Bearer error=\"insufficient_scope\", scope=\"read\""),
        "insufficient_scope",
        "the token lacks the scope `read` this route requires",
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
    let reason =
        "the token is not bound to a certificate; this route requires a certificate-bound token";
    assert_refused(
        &r,
        401,
        Some(&invalid_token(reason)),
        "invalid_token",
        reason,
    );
    // The client is not in the allow rules: the token lacks the privilege.
    let r = call(&s, &s.partner, "/restricted/x", Some(&s.token), &[]).await;
    let reason = "client `partner` is not allowed on this route";
    assert_refused(&r, 403, Some(&not_allowed(reason)), "access_denied", reason);
    // A client-cert route takes no token: its 403s carry no Bearer challenge.
    let r = call(&s, &s.stranger, "/cert-only/x", None, &[]).await;
    assert_refused(
        &r,
        403,
        None,
        "access_denied",
        "the client certificate is not trusted on this route",
    );
    let r = call(&s, &Client::None, "/cert-only/x", Some(&s.token), &[]).await;
    assert_refused(
        &r,
        403,
        None,
        "access_denied",
        "a client certificate is required on this route",
    );
    // The good token still passes before it is revoked.
    assert_eq!(
        call(&s, &s.partner, "/api/x", Some(&s.token), &[])
            .await
            .status,
        200
    );
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
    let reason = "the token has been revoked";
    assert_refused(
        &r,
        401,
        Some(&invalid_token(reason)),
        "invalid_token",
        reason,
    );
    s.h.logs.assert_has("route refused a request");
}

const ALLOW_RULE_ROUTES: &str = r#"
[[route]]
prefix = "/by-cn/"
upstream = "http://{echo}"
require = "client-cert"
client_ca = "root.crt"
allow_subject_cn = ["svc-a"]
[[route]]
prefix = "/by-dns/"
upstream = "http://{echo}"
require = "client-cert"
client_ca = "root.crt"
allow_san_dns = ["svc.example.com"]
[[route]]
prefix = "/by-uri/"
upstream = "http://{echo}"
require = "client-cert"
client_ca = "root.crt"
allow_san_uri = ["spiffe://example.org/ns/prod/sa/svc"]
[[route]]
prefix = "/token-by-cn/"
upstream = "http://{echo}"
require = "token"
allow_subject_cn = ["svc-a"]
"#;

#[tokio::test]
async fn allow_rules_on_subject_cn_san_dns_and_san_uri() {
    let s = setup_with(ALLOW_RULE_ROUTES).await;
    let root = &s.h.pki.root;
    let issue = |opts: LeafOptions| as_client(&root.issue(&opts.around_now()));
    let svc_a = issue(LeafOptions::client("svc-a"));
    let svc_b = issue(LeafOptions::client("svc-b"));
    let dns_ok = issue(LeafOptions::client("dns-client").dns(&["svc.example.com"]));
    let dns_upper = issue(LeafOptions::client("dns-upper").dns(&["SVC.Example.COM"]));
    let dns_other = issue(LeafOptions::client("dns-other").dns(&["other.example.com"]));
    // A CN equal to the allowed DNS name is no DNS SAN.
    let dns_in_cn = issue(LeafOptions::client("svc.example.com"));
    let uri_ok =
        issue(LeafOptions::client("uri-client").uri("spiffe://example.org/ns/prod/sa/svc"));
    let uri_other =
        issue(LeafOptions::client("uri-other").uri("spiffe://example.org/ns/prod/sa/other"));
    // The allowed CN, but not from the route's client_ca.
    let untrusted_a = as_client(&self_signed(&LeafOptions::client("svc-a").around_now()));

    let admitted = |r: &Reply, cn: &str| {
        assert_eq!(r.status, 200, "{cn}: {}", r.body);
        let echo = r.json();
        let subject = echo["headers"]["x-client-cert-subject"].as_str().unwrap();
        assert!(subject.contains(&format!("CN={cn}")), "{subject}");
        // Trusted through client_ca: no registered client, so no X-Client-Id.
        assert!(echo["headers"].get("x-client-id").is_none(), "{echo}");
    };
    let refused = |r: &Reply, cn: &str| {
        let reason = format!("certificate '{cn}' is not allowed on this route");
        assert_refused(r, 403, None, "access_denied", &reason);
    };

    // allow_subject_cn
    admitted(&call(&s, &svc_a, "/by-cn/x", None, &[]).await, "svc-a");
    refused(&call(&s, &svc_b, "/by-cn/x", None, &[]).await, "svc-b");
    assert_refused(
        &call(&s, &untrusted_a, "/by-cn/x", None, &[]).await,
        403,
        None,
        "access_denied",
        "the client certificate is not trusted on this route",
    );
    // allow_san_dns (DNS names compare without regard to case)
    admitted(
        &call(&s, &dns_ok, "/by-dns/x", None, &[]).await,
        "dns-client",
    );
    admitted(
        &call(&s, &dns_upper, "/by-dns/x", None, &[]).await,
        "dns-upper",
    );
    refused(
        &call(&s, &dns_other, "/by-dns/x", None, &[]).await,
        "dns-other",
    );
    refused(
        &call(&s, &dns_in_cn, "/by-dns/x", None, &[]).await,
        "svc.example.com",
    );
    refused(&call(&s, &svc_a, "/by-dns/x", None, &[]).await, "svc-a");
    // allow_san_uri (exact)
    admitted(
        &call(&s, &uri_ok, "/by-uri/x", None, &[]).await,
        "uri-client",
    );
    refused(
        &call(&s, &uri_other, "/by-uri/x", None, &[]).await,
        "uri-other",
    );
    refused(
        &call(&s, &dns_ok, "/by-uri/x", None, &[]).await,
        "dns-client",
    );

    // On a token route the same rules refuse with a Bearer insufficient_scope challenge.
    let r = call(&s, &svc_a, "/token-by-cn/x", Some(&s.token), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["headers"]["x-client-id"], "partner");
    let r = call(&s, &s.partner, "/token-by-cn/x", Some(&s.token), &[]).await;
    let reason = "certificate 'partner' is not allowed on this route";
    assert_refused(&r, 403, Some(&not_allowed(reason)), "access_denied", reason);
    let r = call(&s, &Client::None, "/token-by-cn/x", Some(&s.token), &[]).await;
    let reason = "this route allows certain certificate names only: present a client certificate";
    assert_refused(&r, 403, Some(&not_allowed(reason)), "access_denied", reason);
}

#[tokio::test]
async fn a_silent_upstream_is_a_504_and_the_server_keeps_serving() {
    let silent = silent_upstream().await;
    let s = setup_with(&format!(
        "[[route]]\nprefix = \"/slow/\"\nupstream = \"http://{silent}\"\ntimeout = 1\n"
    ))
    .await;
    let limit = Duration::from_secs(10);
    for attempt in 0..2 {
        let started = Instant::now();
        let r = tokio::time::timeout(limit, call(&s, &s.partner, "/slow/x", Some(&s.token), &[]))
            .await
            .expect("the gateway answers despite the silent upstream");
        let took = started.elapsed();
        assert_refused(
            &r,
            504,
            None,
            "upstream_timeout",
            "the upstream did not answer within 1s",
        );
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(5),
            "attempt {attempt}: answered after {took:?}"
        );
    }
    // The next requests are served as usual.
    let r = tokio::time::timeout(limit, call(&s, &s.partner, "/api/x", Some(&s.token), &[]))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["path"], "/api/x");
    let r = tokio::time::timeout(limit, s.h.get("tls", "/healthz"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, 200);
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

/// The server does not import the gateway: a config with routes started
/// without it is refused, so no route is ever served open; started with it
/// (as `certbound serve` does), the route answers.
#[tokio::test]
async fn routes_without_the_gateway_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let pki = certbound_testkit::TestPki::new();
    let config = common::tls_only_config(
        dir.path(),
        &pki,
        "[[route]]\nprefix = \"/api/\"\nupstream = \"http://127.0.0.1:9\"\nrequire = \"token\"\n",
    );
    let refused = certbound_server::bind_with(&config, &[], None)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, certbound_server::ServerError::NoGateway),
        "{refused}"
    );
    assert!(refused.to_string().contains("[[route]]"), "{refused}");

    let running = certbound_server::bind_with(&config, &[], Some(certbound_gateway::BUILD))
        .await
        .unwrap();
    let reply = request(
        running.addr("tls").unwrap(),
        &pki,
        &Client::None,
        "GET",
        "/api/x",
        "",
        "",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 401, "{}", reply.body);
    running.shutdown();
    running.wait().await;
}
