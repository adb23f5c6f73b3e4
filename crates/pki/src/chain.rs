//! Chain verification with rustls-webpki (the same code the server runs), and
//! a diagnosis that names the precise problem when it fails: which issuer is
//! missing, which certificate expired, whether the CA file holds a leaf, and so on.
//!
//! webpki gives the verdict; the diagnosis only walks names to explain it. The
//! only signature checks here are webpki's own primitives.

use std::fmt;

use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, UnixTime};
use time::OffsetDateTime;
use webpki::{EndEntityCert, KeyPurposeIdIter};

use crate::CertDer;
use crate::inspect::CertInfo;
use crate::revocation::RevocationCheck;
use crate::time_fmt::{date, relative};

mod ca_path;
mod rfc5280;
pub use ca_path::verify_ca;
pub use rfc5280::{Around, verify_around};

/// Signature algorithms certbound accepts in chains: those rustls accepts with
/// its aws-lc-rs provider. SHA-1 and MD5 are not among them.
pub static SUPPORTED_SIG_ALGS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::aws_lc_rs::ECDSA_P256_SHA256,
    webpki::aws_lc_rs::ECDSA_P256_SHA384,
    webpki::aws_lc_rs::ECDSA_P384_SHA256,
    webpki::aws_lc_rs::ECDSA_P384_SHA384,
    webpki::aws_lc_rs::ECDSA_P521_SHA256,
    webpki::aws_lc_rs::ECDSA_P521_SHA384,
    webpki::aws_lc_rs::ECDSA_P521_SHA512,
    webpki::aws_lc_rs::ED25519,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
];

/// What the certificate will be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Usage {
    /// TLS client authentication (EKU clientAuth).
    Client,
    /// TLS server authentication (EKU serverAuth).
    Server,
    /// Either; EKU is not checked.
    #[default]
    Any,
}

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Usage::Client => "client",
            Usage::Server => "server",
            Usage::Any => "any",
        })
    }
}

impl Usage {
    fn eku_oid(self) -> Option<&'static str> {
        match self {
            Usage::Client => Some(crate::oid::EKU_CLIENT_AUTH),
            Usage::Server => Some(crate::oid::EKU_SERVER_AUTH),
            Usage::Any => None,
        }
    }

    fn eku_word(self) -> &'static str {
        match self {
            Usage::Client => "clientAuth",
            Usage::Server => "serverAuth",
            Usage::Any => "any",
        }
    }
}

/// An EKU policy that accepts every certificate: used for `--usage any`, and to
/// tell an EKU failure apart from a broken chain.
#[derive(Debug)]
struct AnyUsage;

impl webpki::ExtendedKeyUsageValidator for AnyUsage {
    fn validate(&self, _iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        Ok(())
    }
}

/// A chain that verified: the path from the leaf to the anchor.
#[derive(Debug, Clone)]
pub struct VerifiedChain {
    /// Subjects from the leaf up to and including the trust anchor.
    pub path: Vec<String>,
    /// Index of the anchor in the anchors given.
    pub anchor: usize,
    /// Certificates of the path, leaf first, without the anchor.
    pub certs: Vec<CertDer>,
}

