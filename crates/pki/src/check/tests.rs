use super::*;
use certbound_testkit::{Eku, LeafOptions, NOW, TestPki, pem, rsa_spki};
use time::macros::datetime;

struct Case {
    cert: String,
    key: Option<(String, u32)>,
    ca: Option<String>,
    usage: Usage,
    host: Option<&'static str>,
    now: OffsetDateTime,
}

impl Case {
    fn new(cert: String) -> Self {
        Self {
            cert,
            key: None,
            ca: None,
            usage: Usage::Client,
            host: None,
            now: NOW,
        }
    }

    fn run(&self) -> Report {
        let input = CheckInput {
            cert: Named {
                name: "client.crt",
                bytes: self.cert.as_bytes(),
            },
            key: self.key.as_ref().map(|(k, mode)| KeyFile {
                file: Named {
                    name: "client.key",
                    bytes: k.as_bytes(),
                },
                mode: Some(*mode),
            }),
            ca: self.ca.as_ref().map(|c| Named {
                name: "ca.crt",
                bytes: c.as_bytes(),
            }),
            chain: None,
            usage: self.usage,
            host: self.host,
            now: self.now,
            warn_days: DEFAULT_WARN_DAYS,
            nearby: &[],
        };
        run(&input)
    }
}

fn status(r: &Report, id: &str) -> Status {
    r.checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id}"))
        .status
}

fn message<'a>(r: &'a Report, id: &str) -> &'a str {
    &r.checks.iter().find(|c| c.id == id).unwrap().message
}

#[test]
fn a_good_client_chain_passes_everything() {
    let pki = TestPki::new();
    let leaf = pki.intermediate.issue(&LeafOptions::client("alice"));
    let mut case = Case::new(format!(
        "{}{}",
        leaf.cert_pem(),
        pki.intermediate.cert_pem()
    ));
    case.key = Some((leaf.key_pem.clone(), 0o600));
    case.ca = Some(pki.root.cert_pem());
    let r = case.run();
    assert!(r.ok, "{:#?}", r.checks);
    for id in [
        "parse",
        "validity",
        "purpose",
        "key-usage",
        "key",
        "key-file",
        "chain",
        "strength",
        "self-signed",
        "profile",
    ] {
        assert_eq!(status(&r, id), Status::Pass, "{id}: {}", message(&r, id));
    }
    assert_eq!(status(&r, "host"), Status::Skip);
    assert_eq!(r.path.as_ref().unwrap().len(), 3);
    assert_eq!(r.chain.len(), 1);
    let cert = r.certificate.as_ref().unwrap();
    assert_eq!(cert.info.x5t_s256, crate::x5t_s256(&leaf.cert));
    assert!(cert.days_left > 150);
}

#[test]
fn every_check_has_a_stable_id_and_json_shape() {
    let pki = TestPki::new();
    let leaf = pki.root.issue(&LeafOptions::client("alice"));
    let r = Case::new(leaf.cert_pem()).run();
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["checks"].as_array().unwrap().len(), 11);
    assert_eq!(json["checks"][0]["id"], "parse");
    assert_eq!(json["checks"][10]["id"], "profile");
    assert!(json["certificate"]["x5t#S256"].is_string());
    assert!(
        json["certificate"]["sha256_fingerprint"]
            .as_str()
            .unwrap()
            .contains(':')
    );
    assert_eq!(json["certificate"]["key"]["type"], "ec");
}

#[test]
fn garbage_and_wrong_files_fail_parse() {
    let pki = TestPki::new();
    for input in [
        "",
        "not a certificate",
        &pki.root.key_pem(),
        &pem("CERTIFICATE REQUEST", b"\x30\x00"),
    ] {
        let r = Case::new(input.to_string()).run();
        assert!(!r.ok);
        assert_eq!(r.checks.len(), 1);
        assert_eq!(status(&r, "parse"), Status::Fail);
        assert!(r.certificate.is_none());
    }
}

