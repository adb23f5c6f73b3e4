//! `certbound token` against an in-process RFC 8705 token endpoint that
//! requires a client certificate: the form carries no secret, the token is
//! printed, `--claims` checks the certificate binding both ways, RFC 6749
//! error responses are explained, and TLS failures keep their diagnosis.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod servers;
mod util;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use certbound_pki::x5t_s256;
use rustls::version::TLS13;
use servers::{Files, Handler, Mode, RustlsServer, Seen, server_config};
use util::certbound;

fn jwt(claims: serde_json::Value) -> String {
    let enc = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(&v).unwrap());
    format!(
        "{}.{}.{}",
        enc(serde_json::json!({"alg": "ES256", "typ": "at+jwt"})),
        enc(claims),
        URL_SAFE_NO_PAD.encode(b"not a real signature")
    )
}

/// A token endpoint: client "partner" is alice's certificate; client
/// "mismatch" gets a token bound to another certificate; "opaque" gets a
/// token that is not a JWT; anyone else is invalid_client.
fn token_endpoint(alice_x5t: String) -> Handler {
    Arc::new(move |req: &Seen| {
        let form: Vec<(String, String)> = String::from_utf8_lossy(&req.body)
            .split('&')
            .filter_map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.replace('+', " ")))
            })
            .collect();
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(req.method, "POST");
        assert_eq!(
            req.headers["content-type"],
            "application/x-www-form-urlencoded"
        );
        assert!(
            get("client_secret").is_none(),
            "RFC 8705: no secret in the form"
        );
        if get("grant_type") != Some("client_credentials") {
            return (
                400,
                "application/json",
                r#"{"error":"unsupported_grant_type"}"#.into(),
            );
        }
        let presented = req.client_cert.as_deref().map(x5t_s256);
        let token = |cnf: &str| {
            serde_json::json!({
                "access_token": jwt(serde_json::json!({
                    "iss": "https://as.test", "sub": get("client_id"), "scope": get("scope"),
                    "iat": 1_767_225_600_i64, "exp": 4_102_444_800_i64,
                    "cnf": {"x5t#S256": cnf}
                })),
                "token_type": "Bearer",
                "expires_in": 3600
            })
            .to_string()
        };
        match (get("client_id"), presented) {
            (Some("partner"), Some(p)) if p == alice_x5t => (200, "application/json", token(&p)),
            (Some("mismatch"), Some(_)) => (200, "application/json", token("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")),
            (Some("opaque"), Some(_)) => (
                200,
                "application/json",
                r#"{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"Bearer"}"#.into(),
            ),
            _ => (
                401,
                "application/json",
                r#"{"error":"invalid_client","error_description":"no trust store matched the certificate"}"#.into(),
            ),
        }
    })
}

fn endpoint(f: &Files) -> RustlsServer {
    let roots = f.certs("root.crt");
    let alice = f.certs("alice.crt");
    RustlsServer::start(
        server_config(
            f.server_chain.clone(),
            f.server_key.clone_key(),
            Some(&roots),
            &[&TLS13],
            &[b"h2", b"http/1.1"],
        ),
        Mode::Http(token_endpoint(x5t_s256(&alice[0]))),
    )
}

fn token(
    f: &Files,
    server: &RustlsServer,
    client_id: &str,
    cert: &str,
    extra: &[&str],
) -> util::Run {
    let url = format!("https://localhost:{}/token", server.addr.port());
    let cert_file = format!("{cert}.crt");
    let key_file = format!("{cert}.key");
    let mut args = vec![
        "token",
        "--token-url",
        &url,
        "--client-id",
        client_id,
        "--cert",
        &cert_file,
        "--key",
        &key_file,
        "--ca",
        "root.crt",
    ];
    args.extend_from_slice(extra);
    certbound(f.path(), &args)
}

#[test]
fn prints_the_token_response() {
    let f = Files::new();
    let server = endpoint(&f);
    let run = token(&f, &server, "partner", "alice", &["--scope", "read write"]);
    run.code(0);
    let v = run.json();
    assert_eq!(v["token_type"], "Bearer");
    assert!(v["access_token"].as_str().unwrap().split('.').count() == 3);
}