/// Why a chain did not verify, precisely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainError {
    /// No trust anchor was given.
    NoAnchors,
    /// The issuer of `cert` is nowhere, but the CA file holds a CA from the same organization.
    MissingIntermediate {
        cert: String,
        issuer: String,
        likely_parent: String,
    },
    /// The issuer of `cert` is neither in the chain nor in the CA file.
    UnknownCa {
        cert: String,
        issuer: String,
        anchors: Vec<String>,
    },
    /// The chain ends at a self-signed certificate that is not in the CA file.
    UntrustedRoot {
        root: String,
        is_leaf: bool,
    },
    /// The CA file holds leaf certificates, no CA.
    AnchorNotCa {
        subject: String,
    },
    /// A certificate with the issuer's name exists but its key did not sign `cert`.
    BadSignature {
        cert: String,
        issuer: String,
        /// The key identifiers show another key: `cert`'s authorityKeyIdentifier
        /// is not the issuer's subjectKeyIdentifier (a CA re-created since).
        other_key: bool,
    },
    Expired {
        cert: String,
        not_after: OffsetDateTime,
        now: OffsetDateTime,
    },
    NotYetValid {
        cert: String,
        not_before: OffsetDateTime,
        now: OffsetDateTime,
    },
    AnchorExpired {
        anchor: String,
        not_after: OffsetDateTime,
        now: OffsetDateTime,
    },
    /// A certificate on the path has an EKU that excludes the usage.
    EkuNotAllowed {
        cert: String,
        usage: Usage,
    },
    /// The certificate being verified is itself a CA.
    CaAsLeaf {
        cert: String,
    },
    /// A certificate used as an issuer is not a CA.
    IssuerNotCa {
        issuer: String,
    },
    /// A signature uses an algorithm that is refused (SHA-1, MD5) or unknown.
    UnsupportedSignature {
        cert: String,
        algorithm: String,
    },
    PathLenExceeded,
    NameConstraintViolation,
    /// More intermediates were presented than a path search considers.
    TooManyIntermediates {
        presented: usize,
        max: usize,
    },
    /// More presented intermediates share one subject name than a real chain has.
    SameNameIntermediates {
        name: String,
        count: usize,
        max: usize,
    },
    /// The path search ran out of its budget (a chain built to make it search).
    TooComplex,
    /// A certificate of the chain is listed in its issuer's CRL.
    Revoked {
        cert: String,
        /// Colon-separated hex, as `certbound check` shows it.
        serial: String,
        revoked_at: OffsetDateTime,
        reason: crate::revocation::Reason,
    },
    /// A certificate's revocation status could not be had (its issuer's CRL
    /// is stale or does not verify) and the policy is to fail.
    RevocationUnavailable {
        cert: String,
        why: String,
    },
    /// Anything else webpki reported.
    Other {
        reason: String,
    },
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainError::NoAnchors => write!(f, "no CA certificate to verify against"),
            ChainError::MissingIntermediate {
                cert,
                issuer,
                likely_parent,
            } => write!(
                f,
                "missing intermediate: '{cert}' was issued by '{issuer}', which is neither in the chain nor in the CA file; the CA file holds '{likely_parent}', probably its parent"
            ),
            ChainError::UnknownCa {
                cert,
                issuer,
                anchors,
            } => write!(
                f,
                "unknown CA: '{cert}' was issued by '{issuer}', but the CA file holds only {}",
                quote_list(anchors)
            ),
            ChainError::UntrustedRoot {
                root,
                is_leaf: true,
            } => write!(
                f,
                "'{root}' is self-signed and is not in the CA file: a self-signed certificate is trusted only when that exact certificate is in the trust store"
            ),
            ChainError::UntrustedRoot {
                root,
                is_leaf: false,
            } => {
                write!(
                    f,
                    "the chain ends at root '{root}', which is not in the CA file"
                )
            }
            ChainError::AnchorNotCa { subject } => write!(
                f,
                "the CA file holds a leaf certificate ('{subject}') instead of a CA certificate"
            ),
            ChainError::BadSignature {
                cert,
                issuer,
                other_key: true,
            } => write!(
                f,
                "bad signature: '{cert}' names '{issuer}' as issuer, but that CA's key did not sign it: its authority key identifier names another key (a different CA with the same name, e.g. one re-created since)"
            ),
            ChainError::BadSignature { cert, issuer, .. } => write!(
                f,
                "bad signature: the signature on '{cert}' does not verify with the key of '{issuer}', its issuer by name"
            ),
            ChainError::Expired {
                cert,
                not_after,
                now,
            } => write!(
                f,
                "'{cert}' in the chain expired on {} ({})",
                date(*not_after),
                relative(*now, *not_after)
            ),
            ChainError::NotYetValid {
                cert,
                not_before,
                now,
            } => write!(
                f,
                "'{cert}' in the chain is not valid until {} ({})",
                date(*not_before),
                relative(*now, *not_before)
            ),
            ChainError::AnchorExpired {
                anchor,
                not_after,
                now,
            } => write!(
                f,
                "the CA certificate '{anchor}' expired on {} ({})",
                date(*not_after),
                relative(*now, *not_after)
            ),
            ChainError::EkuNotAllowed { cert, usage } => write!(
                f,
                "'{cert}' restricts its extended key usage and does not allow {}",
                usage.eku_word()
            ),
            ChainError::CaAsLeaf { cert } => {
                write!(
                    f,
                    "'{cert}' is a CA certificate, not a certificate for a client or server"
                )
            }
            ChainError::IssuerNotCa { issuer } => {
                write!(
                    f,
                    "'{issuer}' issued a certificate but is not a CA (basicConstraints CA:FALSE or absent)"
                )
            }
            ChainError::UnsupportedSignature { cert, algorithm } => {
                write!(
                    f,
                    "'{cert}' is signed with {algorithm}, which is not accepted"
                )
            }
            ChainError::PathLenExceeded => {
                write!(
                    f,
                    "the chain is longer than a CA's pathLenConstraint allows"
                )
            }
            ChainError::NameConstraintViolation => {
                write!(
                    f,
                    "a name in the certificate is outside a CA's name constraints"
                )
            }
            ChainError::TooManyIntermediates { presented, max } => write!(
                f,
                "the chain carries {presented} intermediate certificates; at most {max} are considered"
            ),
            ChainError::SameNameIntermediates { name, count, max } => write!(
                f,
                "{count} intermediate certificates in the chain are named '{name}'; at most {max} may share a name (a CA and its cross-signed twin)"
            ),
            ChainError::TooComplex => write!(
                f,
                "the chain is too tangled to verify within the path-building budget"
            ),
            ChainError::Revoked {
                cert,
                serial,
                revoked_at,
                reason,
            } => write!(
                f,
                "'{cert}' (serial {serial}) was revoked on {} (reason: {reason})",
                crate::time_fmt::rfc3339(*revoked_at)
            ),
            ChainError::RevocationUnavailable { cert, why } => {
                write!(f, "the revocation status of '{cert}' is unavailable: {why}")
            }
            ChainError::Other { reason } => write!(f, "the chain does not verify: {reason}"),
        }
    }
}

