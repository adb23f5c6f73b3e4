//! `certbound pki csr` and `certbound pki sign`: requests the real OpenSSL
//! verifies, requests made by OpenSSL and keytool signed into certificates
//! OpenSSL accepts for the right purpose and with the requester's key, and
//! every refusal with its exit code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::path::Path;

use util::{Run, certbound, mode, openssl};

/// A CA with an intermediate in `d/pki`.
fn ca(d: &Path) {
    certbound(
        d,
        &[
            "pki",
            "init",
            "--out",
            "pki",
            "--intermediate",
            "--org",
            "Acme",
        ],
    )
    .code(0);
}

/// `openssl req -new` for a fresh key: `newkey` is e.g. `rsa:2048`, `extra`
/// more arguments such as `-addext ...`.
fn openssl_csr(d: &Path, name: &str, newkey: &[&str], subj: &str, extra: &[&str]) {
    let key = format!("{name}.key");
    let csr = format!("{name}.csr");
    let mut args = vec!["req", "-new", "-nodes", "-keyout", &key, "-out", &csr];
    args.extend_from_slice(&["-subj", subj]);
    args.extend_from_slice(newkey);
    args.extend_from_slice(extra);
    openssl(d, &args).code(0);
}

fn sign(d: &Path, csr: &str, usage: &str, more: &[&str]) -> Run {
    let mut args = vec!["pki", "sign", "--ca", "pki", "--csr", csr, "--usage", usage];
    args.extend_from_slice(more);
    certbound(d, &args)
}

fn verify(d: &Path, purpose: &str, cert: &str) -> Run {
    openssl(
        d,
        &[
            "verify",
            "-purpose",
            purpose,
            "-CAfile",
            "pki/ca.crt",
            "-untrusted",
            "pki/intermediate.crt",
            cert,
        ],
    )
}

/// The certificate carries the request's public key.
fn assert_same_key(d: &Path, cert: &str, csr: &str) {
    let from_cert = openssl(d, &["x509", "-in", cert, "-noout", "-pubkey"])
        .code(0)
        .stdout
        .clone();
    let from_csr = openssl(d, &["req", "-in", csr, "-noout", "-pubkey"])
        .code(0)
        .stdout
        .clone();
    assert!(from_cert.contains("BEGIN PUBLIC KEY"), "{from_cert}");
    assert_eq!(
        from_cert, from_csr,
        "{cert} does not carry the key of {csr}"
    );
}

fn text_of(d: &Path, cert: &str) -> String {
    openssl(d, &["x509", "-in", cert, "-noout", "-text"])
        .code(0)
        .stdout
        .clone()
}

#[test]
fn csr_writes_a_request_openssl_verifies_and_a_private_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certbound(
        d,
        &[
            "pki",
            "csr",
            "--name",
            "partner",
            "--cn",
            "partner-7",
            "--org",
            "Payer Inc",
            "--uri",
            "spiffe://payer/p7",
            "--dns",
            "partner.example",
            "--email",
            "ops@payer.example",
            "--out",
            "req",
        ],
    )
    .code(0)
    .stdout_has("req/partner.csr")
    .stdout_has("mode 0600")
    .stdout_has("certbound pki sign --ca CA_DIR --csr partner.csr --usage client");
    assert_eq!(mode(&d.join("req/partner.key")), 0o600);
    assert_eq!(mode(&d.join("req/partner.csr")), 0o644);
    let csr = std::fs::read_to_string(d.join("req/partner.csr")).unwrap();
    assert!(
        csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----"),
        "{csr}"
    );
    let key = std::fs::read_to_string(d.join("req/partner.key")).unwrap();
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));

    let checked = openssl(d, &["req", "-verify", "-in", "req/partner.csr", "-noout"]);
    checked.code(0);
    assert!(
        format!("{}{}", checked.stdout, checked.stderr).contains("verify OK"),
        "{}",
        checked.stderr
    );
    let text = openssl(d, &["req", "-in", "req/partner.csr", "-noout", "-text"])
        .code(0)
        .stdout
        .clone();
    assert!(text.contains("CN = partner-7"), "{text}");
    assert!(text.contains("O = Payer Inc"), "{text}");
    assert!(text.contains("DNS:partner.example"), "{text}");
    assert!(text.contains("URI:spiffe://payer/p7"), "{text}");
    assert!(text.contains("email:ops@payer.example"), "{text}");
    // The key file is the key of the request.
    let from_key = openssl(d, &["pkey", "-in", "req/partner.key", "-pubout"])
        .code(0)
        .stdout
        .clone();
    let from_csr = openssl(d, &["req", "-in", "req/partner.csr", "-noout", "-pubkey"])
        .code(0)
        .stdout
        .clone();
    assert_eq!(from_key, from_csr);

    // The round trip: the CA signs it, the requester's key works with it.
    ca(d);
    sign(d, "req/partner.csr", "client", &[])
        .code(0)
        .stdout_has("partner-7.crt");
    verify(d, "sslclient", "pki/partner-7.crt")
        .code(0)
        .stdout_has("OK");
    assert_same_key(d, "pki/partner-7.crt", "req/partner.csr");
    let cert = text_of(d, "pki/partner-7.crt");
    assert!(cert.contains("URI:spiffe://payer/p7"), "{cert}");
    assert!(cert.contains("email:ops@payer.example"), "{cert}");
}

