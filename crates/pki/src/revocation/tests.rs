use std::sync::Arc;

use certbound_testkit::{Ca, LeafOptions, NOW, TestPki};
use time::Duration;

use super::*;
use crate::anchors::AnchorSet;
use crate::generate::Signer;
use crate::generate::crl::RevokedEntry;

fn owned(c: &rustls_pki_types::CertificateDer<'_>) -> CertDer {
    c.clone().into_owned()
}

fn signer(ca: &Ca) -> Signer {
    Signer::new(owned(&ca.cert), ca.key_pem().as_bytes()).unwrap()
}

fn serial_of(cert: &[u8]) -> Vec<u8> {
    let (_, p) = x509_parser::parse_x509_certificate(cert).unwrap();
    p.raw_serial().to_vec()
}

/// A CRL by `ca` listing `revoked`, made `age` days before NOW, valid `days`.
fn crl_of(ca: &Ca, revoked: &[(&[u8], Reason)], number: u64, age: i64, days: u32) -> Vec<u8> {
    let made = NOW - Duration::days(age);
    let entries: Vec<RevokedEntry> = revoked
        .iter()
        .map(|(cert, reason)| RevokedEntry {
            serial: serial_of(cert),
            revoked_at: made,
            reason: *reason,
        })
        .collect();
    signer(ca).crl(&entries, number, made, days).unwrap().der
}

fn set(crls: &[&[u8]]) -> Arc<CrlSet> {
    let parsed = crls
        .iter()
        .flat_map(|d| parse_crls("test.crl", d).unwrap())
        .collect();
    Arc::new(CrlSet::new(parsed))
}

fn check(crls: &[&[u8]], unavailable: Unavailable) -> RevocationCheck {
    RevocationCheck::crls(set(crls), unavailable)
}

#[test]
fn reads_pem_and_der_and_describes() {
    let pki = TestPki::new();
    let alice = pki.intermediate.issue(&LeafOptions::client("alice"));
    let der = crl_of(
        &pki.intermediate,
        &[(&alice.cert, Reason::KeyCompromise)],
        7,
        1,
        7,
    );
    let pem = crate::generate::pem_encode("X509 CRL", &der);
    for input in [&der[..], pem.as_bytes()] {
        let crls = parse_crls("ca.crl", input).unwrap();
        assert_eq!(crls.len(), 1);
        let crl = &crls[0];
        assert_eq!(crl.issuer, pki.intermediate.name);
        assert_eq!(crl.number.as_deref(), Some("7"));
        assert_eq!(crl.entries, 1);
        assert_eq!(crl.next_update, NOW - Duration::days(1) + Duration::days(7));
        assert_eq!(crl.der().as_ref(), &der[..]);
        let (at, reason) = crl.find(&serial_of(&alice.cert)).unwrap();
        assert_eq!(
            (at, reason),
            (NOW - Duration::days(1), Reason::KeyCompromise)
        );
    }
    // Two CRLs in one PEM file.
    let other = crl_of(&pki.root, &[], 1, 1, 7);
    let both = format!("{pem}{}", crate::generate::pem_encode("X509 CRL", &other));
    assert_eq!(parse_crls("both.crl", both.as_bytes()).unwrap().len(), 2);
}

#[test]
fn malformed_input_is_named_never_a_panic() {
    let pki = TestPki::new();
    let der = crl_of(&pki.root, &[], 1, 1, 7);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "crl_unreadable"),
        (
            "garbage",
            vec![0x30, 0x82, 0xff, 0xff, 1, 2, 3],
            "crl_unreadable",
        ),
        ("truncated", der[..der.len() / 2].to_vec(), "crl_unreadable"),
        (
            "trailing",
            [&der[..], &[0u8, 0][..]].concat(),
            "crl_unreadable",
        ),
        ("certificate", pki.root.cert_pem().into_bytes(), "no_crl"),
        (
            "bad base64",
            b"-----BEGIN X509 CRL-----\n!!!\n-----END X509 CRL-----\n".to_vec(),
            "crl_unreadable",
        ),
        (
            "unterminated",
            b"-----BEGIN X509 CRL-----\nMIIB\n".to_vec(),
            "crl_unreadable",
        ),
        ("text", b"hello".to_vec(), "no_crl"),
    ];
    for (name, input, code) in cases {
        let e = parse_crls("x.crl", &input)
            .err()
            .unwrap_or_else(|| panic!("{name} parsed"));
        assert_eq!(e.code(), code, "{name}: {e}");
        assert!(e.to_string().starts_with("x.crl: "), "{name}: {e}");
        assert!(!e.hint().is_empty());
    }
    let e = parse_crls("x.crl", pki.root.cert_pem().as_bytes()).unwrap_err();
    assert!(e.to_string().contains("found CERTIFICATE"), "{e}");
    // Every prefix of a real CRL is refused or read, never a panic.
    for n in 0..der.len() {
        let _ = parse_crls("prefix", &der[..n]);
    }
}