impl std::error::Error for ChainError {}

impl ChainError {
    /// A one-line fix.
    pub fn hint(&self) -> String {
        match self {
            ChainError::NoAnchors => "pass the CA certificate with --ca".into(),
            ChainError::MissingIntermediate { issuer, .. } => format!(
                "append the '{issuer}' certificate after the leaf in the certificate file (or pass it with --chain)"
            ),
            ChainError::UnknownCa { issuer, .. } => format!(
                "use the CA file that holds '{issuer}' (or its root), or, if '{issuer}' is an intermediate, add it after the leaf"
            ),
            ChainError::UntrustedRoot { is_leaf: true, .. } => {
                "add this certificate itself to the trust store (or pass it as --ca)".into()
            }
            ChainError::UntrustedRoot { root, .. } => format!("add '{root}' to the CA file"),
            ChainError::AnchorNotCa { .. } => {
                "pass the certificate of the CA that issued the leaf (basicConstraints CA:TRUE) with --ca".into()
            }
            ChainError::BadSignature { issuer, .. } => format!(
                "get the current '{issuer}' certificate, or re-issue the certificate from the CA you trust"
            ),
            ChainError::Expired { cert, .. } => format!("renew '{cert}' and deploy the new chain"),
            ChainError::NotYetValid { .. } => {
                "check the clocks of the issuing CA and of this machine, or wait until it becomes valid".into()
            }
            ChainError::AnchorExpired { .. } => {
                "create a new CA certificate (`certbound pki init`) and re-issue the certificates under it".into()
            }
            ChainError::EkuNotAllowed { usage, .. } => format!(
                "issue a certificate whose extended key usage includes {}",
                usage.eku_word()
            ),
            ChainError::CaAsLeaf { .. } => {
                "check the leaf certificate, not the CA: pass the client or server certificate as CERT".into()
            }
            ChainError::IssuerNotCa { .. } => {
                "issue certificates from a CA certificate (`certbound pki init`)".into()
            }
            ChainError::UnsupportedSignature { .. } => {
                "re-issue the certificate with a SHA-256 (or stronger) signature".into()
            }
            ChainError::PathLenExceeded | ChainError::NameConstraintViolation => {
                "issue the certificate from a CA whose constraints allow it".into()
            }
            ChainError::TooManyIntermediates { .. }
            | ChainError::SameNameIntermediates { .. }
            | ChainError::TooComplex => {
                "send the leaf and only the intermediates between it and the CA (usually one or two), each once".into()
            }
            ChainError::Revoked { .. } => {
                "the CA took its trust back: use a newly issued certificate (`certbound pki issue`)".into()
            }
            ChainError::RevocationUnavailable { .. } => {
                "publish a current CRL (`certbound pki crl`) and replace the file named in [revocation] crl_files (or --crl)".into()
            }
            ChainError::Other { .. } => {
                "inspect the chain with `openssl verify -CAfile CA -untrusted CHAIN CERT`".into()
            }
        }
    }

