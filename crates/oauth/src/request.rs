//! Reading what a client sends to the token, introspection and revocation
//! endpoints: `application/x-www-form-urlencoded` bodies and the
//! `Authorization: Basic` header.
//!
//! Parsing is strict where RFC 6749 is (a parameter sent twice, two client
//! authentication methods at once, malformed scope) and lenient where it asks
//! to be (unknown parameters are ignored; a parameter with an empty value is
//! treated as omitted, §3.1). Every problem is a [`RequestError`] naming the
//! parameter, which converts to the right [`OAuthError`].

#[cfg(test)]
mod tests;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

use crate::error::{ErrorCode, OAuthError};

/// Largest request body the endpoints should read, in bytes. The caller
/// enforces it before reading the body (a token request is under 1 KiB);
/// [`FormParams::parse`] refuses longer input as well.
pub const MAX_FORM_BODY_LEN: usize = 16 * 1024;

/// The only grant type certbound issues tokens for.
pub const CLIENT_CREDENTIALS: &str = "client_credentials";

/// What is wrong with a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The body is longer than [`MAX_FORM_BODY_LEN`].
    #[error("the request body is {len} bytes, more than the {max} accepted")]
    BodyTooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A `%` not followed by two hex digits.
    #[error("bad percent-escape at byte {offset} of the form body; encode `%` as `%25`")]
    BadPercentEscape {
        /// Byte offset of the `%` in the body.
        offset: usize,
    },
    /// A name or value that is not UTF-8 once decoded.
    #[error("the form {what} is not valid UTF-8 once percent-decoded")]
    InvalidUtf8 {
        /// `parameter name` or `value of NAME`.
        what: String,
    },
    /// A parameter sent twice (RFC 6749 §3.2).
    #[error("parameter {name} is included more than once; send each parameter once")]
    Duplicate {
        /// The parameter.
        name: String,
    },
    /// A required parameter is absent or empty.
    #[error("parameter {name} is missing")]
    Missing {
        /// The parameter.
        name: &'static str,
    },
    /// The scope does not follow RFC 6749 §3.3.
    #[error("invalid scope {scope:?}: {reason}")]
    InvalidScope {
        /// The scope value or token at fault.
        scope: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The `Authorization` header uses another scheme than Basic.
    #[error(
        "Authorization scheme {scheme:?} is not accepted here; use Basic or a client certificate"
    )]
    UnsupportedAuthScheme {
        /// The scheme given.
        scheme: String,
    },
    /// The Basic credentials cannot be read.
    #[error("the Basic Authorization header is malformed: {reason}")]
    BadBasic {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `client_id` in the body differs from the one in the Basic header.
    #[error("client_id {body:?} in the body differs from {basic:?} in the Authorization header")]
    ClientIdMismatch {
        /// From the header.
        basic: String,
        /// From the body.
        body: String,
    },
    /// Basic credentials and `client_secret` in the body at once (RFC 6749 §2.3).
    #[error(
        "the client used two authentication methods (Basic header and client_secret in the body); use one"
    )]
    MultipleAuthMethods,
    /// `client_secret` without `client_id` in the body.
    #[error("client_secret is sent without client_id")]
    SecretWithoutClientId,
}

impl RequestError {
    /// The OAuth error code for this problem.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::InvalidScope { .. } => ErrorCode::InvalidScope,
            Self::UnsupportedAuthScheme { .. } | Self::BadBasic { .. } => ErrorCode::InvalidClient,
            _ => ErrorCode::InvalidRequest,
        }
    }
}

impl From<RequestError> for OAuthError {
    /// The client is told what to fix, except for authentication failures,
    /// which say only that authentication failed.
    fn from(e: RequestError) -> Self {
        match e.error_code() {
            ErrorCode::InvalidClient => OAuthError::invalid_client(),
            code => OAuthError::with_description(code, e.to_string()),
        }
    }
}

/// The decoded parameters of a form body, in order; empty values are dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormParams {
    pairs: Vec<(String, String)>,
}