#[test]
fn claims_show_a_bound_token_plainly() {
    let f = Files::new();
    let server = endpoint(&f);
    let alice = x5t_s256(&f.certs("alice.crt")[0]);
    token(
        &f,
        &server,
        "partner",
        "alice",
        &["--claims", "--scope", "read"],
    )
    .code(0)
    .stdout_has("the signature is not verified here")
    .stdout_has(r#""sub": "partner""#)
    .stdout_has(r#""scope": "read""#)
    // The times also as dates.
    .stdout_has("  iat  1767225600 = 2026-01-01T00:00:00Z (")
    .stdout_has("  exp  4102444800 = 2100-01-01T00:00:00Z (in ")
    .stdout_has(&format!(
        "bound: the token is bound to the certificate presented: cnf.x5t#S256 = {alice}"
    ));
}

#[test]
fn claims_show_a_mismatch_plainly() {
    let f = Files::new();
    let server = endpoint(&f);
    token(&f, &server, "mismatch", "alice", &["--claims"])
        .code(1)
        .stdout_has("NOT bound: the token is NOT bound to the certificate presented")
        .stdout_has("cnf.x5t#S256 is AAAAAAAA");
    token(&f, &server, "opaque", "alice", &["--claims"])
        .code(1)
        .stdout_has("not a JWT");
}

#[test]
fn invalid_client_is_explained() {
    let f = Files::new();
    let server = endpoint(&f);
    let bob = x5t_s256(&f.certs("bob.crt")[0]);
    let run = token(&f, &server, "partner", "bob", &[]);
    run.code(1)
        .stderr_has("answered 401 invalid_client")
        .stderr_has("the server did not accept the certificate for client_id 'partner'")
        .stderr_has("no trust store matched the certificate")
        .stderr_has(&format!("x5t#S256 {bob}"))
        .stderr_has("certificateTrustStore");
    assert_eq!(run.json()["error"], "invalid_client");
}

#[test]
fn tls_failure_keeps_the_diagnosis() {
    let f = Files::new();
    let server = endpoint(&f);
    token(&f, &server, "partner", "expired", &[])
        .code(1)
        .stderr_has("Diagnosis: certificate_expired")
        .stderr_has("'old-client' expired on");
}

#[test]
fn tls_profile_and_usage_errors() {
    let f = Files::new();
    let server = endpoint(&f);
    std::fs::write(
        f.path().join("certbound.toml"),
        "[tls.partner]\ncert = \"alice.crt\"\nkey = \"alice.key\"\nca = \"root.crt\"\n",
    )
    .unwrap();
    let url = format!("https://localhost:{}/token", server.addr.port());
    certbound(
        f.path(),
        &[
            "token",
            "--token-url",
            &url,
            "--client-id",
            "partner",
            "--tls",
            "partner",
            "--config",
            "certbound.toml",
            "--claims",
        ],
    )
    .code(0)
    .stdout_has("bound: the token is bound");
    certbound(f.path(), &["token", "--token-url", &url]).code(2);
    certbound(
        f.path(),
        &["token", "--token-url", "http://x/token", "--client-id", "a"],
    )
    .code(2)
    .stderr_has("HTTPS only");
}

#[test]
fn print_access_token_prints_the_token_alone() {
    let f = Files::new();
    let server = endpoint(&f);
    let run = token(
        &f,
        &server,
        "partner",
        "alice",
        &["--print", "access-token"],
    );
    run.code(0);
    let line = run.stdout.strip_suffix('\n').unwrap();
    assert!(!line.contains('\n'), "{:?}", run.stdout);
    let parts: Vec<&str> = line.split('.').collect();
    assert_eq!(parts.len(), 3, "{line}");
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["sub"], "partner");
    // --print json: the response, on one line; summary: the response as before.
    let run = token(&f, &server, "partner", "alice", &["--print", "json"]);
    run.code(0);
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert_eq!(run.json()["token_type"], "Bearer");
    assert!(
        run.json()["access_token"]
            .as_str()
            .unwrap()
            .split('.')
            .count()
            == 3
    );
    token(&f, &server, "partner", "alice", &["--print", "summary"])
        .code(0)
        .stdout_has("  \"token_type\": \"Bearer\"");
}

#[test]
fn print_access_token_keeps_errors_off_stdout() {
    let f = Files::new();
    let server = endpoint(&f);
    for what in ["access-token", "json"] {
        let run = token(&f, &server, "partner", "bob", &["--print", what]);
        run.code(1)
            .stderr_has("answered 401 invalid_client")
            .stderr_has(r#""error":"invalid_client""#);
        assert_eq!(run.stdout, "", "{}", run.stderr);
    }
    // A TLS failure: the diagnosis on stderr, nothing on stdout.
    let run = token(
        &f,
        &server,
        "partner",
        "expired",
        &["--print", "access-token"],
    );
    run.code(1).stderr_has("Diagnosis: certificate_expired");
    assert_eq!(run.stdout, "");
    token(
        &f,
        &server,
        "partner",
        "alice",
        &["--print", "access-token", "--claims"],
    )
    .code(2)
    .stderr_has("--claims adds the decoded token to the summary");
    token(&f, &server, "partner", "alice", &["--print", "token"])
        .code(2)
        .stderr_has("access-token");
}
