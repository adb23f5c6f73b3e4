//! `certbound check`: every check's accept and reject case through the
//! binary, every exit code, the JSON schema, and verdicts cross-checked with the
//! real `openssl verify -purpose` on the same files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::path::Path;

use certbound_testkit::{Ca, Eku, LeafOptions, NOW, TestPki, write_private};
use time::macros::datetime;
use util::{certbound, openssl};

const AT: &str = "2026-06-01T12:00:00Z";

fn write(d: &Path, name: &str, text: &str) {
    std::fs::write(d.join(name), text).unwrap();
}

/// A PKI on disk: root.crt, inter.crt, other.crt.
fn pki_files(d: &Path) -> TestPki {
    let pki = TestPki::new();
    write(d, "root.crt", &pki.root.cert_pem());
    write(d, "inter.crt", &pki.intermediate.cert_pem());
    write(d, "other.crt", &pki.other_root.cert_pem());
    write(
        d,
        "bundle.crt",
        &format!("{}{}", pki.root.cert_pem(), pki.intermediate.cert_pem()),
    );
    pki
}

fn check(d: &Path, args: &[&str]) -> util::Run {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    if !args.contains(&"--at") {
        all.extend_from_slice(&["--at", AT]);
    }
    certbound(d, &all)
}

#[test]
fn a_good_client_certificate_passes_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = pki_files(d);
    let inter = pki.intermediate.cert.clone();
    pki.intermediate
        .issue(&LeafOptions::client("alice"))
        .write(d, "alice", &[&inter]);
    check(
        d,
        &[
            "alice.crt",
            "--key",
            "alice.key",
            "--ca",
            "root.crt",
            "--usage",
            "client",
        ],
    )
    .code(0)
    .stdout_has("pass  chain")
    .stdout_has("TLS Web Client Authentication (clientAuth)")
    .stdout_has("x5t#S256")
    .stdout_has("OK: 0 failures");
}

#[test]
fn json_output_follows_the_documented_schema() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = pki_files(d);
    let leaf = pki
        .root
        .issue(&LeafOptions::server("api").dns(&["api.test"]));
    leaf.write(d, "api", &[]);
    let run = check(
        d,
        &[
            "api.crt", "--key", "api.key", "--ca", "root.crt", "--usage", "client", "--json",
        ],
    );
    run.code(1);
    let v = run.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["usage"], "client");
    let checks = v["checks"].as_array().unwrap();
    let ids: Vec<&str> = checks.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "parse",
            "validity",
            "purpose",
            "key-usage",
            "key",
            "key-file",
            "chain",
            "host",
            "strength",
            "self-signed",
            "profile"
        ]
    );
    for c in checks {
        assert!(["pass", "info", "warn", "fail", "skip"].contains(&c["status"].as_str().unwrap()));
        assert!(c["message"].is_string());
        if c["status"] == "fail" {
            assert!(c["hint"].is_string(), "every failure has a fix: {c}");
        }
    }
    let purpose = checks.iter().find(|c| c["id"] == "purpose").unwrap();
    assert_eq!(purpose["status"], "fail");
    let cert = &v["certificate"];
    for field in [
        "subject",
        "issuer",
        "serial",
        "not_before",
        "not_after",
        "days_left",
        "subject_alt_names",
        "key_usage",
        "extended_key_usage",
        "is_ca",
        "key",
        "signature_algorithm",
        "sha256_fingerprint",
        "x5t#S256",
    ] {
        assert!(
            !cert[field].is_null(),
            "certificate.{field} missing: {cert}"
        );
    }
    assert_eq!(cert["subject_alt_names"][0]["type"], "dns");
    assert_eq!(cert["subject_alt_names"][0]["value"], "api.test");
    // x5t#S256 agrees with openssl's DER SHA-256.
    let der = openssl(
        d,
        &[
            "x509", "-in", "api.crt", "-outform", "DER", "-out", "api.der",
        ],
    );
    der.code(0);
    let digest = openssl(
        d,
        &["dgst", "-sha256", "-binary", "-out", "api.sha", "api.der"],
    );
    digest.code(0);
    let sha = std::fs::read(d.join("api.sha")).unwrap();
    use base64::Engine;
    assert_eq!(
        cert["x5t#S256"],
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha)
    );
}

