//! `certbound client check [ID] WHERE`: `certbound check`'s findings over
//! every registered trust store, or one client's, in a store (`--store`,
//! `--config`) and through a running server (`--server`). Exit 0 when every
//! certificate passes, 1 when one fails (an expired trust-store certificate)
//! or the client is not registered, 2 when no registry is named.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use certbound_testkit::{LeafOptions, TestPki, self_signed, write_private};
use util::process::Server;
use util::{Run, certbound};

const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";
/// The store the config names (its data_dir's default database).
const STORE: &str = "sqlite://data/certbound.db";

const CONFIG: &str = r#"data_dir = "data"
[issuer]
url = "https://auth.example.test"
[tls.server]
cert = "server.crt"
key = "server.key"
[[listener]]
name = "tls"
bind = "127.0.0.1:0"
tls = "server"
[admin]
token_file = "admin-token"
"#;

fn client(dir: &std::path::Path, args: &[&str]) -> Run {
    let mut all = vec!["client"];
    all.extend_from_slice(args);
    certbound(dir, &all)
}

fn add(dir: &std::path::Path, id: &str, extra: &[&str]) {
    let mut args = vec![
        "add",
        "--name",
        id,
        "--id",
        id,
        "--config",
        "certbound.toml",
    ];
    args.extend_from_slice(extra);
    client(dir, &args).code(0);
}

/// Clients `good` (valid), `expired` (its certificate ended 3 days ago) and
/// `legacy` (a secret, no trust store).
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = TestPki::new();
    std::fs::write(d.join("root.crt"), pki.root.cert_pem()).unwrap();
    pki.root
        .issue(&LeafOptions::server("localhost").around_now())
        .write(d, "server", &[]);
    write_private(&d.join("admin-token"), ADMIN_TOKEN);
    std::fs::write(d.join("certbound.toml"), CONFIG).unwrap();
    self_signed(&LeafOptions::client("good").around_now()).write(d, "good", &[]);
    self_signed(&LeafOptions::client("expired").ended_days_ago(3, 30)).write(d, "expired", &[]);
    std::fs::write(d.join("secret"), "0123456789abcdef0123").unwrap();
    add(d, "good", &["--trust-store", "good.crt"]);
    add(d, "expired", &["--trust-store", "expired.crt"]);
    add(d, "legacy", &["--secret-file", "secret"]);
    dir
}

#[test]
fn every_trust_store_is_checked_and_an_expired_certificate_fails() {
    let dir = fixture();
    let d = dir.path();
    client(d, &["check", "--store", STORE])
        .code(1)
        .stdout_has("good: pass (1 certificate, earliest expiry")
        .stdout_has("expired: FAIL (1 certificate")
        .stdout_has("error: 'expired'")
        .stdout_has("expired on")
        .stdout_has("legacy: no trust store (authenticates by secret)")
        .stdout_has("3 clients checked: 1 failed");
    // One client: its own verdict.
    client(d, &["check", "good", "--store", STORE])
        .code(0)
        .stdout_has("good: pass")
        .stdout_has("1 client checked: all pass")
        .stdout_lacks("expired");
    client(d, &["check", "expired", "--config", "certbound.toml"])
        .code(1)
        .stdout_has("expired: FAIL");
    let json = client(d, &["check", "--json", "--store", STORE]).json();
    let results: Vec<(&str, &str)> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["result"].as_str().unwrap()))
        .collect();
    assert!(results.contains(&("good", "pass")), "{json}");
    assert!(results.contains(&("expired", "fail")), "{json}");
    assert!(results.contains(&("legacy", "skipped")), "{json}");

    // Replaced by a valid certificate: all pass.
    client(d, &["remove", "expired", "--store", STORE]).code(0);
    client(d, &["check", "--store", STORE])
        .code(0)
        .stdout_has("2 clients checked: all pass");

    // Exit 1: not registered; exit 2: no registry named.
    client(d, &["check", "nobody", "--store", STORE])
        .code(1)
        .stderr_has("no client `nobody` is registered");
    client(d, &["check"])
        .code(2)
        .stderr_has("say where the registry is");
}

#[test]
fn check_through_a_running_server() {
    let dir = fixture();
    let d = dir.path();
    let server = Server::start(d, &["serve", "--config", "certbound.toml"], "issuer:");
    let url = format!("https://{}", server.addr("tls"));
    let remote = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&[
            "--server",
            &url,
            "--ca",
            "root.crt",
            "--admin-token-file",
            "admin-token",
        ]);
        client(d, &all)
    };
    remote(&["check"])
        .code(1)
        .stdout_has("expired: FAIL")
        .stdout_has("good: pass")
        .stdout_has("legacy: no trust store");
    remote(&["check", "good"]).code(0).stdout_has("good: pass");
    server.terminate();
}
