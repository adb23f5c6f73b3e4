//! Test fixtures for certbound's tests, made at test time: PKIs built with rcgen
//! (no private key is checked in), a PostgreSQL database for store tests, and
//! the one way tests wait for something that happens in the background.

pub mod client_key;
pub mod pki;
pub mod postgres;
pub mod wait;

pub use pki::*;
