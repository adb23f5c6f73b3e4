use serde_json::json;

use super::*;
use crate::keys::tests::{RFC7515_X, RFC7515_Y, rfc7515_key, rfc8037_key};

const NOW: i64 = 1_800_000_000;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs an arbitrary header and payload with `key`, for tokens our signer
/// would never make.
fn forge(key: &SigningKey, header: &serde_json::Value, payload: &serde_json::Value) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(payload.to_string().as_bytes())
    );
    let sig = key.sign_raw(input.as_bytes()).expect("sign");
    format!("{input}.{}", b64(sig.as_ref()))
}

fn keys_of(keys: &[&SigningKey]) -> VerifyingKeys {
    VerifyingKeys::from_signing_keys(keys.iter().copied()).expect("key set")
}

fn claims() -> serde_json::Value {
    json!({"iss": "https://as.example", "exp": NOW + 300, "iat": NOW, "sub": "c1"})
}

fn malformed_part(result: Result<VerifiedJws, JwtError>) -> Part {
    match result {
        Err(JwtError::Malformed { part, .. }) => part,
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn signed_tokens_verify_with_both_algorithms() {
    for key in [rfc7515_key(), rfc8037_key()] {
        let token = sign(&key, &claims()).expect("sign");
        let verified = verify(&token, &keys_of(&[&key])).expect("verifies");
        assert_eq!(verified.header.alg, key.algorithm());
        assert_eq!(verified.header.kid.as_deref(), Some(key.kid()));
        assert_eq!(verified.header.typ.as_deref(), Some("at+jwt"));
        let back: serde_json::Value = verified.claims().expect("claims");
        assert_eq!(back, claims());
    }
}

#[test]
fn rfc7515_a3_es256_example_verifies_and_tampering_is_caught() {
    // RFC 7515 Appendix A.3: header {"alg":"ES256"}, no kid; one key in the set.
    let token = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
    let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": RFC7515_X, "y": RFC7515_Y}]});
    let keys = VerifyingKeys::from_jwks_json(jwks.to_string().as_bytes()).expect("jwks");
    let verified = verify(token, &keys).expect("RFC example verifies");
    let claims: serde_json::Value = verified.claims().expect("claims");
    assert_eq!(claims["iss"], "joe");
    assert_eq!(verified.header.kid, None);

    // Flip the last payload character: the signature no longer matches.
    let tampered = token.replacen("cnVlfQ.", "cnVlfR.", 1);
    assert_eq!(
        verify(&tampered, &keys).expect_err("must fail"),
        JwtError::BadSignature
    );
}

#[test]
fn rfc8037_a4_ed25519_example_verifies_and_our_signer_reproduces_it() {
    let input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    let signature =
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
    let key = rfc8037_key();
    // Ed25519 is deterministic: our signer must produce the RFC's bytes.
    let ours = key.sign_raw(input.as_bytes()).expect("sign");
    assert_eq!(b64(ours.as_ref()), signature);
    let verified = verify(&format!("{input}.{signature}"), &keys_of(&[&key])).expect("verifies");
    assert_eq!(verified.payload, b"Example of Ed25519 signing");
    // Its payload is not JSON, so it has no claims.
    assert!(verified.claims::<serde_json::Value>().is_err());
}

#[test]
fn unsigned_and_foreign_algorithms_are_refused() {
    let key = rfc7515_key();
    let keys = keys_of(&[&key]);
    let payload = b64(claims().to_string().as_bytes());
    for alg in [
        "none", "None", "HS256", "HS384", "RSA-OAEP", "ES512", "es256",
    ] {
        let header = b64(json!({"alg": alg, "kid": key.kid()}).to_string().as_bytes());
        let sig = b64(&[0u8; 64]);
        for token in [
            format!("{header}.{payload}.{sig}"),
            format!("{header}.{payload}."),
        ] {
            assert_eq!(
                verify(&token, &keys).expect_err("must fail"),
                JwtError::UnsupportedAlg { alg: alg.into() },
                "{token}"
            );
        }
    }
    // Algorithms certbound verifies, named for a key of another type: refused
    // before any signature check.
    for alg in ["RS256", "ES384", "PS256"] {
        let header = b64(json!({"alg": alg, "kid": key.kid()}).to_string().as_bytes());
        let token = format!("{header}.{payload}.{}", b64(&[0u8; 256]));
        assert!(
            matches!(
                verify(&token, &keys).expect_err("must fail"),
                JwtError::AlgMismatch {
                    key_type: "EC P-256",
                    ..
                }
            ),
            "{alg}"
        );
    }
}

#[test]
fn header_alg_must_match_the_key_named_by_kid() {
    let ec = rfc7515_key();
    let ed = rfc8037_key();
    let keys = keys_of(&[&ec]);
    // Signed by an Ed25519 key but naming the EC key's kid: algorithm confusion.
    let token = forge(&ed, &json!({"alg": "EdDSA", "kid": ec.kid()}), &claims());
    assert_eq!(
        verify(&token, &keys).expect_err("must fail"),
        JwtError::AlgMismatch {
            alg: Algorithm::EdDsa,
            kid: ec.kid().into(),
            key_type: "EC P-256"
        }
    );
    // The same token against a set that has the key verifies.
    let token = forge(&ed, &json!({"alg": "EdDSA", "kid": ed.kid()}), &claims());
    verify(&token, &keys_of(&[&ec, &ed])).expect("right key");
}

#[test]
fn key_selection_by_kid_and_without_kid() {
    let (a, _) = SigningKey::generate(Algorithm::Es256).expect("generate");
    let (b, _) = SigningKey::generate(Algorithm::Es256).expect("generate");
    let ed = rfc8037_key();

    // Previous keys still verify after a rotation.
    let old_token = sign(&b, &claims()).expect("sign");
    verify(&old_token, &keys_of(&[&a, &b])).expect("previous key verifies");
    assert_eq!(
        verify(&old_token, &keys_of(&[&a])).expect_err("must fail"),
        JwtError::UnknownKid {
            kid: b.kid().into()
        }
    );

    // Right kid, wrong key material: the signature fails.
    let spoofed = forge(&b, &json!({"alg": "ES256", "kid": a.kid()}), &claims());
    assert_eq!(
        verify(&spoofed, &keys_of(&[&a, &b])).expect_err("must fail"),
        JwtError::BadSignature
    );

    // No kid: the only key of the algorithm is used...
    let no_kid = forge(&a, &json!({"alg": "ES256"}), &claims());
    verify(&no_kid, &keys_of(&[&a, &ed])).expect("only ES256 key");
    // ...but not when several could have signed, nor when none is of that type.
    assert_eq!(
        verify(&no_kid, &keys_of(&[&a, &b])).expect_err("must fail"),
        JwtError::KidRequired {
            alg: Algorithm::Es256,
            candidates: 2
        }
    );
    assert_eq!(
        verify(&no_kid, &keys_of(&[&ed])).expect_err("must fail"),
        JwtError::NoKeyForAlg {
            alg: Algorithm::Es256
        }
    );
}

#[test]
fn critical_extensions_are_refused() {
    let key = rfc7515_key();
    let token = forge(
        &key,
        &json!({"alg": "ES256", "kid": key.kid(), "crit": ["exp"], "exp": 1}),
        &claims(),
    );
    assert_eq!(
        verify(&token, &keys_of(&[&key])).expect_err("must fail"),
        JwtError::UnsupportedCrit {
            names: vec!["exp".into()]
        }
    );
    // Unknown non-critical header parameters are fine.
    let token = forge(
        &key,
        &json!({"alg": "ES256", "kid": key.kid(), "x-note": 1}),
        &claims(),
    );
    verify(&token, &keys_of(&[&key])).expect("extra header ignored");
}

#[test]
fn structure_is_parsed_strictly() {
    let key = rfc7515_key();
    let keys = keys_of(&[&key]);
    let good = sign(&key, &claims()).expect("sign");
    let parts: Vec<&str> = good.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);

    assert_eq!(malformed_part(verify("", &keys)), Part::Token);
    assert_eq!(malformed_part(verify(h, &keys)), Part::Token);
    assert_eq!(
        malformed_part(verify(&format!("{h}.{p}"), &keys)),
        Part::Token
    );
    assert_eq!(
        malformed_part(verify(&format!("{good}.x.y"), &keys)),
        Part::Token
    );
    assert_eq!(
        malformed_part(verify(&format!(".{p}.{s}"), &keys)),
        Part::Header
    );
    assert_eq!(
        malformed_part(verify(&format!("{h}..{s}"), &keys)),
        Part::Payload
    );
    assert_eq!(
        malformed_part(verify(&format!("{h}.{p}."), &keys)),
        Part::Signature
    );
    // Padding, standard-alphabet characters and whitespace are not base64url.
    assert_eq!(
        malformed_part(verify(&format!("{h}=.{p}.{s}"), &keys)),
        Part::Header
    );
    assert_eq!(
        malformed_part(verify(&format!("{h}.{p}.{}+", &s[1..]), &keys)),
        Part::Signature
    );
    assert_eq!(
        malformed_part(verify(&format!("{h}.{p}.{s}="), &keys)),
        Part::Signature
    );
    assert_eq!(
        malformed_part(verify(&format!(" {good}"), &keys)),
        Part::Header
    );
    // A signature of the wrong length.
    assert_eq!(
        malformed_part(verify(&format!("{h}.{p}.{}", &s[..80]), &keys)),
        Part::Signature
    );
    // Non-canonical base64url: the last character carries non-zero spare bits.
    let last = s.chars().last().unwrap_or('A');
    let bumped = if last == 'B' { 'C' } else { 'B' };
    let noncanonical = format!("{h}.{p}.{}{bumped}", &s[..85]);
    assert!(verify(&noncanonical, &keys).is_err());
    // A tampered payload that is not base64url fails the signature first.
    assert_eq!(
        verify(&format!("{h}.{p}!.{s}"), &keys).expect_err("must fail"),
        JwtError::BadSignature
    );
    // The untouched token verifies.
    verify(&good, &keys).expect("good token");
}

#[test]
fn header_must_be_a_json_object_with_alg() {
    let key = rfc7515_key();
    let keys = keys_of(&[&key]);
    let p = b64(claims().to_string().as_bytes());
    let s = b64(&[0u8; 64]);
    for header in [
        r#"["ES256"]"#.to_owned(),
        "not json".to_owned(),
        r#"{"alg":"ES256""#.to_owned(),
        r#"{"kid":"x"}"#.to_owned(),
        r#"{"alg":null}"#.to_owned(),
        r#"{"alg":256}"#.to_owned(),
        r#"{"alg":"ES256","alg":"ES256"}"#.to_owned(),
        format!(r#"{{"alg":"ES256","kid":"{}"}}"#, "k".repeat(800)),
    ] {
        let token = format!("{}.{p}.{s}", b64(header.as_bytes()));
        assert_eq!(
            malformed_part(verify(&token, &keys)),
            Part::Header,
            "{header}"
        );
    }
    // An escaped string in the header is still read correctly.
    let token = forge(
        &key,
        &json!({"alg": "ES256", "typ": "at+jwt", "kid": key.kid()}),
        &claims(),
    );
    let escaped_header =
        b64(format!(r#"{{"alg":"ES\u0032\u00356","kid":"{}"}}"#, key.kid()).as_bytes());
    let rest = token.split_once('.').map(|(_, r)| r).unwrap_or_default();
    assert_eq!(
        verify(&format!("{escaped_header}.{rest}"), &keys).expect_err("must fail"),
        JwtError::BadSignature,
        "parsed as ES256 and checked (the header bytes changed, so the signature fails)"
    );
}

#[test]
fn oversized_tokens_are_refused_before_decoding() {
    let keys = keys_of(&[&rfc7515_key()]);
    let huge = "a".repeat(MAX_TOKEN_LEN + 1);
    assert_eq!(
        verify(&huge, &keys).expect_err("must fail"),
        JwtError::TooLarge {
            len: MAX_TOKEN_LEN + 1,
            max: MAX_TOKEN_LEN
        }
    );
    // And we never sign a token we would refuse.
    let big = json!({"blob": "x".repeat(MAX_TOKEN_LEN)});
    assert!(matches!(
        sign(&rfc7515_key(), &big),
        Err(JwtError::TooLarge { .. })
    ));
}

#[test]
fn claims_must_be_a_json_object() {
    let key = rfc7515_key();
    for payload in [json!([1, 2]), json!("text"), json!(5)] {
        let token = forge(&key, &json!({"alg": "ES256", "kid": key.kid()}), &payload);
        let verified = verify(&token, &keys_of(&[&key])).expect("signature fine");
        assert!(matches!(
            verified.claims::<serde_json::Value>(),
            Err(JwtError::Malformed {
                part: Part::Payload,
                ..
            })
        ));
    }
}

fn header(typ: Option<&str>) -> JwsHeader {
    JwsHeader {
        alg: Algorithm::Es256,
        typ: typ.map(str::to_owned),
        kid: None,
        jku: None,
        x5c: None,
    }
}

fn registered(aud: &[String]) -> RegisteredClaims<'_> {
    RegisteredClaims {
        iss: Some("https://as.example"),
        aud,
        exp: Some(NOW + 60),
        nbf: None,
        iat: Some(NOW),
    }
}

#[test]
fn validation_accepts_a_good_token_and_names_each_failed_check() {
    let aud = vec!["https://api.example".to_owned()];
    let v = Validation::new("https://as.example").with_audience("https://api.example");
    let h = header(Some("at+jwt"));
    v.validate(&h, &registered(&aud), NOW).expect("valid");

    let check = |claims: RegisteredClaims<'_>| v.validate(&h, &claims, NOW).expect_err("must fail");
    assert_eq!(
        check(RegisteredClaims {
            exp: Some(NOW - 1),
            ..registered(&aud)
        }),
        JwtError::Expired {
            exp: NOW - 1,
            now: NOW
        }
    );
    assert_eq!(
        check(RegisteredClaims {
            exp: Some(NOW),
            ..registered(&aud)
        }),
        JwtError::Expired { exp: NOW, now: NOW },
        "a token is expired at its exp"
    );
    assert_eq!(
        check(RegisteredClaims {
            exp: None,
            ..registered(&aud)
        }),
        JwtError::MissingClaim { claim: "exp" }
    );
    assert_eq!(
        check(RegisteredClaims {
            nbf: Some(NOW + 61),
            ..registered(&aud)
        }),
        JwtError::NotYetValid {
            nbf: NOW + 61,
            now: NOW
        }
    );
    assert_eq!(
        check(RegisteredClaims {
            iat: Some(NOW + 61),
            ..registered(&aud)
        }),
        JwtError::IssuedInFuture {
            iat: NOW + 61,
            now: NOW
        }
    );
    assert_eq!(
        check(RegisteredClaims {
            iss: Some("https://evil.example"),
            ..registered(&aud)
        }),
        JwtError::WrongIssuer {
            expected: "https://as.example".into(),
            found: "https://evil.example".into()
        }
    );
    assert_eq!(
        check(RegisteredClaims {
            iss: None,
            ..registered(&aud)
        }),
        JwtError::MissingClaim { claim: "iss" }
    );
    let other = vec!["https://other.example".to_owned()];
    assert_eq!(
        check(registered(&other)),
        JwtError::WrongAudience {
            expected: "https://api.example".into(),
            found: other.clone()
        }
    );
    // Without a configured audience any aud passes.
    Validation::new("https://as.example")
        .validate(&h, &registered(&other), NOW)
        .expect("no audience configured");
}

#[test]
fn leeway_covers_small_clock_differences_only() {
    let aud = vec!["a".to_owned()];
    let h = header(Some("at+jwt"));
    let v = Validation::new("https://as.example");
    let skewed = RegisteredClaims {
        nbf: Some(NOW + 60),
        iat: Some(NOW + 60),
        ..registered(&aud)
    };
    v.validate(&h, &skewed, NOW).expect("within default leeway");
    let strict = v.clone().with_leeway_secs(0);
    assert!(matches!(
        strict.validate(&h, &skewed, NOW),
        Err(JwtError::NotYetValid { .. })
    ));
}

#[test]
fn typ_must_be_at_jwt_unless_explicitly_relaxed() {
    let aud = vec!["a".to_owned()];
    let v = Validation::new("https://as.example");
    for ok in [
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/At+Jwt",
    ] {
        v.validate(&header(Some(ok)), &registered(&aud), NOW)
            .expect(ok);
    }
    for bad in [Some("JWT"), Some("application/jwt"), Some("at+jwt "), None] {
        assert_eq!(
            v.validate(&header(bad), &registered(&aud), NOW)
                .expect_err("must fail"),
            JwtError::WrongType {
                found: bad.map(str::to_owned)
            }
        );
    }
    let relaxed = Validation {
        danger_accept_any_typ: true,
        ..v
    };
    relaxed
        .validate(&header(Some("JWT")), &registered(&aud), NOW)
        .expect("relaxed");
}

#[test]
fn error_messages_say_what_and_when() {
    let e = JwtError::Expired {
        exp: 1_767_225_600,
        now: 1_767_225_660,
    };
    assert_eq!(
        e.to_string(),
        "the token expired at 2026-01-01T00:00:00Z (60s before now, 2026-01-01T00:01:00Z); request a new token"
    );
    assert!(
        JwtError::UnknownKid { kid: "k1".into() }
            .to_string()
            .contains("\"k1\"")
    );
}
