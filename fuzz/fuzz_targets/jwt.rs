//! Fuzz JWT verification against a fixed key set (one ES256 and one EdDSA key
//! generated at start-up), and sign-then-verify of arbitrary JSON claims.
#![no_main]

use std::sync::OnceLock;

use certbound_oauth::jwt;
use certbound_oauth::{Algorithm, SigningKey, Validation, VerifyingKeys};
use libfuzzer_sys::fuzz_target;

struct Keys {
    signing: SigningKey,
    verifying: VerifyingKeys,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let (es256, _) = SigningKey::generate(Algorithm::Es256).expect("generate ES256 key");
        let (eddsa, _) = SigningKey::generate(Algorithm::EdDsa).expect("generate EdDSA key");
        let verifying =
            VerifyingKeys::from_signing_keys([&es256, &eddsa]).expect("verifying key set");
        Keys {
            signing: es256,
            verifying,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let keys = keys();
    let validation = Validation::new("https://issuer.example");
    if let Ok(token) = std::str::from_utf8(data) {
        if let Ok(verified) = jwt::verify(token, &keys.verifying) {
            let _ = verified.claims::<serde_json::Value>();
        }
        let _ = certbound_oauth::verify_access_token(token, &keys.verifying, &validation, 0);
    }
    // Arbitrary claims, correctly signed: everything after the signature check.
    if let Ok(claims) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Ok(token) = jwt::sign(&keys.signing, &claims) {
            let verified = jwt::verify(&token, &keys.verifying).expect("our own token verifies");
            assert_eq!(
                verified.payload,
                serde_json::to_vec(&claims).expect("claims serialize"),
                "the payload survives signing"
            );
            let _ = certbound_oauth::verify_access_token(
                &token,
                &keys.verifying,
                &validation,
                jwt::unix_now(),
            );
        }
    }
});
