use super::*;
use certbound_testkit::{LeafOptions, NOW, TestPki, pem, self_signed};

fn client(store: Option<String>) -> ClientApplication {
    ClientApplication {
        resource_type: RESOURCE_TYPE.into(),
        name: "My Integration Client".into(),
        certificate_trust_store: store,
        ..ClientApplication::default()
    }
}

fn fields(e: &ValidationErrors) -> Vec<&'static str> {
    e.0.iter().map(|f| f.field).collect()
}

#[test]
fn the_medplum_shape_posts_unchanged() {
    let leaf = self_signed(&LeafOptions::client("My Integration Client"));
    let json = serde_json::json!({
        "resourceType": "ClientApplication",
        "name": "My Integration Client",
        "certificateTrustStore": leaf.cert_pem(),
        "description": "kept as it came",
        "meta": {"versionId": "1"}
    });
    let c: ClientApplication = serde_json::from_value(json.clone()).unwrap();
    let v = c.validate(Policy::default(), NOW).unwrap();
    assert!(v.warnings.is_empty());
    let store = v.client.trust_store.unwrap();
    assert_eq!(store.exact.len(), 1);
    assert!(store.anchors.is_empty());
    // Round trip keeps unknown fields.
    let back = serde_json::to_value(&c).unwrap();
    assert_eq!(back["description"], "kept as it came");
    assert_eq!(back["meta"]["versionId"], "1");
    assert_eq!(back["certificateTrustStore"], json["certificateTrustStore"]);
}

#[test]
fn a_ca_without_constraint_warns_or_is_refused_by_policy() {
    let pki = TestPki::new();
    let c = client(Some(pki.root.cert_pem()));
    let v = c.validate(Policy::default(), NOW).unwrap();
    assert_eq!(v.warnings.len(), 1);
    assert!(v.warnings[0].contains("every certificate that CA issues"));
    let strict = Policy {
        require_constraints: true,
        ..Policy::default()
    };
    let e = c.validate(strict, NOW).unwrap_err();
    assert_eq!(fields(&e), ["tls_client_auth_subject_dn"]);
    let mut constrained = c.clone();
    constrained.tls_client_auth_subject_dn = Some("CN=alice,O=certbound tests".into());
    let v = constrained.validate(strict, NOW).unwrap();
    assert!(v.warnings.is_empty());
    assert!(matches!(
        v.client.constraint,
        Some(SubjectConstraint::Dn(_))
    ));
}

#[test]
fn several_cas_and_self_signed_certs_in_one_store() {
    let pki = TestPki::new();
    let solo = self_signed(&LeafOptions::client("solo"));
    let text = format!(
        "{}{}{}",
        pki.root.cert_pem(),
        pki.other_root.cert_pem(),
        solo.cert_pem()
    );
    let v = client(Some(text)).validate(Policy::default(), NOW).unwrap();
    let store = v.client.trust_store.unwrap();
    assert_eq!(store.anchors.len(), 2);
    // The roots are self-signed too: each also authenticates as itself.
    assert_eq!(store.exact.len(), 3);
    assert_eq!(store.certs.len(), 3);
}

/// What `openssl req -x509` makes (OpenSSL 3: CA:TRUE, no keyUsage) is a
/// pinned certificate, not a CA: it authenticates exactly itself, vouches for
/// nothing it signed, and needs no subject constraint.
#[test]
fn a_self_signed_ca_true_without_key_cert_sign_is_pinned_not_a_ca() {
    let mut opts = LeafOptions::client("My Integration Client");
    opts.is_ca = true;
    opts.key_usages = Vec::new();
    let openssl_style = self_signed(&opts);
    let v = client(Some(openssl_style.cert_pem()))
        .validate(Policy::default(), NOW)
        .unwrap();
    assert!(v.warnings.is_empty(), "{:?}", v.warnings);
    let store = v.client.trust_store.as_ref().unwrap();
    assert!(store.anchors.is_empty());
    assert_eq!(store.exact.len(), 1);
    assert_eq!(
        store.certs[0].trust_role(),
        certbound_pki::inspect::TrustRole::Pinned
    );
    // Required constraints do not apply to a pinned certificate.
    let strict = Policy {
        require_constraints: true,
        ..Policy::default()
    };
    assert!(
        client(Some(openssl_style.cert_pem()))
            .validate(strict, NOW)
            .is_ok()
    );
}

