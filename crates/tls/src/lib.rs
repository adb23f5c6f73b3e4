//! TLS for certbound's clients: rustls configurations from named TLS profiles
//! (`[tls.NAME]`) or flags, the handshake tracer behind `certbound connect`
//! that explains a failure in words, and the mTLS HTTP client behind
//! `certbound request` and `certbound token`.
//!
//! Everything uses rustls with the aws-lc-rs provider. Server-side modules
//! live beside these and share the profiles.

pub mod alert;
mod capture;
pub mod client;
pub mod connect;
mod diagram;
pub mod error;
pub mod fetch;
pub mod http;
pub mod https;
pub mod material;
mod names;
pub mod profile;
pub mod report;
mod tcp;
pub mod token;
pub mod trace;

pub use client::{ClientTls, Versions};
pub use connect::{ConnectOptions, Session, Target, connect, open};
pub use error::Error;
pub use https::{HttpVersion, HttpsRequest, HttpsResponse};
pub use material::Identity;
pub use profile::{ProfileError, RawProfile, TlsProfile};
pub use report::{ConnectReport, Diagnosis};
