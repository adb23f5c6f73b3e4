//! `certbound connect` against real servers on loopback: `openssl s_server`
//! (TLS 1.2 and 1.3, `-Verify 1 -verify_return_error`) and an in-process
//! rustls server. Each case asserts the diagnosis names the cause, the exit
//! code, and, for the rustls server, what the server recorded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod servers;
mod util;

use rustls::version::{TLS12, TLS13};
use servers::{
    Files, Mode, OpensslServer, RustlsServer, free_port, refusing_server_config, server_config,
};
use util::certbound;

const V13: &str = "-tls1_3";
const V12: &str = "-tls1_2";

/// `certbound connect ADDR --ca root.crt [--cert NAME.crt --key NAME.key] EXTRA...`
fn connect(f: &Files, addr: &str, client: Option<&str>, extra: &[&str]) -> util::Run {
    let mut args = vec![
        "connect".to_string(),
        addr.to_string(),
        "--ca".into(),
        "root.crt".into(),
    ];
    if let Some(name) = client {
        let key = name.trim_end_matches("-leaf");
        args.extend([
            "--cert".into(),
            format!("{name}.crt"),
            "--key".into(),
            format!("{key}.key"),
        ]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    certbound(f.path(), &args)
}

fn rustls_mtls(f: &Files, versions: &[&'static rustls::SupportedProtocolVersion]) -> RustlsServer {
    let roots = f.certs("root.crt");
    RustlsServer::start(
        server_config(
            f.server_chain.clone(),
            f.server_key.clone_key(),
            Some(&roots),
            versions,
            &[],
        ),
        Mode::Hold,
    )
}

#[test]
fn success_against_openssl_tls13_and_tls12() {
    let f = Files::new();
    for (flag, version) in [(V13, "TLS 1.3"), (V12, "TLS 1.2")] {
        let server = OpensslServer::mtls(&f, flag);
        let run = connect(&f, &server.addr(), Some("alice"), &[]);
        run.code(0)
            .stdout_has(&format!("TLS              {version}"))
            .stdout_has("Verification ok")
            .stdout_has("chain verified: localhost → certbound Test Intermediate CA → certbound Test Root CA")
            .stdout_has("'127.0.0.1' matches the certificate")
            .stdout_has("requested        yes")
            .stdout_has("acceptable CAs   CN=certbound Test Root CA, O=certbound tests")
            .stdout_has("sent             yes: CN=alice, O=certbound tests (chain of 2)")
            .stdout_has("client → server  CertificateVerify")
            .stdout_has("OK: handshake and verification succeeded")
            .stdout_lacks("stopped here");
    }
}

#[test]
fn success_against_rustls_with_the_server_record() {
    let f = Files::new();
    let server = rustls_mtls(&f, &[&TLS13, &TLS12]);
    connect(&f, &server.addr(), Some("alice"), &[])
        .code(0)
        .stdout_has("NewSessionTicket")
        .stdout_has("the server accepted the connection");
    assert_eq!(
        server.wait_events(1),
        ["accepted CN=alice, O=certbound tests"]
    );
}

#[test]
fn no_client_certificate_when_required() {
    let f = Files::new();
    // TLS 1.3: the rejection comes after the handshake, as certificate_required.
    let server = OpensslServer::mtls(&f, V13);
    connect(&f, &server.addr(), None, &[])
        .code(1)
        .stdout_has("Diagnosis: certificate_required")
        .stdout_has("the server requires a client certificate and none was sent")
        .stdout_has("pass --cert and --key")
        .stdout_has("client ← server  alert certificate_required")
        .stdout_has("a late rejection  ✗ stopped here");
    // TLS 1.2: OpenSSL says handshake_failure; the diagnosis still names the cause.
    let server = OpensslServer::mtls(&f, V12);
    connect(&f, &server.addr(), None, &[])
        .code(1)
        .stdout_has("Diagnosis: handshake_failure")
        .stdout_has("none was sent (TLS 1.2 servers such as OpenSSL")
        .stdout_has("client → server  Certificate            empty: no certificate sent");
    let server = rustls_mtls(&f, &[&TLS13]);
    connect(&f, &server.addr(), None, &[])
        .code(1)
        .stdout_has("none was sent");
    assert_eq!(server.wait_events(1), ["rejected: NoCertificatesPresented"]);
}

#[test]
fn client_certificate_from_an_unknown_ca() {
    let f = Files::new();
    for flag in [V13, V12] {
        let server = OpensslServer::mtls(&f, flag);
        connect(&f, &server.addr(), Some("stranger"), &[])
            .code(1)
            .stdout_has("Diagnosis: unknown_ca")
            .stdout_has("the server does not trust your issuer 'Other Root CA'")
            .stdout_has("which is not among the CA names the server accepts");
    }
    let server = rustls_mtls(&f, &[&TLS13]);
    connect(&f, &server.addr(), Some("stranger"), &[])
        .code(1)
        .stdout_has("Diagnosis: unknown_ca");
    let events = server.wait_events(1);
    assert!(events[0].contains("UnknownIssuer"), "{events:?}");
}

#[test]
fn expired_client_certificate() {
    let f = Files::new();
    for flag in [V13, V12] {
        let server = OpensslServer::mtls(&f, flag);
        connect(&f, &server.addr(), Some("expired"), &[])
            .code(1)
            .stdout_has("Diagnosis: certificate_expired")
            .stdout_has("'old-client' expired on")
            .stdout_has("(3 days ago)")
            .stdout_has("renew the client certificate");
    }
    let server = rustls_mtls(&f, &[&TLS13]);
    connect(&f, &server.addr(), Some("expired"), &[])
        .code(1)
        .stdout_has("certificate_expired");
    assert!(server.wait_events(1)[0].contains("Expired"));
}

#[test]
fn client_certificate_without_client_auth_eku() {
    let f = Files::new();
    for flag in [V13, V12] {
        let server = OpensslServer::mtls(&f, flag);
        connect(&f, &server.addr(), Some("server-eku"), &[])
            .code(1)
            .stdout_has("Diagnosis: unsupported_certificate")
            .stdout_has("TLS Web Server Authentication (serverAuth) — without clientAuth")
            .stdout_has("certbound pki issue client");
    }
    let server = rustls_mtls(&f, &[&TLS13]);
    connect(&f, &server.addr(), Some("server-eku"), &[])
        .code(1)
        .stdout_has("unsupported_certificate");
    assert!(server.wait_events(1)[0].contains("InvalidPurpose"));
}

#[test]
fn missing_intermediate_in_the_client_chain() {
    let f = Files::new();
    for flag in [V13, V12] {
        let server = OpensslServer::mtls(&f, flag);
        connect(&f, &server.addr(), Some("alice-leaf"), &[])
            .code(1)
            .stdout_has("Diagnosis: unknown_ca")
            .stdout_has("or your intermediate is missing: you sent only 'alice', issued by 'certbound Test Intermediate CA'")
            .stdout_has("append its certificate after yours");
    }
    let server = rustls_mtls(&f, &[&TLS13]);
    connect(&f, &server.addr(), Some("alice-leaf"), &[])
        .code(1)
        .stdout_has("intermediate is missing");
    assert!(server.wait_events(1)[0].contains("UnknownIssuer"));
}

#[test]
fn server_certificate_for_another_host() {
    let f = Files::new();
    let (chain, key) = f.server_cert("api", &f.pki.root, &["api.example.com"]);
    let server = RustlsServer::start(
        server_config(chain, key, None, &[&TLS13, &TLS12], &[]),
        Mode::Hold,
    );
    connect(&f, &server.addr(), None, &[])
        .code(1)
        .stdout_has("Diagnosis: server_certificate")
        .stdout_has("the certificate is for DNS:api.example.com, not '127.0.0.1'")
        .stdout_has("--servername")
        .stdout_has("client → server  alert bad_certificate");
    // The fix works: the name the certificate is for.
    connect(
        &f,
        &server.addr(),
        None,
        &["--servername", "api.example.com"],
    )
    .code(0)
    .stdout_has("SNI api.example.com");
    // The same against openssl.
    let server = OpensslServer::start(f.path(), &["-cert", "api.crt", "-key", "api.key", V12]);
    connect(&f, &server.addr(), None, &[])
        .code(1)
        .stdout_has("not '127.0.0.1'");
}

#[test]
fn server_certificate_from_an_unknown_ca() {
    let f = Files::new();
    let (chain, key) = f.server_cert("rogue", &f.pki.other_root, &["localhost"]);
    let server = RustlsServer::start(
        server_config(chain, key, None, &[&TLS13, &TLS12], &[]),
        Mode::Hold,
    );
    connect(&f, &format!("localhost:{}", server.addr.port()), None, &[])
        .code(1)
        .stdout_has("Verification FAILED")
        .stdout_has("unknown CA: 'rogue' was issued by 'Other Root CA', but the CA file holds only 'certbound Test Root CA'")
        .stdout_has("pass the CA that issued the server's certificate with --ca")
        .stdout_has("client → server  alert unknown_ca");
    // The client aborted: the server never completed the handshake.
    let events = server.wait_events(1);
    assert!(events[0].starts_with("rejected"), "{events:?}");
    // --insecure-skip-verify completes the handshake but keeps the verdict and exit 1.
    connect(
        &f,
        &format!("localhost:{}", server.addr.port()),
        None,
        &["--insecure-skip-verify"],
    )
    .code(1)
    .stdout_has("handshake        complete")
    .stdout_has("FAILED (not enforced: --insecure-skip-verify)")
    .stdout_has("(not enforced: --insecure-skip-verify): unknown CA");
}

#[test]
fn nothing_listening() {
    let f = Files::new();
    let port = free_port();
    connect(&f, &format!("127.0.0.1:{port}"), None, &[])
        .code(1)
        .stdout_has("Diagnosis: connection_refused")
        .stdout_has(&format!("nothing is listening on 127.0.0.1:{port}"))
        .stdout_has("TCP connect            refused")
        .stdout_has(&format!(
            "TCP              connection refused (127.0.0.1:{port})"
        ));
}

#[test]
fn a_server_that_refuses_the_certificate_says_why_in_its_alert() {
    let f = Files::new();
    let roots = f.certs("root.crt");
    for (version, refusal, alert, words) in [
        (
            &TLS13,
            rustls::CertificateError::ApplicationVerificationFailure,
            "access_denied",
            "the server verified your certificate 'alice' but refuses access",
        ),
        (
            &TLS12,
            rustls::CertificateError::ApplicationVerificationFailure,
            "access_denied",
            "ask the server's operator to authorize this certificate (subject CN=alice",
        ),
        (
            &TLS13,
            rustls::CertificateError::NotValidForName,
            "bad_certificate",
            "the server rejected your certificate 'alice' as bad",
        ),
    ] {
        let server = RustlsServer::start(
            refusing_server_config(
                f.server_chain.clone(),
                f.server_key.clone_key(),
                &roots,
                &[version],
                refusal,
            ),
            Mode::Hold,
        );
        connect(&f, &server.addr(), Some("alice"), &[])
            .code(1)
            .stdout_has(&format!("Diagnosis: {alert}"))
            .stdout_has(&format!("client ← server  alert {alert}"))
            .stdout_has(words);
    }
}

#[test]
fn a_server_that_never_answers_the_syn_times_out() {
    // A listener with a backlog of 0 takes one connection into its queue and
    // drops the SYNs of the next ones: their connect never completes.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    let _queued = std::net::TcpStream::connect(addr).unwrap();
    let f = Files::new();
    let start = std::time::Instant::now();
    connect(&f, &addr.to_string(), None, &["--timeout", "1"])
        .code(1)
        .stdout_has(&format!(
            "TCP              timed out ({addr}): no answer within 1 s"
        ))
        .stdout_has("Diagnosis: connection_timed_out");
    let took = start.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(900) && took < std::time::Duration::from_secs(10),
        "{took:?}"
    );
}

#[test]
fn a_name_that_does_not_resolve() {
    let f = Files::new();
    connect(&f, "no-such-host.invalid:443", None, &[])
        .code(1)
        .stdout_has("TCP              name not resolved")
        .stdout_has("Diagnosis: name_not_resolved")
        .stdout_has("check the spelling");
}

#[test]
fn version_mismatch_is_a_protocol_version_alert() {
    let f = Files::new();
    let server = OpensslServer::mtls(&f, V12);
    connect(&f, &server.addr(), Some("alice"), &["--tls1.3"])
        .code(1)
        .stdout_has("Diagnosis: protocol_version")
        .stdout_has("TLS 1.3 only");
    connect(&f, &server.addr(), Some("alice"), &["--tls1.2"]).code(0);
}

#[test]
fn json_output_follows_the_documented_schema() {
    let f = Files::new();
    let server = OpensslServer::mtls(&f, V13);
    let run = connect(&f, &server.addr(), Some("alice"), &["--json"]);
    run.code(0);
    let v = run.json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["tcp"]["status"], "connected");
    assert_eq!(v["handshake"], "complete");
    assert_eq!(v["tls"]["version"], "TLS 1.3");
    assert!(
        v["tls"]["cipher_suite"]
            .as_str()
            .unwrap()
            .starts_with("TLS13_")
    );
    assert!(v["tls"]["key_exchange"].is_string());
    assert_eq!(v["server_certificates"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["server_certificates"][0]["subject_alt_names"][0],
        "DNS:localhost"
    );
    assert_eq!(v["verification"]["ok"], true);
    assert_eq!(v["verification"]["trust"], "ca_file");
    assert_eq!(v["client_auth"]["requested"], true);
    assert_eq!(v["client_auth"]["certificate_sent"], true);
    assert_eq!(v["client_auth"]["issuer_acceptable"], true);
    assert_eq!(v["client_auth"]["certificate"]["chain_length"], 2);
    assert_eq!(v["post_handshake"], "accepted");
    assert!(v["alert"].is_null() && v["diagnosis"].is_null());
    let messages: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        &messages[..4],
        [
            "TCP connect",
            "ClientHello",
            "ServerHello",
            "EncryptedExtensions"
        ]
    );
    assert!(messages.contains(&"Finished"));
    // A failure carries the alert and the diagnosis.
    let run = connect(&f, &server.addr(), None, &["--json"]);
    run.code(1);
    let v = run.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["alert"]["name"], "certificate_required");
    assert_eq!(v["alert"]["from"], "server");
    assert_eq!(v["alert"]["after_handshake"], true);
    assert_eq!(v["diagnosis"]["code"], "certificate_required");
    assert_eq!(v["post_handshake"], "rejected");
    assert_eq!(
        v["steps"].as_array().unwrap().last().unwrap()["failed"],
        true
    );
}

