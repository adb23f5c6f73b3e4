//! UDAP, as the HL7 FAST Security implementation guide (STU 2) profiles it:
//! JWTs signed with the key of an X.509 certificate whose chain (`x5c`)
//! leads to a trust community's anchor, and whose URI SAN is the signer's
//! identity. This module holds the checks that need no server state:
//!
//! - [`verify_signed`]: the signature by the `x5c` leaf and the chain to the
//!   community's anchors (with the revocation lists, when given);
//! - [`check_statement`]: a software statement for dynamic registration
//!   (UDAP DCR, RFC 7591 as profiled);
//! - [`check_auth_token`]: a client's authentication token at the token
//!   endpoint (B2B client credentials), with the `hl7-b2b` extension;
//! - [`metadata_claims`] and [`check_metadata`]: the server's
//!   `signed_metadata`, made by the server and checked by a client.
//!
//! The caller records `jti`s (replay) and does online revocation checks.

#[cfg(test)]
mod tests;

use aws_lc_rs::digest;
use certbound_pki::chain::{self, Usage};
use certbound_pki::revocation::RevocationCheck;
use certbound_pki::{CertDer, CertInfo};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::jwt::{self, JwtError};
use crate::keys::Algorithm;

/// The UDAP version served and accepted (`udap_versions_supported`).
pub const VERSION: &str = "1";

/// The B2B authorization extension's key in `extensions`.
pub const B2B: &str = "hl7-b2b";

/// Longest lifetime of a software statement or authentication token (`exp`
/// minus `iat`), seconds.
pub const MAX_JWT_LIFETIME_SECS: i64 = 300;

/// Clock leeway for `iat`, seconds.
pub const LEEWAY_SECS: i64 = 60;

/// Longest lifetime of an access token issued to a UDAP client, seconds.
pub const MAX_ACCESS_TOKEN_LIFETIME: u64 = 3600;

/// Longest lifetime of `signed_metadata`, seconds (a year).
pub const MAX_METADATA_LIFETIME_SECS: i64 = 365 * 86_400;

/// Longest `hl7-b2b` object copied into a token, as JSON bytes: tokens stay
/// well under the verifiers' size limit.
pub const MAX_B2B_LEN: usize = 2048;

/// Why a UDAP JWT was refused. [`UdapError::registration_error`] maps it to
/// the RFC 7591 error code; the message goes to the client (registration)
/// or to the log and audit (token endpoint).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UdapError {
    /// Not a JWS with an `x5c` header, or its signature does not verify.
    #[error("{0}")]
    Jwt(JwtError),
    /// The `x5c` chain does not lead to the community's anchors (or a
    /// certificate is expired or revoked).
    #[error("the x5c certificate chain is not trusted by {community}: {reason}")]
    Untrusted {
        /// The trust community asked.
        community: String,
        /// Why.
        reason: String,
    },
    /// A claim is missing or wrong.
    #[error("the {claim} claim {reason}")]
    Claim {
        /// The claim.
        claim: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A registration parameter is missing or not acceptable.
    #[error("{field} {reason}")]
    Metadata {
        /// The parameter.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The `hl7-b2b` extension is missing or malformed.
    #[error("the hl7-b2b authorization extension {reason}")]
    Extension {
        /// What is wrong.
        reason: String,
    },
}

impl UdapError {
    /// The RFC 7591 §3.2.2 error code of a refused registration.
    pub fn registration_error(&self) -> &'static str {
        match self {
            Self::Untrusted { .. } => "unapproved_software_statement",
            Self::Metadata { .. } => "invalid_client_metadata",
            Self::Jwt(_) | Self::Claim { .. } | Self::Extension { .. } => {
                "invalid_software_statement"
            }
        }
    }

    /// A short stable name for metrics and the audit `reason` prefix.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Jwt(JwtError::BadSignature) => "udap_signature",
            Self::Jwt(_) => "udap_malformed",
            Self::Untrusted { .. } => "udap_untrusted",
            Self::Claim { .. } => "udap_claims",
            Self::Metadata { .. } => "udap_metadata",
            Self::Extension { .. } => "udap_b2b",
        }
    }
}

fn claim(claim: &'static str, reason: impl Into<String>) -> UdapError {
    UdapError::Claim {
        claim,
        reason: reason.into(),
    }
}

