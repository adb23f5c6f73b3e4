//! Verifying a CA certificate (an intermediate, or a root) to a CA file, as
//! `certbound check intermediate.crt --ca ca.crt` asks. webpki verifies end
//! entities only, so this walks the issuer names itself: each step needs the
//! issuer's name, its signature (webpki's primitives, as [`signed_by`]), a CA
//! issuer, and a validity period that covers `now`. Path-length and name
//! constraints are not evaluated here; they bind the leaves these CAs issue,
//! which `verify` checks with webpki.

use time::OffsetDateTime;

use super::{ChainError, Diagnosis, VerifiedChain, info, signed_by, walk_names};
use crate::CertDer;
use crate::inspect::CertInfo;

/// How many CAs may stand between the certificate and the CA file.
const MAX_DEPTH: usize = 8;

/// Verify the CA certificate `cert` (with `intermediates`) to one of
/// `anchors` at `now`. A certificate that is itself in the CA file verifies
/// to itself.
pub fn verify_ca(
    cert: &CertDer,
    intermediates: &[CertDer],
    anchors: &[CertDer],
    now: OffsetDateTime,
) -> Result<VerifiedChain, ChainError> {
    if anchors.is_empty() {
        return Err(ChainError::NoAnchors);
    }
    let cert_info = info(cert)?;
    let anchor_infos: Vec<CertInfo> = anchors
        .iter()
        .filter_map(|a| CertInfo::from_der(a).ok())
        .collect();
    if anchor_infos.len() != anchors.len() {
        return Err(ChainError::Other {
            reason: "a certificate in the CA file cannot be parsed".into(),
        });
    }
    if let Some(i) = anchors.iter().position(|a| a.as_ref() == cert.as_ref()) {
        within_validity(&cert_info, now)?;
        return Ok(VerifiedChain {
            path: vec![cert_info.display_name().to_string()],
            anchor: i,
            certs: vec![cert.clone()],
        });
    }
    let inter_infos: Vec<CertInfo> = intermediates
        .iter()
        .filter_map(|c| CertInfo::from_der(c).ok())
        .collect();
    let mut certs = vec![cert.clone()];
    let mut path = vec![cert_info.display_name().to_string()];
    let (mut current, mut current_der) = (&cert_info, cert);
    for _ in 0..MAX_DEPTH {
        within_validity(current, now)?;
        let issued_by = |candidate: &CertInfo, der: &CertDer| {
            candidate.subject_raw == current.issuer_raw && signed_by(current_der, der)
        };
        if let Some(i) = (0..anchors.len()).find(|&i| issued_by(&anchor_infos[i], &anchors[i])) {
            let anchor = &anchor_infos[i];
            if !anchor.is_ca {
                return Err(ChainError::IssuerNotCa {
                    issuer: anchor.display_name().to_string(),
                });
            }
            if now > anchor.not_after {
                return Err(ChainError::AnchorExpired {
                    anchor: anchor.display_name().to_string(),
                    not_after: anchor.not_after,
                    now,
                });
            }
            path.push(anchor.display_name().to_string());
            return Ok(VerifiedChain {
                path,
                anchor: i,
                certs,
            });
        }
        let next = (0..inter_infos.len()).find(|&i| {
            inter_infos[i].subject_raw != current.subject_raw
                && issued_by(&inter_infos[i], &intermediates[i])
        });
        let Some(next) = next else { break };
        if !inter_infos[next].is_ca {
            return Err(ChainError::IssuerNotCa {
                issuer: inter_infos[next].display_name().to_string(),
            });
        }
        current = &inter_infos[next];
        current_der = &intermediates[next];
        certs.push(current_der.clone());
        path.push(current.display_name().to_string());
    }
    // The walk found no trusted issuer: explain it as for a leaf.
    let ctx = Diagnosis {
        leaf_der: cert,
        leaf: &cert_info,
        intermediates,
        inter_infos,
        anchors,
        anchor_infos: &anchor_infos,
    };
    Err(walk_names(&ctx, &webpki::Error::UnknownIssuer))
}

fn within_validity(c: &CertInfo, now: OffsetDateTime) -> Result<(), ChainError> {
    let cert = c.display_name().to_string();
    if now > c.not_after {
        return Err(ChainError::Expired {
            cert,
            not_after: c.not_after,
            now,
        });
    }
    if now < c.not_before {
        return Err(ChainError::NotYetValid {
            cert,
            not_before: c.not_before,
            now,
        });
    }
    Ok(())
}
