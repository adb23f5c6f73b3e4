//! The seed's path, word for word (shared/seeds: the mTLS guide of a
//! healthcare API platform): `openssl genrsa` and `openssl req -new -x509`
//! (OpenSSL 3 marks that certificate CA:TRUE), the certificate pasted as
//! `certificateTrustStore` in a `ClientApplication` POSTed to the admin API
//! with curl, then a client_credentials token asked for with `curl --cert
//! --key`, bound to that certificate (`cnf.x5t#S256`). Beside it, the
//! refusals: another self-signed certificate with the same subject, the same
//! certificate with another key, an expired one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use certbound_testkit::{LeafOptions, TestPki, write_private};
use util::openssl;
use util::process::Server;

const ADMIN_TOKEN: &str = "seed-admin-token-0123456789abcdef";
use util::SEED_SUBJECT as SUBJECT;

/// A server with an admin API on a TLS listener and an mTLS listener that
/// requires a client certificate, in `d`.
fn serve(d: &Path) -> Server {
    let pki = TestPki::new();
    std::fs::write(d.join("root.crt"), pki.root.cert_pem()).unwrap();
    pki.root
        .issue(&LeafOptions::server("localhost").around_now())
        .write(d, "server", &[]);
    write_private(&d.join("admin-token"), ADMIN_TOKEN);
    std::fs::write(
        d.join("certbound.toml"),
        r#"data_dir = "data"
[issuer]
url = "https://auth.example.test"
[tls.server]
cert = "server.crt"
key = "server.key"
[tls.mtls]
cert = "server.crt"
key = "server.key"
client_auth = "required"
[[listener]]
name = "tls"
bind = "127.0.0.1:0"
tls = "server"
[[listener]]
name = "mtls"
bind = "127.0.0.1:0"
tls = "mtls"
[admin]
token_file = "admin-token"
"#,
    )
    .unwrap();
    Server::start(d, &["serve", "--config", "certbound.toml"], "issuer:")
}

/// curl, in `d`; returns (exit code, HTTP status, body).
fn curl(d: &Path, args: &[&str]) -> (i32, u16, String) {
    let out = Command::new("curl")
        .args(["-sS", "--cacert", "root.crt", "-w", "\n%{http_code}"])
        .args(args)
        .current_dir(d)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (
        out.status.code().unwrap_or(-1),
        status.trim().parse().unwrap_or(0),
        format!("{body}{}", String::from_utf8_lossy(&out.stderr)),
    )
}

/// POST the seed's ClientApplication with `crt`'s PEM as its trust store; the new id.
fn register(d: &Path, server: &Server, crt: &str) -> String {
    let pem = std::fs::read_to_string(d.join(crt)).unwrap();
    let body = serde_json::json!({
        "resourceType": "ClientApplication",
        "name": "My Integration Client",
        "certificateTrustStore": pem,
    });
    std::fs::write(d.join("client.json"), body.to_string()).unwrap();
    let (code, status, text) = curl(
        d,
        &[
            "-H",
            &format!("Authorization: Bearer {ADMIN_TOKEN}"),
            "-H",
            "Content-Type: application/fhir+json",
            "--data-binary",
            "@client.json",
            &format!("https://{}/admin/ClientApplication", server.addr("tls")),
        ],
    );
    assert_eq!((code, status), (0, 201), "{text}");
    let created: serde_json::Value = serde_json::from_str(&text).unwrap();
    created["id"].as_str().unwrap().to_string()
}

/// Ask for a token with curl's client certificate; (HTTP status, body).
fn token(d: &Path, server: &Server, id: &str, crt: &str, key: &str) -> (u16, String) {
    let (_, status, body) = curl(
        d,
        &[
            "--cert",
            crt,
            "--key",
            key,
            "-d",
            "grant_type=client_credentials",
            "-d",
            &format!("client_id={id}"),
            &format!("https://{}/oauth2/token", server.addr("mtls")),
        ],
    );
    (status, body)
}

/// The `cnf.x5t#S256` of an access token.
fn bound_thumbprint(body: &str) -> String {
    let response: serde_json::Value = serde_json::from_str(body).unwrap();
    let jwt = response["access_token"].as_str().unwrap();
    let payload = jwt.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["cnf"]["x5t#S256"].as_str().unwrap().to_string()
}