#[test]
fn weak_self_signed_certificates_are_refused_for_what_they_are() {
    // RSA-1024, and SHA-1: made by openssl, as no Rust library makes them any more.
    for (args, what) in [
        (
            &["-newkey", "rsa:1024", "-sha256"][..],
            "RSA key of 1024 bits",
        ),
        (&["-newkey", "rsa:2048", "-sha1"][..], "sha1"),
    ] {
        let out = std::process::Command::new("openssl")
            .args(["req", "-x509", "-nodes", "-keyout", "/dev/null"])
            .args(args)
            .args(["-subj", "/CN=legacy", "-days", "3650"])
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let weak = String::from_utf8(out.stdout).unwrap();
        let e = client(Some(weak))
            .validate(Policy::default(), time::OffsetDateTime::now_utc())
            .unwrap_err();
        let text = format!("{e:?}").to_lowercase();
        assert!(text.contains(&what.to_lowercase()), "{text}");
        assert!(!text.contains("neither a ca nor self-signed"), "{text}");
    }
}

#[test]
fn bad_blocks_are_named() {
    let pki = TestPki::new();
    let leaf = pki.root.issue(&LeafOptions::client("alice"));
    let text = format!("{}{}", pki.root.cert_pem(), leaf.cert_pem());
    let e = client(Some(text))
        .validate(Policy::default(), NOW)
        .unwrap_err();
    assert_eq!(fields(&e), ["certificateTrustStore"]);
    assert!(e.0[0].message.contains("block 2"), "{}", e.0[0].message);
    assert!(e.0[0].message.contains("neither a CA nor self-signed"));

    let broken = pki.root.cert_pem().replace("MI", "!!");
    let e = client(Some(broken))
        .validate(Policy::default(), NOW)
        .unwrap_err();
    assert!(e.0[0].message.contains("block 1"), "{}", e.0[0].message);

    let junk = pem("CERTIFICATE", b"\x30\x03\x02\x01\x01");
    let e = client(Some(junk))
        .validate(Policy::default(), NOW)
        .unwrap_err();
    assert!(
        e.0[0].message.contains("not a valid X.509"),
        "{}",
        e.0[0].message
    );

    let key = client(Some(pki.root.key_pem()))
        .validate(Policy::default(), NOW)
        .unwrap_err();
    assert!(
        key.0[0].message.contains("PRIVATE KEY"),
        "{}",
        key.0[0].message
    );

    let none = client(Some("hello".into()))
        .validate(Policy::default(), NOW)
        .unwrap_err();
    assert!(none.0[0].message.contains("no PEM block"));
}

