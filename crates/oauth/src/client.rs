//! The registry's record: a `ClientApplication` in the JSON shape FHIR
//! platforms use (`resourceType`, `id`, `name`, `certificateTrustStore`), so an
//! existing registration posts unchanged, plus the RFC 8705 §2.1.2 subject
//! constraints. Validation reports every problem at once; a validated client
//! compiles into the form the token endpoint checks against.

use std::net::IpAddr;

use certbound_pki::CertDer;
use certbound_pki::anchors::AnchorSet;
use certbound_pki::bundle::pem_blocks;
use certbound_pki::dn::DistinguishedName;
use certbound_pki::inspect::{CertInfo, TrustRole};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// The resource type every record carries.
pub const RESOURCE_TYPE: &str = "ClientApplication";
/// Shortest and longest token lifetime a client may ask for, in seconds.
pub const MIN_TOKEN_LIFETIME: u64 = 60;
pub const MAX_TOKEN_LIFETIME: u64 = 86_400;
/// Longest client name.
pub const MAX_NAME_LEN: usize = 200;
/// Largest trust store accepted (PEM text).
pub const MAX_TRUST_STORE_LEN: usize = 256 * 1024;
/// The values of `status`, as FHIR platforms name them.
pub const STATUS_VALUES: [&str; 3] = ["active", "off", "error"];
/// Largest inline `jwks` accepted, in bytes of JSON.
pub const MAX_JWKS_LEN: usize = 64 * 1024;

/// A registered OAuth client.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientApplication {
    #[serde(rename = "resourceType", default = "resource_type")]
    pub resource_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    /// PEM: the client's self-signed certificate(s) and/or the CA(s) that issue its certificates.
    #[serde(
        rename = "certificateTrustStore",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub certificate_trust_store: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_subject_dn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_san_dns: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_san_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_san_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_san_email: Option<String>,
    /// Scopes the client may ask for, space-delimited; absent means any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Lifetime of its access tokens in seconds (default: the issuer's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_lifetime: Option<u64>,
    /// The token lifetime as the FHIR platforms write it: `"1h"`, `"3600s"`,
    /// `"30m"`, `"3600"`. Give this or `access_token_lifetime`, not both.
    #[serde(
        rename = "accessTokenLifetime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub access_token_lifetime_text: Option<String>,
    /// The client's public keys for `private_key_jwt`, inline (RFC 7591 §2 `jwks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    /// The https URL of the client's JWKS for `private_key_jwt` (RFC 7591
    /// `jwks_uri`; FHIR platforms write `jwksUri`).
    #[serde(default, alias = "jwksUri", skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// RFC 8705 §3.4: when `true`, tokens are issued only on a connection
    /// carrying a client certificate, and always bound to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_certificate_bound_access_tokens: Option<bool>,
    /// PBKDF2 hash of the secret of a client that does not use mTLS. The
    /// plain secret is never stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_hash: Option<String>,
    /// `"active"` (also when absent) or `"off"`: an `off` client is refused
    /// at every endpoint and its tokens stop being honoured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Set for a client registered by UDAP dynamic registration: it
    /// authenticates with JWTs signed by a certificate of this community
    /// whose URI SAN is this URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udap: Option<UdapRegistration>,
    /// Every other field of the posted document, kept as it came.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// How a UDAP client is known: its trust community and its URI (the `iss`
/// of its software statement, a URI SAN of its certificate).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UdapRegistration {
    /// The trust community's name (`[[udap.community]] name`).
    pub community: String,
    /// The client's URI.
    pub uri: String,
}

fn resource_type() -> String {
    RESOURCE_TYPE.to_string()
}

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

/// Every problem found in a client, at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
pub struct ValidationErrors(pub Vec<FieldError>);