#[test]
fn validity_expired_not_yet_and_expiring() {
    let pki = TestPki::new();
    let expired = pki.root.issue(&LeafOptions::client("old").validity(
        datetime!(2025-01-01 0:00 UTC),
        datetime!(2026-01-03 0:00 UTC),
    ));
    let mut case = Case::new(expired.cert_pem());
    case.now = datetime!(2026-02-13 0:00 UTC);
    let r = case.run();
    assert_eq!(status(&r, "validity"), Status::Fail);
    assert_eq!(
        message(&r, "validity"),
        "client.crt expired on 2026-01-03 (41 days ago)"
    );

    let later = pki.root.issue(&LeafOptions::client("later").validity(
        datetime!(2026-09-01 0:00 UTC),
        datetime!(2027-09-01 0:00 UTC),
    ));
    let r = Case::new(later.cert_pem()).run();
    assert_eq!(status(&r, "validity"), Status::Fail);
    assert!(message(&r, "validity").contains("not valid until 2026-09-01"));

    let soon = pki.root.issue(&LeafOptions::client("soon").validity(
        datetime!(2026-01-01 0:00 UTC),
        datetime!(2026-06-20 0:00 UTC),
    ));
    let r = Case::new(soon.cert_pem()).run();
    assert_eq!(status(&r, "validity"), Status::Warn);
    assert!(r.ok, "a warning is not a failure");
}

#[test]
fn purpose_wrong_eku_no_eku_and_ca() {
    let pki = TestPki::new();
    let server = pki.root.issue(&LeafOptions::server("api"));
    let r = Case::new(server.cert_pem()).run();
    assert_eq!(status(&r, "purpose"), Status::Fail);
    assert!(message(&r, "purpose").contains("TLS Web Client Authentication"));
    let mut as_server = Case::new(server.cert_pem());
    as_server.usage = Usage::Server;
    assert_eq!(status(&as_server.run(), "purpose"), Status::Pass);

    let none = pki.root.issue(&LeafOptions::client("plain").eku(Eku::None));
    let r = Case::new(none.cert_pem()).run();
    assert_eq!(status(&r, "purpose"), Status::Warn);

    let r = Case::new(pki.intermediate.cert_pem()).run();
    assert_eq!(status(&r, "purpose"), Status::Fail);
    assert!(message(&r, "purpose").contains("CA certificate"));
    let mut any = Case::new(pki.intermediate.cert_pem());
    any.usage = Usage::Any;
    assert_eq!(status(&any.run(), "purpose"), Status::Pass);
}

#[test]
fn key_usage_missing_digital_signature_and_inconsistent() {
    let pki = TestPki::new();
    let mut opts = LeafOptions::client("ke");
    opts.key_usages = vec![rcgen::KeyUsagePurpose::KeyEncipherment];
    let r = Case::new(pki.root.issue(&opts).cert_pem()).run();
    assert_eq!(status(&r, "key-usage"), Status::Fail);

    let mut opts = LeafOptions::client("ke2");
    opts.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
    ];
    let r = Case::new(pki.root.issue(&opts).cert_pem()).run();
    assert_eq!(
        status(&r, "key-usage"),
        Status::Warn,
        "EC key with keyEncipherment"
    );

    let mut opts = LeafOptions::client("noku");
    opts.key_usages = Vec::new();
    let r = Case::new(pki.root.issue(&opts).cert_pem()).run();
    assert_eq!(status(&r, "key-usage"), Status::Pass);
}

#[test]
fn key_match_mismatch_encrypted_and_permissions() {
    let pki = TestPki::new();
    let leaf = pki.root.issue(&LeafOptions::client("alice"));
    let other = pki.root.issue(&LeafOptions::client("bob"));
    let mut case = Case::new(leaf.cert_pem());
    case.key = Some((other.key_pem.clone(), 0o600));
    let r = case.run();
    assert_eq!(status(&r, "key"), Status::Fail);
    assert!(message(&r, "key").contains("does not belong"));

    case.key = Some((leaf.key_pem.clone(), 0o644));
    let r = case.run();
    assert_eq!(status(&r, "key"), Status::Pass);
    assert_eq!(status(&r, "key-file"), Status::Fail);
    let hint = r
        .checks
        .iter()
        .find(|c| c.id == "key-file")
        .unwrap()
        .hint
        .clone()
        .unwrap();
    assert_eq!(hint, "chmod 600 client.key");
    case.key = Some((leaf.key_pem.clone(), 0o640));
    assert!(message(&case.run(), "key-file").contains("its group"));

    case.key = Some((
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n".into(),
        0o600,
    ));
    let r = case.run();
    assert_eq!(status(&r, "key"), Status::Fail);
    assert!(message(&r, "key").contains("encrypted"));
}