#[test]
fn expired_trust_store_certificate_is_accepted_with_a_warning() {
    let old = self_signed(&LeafOptions::client("old").validity(
        time::macros::datetime!(2024-01-01 0:00 UTC),
        time::macros::datetime!(2025-01-01 0:00 UTC),
    ));
    let v = client(Some(old.cert_pem()))
        .validate(Policy::default(), NOW)
        .unwrap();
    assert!(
        v.warnings[0].contains("expired on 2025-01-01"),
        "{:?}",
        v.warnings
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let c = ClientApplication {
        resource_type: "Patient".into(),
        id: Some("bad id!".into()),
        name: String::new(),
        certificate_trust_store: None,
        scope: Some("a  b".into()),
        access_token_lifetime: Some(5),
        tls_client_auth_san_ip: Some("not-ip".into()),
        ..ClientApplication::default()
    };
    let e = c.validate(Policy::default(), NOW).unwrap_err();
    let f = fields(&e);
    for want in [
        "resourceType",
        "id",
        "name",
        "certificateTrustStore",
        "tls_client_auth_san_ip",
        "scope",
        "access_token_lifetime",
    ] {
        assert!(f.contains(&want), "{want} missing from {f:?}");
    }
}

#[test]
fn one_constraint_only_and_not_both_methods() {
    let pki = TestPki::new();
    let mut c = client(Some(pki.root.cert_pem()));
    c.tls_client_auth_subject_dn = Some("CN=a".into());
    c.tls_client_auth_san_dns = Some("a.test".into());
    let e = c.validate(Policy::default(), NOW).unwrap_err();
    assert_eq!(fields(&e), ["tls_client_auth_san_dns"]);

    // Both methods, as FHIR platforms register every client: accepted, with a warning.
    let mut both = client(Some(pki.root.cert_pem()));
    both.tls_client_auth_subject_dn = Some("CN=a".into());
    both.client_secret_hash = Some("pbkdf2-sha256$1$AA$AA".into());
    let v = both.validate(Policy::default(), NOW).unwrap();
    assert!(
        v.warnings.iter().any(|w| w.contains("secret alone")),
        "{:?}",
        v.warnings
    );
    assert!(v.client.secret_hash.is_some() && v.client.trust_store.is_some());

    let mut secret_only = client(None);
    secret_only.client_secret_hash = Some("pbkdf2-sha256$1$AA$AA".into());
    assert!(secret_only.validate(Policy::default(), NOW).is_ok());
}

#[test]
fn ids() {
    assert!(valid_id("a-1.b"));
    assert!(!valid_id(""));
    assert!(!valid_id("a/b"));
    assert!(!valid_id("."));
    assert!(!valid_id(".."));
    assert!(valid_id("..."));
    assert!(valid_id(".a"));
    assert!(!valid_id(&"x".repeat(65)));
}

#[test]
fn fields_of_the_wrong_json_type_are_all_named() {
    let doc = serde_json::json!({
        "resourceType": "ClientApplication",
        "name": null,
        "scope": ["read"],
        "tls_client_auth_san_dns": 7,
        "access_token_lifetime": -1,
        "id": null,
    });
    let errors = ClientApplication::type_errors(doc.as_object().unwrap());
    let named: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.field, e.message.as_str()))
        .collect();
    assert_eq!(
        named,
        [
            ("name", "must be a string, not null"),
            ("tls_client_auth_san_dns", "must be a string, not a number"),
            ("scope", "must be a string, not an array"),
            (
                "access_token_lifetime",
                "must be a whole number of seconds (60 to 86400), not -1"
            ),
        ]
    );
    // A document they pass is one serde reads: every text field as text.
    let mut good = serde_json::Map::new();
    for (field, _) in TEXT_FIELDS.iter().filter(|(f, _)| *f != "jwksUri") {
        good.insert((*field).into(), "x".into());
    }
    good.insert("access_token_lifetime".into(), 600.into());
    assert!(ClientApplication::type_errors(&good).is_empty());
    let read: ClientApplication = serde_json::from_value(Value::Object(good)).unwrap();
    assert_eq!(read.access_token_lifetime, Some(600));
}