#[test]
fn exit_code_2_for_usage_and_io_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = pki_files(d);
    pki.root
        .issue(&LeafOptions::client("alice"))
        .write(d, "alice", &[]);
    certbound(d, &["check", "missing.crt"])
        .code(2)
        .stderr_has("cannot read the certificate missing.crt");
    certbound(d, &["check", "alice.crt", "--key", "missing.key"])
        .code(2)
        .stderr_has("missing.key");
    certbound(d, &["check", "alice.crt", "--ca", "missing.crt"]).code(2);
    certbound(d, &["check", "alice.crt", "--at", "yesterday"])
        .code(2)
        .stderr_has("RFC 3339");
    certbound(d, &["check", "alice.crt", "--usage", "both"]).code(2);
    certbound(d, &["check"]).code(2);
}

#[test]
fn garbage_key_csr_and_empty_files_fail_parse_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = pki_files(d);
    write(d, "empty.crt", "");
    write(d, "junk.crt", "this is not a certificate\n");
    write(d, "key.crt", &pki.root.key_pem());
    check(d, &["empty.crt"])
        .code(1)
        .stdout_has("FAIL  parse")
        .stdout_has("empty");
    check(d, &["junk.crt"]).code(1).stdout_has("neither PEM");
    check(d, &["key.crt"])
        .code(1)
        .stdout_has("private key")
        .stdout_has("--key");
    openssl(
        d,
        &[
            "req", "-new", "-key", "key.crt", "-subj", "/CN=x", "-out", "req.csr",
        ],
    )
    .code(0);
    check(d, &["req.csr"])
        .code(1)
        .stdout_has("certificate signing request");
}

#[test]
fn validity_checks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = pki_files(d);
    let expired = LeafOptions::client("old").validity(
        datetime!(2025-01-01 0:00 UTC),
        datetime!(2026-01-03 0:00 UTC),
    );
    pki.root.issue(&expired).write(d, "old", &[]);
    check(d, &["old.crt", "--at", "2026-02-13"])
        .code(1)
        .stdout_has("old.crt expired on 2026-01-03 (41 days ago)");
    let later = LeafOptions::client("later").validity(
        datetime!(2026-09-01 0:00 UTC),
        datetime!(2027-09-01 0:00 UTC),
    );
    pki.root.issue(&later).write(d, "later", &[]);
    check(d, &["later.crt"])
        .code(1)
        .stdout_has("not valid until 2026-09-01");
    let soon = LeafOptions::client("soon").validity(
        datetime!(2026-01-01 0:00 UTC),
        datetime!(2026-06-20 0:00 UTC),
    );
    pki.root.issue(&soon).write(d, "soon", &[]);
    check(d, &["soon.crt"]).code(0).stdout_has("warn  validity");
    check(d, &["soon.crt", "--warn-days", "5"])
        .code(0)
        .stdout_has("pass  validity");
}

