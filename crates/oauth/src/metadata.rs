//! The authorization server metadata document (RFC 8414) that tells clients
//! where the endpoints are and how to authenticate, including the mTLS
//! endpoint aliases of RFC 8705 §5.
//!
//! The document is built once at startup from the configured URLs; building
//! checks the URLs so that a misconfigured issuer fails at startup with the
//! field named, not later in a client.

use serde::{Deserialize, Serialize};

/// Where the metadata document is served for an issuer without a path
/// (RFC 8414 §3); see [`well_known_path`] for issuers with one.
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-authorization-server";

/// Client authentication methods certbound supports, in order of preference:
/// mTLS with a CA-issued certificate, mTLS with a self-signed certificate
/// (RFC 8705 §2), a JWT signed with the client's key (RFC 7523 §2.2), then
/// client secrets (RFC 6749 §2.3.1).
pub const AUTH_METHODS: [&str; 5] = [
    "tls_client_auth",
    "self_signed_tls_client_auth",
    "private_key_jwt",
    "client_secret_basic",
    "client_secret_post",
];

/// The RFC 8414 metadata document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationServerMetadata {
    /// The issuer identifier; equals `iss` in our tokens.
    pub issuer: String,
    /// The token endpoint.
    pub token_endpoint: String,
    /// The JWKS with the token signing keys.
    pub jwks_uri: String,
    /// RFC 7662 introspection endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    /// RFC 7009 revocation endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// Scopes clients may ask for, when published.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// Required by RFC 8414; empty, since there is no authorization endpoint.
    #[serde(default)]
    pub response_types_supported: Vec<String>,
    /// `["client_credentials"]`.
    pub grant_types_supported: Vec<String>,
    /// Client authentication methods at the token endpoint.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Algorithms accepted for `private_key_jwt` client assertions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// Client authentication methods at the introspection endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    /// Client authentication methods at the revocation endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    /// Tokens are bound to the client certificate (RFC 8705 §3.3).
    pub tls_client_certificate_bound_access_tokens: bool,
    /// Endpoints to use with a client certificate, when they differ (RFC 8705 §5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtls_endpoint_aliases: Option<MtlsEndpointAliases>,
}

/// Endpoint URLs to use when authenticating with a certificate (RFC 8705 §5).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MtlsEndpointAliases {
    /// mTLS token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// mTLS introspection endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    /// mTLS revocation endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
}

/// A URL in the metadata that cannot be published.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "metadata field {field} = {value:?} is not usable: {reason}; fix it in the server configuration"
)]
pub struct MetadataError {
    /// The metadata field.
    pub field: &'static str,
    /// Its value.
    pub value: String,
    /// What is wrong.
    pub reason: &'static str,
}

/// Builds an [`AuthorizationServerMetadata`].
#[derive(Clone, Debug)]
pub struct MetadataBuilder {
    doc: AuthorizationServerMetadata,
}

impl MetadataBuilder {
    /// Starts a document with the required fields; every auth method of
    /// [`AUTH_METHODS`] is advertised unless [`Self::auth_methods`] says otherwise.
    pub fn new(
        issuer: impl Into<String>,
        token_endpoint: impl Into<String>,
        jwks_uri: impl Into<String>,
    ) -> Self {
        let methods: Vec<String> = AUTH_METHODS.iter().map(|m| (*m).to_owned()).collect();
        Self {
            doc: AuthorizationServerMetadata {
                issuer: issuer.into(),
                token_endpoint: token_endpoint.into(),
                jwks_uri: jwks_uri.into(),
                introspection_endpoint: None,
                revocation_endpoint: None,
                scopes_supported: Vec::new(),
                response_types_supported: Vec::new(),
                grant_types_supported: vec![crate::request::CLIENT_CREDENTIALS.to_owned()],
                token_endpoint_auth_methods_supported: methods.clone(),
                token_endpoint_auth_signing_alg_values_supported: crate::keys::Algorithm::VERIFIED
                    .iter()
                    .map(|a| a.jws_name().to_owned())
                    .collect(),
                introspection_endpoint_auth_methods_supported: methods.clone(),
                revocation_endpoint_auth_methods_supported: methods,
                tls_client_certificate_bound_access_tokens: true,
                mtls_endpoint_aliases: None,
            },
        }
    }

    /// Publishes the introspection endpoint.
    #[must_use]
    pub fn introspection_endpoint(mut self, url: impl Into<String>) -> Self {
        self.doc.introspection_endpoint = Some(url.into());
        self
    }

    /// Publishes the revocation endpoint.
    #[must_use]
    pub fn revocation_endpoint(mut self, url: impl Into<String>) -> Self {
        self.doc.revocation_endpoint = Some(url.into());
        self
    }

