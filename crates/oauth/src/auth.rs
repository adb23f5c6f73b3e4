//! Client authentication at the token endpoint (RFC 8705 §2, RFC 6749 §2.3):
//! by the certificate the client presented — byte for byte against a
//! self-signed certificate in its trust store, or by a chain to a CA in it plus
//! the subject constraint — or by a secret for clients without mTLS.
//!
//! The peer is told only `invalid_client`; [`AuthFailure`] says exactly which
//! check failed, for the log and the audit trail.

use std::fmt;

use certbound_pki::CertDer;
use certbound_pki::chain::{ChainError, Usage};
use certbound_pki::dn::DistinguishedName;
use certbound_pki::inspect::{CertInfo, SanEntry};
use certbound_pki::revocation::RevocationCheck;
use certbound_pki::time_fmt::date;
use time::OffsetDateTime;

use crate::client::{ClientStatus, CompiledClient, SubjectConstraint};

/// How a client proved who it is (the names of RFC 8705 §2 and RFC 7591).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    TlsClientAuth,
    SelfSignedTlsClientAuth,
    ClientSecretBasic,
    ClientSecretPost,
    /// A JWT signed with the client's key (RFC 7523 §2.2, SMART Backend Services).
    PrivateKeyJwt,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::TlsClientAuth => "tls_client_auth",
            Method::SelfSignedTlsClientAuth => "self_signed_tls_client_auth",
            Method::ClientSecretBasic => "client_secret_basic",
            Method::ClientSecretPost => "client_secret_post",
            Method::PrivateKeyJwt => "private_key_jwt",
        }
    }

    /// Whether the method binds tokens to the certificate.
    pub fn is_mtls(self) -> bool {
        matches!(
            self,
            Method::TlsClientAuth | Method::SelfSignedTlsClientAuth
        )
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Exactly why a client was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    UnknownClient {
        client_id: String,
    },
    /// The client is registered with a `status` other than `active`.
    ClientOff {
        client_id: String,
        status: ClientStatus,
    },
    NoCertificate,
    /// The certificate could not be read (e.g. a malformed forwarded-certificate header).
    UnreadableCertificate {
        reason: String,
    },
    /// The client has only self-signed certificates and the one presented is none of them.
    NotInTrustStore {
        presented: String,
        registered: Vec<String>,
        /// A registered self-signed certificate, not a CA by RFC 5280, whose
        /// name is the presented certificate's issuer.
        pinned_issuer: Option<String>,
    },
    /// The registered self-signed certificate was presented outside its validity.
    ExactCertNotValid {
        name: String,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    },
    Chain(ChainError),
    SubjectMismatch {
        expected: String,
        found: String,
    },
    SanMismatch {
        kind: &'static str,
        expected: String,
        found: Vec<String>,
    },
    /// A certificate client sent no certificate but a secret, or a secret client sent none.
    SecretRequired,
    CertificateRequired,
    WrongSecret,
    /// The `private_key_jwt` assertion failed a check.
    Assertion(crate::assertion::AssertionError),
    /// The assertion's `jti` was used before (a replay).
    AssertionReplayed {
        jti: String,
    },
    /// The client sent an assertion but registered no keys.
    NoKeys,
    /// The client's `jwks_uri` could not be fetched or read.
    KeysUnavailable {
        uri: String,
        reason: String,
    },
    /// The client must bind its tokens to a certificate and presented none.
    BindingRequired,
    /// A UDAP authentication token failed a check.
    Udap(crate::udap::UdapError),
    /// A UDAP client's community is not (or no longer) configured.
    UnknownCommunity {
        community: String,
    },
}

