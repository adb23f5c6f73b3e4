//! Fuzz the private key reader (PKCS#8, PKCS#1, SEC1; PEM or DER).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(key) = certbound_pki::key::parse_private_key(data) {
        let _ = key.kind();
        let _ = key.matches_certificate(data);
    }
});
