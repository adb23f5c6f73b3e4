//! The property every forwarded-header fuzz target checks: decoding never
//! panics, every certificate it returns is one X.509 certificate, and what it
//! returns encodes back (in the same format) to a value that decodes to the
//! same DER.

use certbound_pki::forwarded::{self, HeaderFormat};

pub fn check(format: HeaderFormat, data: &[u8]) {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(Some(certs)) = forwarded::decode(format, value) else {
        return;
    };
    assert!(!certs.is_empty(), "Some means at least one certificate");
    if !format.carries_chain() {
        assert_eq!(certs.len(), 1, "{format} carries only the leaf");
    }
    for cert in &certs {
        let parsed = certbound_pki::parse_certificates(cert.as_ref())
            .expect("a returned certificate parses as DER X.509");
        assert_eq!(parsed.len(), 1);
    }
    let encoded = forwarded::encode(format, &certs);
    let again = forwarded::decode(format, &encoded)
        .expect("an encoded chain decodes")
        .expect("an encoded chain is not empty");
    assert_eq!(again, certs, "{format} round trip changed the chain");
}