#[test]
fn status_is_active_by_default_off_when_set_and_anything_else_is_named() {
    let leaf = self_signed(&LeafOptions::client("partner"));
    let mut c = client(Some(leaf.cert_pem()));
    assert_eq!(
        c.validate(Policy::default(), NOW).unwrap().client.status,
        ClientStatus::Active
    );
    // Absent, it stays absent when written back (documents round-trip unchanged).
    assert!(serde_json::to_value(&c).unwrap().get("status").is_none());
    c.status = Some("off".into());
    assert_eq!(
        c.validate(Policy::default(), NOW).unwrap().client.status,
        ClientStatus::Off
    );
    assert_eq!(serde_json::to_value(&c).unwrap()["status"], "off");
    c.status = Some("active".into());
    assert_eq!(
        c.validate(Policy::default(), NOW).unwrap().client.status,
        ClientStatus::Active
    );
    // A value certbound does not know is an error, never ignored.
    c.status = Some("disabled".into());
    let e = c.validate(Policy::default(), NOW).unwrap_err();
    assert_eq!(fields(&e), ["status"]);
    assert!(e.to_string().contains("not \"disabled\""), "{e}");
    // ... and so is a status that is not text.
    let doc = serde_json::json!({"resourceType": "ClientApplication", "name": "n", "status": 1});
    let errors = ClientApplication::type_errors(doc.as_object().unwrap());
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0].field, errors[0].message.as_str()),
        ("status", "must be a string, not a number")
    );
}

#[test]
fn the_fhir_lifetime_text_is_read_as_the_platforms_write_it() {
    for (text, secs) in [
        ("1h", 3600),
        ("3600s", 3600),
        ("30m", 1800),
        ("900", 900),
        ("1d", 86_400),
    ] {
        assert_eq!(parse_lifetime(text), Some(secs), "{text}");
    }
    for bad in ["", "h", "1 h", "1w", "-5s", "1.5h", "99999999999h"] {
        assert_eq!(parse_lifetime(bad), None, "{bad}");
    }
    let leaf = self_signed(&LeafOptions::client("c"));
    let json = serde_json::json!({
        "resourceType": "ClientApplication", "name": "c",
        "certificateTrustStore": leaf.cert_pem(), "accessTokenLifetime": "1h",
    });
    let c: ClientApplication = serde_json::from_value(json).unwrap();
    assert_eq!(
        c.validate(Policy::default(), NOW)
            .unwrap()
            .client
            .token_lifetime,
        Some(3600)
    );
    let mut both = c.clone();
    both.access_token_lifetime = Some(600);
    assert_eq!(
        fields(&both.validate(Policy::default(), NOW).unwrap_err()),
        ["accessTokenLifetime"]
    );
    let mut bad = c.clone();
    bad.access_token_lifetime_text = Some("forever".into());
    let e = bad.validate(Policy::default(), NOW).unwrap_err();
    assert!(
        e.to_string().contains("\"forever\" is not a duration"),
        "{e}"
    );
    let mut long = c;
    long.access_token_lifetime_text = Some("2d".into());
    assert_eq!(
        fields(&long.validate(Policy::default(), NOW).unwrap_err()),
        ["accessTokenLifetime"]
    );
}

const P256_JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;