#[test]
fn purpose_key_and_key_file_checks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = pki_files(d);
    pki.root
        .issue(&LeafOptions::server("api"))
        .write(d, "api", &[]);
    check(d, &["api.crt", "--usage", "client"])
        .code(1)
        .stdout_has("not usable as a client certificate")
        .stdout_has("TLS Web Client Authentication");
    check(d, &["api.crt", "--usage", "server"]).code(0);
    pki.root
        .issue(&LeafOptions::client("plain").eku(Eku::None))
        .write(d, "plain", &[]);
    check(d, &["plain.crt", "--usage", "client"])
        .code(0)
        .stdout_has("warn  purpose");

    let other = pki.root.issue(&LeafOptions::client("bob"));
    write_private(&d.join("bob.key"), &other.key_pem);
    pki.root
        .issue(&LeafOptions::client("alice"))
        .write(d, "alice", &[]);
    check(d, &["alice.crt", "--key", "bob.key"])
        .code(1)
        .stdout_has("does not belong to the certificate");
    check(d, &["alice.crt", "--key", "alice.key"])
        .code(0)
        .stdout_has("pass  key-file");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(d.join("alice.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    check(d, &["alice.crt", "--key", "alice.key"])
        .code(1)
        .stdout_has("FAIL  key-file")
        .stdout_has("fix: chmod 600 alice.key");
    // PKCS#1 and SEC1 keys, as openssl writes them, are understood.
    openssl(d, &["genrsa", "-traditional", "-out", "rsa1.key", "2048"]).code(0);
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-key",
            "rsa1.key",
            "-subj",
            "/CN=legacy",
            "-addext",
            "extendedKeyUsage=clientAuth",
            "-out",
            "legacy.crt",
        ],
    )
    .code(0);
    let now = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
    std::fs::set_permissions(d.join("rsa1.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = check(d, &["legacy.crt", "--key", "rsa1.key", "--at", &now]);
    run.code(0).stdout_has("PKCS#1 RSA");
    openssl(
        d,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "ec.key",
        ],
    )
    .code(0);
    openssl(
        d,
        &[
            "req", "-x509", "-key", "ec.key", "-subj", "/CN=ec", "-out", "ec.crt",
        ],
    )
    .code(0);
    check(d, &["ec.crt", "--key", "ec.key", "--at", &now])
        .stdout_has("SEC1 EC")
        .stdout_has("pass  key ");
    openssl(
        d,
        &[
            "pkey", "-in", "ec.key", "-aes256", "-passout", "pass:x", "-out", "enc.key",
        ],
    )
    .code(0);
    check(d, &["ec.crt", "--key", "enc.key", "--at", &now])
        .code(1)
        .stdout_has("encrypted");
}

#[test]
fn chain_checks_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = pki_files(d);
    let inter = pki.intermediate.cert.clone();
    pki.intermediate
        .issue(&LeafOptions::client("alice"))
        .write(d, "alice", &[]);
    // The intermediate's file lies beside the CA file: check names it.
    check(d, &["alice.crt", "--ca", "root.crt"])
        .code(1)
        .stdout_has("missing intermediate: 'alice' was issued by 'certbound Test Intermediate CA', which is not in the chain; inter.crt holds it, and root.crt holds its parent")
        .stdout_has("fix: append inter.crt after the leaf");
    // Elsewhere, from the names alone.
    let elsewhere = d.join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::copy(d.join("root.crt"), elsewhere.join("root.crt")).unwrap();
    check(d, &["alice.crt", "--ca", "elsewhere/root.crt"])
        .code(1)
        .stdout_has("missing intermediate: 'alice' was issued by 'certbound Test Intermediate CA'")
        .stdout_has("certbound Test Root CA");
    // A CA file beside an unrelated CA names nothing.
    check(d, &["alice.crt", "--ca", "other.crt"])
        .code(1)
        .stdout_has("unknown CA");
    check(
        d,
        &["alice.crt", "--ca", "root.crt", "--chain", "inter.crt"],
    )
    .code(0);
    pki.intermediate
        .issue(&LeafOptions::client("carol"))
        .write(d, "carol", &[&inter]);
    check(d, &["carol.crt", "--ca", "other.crt"])
        .code(1)
        .stdout_has("unknown CA");
    check(d, &["carol.crt", "--ca", "alice.crt"])
        .code(1)
        .stdout_has("leaf certificate ('alice') instead of a CA");
    let impostor = Ca::root("certbound Test Root CA", "certbound tests");
    write(d, "impostor.crt", &impostor.cert_pem());
    check(d, &["carol.crt", "--ca", "impostor.crt"])
        .code(1)
        .stdout_has("bad signature");
    let short = Ca::root_with(
        "Short Root",
        "certbound tests",
        datetime!(2026-03-01 0:00 UTC),
    );
    write(d, "short.crt", &short.cert_pem());
    short
        .issue(&LeafOptions::client("dave"))
        .write(d, "dave", &[]);
    check(d, &["dave.crt", "--ca", "short.crt"])
        .code(1)
        .stdout_has("CA certificate 'Short Root' expired");
}

