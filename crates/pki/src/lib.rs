//! The X.509 model of certbound: read certificates and keys, describe them,
//! verify chains with rustls-webpki, make new ones with rcgen, and run the
//! checks behind `certbound check`.
//!
//! This crate is pure and synchronous: it never touches the file system or the
//! network. Callers hand it bytes (and facts such as a key file's mode) and get
//! back values and verdicts.

pub mod anchors;
pub mod bundle;
pub mod chain;
pub mod check;
pub mod dn;
mod encrypted;
pub mod forwarded;
pub mod generate;
pub mod host;
pub mod inspect;
pub mod key;
pub mod ocsp;
pub mod oid;
pub mod pkcs12;
pub mod revocation;
pub mod thumbprint;
pub mod time_fmt;

pub use bundle::{BundleError, parse_certificates};
pub use inspect::{CertInfo, KeyKind, SanEntry};
pub use thumbprint::{sha256_fingerprint, x5t_s256};

/// A DER certificate owned by the caller, as rustls and webpki use it.
pub type CertDer = rustls_pki_types::CertificateDer<'static>;