    /// A stable short code, for JSON and logs.
    pub fn code(&self) -> &'static str {
        match self {
            ChainError::NoAnchors => "no_anchors",
            ChainError::MissingIntermediate { .. } => "missing_intermediate",
            ChainError::UnknownCa { .. } => "unknown_ca",
            ChainError::UntrustedRoot { .. } => "untrusted_root",
            ChainError::AnchorNotCa { .. } => "anchor_not_ca",
            ChainError::BadSignature { .. } => "bad_signature",
            ChainError::Expired { .. } => "expired",
            ChainError::NotYetValid { .. } => "not_yet_valid",
            ChainError::AnchorExpired { .. } => "anchor_expired",
            ChainError::EkuNotAllowed { .. } => "eku_not_allowed",
            ChainError::CaAsLeaf { .. } => "ca_as_leaf",
            ChainError::IssuerNotCa { .. } => "issuer_not_ca",
            ChainError::UnsupportedSignature { .. } => "unsupported_signature",
            ChainError::PathLenExceeded => "path_len_exceeded",
            ChainError::NameConstraintViolation => "name_constraint_violation",
            ChainError::TooManyIntermediates { .. } => "too_many_intermediates",
            ChainError::SameNameIntermediates { .. } => "same_name_intermediates",
            ChainError::Revoked { .. } => "revoked",
            ChainError::RevocationUnavailable { .. } => "revocation_unavailable",
            ChainError::TooComplex => "too_complex",
            ChainError::Other { .. } => "other",
        }
    }
}

fn quote_list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Convert a time for webpki.
pub fn unix_time(t: OffsetDateTime) -> UnixTime {
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(t.unix_timestamp()).unwrap_or(0),
    ))
}

/// Most intermediates a presented chain may carry once duplicates are
/// removed. Real chains carry one to three; rustls-webpki tries every order of
/// same-named candidates, so each one more multiplies what a peer can make the
/// server search.
pub const MAX_INTERMEDIATES: usize = 8;

/// Most presented intermediates that may share one subject name: a CA and its
/// cross-signed twin.
pub const MAX_SAME_NAME: usize = 2;

/// The presented intermediates worth a path search: duplicates and copies of
/// the leaf removed, refused when more than [`MAX_INTERMEDIATES`] remain or
/// more than [`MAX_SAME_NAME`] share a subject name. This bounds the work a
/// peer can cause before any signature is checked.
pub fn screen_intermediates<'a>(
    leaf: &[u8],
    intermediates: &[CertificateDer<'a>],
) -> Result<Vec<CertificateDer<'a>>, ChainError> {
    let mut kept: Vec<CertificateDer<'a>> =
        Vec::with_capacity(intermediates.len().min(MAX_INTERMEDIATES));
    for c in intermediates {
        if c.as_ref() == leaf || kept.iter().any(|k| k.as_ref() == c.as_ref()) {
            continue;
        }
        if kept.len() == MAX_INTERMEDIATES {
            return Err(ChainError::TooManyIntermediates {
                presented: intermediates.len(),
                max: MAX_INTERMEDIATES,
            });
        }
        kept.push(c.clone());
    }
    if kept.len() > MAX_SAME_NAME {
        let parsed: Vec<_> = kept
            .iter()
            .filter_map(|c| x509_parser::parse_x509_certificate(c).ok().map(|(_, p)| p))
            .collect();
        for p in &parsed {
            let name = p.tbs_certificate.subject.as_raw();
            let count = parsed
                .iter()
                .filter(|q| q.tbs_certificate.subject.as_raw() == name)
                .count();
            if count > MAX_SAME_NAME {
                return Err(ChainError::SameNameIntermediates {
                    name: crate::dn::DistinguishedName::from_x509(&p.tbs_certificate.subject)
                        .to_string(),
                    count,
                    max: MAX_SAME_NAME,
                });
            }
        }
    }
    Ok(kept)
}

