//! Fuzz the PKCS#12 reader (`.p12`/`.pfx`): the container sniffing, the MAC
//! check and the decryption of its bags, with and without a password.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = certbound_pki::pkcs12::container(data);
    if certbound_pki::pkcs12::is_pkcs12(data) {
        let _ = certbound_pki::pkcs12::read_pkcs12(data, None);
        let _ = certbound_pki::pkcs12::read_pkcs12(data, Some("password"));
    }
});
