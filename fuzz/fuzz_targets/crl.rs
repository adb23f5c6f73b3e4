//! Fuzz the CRL reader (PEM or DER, through x509-parser and rustls-webpki)
//! and what the server asks of a CRL once read: its issuer's signature,
//! a serial lookup, a certificate's standing in a set.
#![no_main]

use certbound_pki::revocation::{CrlSet, parse_crls};
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

fuzz_target!(|data: &[u8]| {
    let Ok(crls) = parse_crls("fuzz.crl", data) else {
        return;
    };
    for crl in &crls {
        let _ = crl.check_issuer(&[]);
        let _ = crl.find(&[1]);
        let _ = crl.find(data.get(..20).unwrap_or(data));
        let _ = crl.is_stale(OffsetDateTime::UNIX_EPOCH);
    }
    let set = CrlSet::new(crls);
    let _ = set.status(data, OffsetDateTime::UNIX_EPOCH);
    let _ = set.ders();
});