#[test]
fn the_issuer_key_must_have_signed_it() {
    let pki = TestPki::new();
    let crl = &parse_crls("ca.crl", &crl_of(&pki.intermediate, &[], 1, 1, 7)).unwrap()[0];
    let known = [owned(&pki.root.cert), owned(&pki.intermediate.cert)];
    assert_eq!(crl.check_issuer(&known).unwrap(), Some(1));
    // Unknown issuer: checked when a chain names it.
    assert_eq!(crl.check_issuer(&[owned(&pki.root.cert)]).unwrap(), None);
    // Another CA with the same name signed it.
    let impostor = Ca::root(&pki.intermediate.name, "certbound tests");
    let forged = &parse_crls("forged.crl", &crl_of(&impostor, &[], 1, 1, 7)).unwrap()[0];
    let e = forged.check_issuer(&known).unwrap_err();
    assert_eq!(e.code(), "crl_bad_signature");
    assert!(e.to_string().contains("did not sign"), "{e}");
}

#[test]
fn the_set_keeps_the_newest_crl_of_each_issuer() {
    let pki = TestPki::new();
    let alice = pki.intermediate.issue(&LeafOptions::client("alice"));
    let old = crl_of(&pki.intermediate, &[], 4, 2, 7);
    let new = crl_of(
        &pki.intermediate,
        &[(&alice.cert, Reason::Superseded)],
        5,
        1,
        7,
    );
    let root = crl_of(&pki.root, &[], 1, 1, 7);
    for order in [
        [&new[..], &old[..], &root[..]],
        [&old[..], &root[..], &new[..]],
    ] {
        let s = set(&order);
        assert_eq!(s.len(), 2);
        assert!(matches!(
            s.status(&alice.cert, NOW),
            Status::Revoked {
                reason: Reason::Superseded,
                ..
            }
        ));
    }
    let bob = pki.intermediate.issue(&LeafOptions::client("bob"));
    let s = set(&[&new]);
    assert!(matches!(s.status(&bob.cert, NOW), Status::Good { .. }));
    assert!(matches!(
        s.status(&bob.cert, NOW + Duration::days(30)),
        Status::Stale { .. }
    ));
    assert!(matches!(
        s.status(&pki.intermediate.cert, NOW),
        Status::NotCovered
    ));
    assert_eq!(s.ders().len(), 1);
}

