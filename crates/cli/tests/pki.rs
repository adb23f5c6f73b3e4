//! `certbound pki`: what it writes, and that the real OpenSSL accepts it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use util::{certbound, mode, openssl};

#[test]
fn init_writes_a_root_ca_with_private_key_modes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certbound(d, &["pki", "init", "--out", "pki", "--org", "Acme"])
        .code(0)
        .stdout_has("Acme Root CA");
    assert_eq!(mode(&d.join("pki")), 0o700);
    assert_eq!(mode(&d.join("pki/ca.key")), 0o600);
    assert_eq!(mode(&d.join("pki/ca.crt")), 0o644);
    let text = openssl(d, &["x509", "-in", "pki/ca.crt", "-noout", "-text"])
        .code(0)
        .stdout
        .clone();
    assert!(
        text.contains("X509v3 Basic Constraints: critical"),
        "{text}"
    );
    assert!(text.contains("CA:TRUE"), "{text}");
    assert!(text.contains("Certificate Sign, CRL Sign"), "{text}");
    assert!(text.contains("X509v3 Subject Key Identifier"), "{text}");
    assert!(text.contains("X509v3 Authority Key Identifier"), "{text}");
    assert!(
        std::fs::read_to_string(d.join("pki/ca.key"))
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    // The key is PKCS#8 that OpenSSL reads.
    openssl(d, &["pkey", "-in", "pki/ca.key", "-noout"]).code(0);
}

#[test]
fn never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certbound(d, &["pki", "init", "--out", "pki"]).code(0);
    let before = std::fs::read(d.join("pki/ca.key")).unwrap();
    certbound(d, &["pki", "init", "--out", "pki", "--intermediate"])
        .code(1)
        .stderr_has("already exist")
        .stderr_has("--force");
    assert_eq!(
        std::fs::read(d.join("pki/ca.key")).unwrap(),
        before,
        "nothing was overwritten"
    );
    assert!(
        !d.join("pki/intermediate.crt").exists(),
        "nothing half-written"
    );
    certbound(
        d,
        &["pki", "init", "--out", "pki", "--intermediate", "--force"],
    )
    .code(0);
    assert_ne!(std::fs::read(d.join("pki/ca.key")).unwrap(), before);
    assert_eq!(mode(&d.join("pki/intermediate.key")), 0o600);
    // No temporary files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(d.join("pki"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty());

    certbound(d, &["pki", "issue", "client", "--ca", "pki", "--name", "c"]).code(0);
    certbound(d, &["pki", "issue", "client", "--ca", "pki", "--name", "c"])
        .code(1)
        .stderr_has("--force");
}

#[test]
fn openssl_accepts_what_it_makes_through_an_intermediate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certbound(d, &["pki", "init", "--out", "pki", "--intermediate"]).code(0);
    let text = openssl(
        d,
        &["x509", "-in", "pki/intermediate.crt", "-noout", "-text"],
    )
    .code(0)
    .stdout
    .clone();
    assert!(text.contains("CA:TRUE, pathlen:0"), "{text}");
    certbound(
        d,
        &[
            "pki",
            "issue",
            "server",
            "--ca",
            "pki",
            "--name",
            "api",
            "--dns",
            "api.test",
            "--ip",
            "127.0.0.1",
        ],
    )
    .code(0);
    certbound(
        d,
        &[
            "pki",
            "issue",
            "client",
            "--ca",
            "pki",
            "--name",
            "partner",
            "--cn",
            "partner-7",
            "--uri",
            "spiffe://acme/p7",
        ],
    )
    .code(0);
    let verify = |purpose: &str, file: &str| {
        openssl(
            d,
            &[
                "verify",
                "-CAfile",
                "pki/ca.crt",
                "-untrusted",
                "pki/intermediate.crt",
                "-purpose",
                purpose,
                file,
            ],
        )
    };
    verify("sslserver", "pki/api.crt").code(0).stdout_has("OK");
    verify("sslclient", "pki/partner.crt")
        .code(0)
        .stdout_has("OK");
    // EKU is exclusive: a server certificate is not a client certificate, and back.
    verify("sslclient", "pki/api.crt").code(2);
    verify("sslserver", "pki/partner.crt").code(2);
    // The server file holds the leaf followed by the intermediate.
    let api = std::fs::read_to_string(d.join("pki/api.crt")).unwrap();
    assert_eq!(api.matches("BEGIN CERTIFICATE").count(), 2);
    let text = openssl(d, &["x509", "-in", "pki/api.crt", "-noout", "-text"])
        .code(0)
        .stdout
        .clone();
    assert!(
        text.contains("DNS:api.test, IP Address:127.0.0.1"),
        "{text}"
    );
    assert!(text.contains("TLS Web Server Authentication"), "{text}");
    assert!(!text.contains("TLS Web Client Authentication"), "{text}");
    let client = openssl(d, &["x509", "-in", "pki/partner.crt", "-noout", "-text"])
        .code(0)
        .stdout
        .clone();
    assert!(client.contains("URI:spiffe://acme/p7"), "{client}");
    // Default lifetimes: 397 days for servers, 365 for clients.
    let days = |file: &str| {
        let out = openssl(
            d,
            &[
                "x509",
                "-in",
                file,
                "-noout",
                "-checkend",
                &(396 * 86400).to_string(),
            ],
        );
        out.code
    };
    assert_eq!(days("pki/api.crt"), 0, "server cert lives past 396 days");
    assert_eq!(
        days("pki/partner.crt"),
        1,
        "client cert ends before 396 days"
    );
}