#[test]
fn a_ca_certificate_verifies_as_a_ca_and_fails_as_a_leaf() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pki_files(d);
    // The intermediate to the root, and the root to itself.
    check(d, &["inter.crt", "--ca", "root.crt"])
        .code(0)
        .stdout_has(
            "verifies to root.crt: 'certbound Test Intermediate CA' → 'certbound Test Root CA'",
        );
    check(d, &["root.crt", "--ca", "root.crt"]).code(0);
    // Not to another root, and not for a client or server.
    check(d, &["inter.crt", "--ca", "other.crt"])
        .code(1)
        .stdout_has("unknown CA");
    // One cause, one FAIL line: purpose says it, chain refers to it.
    check(d, &["inter.crt", "--ca", "root.crt", "--usage", "client"])
        .code(1)
        .stdout_has("FAIL  purpose      this is a CA certificate (basicConstraints CA:TRUE), not a client certificate")
        .stdout_has("skip  chain        see purpose: a CA certificate was given")
        .stdout_has("NOT OK: 1 failure");
    // An impostor root with the right name but another key.
    let impostor = Ca::root("certbound Test Root CA", "certbound tests");
    write(d, "impostor.crt", &impostor.cert_pem());
    check(d, &["inter.crt", "--ca", "impostor.crt"])
        .code(1)
        .stdout_has("bad signature");
    // An intermediate that has expired.
    check(
        d,
        &[
            "inter.crt",
            "--ca",
            "root.crt",
            "--at",
            "2099-01-01T00:00:00Z",
        ],
    )
    .code(1)
    .stdout_has("expired");
}

#[test]
fn host_checks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = pki_files(d);
    pki.root
        .issue(&LeafOptions::server("api.acme.test").dns(&["api.acme.test"]))
        .write(d, "api", &[]);
    check(
        d,
        &["api.crt", "--usage", "server", "--host", "api.acme.test"],
    )
    .code(0)
    .stdout_has("pass  host");
    check(
        d,
        &["api.crt", "--usage", "server", "--host", "www.acme.test"],
    )
    .code(1)
    .stdout_has("www.acme.test is not named by the certificate: its SANs are DNS:api.acme.test");
    pki.root
        .issue(&LeafOptions::server("legacy.acme.test").dns(&[]))
        .write(d, "legacy", &[]);
    check(d, &["legacy.crt", "--host", "legacy.acme.test"])
        .code(1)
        .stdout_has("modern clients ignore the CN");
}

#[test]
fn strength_checks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = pki_files(d);
    let weak = pki.root.issue_for_spki(
        &LeafOptions::client("weak"),
        &certbound_testkit::rsa_spki(1024),
    );
    write(d, "weak.crt", &weak.cert_pem());
    check(d, &["weak.crt"])
        .code(1)
        .stdout_has("RSA key of 1024 bits");
    let sha1 = certbound_testkit::openssl_sha1_self_signed(d);
    write(d, "sha1.crt", &sha1);
    certbound(d, &["check", "sha1.crt"])
        .code(1)
        .stdout_has("sha1WithRSAEncryption");
}

