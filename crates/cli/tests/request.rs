//! `certbound request` against an in-process HTTPS server (hyper over
//! tokio-rustls) that requires a client certificate: success over HTTP/1.1
//! and HTTP/2, bodies and headers, non-2xx, TLS failures with their
//! diagnosis, and named TLS profiles from a config file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod servers;
mod util;

use std::sync::Arc;

use certbound_pki::CertInfo;
use rustls::version::{TLS12, TLS13};
use servers::{Files, Handler, Mode, RustlsServer, Seen, free_port, server_config};
use util::certbound;

/// Answers with who called, how, and what it sent.
fn handler() -> Handler {
    Arc::new(|req: &Seen| {
        let who = req
            .client_cert
            .as_ref()
            .and_then(|d| CertInfo::from_der(d).ok())
            .map_or("nobody".to_string(), |i| i.display_name().to_string());
        match req.path.as_str() {
            "/missing" => (
                404,
                "application/json",
                r#"{"error":"no such thing"}"#.to_string(),
            ),
            _ => (
                200,
                "text/plain",
                format!(
                    "{} {} from {who} over {}; content-type {}; x-trace {}; body {}",
                    req.method,
                    req.path,
                    req.version,
                    req.headers
                        .get("content-type")
                        .map_or("-", |v| v.to_str().unwrap()),
                    req.headers
                        .get("x-trace")
                        .map_or("-", |v| v.to_str().unwrap()),
                    String::from_utf8_lossy(&req.body)
                ),
            ),
        }
    })
}

fn https(f: &Files, versions: &[&'static rustls::SupportedProtocolVersion]) -> RustlsServer {
    let roots = f.certs("root.crt");
    RustlsServer::start(
        server_config(
            f.server_chain.clone(),
            f.server_key.clone_key(),
            Some(&roots),
            versions,
            &[b"h2", b"http/1.1"],
        ),
        Mode::Http(handler()),
    )
}

fn url(server: &RustlsServer, path: &str) -> String {
    format!("https://localhost:{}{path}", server.addr.port())
}

fn alice<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec![
        "--cert",
        "alice.crt",
        "--key",
        "alice.key",
        "--ca",
        "root.crt",
    ];
    all.extend_from_slice(args);
    all
}

fn request(f: &Files, url: &str, args: &[&str]) -> util::Run {
    let mut all = vec!["request", url];
    all.extend_from_slice(args);
    certbound(f.path(), &all)
}

#[test]
fn get_over_http1_and_http2_with_the_client_certificate() {
    let f = Files::new();
    let server = https(&f, &[&TLS13, &TLS12]);
    request(&f, &url(&server, "/hello?x=1"), &alice(&["--http1.1"]))
        .code(0)
        .stdout_has("GET /hello?x=1 from alice over HTTP/1.1");
    request(&f, &url(&server, "/hello"), &alice(&["--http2"]))
        .code(0)
        .stdout_has("GET /hello from alice over HTTP/2.0");
    // Without a preference the server's ALPN choice (h2) wins.
    request(&f, &url(&server, "/"), &alice(&[]))
        .code(0)
        .stdout_has("over HTTP/2.0");
    assert_eq!(
        server.wait_events(3),
        vec!["accepted CN=alice, O=certbound tests"; 3]
    );
}

