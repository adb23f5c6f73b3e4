//! Revocation asked of the sources that certificates name:
//! `[revocation] fetch_crl` (the CRL Distribution Points, [`crate::crl_fetch`])
//! and `[revocation] ocsp` (the AIA's OCSP responder, [`crate::ocsp`]).
//! They are asked after the chain verified, for each certificate of the
//! client's chain (leaf and intermediates, up to the anchor the client is
//! trusted by); the CRL files of `[revocation] crl_files` are checked during
//! verification ([`crate::crl`]).
//!
//! For each certificate, each source it names gives a verdict: a revocation
//! (or an OCSP "unknown") from any source refuses; a good answer from any
//! source vouches for it; when no source could answer, `[revocation]
//! unavailable` decides. Answers are cached, so a cached authentication does
//! not need to be kept from this: it is asked on every request.

use std::fmt;
use std::sync::Arc;

use certbound_pki::CertDer;
use certbound_pki::chain::ChainError;
use certbound_pki::check::online::{self, Target};
use certbound_pki::revocation::{Reason, Unavailable};
use certbound_pki::time_fmt::rfc3339;
use time::OffsetDateTime;

use crate::crl_fetch::CrlFetcher;
use crate::ocsp::OcspChecker;

/// Why a chain is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Revoked {
        subject: String,
        serial: String,
        at: OffsetDateTime,
        reason: Option<Reason>,
        /// Who says so: "the OCSP responder URL", "the CRL at URL".
        by: String,
    },
    /// The OCSP responder does not know the certificate.
    Unknown {
        subject: String,
        serial: String,
        url: String,
    },
    /// No current answer could be had and `unavailable = "fail"`.
    Unavailable {
        subject: String,
        serial: String,
        reason: String,
    },
}

impl Refusal {
    /// The audit reason.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Revoked { .. } => "certificate_revoked",
            Refusal::Unknown { .. } => "certificate_status_unknown",
            Refusal::Unavailable { .. } => "revocation_unavailable",
        }
    }

    fn outcome(&self) -> Outcome {
        match self {
            Refusal::Revoked { .. } => Outcome::Revoked,
            Refusal::Unknown { .. } => Outcome::Unknown,
            Refusal::Unavailable { .. } => Outcome::Unavailable,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Revoked {
                subject,
                serial,
                at,
                reason,
                by,
            } => write!(
                f,
                "certificate '{subject}' (serial {serial}) was revoked on {}, reason: {}, according to {by}",
                rfc3339(*at),
                reason.map_or("not given", Reason::name)
            ),
            Refusal::Unknown {
                subject,
                serial,
                url,
            } => write!(
                f,
                "the OCSP responder {url} does not know certificate '{subject}' (serial {serial})"
            ),
            Refusal::Unavailable {
                subject,
                serial,
                reason,
            } => write!(
                f,
                "no current revocation status for certificate '{subject}' (serial {serial}): {reason}; [revocation] unavailable = \"fail\" refuses it"
            ),
        }
    }
}

/// What one source says of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Good,
    /// Revoked, or unknown to its OCSP responder.
    Refused(Refusal),
    /// No current answer, and why.
    Unavailable(String),
}

/// The result of one certificate's check by one source, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Good,
    Revoked,
    Unknown,
    /// No answer; allowed by `unavailable = "allow"` or refused.
    Unavailable,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Good => "good",
            Outcome::Revoked => "revoked",
            Outcome::Unknown => "unknown",
            Outcome::Unavailable => "unavailable",
        }
    }
}

/// Where a verdict came from: the `source` label of
/// `certbound_revocation_checks_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A CRL fetched from a distribution point.
    CrlDp,
    Ocsp,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::CrlDp => "crl_dp",
            Source::Ocsp => "ocsp",
        }
    }
}

/// The sources `[revocation]` turned on, and its `unavailable`.
#[derive(Debug, Clone)]
pub struct Sources {
    pub crl: Option<Arc<CrlFetcher>>,
    pub ocsp: Option<Arc<OcspChecker>>,
    pub unavailable: Unavailable,
}

impl Sources {
    /// The sources of a `[revocation]` section; `None` when it asks none.
    pub fn new(fetch_crl: bool, ocsp: bool, unavailable: Unavailable) -> Option<Self> {
        (fetch_crl || ocsp).then(|| Self {
            crl: fetch_crl.then(CrlFetcher::new),
            ocsp: ocsp.then(OcspChecker::new),
            unavailable,
        })
    }

