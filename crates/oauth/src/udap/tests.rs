use certbound_pki::generate::{self, KeyType, LeafSpec, Signer};
use certbound_testkit::pki::{Ca, LeafOptions};
use serde_json::json;

use super::*;
use crate::keys::X5cSigner;

const CLIENT_URI: &str = "https://partner.example.org/app";
const REGISTER: &str = "https://as.example.com/oauth2/register";
const TOKEN: &str = "https://as.example.com/oauth2/token";

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn pkcs8(pem: &str) -> Vec<u8> {
    certbound_pki::key::parse_private_key(pem.as_bytes())
        .expect("a key")
        .pkcs8_der()
        .expect("PKCS#8")
}

/// A community: root → intermediate → a client leaf with a URI SAN, and
/// the client's signer (x5c = leaf, intermediate).
struct Community {
    root: Ca,
    signer: X5cSigner,
}

fn community(uri: &str) -> Community {
    let root = Ca::root("Community Root", "Community");
    let inter = root.intermediate("Community Issuing CA", "Community");
    let leaf = inter.issue(&LeafOptions::client("partner").uri(uri).around_now());
    let signer = X5cSigner::new(
        &pkcs8(&leaf.key_pem),
        &[leaf.cert.to_vec(), inter.cert.to_vec()],
        None,
    )
    .expect("signer");
    Community { root, signer }
}

fn statement(iat: i64) -> Value {
    json!({
        "iss": CLIENT_URI, "sub": CLIENT_URI, "aud": REGISTER,
        "iat": iat, "exp": iat + 300, "jti": format!("st-{iat}"),
        "client_name": "Partner App",
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": "system/Patient.rs",
        "contacts": ["mailto:ops@partner.example.org"],
    })
}

fn verify(c: &Community, jwt: &str) -> Result<Signed, UdapError> {
    verify_signed(
        jwt,
        "urn:test:community",
        std::slice::from_ref(&c.root.cert),
        &[],
        now(),
        None,
    )
}

fn check(c: &Community, claims: &Value) -> Result<Statement, UdapError> {
    let jwt = c.signer.sign(claims).expect("signs");
    let signed = verify(c, &jwt)?;
    check_statement(&signed, &[REGISTER.to_owned()], now().unix_timestamp())
}

#[test]
fn a_statement_signed_by_a_community_certificate_registers() {
    let c = community(CLIENT_URI);
    assert_eq!(c.signer.algorithm(), Algorithm::Es256);
    let st = check(&c, &statement(now().unix_timestamp())).expect("accepted");
    assert_eq!(st.iss, CLIENT_URI);
    assert_eq!(st.grant_types, ["client_credentials"]);
    assert_eq!(st.scope.as_deref(), Some("system/Patient.rs"));
    assert!(!st.cancels());
}