fn metadata(field: &'static str, reason: impl Into<String>) -> UdapError {
    UdapError::Metadata {
        field,
        reason: reason.into(),
    }
}

/// A JWT whose signature verified with its `x5c` leaf, and whose chain
/// verified to a community's anchors.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The algorithm it was signed with.
    pub alg: Algorithm,
    /// Its claims.
    pub claims: Map<String, Value>,
    /// The leaf certificate, described.
    pub leaf: CertInfo,
    /// The leaf's URI SANs: the identities it may claim.
    pub uris: Vec<String>,
    /// The verified path, leaf first, without the anchor.
    pub path: Vec<CertDer>,
}

/// Verifies `token`'s signature with the key of its `x5c` leaf, then the
/// chain (the `x5c` rest and `intermediates`) to `anchors` at `now`, with
/// every certificate of the path checked against `revocation` when given.
pub fn verify_signed(
    token: &str,
    community: &str,
    anchors: &[CertDer],
    intermediates: &[CertDer],
    now: OffsetDateTime,
    revocation: Option<&RevocationCheck>,
) -> Result<Signed, UdapError> {
    let x5c = jwt::verify_x5c(token).map_err(UdapError::Jwt)?;
    let claims: Map<String, Value> = x5c.jws.claims().map_err(UdapError::Jwt)?;
    let mut certs = x5c.chain.into_iter().map(CertDer::from);
    let leaf = certs.next().ok_or(UdapError::Jwt(JwtError::BadSignature))?;
    let presented: Vec<CertDer> = certs.chain(intermediates.iter().cloned()).collect();
    let verified = chain::verify_checked(&leaf, &presented, anchors, Usage::Any, now, revocation)
        .map_err(|e| UdapError::Untrusted {
        community: community.to_owned(),
        reason: e.to_string(),
    })?;
    let info = CertInfo::from_der(&leaf).map_err(|e| UdapError::Untrusted {
        community: community.to_owned(),
        reason: e.to_string(),
    })?;
    let uris = info.uris();
    Ok(Signed {
        alg: x5c.jws.header.alg,
        claims,
        leaf: info,
        uris,
        path: verified.certs,
    })
}

impl Signed {
    fn text(&self, name: &'static str) -> Result<&str, UdapError> {
        match self.claims.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s),
            Some(_) => Err(claim(name, "must be a non-empty string")),
            None => Err(claim(name, "is missing")),
        }
    }

    /// `iss` and `sub` equal, and a URI SAN of the leaf certificate.
    fn issuer_in_certificate(&self) -> Result<String, UdapError> {
        let iss = self.text("iss")?;
        let sub = self.text("sub")?;
        if sub != iss {
            return Err(claim("sub", format!("is {sub:?}, not iss {iss:?}")));
        }
        if !self.uris.iter().any(|u| u == iss) {
            return Err(claim(
                "iss",
                format!(
                    "is {iss:?}, which is not a URI SAN of the x5c certificate (it has {:?}); UDAP compares them exactly",
                    self.uris
                ),
            ));
        }
        Ok(iss.to_owned())
    }

    /// `aud` (a string or an array) holds one of `expected`.
    fn audience(&self, expected: &[String]) -> Result<(), UdapError> {
        let found: Vec<&str> = match self.claims.get("aud") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => return Err(claim("aud", "is missing")),
        };
        if found.iter().any(|a| expected.iter().any(|e| e == a)) {
            Ok(())
        } else {
            Err(claim(
                "aud",
                format!("is {found:?}, not this endpoint ({expected:?})"),
            ))
        }
    }

    fn number(&self, name: &'static str) -> Result<i64, UdapError> {
        match self.claims.get(name) {
            Some(v) => v
                .as_i64()
                .ok_or_else(|| claim(name, "must be a number of seconds")),
            None => Err(claim(name, "is missing")),
        }
    }

    /// `exp` in the future, at most `max` seconds after `iat`, `iat` not in
    /// the future; returns `exp`.
    fn lifetime(&self, now: i64, max: i64) -> Result<i64, UdapError> {
        let exp = self.number("exp")?;
        let iat = self.number("iat")?;
        if exp <= now {
            return Err(claim("exp", format!("is {}s in the past", now - exp)));
        }
        if iat > now + LEEWAY_SECS {
            return Err(claim(
                "iat",
                format!("is {}s in the future; check the signer's clock", iat - now),
            ));
        }
        if exp - iat > max {
            return Err(claim(
                "exp",
                format!("is {}s after iat; at most {max}s are accepted", exp - iat),
            ));
        }
        Ok(exp)
    }

    fn jti(&self) -> Result<String, UdapError> {
        let jti = self.text("jti")?;
        if jti.chars().count() > crate::assertion::MAX_JTI_LEN {
            return Err(claim(
                "jti",
                format!(
                    "is longer than {} characters",
                    crate::assertion::MAX_JTI_LEN
                ),
            ));
        }
        Ok(jti.to_owned())
    }
}

