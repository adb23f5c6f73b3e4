//! Test fixtures for certbound's tests, made at test time: PKIs built with rcgen
//! (no private key is checked in) and a PostgreSQL database for store tests.

pub mod client_key;
pub mod pki;
pub mod postgres;

pub use pki::*;
