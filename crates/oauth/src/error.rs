//! The one place OAuth errors become HTTP: status code, RFC 6749 §5.2 JSON
//! body, and the `WWW-Authenticate` challenge (RFC 6749 §5.2, RFC 6750 §3).
//!
//! The peer is told little: an error code and a short description that says
//! what to fix in the request. Which check failed in detail goes to the log
//! through the crate's other error types ([`crate::jwt::JwtError`],
//! [`crate::request::RequestError`]), which convert into [`OAuthError`] here.

use std::fmt;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::jwt::JwtError;

/// Headers every token, introspection and error response carries (RFC 6749
/// §5.1): responses with tokens or token state must not be cached.
pub const NO_STORE_HEADERS: [(&str, &str); 2] =
    [("cache-control", "no-store"), ("pragma", "no-cache")];

/// Longest `error_description` sent, in characters; longer text is cut.
pub const MAX_DESCRIPTION_LEN: usize = 512;

/// The error codes of RFC 6749 §5.2 and RFC 6750 §3.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The request is malformed (missing, repeated or invalid parameter).
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The grant is invalid, expired or revoked.
    InvalidGrant,
    /// The client may not use this grant type.
    UnauthorizedClient,
    /// The grant type is not supported.
    UnsupportedGrantType,
    /// The requested scope is invalid or exceeds what the client may have.
    InvalidScope,
    /// The access token is invalid, expired or revoked (RFC 6750).
    InvalidToken,
    /// The access token lacks the scope the resource requires (RFC 6750).
    InsufficientScope,
    /// The server failed.
    ServerError,
    /// The server is overloaded or in maintenance.
    TemporarilyUnavailable,
}

impl ErrorCode {
    /// The code as sent on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    /// The HTTP status for this code: 400, except 401 for `invalid_client`
    /// and `invalid_token`, 403 for `insufficient_scope`, 500 and 503.
    pub const fn http_status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::InsufficientScope => 403,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            Self::InvalidRequest
            | Self::InvalidGrant
            | Self::UnauthorizedClient
            | Self::UnsupportedGrantType
            | Self::InvalidScope => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What kind of endpoint answered, which decides the challenge sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Challenge<'a> {
    /// The token, introspection or revocation endpoint. `basic_realm` is set
    /// when the client tried HTTP Basic authentication, so that a failure is
    /// answered with a `Basic` challenge (RFC 6749 §5.2).
    ClientAuth {
        /// The realm to name, when the client used Basic.
        basic_realm: Option<&'a str>,
    },
    /// A resource protected by bearer tokens (RFC 6750 §3).
    Bearer {
        /// The realm to name, if any.
        realm: Option<&'a str>,
    },
}

/// An OAuth error response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthError {
    /// The error code.
    pub code: ErrorCode,
    /// Human-readable text for the client developer; sanitised when sent.
    pub description: Option<String>,
}

