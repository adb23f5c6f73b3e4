//! Fuzz the certificate signing request reader (PEM or DER, signature
//! verification, requested extensions) and the signing of what it accepts.
#![no_main]

use std::sync::OnceLock;

use certbound_pki::chain::Usage;
use certbound_pki::generate::{self, CaSpec, KeyType, Signer, csr};
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

fn signer() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| {
        let spec = CaSpec {
            common_name: "Fuzz Root CA".into(),
            organization: None,
            key_type: KeyType::EcdsaP256,
            days: 3650,
        };
        let root = generate::root_ca(&spec, OffsetDateTime::now_utc()).expect("a root CA");
        Signer::new(root.cert_der, root.key_pem.as_bytes()).expect("its signer")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = csr::parse(data) {
        let spec = csr::SignSpec {
            usage: Usage::Client,
            days: 1,
            ..csr::SignSpec::default()
        };
        let _ = csr::sign(signer(), &request, &spec, OffsetDateTime::now_utc());
    }
});
