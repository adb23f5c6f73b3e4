//! Fuzz the certificate bundle parser (PEM or DER, several certificates) and
//! everything that reads a certificate it accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(certs) = certbound_pki::parse_certificates(data) {
        assert!(!certs.is_empty(), "Ok means at least one certificate");
        for cert in &certs {
            let info = certbound_pki::CertInfo::from_der(cert).expect("accepted certificates parse");
            let _ = certbound_pki::host::check_host(cert, &info, "example.com");
        }
        let _ = certbound_pki::chain::verify(
            &certs[0],
            &certs[1..],
            &certs,
            certbound_pki::chain::Usage::Any,
            time::OffsetDateTime::UNIX_EPOCH,
        );
    }
    let _ = certbound_pki::bundle::pem_blocks(data);
});