#[test]
fn exit_code_2_for_usage_and_io_errors() {
    let f = Files::new();
    let d = f.path();
    certbound(d, &["connect", "no-port"])
        .code(2)
        .stderr_has("the port is missing");
    certbound(d, &["connect", "127.0.0.1:1", "--ca", "missing.crt"])
        .code(2)
        .stderr_has("cannot read the CA file missing.crt");
    certbound(d, &["connect", "127.0.0.1:1", "--cert", "alice.crt"]).code(2);
    certbound(
        d,
        &[
            "connect",
            "127.0.0.1:1",
            "--cert",
            "alice.crt",
            "--key",
            "bob.key",
            "--ca",
            "root.crt",
        ],
    )
    .code(2)
    .stderr_has("does not belong to the certificate");
    certbound(
        d,
        &[
            "connect",
            "127.0.0.1:1",
            "--cert",
            "root.key",
            "--key",
            "alice.key",
        ],
    )
    .code(2);
    certbound(d, &["connect", "127.0.0.1:1", "--tls1.2", "--tls1.3"]).code(2);
    certbound(
        d,
        &[
            "connect",
            "127.0.0.1:1",
            "--timeout",
            "0",
            "--ca",
            "root.crt",
        ],
    )
    .code(2);
}

#[test]
fn without_ca_the_system_roots_are_used_and_do_not_trust_a_test_ca() {
    let f = Files::new();
    let server = rustls_mtls(&f, &[&TLS13]);
    let run = certbound(
        f.path(),
        &[
            "connect",
            &format!("localhost:{}", server.addr.port()),
            "--cert",
            "alice.crt",
            "--key",
            "alice.key",
        ],
    );
    run.code(1);
    // A machine without any system roots says so instead.
    assert!(
        run.stdout.contains("of the system's trust store")
            || run.stderr.contains("no trusted CA certificates were found"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
}

#[test]
fn cacert_is_an_alias_of_ca() {
    let f = Files::new();
    let server = rustls_mtls(&f, &[&TLS13]);
    let d = f.path();
    let addr = server.addr();
    let alice = ["--cert", "alice.crt", "--key", "alice.key"];
    let with = |ca_flag: &str, file: &str| {
        let mut args = vec!["connect", &addr, ca_flag, file];
        args.extend_from_slice(&alice);
        certbound(d, &args)
    };
    with("--cacert", "root.crt")
        .code(0)
        .stdout_has("Verification ok");
    with("--cacert", "other.crt")
        .code(1)
        .stdout_has("Verification FAILED");
    // It parses as --ca, before any connection.
    certbound(d, &["connect", "--cacert", "x", "host:443"])
        .code(2)
        .stderr_has("cannot read the CA file x");
    // Commands without --ca never suggest --cert for it.
    for args in [
        &["serve", "--cacert", "x"][..],
        &["audit", "--cacert", "x"],
        &["pki", "init", "--out", "ca", "--cacert", "x"],
        &[
            "pki",
            "self-signed",
            "--name",
            "x",
            "--cn",
            "x",
            "--cacert",
            "x",
        ],
    ] {
        let run = certbound(d, args);
        run.code(2).stderr_has("unexpected argument '--cacert'");
        assert!(!run.stderr.contains("'--cert'"), "{}", run.stderr);
    }
}

#[test]
fn an_https_url_is_a_target_and_http_is_refused() {
    let f = Files::new();
    let server = rustls_mtls(&f, &[&TLS13]);
    let port = server.addr.port();
    let run = connect(
        &f,
        &format!("https://localhost:{port}/oauth2/token?x=1"),
        Some("alice"),
        &[],
    );
    run.code(0)
        .stdout_has(&format!("certbound connect localhost:{port}"))
        .stdout_has("(server name localhost)")
        .stderr_has("note: the path /oauth2/token?x=1 is ignored");
    let run = connect(
        &f,
        &format!("https://localhost:{port}/"),
        Some("alice"),
        &[],
    );
    run.code(0);
    assert!(!run.stderr.contains("note:"), "{}", run.stderr);
    // Without a port: 443.
    connect(&f, "https://no-such-host.invalid", None, &[])
        .code(1)
        .stdout_has("certbound connect no-such-host.invalid:443");
    connect(&f, &format!("http://localhost:{port}/"), Some("alice"), &[])
        .code(2)
        .stderr_has("http:// is plain HTTP, with no TLS handshake to test: use https://");
    connect(&f, &format!("ftp://localhost:{port}"), None, &[])
        .code(2)
        .stderr_has("the scheme `ftp` is not https");
    connect(&f, "https://localhost:99999/", None, &[])
        .code(2)
        .stderr_has("the port must be a number from 1 to 65535");
    assert_eq!(server.wait_events(2).len(), 2);
}

/// The certificates of a PEM file, read back as DER.
fn pem_file(f: &Files, name: &str) -> Vec<rustls_pki_types::CertificateDer<'static>> {
    f.certs(name)
}

#[test]
fn save_chain_writes_what_the_server_sent_even_when_it_is_not_trusted() {
    let f = Files::new();
    let d = f.path();
    let root = "CN=certbound Test Root CA, O=certbound tests";
    for versions in [&[&TLS13][..], &[&TLS12]] {
        let server = rustls_mtls(&f, versions);
        let _ = std::fs::remove_file(d.join("chain.pem"));
        // Trusted: the chain is written, the report as usual.
        connect(
            &f,
            &server.addr(),
            Some("alice"),
            &["--save-chain", "chain.pem"],
        )
        .code(0)
        .stdout_has("Verification ok")
        .stderr_has("saved the server's chain to chain.pem (2 certificates, leaf first)")
        .stderr_has("  0 CN=localhost")
        .stderr_has("  1 CN=certbound Test Intermediate CA")
        .stderr_has(&format!(
            "pass as --ca, is the issuer of the last one: {root}"
        ));
        assert_eq!(pem_file(&f, "chain.pem"), f.server_chain);
        util::openssl(d, &["x509", "-in", "chain.pem", "-noout", "-subject"])
            .code(0)
            .stdout_has("CN = localhost");
        util::openssl(d, &["storeutl", "-noout", "-certs", "chain.pem"])
            .code(0)
            .stdout_has("Total found: 2");
        assert_eq!(util::mode(&d.join("chain.pem")), 0o644);

        // Not trusted (the CA file is another CA's): written all the same,
        // and --json keeps stdout one JSON object.
        let run = certbound(
            d,
            &[
                "connect",
                &server.addr(),
                "--ca",
                "other.crt",
                "--cert",
                "alice.crt",
                "--key",
                "alice.key",
                "--save-chain",
                "untrusted.pem",
                "--json",
            ],
        );
        run.code(1)
            .stderr_has(&format!("is the issuer of the last one: {root}"));
        assert_eq!(run.json()["verification"]["ok"], false);
        assert_eq!(pem_file(&f, "untrusted.pem"), f.server_chain);
        std::fs::remove_file(d.join("untrusted.pem")).unwrap();
    }
}

#[test]
fn save_chain_never_overwrites_without_force() {
    let f = Files::new();
    let d = f.path();
    let server = rustls_mtls(&f, &[&TLS13]);
    std::fs::write(d.join("chain.pem"), "keep me").unwrap();
    connect(
        &f,
        &server.addr(),
        Some("alice"),
        &["--save-chain", "chain.pem"],
    )
    .code(1)
    .stderr_has("chain.pem already exists")
    .stderr_has("pass --force to replace it");
    assert_eq!(
        std::fs::read_to_string(d.join("chain.pem")).unwrap(),
        "keep me"
    );
    connect(
        &f,
        &server.addr(),
        Some("alice"),
        &["--save-chain", "chain.pem", "--force"],
    )
    .code(0);
    assert_eq!(pem_file(&f, "chain.pem"), f.server_chain);
    // --force alone is a usage error; nothing to save when nothing answered.
    connect(&f, &server.addr(), Some("alice"), &["--force"]).code(2);
    let port = free_port();
    connect(
        &f,
        &format!("127.0.0.1:{port}"),
        None,
        &["--save-chain", "none.pem"],
    )
    .code(1)
    .stderr_has("the server sent no certificate, so nothing was written to none.pem");
    assert!(!d.join("none.pem").exists());
}

#[test]
fn save_chain_of_a_self_signed_server_names_it_the_ca() {
    let f = Files::new();
    let d = f.path();
    let (nb, na) = servers::current();
    certbound_testkit::pki::self_signed(
        &certbound_testkit::pki::LeafOptions::server("selfie")
            .dns(&["localhost"])
            .validity(nb, na),
    )
    .write(d, "selfie", &[]);
    let chain = f.certs("selfie.crt");
    let key = certbound_pki::key::parse_private_key(&std::fs::read(d.join("selfie.key")).unwrap())
        .unwrap()
        .to_der();
    let server = RustlsServer::start(
        server_config(chain.clone(), key, None, &[&TLS13], &[]),
        Mode::Hold,
    );
    let fingerprint = certbound_pki::CertInfo::from_der(&chain[0])
        .unwrap()
        .sha256_fingerprint;
    connect(
        &f,
        &format!("localhost:{}", server.addr.port()),
        None,
        &["--save-chain", "selfie-chain.pem"],
    )
    .code(1)
    .stderr_has("(1 certificate, leaf first)")
    .stderr_has("the last certificate is self-signed: it is the CA itself")
    .stderr_has(&fingerprint);
    assert_eq!(pem_file(&f, "selfie-chain.pem"), chain);
}

/// certbound's own mTLS listener with `client_ca`: a TLS 1.2 client
/// certificate from another CA is refused with `unknown_ca`, which connect
/// reads every time (the server closes while the client may still be
/// writing its flight); TLS 1.3 reports the late rejection as the verdict,
/// not "complete"; a certificate the client never sent is not "sent"; the
/// right certificate passes.
#[test]
fn certbound_own_mtls_listener_refusing_a_tls12_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certbound(d, &["pki", "init", "--out", "ca"]).code(0);
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
            "--ip",
            "127.0.0.1",
        ],
    )
    .code(0);
    certbound(
        d,
        &["pki", "issue", "client", "--ca", "ca", "--name", "good"],
    )
    .code(0);
    certbound(
        d,
        &["pki", "init", "--out", "other", "--cn", "Other Root CA"],
    )
    .code(0);
    certbound(
        d,
        &[
            "pki", "issue", "client", "--ca", "other", "--name", "intruder",
        ],
    )
    .code(0);
    std::fs::write(
        d.join("c.toml"),
        "[issuer]\nurl = \"https://127.0.0.1\"\n[tls.m]\ncert = \"ca/server.crt\"\nkey = \"ca/server.key\"\n\
         client_auth = \"required\"\nclient_ca = \"ca/ca.crt\"\n[[listener]]\nname = \"mtls\"\nbind = \"127.0.0.1:0\"\ntls = \"m\"\n",
    )
    .unwrap();
    let server = util::process::Server::start(d, &["serve", "--config", "c.toml"], "issuer:");
    let addr = server.addr("mtls");
    let run = |cert: &str, extra: &[&str]| {
        let mut args = vec!["connect", &addr, "--ca", "ca/ca.crt"];
        let (c, k) = (format!("{cert}.crt"), format!("{cert}.key"));
        args.extend(["--cert", &c, "--key", &k]);
        args.extend(extra);
        certbound(d, &args)
    };
    for _ in 0..15 {
        let r = run("other/intruder", &["--tls1.2"]);
        r.code(1)
            .stdout_has("alert unknown_ca")
            .stdout_has("Diagnosis: unknown_ca")
            .stdout_has("sent             yes: CN=intruder");
        assert!(!r.stdout.contains("without an alert"), "{}", r.stdout);
    }
    let json = run("other/intruder", &["--tls1.2", "--json"]);
    json.code(1);
    let v = json.json();
    assert_eq!(v["alert"]["name"], "unknown_ca", "{v}");
    assert_eq!(v["client_auth"]["certificate_sent"], true);

    // TLS 1.3: complete for the client only; the rejection is the verdict.
    run("other/intruder", &["--tls1.3"])
        .code(1)
        .stdout_has("completed on the client's side, then rejected by the server")
        .stdout_has("a late rejection")
        .stdout_has("FAILED: the server does not trust your issuer")
        .stdout_lacks("handshake        complete\n");

    // The client refuses the server (wrong --ca): its certificate never left.
    let r = certbound(
        d,
        &[
            "connect",
            &addr,
            "--tls1.3",
            "--ca",
            "other/ca.crt",
            "--cert",
            "other/intruder.crt",
            "--key",
            "other/intruder.key",
        ],
    );
    r.code(1)
        .stdout_has("sent             no (one is configured)")
        .stdout_has("the handshake stopped before your certificate was sent");

    // The accept case beside it.
    run("ca/good", &["--tls1.2"])
        .code(0)
        .stdout_has("handshake        complete")
        .stdout_has("sent             yes: CN=good");
}