#[test]
fn a_revoked_leaf_is_refused_with_date_and_reason() {
    let pki = TestPki::new();
    let anchors = AnchorSet::new(vec![owned(&pki.root.cert)]).unwrap();
    let alice = pki.intermediate.issue(&LeafOptions::client("alice"));
    let bob = pki.intermediate.issue(&LeafOptions::client("bob"));
    let crl = crl_of(
        &pki.intermediate,
        &[(&alice.cert, Reason::KeyCompromise)],
        2,
        1,
        7,
    );
    let rc = check(&[&crl], Unavailable::Fail);
    let chain = |leaf: &rustls_pki_types::CertificateDer<'_>| {
        vec![owned(leaf), owned(&pki.intermediate.cert)]
    };
    // Fast path (clientAuth) and full verification (any usage) alike.
    for usage in [crate::chain::Usage::Client, crate::chain::Usage::Any] {
        let e = anchors
            .verify_checked(&chain(&alice.cert), usage, NOW, Some(&rc))
            .unwrap_err();
        match &e {
            ChainError::Revoked {
                cert,
                serial,
                revoked_at,
                reason,
            } => {
                assert_eq!(cert, "alice");
                assert_eq!(*serial, colon_hex(&serial_of(&alice.cert)));
                assert_eq!(*revoked_at, NOW - Duration::days(1));
                assert_eq!(*reason, Reason::KeyCompromise);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(e.code(), "revoked");
        assert!(e.to_string().contains("keyCompromise"), "{e}");
        assert!(
            anchors
                .verify_checked(&chain(&bob.cert), usage, NOW, Some(&rc))
                .is_ok()
        );
        // Without the check, alice passes: the check is what refuses her.
        assert!(
            anchors
                .verify_checked(&chain(&alice.cert), usage, NOW, None)
                .is_ok()
        );
    }
}

#[test]
fn a_revoked_intermediate_refuses_its_leaves() {
    let pki = TestPki::new();
    let anchors = AnchorSet::new(vec![owned(&pki.root.cert)]).unwrap();
    let alice = pki.intermediate.issue(&LeafOptions::client("alice"));
    let root_crl = crl_of(
        &pki.root,
        &[(&pki.intermediate.cert, Reason::CaCompromise)],
        1,
        1,
        7,
    );
    let rc = check(&[&root_crl], Unavailable::Fail);
    let chain = [owned(&alice.cert), owned(&pki.intermediate.cert)];
    let e = anchors
        .verify_checked(&chain, crate::chain::Usage::Client, NOW, Some(&rc))
        .unwrap_err();
    assert!(
        matches!(&e, ChainError::Revoked { cert, reason: Reason::CaCompromise, .. } if *cert == pki.intermediate.name),
        "{e:?}"
    );
}

#[test]
fn a_stale_crl_fails_or_is_allowed_by_policy() {
    let pki = TestPki::new();
    let anchors = AnchorSet::new(vec![owned(&pki.root.cert)]).unwrap();
    let alice = pki.intermediate.issue(&LeafOptions::client("alice"));
    let bob = pki.intermediate.issue(&LeafOptions::client("bob"));
    // Made 10 days ago, current for 7: stale since 3 days.
    let stale = crl_of(
        &pki.intermediate,
        &[(&alice.cert, Reason::KeyCompromise)],
        3,
        10,
        7,
    );
    let bob_chain = [owned(&bob.cert), owned(&pki.intermediate.cert)];
    let alice_chain = [owned(&alice.cert), owned(&pki.intermediate.cert)];
    let fail = check(&[&stale], Unavailable::Fail);
    for usage in [crate::chain::Usage::Client, crate::chain::Usage::Any] {
        let e = anchors
            .verify_checked(&bob_chain, usage, NOW, Some(&fail))
            .unwrap_err();
        match &e {
            ChainError::RevocationUnavailable { cert, why } => {
                assert_eq!(cert, "bob");
                assert!(why.contains("stale") && why.contains("test.crl"), "{why}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(e.code(), "revocation_unavailable");
    }
    let allow = check(&[&stale], Unavailable::Allow);
    assert!(
        anchors
            .verify_checked(&bob_chain, crate::chain::Usage::Client, NOW, Some(&allow))
            .is_ok()
    );
    // A stale CRL still proves what it lists.
    let e = anchors
        .verify_checked(&alice_chain, crate::chain::Usage::Client, NOW, Some(&allow))
        .unwrap_err();
    assert!(matches!(e, ChainError::Revoked { .. }), "{e:?}");
}

#[test]
fn a_crl_signed_by_another_key_makes_the_status_unavailable() {
    let pki = TestPki::new();
    let anchors = AnchorSet::new(vec![owned(&pki.root.cert)]).unwrap();
    let bob = pki.intermediate.issue(&LeafOptions::client("bob"));
    let impostor = Ca::root(&pki.intermediate.name, "certbound tests");
    let forged = crl_of(&impostor, &[], 9, 1, 7);
    let chain = [owned(&bob.cert), owned(&pki.intermediate.cert)];
    let e = anchors
        .verify_checked(
            &chain,
            crate::chain::Usage::Client,
            NOW,
            Some(&check(&[&forged], Unavailable::Fail)),
        )
        .unwrap_err();
    match &e {
        ChainError::RevocationUnavailable { why, .. } => {
            assert!(why.contains("not signed by the key"), "{why}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn certificates_of_issuers_without_a_crl_are_not_checked() {
    let pki = TestPki::new();
    let anchors = AnchorSet::new(vec![owned(&pki.root.cert), owned(&pki.other_root.cert)]).unwrap();
    let carol = pki.other_root.issue(&LeafOptions::client("carol"));
    let crl = crl_of(&pki.intermediate, &[], 1, 10, 7);
    for policy in [Unavailable::Fail, Unavailable::Allow] {
        assert!(
            anchors
                .verify_checked(
                    &[owned(&carol.cert)],
                    crate::chain::Usage::Client,
                    NOW,
                    Some(&check(&[&crl], policy))
                )
                .is_ok()
        );
    }
    // An empty set checks nothing.
    let empty = RevocationCheck::crls(Arc::new(CrlSet::default()), Unavailable::Fail);
    assert!(
        anchors
            .verify_checked(
                &[owned(&carol.cert)],
                crate::chain::Usage::Client,
                NOW,
                Some(&empty)
            )
            .is_ok()
    );
}

#[test]
fn reasons_round_trip_by_name_and_code() {
    for r in Reason::ALL {
        assert_eq!(Reason::from_name(r.name()), Some(r));
        assert_eq!(Reason::from_code(r.code()), Some(r));
    }
    assert_eq!(
        Reason::from_name("KEYCOMPROMISE"),
        Some(Reason::KeyCompromise)
    );
    assert_eq!(Reason::from_name("stolen"), None);
}