#[test]
fn an_rsa_certificate_signs_rs256() {
    let t = now();
    let root = generate::root_ca(
        &generate::CaSpec {
            common_name: "RSA Root".into(),
            organization: None,
            key_type: KeyType::Rsa2048,
            days: 30,
        },
        t,
    )
    .expect("root");
    let ca = Signer::new(root.cert_der.clone(), root.key_pem.as_bytes()).expect("signer");
    let leaf = generate::leaf(
        &ca,
        &LeafSpec {
            common_name: "rsa partner".into(),
            uris: vec![CLIENT_URI.into()],
            key_type: KeyType::Rsa2048,
            days: 10,
            ..LeafSpec::default()
        },
        t,
    )
    .expect("leaf");
    let signer =
        X5cSigner::new(&pkcs8(&leaf.key_pem), &[leaf.cert_der.to_vec()], None).expect("RSA signer");
    assert_eq!(signer.algorithm(), Algorithm::Rs256);
    let jwt = signer.sign(&statement(t.unix_timestamp())).expect("signs");
    let signed = verify_signed(
        &jwt,
        "c",
        std::slice::from_ref(&root.cert_der),
        &[],
        t,
        None,
    )
    .expect("verifies");
    assert_eq!(signed.alg, Algorithm::Rs256);
    let rs384 = X5cSigner::new(
        &pkcs8(&leaf.key_pem),
        &[leaf.cert_der.to_vec()],
        Some(Algorithm::Rs384),
    )
    .expect("RS384 signer");
    let jwt = rs384.sign(&statement(t.unix_timestamp())).expect("signs");
    let signed = verify_signed(
        &jwt,
        "c",
        std::slice::from_ref(&root.cert_der),
        &[],
        t,
        None,
    )
    .expect("verifies");
    assert_eq!(signed.alg, Algorithm::Rs384);
    // A key that is not the certificate's is refused before anything is signed.
    let other = generate::self_signed(
        &LeafSpec {
            common_name: "other".into(),
            key_type: KeyType::Rsa2048,
            days: 1,
            ..LeafSpec::default()
        },
        t,
    )
    .expect("other");
    let err = X5cSigner::new(&pkcs8(&other.key_pem), &[leaf.cert_der.to_vec()], None)
        .expect_err("mismatch");
    assert!(err.contains("not the key of the certificate"), "{err}");
}

#[test]
fn another_communitys_chain_is_unapproved() {
    let c = community(CLIENT_URI);
    let other = community(CLIENT_URI);
    let jwt = other
        .signer
        .sign(&statement(now().unix_timestamp()))
        .expect("signs");
    let err = verify(&c, &jwt).expect_err("untrusted");
    assert!(matches!(err, UdapError::Untrusted { .. }), "{err:?}");
    assert_eq!(err.registration_error(), "unapproved_software_statement");
}

#[test]
fn a_tampered_statement_is_invalid() {
    let c = community(CLIENT_URI);
    let jwt = c
        .signer
        .sign(&statement(now().unix_timestamp()))
        .expect("signs");
    let (head, rest) = jwt.split_once('.').expect("dots");
    let (_, sig) = rest.split_once('.').expect("dots");
    let mut claims = statement(now().unix_timestamp());
    claims["scope"] = json!("system/*.cruds");
    let forged = format!(
        "{head}.{}.{sig}",
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            claims.to_string()
        )
    );
    let err = verify(&c, &forged).expect_err("bad signature");
    assert_eq!(err, UdapError::Jwt(JwtError::BadSignature));
    assert_eq!(err.registration_error(), "invalid_software_statement");
    // No x5c at all.
    let (key, _) = crate::keys::SigningKey::generate(Algorithm::Es256).expect("key");
    let plain = crate::jwt::sign(&key, &statement(now().unix_timestamp())).expect("signs");
    let err = verify(&c, &plain).expect_err("no x5c");
    assert!(err.to_string().contains("x5c"), "{err}");
}

/// A name, a change to the statement, the RFC 7591 error and a text of its description.
type Case = (
    &'static str,
    Box<dyn Fn(&mut Value)>,
    &'static str,
    &'static str,
);

