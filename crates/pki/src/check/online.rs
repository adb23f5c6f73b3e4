//! `certbound check --online`: which certificates of the chain to ask about
//! (each with its issuer and the responders it names), and the checklist
//! line for each answer. The asking itself (HTTP) is the caller's: this crate
//! does no I/O.

use time::OffsetDateTime;

use super::{Check, Report, Status};
use crate::CertDer;
use crate::inspect::CertInfo;
use crate::ocsp::{self, OcspAnswer, OcspStatus, Signer};
use crate::time_fmt::{date, relative};

/// At most this many certificates are followed up the chain.
const MAX_DEPTH: usize = 10;

/// A certificate to ask about: the certificate, its issuer when found, and
/// the OCSP responders its AIA names.
#[derive(Debug, Clone)]
pub struct Target {
    pub cert: CertDer,
    pub issuer: Option<CertDer>,
    /// Its subject as printed.
    pub name: String,
    pub serial: String,
    pub ocsp_urls: Vec<String>,
    pub crl_urls: Vec<String>,
}

/// The leaf and each intermediate above it, each paired with the
/// certificate that issued it (a name match whose key verifies the
/// signature), found among `intermediates` and `anchors`. The walk stops at a
/// self-signed certificate or an anchor (an anchor is trusted as given, so it
/// is not asked about), or where no issuer is found.
pub fn targets(leaf: &CertDer, intermediates: &[CertDer], anchors: &[CertDer]) -> Vec<Target> {
    let mut out = Vec::new();
    let mut current = leaf.clone();
    for _ in 0..MAX_DEPTH {
        let Ok(info) = CertInfo::from_der(&current) else {
            break;
        };
        if info.self_signed || anchors.iter().any(|a| a.as_ref() == current.as_ref()) {
            break;
        }
        let issuer = intermediates
            .iter()
            .chain(anchors)
            .find(|c| ocsp::issued_by(&current, c))
            .cloned();
        out.push(Target {
            name: info.subject.clone(),
            serial: info.serial.clone(),
            ocsp_urls: ocsp::responder_urls(&current),
            crl_urls: ocsp::crl_urls(&current),
            cert: current.clone(),
            issuer: issuer.clone(),
        });
        match issuer {
            Some(i) if !out.iter().any(|t: &Target| t.cert.as_ref() == i.as_ref()) => current = i,
            _ => break,
        }
    }
    out
}

/// What asking a certificate's OCSP responder gave.
#[derive(Debug, Clone)]
pub enum OcspLookup {
    /// A believed answer from `url`.
    Answer { url: String, answer: OcspAnswer },
    /// The certificate names no responder.
    NoResponder,
    /// Its issuer is not among the certificates given, so no request can be made.
    NoIssuer,
    /// The responder could not be asked (unreachable, timeout, HTTP error).
    Unavailable { message: String },
    /// The answer was not believed (signature, signer, dates, malformed).
    Refused { message: String },
}

/// The `ocsp` line for one certificate.
pub fn ocsp_check(target: &Target, lookup: &OcspLookup, now: OffsetDateTime) -> Check {
    let who = format!("{} (serial {})", target.name, target.serial);
    match lookup {
        OcspLookup::Answer { url, answer } => {
            let by = match &answer.signer {
                Signer::Issuer => String::new(),
                Signer::Delegated(s) => format!(", signed by its delegated responder {s}"),
            };
            match answer.status {
                OcspStatus::Good { next_update } => Check::new(
                    "ocsp",
                    Status::Pass,
                    format!(
                        "{who}: good according to {url}{by} (answer valid until {}, {})",
                        date(next_update),
                        relative(now, next_update)
                    ),
                ),
                OcspStatus::Revoked { at, reason } => Check::new(
                    "ocsp",
                    Status::Fail,
                    format!(
                        "{who} was REVOKED on {} ({}), reason: {}, according to {url}{by}",
                        crate::time_fmt::rfc3339(at),
                        relative(now, at),
                        reason.map_or("not given", |r| r.name())
                    ),
                )
                .hint("the CA has withdrawn this certificate: get a new one issued (and find out why, if the reason is keyCompromise)"),
                OcspStatus::Unknown => Check::new(
                    "ocsp",
                    Status::Fail,
                    format!("{who}: the responder {url} does not know this certificate (status unknown)"),
                )
                .hint("the responder does not answer for this certificate: ask the CA's operator whether it was issued by them"),
            }
        }
        OcspLookup::NoResponder => Check::new(
            "ocsp",
            Status::Info,
            format!("{who} names no OCSP responder (no AIA OCSP URL); not checked online"),
        ),
        OcspLookup::NoIssuer => Check::new(
            "ocsp",
            Status::Skip,
            format!("{who}: its issuer is not among the certificates given, so its responder cannot be asked"),
        )
        .hint("pass the issuing CA with --ca (and intermediates with --chain)"),
        OcspLookup::Unavailable { message } => Check::new(
            "ocsp",
            Status::Warn,
            format!("{who}: no answer: {message}"),
        )
        .hint("revocation could not be checked: try again, or ask the CA's operator whether its OCSP responder is up"),
        OcspLookup::Refused { message } => Check::new(
            "ocsp",
            Status::Fail,
            format!("{who}: {message}"),
        )
        .hint(
            "the responder's answer cannot be trusted: ask the CA's operator to check its OCSP responder and its signing certificate",
        ),
    }
}