impl FormParams {
    /// Decodes an `application/x-www-form-urlencoded` body: `&`-separated
    /// `name=value` pairs, `+` is a space, `%XX` a byte, the result UTF-8.
    pub fn parse(body: &[u8]) -> Result<Self, RequestError> {
        if body.len() > MAX_FORM_BODY_LEN {
            return Err(RequestError::BodyTooLarge {
                len: body.len(),
                max: MAX_FORM_BODY_LEN,
            });
        }
        let mut pairs = Vec::new();
        let mut offset = 0;
        for segment in body.split(|&b| b == b'&') {
            let start = offset;
            offset += segment.len() + 1;
            if segment.is_empty() {
                continue;
            }
            let (name, value, value_start) = match segment.iter().position(|&b| b == b'=') {
                Some(eq) => (&segment[..eq], &segment[eq + 1..], start + eq + 1),
                None => (segment, &segment[segment.len()..], start + segment.len()),
            };
            let name = decode(name, start).and_then(|bytes| {
                String::from_utf8(bytes).map_err(|_| RequestError::InvalidUtf8 {
                    what: "parameter name".to_owned(),
                })
            })?;
            let value = decode(value, value_start).and_then(|bytes| {
                String::from_utf8(bytes).map_err(|_| RequestError::InvalidUtf8 {
                    what: format!("value of {name}"),
                })
            })?;
            if !value.is_empty() {
                pairs.push((name, value));
            }
        }
        Ok(Self { pairs })
    }

    /// The value of a parameter that may appear at most once.
    pub fn single(&self, name: &str) -> Result<Option<&str>, RequestError> {
        let mut values = self
            .pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(RequestError::Duplicate {
                name: name.to_owned(),
            });
        }
        Ok(first)
    }

    /// The value of a parameter that must appear exactly once.
    pub fn required(&self, name: &'static str) -> Result<&str, RequestError> {
        self.single(name)?.ok_or(RequestError::Missing { name })
    }

    /// Every value of a parameter that may repeat (e.g. RFC 8707 `resource`).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// All pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// Form-decodes one name or value; `base` is its offset in the body, for errors.
fn decode(input: &[u8], base: usize) -> Result<Vec<u8>, RequestError> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = input.get(i + 1).and_then(|&c| hex(c));
                let lo = input.get(i + 2).and_then(|&c| hex(c));
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(RequestError::BadPercentEscape { offset: base + i });
                };
                out.push((hi << 4) | lo);
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    Ok(out)
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Splits and checks a `scope` value (RFC 6749 §3.3): tokens of NQCHAR
/// (`%x21 / %x23-5B / %x5D-7E`) separated by single spaces. Repeated tokens
/// are kept once, in first-seen order.
pub fn parse_scope(scope: &str) -> Result<Vec<String>, RequestError> {
    let mut out: Vec<String> = Vec::new();
    for token in scope.split(' ') {
        if token.is_empty() {
            return Err(RequestError::InvalidScope {
                scope: scope.to_owned(),
                reason:
                    "scope tokens must be separated by single spaces, with none leading or trailing"
                        .to_owned(),
            });
        }
        if let Some(bad) = token
            .chars()
            .find(|&c| !matches!(c, '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e'))
        {
            return Err(RequestError::InvalidScope {
                scope: token.to_owned(),
                reason: format!("character {bad:?} is not allowed in a scope token"),
            });
        }
        if !out.iter().any(|t| t == token) {
            out.push(token.to_owned());
        }
    }
    Ok(out)
}

/// The `grant_type` of a token request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrantType {
    /// `client_credentials` (RFC 6749 §4.4).
    ClientCredentials,
    /// Anything else; answered with `unsupported_grant_type`.
    Other(String),
}

/// A token endpoint request (RFC 6749 §4.4.2, RFC 8705 §2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRequest {
    /// The grant type.
    pub grant_type: GrantType,
    /// `client_id` from the body (required with mTLS client authentication).
    pub client_id: Option<String>,
    /// `client_secret` from the body (client_secret_post).
    pub client_secret: Option<String>,
    /// `client_assertion_type` and `client_assertion` (private_key_jwt, RFC 7523 §2.2).
    pub assertion: ClientAssertion,
    /// Requested scopes; empty when `scope` is omitted.
    pub scope: Vec<String>,
    /// Requested resources (RFC 8707), in order.
    pub resource: Vec<String>,
}