/// Whether webpki gave up on its path-building budget rather than judging the chain.
pub(crate) fn is_budget_error(e: &webpki::Error) -> bool {
    matches!(
        e,
        webpki::Error::MaximumPathBuildCallsExceeded
            | webpki::Error::MaximumSignatureChecksExceeded
            | webpki::Error::MaximumNameConstraintComparisonsExceeded
            | webpki::Error::MaximumPathDepthExceeded
    )
}

/// Verify `leaf` (with `intermediates`) to one of `anchors` at `now` for `usage`.
pub fn verify(
    leaf: &CertDer,
    intermediates: &[CertDer],
    anchors: &[CertDer],
    usage: Usage,
    now: OffsetDateTime,
) -> Result<VerifiedChain, ChainError> {
    verify_checked(leaf, intermediates, anchors, usage, now, None)
}

/// [`verify`], and with `revocation` every certificate of the path (leaf and
/// intermediates) checked against it.
pub fn verify_checked(
    leaf: &CertDer,
    intermediates: &[CertDer],
    anchors: &[CertDer],
    usage: Usage,
    now: OffsetDateTime,
    revocation: Option<&RevocationCheck>,
) -> Result<VerifiedChain, ChainError> {
    if anchors.is_empty() {
        return Err(ChainError::NoAnchors);
    }
    let intermediates = &screen_intermediates(leaf, intermediates)?[..];
    let leaf_info = info(leaf)?;
    let anchor_infos: Vec<CertInfo> = anchors
        .iter()
        .filter_map(|a| CertInfo::from_der(a).ok())
        .collect();
    let (trust_anchors, usable_anchors): (Vec<_>, Vec<CertDer>) = anchors
        .iter()
        .filter_map(|a| Some((webpki::anchor_from_trusted_cert(a).ok()?, a.clone())))
        .unzip();
    if trust_anchors.is_empty() {
        return Err(ChainError::Other {
            reason: "no certificate in the CA file can serve as a trust anchor".into(),
        });
    }
    let ee = EndEntityCert::try_from(leaf).map_err(|e| ChainError::Other {
        reason: format!(
            "the certificate cannot be used as an end entity: {}",
            webpki_reason(&e)
        ),
    })?;
    let time = unix_time(now);
    let run = |rev: Option<webpki::RevocationOptions<'_>>| match usage.eku_oid() {
        None => ee
            .verify_for_usage(
                SUPPORTED_SIG_ALGS,
                &trust_anchors,
                intermediates,
                time,
                AnyUsage,
                rev,
                None,
            )
            .map(|p| path_with_anchor(&p, &trust_anchors, &usable_anchors)),
        Some(_) => {
            let ku = match usage {
                Usage::Client => webpki::KeyUsage::client_auth(),
                _ => webpki::KeyUsage::server_auth(),
            };
            ee.verify_for_usage(
                SUPPORTED_SIG_ALGS,
                &trust_anchors,
                intermediates,
                time,
                ku,
                rev,
                None,
            )
            .map(|p| path_with_anchor(&p, &trust_anchors, &usable_anchors))
        }
    };
    let crl_refs = revocation
        .map(RevocationCheck::crl_refs)
        .unwrap_or_default();
    let rev = revocation.and_then(|r| r.options(&crl_refs));
    let mut result = run(rev);
    if let (Err(e), Some(check)) = (&result, revocation)
        && crate::revocation::is_revocation_error(e)
    {
        // The chain itself verifies: say which certificate of it is refused and why.
        if let Ok(path) = run(None) {
            return Err(check.explain(e, &path, now));
        }
        result = run(None);
    }
    let certs = match result {
        Ok(mut certs) => {
            certs.pop();
            certs
        }
        Err(e) => {
            let ctx = Diagnosis {
                leaf_der: leaf,
                leaf: &leaf_info,
                intermediates,
                inter_infos: intermediates
                    .iter()
                    .filter_map(|c| CertInfo::from_der(c).ok())
                    .collect(),
                anchors,
                anchor_infos: &anchor_infos,
            };
            return Err(diagnose(&e, &ctx, usage, now));
        }
    };
    // The path is leaf + intermediates; find the anchor that signed its top.
    let top = certs.last().unwrap_or(leaf);
    let top_info = info(top)?;
    let anchor = anchors
        .iter()
        .zip(&anchor_infos)
        .position(|(a, ai)| ai.subject_raw == top_info.issuer_raw && signed_by(top, a))
        .or_else(|| anchors.iter().position(|a| a.as_ref() == top.as_ref()))
        .unwrap_or(0);
    let anchor_info = &anchor_infos[anchor.min(anchor_infos.len().saturating_sub(1))];
    if now > anchor_info.not_after {
        return Err(ChainError::AnchorExpired {
            anchor: anchor_info.display_name().to_string(),
            not_after: anchor_info.not_after,
            now,
        });
    }
    let mut path: Vec<String> = certs
        .iter()
        .map(|c| {
            info(c)
                .map(|i| i.display_name().to_string())
                .unwrap_or_default()
        })
        .collect();
    if anchors[anchor].as_ref() != top.as_ref() {
        path.push(anchor_info.display_name().to_string());
    }
    Ok(VerifiedChain {
        path,
        anchor,
        certs,
    })
}

