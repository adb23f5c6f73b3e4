//! OAuth 2.0 for mutual-TLS clients, without any I/O or async runtime: the
//! token endpoint's inputs and outputs, certificate-bound JWT access tokens
//! (RFC 6749, 8705, 9068, 7662, 7009, 8414), their signing keys, and client
//! secrets for the clients that cannot use mTLS.
//!
//! The server crate wires these into HTTP; everything here is plain functions
//! and data, tested with plain unit tests.

#![forbid(unsafe_code)]

pub mod assertion;
pub mod auth;
pub mod claims;
pub mod client;
pub mod error;
pub mod introspect;
pub mod jwt;
pub mod keys;
pub mod metadata;
pub mod request;
pub mod scope;
pub mod secret;
pub mod udap;

pub use claims::{
    AccessTokenClaims, IssueParams, IssuedToken, issue, verify_access_token, x5t_s256,
};
pub use error::{ErrorCode, OAuthError};
pub use jwt::{JwtError, Validation};
pub use keys::{Algorithm, KeyError, SigningKey, VerifyingKeys};
pub use request::{ClientAuthentication, RequestError, TokenRequest};
