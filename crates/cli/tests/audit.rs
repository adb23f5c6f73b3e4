//! `certbound audit`: a real `certbound serve` records a refused and a
//! granted token request and an admin change; the command reads them back
//! from the server's store, newest first, with the precise reason of the
//! refusal, filtered by client, result, kind, time (every `--since` form)
//! and count; usage errors exit 2.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::path::Path;

use certbound_pki::x5t_s256;
use certbound_testkit::{LeafOptions, TestPki, self_signed, write_private};
use serde_json::Value;
use util::process::Server;
use util::{certbound, eventually_ok_sync};

const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";
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

/// root.crt, server.crt/key, partner.crt/key and intruder.crt/key
/// (self-signed), admin-token, certbound.toml; returns partner's x5t#S256.
fn setup(d: &Path) -> String {
    let pki = TestPki::new();
    std::fs::write(d.join("root.crt"), pki.root.cert_pem()).unwrap();
    pki.root
        .issue(&LeafOptions::server("localhost").around_now())
        .write(d, "server", &[]);
    let partner = self_signed(&LeafOptions::client("partner").around_now());
    partner.write(d, "partner", &[]);
    self_signed(&LeafOptions::client("intruder").around_now()).write(d, "intruder", &[]);
    write_private(&d.join("admin-token"), ADMIN_TOKEN);
    std::fs::write(d.join("certbound.toml"), CONFIG).unwrap();
    x5t_s256(&partner.cert)
}

fn audit_json(d: &Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["audit", "--config", "certbound.toml", "--json"];
    all.extend_from_slice(args);
    let run = certbound(d, &all);
    run.code(0);
    run.json().as_array().unwrap().clone()
}

fn token(d: &Path, url: &str, cert: &str) -> util::Run {
    let (crt, key) = (format!("{cert}.crt"), format!("{cert}.key"));
    certbound(
        d,
        &[
            "token",
            "--token-url",
            url,
            "--client-id",
            "partner",
            "--cert",
            &crt,
            "--key",
            &key,
            "--ca",
            "root.crt",
        ],
    )
}

