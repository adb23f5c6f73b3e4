//! Fuzz the nginx `$ssl_client_escaped_cert` client-certificate header decoder.
#![no_main]

use certbound_pki::forwarded::HeaderFormat;
use libfuzzer_sys::fuzz_target;

#[path = "common/forwarded.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::check(HeaderFormat::Nginx, data));
