//! Fuzz a posted ClientApplication document: JSON shape and validation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(app) = serde_json::from_slice::<certbound_oauth::client::ClientApplication>(data) {
        let _ = app.validate(Default::default(), time::OffsetDateTime::UNIX_EPOCH);
    }
});
