//! Fuzz what UDAP partners send: software statements and authentication
//! tokens (an `x5c` header whose leaf key verifies the signature, a chain to
//! a fixed community anchor), the claims of a statement and of an
//! authentication token as if their signature had verified, and `hl7-b2b`
//! extension objects.
#![no_main]

use std::sync::OnceLock;

use certbound_oauth::udap::{self, Signed, TokenExpected};
use certbound_pki::generate::{self, CaSpec, KeyType};
use certbound_pki::{CertDer, CertInfo};
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

const NOW: i64 = 1_900_000_000;

/// A community anchor, made once.
fn anchor() -> &'static (CertDer, CertInfo) {
    static ANCHOR: OnceLock<(CertDer, CertInfo)> = OnceLock::new();
    ANCHOR.get_or_init(|| {
        let spec = CaSpec {
            common_name: "Fuzz Community".into(),
            organization: None,
            key_type: KeyType::EcdsaP256,
            days: 36_500,
        };
        let root = generate::root_ca(&spec, OffsetDateTime::now_utc()).expect("a root");
        let info = CertInfo::from_der(&root.cert_der).expect("readable");
        (root.cert_der, info)
    })
}

fuzz_target!(|data: &[u8]| {
    let (cert, info) = anchor();
    let now = OffsetDateTime::from_unix_timestamp(NOW).expect("a time");
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = udap::verify_signed(text, "urn:fuzz", std::slice::from_ref(cert), &[], now, None);
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let _ = udap::check_b2b(&value);
    let Some(claims) = value.as_object() else {
        return;
    };
    let signed = Signed {
        alg: certbound_oauth::Algorithm::Rs256,
        claims: claims.clone(),
        leaf: info.clone(),
        uris: vec!["https://partner.example/app".into()],
        path: Vec::new(),
    };
    let endpoints = ["https://as.example/oauth2/register".to_owned()];
    if let Ok(st) = udap::check_statement(&signed, &endpoints, NOW) {
        assert!(st.exp > NOW, "an accepted statement is unexpired");
        assert!(st.cancels() || st.scope.is_some(), "a registration has a scope");
    }
    let audiences = ["https://as.example/oauth2/token".to_owned()];
    let expected = TokenExpected {
        client_id: "udap-0",
        registered_uri: "https://partner.example/app",
        audiences: &audiences,
        b2b_required: true,
        now: NOW,
    };
    if let Ok(token) = udap::check_auth_token(&signed, &expected) {
        let b2b = token.extensions.expect("hl7-b2b is required");
        assert!(b2b.to_string().len() <= udap::MAX_B2B_LEN + 16);
    }
    let _ = udap::check_metadata(&signed, "https://as.example", claims, NOW);
});
