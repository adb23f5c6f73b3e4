use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{
    self, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RsaEncoding,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::*;

const CLIENT: &str = "ehr-backend";
const NOW: i64 = 1_900_000_000;
const TOKEN_URL: &str = "https://auth.example/oauth2/token";
const JWKS_URL: &str = "https://ehr.example/.well-known/jwks.json";

/// A client's private key, its public JWK and how it signs.
enum Client {
    Rsa(RsaKeyPair, &'static dyn RsaEncoding, &'static str),
    Ec(EcdsaKeyPair),
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Client {
    fn rsa(alg: &'static str) -> Self {
        let encoding: &'static dyn RsaEncoding = match alg {
            "RS256" => &signature::RSA_PKCS1_SHA256,
            "RS384" => &signature::RSA_PKCS1_SHA384,
            "PS256" => &signature::RSA_PSS_SHA256,
            other => panic!("no encoding for {other}"),
        };
        Self::Rsa(
            RsaKeyPair::generate(KeySize::Rsa2048).expect("rsa key"),
            encoding,
            alg,
        )
    }

    fn es384() -> Self {
        let doc =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &SystemRandom::new())
                .expect("p-384 key");
        Self::Ec(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, doc.as_ref())
                .expect("p-384 key"),
        )
    }

    fn alg(&self) -> &'static str {
        match self {
            Self::Rsa(_, _, alg) => alg,
            Self::Ec(_) => "ES384",
        }
    }

    /// The public JWK, with `alg` when `with_alg`.
    fn jwk(&self, kid: &str, with_alg: bool) -> Value {
        let mut jwk = match self {
            Self::Rsa(pair, _, _) => {
                let parts = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                json!({"kty": "RSA", "n": b64(&parts.n), "e": b64(&parts.e)})
            }
            Self::Ec(pair) => {
                let point = pair.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-384", "x": b64(&point[1..49]), "y": b64(&point[49..97])})
            }
        };
        jwk["kid"] = json!(kid);
        if with_alg {
            jwk["alg"] = json!(self.alg());
        }
        jwk
    }

    fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = match self {
            Self::Rsa(pair, encoding, _) => {
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(*encoding, &SystemRandom::new(), input.as_bytes(), &mut sig)
                    .expect("sign");
                sig
            }
            Self::Ec(pair) => pair
                .sign(&SystemRandom::new(), input.as_bytes())
                .expect("sign")
                .as_ref()
                .to_vec(),
        };
        format!("{input}.{}", b64(&signature))
    }

    fn sign(&self, kid: &str, claims: &Value) -> String {
        self.sign_with_header(
            &json!({"alg": self.alg(), "typ": "JWT", "kid": kid}),
            claims,
        )
    }
}

fn claims() -> Value {
    json!({
        "iss": CLIENT, "sub": CLIENT, "aud": TOKEN_URL,
        "exp": NOW + 240, "iat": NOW, "jti": "a1b2c3",
    })
}

fn keys(jwks: &[Value]) -> VerifyingKeys {
    VerifyingKeys::from_jwks_json(json!({ "keys": jwks }).to_string().as_bytes()).expect("jwks")
}

fn audiences() -> Vec<String> {
    vec![
        TOKEN_URL.to_owned(),
        "https://auth.example:8443/oauth2/token".to_owned(),
    ]
}

fn check(assertion: &str, keys: &VerifyingKeys) -> Result<Assertion, AssertionError> {
    let audiences = audiences();
    verify(
        assertion,
        keys,
        &Expected {
            client_id: CLIENT,
            audiences: &audiences,
            jwks_uri: Some(JWKS_URL),
            now: NOW,
        },
    )
}

