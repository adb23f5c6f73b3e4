//! OCSP against a real responder: `ocsp_responder.py` (Python `cryptography`'s
//! OCSP response builder) started by the test on 127.0.0.1, certificates
//! made by openssl with the responder's URL in their AIA. `check --online`:
//! good accepted, revoked refused with date and reason, responder down named,
//! an unauthorised signer refused, a delegated responder accepted, an
//! intermediate asked about too; `connect` showing what a server stapled.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use time::OffsetDateTime;
use util::openssl_pki::{openssl_ca, openssl_issue};
use util::{Run, certbound, openssl};

/// A running `ocsp_responder.py`, killed when dropped.
struct Responder {
    server: util::python::PythonServer,
}

impl Responder {
    /// Start it in `dir` for the CA `ca` (NAME.crt), signing with `signer`
    /// (NAME.crt and NAME.key), revoked serials from `revoked.txt`.
    fn start(dir: &Path, ca: &str, signer: &str, extra: &[&str]) -> Responder {
        let index = dir.join("revoked.txt");
        if !index.exists() {
            std::fs::write(&index, "").unwrap();
        }
        let (ca, cert, key) = (
            format!("{ca}.crt"),
            format!("{signer}.crt"),
            format!("{signer}.key"),
        );
        let mut args = vec![
            "--ca",
            &ca,
            "--signer-cert",
            &cert,
            "--signer-key",
            &key,
            "--index",
            "revoked.txt",
        ];
        args.extend_from_slice(extra);
        Responder {
            server: util::python::PythonServer::start(dir, "ocsp_responder.py", &args),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.server.port)
    }
}

/// A port nobody listens on (bound by the OS, then released).
fn closed_port_url() -> String {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    format!("http://127.0.0.1:{}/", l.local_addr().unwrap().port())
}

#[track_caller]
fn ok(run: Run) -> Run {
    run.code(0);
    run
}

/// Extensions of a client certificate whose AIA names `url`.
fn client_ext(url: &str) -> Vec<String> {
    vec![
        "basicConstraints=critical,CA:FALSE".into(),
        "keyUsage=critical,digitalSignature".into(),
        "extendedKeyUsage=clientAuth".into(),
        format!("authorityInfoAccess=OCSP;URI:{url}"),
    ]
}

fn revoke(d: &Path, serial: &str, at: OffsetDateTime, reason: &str) {
    let line = format!(
        "{serial} {:04}-{:02}-{:02}T{:02}:{:02}:{:02} {reason}\n",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    let path = d.join("revoked.txt");
    let mut text = std::fs::read_to_string(&path).unwrap_or_default();
    text.push_str(&line);
    std::fs::write(path, text).unwrap();
}

fn check_online(d: &Path, cert: &str, ca: &str) -> Run {
    certbound(d, &["check", cert, "--ca", ca, "--online"])
}

#[test]
fn good_is_accepted_and_revoked_is_refused_with_date_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl_ca(d, "ca");
    let responder = Responder::start(d, "ca", "ca", &[]);
    openssl_issue(d, "good", "ca", "1001", &client_ext(&responder.url()));
    openssl_issue(d, "bad", "ca", "1002", &client_ext(&responder.url()));
    let at = OffsetDateTime::now_utc() - time::Duration::days(3);
    revoke(d, "1002", at, "key_compromise");

    check_online(d, "good.crt", "ca.crt")
        .code(0)
        .stdout_has("pass  ocsp")
        .stdout_has(&format!("good according to {}", responder.url()));
    // Without --online nobody is asked.
    certbound(d, &["check", "good.crt", "--ca", "ca.crt"])
        .code(0)
        .stdout_lacks("ocsp");

    let date = format!(
        "{:04}-{:02}-{:02}",
        at.year(),
        u8::from(at.month()),
        at.day()
    );
    check_online(d, "bad.crt", "ca.crt")
        .code(1)
        .stdout_has("FAIL  ocsp")
        .stdout_has("serial 10:02")
        .stdout_has(&format!("REVOKED on {date}"))
        .stdout_has("reason: keyCompromise");
    let json = certbound(
        d,
        &["check", "bad.crt", "--ca", "ca.crt", "--online", "--json"],
    );
    json.code(1);
    let v = json.json();
    let line = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "ocsp")
        .expect("an ocsp check");
    assert_eq!(line["status"], "fail");
}