impl TokenRequest {
    /// Parses a token request body.
    pub fn parse(body: &[u8]) -> Result<Self, RequestError> {
        let form = FormParams::parse(body)?;
        let grant_type = match form.required("grant_type")? {
            CLIENT_CREDENTIALS => GrantType::ClientCredentials,
            other => GrantType::Other(other.to_owned()),
        };
        let scope = match form.single("scope")? {
            Some(s) => parse_scope(s)?,
            None => Vec::new(),
        };
        Ok(Self {
            grant_type,
            client_id: form.single("client_id")?.map(str::to_owned),
            client_secret: form.single("client_secret")?.map(str::to_owned),
            assertion: ClientAssertion::from_form(&form)?,
            scope,
            resource: form.all("resource").map(str::to_owned).collect(),
        })
    }

    /// How the client authenticates, combining the body with the
    /// `Authorization` header value, if any.
    pub fn client_authentication(
        &self,
        authorization: Option<&str>,
    ) -> Result<ClientAuthentication, RequestError> {
        ClientAuthentication::resolve(
            authorization,
            self.client_id.as_deref(),
            self.client_secret.as_deref(),
        )
    }
}

/// An introspection (RFC 7662 §2.1) or revocation (RFC 7009 §2.1) request:
/// both name a token and may hint at its type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntrospectionRequest {
    /// The token asked about.
    pub token: String,
    /// `access_token` or `refresh_token`; a hint only.
    pub token_type_hint: Option<String>,
    /// `client_id` from the body.
    pub client_id: Option<String>,
    /// `client_secret` from the body.
    pub client_secret: Option<String>,
    /// `client_assertion_type` and `client_assertion`.
    pub assertion: ClientAssertion,
}

/// The `client_assertion_type` and `client_assertion` parameters (RFC 7521
/// §4.2), as sent; [`crate::assertion`] checks them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientAssertion {
    /// `client_assertion_type`.
    pub kind: Option<String>,
    /// `client_assertion`.
    pub assertion: Option<String>,
}

impl ClientAssertion {
    fn from_form(form: &FormParams) -> Result<Self, RequestError> {
        Ok(Self {
            kind: form.single("client_assertion_type")?.map(str::to_owned),
            assertion: form.single("client_assertion")?.map(str::to_owned),
        })
    }

    /// Whether the client sent either parameter.
    pub fn is_present(&self) -> bool {
        self.kind.is_some() || self.assertion.is_some()
    }
}

/// A revocation request has the same parameters as an introspection request.
pub type RevocationRequest = IntrospectionRequest;

impl IntrospectionRequest {
    /// Parses an introspection or revocation request body.
    pub fn parse(body: &[u8]) -> Result<Self, RequestError> {
        let form = FormParams::parse(body)?;
        Ok(Self {
            token: form.required("token")?.to_owned(),
            token_type_hint: form.single("token_type_hint")?.map(str::to_owned),
            client_id: form.single("client_id")?.map(str::to_owned),
            client_secret: form.single("client_secret")?.map(str::to_owned),
            assertion: ClientAssertion::from_form(&form)?,
        })
    }

    /// How the caller authenticates; see [`ClientAuthentication::resolve`].
    pub fn client_authentication(
        &self,
        authorization: Option<&str>,
    ) -> Result<ClientAuthentication, RequestError> {
        ClientAuthentication::resolve(
            authorization,
            self.client_id.as_deref(),
            self.client_secret.as_deref(),
        )
    }
}

/// The credentials a client sent besides its certificate.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientAuthentication {
    /// `client_secret_basic` (RFC 6749 §2.3.1).
    Basic {
        /// The client.
        client_id: String,
        /// Its secret.
        client_secret: String,
    },
    /// `client_secret_post` (RFC 6749 §2.3.1).
    Post {
        /// The client.
        client_id: String,
        /// Its secret.
        client_secret: String,
    },
    /// Only `client_id`: the certificate must authenticate it
    /// (`tls_client_auth`, `self_signed_tls_client_auth`, RFC 8705 §2).
    ClientId {
        /// The client.
        client_id: String,
    },
    /// Nothing besides, perhaps, a certificate.
    None,
}

