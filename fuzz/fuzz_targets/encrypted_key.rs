//! Fuzz the readers of password-protected keys: PKCS#8 `ENCRYPTED PRIVATE
//! KEY` (PBES2, PEM or DER) and legacy OpenSSL PEM (`Proc-Type: 4,ENCRYPTED`,
//! `DEK-Info`). The first byte picks the password, so that a decryption that
//! succeeds is reached too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let password = match pick % 3 {
        0 => None,
        1 => Some("password"),
        _ => Some(""),
    };
    if let Ok(key) = certbound_pki::key::parse_private_key_with_password(rest, password) {
        let _ = key.kind();
    }
});
