//! The claims of certbound's access tokens (RFC 9068) and their binding to
//! the client's certificate (RFC 8705 §3).
//!
//! [`issue`] builds and signs a token for a client; [`verify_access_token`]
//! checks one end to end (signature, `typ`, times, issuer, audience, required
//! claims). A certificate-bound token carries `cnf.x5t#S256`, the SHA-256
//! thumbprint of the client's leaf certificate, and is honoured only over a
//! TLS connection presenting that same certificate
//! ([`AccessTokenClaims::check_certificate_binding`]).

use std::fmt;

use aws_lc_rs::{constant_time, digest, rand};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::jwt::{self, JwtError, RegisteredClaims, Validation};
use crate::keys::{SigningKey, VerifyingKeys};

/// The `cnf` (confirmation) claim of a certificate-bound token (RFC 8705 §3.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// base64url SHA-256 of the DER of the client's certificate.
    #[serde(rename = "x5t#S256")]
    pub x5t_s256: String,
}

/// The claims of an access token (RFC 9068 §2.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// Issuer: the authorization server's issuer identifier.
    pub iss: String,
    /// Subject; for client_credentials, the client itself.
    pub sub: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// Audiences; rendered as a string when there is one (RFC 7519 §4.1.3).
    #[serde(with = "audience")]
    pub aud: Vec<String>,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issue time, Unix seconds.
    pub iat: i64,
    /// Unique token id, used for revocation.
    pub jti: String,
    /// Granted scopes, space-delimited; omitted when none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    /// The certificate binding, when the client authenticated with a certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    /// Authorization extension objects the client asserted (UDAP: the
    /// `hl7-b2b` object, HL7 FAST Security §5.2.1.1), copied from its
    /// authentication token for resource servers to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<serde_json::Value>,
}

impl AccessTokenClaims {
    /// The registered claims, for [`Validation::validate`].
    pub fn registered(&self) -> RegisteredClaims<'_> {
        RegisteredClaims {
            iss: Some(&self.iss),
            aud: &self.aud,
            exp: Some(self.exp),
            nbf: None,
            iat: Some(self.iat),
        }
    }

    /// The granted scopes, one by one.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|s| !s.is_empty())
    }

    /// Whether `scope` was granted: listed, or covered by a granted SMART
    /// scope (`system/*.rs` covers `system/Patient.r`; see [`crate::scope`]).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| crate::scope::covers(s, scope))
    }

    /// Checks that the token is bound to the certificate `cert_der` that the
    /// client presented on this connection (RFC 8705 §3). An unbound token fails.
    pub fn check_certificate_binding(&self, cert_der: &[u8]) -> Result<(), JwtError> {
        let cnf = self.cnf.as_ref().ok_or(JwtError::NotCertificateBound)?;
        let presented = x5t_s256(cert_der);
        if thumbprints_match(&cnf.x5t_s256, &presented) {
            Ok(())
        } else {
            Err(JwtError::CertificateMismatch {
                expected: cnf.x5t_s256.clone(),
                presented,
            })
        }
    }
}

/// `x5t#S256` of a certificate: base64url (no padding) of SHA-256 of its DER
/// (RFC 8705 §3.1).
pub fn x5t_s256(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, der))
}

/// Compares two thumbprints in time independent of where they differ.
pub fn thumbprints_match(a: &str, b: &str) -> bool {
    constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// A new token id: 128 random bits, base64url (22 characters).
pub fn new_jti() -> Result<String, JwtError> {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes).map_err(|_| JwtError::Random)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// What to put in a new access token.
#[derive(Clone, Copy, Debug)]
pub struct IssueParams<'a> {
    /// Our issuer identifier (`iss`).
    pub issuer: &'a str,
    /// The authenticated client (`client_id`).
    pub client_id: &'a str,
    /// `sub`; the client id when `None` (RFC 9068 §2.2 for client_credentials).
    pub subject: Option<&'a str>,
    /// `aud`: the resources the token is for; at least one.
    pub audience: &'a [String],
    /// Granted scopes.
    pub scope: &'a [String],
    /// Lifetime in seconds (`exp` = now + lifetime).
    pub lifetime_secs: u64,
    /// `x5t#S256` of the client's certificate, for a certificate-bound token.
    pub certificate_thumbprint: Option<&'a str>,
    /// The `extensions` claim (UDAP `hl7-b2b`), when the client asserted any.
    pub extensions: Option<&'a serde_json::Value>,
}

/// A signed access token with its claims.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    /// The compact JWS.
    pub access_token: String,
    /// Its claims.
    pub claims: AccessTokenClaims,
    /// Seconds until it expires.
    pub expires_in: u64,
}

impl IssuedToken {
    /// The successful token response body (RFC 6749 §5.1).
    pub fn response(&self) -> TokenResponse<'_> {
        TokenResponse {
            access_token: &self.access_token,
            token_type: "Bearer",
            expires_in: self.expires_in,
            scope: &self.claims.scope,
        }
    }
}

/// The JSON body of a successful token response (RFC 6749 §5.1).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct TokenResponse<'a> {
    /// The token.
    pub access_token: &'a str,
    /// Always `Bearer` (RFC 8705 tokens are bearer tokens bound to a certificate).
    pub token_type: &'static str,
    /// Seconds until expiry.
    pub expires_in: u64,
    /// Granted scopes; omitted when none.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub scope: &'a str,
}