/// certbound's overall verdict and `openssl verify -purpose` agree on the same files.
#[test]
fn verdicts_agree_with_openssl_verify() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = pki_files(d);
    let epoch = NOW.unix_timestamp().to_string();
    let inter = pki.intermediate.cert.clone();
    let cases: Vec<(&str, LeafOptions, &Ca, bool, &str, bool)> = vec![
        // (name, leaf, issuer, include intermediate, CA file, expected ok)
        (
            "good",
            LeafOptions::client("good"),
            &pki.intermediate,
            true,
            "root.crt",
            true,
        ),
        (
            "noeku",
            LeafOptions::client("noeku").eku(Eku::None),
            &pki.root,
            false,
            "root.crt",
            true,
        ),
        (
            "both",
            LeafOptions::client("both").eku(Eku::Both),
            &pki.root,
            false,
            "root.crt",
            true,
        ),
        (
            "server",
            LeafOptions::server("server"),
            &pki.root,
            false,
            "root.crt",
            false,
        ),
        (
            "expired",
            LeafOptions::client("expired").validity(
                datetime!(2025-01-01 0:00 UTC),
                datetime!(2026-01-01 0:00 UTC),
            ),
            &pki.root,
            false,
            "root.crt",
            false,
        ),
        (
            "future",
            LeafOptions::client("future").validity(
                datetime!(2026-07-01 0:00 UTC),
                datetime!(2027-07-01 0:00 UTC),
            ),
            &pki.root,
            false,
            "root.crt",
            false,
        ),
        (
            "nointer",
            LeafOptions::client("nointer"),
            &pki.intermediate,
            false,
            "root.crt",
            false,
        ),
        (
            "unrelated",
            LeafOptions::client("unrelated"),
            &pki.intermediate,
            true,
            "other.crt",
            false,
        ),
        (
            "viabundle",
            LeafOptions::client("viabundle"),
            &pki.intermediate,
            false,
            "bundle.crt",
            true,
        ),
    ];
    let server_cases: Vec<(&str, LeafOptions, &Ca, bool, &str, bool)> = vec![
        (
            "srv-good",
            LeafOptions::server("srv-good"),
            &pki.intermediate,
            true,
            "root.crt",
            true,
        ),
        (
            "srv-client",
            LeafOptions::client("srv-client"),
            &pki.root,
            false,
            "root.crt",
            false,
        ),
        (
            "srv-expired",
            LeafOptions::server("srv-expired").validity(
                datetime!(2025-01-01 0:00 UTC),
                datetime!(2026-01-01 0:00 UTC),
            ),
            &pki.root,
            false,
            "root.crt",
            false,
        ),
        (
            "srv-nointer",
            LeafOptions::server("srv-nointer"),
            &pki.intermediate,
            false,
            "root.crt",
            false,
        ),
    ];
    let all = cases
        .into_iter()
        .map(|c| ("client", c))
        .chain(server_cases.into_iter().map(|c| ("server", c)));
    for (usage, (name, opts, ca, with_inter, ca_file, expect_ok)) in all {
        let chain: Vec<&rustls_pki_types::CertificateDer<'_>> =
            if with_inter { vec![&inter] } else { vec![] };
        ca.issue(&opts).write(d, name, &chain);
        let crt = format!("{name}.crt");
        let ours = check(d, &[&crt, "--ca", ca_file, "--usage", usage]);
        let purpose = if usage == "client" {
            "sslclient"
        } else {
            "sslserver"
        };
        let mut args = vec![
            "verify", "-attime", &epoch, "-CAfile", ca_file, "-purpose", purpose,
        ];
        if with_inter {
            args.extend_from_slice(&["-untrusted", "inter.crt"]);
        }
        args.push(&crt);
        let theirs = openssl(d, &args);
        assert_eq!(
            ours.code == 0,
            expect_ok,
            "{name} ({usage}): certbound\n{}",
            ours.stdout
        );
        assert_eq!(
            theirs.code == 0,
            expect_ok,
            "{name} ({purpose}): openssl\n{}{}",
            theirs.stdout,
            theirs.stderr
        );
    }
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    // `certbound check … | head -0`: the reader is gone before the first write.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pki_files(d);
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_certbound"))
        .current_dir(d)
        .args(["check", "root.crt"])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

/// The seed's `openssl req -x509` certificate (OpenSSL 3: CA:TRUE, no
/// keyUsage) checked for the client role against itself: pinned, with the
/// true story (no "the CA belongs in --ca"). One made with keyUsage
/// keyCertSign is a root, and still pinned as itself.
#[test]
fn an_openssl_self_signed_certificate_is_pinned_for_the_client_role() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    util::seed_certificate(d, "client", &[]);
    let now = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
    let run = check(
        d,
        &[
            "client.crt",
            "--key",
            "client.key",
            "--ca",
            "client.crt",
            "--usage",
            "client",
            "--at",
            &now,
        ],
    );
    run.code(0)
        .stdout_has("pinned")
        .stdout_has("CA:TRUE without keyUsage keyCertSign")
        .stdout_lacks("belongs in --ca");
    // Another self-signed certificate with the same name is not pinned by it.
    util::seed_certificate(d, "twin", &[]);
    check(
        d,
        &[
            "twin.crt",
            "--key",
            "twin.key",
            "--ca",
            "client.crt",
            "--usage",
            "client",
            "--at",
            &now,
        ],
    )
    .code(1)
    .stdout_has("holds another certificate with the same name")
    .stdout_lacks("holds this exact self-signed certificate")
    .stdout_lacks("is a CA certificate, not a certificate for a client");
}