/// Server policy applied on validation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    /// Refuse a CA in a trust store unless a subject DN or SAN constraint is set.
    pub require_constraints: bool,
    /// The Da Vinci HRex rules: no self-signed trust stores (PKI only), a
    /// `tls_client_auth_san_uri` constraint on every trust store, and every
    /// token bound to a certificate.
    pub hrex: bool,
}

/// The RFC 8705 §2.1.2 constraint on the certificate's subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectConstraint {
    Dn(DistinguishedName),
    SanDns(String),
    SanUri(String),
    SanIp(IpAddr),
    SanEmail(String),
}

/// What a trust store holds, classified.
#[derive(Debug, Clone)]
pub struct TrustStore {
    /// CA certificates: clients whose chain verifies to one of them authenticate.
    pub anchors: AnchorSet,
    /// Self-signed leaf certificates: each authenticates exactly itself.
    pub exact: Vec<ExactCert>,
    /// Summaries in the order given, for display.
    pub certs: Vec<CertInfo>,
}

/// A self-signed certificate that must be presented byte for byte.
#[derive(Debug, Clone)]
pub struct ExactCert {
    pub der: CertDer,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub name: String,
}

/// Whether a client may authenticate (`status` of the ClientApplication).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClientStatus {
    #[default]
    Active,
    /// Switched off by an operator: refused everywhere, its tokens inactive.
    Off,
    /// Marked broken (FHIR platforms' `error`): refused like `off`.
    Error,
}

impl ClientStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientStatus::Active => "active",
            ClientStatus::Off => "off",
            ClientStatus::Error => "error",
        }
    }

    /// The status a `status` field names; `None` for a value certbound does not know.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "active" => Some(ClientStatus::Active),
            "off" => Some(ClientStatus::Off),
            "error" => Some(ClientStatus::Error),
            _ => None,
        }
    }
}

impl std::fmt::Display for ClientStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated client, compiled for the token endpoint.
#[derive(Debug, Clone)]
pub struct CompiledClient {
    pub id: String,
    pub name: String,
    pub status: ClientStatus,
    pub trust_store: Option<TrustStore>,
    pub constraint: Option<SubjectConstraint>,
    /// Allowed scopes; `None` allows any.
    pub allowed_scopes: Option<Vec<String>>,
    pub token_lifetime: Option<u64>,
    pub secret_hash: Option<String>,
    /// The keys that verify its `private_key_jwt` assertions, when it has any.
    pub keys: Option<ClientKeys>,
    /// Tokens only with a certificate, always bound (RFC 8705 §3.4, or HRex).
    pub require_binding: bool,
    /// The UDAP community and URI of a client registered by UDAP.
    pub udap: Option<UdapRegistration>,
    /// The store's version of the record it was compiled from (0 until the
    /// registry sets it).
    pub version: i64,
    /// Which compilation this is, unique within a server process (0 until
    /// the registry sets it): what a cached authentication of the client
    /// depends on, so that a change invalidates exactly its entries.
    pub serial: u64,
}

/// Where a client's assertion-verifying keys come from.
#[derive(Debug, Clone)]
pub enum ClientKeys {
    /// An inline `jwks`, parsed at registration.
    Inline(std::sync::Arc<crate::keys::VerifyingKeys>),
    /// Its `jwks_uri`, fetched (and cached) by the server.
    Uri(String),
}

/// A client that passed validation, with warnings worth showing.
#[derive(Debug, Clone)]
pub struct Validated {
    pub client: CompiledClient,
    pub warnings: Vec<String>,
}

