//! Clients of another age, driven by openssl s_client (which still speaks
//! TLS 1.0 and signs with a 1024-bit key at security level 0): each refused
//! with the right alert and the true reason in the log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};

use common::Harness;

fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn an_rsa_1024_client_key_is_named_in_the_log() {
    let h = Harness::start("").await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, bits) in [("weak", "1024"), ("strong", "2048")] {
        openssl(
            d,
            &[
                "req",
                "-x509",
                "-newkey",
                &format!("rsa:{bits}"),
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.crt"),
                "-subj",
                &format!("/CN={name}"),
                "-days",
                "30",
            ],
        );
    }
    let addr = h.addr("mtls");
    let dir_path = d.to_path_buf();
    let connect = move |name: &str| {
        let d = dir_path.as_path();
        let mut child = Command::new("openssl")
            .args([
                "s_client",
                "-connect",
                &addr.to_string(),
                "-tls1_3",
                "-cert",
                &format!("{name}.crt"),
                "-key",
                &format!("{name}.key"),
                "-cipher",
                "DEFAULT@SECLEVEL=0",
                "-ign_eof",
            ])
            .current_dir(d)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // An HTTP request, then EOF: the server answers (or refuses) and closes.
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let c = connect.clone();
    let weak = tokio::task::spawn_blocking(move || c("weak"))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&weak.stdout);
    assert!(!text.contains("\"status\":\"ok\""), "{text}");
    // The reason is in the log; wait for it.
    h.logs.wait_for("1024 bits").await;
    h.logs
        .assert_has("the client's RSA key has 1024 bits; at least 2048 are accepted");
    assert!(!h.logs.text().contains("BadSignature"), "{}", h.logs.text());
    // A 2048-bit key gets through the same handshake.
    let strong = tokio::task::spawn_blocking(move || connect("strong"))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&strong.stdout);
    assert!(text.contains("\"status\""), "{text}");
}

/// TLS 1.0 and 1.1 get the `protocol_version` alert (70), not
/// `handshake_failure`, and the log names the version; TLS 1.2 gets through.
#[tokio::test]
async fn tls_1_0_and_1_1_get_the_protocol_version_alert() {
    let h = Harness::start("").await;
    let addr = h.addr("tls").to_string();
    let hello = move |flag: &'static str| {
        let addr = addr.clone();
        move || {
            Command::new("openssl")
                .args([
                    "s_client",
                    "-connect",
                    &addr,
                    flag,
                    "-cipher",
                    "DEFAULT@SECLEVEL=0",
                ])
                .stdin(Stdio::null())
                .output()
                .unwrap()
        }
    };
    for (flag, name) in [("-tls1", "TLS 1.0"), ("-tls1_1", "TLS 1.1")] {
        let out = tokio::task::spawn_blocking(hello(flag)).await.unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("alert number 70"), "{flag}: {text}");
        let want = format!("the client offers only {name}");
        h.logs.wait_for(&want).await;
    }
    let out = tokio::task::spawn_blocking(hello("-tls1_2")).await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Protocol  : TLSv1.2") || text.contains("TLSv1.2"),
        "{text}"
    );
    assert!(!text.contains("alert number"), "{text}");
}
