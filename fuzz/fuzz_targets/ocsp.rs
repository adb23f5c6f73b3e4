//! Fuzz OCSP response parsing (what a responder or a TLS server's staple
//! hands us): the DER reader, every field, and the times.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = certbound_pki::ocsp::parse_response(data) {
        for single in &parsed.responses {
            let _ = (single.status, single.this_update, single.next_update);
        }
        let _ = parsed.certs.len();
    }
});