impl fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthFailure::UnknownClient { client_id } => {
                write!(f, "no client is registered with client_id `{client_id}`")
            }
            AuthFailure::ClientOff { client_id, status } => write!(
                f,
                "client `{client_id}` has status \"{status}\": it is switched off; `certbound client enable {client_id}` (or status \"active\") lets it in again"
            ),
            AuthFailure::NoCertificate => write!(f, "no client certificate was presented"),
            AuthFailure::UnreadableCertificate { reason } => {
                write!(f, "the client certificate cannot be read: {reason}")
            }
            AuthFailure::NotInTrustStore {
                presented,
                pinned_issuer: Some(issuer),
                ..
            } => write!(
                f,
                "the presented certificate '{presented}' was issued by '{issuer}', which is in the client's trust store as a self-signed certificate that vouches only for itself: it has no keyUsage keyCertSign (RFC 5280 §4.2.1.3), as `openssl req -x509` makes them; re-make it as a CA with `-addext keyUsage=critical,keyCertSign,cRLSign`, or put the presented certificate itself in the trust store"
            ),
            AuthFailure::NotInTrustStore {
                presented,
                registered,
                pinned_issuer: None,
            } => write!(
                f,
                "the presented certificate '{presented}' is not in the client's trust store (which holds the self-signed {}; a self-signed certificate authenticates only when presented byte for byte)",
                registered
                    .iter()
                    .map(|r| format!("'{r}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            AuthFailure::ExactCertNotValid {
                name,
                not_before,
                not_after,
            } => write!(
                f,
                "the registered self-signed certificate '{name}' is valid only from {} to {}",
                date(*not_before),
                date(*not_after)
            ),
            AuthFailure::Chain(e) => write!(f, "certificate chain rejected: {e}"),
            AuthFailure::SubjectMismatch { expected, found } => {
                write!(
                    f,
                    "subject '{found}' does not match the registered tls_client_auth_subject_dn '{expected}'"
                )
            }
            AuthFailure::SanMismatch {
                kind,
                expected,
                found,
            } => write!(
                f,
                "no {kind} SAN equals the registered '{expected}' (the certificate has: {})",
                if found.is_empty() {
                    "none".to_string()
                } else {
                    found.join(", ")
                }
            ),
            AuthFailure::SecretRequired => write!(
                f,
                "the client authenticates with a secret, and none was given"
            ),
            AuthFailure::CertificateRequired => {
                write!(
                    f,
                    "the client authenticates with a certificate (mTLS), not a secret"
                )
            }
            AuthFailure::WrongSecret => write!(f, "the client secret is wrong"),
            AuthFailure::Assertion(e) => e.fmt(f),
            AuthFailure::AssertionReplayed { jti } => write!(
                f,
                "the client assertion jti {jti:?} was used before; each assertion authenticates once (RFC 7523 §3)"
            ),
            AuthFailure::NoKeys => write!(
                f,
                "the client sent a client_assertion but has no registered keys (jwks or jwks_uri)"
            ),
            AuthFailure::KeysUnavailable { uri, reason } => {
                write!(f, "the client's jwks_uri {uri} cannot be read: {reason}")
            }
            AuthFailure::BindingRequired => write!(
                f,
                "the client's tokens must be bound to a certificate (tls_client_certificate_bound_access_tokens, or this server's HRex policy) and the connection carries none"
            ),
            AuthFailure::Udap(e) => write!(f, "the UDAP authentication token is refused: {e}"),
            AuthFailure::UnknownCommunity { community } => write!(
                f,
                "the client was registered in UDAP community {community:?}, which this server's [[udap.community]] no longer lists"
            ),
        }
    }
}

impl AuthFailure {
    /// A short stable code, for metrics and audit filtering.
    pub fn code(&self) -> &'static str {
        match self {
            AuthFailure::UnknownClient { .. } => "unknown_client",
            AuthFailure::ClientOff { .. } => "client_off",
            AuthFailure::NoCertificate => "no_certificate",
            AuthFailure::UnreadableCertificate { .. } => "malformed_certificate",
            AuthFailure::NotInTrustStore { .. } => "not_in_trust_store",
            AuthFailure::ExactCertNotValid { .. } => "certificate_not_valid",
            AuthFailure::Chain(e) => match e {
                ChainError::Expired { .. }
                | ChainError::NotYetValid { .. }
                | ChainError::AnchorExpired { .. } => "certificate_not_valid",
                ChainError::EkuNotAllowed { .. } => "wrong_eku",
                ChainError::UnknownCa { .. }
                | ChainError::UntrustedRoot { .. }
                | ChainError::BadSignature { .. } => "untrusted_certificate",
                ChainError::MissingIntermediate { .. } => "missing_intermediate",
                ChainError::Revoked { .. } => "certificate_revoked",
                ChainError::RevocationUnavailable { .. } => "revocation_unavailable",
                _ => "chain_invalid",
            },
            AuthFailure::SubjectMismatch { .. } | AuthFailure::SanMismatch { .. } => {
                "subject_mismatch"
            }
            AuthFailure::SecretRequired => "secret_required",
            AuthFailure::CertificateRequired => "certificate_required",
            AuthFailure::WrongSecret => "wrong_secret",
            AuthFailure::Assertion(e) => e.code(),
            AuthFailure::AssertionReplayed { .. } => "assertion_replayed",
            AuthFailure::NoKeys => "no_keys",
            AuthFailure::KeysUnavailable { .. } => "keys_unavailable",
            AuthFailure::BindingRequired => "binding_required",
            AuthFailure::Udap(e) => e.code(),
            AuthFailure::UnknownCommunity { .. } => "udap_community",
        }
    }
}