/// The certificates of a verified path, leaf first, then the certificate of
/// the anchor reached (from `anchor_certs`, in the order of `anchors`; empty
/// when it cannot be told).
pub(crate) fn path_with_anchor(
    path: &webpki::VerifiedPath<'_>,
    anchors: &[rustls_pki_types::TrustAnchor<'_>],
    anchor_certs: &[CertDer],
) -> Vec<CertDer> {
    let mut certs = vec![CertificateDer::from(path.end_entity().der().to_vec())];
    certs.extend(
        path.intermediate_certificates()
            .map(|c| CertificateDer::from(c.der().to_vec())),
    );
    let reached = path.anchor();
    let anchor = anchors
        .iter()
        .position(|a| {
            a.subject_public_key_info == reached.subject_public_key_info
                && a.subject == reached.subject
        })
        .and_then(|i| anchor_certs.get(i).cloned())
        .unwrap_or_else(|| CertificateDer::from(Vec::new()));
    certs.push(anchor);
    certs
}

fn info(der: &CertDer) -> Result<CertInfo, ChainError> {
    CertInfo::from_der(der).map_err(|e| ChainError::Other {
        reason: e.to_string(),
    })
}

/// The certificates at hand when explaining a failure.
struct Diagnosis<'a> {
    leaf_der: &'a [u8],
    leaf: &'a CertInfo,
    intermediates: &'a [CertDer],
    inter_infos: Vec<CertInfo>,
    anchors: &'a [CertDer],
    anchor_infos: &'a [CertInfo],
}