impl OAuthError {
    /// An error with no description.
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            description: None,
        }
    }

    /// An error with a description.
    pub fn with_description(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: Some(description.into()),
        }
    }

    /// `invalid_request` with a description.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::with_description(ErrorCode::InvalidRequest, description)
    }

    /// `invalid_client`: says only that authentication failed; the reason
    /// belongs in the log.
    pub fn invalid_client() -> Self {
        Self::with_description(ErrorCode::InvalidClient, "Client authentication failed")
    }

    /// `invalid_scope` with a description.
    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::with_description(ErrorCode::InvalidScope, description)
    }

    /// `unsupported_grant_type` naming the grant type that was asked for.
    pub fn unsupported_grant_type(grant_type: &str) -> Self {
        Self::with_description(
            ErrorCode::UnsupportedGrantType,
            format!("grant_type {grant_type} is not supported; use client_credentials"),
        )
    }

    /// `server_error` with a generic description; log the real cause.
    pub fn server_error() -> Self {
        Self::with_description(
            ErrorCode::ServerError,
            "The server could not complete the request; try again later",
        )
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.code.http_status()
    }

    /// The description as sent: only the characters RFC 6749 §5.2 allows.
    pub fn sanitized_description(&self) -> Option<String> {
        self.description.as_deref().map(sanitize)
    }

    /// The RFC 6749 §5.2 JSON body: `{"error":..,"error_description":..}`,
    /// the description omitted when there is none.
    pub fn to_json(&self) -> String {
        // Serialising two plain strings cannot fail.
        serde_json::to_string(self)
            .unwrap_or_else(|_| format!("{{\"error\":\"{}\"}}", self.code.as_str()))
    }

    /// The `WWW-Authenticate` header value due with this error, if any:
    /// `Basic realm=".."` for `invalid_client` when the client tried Basic;
    /// `Bearer error=".."` for `invalid_token`, `insufficient_scope` and
    /// `invalid_request` at a protected resource.
    pub fn www_authenticate(&self, challenge: Challenge<'_>) -> Option<String> {
        match challenge {
            Challenge::ClientAuth { basic_realm } => match (self.code, basic_realm) {
                (ErrorCode::InvalidClient, Some(realm)) => {
                    Some(format!("Basic realm=\"{}\"", sanitize(realm)))
                }
                _ => None,
            },
            Challenge::Bearer { realm } => {
                if !matches!(
                    self.code,
                    ErrorCode::InvalidToken
                        | ErrorCode::InsufficientScope
                        | ErrorCode::InvalidRequest
                ) {
                    return None;
                }
                let mut value = String::from("Bearer ");
                if let Some(realm) = realm {
                    value.push_str(&format!("realm=\"{}\", ", sanitize(realm)));
                }
                value.push_str(&format!("error=\"{}\"", self.code.as_str()));
                if let Some(description) = self.sanitized_description() {
                    value.push_str(&format!(", error_description=\"{description}\""));
                }
                Some(value)
            }
        }
    }
}

/// The challenge for a request to a protected resource that carried no token
/// at all: no error code (RFC 6750 §3.1), status 401.
pub fn bearer_challenge(realm: Option<&str>) -> String {
    match realm {
        Some(realm) => format!("Bearer realm=\"{}\"", sanitize(realm)),
        None => String::from("Bearer"),
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.description {
            Some(d) => write!(f, "{}: {d}", self.code),
            None => write!(f, "{}", self.code),
        }
    }
}

impl std::error::Error for OAuthError {}

impl Serialize for OAuthError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let description = self.sanitized_description();
        let mut st = s.serialize_struct("OAuthError", 1 + usize::from(description.is_some()))?;
        st.serialize_field("error", &self.code)?;
        if let Some(description) = &description {
            st.serialize_field("error_description", description)?;
        }
        st.end()
    }
}

