use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
};

use super::*;

/// RFC 8037 Appendix A.1: the Ed25519 private key `d` and public key `x`.
const RFC8037_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
/// RFC 8037 Appendix A.3: its RFC 7638 thumbprint.
const RFC8037_THUMBPRINT: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

/// RFC 7515 Appendix A.3: the ES256 example key.
pub(crate) const RFC7515_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
pub(crate) const RFC7515_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
const RFC7515_D: &str = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";

fn b64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text)
        .expect("test vector is base64url")
}

/// PKCS#8 v1 for an Ed25519 seed (RFC 8410 §7 layout).
pub(crate) fn rfc8037_key() -> SigningKey {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend(b64(RFC8037_D));
    SigningKey::from_pkcs8_der(&der).expect("RFC 8037 key loads")
}

pub(crate) fn rfc7515_key() -> SigningKey {
    let mut public = vec![0x04];
    public.extend(b64(RFC7515_X));
    public.extend(b64(RFC7515_Y));
    let pair = EcdsaKeyPair::from_private_key_and_public_key(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &b64(RFC7515_D),
        &public,
    )
    .expect("RFC 7515 key is consistent");
    let der = pair.to_pkcs8v1().expect("serialises");
    SigningKey::from_pkcs8_der(der.as_ref()).expect("RFC 7515 key loads")
}

fn sha256_b64(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, text.as_bytes()))
}

