//! Fuzz the RFC 9440 `Client-Cert` and `Client-Cert-Chain` decoders (RFC 8941
//! byte sequences and lists of them).
#![no_main]

use certbound_pki::forwarded::{self, HeaderFormat};
use libfuzzer_sys::fuzz_target;

#[path = "common/forwarded.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::check(HeaderFormat::Rfc9440, data);
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(chain) = forwarded::decode_rfc9440_chain(value) {
        let encoded = forwarded::encode_rfc9440_chain(&chain);
        let again = forwarded::decode_rfc9440_chain(&encoded).expect("an encoded chain decodes");
        assert_eq!(
            again, chain,
            "Client-Cert-Chain round trip changed the chain"
        );
    }
});