    /// Check the chain a client presented (leaf first) up to `anchors`, the
    /// CA certificates it is trusted by. Certificates that name no source
    /// that is on are not checked. Returns every verdict's source and
    /// outcome, or the first refusal with those before it.
    pub async fn check_chain(
        &self,
        chain: &[CertDer],
        anchors: &[CertDer],
    ) -> (Vec<(Source, Outcome)>, Result<(), Refusal>) {
        let mut outcomes = Vec::new();
        let Some((leaf, intermediates)) = chain.split_first() else {
            return (outcomes, Ok(()));
        };
        for target in online::targets(leaf, intermediates, anchors) {
            if let Err(refusal) = self.check_one(&target, &mut outcomes).await {
                return (outcomes, Err(refusal));
            }
        }
        (outcomes, Ok(()))
    }

    async fn check_one(
        &self,
        target: &Target,
        outcomes: &mut Vec<(Source, Outcome)>,
    ) -> Result<(), Refusal> {
        let mut asked = false;
        let mut vouched = false;
        let mut why = Vec::new();
        if let Some(crl) = self.crl.as_ref().filter(|_| !target.crl_urls.is_empty()) {
            asked = true;
            let verdict = crl.verdict(target).await;
            judge(Source::CrlDp, verdict, outcomes, &mut vouched, &mut why)?;
        }
        if let Some(ocsp) = self.ocsp.as_ref().filter(|_| !target.ocsp_urls.is_empty()) {
            asked = true;
            let verdict = ocsp.verdict(target).await;
            judge(Source::Ocsp, verdict, outcomes, &mut vouched, &mut why)?;
        }
        if !asked || vouched {
            return Ok(());
        }
        let reason = why.join("; ");
        match self.unavailable {
            Unavailable::Fail => Err(Refusal::Unavailable {
                subject: target.name.clone(),
                serial: target.serial.clone(),
                reason,
            }),
            Unavailable::Allow => {
                tracing::warn!(subject = %target.name, serial = %target.serial, %reason, "no revocation status; allowed by [revocation] unavailable = \"allow\"");
                Ok(())
            }
        }
    }
}

fn judge(
    source: Source,
    verdict: Verdict,
    outcomes: &mut Vec<(Source, Outcome)>,
    vouched: &mut bool,
    why: &mut Vec<String>,
) -> Result<(), Refusal> {
    match verdict {
        Verdict::Good => {
            outcomes.push((source, Outcome::Good));
            *vouched = true;
        }
        Verdict::Refused(refusal) => {
            outcomes.push((source, refusal.outcome()));
            return Err(refusal);
        }
        Verdict::Unavailable(reason) => {
            outcomes.push((source, Outcome::Unavailable));
            why.push(reason);
        }
    }
    Ok(())
}

/// Check a client's chain with `state`'s sources (a pass when none is on),
/// count each verdict (`certbound_revocation_checks_total`), and turn a
/// refusal into the chain error that CRL files give, so that the log, the
/// audit record and the client's `invalid_client` are the same whatever the
/// source.
pub(crate) async fn check(
    state: &crate::state::AppState,
    chain: &[CertDer],
    anchors: &[CertDer],
) -> Result<(), ChainError> {
    let Some(sources) = &state.online_revocation else {
        return Ok(());
    };
    let (outcomes, result) = sources.check_chain(chain, anchors).await;
    for (source, outcome) in outcomes {
        state
            .metrics
            .revocation_check(source.label(), outcome.label());
    }
    result.map_err(|refusal| {
        tracing::warn!(reason = %refusal, code = refusal.code(), "revocation check refused a client chain");
        match refusal {
            Refusal::Revoked {
                subject,
                serial,
                at,
                reason,
                ..
            } => ChainError::Revoked {
                cert: subject,
                serial,
                revoked_at: at,
                reason: reason.unwrap_or(Reason::Unspecified),
            },
            Refusal::Unknown { subject, url, .. } => ChainError::RevocationUnavailable {
                cert: subject,
                why: format!("the OCSP responder {url} does not know it (status unknown)"),
            },
            Refusal::Unavailable {
                subject, reason, ..
            } => ChainError::RevocationUnavailable {
                cert: subject,
                why: reason,
            },
        }
    })
}
