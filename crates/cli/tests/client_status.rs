//! `certbound client disable ID` / `client enable ID`: in a store
//! (`--store`) and through a running server (`--server`): an off client is
//! refused a token at once, enabled it gets one again; every other field is
//! kept; exit codes 0 (done, or already so), 1 (not registered) and 2 (no
//! registry named).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::process::Command;

use certbound_testkit::{LeafOptions, TestPki, self_signed, write_private};
use util::process::Server;
use util::{Run, certbound};

const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";
const STORE: &str = "sqlite://registry.db";

const CONFIG: &str = r#"data_dir = "data"
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
"#;

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = TestPki::new();
    std::fs::write(d.join("root.crt"), pki.root.cert_pem()).unwrap();
    pki.root
        .issue(&LeafOptions::server("localhost").around_now())
        .write(d, "server", &[]);
    self_signed(&LeafOptions::client("partner").around_now()).write(d, "partner", &[]);
    write_private(&d.join("admin-token"), ADMIN_TOKEN);
    std::fs::write(d.join("certbound.toml"), CONFIG).unwrap();
    dir
}

fn client(dir: &std::path::Path, args: &[&str]) -> Run {
    let mut all = vec!["client"];
    all.extend_from_slice(args);
    certbound(dir, &all)
}

#[test]
fn disable_and_enable_in_a_store() {
    let dir = fixture();
    let d = dir.path();
    client(
        d,
        &[
            "add",
            "--name",
            "Partner",
            "--id",
            "partner",
            "--trust-store",
            "partner.crt",
            "--scope",
            "read",
            "--store",
            STORE,
        ],
    )
    .code(0);
    client(d, &["disable", "partner", "--store", STORE])
        .code(0)
        .stdout_has("client partner is off")
        .stdout_has("certbound client enable partner");
    let shown = client(d, &["show", "partner", "--json", "--store", STORE]).json();
    assert_eq!(shown["status"], "off");
    // Every other field is kept.
    assert_eq!(shown["scope"], "read");
    assert_eq!(shown["meta"]["versionId"], "2");
    client(d, &["show", "partner", "--store", STORE])
        .code(0)
        .stdout_has("status          off: refused everywhere");
    client(d, &["list", "--store", STORE])
        .code(0)
        .stdout_has("self_signed_tls_client_auth [off]");
    // Again: nothing to do, nothing written.
    client(d, &["disable", "partner", "--store", STORE])
        .code(0)
        .stdout_has("client partner is off already");
    client(d, &["enable", "partner", "--store", STORE])
        .code(0)
        .stdout_has("client partner is active again");
    let shown = client(d, &["show", "partner", "--json", "--store", STORE]).json();
    assert_eq!(shown["status"], "active");
    assert_eq!(shown["meta"]["versionId"], "3");
    client(d, &["enable", "partner", "--store", STORE])
        .code(0)
        .stdout_has("client partner is active already");

    // Exit 1: not registered; exit 2: no registry named.
    client(d, &["disable", "nobody", "--store", STORE])
        .code(1)
        .stderr_has("no client `nobody` is registered");
    client(d, &["enable", "nobody", "--store", STORE])
        .code(1)
        .stderr_has("no client `nobody` is registered");
    client(d, &["disable", "partner"])
        .code(2)
        .stderr_has("say where the registry is");
}

/// `certbound token` for the partner at `url`.
fn token(dir: &std::path::Path, url: &str) -> Run {
    certbound(
        dir,
        &[
            "token",
            "--token-url",
            url,
            "--client-id",
            "partner",
            "--cert",
            "partner.crt",
            "--key",
            "partner.key",
            "--ca",
            "root.crt",
        ],
    )
}

#[test]
fn disable_and_enable_through_a_running_server() {
    let dir = fixture();
    let d = dir.path();
    client(
        d,
        &[
            "add",
            "--name",
            "Partner",
            "--id",
            "partner",
            "--trust-store",
            "partner.crt",
            "--config",
            "certbound.toml",
        ],
    )
    .code(0);
    let server = Server::start(d, &["serve", "--config", "certbound.toml"], "issuer:");
    let url = format!("https://{}", server.addr("tls"));
    let token_url = format!("https://{}/oauth2/token", server.addr("mtls"));
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
    token(d, &token_url).code(0);

    remote(&["disable", "partner"])
        .code(0)
        .stdout_has("client partner is off");
    // The server that changed it refuses at once.
    token(d, &token_url).code(1).stderr_has("invalid_client");
    assert_eq!(
        remote(&["show", "partner", "--json"]).json()["status"],
        "off"
    );
    remote(&["disable", "partner"])
        .code(0)
        .stdout_has("off already");

    remote(&["enable", "partner"])
        .code(0)
        .stdout_has("client partner is active again");
    token(d, &token_url).code(0);
    remote(&["enable", "nobody"])
        .code(1)
        .stderr_has("no client `nobody` is registered");

    // The admin credentials are checked as for every --server command.
    let out = Command::new(env!("CARGO_BIN_EXE_certbound"))
        .args([
            "client", "disable", "partner", "--server", &url, "--ca", "root.crt",
        ])
        .current_dir(d)
        .env_remove("CERTBOUND_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    token(d, &token_url).code(0);
    server.terminate();
}