#[test]
fn a_responder_that_is_down_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl_ca(d, "ca");
    let url = closed_port_url();
    openssl_issue(d, "leaf", "ca", "2001", &client_ext(&url));
    check_online(d, "leaf.crt", "ca.crt")
        .code(0)
        .stdout_has("warn  ocsp")
        .stdout_has(&format!("the OCSP responder {url} cannot be reached"));
    // A certificate without AIA: said, not failed.
    openssl_issue(
        d,
        "plain",
        "ca",
        "2002",
        &["extendedKeyUsage=clientAuth".to_string()],
    );
    check_online(d, "plain.crt", "ca.crt")
        .code(0)
        .stdout_has("names no OCSP responder");
}

#[test]
fn an_unauthorised_signer_is_refused_and_a_delegated_responder_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl_ca(d, "ca");
    openssl_ca(d, "rogue");
    // Signed by another CA's key: no authority over ca's certificates.
    let rogue = Responder::start(d, "ca", "rogue", &["--include-signer"]);
    openssl_issue(d, "leaf1", "ca", "3001", &client_ext(&rogue.url()));
    check_online(d, "leaf1.crt", "ca.crt")
        .code(1)
        .stdout_has("FAIL  ocsp")
        .stdout_has("may not answer for this issuer");

    // A responder certificate from ca with OCSPSigning: believed.
    openssl_issue(
        d,
        "responder",
        "ca",
        "3100",
        &["extendedKeyUsage=OCSPSigning".to_string()],
    );
    let delegated = Responder::start(d, "ca", "responder", &["--include-signer"]);
    openssl_issue(d, "leaf2", "ca", "3002", &client_ext(&delegated.url()));
    check_online(d, "leaf2.crt", "ca.crt")
        .code(0)
        .stdout_has("pass  ocsp")
        .stdout_has("signed by its delegated responder");

    // The same certificate from ca without OCSPSigning: refused.
    openssl_issue(
        d,
        "helper",
        "ca",
        "3101",
        &["extendedKeyUsage=clientAuth".to_string()],
    );
    let undelegated = Responder::start(d, "ca", "helper", &["--include-signer"]);
    openssl_issue(d, "leaf3", "ca", "3003", &client_ext(&undelegated.url()));
    check_online(d, "leaf3.crt", "ca.crt")
        .code(1)
        .stdout_has("lacks the extended key usage OCSPSigning");
}

#[test]
fn intermediates_are_asked_about_too() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl_ca(d, "root");
    let root_responder = Responder::start(d, "root", "root", &[]);
    openssl_issue(
        d,
        "inter",
        "root",
        "4001",
        &[
            "basicConstraints=critical,CA:TRUE,pathlen:0".into(),
            "keyUsage=critical,keyCertSign,cRLSign".into(),
            format!("authorityInfoAccess=OCSP;URI:{}", root_responder.url()),
        ],
    );
    // The intermediate's own responder, in its own directory (own index).
    let inter_dir = d.join("inter");
    std::fs::create_dir(&inter_dir).unwrap();
    for f in ["inter.crt", "inter.key"] {
        std::fs::copy(d.join(f), inter_dir.join(f)).unwrap();
    }
    let inter_responder = Responder::start(&inter_dir, "inter", "inter", &[]);
    openssl_issue(
        d,
        "leaf",
        "inter",
        "4100",
        &client_ext(&inter_responder.url()),
    );
    let chain = std::fs::read_to_string(d.join("leaf.crt")).unwrap()
        + &std::fs::read_to_string(d.join("inter.crt")).unwrap();
    std::fs::write(d.join("chain.crt"), chain).unwrap();

    let run = check_online(d, "chain.crt", "root.crt");
    run.code(0);
    assert_eq!(
        run.stdout.matches("pass  ocsp").count(),
        2,
        "{}",
        run.stdout
    );

    revoke(
        d,
        "4001",
        OffsetDateTime::now_utc() - time::Duration::days(1),
        "ca_compromise",
    );
    check_online(d, "chain.crt", "root.crt")
        .code(1)
        .stdout_has("CN=inter")
        .stdout_has("reason: cACompromise");
}