/// A software statement that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The client's URI (`iss`, a URI SAN of its certificate).
    pub iss: String,
    /// Its `jti`, to be recorded until `exp`.
    pub jti: String,
    /// When it expires, Unix seconds.
    pub exp: i64,
    /// `client_name`.
    pub client_name: String,
    /// `grant_types`: `["client_credentials"]`, or empty to cancel.
    pub grant_types: Vec<String>,
    /// `scope`, space-delimited (absent on a cancellation).
    pub scope: Option<String>,
    /// `contacts`.
    pub contacts: Vec<String>,
    /// `logo_uri`.
    pub logo_uri: Option<String>,
}

impl Statement {
    /// Whether this registration cancels an earlier one (`grant_types: []`).
    pub fn cancels(&self) -> bool {
        self.grant_types.is_empty()
    }
}

/// Checks a verified software statement for the registration endpoint
/// `endpoints` (any of them may be `aud`) at `now`.
pub fn check_statement(
    signed: &Signed,
    endpoints: &[String],
    now: i64,
) -> Result<Statement, UdapError> {
    let iss = signed.issuer_in_certificate()?;
    signed.audience(endpoints)?;
    let exp = signed.lifetime(now, MAX_JWT_LIFETIME_SECS)?;
    let jti = signed.jti()?;
    let c = &signed.claims;
    let client_name = match c.get("client_name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => return Err(metadata("client_name", "is required (a non-empty string)")),
    };
    if client_name.chars().count() > crate::client::MAX_NAME_LEN {
        return Err(metadata(
            "client_name",
            format!("is longer than {} characters", crate::client::MAX_NAME_LEN),
        ));
    }
    let grant_types = strings(c.get("grant_types"), "grant_types")?
        .ok_or_else(|| metadata("grant_types", "is required (an array)"))?;
    let has = |g: &str| grant_types.iter().any(|x| x == g);
    if !grant_types.is_empty() {
        if has("authorization_code") {
            return Err(metadata(
                "grant_types",
                "holds authorization_code: this server registers B2B client_credentials clients only",
            ));
        }
        if !has("client_credentials") {
            return Err(metadata(
                "grant_types",
                "must hold client_credentials (or be empty, to cancel the registration)",
            ));
        }
        if let Some(other) = grant_types.iter().find(|g| *g != "client_credentials") {
            return Err(metadata(
                "grant_types",
                format!("holds {other:?}; a client_credentials client has no other grant"),
            ));
        }
        for field in ["redirect_uris", "response_types"] {
            if c.contains_key(field) {
                return Err(metadata(
                    field,
                    "must be absent for a client_credentials client",
                ));
            }
        }
    }
    match c.get("token_endpoint_auth_method") {
        Some(Value::String(m)) if m == "private_key_jwt" => {}
        Some(other) => {
            return Err(metadata(
                "token_endpoint_auth_method",
                format!("is {other}; UDAP clients use \"private_key_jwt\""),
            ));
        }
        None => {
            return Err(metadata(
                "token_endpoint_auth_method",
                "is required (\"private_key_jwt\")",
            ));
        }
    }
    let scope = match c.get("scope") {
        Some(Value::String(s)) => {
            crate::request::parse_scope(s).map_err(|e| metadata("scope", e.to_string()))?;
            Some(s.clone())
        }
        Some(_) => return Err(metadata("scope", "must be a space-delimited string")),
        None if grant_types.is_empty() => None,
        None => return Err(metadata("scope", "is required")),
    };
    let contacts = strings(c.get("contacts"), "contacts")?.unwrap_or_default();
    if !contacts.iter().any(|m| m.starts_with("mailto:")) {
        return Err(metadata(
            "contacts",
            "must hold at least one mailto: URI (HL7 FAST Security §3.1)",
        ));
    }
    let logo_uri = match c.get("logo_uri") {
        None => None,
        Some(Value::String(u)) if u.starts_with("https://") => Some(u.clone()),
        Some(_) => return Err(metadata("logo_uri", "must be an https URL")),
    };
    Ok(Statement {
        iss,
        jti,
        exp,
        client_name,
        grant_types,
        scope,
        contacts,
        logo_uri,
    })
}