#[test]
fn reads_back_what_the_server_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let partner_x5t = setup(d);
    certbound(
        d,
        &[
            "client",
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
    let token_url = format!("https://{}/oauth2/token", server.addr("mtls"));
    let started = time::OffsetDateTime::now_utc();

    // A refused request (someone else's self-signed certificate), then a granted one.
    token(d, &token_url, "intruder")
        .code(1)
        .stderr_has("invalid_client");
    token(d, &token_url, "partner").code(0);
    // An admin change through the API.
    let url = format!("https://{}", server.addr("tls"));
    certbound(
        d,
        &[
            "client",
            "add",
            "--name",
            "Other",
            "--id",
            "other",
            "--trust-store",
            "intruder.crt",
            "--server",
            &url,
            "--ca",
            "root.crt",
            "--admin-token-file",
            "admin-token",
        ],
    )
    .code(0);

    // The server writes the trail off the request path: wait for it.
    let events = eventually_ok_sync("three events in the audit trail", || {
        let events = audit_json(d, &[]);
        if events.len() >= 3 {
            Ok(events)
        } else {
            Err(format!("{events:#?}"))
        }
    });
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["admin", "token", "token"],
        "newest first: {events:#?}"
    );

    // The refusal, with its precise reason and who tried.
    let failed = audit_json(d, &["--result", "fail"]);
    assert_eq!(failed.len(), 1, "{failed:#?}");
    let e = &failed[0];
    assert_eq!(e["kind"], "token");
    assert_eq!(e["result"], "fail");
    assert_eq!(e["client_id"], "partner");
    assert_eq!(e["listener"], "mtls");
    assert!(
        e["reason"]
            .as_str()
            .unwrap()
            .starts_with("not_in_trust_store: the presented certificate 'intruder'"),
        "{e}"
    );
    assert!(
        e["subject"].as_str().unwrap().contains("CN=intruder"),
        "{e}"
    );
    assert!(e["peer"].as_str().unwrap().starts_with("127.0.0.1:"), "{e}");
    assert_ne!(e["thumbprint"].as_str().unwrap(), partner_x5t);

    let ok = audit_json(d, &["--result", "success", "--kind", "token"]);
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0]["method"], "self_signed_tls_client_auth");
    assert_eq!(ok[0]["thumbprint"], partner_x5t.as_str());

    // Text: one line per event, newest first, key=value fields.
    let text = certbound(d, &["audit", "--config", "certbound.toml"]);
    text.code(0);
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", text.stdout);
    assert!(
        lines[0].contains(" admin ") && lines[0].contains("detail=\"created client other\""),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains(" token ") && lines[1].contains(" success "),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].contains("client=partner method=self_signed_tls_client_auth"),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains(" fail "), "{}", lines[2]);
    assert!(
        lines[2].contains("reason=\"not_in_trust_store: the presented certificate 'intruder'"),
        "{}",
        lines[2]
    );
    assert!(
        lines[2].contains("listener=mtls") && lines[2].contains("peer=127.0.0.1:"),
        "{}",
        lines[2]
    );
    assert!(lines[2].contains("subject=\"CN=intruder"), "{}", lines[2]);

    // Filters: client, kind, limit.
    assert_eq!(audit_json(d, &["--client", "partner"]).len(), 2);
    assert_eq!(
        audit_json(d, &["--client", "other", "--kind", "admin"]).len(),
        1
    );
    assert!(audit_json(d, &["--client", "nobody"]).is_empty());
    let limited = certbound(
        d,
        &[
            "audit",
            "--config",
            "certbound.toml",
            "--json",
            "--limit",
            "1",
        ],
    );
    limited.code(0).stderr_has("showing the newest 1 events");
    assert_eq!(limited.json().as_array().unwrap()[0]["kind"], "admin");
    certbound(
        d,
        &["audit", "--config", "certbound.toml", "--client", "nobody"],
    )
    .code(0)
    .stderr_has("no audit events match");

    // --since: ages, RFC 3339, a date, Unix seconds, before and after the events.
    let before = started - time::Duration::minutes(5);
    let after = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    for since in ["1h", "30m", "7d", "2w", "10m ago"] {
        assert_eq!(
            audit_json(d, &["--since", since]).len(),
            3,
            "--since {since}"
        );
    }
    assert_eq!(audit_json(d, &["--since", &rfc(before)]).len(), 3);
    assert!(audit_json(d, &["--since", &rfc(after)]).is_empty());
    assert_eq!(audit_json(d, &["--since", "2000-01-01"]).len(), 3);
    assert!(audit_json(d, &["--since", "2999-01-01"]).is_empty());
    assert_eq!(
        audit_json(d, &["--since", &before.unix_timestamp().to_string()]).len(),
        3
    );
    assert!(audit_json(d, &["--since", &after.unix_timestamp().to_string()]).is_empty());

    // The store URL itself works as well as the config.
    let run = certbound(
        d,
        &[
            "audit",
            "--store",
            "sqlite://data/certbound.db",
            "--json",
            "--result",
            "fail",
        ],
    );
    run.code(0);
    assert_eq!(run.json().as_array().unwrap().len(), 1);
    drop(server);
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    certbound(d, &["audit"])
        .code(2)
        .stderr_has("--store URL")
        .stderr_has("--config FILE");
    certbound(d, &["audit", "--config", "certbound.toml"])
        .code(2)
        .stderr_has("there is no store at");
    assert!(
        !d.join("data/certbound.db").exists(),
        "reading never creates a store"
    );
    certbound(d, &["audit", "--store", "sqlite://absent.db"])
        .code(2)
        .stderr_has("absent.db");
    certbound(d, &["audit", "--store", "redis://x"])
        .code(2)
        .stderr_has("unsupported store URL");
    certbound(
        d,
        &["audit", "--store", "sqlite://x.db", "--since", "yesterday"],
    )
    .code(2)
    .stderr_has("`yesterday` is not a time")
    .stderr_has("30m, 1h, 7d");
    certbound(d, &["audit", "--store", "sqlite://x.db", "--limit", "0"])
        .code(2)
        .stderr_has("--limit");
    certbound(
        d,
        &["audit", "--store", "sqlite://x.db", "--result", "maybe"],
    )
    .code(2);
    certbound(d, &["audit", "--store", "sqlite://x.db", "--kind", "login"]).code(2);
    certbound(
        d,
        &[
            "audit",
            "--store",
            "sqlite://x.db",
            "--config",
            "certbound.toml",
        ],
    )
    .code(2);
}