    /// Publishes mTLS endpoint aliases (omitted when all are `None`).
    #[must_use]
    pub fn mtls_endpoint_aliases(mut self, aliases: MtlsEndpointAliases) -> Self {
        self.doc.mtls_endpoint_aliases = Some(aliases);
        self
    }

    /// Publishes the scopes clients may request.
    #[must_use]
    pub fn scopes_supported(mut self, scopes: Vec<String>) -> Self {
        self.doc.scopes_supported = scopes;
        self
    }

    /// Advertises only these client authentication methods (e.g. without the
    /// client secret methods when the server disables them).
    #[must_use]
    pub fn auth_methods(mut self, methods: &[&str]) -> Self {
        let methods: Vec<String> = methods.iter().map(|m| (*m).to_owned()).collect();
        self.doc.token_endpoint_auth_methods_supported = methods.clone();
        self.doc.introspection_endpoint_auth_methods_supported = methods.clone();
        self.doc.revocation_endpoint_auth_methods_supported = methods;
        self
    }

    /// Checks the URLs and returns the document. The issuer must be an
    /// `https` URL without query or fragment (RFC 8414 §2); plain `http` is
    /// accepted only for loopback hosts, for development.
    pub fn build(mut self) -> Result<AuthorizationServerMetadata, MetadataError> {
        let doc = &mut self.doc;
        check_url("issuer", &doc.issuer)?;
        if doc.issuer.contains(['?', '#']) {
            return Err(MetadataError {
                field: "issuer",
                value: doc.issuer.clone(),
                reason: "an issuer has no query or fragment (RFC 8414 §2)",
            });
        }
        check_url("token_endpoint", &doc.token_endpoint)?;
        check_url("jwks_uri", &doc.jwks_uri)?;
        if let Some(url) = &doc.introspection_endpoint {
            check_url("introspection_endpoint", url)?;
        } else {
            doc.introspection_endpoint_auth_methods_supported.clear();
        }
        if let Some(url) = &doc.revocation_endpoint {
            check_url("revocation_endpoint", url)?;
        } else {
            doc.revocation_endpoint_auth_methods_supported.clear();
        }
        if let Some(aliases) = &doc.mtls_endpoint_aliases {
            let urls = [
                (
                    "mtls_endpoint_aliases.token_endpoint",
                    &aliases.token_endpoint,
                ),
                (
                    "mtls_endpoint_aliases.introspection_endpoint",
                    &aliases.introspection_endpoint,
                ),
                (
                    "mtls_endpoint_aliases.revocation_endpoint",
                    &aliases.revocation_endpoint,
                ),
            ];
            for (field, url) in urls {
                if let Some(url) = url {
                    check_url(field, url)?;
                }
            }
            if urls.iter().all(|(_, url)| url.is_none()) {
                doc.mtls_endpoint_aliases = None;
            }
        }
        Ok(self.doc)
    }
}