/// An array of strings, or `None` when absent.
fn strings(value: Option<&Value>, field: &'static str) -> Result<Option<Vec<String>>, UdapError> {
    match value {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| metadata(field, "must be an array of strings"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(metadata(field, "must be an array of strings")),
    }
}

/// What an authentication token must satisfy besides its chain.
#[derive(Clone, Copy, Debug)]
pub struct TokenExpected<'a> {
    /// The client: `iss` and `sub` must both be this.
    pub client_id: &'a str,
    /// The URI the client registered with: a URI SAN of the `x5c` leaf.
    pub registered_uri: &'a str,
    /// `aud` must hold one of these (the token endpoint URLs).
    pub audiences: &'a [String],
    /// Whether the `hl7-b2b` extension is required.
    pub b2b_required: bool,
    /// The verifier's time, Unix seconds.
    pub now: i64,
}

/// An authentication token that passed every check; its `jti` is not yet
/// recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthToken {
    /// Its `jti`.
    pub jti: String,
    /// When it expires, Unix seconds.
    pub exp: i64,
    /// `{"hl7-b2b": {...}}` as validated, for the access token; `None` when
    /// the client sent no `hl7-b2b` object.
    pub extensions: Option<Value>,
}

/// Checks a verified authentication token (B2B client credentials, HL7
/// FAST Security §5.2.1).
pub fn check_auth_token(
    signed: &Signed,
    expected: &TokenExpected<'_>,
) -> Result<AuthToken, UdapError> {
    for name in ["iss", "sub"] {
        let found = signed.text(name)?;
        if found != expected.client_id {
            return Err(claim(
                name,
                format!("is {found:?}, not the client_id {:?}", expected.client_id),
            ));
        }
    }
    if !signed.uris.iter().any(|u| u == expected.registered_uri) {
        return Err(UdapError::Untrusted {
            community: "the client's registration".to_owned(),
            reason: format!(
                "the x5c certificate's URI SANs {:?} do not include the URI the client registered with ({})",
                signed.uris, expected.registered_uri
            ),
        });
    }
    signed.audience(expected.audiences)?;
    let exp = signed.lifetime(expected.now, MAX_JWT_LIFETIME_SECS)?;
    let jti = signed.jti()?;
    let b2b = match signed.claims.get("extensions") {
        None => None,
        Some(Value::Object(ext)) => ext.get(B2B).map(check_b2b).transpose()?,
        Some(_) => return Err(claim("extensions", "must be a JSON object")),
    };
    if b2b.is_none() && expected.b2b_required {
        return Err(UdapError::Extension {
            reason: "is required in extensions for client_credentials (HL7 FAST Security §5.2.1.1)"
                .to_owned(),
        });
    }
    Ok(AuthToken {
        jti,
        exp,
        extensions: b2b.map(|b| json!({ B2B: b })),
    })
}