#[test]
fn csr_every_key_type_verifies_in_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for kt in ["ecdsa-p384", "ed25519", "rsa-2048"] {
        certbound(
            d,
            &[
                "pki",
                "csr",
                "--name",
                kt,
                "--cn",
                kt,
                "--key-type",
                kt,
                "--dns",
                "a.test",
            ],
        )
        .code(0);
        openssl(
            d,
            &["req", "-verify", "-in", &format!("{kt}.csr"), "-noout"],
        )
        .code(0);
    }
}

#[test]
fn csr_bad_flags_exit_2_and_existing_files_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certbound(d, &["pki", "csr", "--name", "p"])
        .code(2)
        .stderr_has("--cn");
    certbound(
        d,
        &[
            "pki",
            "csr",
            "--name",
            "p",
            "--cn",
            "p",
            "--dns",
            "bücher.example",
        ],
    )
    .code(2)
    .stderr_has("punycode");
    certbound(
        d,
        &[
            "pki",
            "csr",
            "--name",
            "p",
            "--cn",
            "p",
            "--key-type",
            "dsa",
        ],
    )
    .code(2);
    assert!(!d.join("p.key").exists());

    certbound(d, &["pki", "csr", "--name", "p", "--cn", "p"]).code(0);
    let before = std::fs::read(d.join("p.key")).unwrap();
    certbound(d, &["pki", "csr", "--name", "p", "--cn", "p"])
        .code(1)
        .stderr_has("already exist")
        .stderr_has("--force");
    assert_eq!(std::fs::read(d.join("p.key")).unwrap(), before);
    certbound(d, &["pki", "csr", "--name", "p", "--cn", "p", "--force"]).code(0);
    assert_ne!(std::fs::read(d.join("p.key")).unwrap(), before);
    assert_eq!(mode(&d.join("p.key")), 0o600);
}

#[test]
fn openssl_csrs_signed_as_clients_verify_and_keep_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ca(d);
    openssl_csr(
        d,
        "rsa",
        &["-newkey", "rsa:2048"],
        "/CN=partner 8/O=Payer Inc",
        &["-addext", "subjectAltName=URI:spiffe://payer/p8"],
    );
    openssl_csr(
        d,
        "ec",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "/CN=partner-9/O=Payer Inc",
        &[
            "-addext",
            "subjectAltName=URI:spiffe://payer/p9",
            "-addext",
            "extendedKeyUsage=serverAuth",
        ],
    );
    // RSA-PSS signed request, with OpenSSL's default (maximum) salt.
    openssl_csr(
        d,
        "pss",
        &["-newkey", "rsa:2048", "-sigopt", "rsa_padding_mode:pss"],
        "/CN=partner-10",
        &[],
    );

    // --name defaults to the CN made file-safe.
    sign(d, "rsa.csr", "client", &[])
        .code(0)
        .stdout_has("partner-8.crt")
        .stdout_has("sha256WithRSAEncryption")
        .stdout_has(
            "certbound client add --name partner-8 --trust-store pki/ca.crt --subject-dn 'CN=partner 8, O=Payer Inc'",
        );
    // What the request asked for and does not get is said on stderr.
    sign(d, "ec.csr", "client", &["--name", "ec"])
        .code(0)
        .stderr_has("extendedKeyUsage serverAuth (the certificate has clientAuth");
    sign(d, "pss.csr", "client", &[])
        .code(0)
        .stdout_has("RSA-PSS with SHA-256");

    for (cert, csr) in [
        ("pki/partner-8.crt", "rsa.csr"),
        ("pki/ec.crt", "ec.csr"),
        ("pki/partner-10.crt", "pss.csr"),
    ] {
        verify(d, "sslclient", cert).code(0).stdout_has("OK");
        // A client certificate is not a server certificate.
        verify(d, "sslserver", cert).code(2);
        assert_same_key(d, cert, csr);
    }
    let rsa = text_of(d, "pki/partner-8.crt");
    assert!(
        rsa.contains("Subject: CN = partner 8, O = Payer Inc"),
        "{rsa}"
    );
    assert!(rsa.contains("URI:spiffe://payer/p8"), "{rsa}");
    assert!(rsa.contains("CA:FALSE"), "{rsa}");
    let ec = text_of(d, "pki/ec.crt");
    assert!(ec.contains("TLS Web Client Authentication"), "{ec}");
    assert!(!ec.contains("TLS Web Server Authentication"), "{ec}");
    // Leaf followed by the intermediate, as `pki issue` writes it.
    let file = std::fs::read_to_string(d.join("pki/ec.crt")).unwrap();
    assert_eq!(file.matches("BEGIN CERTIFICATE").count(), 2);
    // The certbound check line printed is one that passes.
    certbound(
        d,
        &[
            "check",
            "pki/ec.crt",
            "--ca",
            "pki/ca.crt",
            "--usage",
            "client",
        ],
    )
    .code(0);
}