/// Refuse a client whose status is not `active`, whatever it presents.
pub fn check_status(client: &CompiledClient) -> Result<(), AuthFailure> {
    match client.status {
        ClientStatus::Active => Ok(()),
        status => Err(AuthFailure::ClientOff {
            client_id: client.id.clone(),
            status,
        }),
    }
}

/// Authenticate `client` by the certificate chain it presented (leaf first),
/// with every certificate of the path checked against `revocation` when
/// given. A certificate registered as itself (self-signed) is not checked:
/// removing it from the trust store is how it is revoked.
pub fn authenticate_certificate(
    client: &CompiledClient,
    chain: &[CertDer],
    now: OffsetDateTime,
    revocation: Option<&RevocationCheck>,
) -> Result<Method, AuthFailure> {
    check_status(client)?;
    let Some(store) = &client.trust_store else {
        return Err(AuthFailure::SecretRequired);
    };
    let Some(leaf) = chain.first() else {
        return Err(AuthFailure::NoCertificate);
    };
    if let Some(exact) = store.exact.iter().find(|e| e.der.as_ref() == leaf.as_ref()) {
        if now < exact.not_before || now > exact.not_after {
            return Err(AuthFailure::ExactCertNotValid {
                name: exact.name.clone(),
                not_before: exact.not_before,
                not_after: exact.not_after,
            });
        }
        return Ok(Method::SelfSignedTlsClientAuth);
    }
    if store.anchors.is_empty() {
        let presented = CertInfo::from_der(leaf).ok();
        let pinned_issuer = presented.as_ref().filter(|p| !p.self_issued).and_then(|p| {
            store
                .certs
                .iter()
                .find(|c| c.is_ca && c.self_signed && c.subject_raw == p.issuer_raw)
                .map(|c| c.display_name().to_string())
        });
        return Err(AuthFailure::NotInTrustStore {
            presented: presented
                .map_or_else(|| "(unreadable)".into(), |i| i.display_name().to_string()),
            registered: store.exact.iter().map(|e| e.name.clone()).collect(),
            pinned_issuer,
        });
    }
    store
        .anchors
        .verify_checked(chain, Usage::Client, now, revocation)
        .map_err(AuthFailure::Chain)?;
    if let Some(constraint) = &client.constraint {
        check_constraint(constraint, leaf)?;
    }
    Ok(Method::TlsClientAuth)
}

fn check_constraint(constraint: &SubjectConstraint, leaf: &CertDer) -> Result<(), AuthFailure> {
    if let SubjectConstraint::Dn(expected) = constraint {
        let found = DistinguishedName::subject_of(leaf);
        return match found {
            Some(found) if expected.matches(&found) => Ok(()),
            found => Err(AuthFailure::SubjectMismatch {
                expected: expected.to_string(),
                found: found.map_or_else(|| "(unreadable)".into(), |f| f.to_string()),
            }),
        };
    }
    let sans = CertInfo::from_der(leaf)
        .map(|i| i.subject_alt_names)
        .unwrap_or_default();
    let (kind, expected, ok) = match constraint {
        SubjectConstraint::SanDns(want) => (
            "DNS",
            want.clone(),
            sans.iter()
                .any(|s| matches!(s, SanEntry::Dns(d) if d.eq_ignore_ascii_case(want))),
        ),
        SubjectConstraint::SanUri(want) => (
            "URI",
            want.clone(),
            sans.iter()
                .any(|s| matches!(s, SanEntry::Uri(u) if u == want)),
        ),
        SubjectConstraint::SanIp(want) => (
            "IP",
            want.to_string(),
            sans.iter()
                .any(|s| matches!(s, SanEntry::Ip(ip) if ip == want)),
        ),
        SubjectConstraint::SanEmail(want) => (
            "e-mail",
            want.clone(),
            sans.iter()
                .any(|s| matches!(s, SanEntry::Email(e) if e.eq_ignore_ascii_case(want))),
        ),
        SubjectConstraint::Dn(_) => return Ok(()),
    };
    if ok {
        Ok(())
    } else {
        Err(AuthFailure::SanMismatch {
            kind,
            expected,
            found: sans.iter().map(ToString::to_string).collect(),
        })
    }
}

/// Authenticate a client without mTLS by its secret.
pub fn authenticate_secret(
    client: &CompiledClient,
    secret: &str,
    method: Method,
) -> Result<Method, AuthFailure> {
    check_status(client)?;
    let Some(hash) = &client.secret_hash else {
        return Err(AuthFailure::CertificateRequired);
    };
    match crate::secret::verify_secret(secret, hash) {
        Ok(true) => Ok(method),
        _ => Err(AuthFailure::WrongSecret),
    }
}

#[cfg(test)]
mod tests;
