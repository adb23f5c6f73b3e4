//! Fuzz the trust-store PEM input of a ClientApplication: parsing,
//! classification (CA / self-signed / neither) and the anchor set.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut warnings = Vec::new();
    if let Ok(store) = certbound_oauth::client::parse_trust_store(text, time::OffsetDateTime::UNIX_EPOCH, &mut warnings) {
        assert_eq!(store.certs.len(), store.anchors.len() + store.exact.len());
    }
});
