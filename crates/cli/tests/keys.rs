//! Encrypted keys and PKCS#12 everywhere a certificate or key is read: a
//! `.p12` made by `openssl pkcs12 -export` used by `check`, `request`,
//! `token` and a `[tls.NAME]` profile; encrypted PKCS#8 and legacy PEM keys;
//! `pki export` read back by openssl and keytool; `pki issue` with an
//! encrypted CA key; PKCS#7 and JKS named with their conversion command.
//! Every right password has its wrong and missing one beside it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod servers;
mod util;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use certbound_pki::x5t_s256;
use rustls::version::TLS13;
use servers::{Files, Handler, Mode, RustlsServer, Seen, server_config};
use util::{Run, certbound, mode, openssl};

const PASSWORD: &str = "s3cret pass";
const MISSING: &str = "is encrypted (PKCS#12): give its password with --key-password-file FILE or CERTBOUND_KEY_PASSWORD";

/// `certbound ARGS` in `dir` with one environment variable set for the child
/// only (the test process's own environment is never changed).
fn certbound_env(dir: &Path, env: (&str, &str), args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_certbound"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env(env.0, env.1)
        .output()
        .unwrap();
    Run {
        cmdline: format!("{}={} certbound {}", env.0, env.1, args.join(" ")),
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The test files plus pw.txt (the password), bad.txt (another one) and
/// alice.p12 (alice's key, leaf and intermediate, OpenSSL 3 defaults).
fn files() -> Files {
    let f = Files::new();
    let d = f.path();
    std::fs::write(d.join("pw.txt"), format!("{PASSWORD}\n")).unwrap();
    std::fs::write(d.join("bad.txt"), "not it\n").unwrap();
    let pass = format!("pass:{PASSWORD}");
    openssl(
        d,
        &[
            "pkcs12",
            "-export",
            "-inkey",
            "alice.key",
            "-in",
            "alice.crt",
            "-name",
            "alice",
            "-passout",
            &pass,
            "-out",
            "alice.p12",
        ],
    )
    .code(0);
    f
}

/// An HTTPS endpoint that requires a client certificate from the test root
/// and answers 200 with the presented leaf's x5t#S256, or a token response.
fn endpoint(f: &Files) -> RustlsServer {
    let roots = f.certs("root.crt");
    let handler: Handler = Arc::new(|req: &Seen| {
        let x5t = req.client_cert.as_deref().map(x5t_s256).unwrap_or_default();
        if req.path.starts_with("/token") {
            let body = serde_json::json!({
                "access_token": "opaque-token", "token_type": "Bearer", "expires_in": 60, "x5t": x5t
            });
            (200, "application/json", body.to_string())
        } else {
            (200, "text/plain", format!("hello {x5t}"))
        }
    });
    RustlsServer::start(
        server_config(
            f.server_chain.clone(),
            f.server_key.clone_key(),
            Some(&roots),
            &[&TLS13],
            &[b"http/1.1"],
        ),
        Mode::Http(handler),
    )
}

fn alice_x5t(f: &Files) -> String {
    x5t_s256(&f.certs("alice.crt")[0])
}

fn url(server: &RustlsServer, path: &str) -> String {
    format!("https://localhost:{}{path}", server.addr.port())
}

#[test]
fn a_p12_is_checked_with_its_password_and_refused_without() {
    let f = files();
    let d = f.path();
    std::fs::set_permissions(
        d.join("alice.p12"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let ok = [
        "check",
        "alice.p12",
        "--ca",
        "root.crt",
        "--usage",
        "client",
    ];
    let mut with_file = ok.to_vec();
    with_file.extend(["--key-password-file", "pw.txt"]);
    certbound(d, &with_file)
        .code(0)
        .stderr_has(
            "alice.p12 is a PKCS#12 file: a private key (alias \"alice\") and 2 certificates",
        )
        .stdout_has("alice.p12 (ECDSA P-256, PKCS#8) belongs to the certificate")
        .stdout_has("alice.p12 is private to its owner");
    // The environment variable, given to the child.
    certbound_env(d, ("CERTBOUND_KEY_PASSWORD", PASSWORD), &ok).code(0);
    let mut wrong = ok.to_vec();
    wrong.extend(["--key-password-file", "bad.txt"]);
    certbound(d, &wrong)
        .code(2)
        .stderr_has("the password for alice.p12 is wrong");
    certbound(d, &ok)
        .code(2)
        .stderr_has(&format!("alice.p12 {MISSING}"));
}

/// A PKCS#12 file that asks for more key-derivation work than is ever done
/// (openssl's `-iter` one past the bound) is refused from its parameters,
/// with the count; OpenSSL's default count (alice.p12) is read as before.
#[test]
fn a_p12_asking_for_too_many_iterations_is_refused_at_once() {
    let f = files();
    let d = f.path();
    let pass = format!("pass:{PASSWORD}");
    openssl(
        d,
        &[
            "pkcs12",
            "-export",
            "-inkey",
            "alice.key",
            "-in",
            "alice.crt",
            "-passout",
            &pass,
            "-iter",
            "5000001",
            "-certpbe",
            "NONE",
            "-out",
            "slow.p12",
        ],
    )
    .code(0);
    certbound(d, &["check", "slow.p12", "--key-password-file", "pw.txt"])
        .code(2)
        .stderr_has("it asks for 5000001 iterations")
        .stderr_has("at most 5000000 are worked through");
    certbound(d, &["check", "alice.p12", "--key-password-file", "pw.txt"]).code(0);
}

#[test]
fn request_and_token_present_the_certificate_of_a_p12() {
    let f = files();
    let d = f.path();
    let server = endpoint(&f);
    let x5t = alice_x5t(&f);
    let page = url(&server, "/");
    let base = ["--cert", "alice.p12", "--ca", "root.crt"];
    let mut req = vec!["request", page.as_str()];
    req.extend(base);
    req.extend(["--key-password-file", "pw.txt"]);
    certbound(d, &req)
        .code(0)
        .stdout_has(&format!("hello {x5t}"));

    let token_url = url(&server, "/token");
    let mut tok = vec![
        "token",
        "--token-url",
        token_url.as_str(),
        "--client-id",
        "alice",
    ];
    tok.extend(base);
    certbound_env(d, ("CERTBOUND_KEY_PASSWORD", PASSWORD), &tok)
        .code(0)
        .stdout_has(&x5t);
    // Wrong and missing passwords: exit 2 before any connection.
    let mut wrong = tok.clone();
    wrong.extend(["--key-password-file", "bad.txt"]);
    certbound(d, &wrong)
        .code(2)
        .stderr_has("the password for alice.p12 is wrong");
    certbound(d, &tok)
        .code(2)
        .stderr_has(&format!("alice.p12 {MISSING}"));
}

#[test]
fn a_profile_reads_a_p12_with_key_password_file() {
    let f = files();
    let d = f.path();
    let server = endpoint(&f);
    let page = url(&server, "/");
    std::fs::write(
        d.join("good.toml"),
        "[tls.p]\ncert = \"alice.p12\"\nkey_password_file = \"pw.txt\"\nca = \"root.crt\"\n",
    )
    .unwrap();
    std::fs::write(
        d.join("bad.toml"),
        "[tls.p]\ncert = \"alice.p12\"\nkey_password_file = \"bad.txt\"\nca = \"root.crt\"\n",
    )
    .unwrap();
    certbound(
        d,
        &["request", &page, "--tls", "p", "--config", "good.toml"],
    )
    .code(0)
    .stdout_has(&alice_x5t(&f));
    certbound(d, &["request", &page, "--tls", "p", "--config", "bad.toml"])
        .code(2)
        .stderr_has("tls.p.cert: the password for")
        .stderr_has("alice.p12 is wrong");
}

#[test]
fn encrypted_pkcs8_and_legacy_pem_keys_need_the_right_password() {
    let f = files();
    let d = f.path();
    let server = endpoint(&f);
    let page = url(&server, "/");
    let target = format!("localhost:{}", server.addr.port());
    let pass = format!("pass:{PASSWORD}");
    openssl(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "alice.key",
            "-v2",
            "aes256",
            "-passout",
            &pass,
            "-out",
            "p8.key",
        ],
    )
    .code(0);
    openssl(
        d,
        &[
            "ec",
            "-in",
            "alice.key",
            "-aes256",
            "-passout",
            &pass,
            "-out",
            "legacy.key",
        ],
    )
    .code(0);
    let legacy = std::fs::read_to_string(d.join("legacy.key")).unwrap();
    assert!(legacy.contains("Proc-Type: 4,ENCRYPTED"), "{legacy}");
    for key in ["p8.key", "legacy.key"] {
        let base = ["--cert", "alice.crt", "--key", key, "--ca", "root.crt"];
        let mut req = vec!["request", page.as_str()];
        req.extend(base);
        let mut good = req.clone();
        good.extend(["--key-password-file", "pw.txt"]);
        certbound(d, &good).code(0).stdout_has(&alice_x5t(&f));
        let mut wrong = req.clone();
        wrong.extend(["--key-password-file", "bad.txt"]);
        certbound(d, &wrong)
            .code(2)
            .stderr_has(&format!("the password for {key} is wrong"));
        certbound(d, &req)
            .code(2)
            .stderr_has(&format!("{key} is encrypted"))
            .stderr_has(
                "give its password with --key-password-file FILE or CERTBOUND_KEY_PASSWORD",
            );
        // connect too, with the password from the environment.
        let mut conn = vec!["connect", target.as_str()];
        conn.extend(base);
        certbound_env(d, ("CERTBOUND_KEY_PASSWORD", PASSWORD), &conn)
            .code(0)
            .stdout_has("sent");
        certbound_env(d, ("CERTBOUND_KEY_PASSWORD", "nope"), &conn)
            .code(2)
            .stderr_has(&format!("the password for {key} is wrong"));
        // check decrypts it to compare with the certificate.
        let mut chk = vec!["check", "alice.crt", "--key", key, "--key-password-file"];
        chk.push("pw.txt");
        certbound(d, &chk)
            .stdout_has(&format!("{key} (ECDSA P-256, "))
            .stdout_has(") belongs to the certificate");
        certbound(
            d,
            &[
                "check",
                "alice.crt",
                "--key",
                key,
                "--key-password-file",
                "bad.txt",
            ],
        )
        .code(2)
        .stderr_has(&format!("the password for {key} is wrong"));
    }
}

#[test]
fn pki_export_writes_a_p12_that_openssl_keytool_and_certbound_read() {
    let f = files();
    let d = f.path();
    let export = [
        "pki",
        "export",
        "--cert",
        "alice.crt",
        "--key",
        "alice.key",
        "--ca",
        "root.crt",
        "--p12",
        "out.p12",
        "--name",
        "alice client",
    ];
    // No password: refused, nothing written.
    certbound(d, &export)
        .code(2)
        .stderr_has("give the password that will protect out.p12 with --password-file FILE");
    assert!(!d.join("out.p12").exists());
    let mut with_pw = export.to_vec();
    with_pw.extend(["--password-file", "pw.txt"]);
    certbound(d, &with_pw).code(0).stdout_has(
        "wrote out.p12 (PKCS#12, mode 0600): the key and 3 certificates, alias \"alice client\"",
    );
    assert_eq!(mode(&d.join("out.p12")), 0o600);
    // Never overwritten without --force.
    certbound(d, &with_pw).code(1).stderr_has("already exists");
    let mut forced = with_pw.clone();
    forced.push("--force");
    certbound(d, &forced).code(0);

    let certs = openssl(
        d,
        &[
            "pkcs12",
            "-in",
            "out.p12",
            "-nokeys",
            "-passin",
            "file:pw.txt",
        ],
    );
    certs.code(0);
    assert_eq!(
        certs.stdout.matches("BEGIN CERTIFICATE").count(),
        3,
        "{}",
        certs.stdout
    );
    openssl(
        d,
        &[
            "pkcs12",
            "-in",
            "out.p12",
            "-nokeys",
            "-passin",
            "file:bad.txt",
        ],
    )
    .code(1);
    let info = openssl(
        d,
        &[
            "pkcs12",
            "-in",
            "out.p12",
            "-info",
            "-noout",
            "-passin",
            "file:pw.txt",
        ],
    );
    info.code(0);
    assert!(info.stderr.contains("MAC: sha256"), "{}", info.stderr);
    assert!(info.stderr.contains("AES-256-CBC"), "{}", info.stderr);

    let keytool = Command::new("keytool")
        .args([
            "-list",
            "-keystore",
            "out.p12",
            "-storetype",
            "PKCS12",
            "-storepass",
            PASSWORD,
        ])
        .current_dir(d)
        .output()
        .expect("keytool is installed (scripts/test.sh installs a JDK)");
    let listed = String::from_utf8_lossy(&keytool.stdout);
    assert!(keytool.status.success(), "{listed}");
    assert!(listed.contains("alice client"), "{listed}");
    assert!(listed.contains("PrivateKeyEntry"), "{listed}");

    // And certbound itself uses it.
    let server = endpoint(&f);
    let page = url(&server, "/");
    certbound(
        d,
        &[
            "request",
            &page,
            "--cert",
            "out.p12",
            "--key-password-file",
            "pw.txt",
            "--ca",
            "root.crt",
        ],
    )
    .code(0)
    .stdout_has(&alice_x5t(&f));
    // A key that is not the certificate's is refused.
    let mut mismatch = vec!["pki", "export", "--cert", "alice.crt", "--key", "bob.key"];
    mismatch.extend(["--p12", "mm.p12", "--password-file", "pw.txt"]);
    certbound(d, &mismatch)
        .code(2)
        .stderr_has("does not belong to the certificate");
}

#[test]
fn pki_issue_decrypts_an_encrypted_ca_key() {
    let f = files();
    let d = f.path();
    certbound(d, &["pki", "init", "--out", "ca"]).code(0);
    let pass = format!("pass:{PASSWORD}");
    openssl(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "ca/ca.key",
            "-v2",
            "aes256",
            "-passout",
            &pass,
            "-out",
            "ca/ca.key.enc",
        ],
    )
    .code(0);
    std::fs::rename(d.join("ca/ca.key.enc"), d.join("ca/ca.key")).unwrap();
    let issue = ["pki", "issue", "client", "--ca", "ca", "--name", "c1"];
    certbound(d, &issue)
        .code(2)
        .stderr_has("ca/ca.key is encrypted")
        .stderr_has("--ca-key-password-file FILE or CERTBOUND_KEY_PASSWORD");
    let mut wrong = issue.to_vec();
    wrong.extend(["--ca-key-password-file", "bad.txt"]);
    certbound(d, &wrong)
        .code(2)
        .stderr_has("the password for ca/ca.key is wrong");
    let mut good = issue.to_vec();
    good.extend(["--ca-key-password-file", "pw.txt"]);
    certbound(d, &good).code(0);
    certbound_env(
        d,
        ("CERTBOUND_KEY_PASSWORD", PASSWORD),
        &["pki", "issue", "client", "--ca", "ca", "--name", "c2"],
    )
    .code(0);
    openssl(d, &["verify", "-CAfile", "ca/ca.crt", "ca/c1.crt"]).code(0);
}

#[test]
fn check_names_pkcs7_and_jks_with_the_command_that_converts_them() {
    let f = files();
    let d = f.path();
    openssl(
        d,
        &[
            "crl2pkcs7",
            "-nocrl",
            "-certfile",
            "alice.crt",
            "-out",
            "b.p7b",
        ],
    )
    .code(0);
    openssl(
        d,
        &[
            "crl2pkcs7",
            "-nocrl",
            "-certfile",
            "alice.crt",
            "-outform",
            "DER",
            "-out",
            "b.p7c",
        ],
    )
    .code(0);
    certbound(d, &["check", "b.p7c"])
        .code(2)
        .stderr_has("b.p7c is a PKCS#7 bundle (DER), not a certificate")
        .stderr_has("`openssl pkcs7 -inform DER -print_certs -in b.p7c -out b.pem`");
    certbound(d, &["check", "b.p7b"])
        .code(2)
        .stderr_has("openssl pkcs7 -print_certs -in b.p7b -out b.pem");
    let made = Command::new("keytool")
        .args([
            "-genkeypair",
            "-keystore",
            "k.jks",
            "-storetype",
            "JKS",
            "-storepass",
            PASSWORD,
            "-alias",
            "a",
            "-keyalg",
            "EC",
            "-dname",
            "CN=jks",
            "-validity",
            "2",
        ])
        .current_dir(d)
        .output()
        .expect("keytool is installed (scripts/test.sh installs a JDK)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    certbound(d, &["check", "k.jks"])
        .code(2)
        .stderr_has("k.jks is a Java KeyStore (JKS), not a certificate")
        .stderr_has(
            "`keytool -importkeystore -srckeystore k.jks -srcstoretype JKS -destkeystore k.p12 -deststoretype PKCS12`",
        );
}

#[test]
fn sidecar_calls_the_upstream_with_a_p12() {
    use std::io::{Read, Write};
    let f = files();
    let d = f.path();
    let server = endpoint(&f);
    let upstream = format!("https://localhost:{}", server.addr.port());
    let args = |pw: &'static str| {
        vec![
            "sidecar",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            upstream.as_str(),
            "--cert",
            "alice.p12",
            "--key-password-file",
            pw,
            "--ca",
            "root.crt",
        ]
    };
    let sidecar = util::process::Server::start(d, &args("pw.txt"), "sidecar: http://");
    let line = sidecar.line("sidecar:");
    let addr = line
        .split_whitespace()
        .nth(1)
        .and_then(|u| u.strip_prefix("http://"))
        .unwrap()
        .to_string();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    conn.write_all(b"GET / HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.contains(&format!("hello {}", alice_x5t(&f))),
        "{response}"
    );
    sidecar.kill();
    // A wrong password, and a PEM certificate without its key: exit 2 at start.
    certbound(d, &args("bad.txt"))
        .code(2)
        .stderr_has("the password for alice.p12 is wrong");
    certbound(
        d,
        &["sidecar", "--upstream", &upstream, "--cert", "alice.crt"],
    )
    .code(2)
    .stderr_has("give the client certificate's key with --key");
}