/// Explain webpki's verdict in terms of the certificates at hand.
fn diagnose(
    err: &webpki::Error,
    ctx: &Diagnosis<'_>,
    usage: Usage,
    now: OffsetDateTime,
) -> ChainError {
    let leaf = ctx.leaf;
    let inter_infos = &ctx.inter_infos;
    let anchor_infos = ctx.anchor_infos;
    let on_path = || std::iter::once(leaf).chain(inter_infos.iter());
    use webpki::Error as E;
    match err {
        E::CertExpired { not_after, .. } => {
            let secs = not_after.as_secs() as i64;
            let cert = on_path()
                .find(|c| c.not_after.unix_timestamp() == secs)
                .unwrap_or(leaf);
            ChainError::Expired {
                cert: cert.display_name().to_string(),
                not_after: cert.not_after,
                now,
            }
        }
        E::CertNotValidYet { not_before, .. } => {
            let secs = not_before.as_secs() as i64;
            let cert = on_path()
                .find(|c| c.not_before.unix_timestamp() == secs)
                .unwrap_or(leaf);
            ChainError::NotYetValid {
                cert: cert.display_name().to_string(),
                not_before: cert.not_before,
                now,
            }
        }
        E::CaUsedAsEndEntity => ChainError::CaAsLeaf {
            cert: leaf.display_name().to_string(),
        },
        E::RequiredEkuNotFoundContext(_) => {
            let eku = usage.eku_oid().unwrap_or_default();
            let cert = on_path()
                .find(|c| c.extended_key_usage.is_some() && !c.has_eku(eku))
                .unwrap_or(leaf);
            ChainError::EkuNotAllowed {
                cert: cert.display_name().to_string(),
                usage,
            }
        }
        E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            let cert = on_path().find(|c| c.weak_signature).unwrap_or(leaf);
            ChainError::UnsupportedSignature {
                cert: cert.display_name().to_string(),
                algorithm: cert.signature_algorithm.clone(),
            }
        }
        e if is_budget_error(e) => ChainError::TooComplex,
        E::PathLenConstraintViolated => ChainError::PathLenExceeded,
        E::NameConstraintViolation => ChainError::NameConstraintViolation,
        E::EndEntityUsedAsCa => {
            let issuer = inter_infos
                .iter()
                .chain(anchor_infos.iter())
                .find(|c| !c.is_ca && c.subject_raw == leaf.issuer_raw)
                .map_or_else(|| leaf.issuer.clone(), |c| c.display_name().to_string());
            ChainError::IssuerNotCa { issuer }
        }
        E::UnknownIssuer | E::InvalidSignatureForPublicKey => walk_names(ctx, err),
        other => ChainError::Other {
            reason: webpki_reason(other),
        },
    }
}

/// Follow issuer names from the leaf to find where the chain breaks.
fn walk_names(ctx: &Diagnosis<'_>, err: &webpki::Error) -> ChainError {
    let mut current = ctx.leaf;
    let mut current_der: &[u8] = ctx.leaf_der;
    for _depth in 0..8 {
        let named_anchors: Vec<usize> = (0..ctx.anchor_infos.len())
            .filter(|&i| ctx.anchor_infos[i].subject_raw == current.issuer_raw)
            .collect();
        if let Some(&first) = named_anchors.first() {
            if named_anchors
                .iter()
                .any(|&i| signed_by(current_der, &ctx.anchors[i]))
            {
                // Names and signature line up: webpki refused for another reason.
                return ChainError::Other {
                    reason: webpki_reason(err),
                };
            }
            return ChainError::BadSignature {
                cert: current.display_name().to_string(),
                issuer: ctx.anchor_infos[first].display_name().to_string(),
                other_key: other_key(current, &ctx.anchor_infos[first]),
            };
        }
        let candidates: Vec<usize> = (0..ctx.inter_infos.len())
            .filter(|&i| {
                ctx.inter_infos[i].subject_raw == current.issuer_raw
                    && ctx.inter_infos[i].subject_raw != current.subject_raw
            })
            .collect();
        if let Some(&next) = candidates
            .iter()
            .find(|&&i| signed_by(current_der, &ctx.intermediates[i]))
        {
            current = &ctx.inter_infos[next];
            current_der = &ctx.intermediates[next];
            continue;
        }
        if let Some(&first) = candidates.first() {
            return ChainError::BadSignature {
                cert: current.display_name().to_string(),
                issuer: ctx.inter_infos[first].display_name().to_string(),
                other_key: other_key(current, &ctx.inter_infos[first]),
            };
        }
        if current.self_signed {
            return ChainError::UntrustedRoot {
                root: current.display_name().to_string(),
                is_leaf: std::ptr::eq(current, ctx.leaf),
            };
        }
        if !ctx.anchor_infos.iter().any(|a| a.is_ca || a.self_signed) {
            let subject = ctx
                .anchor_infos
                .first()
                .map_or_else(String::new, |a| a.display_name().to_string());
            return ChainError::AnchorNotCa { subject };
        }
        let issuer = current.issuer_display_name().to_string();
        if let Some(parent) = ctx.anchor_infos.iter().find(|a| {
            a.is_ca
                && a.organizations
                    .iter()
                    .any(|o| current.issuer_organizations.contains(o))
        }) {
            return ChainError::MissingIntermediate {
                cert: current.display_name().to_string(),
                issuer,
                likely_parent: parent.display_name().to_string(),
            };
        }
        return ChainError::UnknownCa {
            cert: current.display_name().to_string(),
            issuer,
            anchors: ctx
                .anchor_infos
                .iter()
                .map(|a| a.display_name().to_string())
                .collect(),
        };
    }
    ChainError::Other {
        reason: webpki_reason(err),
    }
}

