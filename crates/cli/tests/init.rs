//! `certbound init`: the config, admin token and PKI it writes, `config
//! check` and `serve` on them, and its refusals.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::process::Command;

use util::certbound;
use util::process::Server;

/// The listeners of an `init` config moved to free loopback ports.
fn on_free_ports(config: &std::path::Path) {
    let text = std::fs::read_to_string(config).unwrap();
    let text = text
        .replace("bind = \"0.0.0.0:8443\"", "bind = \"127.0.0.1:0\"")
        .replace("bind = \"0.0.0.0:9443\"", "bind = \"127.0.0.1:0\"");
    std::fs::write(config, text).unwrap();
}

#[test]
fn init_writes_a_config_that_serve_starts_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = certbound(d, &["init", "deploy"]);
    run.code(0)
        .stdout_has("certbound config check deploy/certbound.toml")
        .stdout_has("certbound serve --config deploy/certbound.toml")
        .stdout_has("certbound pki issue client --ca deploy/pki");
    let deploy = d.join("deploy");
    for key in ["admin-token", "pki/ca.key", "pki/server.key"] {
        assert_eq!(util::mode(&deploy.join(key)), 0o600, "{key}");
    }
    let token = std::fs::read_to_string(deploy.join("admin-token")).unwrap();
    assert_eq!(token.trim().len(), 64, "{token}");
    let config = std::fs::read_to_string(deploy.join("certbound.toml")).unwrap();
    for needle in [
        "[tls.mtls]",
        "client_auth = \"required\"",
        "[admin]",
        "token_file = \"admin-token\"",
        "[audit]",
        "[metrics]",
        "url = \"https://localhost:8443\"",
        "public_url = \"https://localhost:9443\"",
        "# ",
    ] {
        assert!(config.contains(needle), "{needle}:\n{config}");
    }
    // The server certificate is for the default host name.
    certbound(
        d,
        &[
            "check",
            "deploy/pki/server.crt",
            "--key",
            "deploy/pki/server.key",
            "--ca",
            "deploy/pki/ca.crt",
            "--usage",
            "server",
            "--host",
            "localhost",
        ],
    )
    .code(0);

    certbound(d, &["config", "check", "deploy/certbound.toml"])
        .code(0)
        .stdout_has("deploy/certbound.toml: valid")
        .stdout_has("mtls")
        .stdout_has("client certificate required");

    on_free_ports(&deploy.join("certbound.toml"));
    let server = Server::start(
        d,
        &["serve", "--config", "deploy/certbound.toml"],
        "console:",
    );
    assert_eq!(
        server.line("console:"),
        "console: https://localhost:8443/console"
    );
    let tls = server.addr("tls");
    let port = tls.rsplit(':').next().unwrap();
    let curl = |args: &[&str]| {
        let out = Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}"])
            .args(["--cacert", "deploy/pki/ca.crt"])
            .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
            .args(args)
            .current_dir(d)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "curl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // The server certificate verifies for localhost with the CA init made.
    assert_eq!(curl(&[&format!("https://localhost:{port}/healthz")]), "200");
    let admin = format!("https://localhost:{port}/admin/ClientApplication");
    assert_eq!(
        curl(&[
            "-H",
            &format!("Authorization: Bearer {}", token.trim()),
            &admin
        ]),
        "200"
    );
    assert_eq!(curl(&[&admin]), "401", "the admin API needs the token");
}

#[test]
fn init_takes_host_names_ip_addresses_and_a_postgres_url() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certbound(
        d,
        &[
            "init",
            "deploy",
            "--hostname",
            "auth.example.test",
            "--hostname",
            "127.0.0.1",
            "--postgres",
            "postgres://cb:s3cret@db.example.test:5432/certbound",
        ],
    )
    .code(0)
    .stdout_has("https://auth.example.test:8443/console");
    let config_path = d.join("deploy/certbound.toml");
    let config = std::fs::read_to_string(&config_path).unwrap();
    assert!(config.contains("url = \"https://auth.example.test:8443\""));
    assert!(config.contains("url = \"postgres://cb:s3cret@db.example.test:5432/certbound\""));
    assert_eq!(
        util::mode(&config_path),
        0o600,
        "a config holding a database password is private"
    );
    for host in ["auth.example.test", "127.0.0.1"] {
        certbound(
            d,
            &[
                "check",
                "deploy/pki/server.crt",
                "--ca",
                "deploy/pki/ca.crt",
                "--host",
                host,
            ],
        )
        .code(0);
    }
    // config check hides the password.
    certbound(d, &["config", "check", "deploy/certbound.toml"])
        .code(0)
        .stdout_has("postgres://cb:***@db.example.test:5432/certbound");
}

#[test]
fn init_without_a_pki_says_where_to_put_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certbound(d, &["init", "deploy", "--no-pki"])
        .code(0)
        .stdout_has("No PKI written")
        .stdout_has("server.crt")
        .stdout_has("server.key");
    assert!(!d.join("deploy/pki").exists());
    let config = std::fs::read_to_string(d.join("deploy/certbound.toml")).unwrap();
    assert!(config.contains("Put the server certificate"), "{config}");
    // Until the files are there, the config names them.
    certbound(d, &["config", "check", "deploy/certbound.toml"])
        .code(2)
        .stderr_has("tls.server.cert")
        .stderr_has("tls.mtls.cert");
}

#[test]
fn init_never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certbound(d, &["init", "deploy"]).code(0);
    let token = std::fs::read_to_string(d.join("deploy/admin-token")).unwrap();
    certbound(d, &["init", "deploy"])
        .code(1)
        .stderr_has("already exist")
        .stderr_has("--force");
    assert_eq!(
        std::fs::read_to_string(d.join("deploy/admin-token")).unwrap(),
        token
    );
    certbound(d, &["init", "deploy", "--force"]).code(0);
    assert_ne!(
        std::fs::read_to_string(d.join("deploy/admin-token")).unwrap(),
        token
    );
}

#[test]
fn init_refuses_a_url_for_a_host_name_and_a_foreign_database_url() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certbound(
        d,
        &["init", "deploy", "--hostname", "https://auth.example.test"],
    )
    .code(2)
    .stderr_has("is not a host name");
    certbound(d, &["init", "deploy", "--postgres", "mysql://db/x"])
        .code(2)
        .stderr_has("is not a PostgreSQL URL");
    assert!(!d.join("deploy").exists(), "nothing written on a refusal");
}

#[test]
fn init_writes_the_data_directory_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let state = d.join("state \"dir\"");
    certbound(
        d,
        &["init", "deploy", "--data-dir", state.to_str().unwrap()],
    )
    .code(0);
    certbound(d, &["config", "check", "deploy/certbound.toml"])
        .code(0)
        .stdout_has(&format!("data_dir: {}", state.display()));
}