#[test]
fn every_key_type_is_accepted_by_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for kt in [
        "ecdsa-p256",
        "ecdsa-p384",
        "ed25519",
        "rsa-2048",
        "rsa-3072",
        "rsa-4096",
    ] {
        let ca = format!("ca-{kt}");
        certbound(
            d,
            &[
                "pki",
                "init",
                "--out",
                &ca,
                "--key-type",
                kt,
                "--intermediate",
            ],
        )
        .code(0);
        certbound(
            d,
            &[
                "pki",
                "issue",
                "client",
                "--ca",
                &ca,
                "--name",
                "c",
                "--key-type",
                kt,
            ],
        )
        .code(0);
        certbound(
            d,
            &[
                "pki",
                "issue",
                "server",
                "--ca",
                &ca,
                "--name",
                "s",
                "--dns",
                "localhost",
                "--key-type",
                kt,
            ],
        )
        .code(0);
        let ca_file = format!("{ca}/ca.crt");
        openssl(
            d,
            &[
                "verify",
                "-CAfile",
                &ca_file,
                "-untrusted",
                &format!("{ca}/intermediate.crt"),
                "-purpose",
                "sslclient",
                &format!("{ca}/c.crt"),
            ],
        )
        .code(0);
        openssl(
            d,
            &[
                "verify",
                "-CAfile",
                &ca_file,
                "-untrusted",
                &format!("{ca}/intermediate.crt"),
                "-purpose",
                "sslserver",
                &format!("{ca}/s.crt"),
            ],
        )
        .code(0);
        openssl(d, &["pkey", "-in", &format!("{ca}/c.key"), "-noout"]).code(0);
        if kt.starts_with("rsa") {
            let text = openssl(
                d,
                &["x509", "-in", &format!("{ca}/s.crt"), "-noout", "-text"],
            )
            .code(0)
            .stdout
            .clone();
            assert!(text.contains(&format!("({} bit)", &kt[4..])), "{text}");
            assert!(
                text.contains("Digital Signature, Key Encipherment"),
                "{text}"
            );
        }
        // certbound check agrees.
        certbound(
            d,
            &[
                "check",
                &format!("{ca}/c.crt"),
                "--key",
                &format!("{ca}/c.key"),
                "--ca",
                &ca_file,
                "--usage",
                "client",
            ],
        )
        .code(0);
    }
}

#[test]
fn self_signed_is_its_own_trust_anchor_with_the_right_eku() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certbound(
        d,
        &[
            "pki",
            "self-signed",
            "--name",
            "client",
            "--cn",
            "My Integration Client",
            "--org",
            "My Organization",
        ],
    )
    .code(0)
    .stdout_has("certificateTrustStore");
    assert_eq!(mode(&d.join("client.key")), 0o600);
    openssl(
        d,
        &[
            "verify",
            "-CAfile",
            "client.crt",
            "-purpose",
            "sslclient",
            "client.crt",
        ],
    )
    .code(0);
    let text = openssl(
        d,
        &[
            "x509",
            "-in",
            "client.crt",
            "-noout",
            "-subject",
            "-ext",
            "extendedKeyUsage",
        ],
    )
    .code(0)
    .stdout
    .clone();
    assert!(
        text.contains("CN = My Integration Client, O = My Organization"),
        "{text}"
    );
    assert!(text.contains("TLS Web Client Authentication"), "{text}");
    certbound(
        d,
        &[
            "pki",
            "self-signed",
            "--name",
            "srv",
            "--cn",
            "localhost",
            "--usage",
            "server",
            "--dns",
            "localhost",
        ],
    )
    .code(0);
    openssl(
        d,
        &[
            "verify",
            "-CAfile",
            "srv.crt",
            "-purpose",
            "sslserver",
            "srv.crt",
        ],
    )
    .code(0);
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certbound(d, &["pki", "init", "--out", "pki", "--key-type", "dsa"])
        .code(2)
        .stderr_has("ecdsa-p256");
    certbound(
        d,
        &[
            "pki", "issue", "server", "--ca", "nowhere", "--name", "s", "--dns", "x",
        ],
    )
    .code(2)
    .stderr_has("certbound pki init");
    certbound(d, &["pki", "init", "--out", "pki"]).code(0);
    certbound(d, &["pki", "issue", "server", "--ca", "pki", "--name", "s"])
        .code(2)
        .stderr_has("--dns or --ip");
    certbound(
        d,
        &[
            "pki",
            "issue",
            "server",
            "--ca",
            "pki",
            "--name",
            "s",
            "--ip",
            "not-an-ip",
        ],
    )
    .code(2);
    certbound(d, &["pki", "init", "--out", "pki2", "--days", "0"])
        .code(2)
        .stderr_has("--days");
    certbound(
        d,
        &[
            "pki",
            "issue",
            "client",
            "--ca",
            "pki",
            "--name",
            "u",
            "--dns",
            "bücher.test",
        ],
    )
    .code(2)
    .stderr_has("punycode");
    assert!(!d.join("pki/u.key").exists(), "nothing written on error");
    certbound(d, &["pki", "self-signed", "--name", "blank", "--cn", " "])
        .code(2)
        .stderr_has("required");
    assert!(!d.join("blank.key").exists(), "nothing written on error");
}

#[test]
fn a_ca_with_the_wrong_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certbound(d, &["pki", "init", "--out", "a"]).code(0);
    certbound(d, &["pki", "init", "--out", "b"]).code(0);
    std::fs::copy(d.join("b/ca.key"), d.join("a/ca.key")).unwrap();
    certbound(d, &["pki", "issue", "client", "--ca", "a", "--name", "c"])
        .code(1)
        .stderr_has("does not belong to the CA certificate");
}