/// `openssl s_server` on 127.0.0.1 stapling `status.der`; returns the child
/// (killed when dropped) and its port.
struct Staple(Child, u16);

impl Drop for Staple {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn s_server(d: &Path, cert: &str, key: &str, status: Option<&str>) -> Staple {
    for _ in 0..3 {
        let port = {
            let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
            l.local_addr().unwrap().port()
        };
        let mut cmd = Command::new("openssl");
        cmd.args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
            .args(["-cert", cert, "-key", key, "-www", "-quiet"])
            .current_dir(d)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(s) = status {
            cmd.args(["-status_file", s]);
        }
        let mut child = cmd.spawn().expect("openssl starts");
        // Listening, or exited (the port was taken meanwhile): try another port.
        let listening = util::poll_until_sync(Duration::from_secs(10), || {
            if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return Some(true);
            }
            matches!(child.try_wait(), Ok(Some(_))).then_some(false)
        });
        if listening == Some(true) {
            return Staple(child, port);
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("openssl s_server did not start");
}

#[test]
fn connect_shows_what_the_server_stapled() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl_ca(d, "ca");
    let responder = Responder::start(d, "ca", "ca", &[]);
    let mut ext = client_ext(&responder.url());
    ext[2] = "extendedKeyUsage=serverAuth".into();
    ext.push("subjectAltName=IP:127.0.0.1".into());
    openssl_issue(d, "server", "ca", "5001", &ext);
    // openssl itself fetches the answer to staple, from the Python responder.
    let fetch = |out: &str| {
        ok(openssl(
            d,
            &[
                "ocsp",
                "-issuer",
                "ca.crt",
                "-cert",
                "server.crt",
                "-url",
                &responder.url(),
                "-CAfile",
                "ca.crt",
                "-respout",
                out,
            ],
        ));
    };
    fetch("good.der");
    let server = s_server(d, "server.crt", "server.key", Some("good.der"));
    let target = format!("127.0.0.1:{}", server.1);
    certbound(d, &["connect", &target, "--ca", "ca.crt"])
        .code(0)
        .stdout_has("OCSP staple")
        .stdout_has("good");
    drop(server);

    revoke(
        d,
        "5001",
        OffsetDateTime::now_utc() - time::Duration::days(2),
        "superseded",
    );
    fetch("revoked.der");
    let server = s_server(d, "server.crt", "server.key", Some("revoked.der"));
    let target = format!("127.0.0.1:{}", server.1);
    certbound(d, &["connect", &target, "--ca", "ca.crt"])
        .stdout_has("OCSP staple")
        .stdout_has("REVOKED")
        .stdout_has("superseded");
    drop(server);