/// Whether `id` is a valid FHIR id: 1-64 of `A-Za-z0-9-.`, and not `.` or
/// `..`, which a URL path (`/admin/ClientApplication/..`) cannot name.
pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Fields of a ClientApplication that hold text (`null` allowed where the
/// field is optional).
const TEXT_FIELDS: [(&str, bool); 14] = [
    ("resourceType", false),
    ("id", true),
    ("name", false),
    ("certificateTrustStore", true),
    ("tls_client_auth_subject_dn", true),
    ("tls_client_auth_san_dns", true),
    ("tls_client_auth_san_uri", true),
    ("tls_client_auth_san_ip", true),
    ("tls_client_auth_san_email", true),
    ("scope", true),
    ("status", true),
    ("accessTokenLifetime", true),
    ("jwks_uri", true),
    ("jwksUri", true),
];

impl ClientApplication {
    /// Every field of `doc` whose JSON type is wrong, all at once: checked
    /// before the document is deserialized, which would stop at the first
    /// and in serde's words rather than the field's name.
    pub fn type_errors(obj: &serde_json::Map<String, Value>) -> Vec<FieldError> {
        let kind = |v: &Value| match v {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        };
        let mut errors = Vec::new();
        for (field, optional) in TEXT_FIELDS {
            match obj.get(field) {
                None | Some(Value::String(_)) => {}
                Some(Value::Null) if optional => {}
                Some(other) => errors.push(FieldError {
                    field,
                    message: format!("must be a string, not {}", kind(other)),
                }),
            }
        }
        if obj.contains_key("jwks_uri") && obj.contains_key("jwksUri") {
            errors.push(FieldError {
                field: "jwksUri",
                message: "give jwks_uri or jwksUri (the same field), not both".into(),
            });
        }
        match obj.get("tls_client_certificate_bound_access_tokens") {
            None | Some(Value::Null | Value::Bool(_)) => {}
            Some(other) => errors.push(FieldError {
                field: "tls_client_certificate_bound_access_tokens",
                message: format!("must be true or false, not {}", kind(other)),
            }),
        }
        match obj.get("udap") {
            None | Some(Value::Null) => {}
            Some(Value::Object(u))
                if u.len() == 2
                    && ["community", "uri"]
                        .iter()
                        .all(|k| u.get(*k).is_some_and(Value::is_string)) => {}
            Some(other) => errors.push(FieldError {
                field: "udap",
                message: format!(
                    "must be {{\"community\": \"...\", \"uri\": \"...\"}}, not {}",
                    kind(other)
                ),
            }),
        }
        match obj.get("jwks") {
            None | Some(Value::Null | Value::Object(_)) => {}
            Some(other) => errors.push(FieldError {
                field: "jwks",
                message: format!(
                    "must be a JWKS object ({{\"keys\": [...]}}), not {}",
                    kind(other)
                ),
            }),
        }
        match obj.get("access_token_lifetime") {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) if n.as_u64().is_some() => {}
            Some(other) => errors.push(FieldError {
                field: "access_token_lifetime",
                message: format!(
                    "must be a whole number of seconds ({MIN_TOKEN_LIFETIME} to {MAX_TOKEN_LIFETIME}), not {}",
                    match other {
                        Value::Number(n) => n.to_string(),
                        v => kind(v).to_string(),
                    }
                ),
            }),
        }
        errors
    }

    /// Check every field; compile the trust store and constraint.
    pub fn validate(
        &self,
        policy: Policy,
        now: OffsetDateTime,
    ) -> Result<Validated, ValidationErrors> {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let mut err =
            |field: &'static str, message: String| errors.push(FieldError { field, message });
        if self.resource_type != RESOURCE_TYPE {
            err(
                "resourceType",
                format!(
                    "must be \"{RESOURCE_TYPE}\", not \"{}\"",
                    self.resource_type
                ),
            );
        }
        let id = self.id.clone().unwrap_or_default();
        if self.id.is_some() && !valid_id(&id) {
            err(
                "id",
                "must be 1 to 64 characters of A-Z, a-z, 0-9, '-' and '.', and not '.' or '..'"
                    .into(),
            );
        }
        if self.name.trim().is_empty() {
            err("name", "is required".into());
        } else if self.name.chars().count() > MAX_NAME_LEN {
            err("name", format!("is longer than {MAX_NAME_LEN} characters"));
        }
        let trust_store = match self.certificate_trust_store.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(pem) => match parse_trust_store(pem, now, &mut warnings) {
                Ok(store) => Some(store),
                Err(messages) => {
                    for m in messages {
                        err("certificateTrustStore", m);
                    }
                    None
                }
            },
        };
        let has_store = self
            .certificate_trust_store
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty());
        let keys = self.keys().unwrap_or_else(|e| {
            err(e.0, e.1);
            None
        });
        if let Some(u) = &self.udap {
            if u.community.trim().is_empty() || u.uri.trim().is_empty() {
                err(
                    "udap",
                    "must name its community and uri (both non-empty)".into(),
                );
            }
        }
        let has_keys = self.jwks.is_some() || self.jwks_uri.is_some() || self.udap.is_some();
        match (has_store || has_keys, &self.client_secret_hash) {
            // FHIR platforms give every client a secret: an exported
            // registration keeps working, and the operator is told.
            (true, Some(_)) => warnings.push(
                "the client has a secret besides its certificate or keys: it can also authenticate with the secret alone; send the registration without `secret` to require the stronger method".into(),
            ),
            (false, None) => err(
                "certificateTrustStore",
                "is required: paste the client's self-signed certificate, or the CA certificate that issues its certificates (PEM); clients without mTLS need keys (jwks or jwks_uri, for private_key_jwt) or a secret instead".into(),
            ),
            _ => {}
        }
        let constraint = self.constraint().unwrap_or_else(|e| {
            err(e.0, e.1);
            None
        });
        if constraint.is_some() && !has_store {
            err(
                "tls_client_auth_subject_dn",
                "subject constraints apply only to clients with a certificateTrustStore".into(),
            );
        }
        if let (true, Some(store)) = (policy.hrex, &trust_store) {
            if store.certs.iter().any(|c| c.self_signed && !c.is_ca) {
                err(
                    "certificateTrustStore",
                    "holds a self-signed certificate, which this server refuses (HRex: mTLS uses PKI, not self-signed certificates): register the CA that issues the client's certificate".into(),
                );
            }
            if !matches!(constraint, Some(SubjectConstraint::SanUri(_))) {
                err(
                    "tls_client_auth_san_uri",
                    "is required by this server (HRex: client identities are URIs): set the URI SAN of the client's certificate".into(),
                );
            }
        }
        let require_binding =
            policy.hrex || self.tls_client_certificate_bound_access_tokens == Some(true);
        if let Some(store) = &trust_store {
            if !store.anchors.is_empty() && constraint.is_none() {
                let message = "the trust store holds a CA certificate and no tls_client_auth_subject_dn or tls_client_auth_san_* constraint is set: every certificate that CA issues can act as this client (RFC 8705 §2.1.2 expects exactly one constraint)";
                if policy.require_constraints {
                    err(
                        "tls_client_auth_subject_dn",
                        format!("is required by this server: {message}"),
                    );
                } else {
                    warnings.push(message.to_string());
                }
            }
        }
        let allowed_scopes = match &self.scope {
            None => None,
            Some(s) => match crate::request::parse_scope(s) {
                Ok(scopes) => Some(scopes),
                Err(e) => {
                    err("scope", e.to_string());
                    None
                }
            },
        };
        let lifetime = match (self.access_token_lifetime, &self.access_token_lifetime_text) {
            (Some(_), Some(_)) => {
                err(
                    "accessTokenLifetime",
                    "set either accessTokenLifetime or access_token_lifetime, not both".into(),
                );
                None
            }
            (Some(l), None) => Some(("access_token_lifetime", l)),
            (None, Some(text)) => match parse_lifetime(text) {
                Some(l) => Some(("accessTokenLifetime", l)),
                None => {
                    err(
                        "accessTokenLifetime",
                        format!(
                            "\"{text}\" is not a duration: write seconds, or a number with s, m, h or d (\"3600s\", \"1h\")"
                        ),
                    );
                    None
                }
            },
            (None, None) => None,
        };
        if let Some((field, l)) = lifetime {
            if !(MIN_TOKEN_LIFETIME..=MAX_TOKEN_LIFETIME).contains(&l) {
                err(
                    field,
                    format!(
                        "must be between {MIN_TOKEN_LIFETIME} and {MAX_TOKEN_LIFETIME} seconds, not {l}"
                    ),
                );
            }
        }
        let status = match self.status.as_deref() {
            None => ClientStatus::Active,
            Some(s) => ClientStatus::parse(s).unwrap_or_else(|| {
                err(
                    "status",
                    format!(
                        "must be \"active\", \"off\" or \"error\", not \"{s}\" (to stop a client, set \"off\")"
                    ),
                );
                ClientStatus::Active
            }),
        };
        if !errors.is_empty() {
            return Err(ValidationErrors(errors));
        }
        Ok(Validated {
            client: CompiledClient {
                id,
                name: self.name.clone(),
                status,
                trust_store,
                constraint,
                allowed_scopes,
                token_lifetime: lifetime.map(|(_, l)| l),
                secret_hash: self.client_secret_hash.clone(),
                keys,
                require_binding,
                udap: self.udap.clone(),
                version: 0,
                serial: 0,
            },
            warnings,
        })
    }

    /// The one configured constraint (or an error naming the field).
    /// The `private_key_jwt` keys: an inline `jwks` parsed now, or an https
    /// `jwks_uri` (RFC 7591 §2: not both).
    fn keys(&self) -> Result<Option<ClientKeys>, (&'static str, String)> {
        match (&self.jwks, self.jwks_uri.as_deref().map(str::trim)) {
            (Some(_), Some(_)) => Err((
                "jwks_uri",
                "give the keys either inline (jwks) or by URL (jwks_uri), not both (RFC 7591 §2)"
                    .into(),
            )),
            (Some(jwks), None) => {
                let text = jwks.to_string();
                if text.len() > MAX_JWKS_LEN {
                    return Err(("jwks", format!("is larger than {MAX_JWKS_LEN} bytes")));
                }
                crate::keys::VerifyingKeys::from_jwks_json(text.as_bytes())
                    .map(|k| Some(ClientKeys::Inline(std::sync::Arc::new(k))))
                    .map_err(|e| ("jwks", e.to_string()))
            }
            (None, Some(uri)) => {
                let ok = uri.len() <= 2048
                    && uri
                        .strip_prefix("https://")
                        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
                    && !uri.contains(char::is_whitespace)
                    && !uri.contains('#');
                if ok {
                    Ok(Some(ClientKeys::Uri(uri.to_owned())))
                } else {
                    Err((
                        "jwks_uri",
                        format!(
                            "\"{uri}\" is not an https:// URL without a fragment; the client's keys are fetched over https only"
                        ),
                    ))
                }
            }
            (None, None) => Ok(None),
        }
    }

    fn constraint(&self) -> Result<Option<SubjectConstraint>, (&'static str, String)> {
        let set: Vec<(&'static str, &str)> = [
            (
                "tls_client_auth_subject_dn",
                &self.tls_client_auth_subject_dn,
            ),
            ("tls_client_auth_san_dns", &self.tls_client_auth_san_dns),
            ("tls_client_auth_san_uri", &self.tls_client_auth_san_uri),
            ("tls_client_auth_san_ip", &self.tls_client_auth_san_ip),
            ("tls_client_auth_san_email", &self.tls_client_auth_san_email),
        ]
        .into_iter()
        .filter_map(|(k, v)| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| (k, v))
        })
        .collect();
        let Some(&(field, value)) = set.first() else {
            return Ok(None);
        };
        if set.len() > 1 {
            return Err((
                set[1].0,
                format!(
                    "only one subject constraint may be set (RFC 8705 §2.1.2), and {field} is already set"
                ),
            ));
        }
        let c = match field {
            "tls_client_auth_subject_dn" => SubjectConstraint::Dn(
                DistinguishedName::parse(value).map_err(|e| (field, e.to_string()))?,
            ),
            "tls_client_auth_san_dns" => SubjectConstraint::SanDns(value.to_ascii_lowercase()),
            "tls_client_auth_san_uri" => SubjectConstraint::SanUri(value.to_string()),
            "tls_client_auth_san_ip" => SubjectConstraint::SanIp(
                value
                    .parse()
                    .map_err(|_| (field, format!("`{value}` is not an IP address")))?,
            ),
            _ => SubjectConstraint::SanEmail(value.to_string()),
        };
        Ok(Some(c))
    }
}

