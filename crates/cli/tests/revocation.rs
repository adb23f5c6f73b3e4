//! Taking trust back with CRLs, end to end: a CA made by `pki init`, two
//! clients issued by it and registered with subject constraints; `pki revoke`
//! and `pki crl` of one while `certbound serve` runs with `[revocation]`:
//! within seconds and without a restart that client is refused at the token
//! endpoint, at a `client_ca` listener and at gateway client-cert routes,
//! while the other goes on. A CRL signed by another key, and a stale one,
//! beside it. `pki revoke` / `pki crl` themselves, and `check --crl`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use certbound_pki::generate::Signer;
use certbound_pki::generate::crl::RevokedEntry;
use certbound_pki::revocation::Reason;
use util::process::Server;
use util::{certbound, eventually_ok_sync, eventually_within_sync, openssl};

/// How long a CRL change may take to be seen (the issue's bound).
const WITHIN: Duration = Duration::from_secs(5);

/// A CA with an intermediate, a server certificate, clients `alice` and
/// `bob`, and the intermediate's first (empty) CRL, in `d/ca`.
fn pki(d: &Path) {
    certbound(d, &["pki", "init", "--out", "ca", "--intermediate"]).code(0);
    certbound(
        d,
        &[
            "pki",
            "issue",
            "server",
            "--ca",
            "ca",
            "--name",
            "server",
            "--dns",
            "localhost",
            "--ip",
            "127.0.0.1",
        ],
    )
    .code(0);
    for name in ["alice", "bob"] {
        certbound(
            d,
            &[
                "pki",
                "issue",
                "client",
                "--ca",
                "ca",
                "--name",
                name,
                "--crl-url",
                "http://127.0.0.1:9/intermediate.crl",
            ],
        )
        .code(0);
    }
    certbound(d, &["pki", "crl", "--ca", "ca"])
        .code(0)
        .stdout_has("CRL number 1")
        .stdout_has("listing 0 revoked certificates");
    // The trust store: the root and the intermediate, so that the server
    // knows the key the intermediate's CRL must be signed with.
    let mut cas = std::fs::read_to_string(d.join("ca/ca.crt")).unwrap();
    cas.push_str(&std::fs::read_to_string(d.join("ca/intermediate.crt")).unwrap());
    std::fs::write(d.join("ca/cas.pem"), cas).unwrap();
}