/// Builds and signs an access token at time `now` (Unix seconds).
pub fn issue(
    key: &SigningKey,
    params: &IssueParams<'_>,
    now: i64,
) -> Result<IssuedToken, JwtError> {
    if params.audience.is_empty() {
        return Err(JwtError::MissingClaim { claim: "aud" });
    }
    let lifetime = i64::try_from(params.lifetime_secs).unwrap_or(i64::MAX);
    let claims = AccessTokenClaims {
        iss: params.issuer.to_owned(),
        sub: params.subject.unwrap_or(params.client_id).to_owned(),
        client_id: params.client_id.to_owned(),
        aud: params.audience.to_vec(),
        exp: now.saturating_add(lifetime),
        iat: now,
        jti: new_jti()?,
        scope: params.scope.join(" "),
        cnf: params.certificate_thumbprint.map(|t| Confirmation {
            x5t_s256: t.to_owned(),
        }),
        extensions: params.extensions.cloned(),
    };
    let access_token = jwt::sign(key, &claims)?;
    Ok(IssuedToken {
        access_token,
        claims,
        expires_in: params.lifetime_secs,
    })
}

/// Verifies an access token end to end at time `now`: signature and key
/// ([`jwt::verify`]), then `typ`, `exp`, `nbf`, `iat`, `iss`, `aud`
/// ([`Validation::validate`]), then the other claims RFC 9068 requires.
pub fn verify_access_token(
    token: &str,
    keys: &VerifyingKeys,
    validation: &Validation,
    now: i64,
) -> Result<AccessTokenClaims, JwtError> {
    let verified = jwt::verify(token, keys)?;
    let raw: RawClaims = jwt::decode_json_object(&verified.payload)?;
    let registered = RegisteredClaims {
        iss: raw.iss.as_deref(),
        aud: &raw.aud,
        exp: raw.exp,
        nbf: raw.nbf,
        iat: raw.iat,
    };
    validation.validate(&verified.header, &registered, now)?;
    raw.into_claims()
}

/// Claims as an issuer may send them: everything optional, so that a missing
/// claim is reported by name rather than as a JSON error.
#[derive(Deserialize)]
struct RawClaims {
    iss: Option<String>,
    sub: Option<String>,
    client_id: Option<String>,
    #[serde(default, deserialize_with = "audience::deserialize")]
    aud: Vec<String>,
    #[serde(default, deserialize_with = "numeric_date")]
    exp: Option<i64>,
    #[serde(default, deserialize_with = "numeric_date")]
    nbf: Option<i64>,
    #[serde(default, deserialize_with = "numeric_date")]
    iat: Option<i64>,
    jti: Option<String>,
    scope: Option<String>,
    cnf: Option<RawConfirmation>,
    extensions: Option<serde_json::Value>,
}

/// `cnf` may hold other confirmation methods (e.g. DPoP's `jkt`); only
/// `x5t#S256` makes a token certificate-bound.
#[derive(Deserialize)]
struct RawConfirmation {
    #[serde(rename = "x5t#S256")]
    x5t_s256: Option<String>,
}

impl RawClaims {
    fn into_claims(self) -> Result<AccessTokenClaims, JwtError> {
        let missing = |claim| JwtError::MissingClaim { claim };
        if self.aud.is_empty() {
            return Err(missing("aud"));
        }
        Ok(AccessTokenClaims {
            iss: self.iss.ok_or(missing("iss"))?,
            sub: self.sub.ok_or(missing("sub"))?,
            client_id: self.client_id.ok_or(missing("client_id"))?,
            aud: self.aud,
            exp: self.exp.ok_or(missing("exp"))?,
            iat: self.iat.ok_or(missing("iat"))?,
            jti: self.jti.ok_or(missing("jti"))?,
            scope: self.scope.unwrap_or_default(),
            cnf: self
                .cnf
                .and_then(|c| c.x5t_s256)
                .map(|x5t_s256| Confirmation { x5t_s256 }),
            extensions: self.extensions.filter(serde_json::Value::is_object),
        })
    }
}

/// A NumericDate (RFC 7519 §2): integer or fractional seconds; fractions are
/// dropped toward the past.
fn numeric_date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    struct DateVisitor;
    impl<'de> Visitor<'de> for DateVisitor {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a NumericDate (seconds since 1970)")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v)
                .map(Some)
                .map_err(|_| E::custom("NumericDate out of range"))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            // The range check makes the cast exact up to the dropped fraction.
            if v.is_finite() && v.abs() < 9.0e15 {
                Ok(Some(v.floor() as i64))
            } else {
                Err(E::custom("NumericDate out of range"))
            }
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(self)
        }
    }
    deserializer.deserialize_option(DateVisitor)
}

/// `aud` is a string or an array of strings (RFC 7519 §4.1.3).
pub(crate) mod audience {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(aud: &[String], s: S) -> Result<S::Ok, S::Error> {
        match aud {
            [one] => s.serialize_str(one),
            many => many.serialize(s),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        struct AudVisitor;
        impl<'de> Visitor<'de> for AudVisitor {
            type Value = Vec<String>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(vec![v.to_owned()])
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(16));
                while let Some(item) = seq.next_element::<String>()? {
                    out.push(item);
                }
                Ok(out)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Vec::new())
            }
        }
        d.deserialize_any(AudVisitor)
    }
}

#[cfg(test)]
mod tests;