/// Parse and classify trust-store PEM; errors name the block.
/// A token lifetime as FHIR platforms write it: `"3600"`, `"3600s"`, `"60m"`,
/// `"1h"`, `"1d"`; seconds.
pub fn parse_lifetime(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    digits.parse::<u64>().ok().map(|n| n * factor)
}

pub fn parse_trust_store(
    pem: &str,
    now: OffsetDateTime,
    warnings: &mut Vec<String>,
) -> Result<TrustStore, Vec<String>> {
    if pem.len() > MAX_TRUST_STORE_LEN {
        return Err(vec![format!("is larger than {MAX_TRUST_STORE_LEN} bytes")]);
    }
    let blocks = pem_blocks(pem.as_bytes()).map_err(|e| vec![e.to_string()])?;
    if blocks.is_empty() {
        return Err(vec![
            "holds no PEM block: paste certificates between -----BEGIN CERTIFICATE----- and -----END CERTIFICATE----- lines".into(),
        ]);
    }
    let mut errors = Vec::new();
    let mut anchors = Vec::new();
    let mut exact = Vec::new();
    let mut certs = Vec::new();
    for block in &blocks {
        let at = format!("block {} (line {})", block.index, block.line);
        if block.label != "CERTIFICATE" {
            errors.push(format!(
                "{at} is a \"{}\", not a CERTIFICATE: a trust store holds certificates only",
                block.label
            ));
            continue;
        }
        let info = match CertInfo::from_der(&block.der) {
            Ok(info) => info,
            Err(e) => {
                errors.push(format!("{at}: {e}"));
                continue;
            }
        };
        let der = CertDer::from(block.der.clone());
        let name = info.display_name().to_string();
        if now > info.not_after {
            warnings.push(format!(
                "certificate '{name}' ({at}) expired on {}: it authenticates nobody until replaced",
                certbound_pki::time_fmt::date(info.not_after)
            ));
        } else if now < info.not_before {
            warnings.push(format!(
                "certificate '{name}' ({at}) is not valid until {}",
                certbound_pki::time_fmt::date(info.not_before)
            ));
        }
        let role = info.trust_role();
        if role.pins() {
            exact.push(ExactCert {
                der: der.clone(),
                not_before: info.not_before,
                not_after: info.not_after,
                name: name.clone(),
            });
        }
        if role.vouches() {
            anchors.push(der);
        }
        if role == TrustRole::Neither {
            errors.push(match info.refused_self_signature() {
                Some(what) => format!(
                    "{at} ('{name}') is self-signed with {what}, which certbound refuses (as TLS libraries do): make a new one with an RSA 2048+ or EC key and SHA-256, e.g. `certbound pki self-signed --cn '{name}'`"
                ),
                None => format!(
                    "{at} ('{name}', issued by '{}') is neither a CA nor self-signed: put the CA certificate that issued it in the trust store instead (or the client's own self-signed certificate)",
                    info.issuer_display_name()
                ),
            });
        }
        certs.push(info);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let anchors = AnchorSet::new(anchors).map_err(|e| vec![e.to_string()])?;
    Ok(TrustStore {
        anchors,
        exact,
        certs,
    })
}

#[cfg(test)]
mod tests;