#[test]
fn a_client_with_keys_needs_no_trust_store_and_the_keys_must_be_sound() {
    let jwks: Value = serde_json::from_str(P256_JWKS).unwrap();
    let json = serde_json::json!({
        "resourceType": "ClientApplication", "name": "smart backend", "jwks": jwks,
    });
    let c: ClientApplication = serde_json::from_value(json).unwrap();
    let v = c.validate(Policy::default(), NOW).unwrap();
    assert!(matches!(v.client.keys, Some(ClientKeys::Inline(ref k)) if k.len() == 1));
    assert!(!v.client.require_binding);
    // By URL, FHIR spelling.
    let c: ClientApplication = serde_json::from_value(serde_json::json!({
        "resourceType": "ClientApplication", "name": "smart backend",
        "jwksUri": "https://ehr.example/jwks.json",
        "tls_client_certificate_bound_access_tokens": true,
    }))
    .unwrap();
    let v = c.validate(Policy::default(), NOW).unwrap();
    assert!(
        matches!(v.client.keys, Some(ClientKeys::Uri(ref u)) if u == "https://ehr.example/jwks.json")
    );
    assert!(v.client.require_binding);
    // Refusals: both, http, a private key, a broken set, keys and a secret.
    let mut both = c.clone();
    both.jwks = Some(jwks.clone());
    assert_eq!(
        fields(&both.validate(Policy::default(), NOW).unwrap_err()),
        ["jwks_uri"]
    );
    let mut http = c.clone();
    http.jwks_uri = Some("http://ehr.example/jwks.json".into());
    assert_eq!(
        fields(&http.validate(Policy::default(), NOW).unwrap_err()),
        ["jwks_uri"]
    );
    let mut private = c.clone();
    private.jwks_uri = None;
    let mut with_d = jwks.clone();
    with_d["keys"][0]["d"] = "jTbo6KZ6R-XjhkY8rC3p4FIRUlWxtq6S7FBp1TaQ1rM".into();
    private.jwks = Some(with_d);
    let e = private.validate(Policy::default(), NOW).unwrap_err();
    assert_eq!(fields(&e), ["jwks"]);
    assert!(e.to_string().contains("private key"), "{e}");
    let mut empty = c.clone();
    empty.jwks_uri = None;
    empty.jwks = Some(serde_json::json!({"keys": []}));
    assert_eq!(
        fields(&empty.validate(Policy::default(), NOW).unwrap_err()),
        ["jwks"]
    );
    let mut secret = c;
    secret.client_secret_hash = Some("pbkdf2-sha256$1$x$y".into());
    let v = secret.validate(Policy::default(), NOW).unwrap();
    assert!(
        v.warnings.iter().any(|w| w.contains("secret alone")),
        "{:?}",
        v.warnings
    );
    // Wrong JSON types are named before validation.
    let obj = serde_json::json!({"jwks": "text", "tls_client_certificate_bound_access_tokens": "yes", "jwksUri": 5});
    let errors = ClientApplication::type_errors(obj.as_object().unwrap());
    let mut named: Vec<&str> = errors.iter().map(|e| e.field).collect();
    named.sort_unstable();
    assert_eq!(
        named,
        [
            "jwks",
            "jwksUri",
            "tls_client_certificate_bound_access_tokens"
        ]
    );
}

#[test]
fn status_error_is_a_stopped_client() {
    let leaf = self_signed(&LeafOptions::client("c"));
    let mut c = client(Some(leaf.cert_pem()));
    c.status = Some("error".into());
    assert_eq!(
        c.validate(Policy::default(), NOW).unwrap().client.status,
        ClientStatus::Error
    );
    c.status = Some("paused".into());
    let e = c.validate(Policy::default(), NOW).unwrap_err();
    assert!(
        e.to_string().contains("\"active\", \"off\" or \"error\""),
        "{e}"
    );
}

#[test]
fn the_hrex_policy_wants_pki_a_uri_identity_and_binding() {
    let hrex = Policy {
        hrex: true,
        ..Policy::default()
    };
    let leaf = self_signed(&LeafOptions::client("c"));
    let e = client(Some(leaf.cert_pem()))
        .validate(hrex, NOW)
        .unwrap_err();
    assert_eq!(
        fields(&e),
        ["certificateTrustStore", "tls_client_auth_san_uri"]
    );
    let pki = TestPki::new();
    let mut ca = client(Some(pki.root.cert_pem()));
    ca.tls_client_auth_subject_dn = Some("CN=alice".into());
    assert_eq!(
        fields(&ca.validate(hrex, NOW).unwrap_err()),
        ["tls_client_auth_san_uri"]
    );
    ca.tls_client_auth_subject_dn = None;
    ca.tls_client_auth_san_uri = Some("urn:example:alice".into());
    let v = ca.validate(hrex, NOW).unwrap();
    assert!(v.client.require_binding);
    // Without the policy the same client need not bind.
    assert!(
        !ca.validate(Policy::default(), NOW)
            .unwrap()
            .client
            .require_binding
    );
}