    let server = s_server(d, "server.crt", "server.key", None);
    let target = format!("127.0.0.1:{}", server.1);
    certbound(d, &["connect", &target, "--ca", "ca.crt"])
        .code(0)
        .stdout_has("OCSP staple")
        .stdout_has("none");
}

/// A CRL of `ca` listing `revoked` (serial hex, keyCompromise), written by
/// `openssl ca -gencrl` to NAME.
fn openssl_crl(d: &Path, ca: &str, revoked: &[&str], out: &str) {
    let stamp = |t: OffsetDateTime| {
        format!(
            "{:02}{:02}{:02}{:02}{:02}{:02}Z",
            t.year() % 100,
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    };
    let now = OffsetDateTime::now_utc();
    let index: String = revoked
        .iter()
        .map(|s| {
            format!(
                "R\t{}\t{},keyCompromise\t{s}\tunknown\t/CN={s}\n",
                stamp(now + time::Duration::days(90)),
                stamp(now - time::Duration::days(1))
            )
        })
        .collect();
    std::fs::write(d.join("index.txt"), index).unwrap();
    std::fs::write(d.join("crlnumber"), "01\n").unwrap();
    std::fs::write(
        d.join("crl.cnf"),
        "[ca]\ndefault_ca = ca\n[ca]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = sha256\ndefault_crl_days = 7\n",
    )
    .unwrap();
    ok(openssl(
        d,
        &[
            "ca",
            "-gencrl",
            "-config",
            "crl.cnf",
            "-keyfile",
            &format!("{ca}.key"),
            "-cert",
            &format!("{ca}.crt"),
            "-out",
            out,
        ],
    ));
}

#[test]
fn crl_distribution_points_are_fetched() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl_ca(d, "ca");
    let server = Responder::start(d, "ca", "ca", &["--files", "."]);
    let dp = vec![
        "extendedKeyUsage=clientAuth".to_string(),
        format!("crlDistributionPoints=URI:{}ca.crl", server.url()),
    ];
    openssl_issue(d, "kept", "ca", "6001", &dp);
    openssl_issue(d, "gone", "ca", "6002", &dp);
    openssl_crl(d, "ca", &["6002"], "ca.crl");
    check_online(d, "kept.crt", "ca.crt")
        .code(0)
        .stdout_has("pass  revocation")
        .stdout_has("is not in the CRL of");
    check_online(d, "gone.crt", "ca.crt")
        .code(1)
        .stdout_has("FAIL  revocation")
        .stdout_has("reason: keyCompromise");
    // The CRL gone from the server: named, not failed.
    std::fs::remove_file(d.join("ca.crl")).unwrap();
    check_online(d, "kept.crt", "ca.crt")
        .code(0)
        .stdout_has("warn  revocation")
        .stdout_has("answered HTTP 404");
}

/// The token endpoint with `[revocation] ocsp = true`.
const SERVE: &str = r#"data_dir = "data"
[issuer]
url = "https://auth.example.test"
[tls.mtls]
cert = "server.crt"
key = "server.key"
client_auth = "required"
[tls.mtls-ca]
cert = "server.crt"
key = "server.key"
client_auth = "required"
client_ca = "ca.crt"
[[listener]]
name = "mtls"
bind = "127.0.0.1:0"
tls = "mtls"
[[listener]]
name = "mtls-ca"
bind = "127.0.0.1:0"
tls = "mtls-ca"
[[route]]
prefix = "/ca-api/"
upstream = "UPSTREAM"
require = "client-cert"
client_ca = "ca.crt"
[revocation]
ocsp = true
unavailable = "UNAVAILABLE"
"#;

/// Serve with `unavailable`, the client `partner` trusted by ca.crt, and a
/// client-cert route to `upstream` trusting ca.crt.
fn serve(d: &Path, unavailable: &str, upstream: &str) -> util::process::Server {
    serve_with(d, "ocsp", unavailable, upstream)
}

/// [`serve`], asking `source` (`ocsp` or `fetch_crl`).
fn serve_with(d: &Path, source: &str, unavailable: &str, upstream: &str) -> util::process::Server {
    let config = format!("{unavailable}.toml");
    let text = SERVE
        .replace("ocsp = true", &format!("{source} = true"))
        .replace("UNAVAILABLE", unavailable)
        .replace("UPSTREAM", upstream.trim_end_matches('/'));
    std::fs::write(d.join(&config), text).unwrap();
    if !d.join("data").exists() {
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
                "ca.crt",
                "--config",
                &config,
            ],
        )
        .code(0);
    }
    util::process::Server::start(d, &["serve", "--config", &config], "issuer:")
}

