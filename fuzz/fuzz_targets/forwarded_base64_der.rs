//! Fuzz the HAProxy / Caddy base64 DER client-certificate header decoder.
#![no_main]

use certbound_pki::forwarded::HeaderFormat;
use libfuzzer_sys::fuzz_target;

#[path = "common/forwarded.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::check(HeaderFormat::Base64Der, data));
