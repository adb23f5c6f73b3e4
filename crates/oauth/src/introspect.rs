//! RFC 7662 introspection responses, built from the claims of a token that
//! verified (and was not revoked), or the bare inactive answer.
//!
//! An inactive response says nothing else (RFC 7662 §2.2): not why the token
//! is inactive, not whom it belonged to. Why goes to the log.

use serde::{Deserialize, Serialize};

use crate::claims::{AccessTokenClaims, Confirmation};

/// An introspection response body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntrospectionResponse {
    /// Whether the token is currently valid.
    pub active: bool,
    /// Granted scopes, space-delimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The client the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The token's subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audiences; a string when there is one.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "crate::claims::audience"
    )]
    pub aud: Vec<String>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Expiry, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issue time, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// `Bearer` for an active access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// The certificate binding (RFC 8705 §3.2), so a resource server that
    /// introspects can check it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    /// The token's authorization extensions (UDAP `hl7-b2b`), for the
    /// resource server to apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<serde_json::Value>,
}

impl IntrospectionResponse {
    /// `{"active":false}`: for an unknown, expired, revoked or malformed token.
    pub fn inactive() -> Self {
        Self {
            active: false,
            scope: None,
            client_id: None,
            sub: None,
            aud: Vec::new(),
            iss: None,
            exp: None,
            iat: None,
            jti: None,
            token_type: None,
            cnf: None,
            extensions: None,
        }
    }

    /// The answer for an active token with these (verified) claims.
    pub fn active(claims: &AccessTokenClaims) -> Self {
        Self {
            active: true,
            scope: Some(claims.scope.clone()).filter(|s| !s.is_empty()),
            client_id: Some(claims.client_id.clone()),
            sub: Some(claims.sub.clone()),
            aud: claims.aud.clone(),
            iss: Some(claims.iss.clone()),
            exp: Some(claims.exp),
            iat: Some(claims.iat),
            jti: Some(claims.jti.clone()),
            token_type: Some("Bearer".to_owned()),
            cnf: claims.cnf.clone(),
            extensions: claims.extensions.clone(),
        }
    }

    /// The body as compact JSON.
    pub fn to_json(&self) -> String {
        // Strings, numbers and booleans always serialise.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"active\":false}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "https://as.example.com".into(),
            sub: "client-1".into(),
            client_id: "client-1".into(),
            aud: vec!["https://api.example.com".into()],
            exp: 1_900_000_000,
            iat: 1_899_999_000,
            jti: "abc".into(),
            scope: "read write".into(),
            cnf: Some(Confirmation {
                x5t_s256: "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2".into(),
            }),
            extensions: None,
        }
    }

    #[test]
    fn inactive_is_exactly_active_false() {
        assert_eq!(
            IntrospectionResponse::inactive().to_json(),
            r#"{"active":false}"#
        );
    }

    #[test]
    fn active_carries_the_token_facts() {
        let json: serde_json::Value =
            serde_json::from_str(&IntrospectionResponse::active(&claims()).to_json())
                .expect("JSON");
        assert_eq!(
            json,
            serde_json::json!({
                "active": true,
                "scope": "read write",
                "client_id": "client-1",
                "sub": "client-1",
                "aud": "https://api.example.com",
                "iss": "https://as.example.com",
                "exp": 1_900_000_000,
                "iat": 1_899_999_000,
                "jti": "abc",
                "token_type": "Bearer",
                "cnf": {"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}
            })
        );
    }

    #[test]
    fn active_without_scope_or_binding_omits_them() {
        let mut c = claims();
        c.scope.clear();
        c.cnf = None;
        c.aud.push("https://other.example.com".into());
        let response = IntrospectionResponse::active(&c);
        let json: serde_json::Value = serde_json::from_str(&response.to_json()).expect("JSON");
        assert!(json.get("scope").is_none());
        assert!(json.get("cnf").is_none());
        assert_eq!(
            json["aud"],
            serde_json::json!(["https://api.example.com", "https://other.example.com"])
        );
        let back: IntrospectionResponse = serde_json::from_value(json).expect("round trip");
        assert_eq!(back, response);
    }
    #[test]
    fn a_udap_tokens_extensions_are_introspected() {
        let b2b = serde_json::json!({"hl7-b2b": {"version": "1", "organization_id": "https://partner.example.org", "purpose_of_use": ["TREAT"]}});
        let c = AccessTokenClaims {
            extensions: Some(b2b.clone()),
            ..claims()
        };
        let json: serde_json::Value =
            serde_json::from_str(&IntrospectionResponse::active(&c).to_json()).expect("JSON");
        assert_eq!(json["extensions"], b2b);
        assert!(
            !IntrospectionResponse::inactive()
                .to_json()
                .contains("extensions")
        );
    }
}