fn token(d: &Path, server: &util::process::Server, cert: &str) -> Run {
    token_at(d, server, "mtls", cert)
}

fn token_at(d: &Path, server: &util::process::Server, listener: &str, cert: &str) -> Run {
    let url = format!("https://{}/oauth2/token", server.addr(listener));
    certbound(
        d,
        &[
            "token",
            "--token-url",
            &url,
            "--client-id",
            "partner",
            "--cert",
            &format!("{cert}.crt"),
            "--key",
            &format!("{cert}.key"),
            "--ca",
            "ca.crt",
        ],
    )
}

#[test]
fn the_token_endpoint_asks_the_responder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl_ca(d, "ca");
    // The responder is the routes' upstream too: GET /ca-api/x serves ./x.
    let responder = Responder::start(d, "ca", "ca", &["--files", "."]);
    std::fs::write(d.join("x"), "upstream says hi").unwrap();
    openssl_issue(
        d,
        "server",
        "ca",
        "7000",
        &[
            "extendedKeyUsage=serverAuth".into(),
            "subjectAltName=IP:127.0.0.1,DNS:localhost".into(),
        ],
    );
    openssl_issue(d, "good", "ca", "7001", &client_ext(&responder.url()));
    openssl_issue(d, "bad", "ca", "7002", &client_ext(&responder.url()));
    openssl_issue(d, "lost", "ca", "7003", &client_ext(&closed_port_url()));
    revoke(
        d,
        "7002",
        OffsetDateTime::now_utc() - time::Duration::days(1),
        "key_compromise",
    );

    let server = serve(d, "fail", &responder.url());
    token(d, &server, "good").code(0);
    token(d, &server, "bad")
        .code(1)
        .stderr_has("invalid_client");
    // Responder down: "fail" refuses.
    token(d, &server, "lost")
        .code(1)
        .stderr_has("invalid_client");
    // The audit record names the certificate and why.
    util::audit_has(
        d,
        "fail.toml",
        "partner",
        &[
            "certificate_revoked: certificate chain rejected: 'CN=bad",
            "reason: keyCompromise",
            "revocation_unavailable",
            "cannot be reached",
        ],
    );
    // The same at a client-cert gateway route.
    route(d, &server, "good")
        .code(0)
        .stdout_has("upstream says hi");
    route(d, &server, "bad")
        .code(1)
        .stdout_lacks("upstream says hi");
    route(d, &server, "lost")
        .code(1)
        .stdout_lacks("upstream says hi");
    // And at a client_ca listener: the connection is closed after the handshake.
    token_at(d, &server, "mtls-ca", "good").code(0);
    token_at(d, &server, "mtls-ca", "bad")
        .code(1)
        .stdout_lacks("access_token");
    token_at(d, &server, "mtls-ca", "lost")
        .code(1)
        .stdout_lacks("access_token");
    drop(server);

    // "allow" accepts what cannot be checked, never what is revoked.
    let server = serve(d, "allow", &responder.url());
    token(d, &server, "lost").code(0);
    token(d, &server, "bad")
        .code(1)
        .stderr_has("invalid_client");
    token(d, &server, "good").code(0);
    route(d, &server, "lost")
        .code(0)
        .stdout_has("upstream says hi");
    route(d, &server, "bad").code(1);
    token_at(d, &server, "mtls-ca", "lost").code(0);
    token_at(d, &server, "mtls-ca", "bad").code(1);
}

