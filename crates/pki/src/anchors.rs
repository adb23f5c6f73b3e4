//! A set of trust anchors prepared once and verified against many times: the
//! CA certificates of a client's trust store, or a listener's `client_ca`.
//! The fast path is one rustls-webpki call; only a failure pays for the full
//! diagnosis of [`crate::chain::verify`].

use rustls_pki_types::TrustAnchor;
use time::OffsetDateTime;
use webpki::EndEntityCert;

use crate::CertDer;
use crate::chain::{self, ChainError, SUPPORTED_SIG_ALGS, Usage, unix_time};
use crate::inspect::CertInfo;
use crate::revocation::RevocationCheck;

/// CA certificates ready for verification.
#[derive(Debug, Clone)]
pub struct AnchorSet {
    certs: Vec<CertDer>,
    anchors: Vec<TrustAnchor<'static>>,
    /// End of validity of each anchor (webpki does not check anchors' dates).
    not_after: Vec<OffsetDateTime>,
    names: Vec<String>,
}

/// A certificate that cannot serve as a trust anchor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("certificate {index} cannot be a trust anchor: {reason}")]
pub struct AnchorError {
    /// 1-based position in the list given.
    pub index: usize,
    pub reason: String,
}

impl AnchorSet {
    /// Prepare `certs` as anchors.
    pub fn new(certs: Vec<CertDer>) -> Result<Self, AnchorError> {
        let mut anchors = Vec::with_capacity(certs.len());
        let mut not_after = Vec::with_capacity(certs.len());
        let mut names = Vec::with_capacity(certs.len());
        for (i, der) in certs.iter().enumerate() {
            let info = CertInfo::from_der(der).map_err(|e| AnchorError {
                index: i + 1,
                reason: e.to_string(),
            })?;
            let anchor = webpki::anchor_from_trusted_cert(der).map_err(|e| AnchorError {
                index: i + 1,
                reason: chain::webpki_reason(&e),
            })?;
            anchors.push(anchor.to_owned());
            not_after.push(info.not_after);
            names.push(info.display_name().to_string());
        }
        Ok(Self {
            certs,
            anchors,
            not_after,
            names,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    pub fn len(&self) -> usize {
        self.certs.len()
    }

    /// The anchor certificates.
    pub fn certs(&self) -> &[CertDer] {
        &self.certs
    }

    /// The anchors as webpki takes them (for rustls verifiers).
    pub fn trust_anchors(&self) -> &[TrustAnchor<'static>] {
        &self.anchors
    }

    /// Verify `chain` (leaf first, then intermediates as sent) to one of the
    /// anchors at `now`. Returns the name of the anchor reached.
    pub fn verify(
        &self,
        chain: &[CertDer],
        usage: Usage,
        now: OffsetDateTime,
    ) -> Result<&str, ChainError> {
        self.verify_checked(chain, usage, now, None)
    }

    /// [`Self::verify`], and with `revocation` every certificate of the path
    /// (leaf and intermediates) checked against it.
    pub fn verify_checked(
        &self,
        chain: &[CertDer],
        usage: Usage,
        now: OffsetDateTime,
        revocation: Option<&RevocationCheck>,
    ) -> Result<&str, ChainError> {
        let Some((leaf, intermediates)) = chain.split_first() else {
            return Err(ChainError::Other {
                reason: "no certificate was presented".into(),
            });
        };
        if self.anchors.is_empty() {
            return Err(ChainError::NoAnchors);
        }
        let intermediates = &chain::screen_intermediates(leaf, intermediates)?[..];
        let ku = match usage {
            Usage::Client => webpki::KeyUsage::client_auth(),
            Usage::Server => webpki::KeyUsage::server_auth(),
            // No EKU policy on the fast path: the full verification applies it.
            Usage::Any => return self.verify_slowly(leaf, intermediates, usage, now, revocation),
        };
        let Ok(ee) = EndEntityCert::try_from(leaf) else {
            return self.verify_slowly(leaf, intermediates, usage, now, revocation);
        };
        let crl_refs = revocation
            .map(RevocationCheck::crl_refs)
            .unwrap_or_default();
        let rev = revocation.and_then(|r| r.options(&crl_refs));
        let reached = match ee.verify_for_usage(
            SUPPORTED_SIG_ALGS,
            &self.anchors,
            intermediates,
            unix_time(now),
            ku,
            rev,
            None,
        ) {
            Ok(path) => {
                let reached = path.anchor();
                self.anchors.iter().position(|a| {
                    a.subject_public_key_info == reached.subject_public_key_info
                        && a.subject == reached.subject
                })
            }
            // A search that ran out of budget is never run a second time to explain it.
            Err(e) if chain::is_budget_error(&e) => return Err(ChainError::TooComplex),
            // The slow path tells which certificate is refused and why.
            Err(_) => None,
        };
        match reached {
            Some(i) if now <= self.not_after[i] => Ok(&self.names[i]),
            Some(i) => Err(ChainError::AnchorExpired {
                anchor: self.names[i].clone(),
                not_after: self.not_after[i],
                now,
            }),
            None => self.verify_slowly(leaf, intermediates, usage, now, revocation),
        }
    }

    /// The full verification, which explains a failure.
    fn verify_slowly(
        &self,
        leaf: &CertDer,
        intermediates: &[CertDer],
        usage: Usage,
        now: OffsetDateTime,
        revocation: Option<&RevocationCheck>,
    ) -> Result<&str, ChainError> {
        let v = chain::verify_checked(leaf, intermediates, &self.certs, usage, now, revocation)?;
        Ok(&self.names[v.anchor.min(self.names.len() - 1)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use certbound_testkit::{Ca, LeafOptions, NOW, TestPki};
    use time::macros::datetime;

    fn owned(c: &rustls_pki_types::CertificateDer<'_>) -> CertDer {
        c.clone().into_owned()
    }

    #[test]
    fn verifies_and_names_the_anchor() {
        let pki = TestPki::new();
        let set = AnchorSet::new(vec![owned(&pki.other_root.cert), owned(&pki.root.cert)]).unwrap();
        let leaf = pki.intermediate.issue(&LeafOptions::client("alice"));
        let chain = [owned(&leaf.cert), owned(&pki.intermediate.cert)];
        assert_eq!(
            set.verify(&chain, Usage::Client, NOW).unwrap(),
            "certbound Test Root CA"
        );
        // Without the intermediate: the diagnosis of the slow path.
        let e = set.verify(&chain[..1], Usage::Client, NOW).unwrap_err();
        assert!(matches!(e, ChainError::MissingIntermediate { .. }), "{e:?}");
        // Wrong usage.
        let server = pki.root.issue(&LeafOptions::server("api"));
        let e = set
            .verify(&[owned(&server.cert)], Usage::Client, NOW)
            .unwrap_err();
        assert!(matches!(e, ChainError::EkuNotAllowed { .. }), "{e:?}");
        assert!(set.verify(&[], Usage::Client, NOW).is_err());
    }

    #[test]
    fn an_intermediate_can_be_the_anchor() {
        let pki = TestPki::new();
        let set = AnchorSet::new(vec![owned(&pki.intermediate.cert)]).unwrap();
        let leaf = pki.intermediate.issue(&LeafOptions::client("alice"));
        assert!(set.verify(&[owned(&leaf.cert)], Usage::Client, NOW).is_ok());
    }

    #[test]
    fn expired_anchor_fails_on_the_fast_path() {
        let root = Ca::root_with("Short Root", "x", datetime!(2026-03-01 0:00 UTC));
        let set = AnchorSet::new(vec![owned(&root.cert)]).unwrap();
        let leaf = root.issue(&LeafOptions::client("alice"));
        let e = set
            .verify(&[owned(&leaf.cert)], Usage::Client, NOW)
            .unwrap_err();
        assert!(matches!(e, ChainError::AnchorExpired { .. }), "{e:?}");
    }

    #[test]
    fn a_ring_of_same_name_cas_is_refused_on_the_fast_path() {
        let pki = TestPki::new();
        let set = AnchorSet::new(vec![owned(&pki.root.cert)]).unwrap();
        for n in [3, 12, 51] {
            let (leaf, ring) = certbound_testkit::same_name_ring(n);
            let mut chain = vec![owned(&leaf.cert)];
            chain.extend(ring);
            let e = set.verify(&chain, Usage::Client, NOW).unwrap_err();
            assert!(
                matches!(
                    e,
                    ChainError::SameNameIntermediates { .. }
                        | ChainError::TooManyIntermediates { .. }
                ),
                "{n}: {e:?}"
            );
        }
    }

    #[test]
    fn garbage_cannot_be_an_anchor() {
        let e = AnchorSet::new(vec![CertDer::from(vec![1, 2, 3])]).unwrap_err();
        assert_eq!(e.index, 1);
    }
}