/// The `revocation` line for a CRL Distribution Point that could not be
/// fetched (`message` names the URL and why).
pub fn crl_unavailable(message: String) -> Check {
    Check::new("revocation", Status::Warn, format!("no CRL: {message}"))
        .hint("revocation could not be checked by CRL: try again, or ask the CA's operator whether its CRL is published")
}

/// Append the online checks to a report; it fails if one of them does.
pub fn add(report: &mut Report, checks: impl IntoIterator<Item = Check>) {
    report.checks.extend(checks);
    report.ok = !report.checks.iter().any(|c| c.status == Status::Fail);
}

#[cfg(test)]
mod tests {
    use certbound_testkit::pki::{Ca, LeafOptions, NOW};
    use time::Duration;

    use super::*;

    #[test]
    fn targets_walk_up_to_the_anchor() {
        let root = Ca::root("Online Root", "certbound tests");
        let inter = root.intermediate("Online Intermediate", "certbound tests");
        let leaf = inter.issue(&LeafOptions::client("partner")).cert;
        let t = targets(
            &leaf,
            std::slice::from_ref(&inter.cert),
            std::slice::from_ref(&root.cert),
        );
        assert_eq!(t.len(), 2);
        assert!(t[0].name.contains("partner"));
        assert_eq!(t[0].issuer.as_deref(), Some(inter.cert.as_ref()));
        assert_eq!(t[1].issuer.as_deref(), Some(root.cert.as_ref()));
        // Without the root: the intermediate is asked about without an issuer.
        let t = targets(&leaf, std::slice::from_ref(&inter.cert), &[]);
        assert_eq!(t.len(), 2);
        assert!(t[1].issuer.is_none());
        // An impostor with the right name but another key is no issuer.
        let impostor = Ca::root("Online Intermediate", "certbound tests");
        let t = targets(&leaf, &[], std::slice::from_ref(&impostor.cert));
        assert_eq!(t.len(), 1);
        assert!(t[0].issuer.is_none());
    }

    #[test]
    fn lines_say_what_was_found() {
        let root = Ca::root("Online Root", "certbound tests");
        let leaf = root.issue(&LeafOptions::client("partner")).cert;
        let t = &targets(&leaf, &[], std::slice::from_ref(&root.cert))[0];
        let answer = |status| OcspLookup::Answer {
            url: "http://127.0.0.1:1/".into(),
            answer: OcspAnswer {
                status,
                this_update: NOW,
                valid_until: NOW + Duration::days(1),
                produced_at: NOW,
                signer: Signer::Issuer,
            },
        };
        let good = ocsp_check(
            t,
            &answer(OcspStatus::Good {
                next_update: NOW + Duration::days(1),
            }),
            NOW,
        );
        assert_eq!(good.status, Status::Pass);
        let revoked = ocsp_check(
            t,
            &answer(OcspStatus::Revoked {
                at: NOW - Duration::days(3),
                reason: Some(ocsp::Reason::KeyCompromise),
            }),
            NOW,
        );
        assert_eq!(revoked.status, Status::Fail);
        assert!(
            revoked.message.contains("REVOKED on 2026-05-29"),
            "{}",
            revoked.message
        );
        assert!(
            revoked.message.contains("keyCompromise"),
            "{}",
            revoked.message
        );
        let down = ocsp_check(
            t,
            &OcspLookup::Unavailable {
                message: "x cannot be reached".into(),
            },
            NOW,
        );
        assert_eq!(down.status, Status::Warn);
        let refused = ocsp_check(
            t,
            &OcspLookup::Refused {
                message: "bad".into(),
            },
            NOW,
        );
        assert_eq!(refused.status, Status::Fail);
    }
}