#[test]
fn the_token_endpoint_fetches_the_crl_a_certificate_names() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl_ca(d, "ca");
    // A CA with the same name and another key, for a forged CRL.
    std::fs::create_dir(d.join("twin")).unwrap();
    openssl_ca(&d.join("twin"), "ca");
    // The responder serves the CRLs (and the routes' upstream file).
    let server_files = Responder::start(d, "ca", "ca", &["--files", "."]);
    std::fs::write(d.join("x"), "upstream says hi").unwrap();
    let dp = |url: String| {
        vec![
            "basicConstraints=critical,CA:FALSE".to_string(),
            "keyUsage=critical,digitalSignature".into(),
            "extendedKeyUsage=clientAuth".into(),
            format!("crlDistributionPoints=URI:{url}"),
        ]
    };
    openssl_issue(
        d,
        "server",
        "ca",
        "8000",
        &[
            "extendedKeyUsage=serverAuth".into(),
            "subjectAltName=IP:127.0.0.1,DNS:localhost".into(),
        ],
    );
    let crl_url = format!("{}ca.crl", server_files.url());
    openssl_issue(d, "kept", "ca", "8001", &dp(crl_url.clone()));
    openssl_issue(d, "gone", "ca", "8002", &dp(crl_url));
    openssl_issue(
        d,
        "lost",
        "ca",
        "8003",
        &dp(format!("{}ca.crl", closed_port_url())),
    );
    openssl_issue(
        d,
        "forged",
        "ca",
        "8004",
        &dp(format!("{}forged.crl", server_files.url())),
    );
    openssl_crl(d, "ca", &["8002"], "ca.crl");
    openssl_crl(&d.join("twin"), "ca", &[], "../forged.crl");

    let server = serve_with(d, "fetch_crl", "fail", &server_files.url());
    token(d, &server, "kept").code(0);
    token(d, &server, "gone")
        .code(1)
        .stderr_has("invalid_client");
    token(d, &server, "lost")
        .code(1)
        .stderr_has("invalid_client");
    token(d, &server, "forged")
        .code(1)
        .stderr_has("invalid_client");
    util::audit_has(
        d,
        "fail.toml",
        "partner",
        &[
            "certificate_revoked: certificate chain rejected: 'CN=gone",
            "reason: keyCompromise",
            "cannot be reached",
            "did not sign it",
        ],
    );
    route(d, &server, "kept")
        .code(0)
        .stdout_has("upstream says hi");
    route(d, &server, "gone")
        .code(1)
        .stdout_lacks("upstream says hi");
    token_at(d, &server, "mtls-ca", "kept").code(0);
    token_at(d, &server, "mtls-ca", "gone")
        .code(1)
        .stdout_lacks("access_token");
    // Revocations are counted by source and result.
    let metrics_url = format!("https://{}/metrics", server.addr("mtls"));
    let metrics_args = [
        "request",
        &metrics_url,
        "--cert",
        "kept.crt",
        "--key",
        "kept.key",
        "--ca",
        "ca.crt",
    ];
    certbound(d, &metrics_args)
        .code(0)
        .stdout_has(r#"certbound_revocation_checks_total{source="crl_dp",result="revoked"}"#)
        .stdout_has(r#"certbound_revocation_checks_total{source="crl_dp",result="good"}"#);
    // The expiry watch reports the fetched CRL's nextUpdate.
    let fetched = format!(
        r#"certbound_certificate_expiry_seconds{{source="revocation",crl="{}ca.crl",role="next_update""#,
        server_files.url()
    );
    util::eventually_ok_sync("the fetched CRL in the expiry gauge", || {
        let metrics = certbound(d, &metrics_args).stdout;
        if metrics.contains(&fetched) {
            Ok(())
        } else {
            Err(metrics)
        }
    });
    drop(server);

    // "allow" accepts what cannot be checked, never what is revoked.
    let server = serve_with(d, "fetch_crl", "allow", &server_files.url());
    token(d, &server, "lost").code(0);
    token(d, &server, "gone")
        .code(1)
        .stderr_has("invalid_client");
    token(d, &server, "kept").code(0);
}

/// `certbound request` through the client-cert route as `cert`.
fn route(d: &Path, server: &util::process::Server, cert: &str) -> Run {
    let url = format!("https://{}/ca-api/x", server.addr("mtls"));
    certbound(
        d,
        &[
            "request",
            &url,
            "--cert",
            &format!("{cert}.crt"),
            "--key",
            &format!("{cert}.key"),
            "--ca",
            "ca.crt",
        ],
    )
}
