//! `certbound serve`: `--dev` from nothing, a token through curl and through
//! `certbound token`, the binding checked against openssl's thumbprint,
//! graceful shutdown on SIGTERM, and config errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::process::Command;

use util::process::Server;
use util::{certbound, openssl};

fn shell_words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

fn claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn dev_mode_issues_a_token_bound_to_the_certificate_openssl_sees() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = Server::start(
        d,
        &["serve", "--dev", "--tls-port", "0", "--mtls-port", "0"],
        "Metadata:",
    );
    assert_eq!(
        util::mode(&d.join("certbound-dev/pki/demo-client.key")),
        0o600
    );
    assert_eq!(util::mode(&d.join("certbound-dev/signing-key.pem")), 0o600);

    // The printed curl line works as printed.
    let curl = shell_words(&server.line("curl "));
    let out = Command::new(&curl[0])
        .args(&curl[1..])
        .arg("-sS")
        .current_dir(d)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let response: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(response["token_type"], "Bearer");
    let cnf = claims(response["access_token"].as_str().unwrap())["cnf"]["x5t#S256"]
        .as_str()
        .unwrap()
        .to_string();

    // openssl x509 -outform DER | sha256, base64url without padding.
    openssl(
        d,
        &[
            "x509",
            "-in",
            "certbound-dev/pki/demo-client.crt",
            "-outform",
            "DER",
            "-out",
            "client.der",
        ],
    )
    .code(0);
    openssl(
        d,
        &[
            "dgst",
            "-sha256",
            "-binary",
            "-out",
            "client.sha",
            "client.der",
        ],
    )
    .code(0);
    use base64::Engine;
    let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(std::fs::read(d.join("client.sha")).unwrap());
    assert_eq!(cnf, expected);

    // The printed certbound line works too, and says the token is bound.
    let token = shell_words(&server.line("certbound token"));
    let args: Vec<&str> = token[1..].iter().map(String::as_str).collect();
    certbound(d, &args).code(0).stdout_has(&expected);

    // Without a client certificate the mTLS listener refuses at the handshake.
    let url = curl.last().unwrap().clone();
    let out = Command::new("curl")
        .args([
            "-sS",
            "--cacert",
            "certbound-dev/pki/ca.crt",
            "-d",
            "grant_type=client_credentials",
            "-d",
            "client_id=demo-client",
            &url,
        ])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(!out.status.success());

    assert_eq!(server.terminate(), 0, "SIGTERM shuts down cleanly");

    // A second run reuses the data directory.
    let again = Server::start(
        d,
        &["serve", "--dev", "--tls-port", "0", "--mtls-port", "0"],
        "Metadata:",
    );
    let curl = shell_words(&again.line("curl "));
    let out = Command::new(&curl[0])
        .args(&curl[1..])
        .arg("-sS")
        .current_dir(d)
        .output()
        .unwrap();
    assert!(out.status.success());
    let response: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        claims(response["access_token"].as_str().unwrap())["cnf"]["x5t#S256"],
        expected
    );
}

#[test]
fn config_errors_are_all_reported_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("bad.toml"),
        "[issuer]\ntoken_lifetime = 1\n[tls.server]\ncert = \"missing.crt\"\nkey = \"missing.key\"\n[[listener]]\nbind = \"nowhere\"\ntls = \"server\"\n",
    )
    .unwrap();
    certbound(d, &["serve", "--config", "bad.toml"])
        .code(2)
        .stderr_has("issuer.url")
        .stderr_has("issuer.token_lifetime")
        .stderr_has("tls.server.cert")
        .stderr_has("listener[0].bind");
    std::fs::write(d.join("typo.toml"), "[isuer]\nurl = \"https://a\"\n").unwrap();
    certbound(d, &["serve", "--config", "typo.toml"])
        .code(2)
        .stderr_has("isuer");
    certbound(d, &["serve", "--config", "absent.toml"])
        .code(2)
        .stderr_has("absent.toml");
    certbound(d, &["serve"]).code(2);
}