/// An openssl root (root.pem, key.pem) and leaves under it, each with the
/// extensions given: the profile findings through the binary.
fn openssl_pki(d: &Path) {
    openssl(
        d,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "key.pem",
        ],
    )
    .code(0);
    write(
        d,
        "root.cnf",
        "[req]\ndistinguished_name=dn\nx509_extensions=v3\n[dn]\n[v3]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n",
    );
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "key.pem",
            "-subj",
            "/CN=Profile Root",
            "-days",
            "3650",
            "-config",
            "root.cnf",
            "-out",
            "root.pem",
        ],
    )
    .code(0);
}

const SERVER_EXT: &str = "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:api.example.com
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
";

fn openssl_leaf(d: &Path, name: &str, ext: &str) {
    write(d, &format!("{name}.ext"), ext);
    let csr = format!("{name}.csr");
    openssl(
        d,
        &[
            "req",
            "-new",
            "-key",
            "key.pem",
            "-subj",
            "/CN=api.example.com",
            "-out",
            &csr,
        ],
    )
    .code(0);
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "root.pem",
            "-CAkey",
            "key.pem",
            "-days",
            "365",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.pem"),
        ],
    )
    .code(0);
}

fn now_arg() -> String {
    time::OffsetDateTime::now_utc().unix_timestamp().to_string()
}

#[test]
fn profile_findings_fail_with_exit_1_where_openssl_refuses_too() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl_pki(d);
    openssl_leaf(d, "good", SERVER_EXT);
    let run = |cert: &str| {
        let now = now_arg();
        certbound(
            d,
            &[
                "check",
                cert,
                "--ca",
                "root.pem",
                "--usage",
                "server",
                "--host",
                "api.example.com",
                "--at",
                &now,
            ],
        )
    };
    run("good.pem")
        .code(0)
        .stdout_has("pass  profile      RFC 5280 profile of 2 certificates");
    openssl(
        d,
        &["verify", "-x509_strict", "-CAfile", "root.pem", "good.pem"],
    )
    .code(0);
    // (file, extensions, the line, the RFC section)
    let no_aki = SERVER_EXT.replace(
        "authorityKeyIdentifier=keyid\n",
        "authorityKeyIdentifier=none\n",
    );
    let critical_ski = SERVER_EXT.replace(
        "subjectKeyIdentifier=hash",
        "subjectKeyIdentifier=critical,hash",
    );
    let cert_sign = SERVER_EXT.replace(
        "keyUsage=critical,digitalSignature",
        "keyUsage=critical,digitalSignature,keyCertSign",
    );
    for (name, ext, line, rfc) in [
        (
            "no-aki",
            no_aki.as_str(),
            "FAIL  aki-missing",
            "(RFC 5280 §4.2.1.1)",
        ),
        // webpki refuses it too: the chain line tells it, the finding refers to it.
        (
            "critical-ski",
            critical_ski.as_str(),
            "FAIL  chain        does not verify: 'api.example.com': subjectKeyIdentifier is marked critical",
            "skip  ski-critical see chain",
        ),
        (
            "cert-sign",
            cert_sign.as_str(),
            "FAIL  key-cert-sign-not-ca",
            "(RFC 5280 §4.2.1.3)",
        ),
    ] {
        openssl_leaf(d, name, ext);
        let file = format!("{name}.pem");
        run(&file)
            .code(1)
            .stdout_has(line)
            .stdout_has(rfc)
            .stdout_has("fix:")
            .stdout_has("NOT OK: 1 failure");
        openssl(d, &["verify", "-x509_strict", "-CAfile", "root.pem", &file]).code(2);
    }
}