#[test]
fn rfc7638_rsa_example_thumbprint() {
    // RFC 7638 §3.1.
    let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    // Members deliberately out of order: the function sorts them.
    let members = [("n", n), ("kty", "RSA"), ("e", "AQAB")];
    assert_eq!(
        jwk_thumbprint(&members),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    // A different member value gives a different thumbprint.
    assert_ne!(
        jwk_thumbprint(&[("n", n), ("kty", "RSA"), ("e", "AQAA")]),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn rfc8037_ed25519_key_has_the_published_public_key_and_thumbprint() {
    let key = rfc8037_key();
    assert_eq!(key.algorithm(), Algorithm::EdDsa);
    assert_eq!(key.public_jwk().x, RFC8037_X);
    assert_eq!(key.public_jwk().y, None);
    assert_eq!(key.kid(), RFC8037_THUMBPRINT);
}

#[test]
fn ec_thumbprint_matches_canonical_json_built_by_hand() {
    let key = rfc7515_key();
    assert_eq!(key.public_jwk().x, RFC7515_X);
    assert_eq!(key.public_jwk().y.as_deref(), Some(RFC7515_Y));
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{RFC7515_X}","y":"{RFC7515_Y}"}}"#);
    assert_eq!(key.kid(), sha256_b64(&canonical));
    // Member order matters to the hash: a non-canonical order gives another value.
    let unordered = format!(r#"{{"kty":"EC","crv":"P-256","x":"{RFC7515_X}","y":"{RFC7515_Y}"}}"#);
    assert_ne!(key.kid(), sha256_b64(&unordered));
    // Freshly generated keys agree with the hand-built form too.
    let (fresh, _) = SigningKey::generate(Algorithm::Es256).expect("generate");
    let jwk = fresh.public_jwk();
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        jwk.x,
        jwk.y.as_deref().unwrap_or_default()
    );
    assert_eq!(fresh.kid(), sha256_b64(&canonical));
}

#[test]
fn generated_keys_reload_from_their_pem_with_the_same_kid() {
    for alg in [Algorithm::Es256, Algorithm::EdDsa] {
        let (key, pem) = SigningKey::generate(alg).expect("generate");
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
        assert!(pem.ends_with("-----END PRIVATE KEY-----\n"));
        let again = SigningKey::from_pem(&pem).expect("reload");
        assert_eq!(again.kid(), key.kid());
        assert_eq!(again.algorithm(), alg);
        assert_eq!(key.kid().len(), 43);
        let (other, _) = SigningKey::generate(alg).expect("generate");
        assert_ne!(other.kid(), key.kid());
    }
}

#[test]
fn key_is_found_after_a_certificate_in_the_same_pem() {
    let (key, pem) = SigningKey::generate(Algorithm::Es256).expect("generate");
    let bundle = format!("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n{pem}");
    assert_eq!(
        SigningKey::from_pem(&bundle).expect("loads").kid(),
        key.kid()
    );
}

#[test]
fn header_is_precomputed_with_alg_typ_kid() {
    let key = rfc8037_key();
    let header: serde_json::Value =
        serde_json::from_slice(&b64(key.header_b64())).expect("header is JSON");
    assert_eq!(
        header,
        serde_json::json!({"alg": "EdDSA", "typ": "at+jwt", "kid": RFC8037_THUMBPRINT})
    );
    // Exactly these bytes, in this order.
    assert_eq!(
        String::from_utf8(b64(key.header_b64())).expect("UTF-8"),
        format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{RFC8037_THUMBPRINT}"}}"#)
    );
}

#[test]
fn debug_output_shows_no_private_material() {
    let key = rfc8037_key();
    let shown = format!("{key:?}");
    assert!(shown.contains(RFC8037_THUMBPRINT));
    assert!(!shown.contains(RFC8037_D));
}

fn key_error(pem: &str) -> KeyError {
    SigningKey::from_pem(pem).expect_err("must be refused")
}

#[test]
fn wrong_files_are_named_in_the_error() {
    assert!(
        matches!(key_error("hello world"), KeyError::NoPem { start } if start == "hello world")
    );
    assert!(matches!(key_error(""), KeyError::NoPem { .. }));

    let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    let e = key_error(cert);
    assert!(matches!(&e, KeyError::NotAPrivateKey { found } if found == "`CERTIFICATE`"));
    assert!(e.to_string().contains("not the certificate"));

    let enc = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n";
    let e = key_error(enc);
    assert!(matches!(e, KeyError::Encrypted { .. }));
    assert!(e.to_string().contains("openssl pkcs8"));

    let legacy_enc = "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nMIIB\n-----END EC PRIVATE KEY-----\n";
    assert!(matches!(key_error(legacy_enc), KeyError::Encrypted { .. }));

    let sec1 = "-----BEGIN EC PRIVATE KEY-----\nMIIB\n-----END EC PRIVATE KEY-----\n";
    let e = key_error(sec1);
    assert!(matches!(e, KeyError::NotPkcs8 { .. }));
    assert!(e.to_string().contains("-topk8"));

    let rsa = "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n";
    assert!(key_error(rsa).to_string().contains("RSA keys cannot sign"));

    let cut = "-----BEGIN PRIVATE KEY-----\nMIIB\n";
    assert!(matches!(key_error(cut), KeyError::BadPem { .. }));
    let mismatched = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END CERTIFICATE-----\n";
    assert!(matches!(key_error(mismatched), KeyError::BadPem { .. }));
    let bad_b64 = "-----BEGIN PRIVATE KEY-----\nMI*B\n-----END PRIVATE KEY-----\n";
    assert!(matches!(key_error(bad_b64), KeyError::BadPem { .. }));
    let not_der = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    assert!(matches!(key_error(not_der), KeyError::Rejected { .. }));
}

#[test]
fn pkcs8_keys_of_other_types_are_named() {
    let p384 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &SystemRandom::new())
        .expect("generate P-384");
    let pem_text = pem::encode("PRIVATE KEY", p384.as_ref());
    let e = key_error(&pem_text);
    assert!(
        matches!(&e, KeyError::UnsupportedKeyType { kind } if kind == "EC P-384"),
        "{e}"
    );
    assert!(e.to_string().contains("P-256"));

    // PrivateKeyInfo { 0, rsaEncryption NULL, OCTET STRING {} }.
    let rsa = [
        0x30, 0x12, 0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
        0x01, 0x01, 0x01, 0x05, 0x00, 0x04, 0x00,
    ];
    let e = SigningKey::from_pkcs8_der(&rsa).expect_err("RSA refused");
    assert!(
        matches!(&e, KeyError::UnsupportedKeyType { kind } if kind == "RSA"),
        "{e}"
    );

    // Same with an unknown algorithm OID 1.2.3.4.
    let unknown = [
        0x30, 0x0c, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2a, 0x03, 0x04, 0x04, 0x00,
    ];
    let e = SigningKey::from_pkcs8_der(&unknown).expect_err("unknown refused");
    assert!(e.to_string().contains("1.2.3.4"), "{e}");
}

#[test]
fn algorithm_names() {
    for (text, alg) in [
        ("ES256", Algorithm::Es256),
        ("es256", Algorithm::Es256),
        ("EdDSA", Algorithm::EdDsa),
        ("ed25519", Algorithm::EdDsa),
    ] {
        assert_eq!(text.parse::<Algorithm>().expect(text), alg);
    }
    assert!(matches!(
        "RS256".parse::<Algorithm>(),
        Err(KeyError::UnknownAlgorithm { .. })
    ));
    assert_eq!(Algorithm::from_jws_name("ES256"), Some(Algorithm::Es256));
    assert_eq!(
        Algorithm::from_jws_name("es256"),
        None,
        "JWS names are exact"
    );
    assert_eq!(Algorithm::from_jws_name("none"), None);
}

#[test]
fn jwks_renders_ec_and_okp_keys() {
    let ec = rfc7515_key();
    let ed = rfc8037_key();
    let set = VerifyingKeys::from_signing_keys([&ec, &ed, &ec]).expect("set");
    assert_eq!(set.len(), 2, "the repeated key is kept once");
    let json: serde_json::Value =
        serde_json::from_str(&set.to_jwks().to_json()).expect("JWKS is JSON");
    assert_eq!(
        json,
        serde_json::json!({"keys": [
            {"kty": "EC", "crv": "P-256", "x": RFC7515_X, "y": RFC7515_Y,
             "use": "sig", "alg": "ES256", "kid": ec.kid()},
            {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X,
             "use": "sig", "alg": "EdDSA", "kid": RFC8037_THUMBPRINT},
        ]})
    );
}

#[test]
fn jwks_round_trips_through_parsing() {
    let (a, _) = SigningKey::generate(Algorithm::Es256).expect("generate");
    let (b, _) = SigningKey::generate(Algorithm::EdDsa).expect("generate");
    let ours = VerifyingKeys::from_signing_keys([&a, &b]).expect("set");
    let text = ours.to_jwks().to_json();
    let parsed = VerifyingKeys::from_jwks_json(text.as_bytes()).expect("parses");
    assert_eq!(parsed.to_jwks(), ours.to_jwks());
    assert!(parsed.ignored().is_empty());
}

#[test]
fn jwks_skips_unsupported_keys_and_says_why() {
    let doc = serde_json::json!({"keys": [
        {"kty": "RSA", "kid": "rsa1", "n": "AQAB", "e": "AQAB", "use": "enc"},
        {"kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA"},
        {"kty": "OKP", "crv": "X25519", "kid": "x", "x": "AA"},
        {"kty": "EC", "crv": "P-256", "kid": "enc", "use": "enc", "x": RFC7515_X, "y": RFC7515_Y},
        {"kty": "oct", "k": "c2VjcmV0"},
        {"kty": "EC", "crv": "P-256", "kid": "good", "x": RFC7515_X, "y": RFC7515_Y},
        {"kty": "EC", "crv": "P-256", "kid": "good", "x": RFC7515_X, "y": RFC7515_Y},
    ]});
    let set = VerifyingKeys::from_jwks_json(doc.to_string().as_bytes()).expect("parses");
    assert_eq!(set.len(), 1);
    assert_eq!(set.iter().next().and_then(VerifyingKey::kid), Some("good"));
    let kids: Vec<Option<&str>> = set.ignored().iter().map(|i| i.kid.as_deref()).collect();
    assert_eq!(
        kids,
        [
            Some("rsa1"),
            Some("p521"),
            Some("x"),
            Some("enc"),
            None,
            Some("good")
        ]
    );
    assert!(set.ignored()[0].reason.contains("\"enc\""));
    assert!(set.ignored()[1].reason.contains("P-521"));
    assert!(set.ignored()[5].reason.contains("same kid"));
}

#[test]
fn jwks_refuses_malformed_keys_with_a_reason() {
    let x = RFC7515_X;
    let y = RFC7515_Y;
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (
            serde_json::json!({"kty": "EC", "crv": "P-256", "x": x}),
            "\"y\" is missing",
        ),
        (
            serde_json::json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": y}),
            "32 bytes",
        ),
        (
            serde_json::json!({"kty": "EC", "crv": "P-256", "x": format!("{}=", &x[..42]), "y": y}),
            "base64url",
        ),
        (
            serde_json::json!({"kty": "EC", "crv": "P-256", "alg": "ES384", "x": x, "y": y}),
            "ES384",
        ),
        (
            serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": x}),
            "not valid",
        ),
        (
            serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "d": RFC7515_D}),
            "private key",
        ),
        (
            serde_json::json!({"kty": "EC", "crv": "P-256", "kid": 7, "x": x, "y": y}),
            "kid",
        ),
        (serde_json::json!({"crv": "P-256", "x": x, "y": y}), "kty"),
        (
            serde_json::json!(["not", "an", "object"]),
            "not a JSON object",
        ),
        (
            serde_json::json!({"kty": "OKP", "crv": "Ed25519", "alg": "ES256", "x": RFC8037_X}),
            "ES256",
        ),
    ];
    for (key, expected) in cases {
        let doc = serde_json::json!({"keys": [key]});
        let e =
            VerifyingKeys::from_jwks_json(doc.to_string().as_bytes()).expect_err(&doc.to_string());
        assert!(matches!(e, KeyError::BadJwk { index: 0, .. }), "{e}");
        assert!(
            e.to_string().contains(expected),
            "{e} should mention {expected}"
        );
    }
}

#[test]
fn documents_that_are_not_key_sets_are_refused() {
    for doc in ["not json", "[]", "{}", r#"{"keys": {}}"#] {
        let e = VerifyingKeys::from_jwks_json(doc.as_bytes()).expect_err(doc);
        assert!(matches!(e, KeyError::NotJwks { .. }), "{doc}: {e}");
    }
    let e = VerifyingKeys::from_jwks_json(br#"{"keys": []}"#).expect_err("empty");
    assert!(matches!(e, KeyError::NoUsableKeys { .. }));
    let e = VerifyingKeys::from_jwks_json(br#"{"keys": [{"kty":"RSA","kid":"r"}]}"#)
        .expect_err("only RSA");
    assert!(e.to_string().contains("kid \"r\""), "{e}");
}
