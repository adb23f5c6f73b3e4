//! `certbound check --crl FILE`: is any certificate of the chain revoked
//! according to the CRLs given? Each CRL is believed only when its signature
//! verifies with the key of its issuer (a certificate of the chain or of the
//! CA file) and only until its nextUpdate.

use super::{Check, CheckInput, Named, Report, Status};
use crate::CertDer;
use crate::revocation::{self, Crl, CrlSet};
use crate::time_fmt::{date, relative, rfc3339};

/// Add the `revocation` check of `crls` to `report` (made from `input`).
pub fn add(report: &mut Report, input: &CheckInput<'_>, crls: &[Named<'_>]) {
    if crls.is_empty() {
        return;
    }
    let check = run(input, crls);
    if check.status == Status::Fail {
        report.ok = false;
    }
    report.checks.push(check);
}

fn run(input: &CheckInput<'_>, files: &[Named<'_>]) -> Check {
    let fail = |msg: String, hint: String| Check::new("revocation", Status::Fail, msg).hint(hint);
    // The certificates that may be revoked (leaf, intermediates) and those that may sign a CRL.
    let Ok(mut presented) = crate::bundle::parse_certificates(input.cert.bytes) else {
        return Check::new("revocation", Status::Skip, "the certificate cannot be read");
    };
    if let Some(chain) = input.chain {
        presented.extend(crate::bundle::parse_certificates(chain.bytes).unwrap_or_default());
    }
    let anchors: Vec<CertDer> = input
        .ca
        .and_then(|ca| crate::bundle::parse_certificates(ca.bytes).ok())
        .unwrap_or_default();
    let known: Vec<CertDer> = presented.iter().chain(&anchors).cloned().collect();

    let mut crls: Vec<Crl> = Vec::new();
    let mut notes = Vec::new();
    for file in files {
        let parsed = match revocation::parse_crls(file.name, file.bytes) {
            Ok(p) => p,
            Err(e) => return fail(e.to_string(), e.hint()),
        };
        for crl in parsed {
            match crl.check_issuer(&known) {
                Ok(Some(_)) => crls.push(crl),
                Ok(None) => notes.push(format!(
                    "{} is the CRL of '{}', which is neither in the chain nor in the CA file: not used",
                    crl.source, crl.issuer
                )),
                Err(e) => return fail(e.to_string(), e.hint()),
            }
        }
    }
    let set = CrlSet::new(crls);
    let now = input.now;
    let mut good = Vec::new();
    let mut uncovered = Vec::new();
    // The leaf, then the CAs it was sent with (a CA never checks itself).
    for cert in presented.iter().filter(|c| !is_self_signed(c)) {
        let name = crate::inspect::CertInfo::from_der(cert)
            .map(|i| i.display_name().to_string())
            .unwrap_or_default();
        match set.status(cert, now) {
            revocation::Status::Revoked {
                crl,
                revoked_at,
                reason,
            } => {
                let serial = crate::inspect::CertInfo::from_der(cert)
                    .map(|i| i.serial)
                    .unwrap_or_default();
                return fail(
                    format!(
                        "'{name}' (serial {serial}) was revoked on {} ({}), reason: {reason}, according to {} (CRL of '{}')",
                        rfc3339(revoked_at),
                        relative(now, revoked_at),
                        crl.source,
                        crl.issuer
                    ),
                    "the CA took its trust back: get a newly issued certificate".into(),
                );
            }
            revocation::Status::Stale { crl } => {
                return fail(
                    format!(
                        "the CRL of '{}' ({}) is stale: its nextUpdate was {} ({}), so it cannot say whether '{name}' is revoked",
                        crl.issuer,
                        crl.source,
                        date(crl.next_update),
                        relative(now, crl.next_update)
                    ),
                    format!(
                        "get the current CRL of '{}' (`certbound pki crl` at the CA)",
                        crl.issuer
                    ),
                );
            }
            revocation::Status::Good { crl } => good.push(format!(
                "'{name}' is not in the CRL of '{}' ({}{}, next update {})",
                crl.issuer,
                crl.source,
                crl.number
                    .as_deref()
                    .map(|n| format!(", number {n}"))
                    .unwrap_or_default(),
                date(crl.next_update)
            )),
            revocation::Status::NotCovered => uncovered.push(name),
        }
    }
    let mut message = if good.is_empty() {
        "no CRL given covers the chain".to_string()
    } else {
        good.join("; ")
    };
    if !uncovered.is_empty() {
        message.push_str(&format!(
            "; no CRL given for {}",
            uncovered
                .iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for note in notes {
        message.push_str("; ");
        message.push_str(&note);
    }
    if good.is_empty() {
        return Check::new("revocation", Status::Warn, message)
            .hint("pass the CRL of the CA that issued the certificate with --crl");
    }
    Check::new("revocation", Status::Pass, message)
}

fn is_self_signed(cert: &[u8]) -> bool {
    crate::inspect::CertInfo::from_der(cert).is_ok_and(|i| i.self_signed)
}

#[cfg(test)]
mod tests {
    use certbound_testkit::{LeafOptions, NOW, TestPki};
    use time::Duration;

    use super::*;
    use crate::chain::Usage;
    use crate::generate::Signer;
    use crate::generate::crl::RevokedEntry;
    use crate::revocation::Reason;

    fn crl_pem(ca: &certbound_testkit::Ca, revoked: &[&[u8]], age: i64) -> String {
        let signer = Signer::new(ca.cert.clone().into_owned(), ca.key_pem().as_bytes()).unwrap();
        let entries: Vec<RevokedEntry> = revoked
            .iter()
            .map(|c| RevokedEntry {
                serial: x509_parser::parse_x509_certificate(c)
                    .unwrap()
                    .1
                    .raw_serial()
                    .to_vec(),
                revoked_at: NOW - Duration::days(age),
                reason: Reason::KeyCompromise,
            })
            .collect();
        let at = NOW - Duration::days(age);
        signer.crl(&entries, 1, at, 7).unwrap().pem
    }

    fn check_with(cert: &str, ca: &str, crl: &str) -> Check {
        let input = CheckInput {
            cert: Named {
                name: "leaf.crt",
                bytes: cert.as_bytes(),
            },
            key: None,
            ca: Some(Named {
                name: "ca.crt",
                bytes: ca.as_bytes(),
            }),
            chain: None,
            usage: Usage::Client,
            host: None,
            now: NOW,
            warn_days: 30,
            nearby: &[],
        };
        run(
            &input,
            &[Named {
                name: "i.crl",
                bytes: crl.as_bytes(),
            }],
        )
    }

    #[test]
    fn revoked_good_stale_and_forged() {
        let pki = TestPki::new();
        let alice = pki.intermediate.issue(&LeafOptions::client("alice"));
        let bob = pki.intermediate.issue(&LeafOptions::client("bob"));
        let with_chain = |leaf: &certbound_testkit::Leaf| {
            format!("{}{}", leaf.cert_pem(), pki.intermediate.cert_pem())
        };
        let root = pki.root.cert_pem();
        let crl = crl_pem(&pki.intermediate, &[&alice.cert], 1);

        let c = check_with(&with_chain(&alice), &root, &crl);
        assert_eq!(c.status, Status::Fail, "{}", c.message);
        assert!(
            c.message.contains("'alice'") && c.message.contains("keyCompromise"),
            "{}",
            c.message
        );

        let c = check_with(&with_chain(&bob), &root, &crl);
        assert_eq!(c.status, Status::Pass, "{}", c.message);
        assert!(c.message.contains("not in the CRL"), "{}", c.message);

        let stale = crl_pem(&pki.intermediate, &[], 10);
        let c = check_with(&with_chain(&bob), &root, &stale);
        assert_eq!(c.status, Status::Fail);
        assert!(
            c.message.contains("stale") && c.message.contains("i.crl"),
            "{}",
            c.message
        );

        let impostor = certbound_testkit::Ca::root(&pki.intermediate.name, "certbound tests");
        let forged = crl_pem(&impostor, &[], 1);
        let c = check_with(&with_chain(&bob), &root, &forged);
        assert_eq!(c.status, Status::Fail);
        assert!(c.message.contains("did not sign"), "{}", c.message);

        let c = check_with(&with_chain(&bob), &root, "not a crl");
        assert_eq!(c.status, Status::Fail);
        assert!(c.message.starts_with("i.crl: "), "{}", c.message);

        // A CRL of a CA outside the chain covers nothing.
        let other = crl_pem(&pki.other_root, &[], 1);
        let c = check_with(
            &with_chain(&bob),
            &format!("{root}{}", pki.other_root.cert_pem()),
            &other,
        );
        assert_eq!(c.status, Status::Warn, "{}", c.message);
    }
}