#[test]
fn lint_only_needs_no_ca_and_json_carries_id_rfc_and_severity() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl_pki(d);
    openssl_leaf(d, "good", SERVER_EXT);
    openssl_leaf(
        d,
        "wild",
        &SERVER_EXT.replace("DNS:api.example.com", "DNS:api.example.com,DNS:*.co.uk"),
    );
    check(d, &["good.pem", "--lint-only", "--usage", "server"])
        .code(0)
        .stdout_has("pass  profile")
        .stdout_lacks("chain")
        .stdout_lacks("key-file");
    let run = check(
        d,
        &["wild.pem", "--lint-only", "--usage", "server", "--json"],
    );
    run.code(1);
    let v = run.json();
    assert_eq!(v["ok"], false);
    let finding = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "wildcard-public-suffix")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(finding["status"], "fail");
    assert_eq!(finding["severity"], "fail");
    assert_eq!(finding["rfc"], "RFC 6125 §7.2");
    assert_eq!(finding["certificate"], "api.example.com");
    assert!(finding["hint"].is_string());
    // The CA file's certificates are linted as anchors.
    check(d, &["good.pem", "--lint-only", "--ca", "root.pem"])
        .code(0)
        .stdout_has("RFC 5280 profile of 2 certificates");
    // Nothing to lint a key against.
    check(d, &["good.pem", "--lint-only", "--key", "key.pem"]).code(2);
}

#[test]
fn a_server_that_relies_on_the_ca_files_intermediate_fails() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = pki_files(d);
    pki.intermediate
        .issue(&LeafOptions::server("api").dns(&["api.test"]))
        .write(d, "api", &[]);
    check(d, &["api.crt", "--ca", "bundle.crt", "--usage", "server"])
        .code(1)
        .stdout_has("FAIL  chain        verifies")
        .stdout_has("only because bundle.crt holds the intermediate");
    // Sent by the server, the same chain passes.
    let inter = pki.intermediate.cert.clone();
    pki.intermediate
        .issue(&LeafOptions::server("api").dns(&["api.test"]))
        .write(d, "api-full", &[&inter]);
    check(
        d,
        &["api-full.crt", "--ca", "root.crt", "--usage", "server"],
    )
    .code(0);
}

#[test]
fn the_openssl_req_x509_recipe_is_a_warning_naming_the_rfc_point() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(d, &["genrsa", "-out", "client.key", "2048"]).code(0);
    openssl(
        d,
        &[
            "req",
            "-new",
            "-x509",
            "-key",
            "client.key",
            "-out",
            "client.crt",
            "-days",
            "365",
            "-subj",
            "/CN=My Integration Client/O=My Organization",
        ],
    )
    .code(0);
    check(
        d,
        &[
            "client.crt",
            "--key",
            "client.key",
            "--ca",
            "client.crt",
            "--usage",
            "client",
            "--at",
            &now_arg(),
        ],
    )
    .code(0)
    .stdout_has("warn  ca-key-usage-missing")
    .stdout_has("(RFC 5280 §4.2.1.3)")
    .stdout_lacks("FAIL");
}

/// `--key` given the certificate file (a common slip): the key line says
/// it is a certificate, and the certificate's public mode is not judged
/// as a key's.
#[test]
fn a_certificate_given_as_the_key_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    util::seed_certificate(d, "client", &[]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(d.join("client.crt"), std::fs::Permissions::from_mode(0o644)).unwrap();
    check(d, &["client.crt", "--key", "client.crt"])
        .code(1)
        .stdout_has("FAIL  key          client.crt: this is a certificate, not a private key")
        .stdout_has("skip  key-file     client.crt holds no private key")
        .stdout_lacks("impersonate");
    // The real key, readable by everyone, still fails key-file.
    std::fs::set_permissions(d.join("client.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    check(d, &["client.crt", "--key", "client.key"])
        .code(1)
        .stdout_has("FAIL  key-file     client.key is readable by everyone");
}