/// Validates an `hl7-b2b` object and returns its known members.
pub fn check_b2b(value: &Value) -> Result<Value, UdapError> {
    let bad = |reason: String| UdapError::Extension { reason };
    let obj = value
        .as_object()
        .ok_or_else(|| bad("must be a JSON object".to_owned()))?;
    let mut out = Map::new();
    match obj.get("version") {
        Some(Value::String(v)) if v == "1" => {}
        other => {
            return Err(bad(format!(
                "version must be \"1\", not {}",
                other.map_or("absent".to_owned(), Value::to_string)
            )));
        }
    }
    for key in [
        "version",
        "subject_name",
        "subject_id",
        "subject_role",
        "organization_name",
    ] {
        match obj.get(key) {
            None => {}
            Some(Value::String(s)) => {
                out.insert(key.to_owned(), Value::String(s.clone()));
            }
            Some(_) => return Err(bad(format!("{key} must be a string"))),
        }
    }
    match obj.get("organization_id") {
        Some(Value::String(id)) if is_uri(id) => {
            out.insert("organization_id".to_owned(), Value::String(id.clone()));
        }
        Some(Value::String(id)) => {
            return Err(bad(format!("organization_id {id:?} is not a URI")));
        }
        _ => return Err(bad("organization_id is required (a URI)".to_owned())),
    }
    let list = |key: &'static str, uri: bool| -> Result<Option<Vec<Value>>, UdapError> {
        match obj.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|v| match v.as_str() {
                    Some(s) if !s.is_empty() && (!uri || is_uri(s)) => Ok(v.clone()),
                    _ if uri => Err(bad(format!("{key} must be an array of URIs"))),
                    _ => Err(bad(format!("{key} must be an array of non-empty strings"))),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(bad(format!("{key} must be a non-empty array"))),
        }
    };
    let purpose = list("purpose_of_use", false)?
        .ok_or_else(|| bad("purpose_of_use is required (an array of codes)".to_owned()))?;
    out.insert("purpose_of_use".to_owned(), Value::Array(purpose));
    let policy = list("consent_policy", true)?;
    let reference = list("consent_reference", true)?;
    if reference.is_some() && policy.is_none() {
        return Err(bad(
            "consent_reference is given without consent_policy".to_owned()
        ));
    }
    if let Some(p) = policy {
        out.insert("consent_policy".to_owned(), Value::Array(p));
    }
    if let Some(r) = reference {
        out.insert("consent_reference".to_owned(), Value::Array(r));
    }
    let value = Value::Object(out);
    if value.to_string().len() > MAX_B2B_LEN {
        return Err(bad(format!("is larger than {MAX_B2B_LEN} bytes")));
    }
    Ok(value)
}

/// Whether `s` is an absolute URI: a scheme (RFC 3986 §3.1), a colon, more.
fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !s.chars().any(char::is_whitespace)
}

/// The claims of `signed_metadata` (HL7 FAST Security §2.3): `iss` = `sub` =
/// the server's base URL, and the endpoints.
pub fn metadata_claims(
    base_url: &str,
    token_endpoint: &str,
    registration_endpoint: &str,
    iat: i64,
    lifetime_secs: i64,
    jti: &str,
) -> Value {
    json!({
        "iss": base_url,
        "sub": base_url,
        "iat": iat,
        "exp": iat + lifetime_secs.min(MAX_METADATA_LIFETIME_SECS),
        "jti": jti,
        "token_endpoint": token_endpoint,
        "registration_endpoint": registration_endpoint,
    })
}

/// Checks verified `signed_metadata` against the server's base URL and its
/// unsigned metadata `document` (UDAP Server Metadata §3): `iss` = `sub` =
/// `base_url` and a URI SAN of the signer, unexpired, at most a year long,
/// and every endpoint the same signed and unsigned.
pub fn check_metadata(
    signed: &Signed,
    base_url: &str,
    document: &Map<String, Value>,
    now: i64,
) -> Result<(), UdapError> {
    let iss = signed.issuer_in_certificate()?;
    if iss != base_url {
        return Err(claim(
            "iss",
            format!("is {iss:?}, not the server's base URL {base_url:?}"),
        ));
    }
    signed.lifetime(now, MAX_METADATA_LIFETIME_SECS)?;
    signed.jti()?;
    for endpoint in [
        "token_endpoint",
        "registration_endpoint",
        "authorization_endpoint",
    ] {
        let signed_value = signed.claims.get(endpoint);
        let plain = document.get(endpoint);
        if endpoint != "authorization_endpoint" && signed_value.is_none() {
            return Err(claim(endpoint, "is missing from signed_metadata"));
        }
        if plain.is_some() && signed_value != plain {
            return Err(claim(
                endpoint,
                format!(
                    "is {} in signed_metadata but {} in the metadata",
                    signed_value.map_or("absent".to_owned(), Value::to_string),
                    plain.map_or("absent".to_owned(), Value::to_string)
                ),
            ));
        }
    }
    Ok(())
}

/// The client id of the registration of `iss` in `community`: the same for
/// every registration of that pair (so a second one updates the first, on
/// any instance), and never a registration of another community.
pub fn client_id(community: &str, iss: &str) -> String {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(community.as_bytes());
    ctx.update(b"\n");
    ctx.update(iss.as_bytes());
    let hash = ctx.finish();
    let hex: String = hash.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("udap-{hex}")
}