#[test]
fn usage_server_gives_server_auth_and_needs_a_host() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ca(d);
    openssl_csr(
        d,
        "api",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
        "/CN=api.payer.example",
        &["-sha384", "-addext", "subjectAltName=DNS:api.payer.example"],
    );
    sign(d, "api.csr", "server", &[])
        .code(0)
        .stdout_has("--usage server --host api.payer.example");
    verify(d, "sslserver", "pki/api.payer.example.crt")
        .code(0)
        .stdout_has("OK");
    verify(d, "sslclient", "pki/api.payer.example.crt").code(2);
    assert_same_key(d, "pki/api.payer.example.crt", "api.csr");

    // A server certificate without a DNS or IP SAN is a usage error…
    openssl_csr(d, "bare", &["-newkey", "rsa:2048"], "/CN=bare", &[]);
    sign(d, "bare.csr", "server", &[])
        .code(2)
        .stderr_has("add --dns or --ip");
    assert!(!d.join("pki/bare.crt").exists());
    // …that the flags repair; they replace the request's SANs and subject parts.
    sign(
        d,
        "bare.csr",
        "server",
        &[
            "--dns",
            "bare.test",
            "--ip",
            "127.0.0.1",
            "--cn",
            "bare.test",
            "--days",
            "30",
        ],
    )
    .code(0);
    verify(d, "sslserver", "pki/bare.test.crt").code(0);
    let text = text_of(d, "pki/bare.test.crt");
    assert!(
        text.contains("DNS:bare.test, IP Address:127.0.0.1"),
        "{text}"
    );
    assert!(text.contains("Subject: CN = bare.test"), "{text}");
    // RSA server keys get keyEncipherment too, as `pki issue server` gives them.
    assert!(
        text.contains("Digital Signature, Key Encipherment"),
        "{text}"
    );
}

#[test]
fn a_csr_with_a_corrupted_signature_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ca(d);
    openssl_csr(d, "p", &["-newkey", "rsa:2048"], "/CN=p", &[]);
    openssl(
        d,
        &["req", "-in", "p.csr", "-outform", "DER", "-out", "p.der"],
    )
    .code(0);
    // The untouched DER is accepted…
    sign(d, "p.der", "client", &["--name", "good"]).code(0);
    // …one flipped byte in its signature (the end of the DER) is not.
    let mut der = std::fs::read(d.join("p.der")).unwrap();
    let last = der.len() - 1;
    der[last] ^= 0x5a;
    std::fs::write(d.join("bad.der"), &der).unwrap();
    sign(d, "bad.der", "client", &["--name", "bad"])
        .code(1)
        .stderr_has("bad.der was not signed")
        .stderr_has("the CSR's signature does not verify");
    assert!(!d.join("pki/bad.crt").exists());
}

#[test]
fn a_csr_asking_to_be_a_ca_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ca(d);
    openssl_csr(
        d,
        "evil",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "/CN=evil",
        &["-addext", "basicConstraints=critical,CA:TRUE"],
    );
    sign(d, "evil.csr", "client", &[])
        .code(1)
        .stderr_has("asks for a CA certificate (basicConstraints CA:TRUE)");
    openssl_csr(
        d,
        "signer",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "/CN=signer",
        &["-addext", "keyUsage=digitalSignature,keyCertSign"],
    );
    sign(d, "signer.csr", "client", &[])
        .code(1)
        .stderr_has("keyUsage keyCertSign");
    assert!(!d.join("pki/evil.crt").exists());
    assert!(!d.join("pki/signer.crt").exists());
    // CA:FALSE asked for is what a leaf is: accepted.
    openssl_csr(
        d,
        "leaf",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "/CN=leaf",
        &["-addext", "basicConstraints=CA:FALSE"],
    );
    sign(d, "leaf.csr", "client", &[]).code(0);
}

