//! `certbound sidecar`: plain HTTP in, mTLS and a bound token out, against a
//! real `serve --dev`; usage errors exit 2; SIGTERM stops it cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::io::{Read, Write};

use util::certbound;
use util::process::Server;

/// GET `path` over plain HTTP/1.1 from `addr` (host:port).
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

#[test]
fn forwards_plain_http_over_mtls_with_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let serve = Server::start(
        d,
        &["serve", "--dev", "--tls-port", "0", "--mtls-port", "0"],
        "Metadata:",
    );
    let mtls = serve.addr("mtls");
    let pki = "certbound-dev/pki";
    let sidecar = Server::start(
        d,
        &[
            "sidecar",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            &format!("https://{mtls}"),
            "--cert",
            &format!("{pki}/demo-client.crt"),
            "--key",
            &format!("{pki}/demo-client.key"),
            "--ca",
            &format!("{pki}/ca.crt"),
            "--token-url",
            &format!("https://{mtls}/oauth2/token"),
            "--client-id",
            "demo-client",
        ],
        "sidecar:",
    );
    let line = sidecar.line("sidecar:");
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let (status, body) = get(&addr, "/healthz");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"status\":\"ok\""), "{body}");
    assert_eq!(sidecar.terminate(), 0);
    drop(serve);
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certbound(
        d,
        &[
            "sidecar",
            "--listen",
            "0.0.0.0:0",
            "--upstream",
            "https://x",
            "--cert",
            "c",
            "--key",
            "k",
        ],
    )
    .code(2)
    .stderr_has("--insecure-listen");
    certbound(d, &["sidecar", "--upstream", "https://x"])
        .code(2)
        .stderr_has("--cert and --key");
    certbound(
        d,
        &[
            "sidecar",
            "--upstream",
            "https://x",
            "--cert",
            "missing.crt",
            "--key",
            "missing.key",
        ],
    )
    .code(2)
    .stderr_has("missing.crt");
    // The partner is called over mTLS only: no plain http:// upstream or token URL.
    let with = |extra: &[&str]| {
        let mut args = vec!["sidecar", "--cert", "c", "--key", "k"];
        args.extend_from_slice(extra);
        certbound(d, &args)
    };
    with(&["--upstream", "http://partner.test"])
        .code(2)
        .stderr_has("must be an https:// URL");
    with(&["--upstream", "https://"]).code(2);
    with(&[
        "--upstream",
        "https://partner.test",
        "--token-url",
        "http://partner.test/oauth2/token",
        "--client-id",
        "me",
    ])
    .code(2)
    .stderr_has("--token-url `http://partner.test/oauth2/token` must be an https:// URL");
    with(&[
        "--upstream",
        "https://partner.test",
        "--token-url",
        "https://partner.test/oauth2/token",
    ])
    .code(2)
    .stderr_has("--client-id");
}