impl AuthorizationServerMetadata {
    /// The document as compact JSON.
    pub fn to_json(&self) -> String {
        // Strings, booleans and arrays of strings always serialise.
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn check_url(field: &'static str, value: &str) -> Result<(), MetadataError> {
    let err = |reason| MetadataError {
        field,
        value: value.to_owned(),
        reason,
    };
    let (secure, rest) = if let Some(rest) = value.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = value.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(err("it must be an absolute https:// URL"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    if host.is_empty() {
        return Err(err("it has no host"));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(err("it contains spaces or control characters"));
    }
    let loopback = host == "localhost" || host.starts_with("127.") || host == "::1";
    if !secure && !loopback {
        return Err(err(
            "it must use https (plain http is allowed only for localhost)",
        ));
    }
    Ok(())
}

/// The path at which to serve the metadata of `issuer` (RFC 8414 §3): the
/// well-known prefix inserted before the issuer's path, if it has one.
pub fn well_known_path(issuer: &str) -> String {
    let after_scheme = issuer.split_once("://").map_or(issuer, |(_, rest)| rest);
    let path = after_scheme
        .find('/')
        .and_then(|i| after_scheme.get(i..))
        .unwrap_or("")
        .trim_end_matches('/');
    format!("{WELL_KNOWN_PATH}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> MetadataBuilder {
        MetadataBuilder::new(
            "https://as.example.com",
            "https://as.example.com/oauth2/token",
            "https://as.example.com/oauth2/jwks",
        )
    }

    #[test]
    fn full_document_has_every_advertised_field() {
        let doc = base()
            .introspection_endpoint("https://as.example.com/oauth2/introspect")
            .revocation_endpoint("https://as.example.com/oauth2/revoke")
            .mtls_endpoint_aliases(MtlsEndpointAliases {
                token_endpoint: Some("https://mtls.as.example.com/oauth2/token".into()),
                ..Default::default()
            })
            .scopes_supported(vec!["read".into(), "write".into()])
            .build()
            .expect("valid metadata");
        let json: serde_json::Value =
            serde_json::from_str(&doc.to_json()).expect("metadata is JSON");
        assert_eq!(json["issuer"], "https://as.example.com");
        assert_eq!(
            json["grant_types_supported"],
            serde_json::json!(["client_credentials"])
        );
        assert_eq!(
            json["token_endpoint_auth_methods_supported"],
            serde_json::json!(AUTH_METHODS)
        );
        assert_eq!(
            json["introspection_endpoint_auth_methods_supported"],
            serde_json::json!(AUTH_METHODS)
        );
        assert_eq!(
            json["revocation_endpoint_auth_methods_supported"],
            serde_json::json!(AUTH_METHODS)
        );
        assert_eq!(json["tls_client_certificate_bound_access_tokens"], true);
        assert_eq!(
            json["token_endpoint_auth_signing_alg_values_supported"],
            serde_json::json!([
                "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"
            ])
        );
        assert_eq!(
            json["mtls_endpoint_aliases"],
            serde_json::json!({"token_endpoint": "https://mtls.as.example.com/oauth2/token"})
        );
        assert_eq!(
            json["scopes_supported"],
            serde_json::json!(["read", "write"])
        );
        assert_eq!(json["response_types_supported"], serde_json::json!([]));
        // Round trip for clients reading the document.
        let back: AuthorizationServerMetadata =
            serde_json::from_value(json).expect("metadata deserialises");
        assert_eq!(back, doc);
    }

    #[test]
    fn minimal_document_omits_what_is_not_offered() {
        let doc = base()
            .mtls_endpoint_aliases(MtlsEndpointAliases::default())
            .build()
            .expect("valid metadata");
        let json: serde_json::Value = serde_json::from_str(&doc.to_json()).expect("JSON");
        for absent in [
            "introspection_endpoint",
            "revocation_endpoint",
            "introspection_endpoint_auth_methods_supported",
            "revocation_endpoint_auth_methods_supported",
            "mtls_endpoint_aliases",
            "scopes_supported",
        ] {
            assert!(json.get(absent).is_none(), "{absent} should be omitted");
        }
    }

    #[test]
    fn auth_methods_can_be_narrowed() {
        let doc = base()
            .introspection_endpoint("https://as.example.com/introspect")
            .auth_methods(&["tls_client_auth"])
            .build()
            .expect("valid");
        assert_eq!(
            doc.token_endpoint_auth_methods_supported,
            ["tls_client_auth"]
        );
        assert_eq!(
            doc.introspection_endpoint_auth_methods_supported,
            ["tls_client_auth"]
        );
    }

    #[test]
    fn bad_urls_are_refused_with_the_field_named() {
        let cases = [
            ("http://as.example.com", "issuer"),
            ("https://as.example.com?x=1", "issuer"),
            ("https://as.example.com#frag", "issuer"),
            ("as.example.com", "issuer"),
            ("https:///path", "issuer"),
        ];
        for (issuer, field) in cases {
            let err = MetadataBuilder::new(issuer, "https://a/t", "https://a/j")
                .build()
                .expect_err(issuer);
            assert_eq!(err.field, field, "{issuer}");
        }
        let err = base()
            .revocation_endpoint("ftp://as.example.com/revoke")
            .build()
            .expect_err("ftp is not a URL we publish");
        assert_eq!(err.field, "revocation_endpoint");
        let err = base()
            .mtls_endpoint_aliases(MtlsEndpointAliases {
                token_endpoint: Some("http://mtls.example.com/token".into()),
                ..Default::default()
            })
            .build()
            .expect_err("plain http alias");
        assert_eq!(err.field, "mtls_endpoint_aliases.token_endpoint");
    }

    #[test]
    fn loopback_http_is_accepted_for_development() {
        for issuer in [
            "http://localhost:8443",
            "http://127.0.0.1:8443",
            "http://[::1]:8443",
        ] {
            MetadataBuilder::new(issuer, format!("{issuer}/token"), format!("{issuer}/jwks"))
                .build()
                .expect(issuer);
        }
    }

    #[test]
    fn well_known_path_inserts_before_the_issuer_path() {
        assert_eq!(
            well_known_path("https://as.example.com"),
            "/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            well_known_path("https://as.example.com/"),
            "/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            well_known_path("https://example.com/tenant1"),
            "/.well-known/oauth-authorization-server/tenant1"
        );
    }
}
