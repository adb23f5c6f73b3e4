//! Fuzz what a `private_key_jwt` client sends and registers: client
//! assertions checked against a fixed key set (an RSA key without `alg`, so
//! every RS*/PS* algorithm is tried, and a P-256 key), the unverified
//! `client_id_of`, and arbitrary JWKS documents.
#![no_main]

use std::sync::OnceLock;

use certbound_oauth::VerifyingKeys;
use certbound_oauth::assertion::{self, Expected};
use libfuzzer_sys::fuzz_target;

/// RFC 7638 §3.1's RSA key and RFC 7515 A.3's P-256 key.
const JWKS: &str = r#"{"keys":[
 {"kty":"RSA","kid":"rsa","e":"AQAB","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"},
 {"kty":"EC","crv":"P-256","kid":"p256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
]}"#;

fn keys() -> &'static VerifyingKeys {
    static KEYS: OnceLock<VerifyingKeys> = OnceLock::new();
    KEYS.get_or_init(|| VerifyingKeys::from_jwks_json(JWKS.as_bytes()).expect("the fixed JWKS"))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(keys) = VerifyingKeys::from_jwks_json(data) {
        assert!(!keys.is_empty(), "a parsed key set holds a key");
        for key in keys.iter() {
            let _ = key.jwk().thumbprint();
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = assertion::client_id_of(text);
        let audiences = ["https://as.example/oauth2/token".to_owned()];
        let expected = Expected {
            client_id: "client",
            audiences: &audiences,
            jwks_uri: Some("https://client.example/jwks"),
            now: 1_900_000_000,
        };
        let _ = assertion::verify(text, keys(), &expected);
    }
});