#[test]
fn each_claim_is_checked() {
    let c = community(CLIENT_URI);
    let t = now().unix_timestamp();
    let cases: Vec<Case> = vec![
        (
            "iss not a SAN",
            Box::new(|s| {
                s["iss"] = json!("https://other.example/");
                s["sub"] = s["iss"].clone();
            }),
            "invalid_software_statement",
            "not a URI SAN",
        ),
        (
            "sub differs",
            Box::new(|s| s["sub"] = json!("x")),
            "invalid_software_statement",
            "not iss",
        ),
        (
            "aud",
            Box::new(|s| s["aud"] = json!("https://elsewhere/register")),
            "invalid_software_statement",
            "not this endpoint",
        ),
        (
            "exp too long",
            Box::new(move |s| s["exp"] = json!(t + 301)),
            "invalid_software_statement",
            "at most 300s",
        ),
        (
            "expired",
            Box::new(move |s| {
                s["iat"] = json!(t - 400);
                s["exp"] = json!(t - 100);
            }),
            "invalid_software_statement",
            "in the past",
        ),
        (
            "no iat",
            Box::new(|s| {
                s.as_object_mut().expect("object").remove("iat");
            }),
            "invalid_software_statement",
            "iat claim is missing",
        ),
        (
            "no jti",
            Box::new(|s| {
                s.as_object_mut().expect("object").remove("jti");
            }),
            "invalid_software_statement",
            "jti claim is missing",
        ),
        (
            "no client_name",
            Box::new(|s| {
                s.as_object_mut().expect("object").remove("client_name");
            }),
            "invalid_client_metadata",
            "client_name is required",
        ),
        (
            "auth code",
            Box::new(|s| s["grant_types"] = json!(["authorization_code"])),
            "invalid_client_metadata",
            "client_credentials clients only",
        ),
        (
            "both grants",
            Box::new(|s| s["grant_types"] = json!(["client_credentials", "refresh_token"])),
            "invalid_client_metadata",
            "no other grant",
        ),
        (
            "auth method",
            Box::new(|s| s["token_endpoint_auth_method"] = json!("client_secret_basic")),
            "invalid_client_metadata",
            "private_key_jwt",
        ),
        (
            "no scope",
            Box::new(|s| {
                s.as_object_mut().expect("object").remove("scope");
            }),
            "invalid_client_metadata",
            "scope is required",
        ),
        (
            "no mailto",
            Box::new(|s| s["contacts"] = json!(["https://partner.example.org/contact"])),
            "invalid_client_metadata",
            "mailto",
        ),
        (
            "redirect",
            Box::new(|s| s["redirect_uris"] = json!(["https://partner.example.org/cb"])),
            "invalid_client_metadata",
            "must be absent",
        ),
        (
            "logo",
            Box::new(|s| s["logo_uri"] = json!("http://partner.example.org/logo.png")),
            "invalid_client_metadata",
            "https",
        ),
    ];
    for (name, change, code, text) in cases {
        let mut claims = statement(t);
        change(&mut claims);
        let err = check(&c, &claims).expect_err(name);
        assert_eq!(err.registration_error(), code, "{name}: {err}");
        assert!(err.to_string().contains(text), "{name}: {err}");
    }
}

#[test]
fn an_empty_grant_types_cancels() {
    let c = community(CLIENT_URI);
    let mut claims = statement(now().unix_timestamp());
    claims["grant_types"] = json!([]);
    claims.as_object_mut().expect("object").remove("scope");
    let st = check(&c, &claims).expect("a cancellation");
    assert!(st.cancels());
    assert_eq!(st.scope, None);
}

fn auth_token(client_id: &str, t: i64, b2b: Option<Value>) -> Value {
    let mut claims = json!({
        "iss": client_id, "sub": client_id, "aud": TOKEN,
        "iat": t, "exp": t + 300, "jti": format!("ant-{t}"),
    });
    if let Some(b) = b2b {
        claims["extensions"] = json!({ "hl7-b2b": b });
    }
    claims
}

fn b2b() -> Value {
    json!({
        "version": "1",
        "organization_id": "https://partner.example.org",
        "organization_name": "Partner",
        "purpose_of_use": ["urn:oid:2.16.840.1.113883.5.8#TREAT"],
        "unknown_member": "dropped",
    })
}