impl std::fmt::Debug for ClientAuthentication {
    // Secrets never reach a log through Debug.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Basic { client_id, .. } => write!(f, "Basic {{ client_id: {client_id:?}, .. }}"),
            Self::Post { client_id, .. } => write!(f, "Post {{ client_id: {client_id:?}, .. }}"),
            Self::ClientId { client_id } => write!(f, "ClientId {{ client_id: {client_id:?} }}"),
            Self::None => f.write_str("None"),
        }
    }
}

impl ClientAuthentication {
    /// Combines the `Authorization` header value with the body's `client_id`
    /// and `client_secret`. With Basic, a body `client_id` must agree and a
    /// body `client_secret` is a second method, which is refused.
    pub fn resolve(
        authorization: Option<&str>,
        body_client_id: Option<&str>,
        body_client_secret: Option<&str>,
    ) -> Result<Self, RequestError> {
        if let Some(header) = authorization {
            let (client_id, client_secret) = parse_basic_authorization(header)?;
            if body_client_secret.is_some() {
                return Err(RequestError::MultipleAuthMethods);
            }
            if let Some(body) = body_client_id.filter(|b| *b != client_id) {
                return Err(RequestError::ClientIdMismatch {
                    basic: client_id,
                    body: body.to_owned(),
                });
            }
            return Ok(Self::Basic {
                client_id,
                client_secret,
            });
        }
        match (body_client_id, body_client_secret) {
            (Some(id), Some(secret)) => Ok(Self::Post {
                client_id: id.to_owned(),
                client_secret: secret.to_owned(),
            }),
            (None, Some(_)) => Err(RequestError::SecretWithoutClientId),
            (Some(id), None) => Ok(Self::ClientId {
                client_id: id.to_owned(),
            }),
            (None, None) => Ok(Self::None),
        }
    }

    /// The client id claimed, if any.
    pub fn client_id(&self) -> Option<&str> {
        match self {
            Self::Basic { client_id, .. }
            | Self::Post { client_id, .. }
            | Self::ClientId { client_id } => Some(client_id),
            Self::None => None,
        }
    }

    /// Whether the client used HTTP Basic (a failure then gets a Basic challenge).
    pub fn used_basic(&self) -> bool {
        matches!(self, Self::Basic { .. })
    }
}

/// Standard base64 that tolerates missing padding, as some clients omit it.
const BASIC_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Reads an `Authorization: Basic` header value into (client_id,
/// client_secret), form-decoding both as RFC 6749 §2.3.1 requires.
pub fn parse_basic_authorization(value: &str) -> Result<(String, String), RequestError> {
    let value = value.trim();
    let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("Basic") {
        return Err(RequestError::UnsupportedAuthScheme {
            scheme: scheme.chars().take(32).collect(),
        });
    }
    let credentials = credentials.trim();
    if credentials.is_empty() {
        return Err(RequestError::BadBasic {
            reason: "no credentials after \"Basic\"",
        });
    }
    let decoded = BASIC_B64
        .decode(credentials)
        .map_err(|_| RequestError::BadBasic {
            reason: "the credentials are not base64",
        })?;
    let text = String::from_utf8(decoded).map_err(|_| RequestError::BadBasic {
        reason: "the credentials are not UTF-8",
    })?;
    let (id, secret) = text.split_once(':').ok_or(RequestError::BadBasic {
        reason: "no ':' between client id and secret",
    })?;
    let form_decode = |part: &str| {
        decode(part.as_bytes(), 0)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or(RequestError::BadBasic {
                reason: "client id or secret is not valid form-urlencoding",
            })
    };
    let client_id = form_decode(id)?;
    let client_secret = form_decode(secret)?;
    if client_id.is_empty() {
        return Err(RequestError::BadBasic {
            reason: "the client id is empty",
        });
    }
    if client_secret.is_empty() {
        return Err(RequestError::BadBasic {
            reason: "the client secret is empty",
        });
    }
    Ok((client_id, client_secret))
}