#[test]
fn rs384_es384_rs256_and_ps256_assertions_verify() {
    for client in [
        Client::rsa("RS384"),
        Client::es384(),
        Client::rsa("RS256"),
        Client::rsa("PS256"),
    ] {
        for with_alg in [true, false] {
            let set = keys(&[client.jwk("k1", with_alg)]);
            let ok = check(&client.sign("k1", &claims()), &set)
                .unwrap_or_else(|e| panic!("{} (alg in jwk: {with_alg}): {e}", client.alg()));
            assert_eq!(ok.jti, "a1b2c3");
            assert_eq!(ok.exp, NOW + 240);
            assert_eq!(ok.alg.jws_name(), client.alg());
        }
    }
}

#[test]
fn an_array_audience_naming_the_other_listener_is_accepted() {
    let client = Client::es384();
    let mut c = claims();
    c["aud"] = json!(["https://other", "https://auth.example:8443/oauth2/token"]);
    assert!(check(&client.sign("k1", &c), &keys(&[client.jwk("k1", true)])).is_ok());
}

#[test]
fn each_claim_check_refuses_with_its_reason() {
    let client = Client::es384();
    let set = keys(&[client.jwk("k1", true)]);
    let refuse = |edit: &dyn Fn(&mut Value)| {
        let mut c = claims();
        edit(&mut c);
        check(&client.sign("k1", &c), &set).expect_err("refused")
    };
    let e = refuse(&|c| c["aud"] = json!("https://elsewhere/token"));
    assert_eq!(e.code(), "assertion_audience", "{e}");
    let e = refuse(&|c| c["exp"] = json!(NOW - 1));
    assert!(matches!(e, AssertionError::Expired { .. }), "{e}");
    let e = refuse(&|c| c["exp"] = json!(NOW + 3600));
    assert!(matches!(e, AssertionError::TooLong { .. }), "{e}");
    assert!(e.to_string().contains("at most 300s"), "{e}");
    let e = refuse(&|c| c["iss"] = json!("someone-else"));
    assert!(
        matches!(e, AssertionError::WrongClient { claim: "iss", .. }),
        "{e}"
    );
    let e = refuse(&|c| c["sub"] = json!("someone-else"));
    assert!(
        matches!(e, AssertionError::WrongClient { claim: "sub", .. }),
        "{e}"
    );
    let e = refuse(&|c| {
        c.as_object_mut().map(|o| o.remove("jti"));
    });
    assert!(
        matches!(e, AssertionError::MissingClaim { claim: "jti", .. }),
        "{e}"
    );
    let e = refuse(&|c| {
        c.as_object_mut().map(|o| o.remove("exp"));
    });
    assert!(
        matches!(e, AssertionError::MissingClaim { claim: "exp", .. }),
        "{e}"
    );
    let e = refuse(&|c| c["exp"] = json!("soon"));
    assert!(
        matches!(e, AssertionError::MissingClaim { claim: "exp", .. }),
        "{e}"
    );
    let e = refuse(&|c| c["iat"] = json!(NOW + 600));
    assert!(
        matches!(e, AssertionError::NotYetValid { claim: "iat", .. }),
        "{e}"
    );
    let e = refuse(&|c| c["jti"] = json!("x".repeat(MAX_JTI_LEN + 1)));
    assert!(matches!(e, AssertionError::BadJti { .. }), "{e}");
}

#[test]
fn a_wrong_key_an_unknown_kid_none_and_hmac_are_refused() {
    let client = Client::rsa("RS384");
    let other = Client::rsa("RS384");
    let set = keys(&[client.jwk("k1", true)]);
    // Signed by another key under the registered kid.
    let e = check(&other.sign("k1", &claims()), &set).expect_err("wrong key");
    assert_eq!(e.code(), "assertion_signature", "{e}");
    // A kid the set does not have asks for a re-fetch.
    let e = check(&client.sign("k2", &claims()), &set).expect_err("unknown kid");
    assert!(e.wants_fresh_keys(), "{e}");
    // alg none: no signature at all.
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none"}"#),
        b64(claims().to_string().as_bytes())
    );
    let e = check(&none, &set).expect_err("none");
    assert!(e.to_string().contains("never none or HMAC"), "{e}");
    // HS256 keyed with the public key's text (the classic confusion).
    let hs = client.sign_with_header(&json!({"alg": "HS256", "kid": "k1"}), &claims());
    let e = check(&hs, &set).expect_err("hmac");
    assert_eq!(e.code(), "assertion_alg", "{e}");
    // An RS384 key asked to check ES384 is refused before any verification.
    let es = Client::es384().sign("k1", &claims());
    let e = check(&es, &set).expect_err("alg mismatch");
    assert_eq!(e.code(), "assertion_alg", "{e}");
}