/// Whether `issuer`'s key made the signature on `child`, checked with webpki's
/// signature primitives for the algorithm `child` names.
pub fn signed_by(child: &[u8], issuer: &[u8]) -> bool {
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(child) else {
        return false;
    };
    signature_verifies(
        parsed.signature_algorithm.algorithm.as_bytes(),
        parsed.tbs_certificate.as_ref(),
        parsed.signature_value.data.as_ref(),
        issuer,
    )
}

/// Whether the key identifiers show that `child` was issued by a key other
/// than `issuer`'s: both present and different.
fn other_key(child: &CertInfo, issuer: &CertInfo) -> bool {
    matches!(
        (&child.authority_key_id, &issuer.subject_key_id),
        (Some(a), Some(s)) if a != s
    )
}

/// Whether `issuer`'s key made `sig` over `tbs` with the algorithm whose OID
/// (content bytes) is `oid`: certificates and CRLs alike. The key is taken
/// from the issuer's SubjectPublicKeyInfo alone, so that an issuer whose
/// other extensions webpki would refuse (an odd critical extension on a
/// root) still has its signatures checked for what they are.
pub(crate) fn signature_verifies(oid: &[u8], tbs: &[u8], sig: &[u8], issuer: &[u8]) -> bool {
    let Ok((_, issuer)) = x509_parser::parse_x509_certificate(issuer) else {
        return false;
    };
    let spki = issuer.public_key();
    let Some(alg_id) = der_content(spki.raw).and_then(der_content) else {
        return false;
    };
    let key = spki.subject_public_key.data.as_ref();
    let mut oid_tlv = Vec::with_capacity(oid.len() + 2);
    oid_tlv.push(0x06);
    oid_tlv.push(oid.len() as u8);
    oid_tlv.extend_from_slice(oid);
    SUPPORTED_SIG_ALGS
        .iter()
        .filter(|alg| alg.signature_alg_id().as_ref().starts_with(&oid_tlv))
        .filter(|alg| alg.public_key_alg_id().as_ref() == alg_id)
        .any(|alg| alg.verify_signature(key, tbs, sig).is_ok())
}

/// The content of the first DER element of `der` (its tag and length
/// skipped): for SubjectPublicKeyInfo, then for its AlgorithmIdentifier.
fn der_content(der: &[u8]) -> Option<&[u8]> {
    let (&len0, rest) = der.get(1..)?.split_first()?;
    let (len, rest) = if len0 < 0x80 {
        (usize::from(len0), rest)
    } else {
        let n = usize::from(len0 & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let len = rest
            .get(..n)?
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    rest.get(..len)
}

/// webpki's errors in words (its Display is Debug-shaped).
pub fn webpki_reason(e: &webpki::Error) -> String {
    use webpki::Error as E;
    match e {
        E::BadDer | E::BadDerTime => "the certificate's DER encoding is invalid".into(),
        E::UnsupportedCertVersion => "only X.509 version 3 certificates are supported".into(),
        E::UnsupportedCriticalExtension => {
            "the certificate has a critical extension that is not understood".into()
        }
        E::ExtensionValueInvalid | E::MalformedExtensions => {
            "an extension of the certificate is malformed".into()
        }
        E::InvalidCertValidity => "the certificate's notAfter is before its notBefore".into(),
        E::MaximumPathDepthExceeded
        | E::MaximumPathBuildCallsExceeded
        | E::MaximumSignatureChecksExceeded => {
            "the chain is too long or too tangled to verify".into()
        }
        E::UnknownIssuer => "no trusted issuer was found".into(),
        E::InvalidSignatureForPublicKey => "a signature does not verify".into(),
        E::CertRevoked => "a certificate in the chain is revoked".into(),
        E::EmptyEkuExtension => "the extended key usage extension is empty".into(),
        other => format!("{other:?}").chars().take(120).collect(),
    }
}

#[cfg(test)]
mod tests;