/// An HTTP upstream for the routes (Python's http.server), killed when dropped.
struct Upstream {
    child: Child,
    port: u16,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn upstream(d: &Path) -> Upstream {
    for dir in ["api", "ca-api"] {
        std::fs::create_dir_all(d.join("www").join(dir)).unwrap();
        std::fs::write(d.join("www").join(dir).join("x"), "upstream says hi").unwrap();
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .current_dir(d.join("www"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs");
    let up = Upstream { child, port };
    eventually_ok_sync("the upstream listens", || {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    up
}

/// The config: `tls` (admin, metrics), `mtls` (token endpoint and routes,
/// trust decided per client) and `mtls-ca` (`client_ca`: verified at the
/// handshake); a client-cert route by trust store and one by `client_ca`.
fn write_config(d: &Path, file: &str, crl: &str, unavailable: &str, upstream: u16) {
    std::fs::write(
        d.join(file),
        format!(
            r#"data_dir = "data-{file}"
[issuer]
url = "https://auth.example.test"
[tls.server]
cert = "ca/server.crt"
key = "ca/server.key"
[tls.mtls]
cert = "ca/server.crt"
key = "ca/server.key"
client_auth = "required"
[tls.mtls-ca]
cert = "ca/server.crt"
key = "ca/server.key"
client_auth = "required"
client_ca = "ca/ca.crt"
[[listener]]
name = "tls"
bind = "127.0.0.1:0"
tls = "server"
[[listener]]
name = "mtls"
bind = "127.0.0.1:0"
tls = "mtls"
[[listener]]
name = "mtls-ca"
bind = "127.0.0.1:0"
tls = "mtls-ca"
[[route]]
prefix = "/api/"
upstream = "http://127.0.0.1:{upstream}"
require = "client-cert"
allow_client_ids = ["alice", "bob"]
[[route]]
prefix = "/ca-api/"
upstream = "http://127.0.0.1:{upstream}"
require = "client-cert"
client_ca = "ca/ca.crt"
[revocation]
crl_files = ["{crl}"]
unavailable = "{unavailable}"
"#
        ),
    )
    .unwrap();
}

/// Register alice and bob: the CAs as trust store, each constrained to its subject.
fn register(d: &Path, config: &str) {
    for name in ["alice", "bob"] {
        certbound(
            d,
            &[
                "client",
                "add",
                "--name",
                name,
                "--id",
                name,
                "--trust-store",
                "ca/cas.pem",
                "--subject-dn",
                &format!("CN={name}"),
                "--config",
                config,
            ],
        )
        .code(0);
    }
}

/// curl with `name`'s certificate (leaf and intermediate) and key: (exit code, HTTP status, body).
fn curl(d: &Path, name: &str, args: &[&str]) -> (i32, u16, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "5", "--cacert", "ca/ca.crt"])
        .args([
            "--cert",
            &format!("ca/{name}.crt"),
            "--key",
            &format!("ca/{name}.key"),
        ])
        .args(["-w", "\n%{http_code}"])
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

/// The HTTP status of a token request by `name` on the `mtls` listener.
fn token(d: &Path, server: &Server, name: &str) -> u16 {
    let (_, status, _) = curl(
        d,
        name,
        &[
            "-d",
            "grant_type=client_credentials",
            "-d",
            &format!("client_id={name}"),
            &format!("https://{}/oauth2/token", server.addr("mtls")),
        ],
    );
    status
}

/// Whether `name` gets through the `client_ca` listener's handshake (and an answer).
fn through_client_ca(d: &Path, server: &Server, name: &str) -> bool {
    let (code, status, _) = curl(
        d,
        name,
        &[&format!(
            "https://{}/.well-known/oauth-authorization-server",
            server.addr("mtls-ca")
        )],
    );
    code == 0 && status == 200
}

/// The HTTP status of `GET PATH` through the gateway by `name`.
fn route(d: &Path, server: &Server, name: &str, path: &str) -> u16 {
    curl(
        d,
        name,
        &[&format!("https://{}{path}", server.addr("mtls"))],
    )
    .1
}

/// What every place says of alice and bob, as one comparable line.
fn standing(d: &Path, server: &Server) -> String {
    ["alice", "bob"]
        .iter()
        .map(|n| {
            format!(
                "{n}: token {} client_ca {} route {} ca-route {}",
                token(d, server, n),
                through_client_ca(d, server, n),
                route(d, server, n, "/api/x"),
                route(d, server, n, "/ca-api/x"),
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

const BOTH_IN: &str = "alice: token 200 client_ca true route 200 ca-route 200; bob: token 200 client_ca true route 200 ca-route 200";
const ALICE_OUT: &str = "alice: token 401 client_ca false route 403 ca-route 403; bob: token 200 client_ca true route 200 ca-route 200";

fn audit_failures(d: &Path, config: &str) -> Vec<serde_json::Value> {
    let run = certbound(
        d,
        &["audit", "--config", config, "--result", "fail", "--json"],
    );
    run.code(0);
    run.json().as_array().cloned().unwrap_or_default()
}

/// A CRL of the intermediate in `ca`, made `age_days` ago and current for `days`,
/// listing `revoked` (certificate files), written over `out`.
fn write_crl(d: &Path, revoked: &[&str], age_days: i64, days: u32, out: &str) {
    let ca_pem = std::fs::read(d.join("ca/intermediate.crt")).unwrap();
    let ca = certbound_pki::parse_certificates(&ca_pem)
        .unwrap()
        .remove(0);
    let key = std::fs::read(d.join("ca/intermediate.key")).unwrap();
    let signer = Signer::new(ca, &key).unwrap();
    let made = time::OffsetDateTime::now_utc() - time::Duration::days(age_days);
    let entries: Vec<RevokedEntry> = revoked
        .iter()
        .map(|f| {
            let pem = std::fs::read(d.join(f)).unwrap();
            let cert = certbound_pki::parse_certificates(&pem).unwrap().remove(0);
            let info = certbound_pki::CertInfo::from_der(&cert).unwrap();
            RevokedEntry {
                serial: info
                    .serial
                    .split(':')
                    .map(|b| u8::from_str_radix(b, 16).unwrap())
                    .collect(),
                revoked_at: made,
                reason: Reason::KeyCompromise,
            }
        })
        .collect();
    let crl = signer.crl(&entries, 99, made, days).unwrap();
    let tmp = d.join(format!("{out}.tmp"));
    std::fs::write(&tmp, crl.pem).unwrap();
    std::fs::rename(tmp, d.join(out)).unwrap();
}

#[test]
fn a_revoked_client_is_refused_everywhere_within_seconds_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pki(d);
    let up = upstream(d);
    write_config(d, "certbound.toml", "ca/intermediate.crl", "fail", up.port);
    register(d, "certbound.toml");
    let log = d.join("serve.log");
    let server =
        Server::start_logging(d, &["serve", "--config", "certbound.toml"], "issuer:", &log);
    assert_eq!(standing(d, &server), BOTH_IN);

    // The CA takes alice's trust back and publishes a new CRL over the old file.
    certbound(
        d,
        &[
            "pki",
            "revoke",
            "--ca",
            "ca",
            "ca/alice.crt",
            "--reason",
            "keyCompromise",
        ],
    )
    .code(0)
    .stdout_has("Revoked 'alice'")
    .stdout_has("keyCompromise");
    certbound(d, &["pki", "crl", "--ca", "ca"])
        .code(0)
        .stdout_has("CRL number 2")
        .stdout_has("listing 1 revoked certificate");
    openssl(
        d,
        &[
            "crl",
            "-in",
            "ca/intermediate.crl",
            "-CAfile",
            "ca/intermediate.crt",
            "-noout",
        ],
    )
    .code(0)
    .stderr_has("verify OK");
    eventually_within_sync("alice refused everywhere, bob not", WITHIN, || {
        let now = standing(d, &server);
        if now == ALICE_OUT { Ok(()) } else { Err(now) }
    });

    // The audit record names the certificate, the date and the reason; it is
    // written off the request path.
    let failures = eventually_ok_sync("a failed token event for alice", || {
        let failures = audit_failures(d, "certbound.toml");
        if failures
            .iter()
            .any(|e| e["client_id"] == "alice" && e["kind"] == "token")
        {
            Ok(failures)
        } else {
            Err(format!("{failures:?}"))
        }
    });
    let revoked = failures
        .iter()
        .find(|e| e["client_id"] == "alice" && e["kind"] == "token")
        .unwrap_or_else(|| panic!("no failed token event for alice: {failures:?}"));
    let reason = revoked["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("certificate_revoked:")
            && reason.contains("'alice'")
            && reason.contains("was revoked on")
            && reason.contains("keyCompromise"),
        "{reason}"
    );
    assert!(
        !failures.iter().any(|e| e["client_id"] == "bob"),
        "{failures:?}"
    );
    // The handshake refusal is logged with the certificate and the reason.
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("client certificate revoked: TLS handshake refused")
            && logged.contains("keyCompromise"),
        "{logged}"
    );
    let (_, _, metrics) = curl(
        d,
        "bob",
        &[&format!("https://{}/metrics", server.addr("tls"))],
    );
    assert!(
        metrics.contains("certbound_revocation_checks_total{source=\"crl\",result=\"revoked\"}")
            && metrics
                .contains("certbound_revocation_checks_total{source=\"crl\",result=\"passed\"}"),
        "{metrics}"
    );
    // The expiry watch reports the CRL's nextUpdate (within 2 s of the reload).
    eventually_ok_sync("the CRL in the expiry gauge", || {
        let (_, _, metrics) = curl(
            d,
            "bob",
            &[&format!("https://{}/metrics", server.addr("tls"))],
        );
        let line = metrics.lines().find(|l| {
            l.starts_with("certbound_certificate_expiry_seconds{source=\"revocation\",crl=")
                && l.contains("role=\"next_update\"")
                && l.contains("subject=\"")
        });
        match line.and_then(|l| l.rsplit(' ').next()?.parse::<i64>().ok()) {
            // The CRL is current for days: between 0 and 31 days left.
            Some(secs) if secs > 0 && secs < 31 * 86400 => Ok(()),
            _ => Err(metrics),
        }
    });

    // A CRL of another CA with the same names is refused at reload: the old set stays.
    certbound(d, &["pki", "init", "--out", "other", "--intermediate"]).code(0);
    certbound(d, &["pki", "crl", "--ca", "other", "--out", "forged.crl"]).code(0);
    std::fs::copy(d.join("forged.crl"), d.join("ca/intermediate.crl.tmp")).unwrap();
    std::fs::rename(
        d.join("ca/intermediate.crl.tmp"),
        d.join("ca/intermediate.crl"),
    )
    .unwrap();
    eventually_within_sync("the forged CRL refused in the log", WITHIN, || {
        let logged = std::fs::read_to_string(&log).unwrap();
        if logged.contains("CRL reload failed; keeping the CRLs in force")
            && logged.contains("did not sign")
        {
            Ok(())
        } else {
            Err(logged)
        }
    });
    assert_eq!(standing(d, &server), ALICE_OUT);

    // A stale CRL: with unavailable = "fail", bob's status cannot be had: refused.
    write_crl(d, &["ca/alice.crt"], 10, 1, "ca/intermediate.crl");
    eventually_within_sync("bob refused for a stale CRL", WITHIN, || {
        match token(d, &server, "bob") {
            401 => Ok(()),
            other => Err(other.to_string()),
        }
    });
    assert!(!through_client_ca(d, &server, "bob"));
    assert_eq!(route(d, &server, "bob", "/api/x"), 403);
    let failures = eventually_ok_sync("a failed event for bob", || {
        let failures = audit_failures(d, "certbound.toml");
        if failures.iter().any(|e| e["client_id"] == "bob") {
            Ok(failures)
        } else {
            Err(format!("{failures:?}"))
        }
    });
    let stale = failures
        .iter()
        .find(|e| e["client_id"] == "bob")
        .unwrap_or_else(|| panic!("no failed event for bob: {failures:?}"));
    let reason = stale["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("revocation_unavailable:") && reason.contains("stale"),
        "{reason}"
    );
    drop(server);
}

#[test]
fn a_stale_crl_is_allowed_with_unavailable_allow_but_still_revokes_what_it_lists() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pki(d);
    let up = upstream(d);
    write_crl(d, &["ca/alice.crt"], 10, 1, "stale.crl");
    write_config(d, "certbound.toml", "stale.crl", "allow", up.port);
    register(d, "certbound.toml");
    let server = Server::start(d, &["serve", "--config", "certbound.toml"], "issuer:");
    assert_eq!(standing(d, &server), ALICE_OUT);
}

#[test]
fn serve_refuses_to_start_with_a_crl_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pki(d);
    certbound(d, &["pki", "init", "--out", "other", "--intermediate"]).code(0);
    certbound(d, &["pki", "crl", "--ca", "other", "--out", "forged.crl"]).code(0);
    write_config(d, "forged.toml", "forged.crl", "fail", 9);
    // The CRL names the registered CA's intermediate, whose key did not sign it.
    register(d, "forged.toml");
    let run = certbound(d, &["serve", "--config", "forged.toml"]);
    assert_ne!(run.code, 0);
    run.stderr_has("forged.crl").stderr_has("did not sign");

    // Not a CRL, a missing file, an unknown policy: config errors, all at once (exit 2).
    std::fs::write(
        d.join("bad.toml"),
        std::fs::read_to_string(d.join("forged.toml"))
            .unwrap()
            .replace(
                "crl_files = [\"forged.crl\"]",
                "crl_files = [\"ca/ca.crt\", \"missing.crl\"]",
            )
            .replace("unavailable = \"fail\"", "unavailable = \"maybe\""),
    )
    .unwrap();
    certbound(d, &["serve", "--config", "bad.toml"])
        .code(2)
        .stderr_has("revocation.crl_files[0]")
        .stderr_has("no X509 CRL block (found CERTIFICATE)")
        .stderr_has("revocation.crl_files[1]")
        .stderr_has("missing.crl")
        .stderr_has("revocation.unavailable");
    // A misspelt key is not silently ignored.
    std::fs::write(
        d.join("fetch.toml"),
        std::fs::read_to_string(d.join("forged.toml"))
            .unwrap()
            .replace("[revocation]", "[revocation]\nfetch_crls = true"),
    )
    .unwrap();
    certbound(d, &["serve", "--config", "fetch.toml"])
        .code(2)
        .stderr_has("fetch_crls");
}

#[test]
fn pki_revoke_and_crl() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pki(d);
    // A CA without the intermediate: its CRL is the root's.
    certbound(d, &["pki", "init", "--out", "solo"]).code(0);
    certbound(
        d,
        &["pki", "issue", "client", "--ca", "solo", "--name", "carol"],
    )
    .code(0);

    certbound(
        d,
        &[
            "pki",
            "revoke",
            "--ca",
            "ca",
            "ca/alice.crt",
            "--reason",
            "superseded",
        ],
    )
    .code(0)
    .stdout_has("recorded in ca/intermediate.revoked");
    // Twice: not an error, and it says so.
    certbound(d, &["pki", "revoke", "--ca", "ca", "ca/alice.crt"])
        .code(0)
        .stdout_has("already revoked")
        .stdout_has("superseded");
    // Not issued by this CA: refused.
    certbound(d, &["pki", "revoke", "--ca", "solo", "ca/bob.crt"])
        .code(2)
        .stderr_has("was not issued by the CA in solo");
    certbound(
        d,
        &[
            "pki",
            "revoke",
            "--ca",
            "ca",
            "ca/bob.crt",
            "--reason",
            "stolen",
        ],
    )
    .code(2)
    .stderr_has("keyCompromise");
    certbound(d, &["pki", "revoke", "--ca", "nowhere", "ca/bob.crt"])
        .code(2)
        .stderr_has("pki init");
    // The root revokes the intermediate; `--root` writes the root's CRL.
    certbound(
        d,
        &[
            "pki",
            "revoke",
            "--ca",
            "ca",
            "ca/intermediate.crt",
            "--reason",
            "cACompromise",
        ],
    )
    .code(0)
    .stdout_has("recorded in ca/ca.revoked")
    .stdout_has("--root");

    certbound(
        d,
        &[
            "pki",
            "crl",
            "--ca",
            "ca",
            "--days",
            "3",
            "--out",
            "pub/i.crl",
        ],
    )
    .code(0)
    .stdout_has("CRL number 2")
    .stdout_has("listing 1 revoked certificate:");
    let text = openssl(d, &["crl", "-in", "pub/i.crl", "-noout", "-text"]);
    text.code(0)
        .stdout_has("Issuer: CN = certbound Intermediate CA")
        .stdout_has("Superseded")
        .stdout_has("X509v3 CRL Number: \n                2");
    certbound(d, &["pki", "crl", "--ca", "ca", "--root"])
        .code(0)
        .stdout_has("CRL number 1")
        .stdout_has("ca/ca.crl");
    openssl(
        d,
        &[
            "crl",
            "-in",
            "ca/ca.crl",
            "-CAfile",
            "ca/ca.crt",
            "-noout",
            "-text",
        ],
    )
    .code(0)
    .stderr_has("verify OK")
    .stdout_has("CA Compromise");
    certbound(d, &["pki", "crl", "--ca", "solo"])
        .code(0)
        .stdout_has("solo/ca.crl");
    certbound(d, &["pki", "crl", "--ca", "ca", "--days", "0"]).code(2);

    // --crl-url and --ocsp-url reach the certificate.
    certbound(
        d,
        &[
            "pki",
            "issue",
            "client",
            "--ca",
            "ca",
            "--name",
            "dave",
            "--crl-url",
            "http://pki.example.test/i.crl",
            "--ocsp-url",
            "http://ocsp.example.test/",
        ],
    )
    .code(0);
    openssl(d, &["x509", "-in", "ca/dave.crt", "-noout", "-text"])
        .code(0)
        .stdout_has("URI:http://pki.example.test/i.crl")
        .stdout_has("OCSP - URI:http://ocsp.example.test/");
    certbound(d, &["pki", "csr", "--name", "eve", "--cn", "eve"]).code(0);
    certbound(
        d,
        &[
            "pki",
            "sign",
            "--ca",
            "ca",
            "--csr",
            "eve.csr",
            "--usage",
            "client",
            "--crl-url",
            "http://pki.example.test/i.crl",
        ],
    )
    .code(0);
    openssl(d, &["x509", "-in", "ca/eve.crt", "-noout", "-text"])
        .code(0)
        .stdout_has("URI:http://pki.example.test/i.crl");
}

#[test]
fn check_names_a_revoked_certificate_and_a_stale_or_forged_crl() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pki(d);
    certbound(
        d,
        &[
            "pki",
            "revoke",
            "--ca",
            "ca",
            "ca/alice.crt",
            "--reason",
            "keyCompromise",
        ],
    )
    .code(0);
    certbound(d, &["pki", "crl", "--ca", "ca"]).code(0);
    let crl = "ca/intermediate.crl";
    certbound(
        d,
        &["check", "ca/alice.crt", "--ca", "ca/ca.crt", "--crl", crl],
    )
    .code(1)
    .stdout_has("revocation")
    .stdout_has("'alice'")
    .stdout_has("was revoked on")
    .stdout_has("keyCompromise");
    certbound(
        d,
        &["check", "ca/bob.crt", "--ca", "ca/ca.crt", "--crl", crl],
    )
    .code(0)
    .stdout_has("'bob' is not in the CRL of 'certbound Intermediate CA'");
    // Stale: --at after the nextUpdate.
    certbound(
        d,
        &[
            "check",
            "ca/bob.crt",
            "--ca",
            "ca/ca.crt",
            "--crl",
            crl,
            "--at",
            "2099-01-01",
        ],
    )
    .stdout_has("is stale");
    // Signed by another CA of the same name.
    certbound(d, &["pki", "init", "--out", "other", "--intermediate"]).code(0);
    certbound(d, &["pki", "crl", "--ca", "other", "--out", "forged.crl"]).code(0);
    certbound(
        d,
        &[
            "check",
            "ca/bob.crt",
            "--ca",
            "ca/ca.crt",
            "--crl",
            "forged.crl",
        ],
    )
    .code(1)
    .stdout_has("forged.crl")
    .stdout_has("did not sign");
    // DER is read as well; a missing file is a usage error.
    openssl(d, &["crl", "-in", crl, "-outform", "DER", "-out", "i.der"]).code(0);
    certbound(
        d,
        &[
            "check",
            "ca/alice.crt",
            "--ca",
            "ca/ca.crt",
            "--crl",
            "i.der",
        ],
    )
    .code(1)
    .stdout_has("keyCompromise");
    certbound(
        d,
        &[
            "check",
            "ca/bob.crt",
            "--ca",
            "ca/ca.crt",
            "--crl",
            "nope.crl",
        ],
    )
    .code(2)
    .stderr_has("nope.crl");
}