#[test]
fn chain_missing_intermediate_and_unrelated_ca() {
    let pki = TestPki::new();
    let leaf = pki.intermediate.issue(&LeafOptions::client("alice"));
    let mut case = Case::new(leaf.cert_pem());
    case.ca = Some(pki.root.cert_pem());
    let r = case.run();
    assert_eq!(status(&r, "chain"), Status::Fail);
    assert!(
        message(&r, "chain").starts_with("missing intermediate"),
        "{}",
        message(&r, "chain")
    );

    case.ca = Some(pki.other_root.cert_pem());
    case.cert = format!("{}{}", leaf.cert_pem(), pki.intermediate.cert_pem());
    let r = case.run();
    assert_eq!(status(&r, "chain"), Status::Fail);
    assert!(
        message(&r, "chain").starts_with("unknown CA"),
        "{}",
        message(&r, "chain")
    );

    case.ca = Some("garbage".into());
    assert!(message(&case.run(), "chain").contains("ca.crt (--ca)"));
}

#[test]
fn server_chain_that_leans_on_an_intermediate_in_the_ca_file_fails() {
    let pki = TestPki::new();
    let leaf = pki.intermediate.issue(&LeafOptions::server("api"));
    let mut case = Case::new(leaf.cert_pem());
    case.usage = Usage::Server;
    case.ca = Some(format!(
        "{}{}",
        pki.root.cert_pem(),
        pki.intermediate.cert_pem()
    ));
    let r = case.run();
    assert_eq!(
        status(&r, "chain"),
        Status::Fail,
        "{}",
        message(&r, "chain")
    );
}

#[test]
fn host_san_cn_only_and_mismatch() {
    let pki = TestPki::new();
    let leaf = pki
        .root
        .issue(&LeafOptions::server("api.acme.test").dns(&["api.acme.test", "*.svc.acme.test"]));
    let mut case = Case::new(leaf.cert_pem());
    case.usage = Usage::Server;
    for (host, want) in [
        ("api.acme.test", Status::Pass),
        ("API.ACME.TEST", Status::Pass),
        ("x.svc.acme.test", Status::Pass),
        ("a.b.svc.acme.test", Status::Fail),
        ("other.test", Status::Fail),
        ("127.0.0.1", Status::Pass),
        ("10.0.0.1", Status::Fail),
        ("bad host!", Status::Fail),
    ] {
        case.host = Some(host);
        assert_eq!(status(&case.run(), "host"), want, "{host}");
    }
    let cn_only = pki
        .root
        .issue(&LeafOptions::server("legacy.acme.test").dns(&[]));
    let mut case = Case::new(cn_only.cert_pem());
    case.host = Some("legacy.acme.test");
    let r = case.run();
    assert_eq!(status(&r, "host"), Status::Fail);
    assert!(message(&r, "host").contains("ignore the CN"));
}

#[test]
fn strength_weak_rsa_and_sha1() {
    let pki = TestPki::new();
    let weak = pki
        .root
        .issue_for_spki(&LeafOptions::client("weak"), &rsa_spki(1024));
    let r = Case::new(weak.cert_pem()).run();
    assert_eq!(status(&r, "strength"), Status::Fail);
    assert!(message(&r, "strength").contains("1024 bits"));
    let ok = pki
        .root
        .issue_for_spki(&LeafOptions::client("ok"), &rsa_spki(2048));
    assert_eq!(
        status(&Case::new(ok.cert_pem()).run(), "strength"),
        Status::Pass
    );

    let dir = tempfile_dir();
    let sha1 = certbound_testkit::openssl_sha1_self_signed(&dir);
    let mut case = Case::new(sha1);
    case.now = OffsetDateTime::now_utc();
    let r = case.run();
    assert_eq!(status(&r, "strength"), Status::Fail);
    assert!(message(&r, "strength").contains("sha1WithRSAEncryption"));
    std::fs::remove_dir_all(dir).ok();
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "certbound-pki-test-{}-{}",
        std::process::id(),
        NOW.unix_timestamp()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn self_signed_is_explained() {
    let leaf = certbound_testkit::self_signed(&LeafOptions::client("solo"));
    let r = Case::new(leaf.cert_pem()).run();
    assert_eq!(status(&r, "self-signed"), Status::Info);
    assert!(message(&r, "self-signed").contains("exact certificate"));
    assert_eq!(status(&r, "chain"), Status::Skip);
    let mut case = Case::new(leaf.cert_pem());
    case.ca = Some(leaf.cert_pem());
    assert_eq!(status(&case.run(), "chain"), Status::Pass);
}