#[test]
fn post_data_headers_output_file_and_verbose() {
    let f = Files::new();
    let server = https(&f, &[&TLS13]);
    let run = request(
        &f,
        &url(&server, "/submit"),
        &alice(&[
            "-d",
            "a=1&b=2",
            "-H",
            "X-Trace: t-42",
            "-v",
            "-o",
            "out.txt",
        ]),
    );
    run.code(0)
        .stderr_has("TLS              TLS 1.3")
        .stderr_has("ALPN             h2")
        .stderr_has("sent             yes: CN=alice")
        .stderr_has("> POST https://localhost:")
        .stderr_has("> x-trace: t-42")
        .stderr_has("< HTTP/2.0 200 OK")
        .stderr_has("< content-type: text/plain");
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let body = std::fs::read_to_string(f.path().join("out.txt")).unwrap();
    assert!(
        body.contains("POST /submit from alice")
            && body.contains("content-type application/x-www-form-urlencoded")
            && body.contains("x-trace t-42")
            && body.contains("body a=1&b=2"),
        "{body}"
    );
    std::fs::write(f.path().join("data.json"), r#"{"k":"v"}"#).unwrap();
    request(
        &f,
        &url(&server, "/json"),
        &alice(&["-X", "PUT", "--data-file", "data.json", "-H", "Content-Type: application/json", "--http1.1"]),
    )
    .code(0)
    .stdout_has(r#"PUT /json from alice over HTTP/1.1; content-type application/json; x-trace -; body {"k":"v"}"#);
}

#[test]
fn non_2xx_prints_the_body_and_exits_1() {
    let f = Files::new();
    let server = https(&f, &[&TLS13]);
    request(&f, &url(&server, "/missing"), &alice(&[]))
        .code(1)
        .stdout_has(r#"{"error":"no such thing"}"#)
        .stderr_has("the server answered 404 Not Found");
}

#[test]
fn tls_failures_print_the_diagnosis() {
    let f = Files::new();
    let server = https(&f, &[&TLS13]);
    // No certificate: TLS 1.3 rejects only after the handshake, on the first read.
    request(&f, &url(&server, "/"), &["--ca", "root.crt"])
        .code(1)
        .stderr_has("Diagnosis: certificate_required")
        .stderr_has("none was sent");
    // A certificate the server does not trust.
    request(
        &f,
        &url(&server, "/"),
        &[
            "--cert",
            "stranger.crt",
            "--key",
            "stranger.key",
            "--ca",
            "root.crt",
        ],
    )
    .code(1)
    .stderr_has("Diagnosis: unknown_ca")
    .stderr_has("does not trust your issuer 'Other Root CA'");
    // The server's certificate does not chain to the CA given.
    request(
        &f,
        &url(&server, "/"),
        &[
            "--cert",
            "alice.crt",
            "--key",
            "alice.key",
            "--ca",
            "other.crt",
        ],
    )
    .code(1)
    .stderr_has("Verification FAILED")
    .stderr_has("unknown CA");
    let events = server.wait_events(3);
    assert!(
        events.iter().all(|e| e.starts_with("rejected")),
        "{events:?}"
    );
    // Nothing listening.
    request(
        &f,
        &format!("https://127.0.0.1:{}/", free_port()),
        &alice(&[]),
    )
    .code(1)
    .stderr_has("connection refused");
}

#[test]
fn tls_profile_from_a_config_file() {
    let f = Files::new();
    let server = https(&f, &[&TLS13]);
    let conf = f.path().join("conf");
    std::fs::create_dir(&conf).unwrap();
    std::fs::write(
        conf.join("certbound.toml"),
        r#"
[server]
listen = "127.0.0.1:0"

[tls.partner]
cert = "../alice.crt"
key = "../alice.key"
ca = "../root.crt"
min_version = "1.3"

[tls.broken]
cert = "../alice.crt"
key = "../nowhere.key"
min_version = "1.0"
"#,
    )
    .unwrap();
    // Run from another directory: paths are relative to the config file.
    let elsewhere = tempfile::tempdir().unwrap();
    let config = conf.join("certbound.toml");
    let config = config.to_str().unwrap();
    certbound(
        elsewhere.path(),
        &[
            "request",
            &url(&server, "/p"),
            "--tls",
            "partner",
            "--config",
            config,
            "-v",
        ],
    )
    .code(0)
    .stdout_has("GET /p from alice")
    .stderr_has("TLS 1.3 only");
    certbound(
        elsewhere.path(),
        &[
            "request",
            &url(&server, "/p"),
            "--tls",
            "broken",
            "--config",
            config,
        ],
    )
    .code(2)
    .stderr_has("2 problems")
    .stderr_has("tls.broken.key: cannot read the key")
    .stderr_has("tls.broken.min_version");
    certbound(
        elsewhere.path(),
        &[
            "request",
            &url(&server, "/p"),
            "--tls",
            "nope",
            "--config",
            config,
        ],
    )
    .code(2)
    .stderr_has("no TLS profile `nope`")
    .stderr_has("broken, partner");
    // --tls and --cert do not mix.
    certbound(
        f.path(),
        &[
            "request",
            &url(&server, "/p"),
            "--tls",
            "partner",
            "--config",
            config,
            "--cert",
            "alice.crt",
            "--key",
            "alice.key",
        ],
    )
    .code(2);
}

#[test]
fn exit_code_2_for_usage_errors() {
    let f = Files::new();
    let d = f.path();
    certbound(d, &["request", "http://localhost/"])
        .code(2)
        .stderr_has("HTTPS only");
    certbound(d, &["request", "https://localhost/", "-H", "no colon"])
        .code(2)
        .stderr_has("'Name: value'");
    certbound(
        d,
        &[
            "request",
            "https://localhost/",
            "--data-file",
            "missing.bin",
        ],
    )
    .code(2)
    .stderr_has("cannot read the data file");
    certbound(
        d,
        &[
            "request",
            "https://localhost/",
            "-d",
            "x",
            "--data-file",
            "a",
        ],
    )
    .code(2);
    certbound(d, &["request", "https://localhost/", "--tls", "p"]).code(2);
    certbound(
        d,
        &["request", "https://localhost/", "--http1.1", "--http2"],
    )
    .code(2);
}

#[test]
fn include_puts_the_status_line_and_headers_before_the_body() {
    let f = Files::new();
    let server = https(&f, &[&TLS13]);
    for flag in ["-i", "--include"] {
        let run = request(&f, &url(&server, "/hello"), &alice(&[flag, "--http1.1"]));
        run.code(0);
        assert!(
            run.stdout.starts_with("HTTP/1.1 200 OK\r\n"),
            "{}",
            run.stdout
        );
        let (head, body) = run.stdout.split_once("\r\n\r\n").unwrap();
        assert!(head.contains("\r\ncontent-type: text/plain\r\n"), "{head}");
        assert!(
            body.starts_with("GET /hello from alice over HTTP/1.1"),
            "{body}"
        );
    }
    let run = request(&f, &url(&server, "/missing"), &alice(&["-i", "--http2"]));
    run.code(1)
        .stdout_has("\r\ncontent-type: application/json\r\n")
        .stdout_has("\r\n\r\n{\"error\":\"no such thing\"}");
    assert!(run.stdout.starts_with("HTTP/2 404\r\n"), "{}", run.stdout);
    // Without -i: the body alone.
    let run = request(&f, &url(&server, "/hello"), &alice(&[]));
    run.code(0).stdout_lacks("content-type: text/plain");
    assert!(run.stdout.starts_with("GET /hello"), "{}", run.stdout);
}

#[test]
fn json_prints_status_headers_and_body_as_one_object() {
    let f = Files::new();
    let server = https(&f, &[&TLS13]);
    // A text body is a string; --cacert is --ca.
    let run = request(
        &f,
        &url(&server, "/hello"),
        &[
            "--cert",
            "alice.crt",
            "--key",
            "alice.key",
            "--cacert",
            "root.crt",
            "--json",
        ],
    );
    run.code(0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["status"], 200);
    assert_eq!(v["headers"]["content-type"], "text/plain");
    assert!(
        v["body"]
            .as_str()
            .unwrap()
            .starts_with("GET /hello from alice over HTTP/2.0"),
        "{v}"
    );
    // A JSON body is JSON; a non-2xx status still exits 1.
    let run = request(&f, &url(&server, "/missing"), &alice(&["--json"]));
    run.code(1).stderr_has("the server answered 404 Not Found");
    let v = run.json();
    assert_eq!(v["status"], 404);
    assert_eq!(v["body"]["error"], "no such thing");
    // -o takes the JSON; -i and --json do not mix.
    request(
        &f,
        &url(&server, "/hello"),
        &alice(&["--json", "-o", "out.json"]),
    )
    .code(0);
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(f.path().join("out.json")).unwrap()).unwrap();
    assert_eq!(saved["status"], 200);
    request(&f, &url(&server, "/hello"), &alice(&["--json", "-i"]))
        .code(2)
        .stderr_has("cannot be used with");
}