#[test]
fn an_authentication_token_carries_the_b2b_extension() {
    let c = community(CLIENT_URI);
    let t = now().unix_timestamp();
    let id = client_id("urn:test:community", CLIENT_URI);
    assert!(crate::client::valid_id(&id), "{id}");
    let expected = TokenExpected {
        client_id: &id,
        registered_uri: CLIENT_URI,
        audiences: &[TOKEN.to_owned()],
        b2b_required: true,
        now: t,
    };
    let run = |claims: &Value| {
        let jwt = c.signer.sign(claims).expect("signs");
        check_auth_token(&verify(&c, &jwt)?, &expected)
    };
    let ok = run(&auth_token(&id, t, Some(b2b()))).expect("accepted");
    let ext = ok.extensions.expect("extensions");
    assert_eq!(
        ext["hl7-b2b"]["organization_id"],
        "https://partner.example.org"
    );
    assert!(ext["hl7-b2b"].get("unknown_member").is_none());

    let err = run(&auth_token(&id, t, None)).expect_err("b2b required");
    assert_eq!(err.code(), "udap_b2b");
    let not_required = TokenExpected {
        b2b_required: false,
        ..expected
    };
    let jwt = c.signer.sign(&auth_token(&id, t, None)).expect("signs");
    let ok =
        check_auth_token(&verify(&c, &jwt).expect("verifies"), &not_required).expect("optional");
    assert_eq!(ok.extensions, None);

    for (change, text) in [
        (json!({"version": "2"}), "version"),
        (json!({"organization_id": "partner"}), "not a URI"),
        (json!({"purpose_of_use": []}), "non-empty array"),
        (json!({"purpose_of_use": "TREAT"}), "non-empty array"),
        (
            json!({"consent_reference": ["https://x.example/Consent/1"]}),
            "without consent_policy",
        ),
        (json!({"subject_name": 7}), "subject_name must be a string"),
    ] {
        let mut object = b2b();
        for (k, v) in change.as_object().expect("object") {
            object[k] = v.clone();
        }
        let err = run(&auth_token(&id, t, Some(object))).expect_err(text);
        assert!(err.to_string().contains(text), "{text}: {err}");
    }
    let err = run(&auth_token("udap-other", t, Some(b2b()))).expect_err("another client");
    assert!(err.to_string().contains("not the client_id"), "{err}");

    // The certificate of another URI cannot authenticate as this client.
    let impostor = community("https://impostor.example.org/app");
    let jwt = impostor
        .signer
        .sign(&auth_token(&id, t, Some(b2b())))
        .expect("signs");
    let signed = verify_signed(
        &jwt,
        "c",
        std::slice::from_ref(&impostor.root.cert),
        &[],
        now(),
        None,
    )
    .expect("own chain");
    let err = check_auth_token(&signed, &expected).expect_err("wrong URI");
    assert!(err.to_string().contains("do not include the URI"), "{err}");
}

#[test]
fn signed_metadata_is_checked_against_the_document() {
    let base = "https://as.example.com";
    let c = community(base);
    let t = now().unix_timestamp();
    let claims = metadata_claims(base, TOKEN, REGISTER, t, 86_400, "m-1");
    let jwt = c.signer.sign(&claims).expect("signs");
    let signed = verify(&c, &jwt).expect("verifies");
    let doc = json!({"token_endpoint": TOKEN, "registration_endpoint": REGISTER});
    let doc = doc.as_object().expect("object");
    check_metadata(&signed, base, doc, t).expect("consistent");
    let mut other = doc.clone();
    other.insert("token_endpoint".into(), json!("https://evil.example/token"));
    let err = check_metadata(&signed, base, &other, t).expect_err("endpoint differs");
    assert!(err.to_string().contains("token_endpoint"), "{err}");
    let err = check_metadata(&signed, "https://other.example.com", doc, t).expect_err("base");
    assert!(err.to_string().contains("base URL"), "{err}");
    let err = check_metadata(&signed, base, doc, t + 86_401).expect_err("expired");
    assert!(err.to_string().contains("in the past"), "{err}");
}

#[test]
fn client_ids_are_per_community_and_uri() {
    let a = client_id("urn:a", CLIENT_URI);
    assert_eq!(a, client_id("urn:a", CLIENT_URI));
    assert_ne!(a, client_id("urn:b", CLIENT_URI));
    assert_ne!(a, client_id("urn:a", "https://partner.example.org/other"));
    assert_eq!(a.len(), 37);
}