#[test]
fn weak_and_wrong_inputs_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ca(d);
    std::fs::write(d.join("garbage.csr"), "this is not a request\n").unwrap();
    sign(d, "garbage.csr", "client", &[])
        .code(1)
        .stderr_has("neither a PEM certificate signing request")
        .stderr_has("check that you gave the .csr file");
    sign(d, "pki/ca.crt", "client", &[])
        .code(1)
        .stderr_has("this is a certificate (already signed), not a certificate signing request");
    sign(d, "pki/ca.key", "client", &[])
        .code(1)
        .stderr_has("a private key");
    openssl_csr(d, "sha1", &["-newkey", "rsa:2048"], "/CN=sha1", &["-sha1"]);
    sign(d, "sha1.csr", "client", &[])
        .code(1)
        .stderr_has("signed with sha1WithRSAEncryption, which can be forged");
    openssl_csr(d, "small", &["-newkey", "rsa:1024"], "/CN=small", &[]);
    sign(d, "small.csr", "client", &[])
        .code(1)
        .stderr_has("RSA 1024 bits, too weak");
    // Usage errors: exit 2.
    sign(d, "missing.csr", "client", &[])
        .code(2)
        .stderr_has("cannot read the CSR");
    openssl_csr(d, "ok", &["-newkey", "rsa:2048"], "/CN=ok", &[]);
    sign(d, "ok.csr", "both", &[]).code(2);
    certbound(d, &["pki", "sign", "--ca", "pki", "--csr", "ok.csr"])
        .code(2)
        .stderr_has("--usage");
    certbound(
        d,
        &[
            "pki", "sign", "--ca", "nowhere", "--csr", "ok.csr", "--usage", "client",
        ],
    )
    .code(2)
    .stderr_has("certbound pki init");
    sign(d, "ok.csr", "client", &["--days", "0"])
        .code(2)
        .stderr_has("--days");
    // A requester's CN never names a CA file, even with --force.
    openssl_csr(
        d,
        "mimic",
        &["-newkey", "rsa:2048"],
        "/CN=intermediate",
        &[],
    );
    let before = std::fs::read(d.join("pki/intermediate.crt")).unwrap();
    sign(d, "mimic.csr", "client", &["--force"])
        .code(2)
        .stderr_has("intermediate.crt is the name of a CA file");
    assert_eq!(
        std::fs::read(d.join("pki/intermediate.crt")).unwrap(),
        before
    );
    sign(d, "mimic.csr", "client", &["--name", "mimic"]).code(0);
}

#[test]
fn sign_never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ca(d);
    openssl_csr(d, "p", &["-newkey", "rsa:2048"], "/CN=p", &[]);
    sign(d, "p.csr", "client", &["--out", "out"]).code(0);
    let before = std::fs::read(d.join("out/p.crt")).unwrap();
    sign(d, "p.csr", "client", &["--out", "out"])
        .code(1)
        .stderr_has("already exist")
        .stderr_has("--force");
    assert_eq!(std::fs::read(d.join("out/p.crt")).unwrap(), before);
    sign(d, "p.csr", "client", &["--out", "out", "--force"]).code(0);
    assert_ne!(std::fs::read(d.join("out/p.crt")).unwrap(), before);
}

#[test]
fn a_keytool_csr_is_signed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ca(d);
    let keytool = |args: &[&str]| {
        let out = std::process::Command::new("keytool")
            .args(args)
            .current_dir(d)
            .output()
            .expect("cannot run keytool (is a JDK installed?)");
        assert!(
            out.status.success(),
            "keytool {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let store = [
        "-keystore",
        "partner.p12",
        "-storetype",
        "PKCS12",
        "-storepass",
        "changeit",
        "-alias",
        "partner",
    ];
    let mut gen_args = vec![
        "-genkeypair",
        "-keyalg",
        "EC",
        "-groupname",
        "secp256r1",
        "-dname",
        "CN=partner-kt, O=Payer Inc",
    ];
    gen_args.extend_from_slice(&store);
    keytool(&gen_args);
    let mut req_args = vec![
        "-certreq",
        "-file",
        "partner.csr",
        "-ext",
        "san=uri:spiffe://payer/kt",
    ];
    req_args.extend_from_slice(&store);
    keytool(&req_args);
    let csr = std::fs::read_to_string(d.join("partner.csr")).unwrap();
    assert!(csr.contains("BEGIN NEW CERTIFICATE REQUEST"), "{csr}");
    sign(d, "partner.csr", "client", &[])
        .code(0)
        .stdout_has("partner-kt.crt");
    verify(d, "sslclient", "pki/partner-kt.crt").code(0);
    assert_same_key(d, "pki/partner-kt.crt", "partner.csr");
    let text = text_of(d, "pki/partner-kt.crt");
    assert!(text.contains("URI:spiffe://payer/kt"), "{text}");
}
