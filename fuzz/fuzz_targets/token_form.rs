//! Fuzz the token endpoint's inputs: the form body (RFC 6749 §4.4.2, form
//! encoding with `+` and `%XX`), and the `Authorization: Basic` header.
#![no_main]

use certbound_oauth::request::{self, FormParams, TokenRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(form) = FormParams::parse(data) {
        for (name, value) in form.iter() {
            assert!(!value.is_empty(), "empty values are dropped");
            let _ = form.single(name);
        }
    }
    let authorization = std::str::from_utf8(data).ok();
    if let Ok(token_request) = TokenRequest::parse(data) {
        let _ = token_request.client_authentication(None);
        let _ = token_request.client_authentication(authorization);
    }
    if let Some(value) = authorization {
        let _ = request::parse_basic_authorization(value);
    }
});