#[test]
fn jku_is_honoured_only_when_it_is_the_registered_jwks_uri() {
    let client = Client::es384();
    let set = keys(&[client.jwk("k1", true)]);
    let with_jku = |jku: &str| {
        client.sign_with_header(&json!({"alg": "ES384", "kid": "k1", "jku": jku}), &claims())
    };
    assert!(check(&with_jku(JWKS_URL), &set).is_ok());
    let e = check(&with_jku("https://attacker.example/jwks"), &set).expect_err("foreign jku");
    assert_eq!(e.code(), "assertion_jku", "{e}");
}

#[test]
fn an_access_token_is_not_a_client_assertion() {
    let client = Client::es384();
    let at = client.sign_with_header(
        &json!({"alg": "ES384", "kid": "k1", "typ": "at+jwt"}),
        &claims(),
    );
    let e = check(&at, &keys(&[client.jwk("k1", true)])).expect_err("typ");
    assert_eq!(e.code(), "assertion_typ", "{e}");
}

#[test]
fn client_id_of_reads_sub_then_iss_without_verifying() {
    let client = Client::es384();
    assert_eq!(
        client_id_of(&client.sign("k1", &claims())).expect("sub"),
        CLIENT
    );
    let only_iss = client.sign("k1", &json!({"iss": "x-client"}));
    assert_eq!(client_id_of(&only_iss).expect("iss"), "x-client");
    assert!(client_id_of("not-a-jwt").is_err());
    assert!(client_id_of(&format!("a.{}.c", b64(b"[1]"))).is_err());
}

#[test]
fn rsa_keys_below_2048_bits_and_private_members_are_refused() {
    let client = Client::rsa("RS256");
    let mut short = client.jwk("k1", true);
    let n = URL_SAFE_NO_PAD
        .decode(short["n"].as_str().expect("n"))
        .expect("n");
    short["n"] = json!(b64(&n[..128]));
    let err = VerifyingKeys::from_jwks_json(json!({ "keys": [short] }).to_string().as_bytes())
        .expect_err("1024-bit modulus");
    assert!(err.to_string().contains("2048 to 8192 bits"), "{err}");
    let mut private = client.jwk("k1", true);
    private["d"] = json!("AQAB");
    let err = VerifyingKeys::from_jwks_json(json!({ "keys": [private] }).to_string().as_bytes())
        .expect_err("private key");
    assert!(err.to_string().contains("private key"), "{err}");
    let mut wrong_alg = client.jwk("k1", false);
    wrong_alg["alg"] = json!("ES256");
    let err = VerifyingKeys::from_jwks_json(json!({ "keys": [wrong_alg] }).to_string().as_bytes())
        .expect_err("RSA key declared ES256");
    assert!(err.to_string().contains("RSA key"), "{err}");
}

#[test]
fn the_rsa_jwk_thumbprint_is_rfc_7638s_example() {
    // RFC 7638 §3.1.
    let jwk = json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB", "kid": "2011-04-29"
    });
    let set = keys(&[jwk]);
    let key = set.iter().next().expect("key");
    assert_eq!(
        key.jwk().thumbprint(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    assert_eq!(key.key_type(), "RSA");
    assert_eq!(key.algorithm(), None);
}
