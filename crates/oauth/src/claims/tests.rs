use serde_json::json;

use super::*;
use crate::keys::Algorithm;

const NOW: i64 = 1_800_000_000;
const ISSUER: &str = "https://as.example.com";
const API: &str = "https://api.example.com";

fn key() -> SigningKey {
    SigningKey::generate(Algorithm::Es256).expect("generate").0
}

fn keys(key: &SigningKey) -> VerifyingKeys {
    VerifyingKeys::from_signing_keys([key]).expect("set")
}

fn params<'a>(aud: &'a [String], scope: &'a [String], x5t: Option<&'a str>) -> IssueParams<'a> {
    IssueParams {
        issuer: ISSUER,
        client_id: "partner-a",
        subject: None,
        audience: aud,
        scope,
        lifetime_secs: 300,
        certificate_thumbprint: x5t,
        extensions: None,
    }
}

fn validation() -> Validation {
    Validation::new(ISSUER).with_audience(API)
}

#[test]
fn x5t_s256_is_base64url_sha256_of_the_der() {
    // SHA-256 of "" and of "abc" (FIPS 180-2), base64url without padding.
    assert_eq!(x5t_s256(b""), "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
    assert_eq!(
        x5t_s256(b"abc"),
        "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
    );
}

#[test]
fn thumbprint_comparison() {
    let a = x5t_s256(b"cert-a");
    assert!(thumbprints_match(&a, &x5t_s256(b"cert-a")));
    assert!(!thumbprints_match(&a, &x5t_s256(b"cert-b")));
    assert!(!thumbprints_match(&a, &a[..42]));
    assert!(!thumbprints_match(&a, ""));
}

#[test]
fn issued_token_verifies_and_carries_the_binding() {
    let key = key();
    let cert = b"DER of the client certificate";
    let x5t = x5t_s256(cert);
    let aud = vec![API.to_owned()];
    let scope = vec!["read".to_owned(), "write".to_owned()];
    let issued = issue(&key, &params(&aud, &scope, Some(&x5t)), NOW).expect("issue");
    assert_eq!(issued.expires_in, 300);
    assert_eq!(issued.claims.exp, NOW + 300);
    assert_eq!(issued.claims.iat, NOW);
    assert_eq!(issued.claims.sub, "partner-a");
    assert_eq!(issued.claims.scope, "read write");
    assert_eq!(issued.claims.jti.len(), 22);

    let claims = verify_access_token(&issued.access_token, &keys(&key), &validation(), NOW + 10)
        .expect("verifies");
    assert_eq!(claims, issued.claims);
    assert!(claims.has_scope("write"));
    assert!(!claims.has_scope("admin"));
    // A granted SMART wildcard covers the narrower scope a route requires.
    let smart = AccessTokenClaims {
        scope: "system/*.rs".into(),
        ..claims.clone()
    };
    assert!(smart.has_scope("system/Patient.r"));
    assert!(!smart.has_scope("system/Patient.c"));
    claims
        .check_certificate_binding(cert)
        .expect("same certificate");
    assert_eq!(
        claims.check_certificate_binding(b"another certificate"),
        Err(JwtError::CertificateMismatch {
            expected: x5t,
            presented: x5t_s256(b"another certificate")
        })
    );
}

#[test]
fn unbound_token_fails_the_binding_check() {
    let key = key();
    let aud = vec![API.to_owned()];
    let issued = issue(&key, &params(&aud, &[], None), NOW).expect("issue");
    assert_eq!(
        issued.claims.check_certificate_binding(b"cert"),
        Err(JwtError::NotCertificateBound)
    );
}

#[test]
fn issued_json_has_the_rfc9068_shape() {
    let key = key();
    let aud = vec![API.to_owned()];
    let x5t = x5t_s256(b"c");
    let with = issue(&key, &params(&aud, &["read".to_owned()], Some(&x5t)), NOW).expect("issue");
    let json = serde_json::to_value(&with.claims).expect("JSON");
    assert_eq!(json["aud"], API, "a single audience is a string");
    assert_eq!(json["client_id"], "partner-a");
    assert_eq!(json["cnf"], json!({"x5t#S256": x5t}));
    assert_eq!(json["scope"], "read");

    let two = vec![API.to_owned(), "https://b.example".to_owned()];
    let without = issue(&key, &params(&two, &[], None), NOW).expect("issue");
    let json = serde_json::to_value(&without.claims).expect("JSON");
    assert!(json.get("scope").is_none());
    assert!(json.get("cnf").is_none());
    assert_eq!(json["aud"], json!([API, "https://b.example"]));
}

#[test]
fn token_ids_are_unique() {
    let a = new_jti().expect("jti");
    let b = new_jti().expect("jti");
    assert_ne!(a, b);
    assert_eq!(URL_SAFE_NO_PAD.decode(&a).map(|v| v.len()).ok(), Some(16));
}

#[test]
fn token_response_body() {
    let key = key();
    let aud = vec![API.to_owned()];
    let issued = issue(&key, &params(&aud, &["read".to_owned()], None), NOW).expect("issue");
    let json = serde_json::to_value(issued.response()).expect("JSON");
    assert_eq!(
        json,
        json!({"access_token": issued.access_token, "token_type": "Bearer",
               "expires_in": 300, "scope": "read"})
    );
    let bare = issue(&key, &params(&aud, &[], None), NOW).expect("issue");
    assert!(
        serde_json::to_value(bare.response())
            .expect("JSON")
            .get("scope")
            .is_none()
    );
}

#[test]
fn a_token_needs_an_audience() {
    assert_eq!(
        issue(&key(), &params(&[], &[], None), NOW).map(|_| ()),
        Err(JwtError::MissingClaim { claim: "aud" })
    );
}

#[test]
fn verification_failures_are_reported_by_check() {
    let key = key();
    let aud = vec![API.to_owned()];
    let token = issue(&key, &params(&aud, &[], None), NOW)
        .expect("issue")
        .access_token;
    let set = keys(&key);
    assert!(matches!(
        verify_access_token(&token, &set, &validation(), NOW + 300),
        Err(JwtError::Expired { .. })
    ));
    assert!(matches!(
        verify_access_token(&token, &set, &Validation::new("https://other"), NOW),
        Err(JwtError::WrongIssuer { .. })
    ));
    assert!(matches!(
        verify_access_token(
            &token,
            &set,
            &Validation::new(ISSUER).with_audience("https://elsewhere"),
            NOW
        ),
        Err(JwtError::WrongAudience { .. })
    ));
    assert!(matches!(
        verify_access_token(&token, &keys(&self::key()), &validation(), NOW),
        Err(JwtError::UnknownKid { .. })
    ));
}

fn external(key: &SigningKey, claims: serde_json::Value) -> Result<AccessTokenClaims, JwtError> {
    let token = jwt::sign(key, &claims).expect("sign");
    verify_access_token(&token, &keys(key), &validation(), NOW)
}

fn full() -> serde_json::Value {
    json!({"iss": ISSUER, "sub": "s", "client_id": "c", "aud": [API, "x"],
           "exp": NOW + 60, "iat": NOW, "jti": "j"})
}

#[test]
fn tokens_from_other_issuers_are_read_leniently_where_rfcs_allow() {
    let key = key();
    let claims = external(&key, full()).expect("valid");
    assert_eq!(claims.aud, [API, "x"]);
    assert_eq!(claims.scope, "");
    // Fractional NumericDates, and a cnf with another confirmation method only.
    let mut c = full();
    c["exp"] = json!(NOW as f64 + 60.5);
    c["iat"] = json!(NOW as f64 - 0.25);
    c["cnf"] = json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"});
    let claims = external(&key, c).expect("valid");
    assert_eq!((claims.exp, claims.iat), (NOW + 60, NOW - 1));
    assert_eq!(claims.cnf, None);
}

#[test]
fn missing_or_mistyped_claims_are_named() {
    let key = key();
    for claim in ["sub", "client_id", "jti", "iat", "exp", "iss"] {
        let mut c = full();
        c.as_object_mut().expect("object").remove(claim);
        assert_eq!(
            external(&key, c),
            Err(JwtError::MissingClaim { claim }),
            "{claim}"
        );
    }
    let mut c = full();
    c.as_object_mut().expect("object").remove("aud");
    assert!(matches!(
        external(&key, c),
        Err(JwtError::WrongAudience { .. })
    ));
    for (claim, value) in [
        ("exp", json!("tomorrow")),
        ("aud", json!(5)),
        ("sub", json!(["a"])),
        ("exp", json!(1e300)),
    ] {
        let mut c = full();
        c[claim] = value;
        assert!(
            matches!(external(&key, c), Err(JwtError::Malformed { .. })),
            "{claim}"
        );
    }
}