/// The certificate's thumbprint as openssl computes it (SHA-256 of the DER, base64url).
fn openssl_thumbprint(d: &Path, crt: &str) -> String {
    let der = format!("{crt}.der");
    openssl(d, &["x509", "-in", crt, "-outform", "DER", "-out", &der]).code(0);
    let digest = Command::new("openssl")
        .args(["dgst", "-sha256", "-binary", &der])
        .current_dir(d)
        .output()
        .unwrap()
        .stdout;
    assert_eq!(digest.len(), 32);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

#[test]
fn the_seed_recipe_word_for_word_gets_a_bound_token() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The seed's two commands, as written.
    util::seed_certificate(d, "client", &[]);
    // OpenSSL 3 marks it a CA: the case the last round refused.
    openssl(d, &["x509", "-in", "client.crt", "-noout", "-text"]).stdout_has("CA:TRUE");
    // Other certificates for the refusals: the same subject with another key;
    // the same certificate's subject and another key (used with client.crt).
    util::seed_certificate(d, "twin", &[]);

    let server = serve(d);
    let id = register(d, &server, "client.crt");
    let (status, body) = token(d, &server, &id, "client.crt", "client.key");
    assert_eq!(status, 200, "{body}");
    assert_eq!(bound_thumbprint(&body), openssl_thumbprint(d, "client.crt"));

    // Another self-signed certificate with the same subject: refused.
    let (status, body) = token(d, &server, &id, "twin.crt", "twin.key");
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("invalid_client"), "{body}");
    // The registered certificate with a key that is not its own: the TLS
    // handshake fails (curl refuses the mismatch, or the server the
    // CertificateVerify); no token either way.
    let (status, body) = token(d, &server, &id, "client.crt", "twin.key");
    assert_ne!(status, 200, "{body}");
    assert!(!body.contains("access_token"), "{body}");
    // The server is still up and still serves the right certificate.
    let (status, body) = token(d, &server, &id, "client.crt", "client.key");
    assert_eq!(status, 200, "{body}");
    // What the trail says about the refusal: the real cause. The trail is
    // written off the request path: wait for the record.
    let audit = util::eventually_ok_sync("the refusal in the audit trail", || {
        let audit = util::certbound(
            d,
            &[
                "audit",
                "--config",
                "certbound.toml",
                "--client",
                &id,
                "--result",
                "fail",
            ],
        );
        if audit.stdout.contains("not_in_trust_store") {
            Ok(audit)
        } else {
            Err(format!("{}\n{}", audit.stdout, audit.stderr))
        }
    });
    audit.code(0).stdout_has("not_in_trust_store");
}

#[test]
fn ca_false_and_ec_variants_get_bound_tokens_and_an_expired_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // CA:FALSE, as careful users make it.
    util::seed_certificate(
        d,
        "leaf",
        &["-addext", "basicConstraints=critical,CA:FALSE"],
    );
    // An EC key (OpenSSL 3 defaults otherwise: CA:TRUE).
    openssl(
        d,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "ec.key",
        ],
    )
    .code(0);
    openssl(
        d,
        &[
            "req", "-new", "-x509", "-key", "ec.key", "-out", "ec.crt", "-days", "365", "-subj",
            SUBJECT,
        ],
    )
    .code(0);
    // Expired a month ago (OpenSSL 3.0 cannot backdate a certificate).
    certbound_testkit::self_signed(&LeafOptions::client("old").ended_days_ago(30, 1)).write(
        d,
        "old",
        &[],
    );

    let server = serve(d);
    for (crt, key) in [("leaf.crt", "leaf.key"), ("ec.crt", "ec.key")] {
        let id = register(d, &server, crt);
        let (status, body) = token(d, &server, &id, crt, key);
        assert_eq!(status, 200, "{crt}: {body}");
        assert_eq!(bound_thumbprint(&body), openssl_thumbprint(d, crt), "{crt}");
    }
    let id = register(d, &server, "old.crt");
    let (status, body) = token(d, &server, &id, "old.crt", "old.key");
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("invalid_client"), "{body}");
}