/// RFC 6749 §5.2: `error_description` is limited to %x20-21 / %x23-5B /
/// %x5D-7E. `"` becomes `'`, `\` becomes `/`, `§` becomes `section `,
/// anything else outside the set (controls, non-ASCII) becomes `?`; the text
/// is cut at [`MAX_DESCRIPTION_LEN`] characters.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_DESCRIPTION_LEN));
    for c in text.chars() {
        match c {
            '"' => out.push('\''),
            '\\' => out.push('/'),
            '§' => out.push_str("section "),
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out.chars().take(MAX_DESCRIPTION_LEN).collect()
}

impl From<JwtError> for OAuthError {
    /// Token problems are `invalid_token` with a short reason (the detail is
    /// for the log); failures to issue a token are `server_error`.
    fn from(e: JwtError) -> Self {
        let description = match e {
            JwtError::Serialize { .. } | JwtError::Signing | JwtError::Random => {
                return Self::server_error();
            }
            JwtError::Expired { .. } => "The access token expired",
            JwtError::NotCertificateBound | JwtError::CertificateMismatch { .. } => {
                "The access token is not bound to the client certificate presented"
            }
            JwtError::WrongAudience { .. } => "The access token is not for this resource",
            _ => "The access token is invalid",
        };
        Self::with_description(ErrorCode::InvalidToken, description)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_follow_the_rfcs() {
        let cases = [
            (ErrorCode::InvalidRequest, 400),
            (ErrorCode::InvalidClient, 401),
            (ErrorCode::InvalidGrant, 400),
            (ErrorCode::UnauthorizedClient, 400),
            (ErrorCode::UnsupportedGrantType, 400),
            (ErrorCode::InvalidScope, 400),
            (ErrorCode::InvalidToken, 401),
            (ErrorCode::InsufficientScope, 403),
            (ErrorCode::ServerError, 500),
            (ErrorCode::TemporarilyUnavailable, 503),
        ];
        for (code, status) in cases {
            assert_eq!(OAuthError::new(code).status(), status, "{code}");
        }
    }

    #[test]
    fn json_body_has_error_and_optional_description() {
        assert_eq!(
            OAuthError::new(ErrorCode::InvalidGrant).to_json(),
            r#"{"error":"invalid_grant"}"#
        );
        assert_eq!(
            OAuthError::invalid_request("scope sent twice").to_json(),
            r#"{"error":"invalid_request","error_description":"scope sent twice"}"#
        );
    }

    #[test]
    fn description_is_restricted_to_the_allowed_characters() {
        let e = OAuthError::invalid_request("bad \"x\" \\ caf\u{e9}\n\tend");
        assert_eq!(
            e.sanitized_description().as_deref(),
            Some("bad 'x' / caf???end")
        );
        let json: serde_json::Value = serde_json::from_str(&e.to_json()).expect("valid JSON");
        assert_eq!(json["error_description"], "bad 'x' / caf???end");
        // The section sign of an RFC reference is spelled out, not a '?'.
        let e = OAuthError::invalid_request("client_id is required (RFC 8705 §2)");
        assert_eq!(
            e.sanitized_description().as_deref(),
            Some("client_id is required (RFC 8705 section 2)")
        );
        let long = OAuthError::invalid_request("x".repeat(2000));
        assert_eq!(
            long.sanitized_description().map(|d| d.len()),
            Some(MAX_DESCRIPTION_LEN)
        );
    }

    #[test]
    fn basic_challenge_only_when_the_client_tried_basic() {
        let e = OAuthError::invalid_client();
        assert_eq!(
            e.www_authenticate(Challenge::ClientAuth {
                basic_realm: Some("certbound")
            })
            .as_deref(),
            Some("Basic realm=\"certbound\"")
        );
        assert_eq!(
            e.www_authenticate(Challenge::ClientAuth { basic_realm: None }),
            None
        );
        // Other errors at the token endpoint carry no challenge.
        assert_eq!(
            OAuthError::invalid_request("x").www_authenticate(Challenge::ClientAuth {
                basic_realm: Some("certbound")
            }),
            None
        );
    }

    #[test]
    fn bearer_challenges() {
        let e = OAuthError::with_description(ErrorCode::InvalidToken, "The access token expired");
        assert_eq!(
            e.www_authenticate(Challenge::Bearer { realm: Some("api") })
                .as_deref(),
            Some(
                "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"The access token expired\""
            )
        );
        assert_eq!(
            OAuthError::new(ErrorCode::InsufficientScope)
                .www_authenticate(Challenge::Bearer { realm: None })
                .as_deref(),
            Some("Bearer error=\"insufficient_scope\"")
        );
        assert_eq!(
            OAuthError::server_error().www_authenticate(Challenge::Bearer { realm: None }),
            None
        );
        assert_eq!(bearer_challenge(None), "Bearer");
        assert_eq!(bearer_challenge(Some("a\"b")), "Bearer realm=\"a'b\"");
    }

    #[test]
    fn jwt_errors_tell_the_client_little() {
        let e = OAuthError::from(JwtError::UnknownKid {
            kid: "secret-detail".into(),
        });
        assert_eq!(e.code, ErrorCode::InvalidToken);
        assert!(!e.to_json().contains("secret-detail"));
        let e = OAuthError::from(JwtError::Expired { exp: 1, now: 2 });
        assert_eq!(e.description.as_deref(), Some("The access token expired"));
        assert_eq!(
            OAuthError::from(JwtError::Signing).code,
            ErrorCode::ServerError
        );
    }

    #[test]
    fn no_store_headers() {
        assert!(NO_STORE_HEADERS.contains(&("cache-control", "no-store")));
        assert!(NO_STORE_HEADERS.contains(&("pragma", "no-cache")));
    }
}
