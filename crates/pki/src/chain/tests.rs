use super::*;
use certbound_testkit::{Ca, Eku, LeafOptions, NOW, TestPki};
use time::macros::datetime;

fn der(c: &rustls_pki_types::CertificateDer<'_>) -> CertDer {
    c.clone().into_owned()
}

#[test]
fn verifies_leaf_through_intermediate() {
    let pki = TestPki::new();
    let leaf = pki.intermediate.issue(&LeafOptions::client("alice"));
    let v = verify(
        &leaf.cert,
        &[der(&pki.intermediate.cert)],
        &[der(&pki.root.cert)],
        Usage::Client,
        NOW,
    )
    .unwrap();
    assert_eq!(
        v.path,
        [
            "alice",
            "certbound Test Intermediate CA",
            "certbound Test Root CA"
        ]
    );
    assert_eq!(v.anchor, 0);
}

#[test]
fn missing_intermediate_names_issuer_and_parent() {
    let pki = TestPki::new();
    let leaf = pki.intermediate.issue(&LeafOptions::client("alice"));
    let e = verify(&leaf.cert, &[], &[der(&pki.root.cert)], Usage::Client, NOW).unwrap_err();
    assert_eq!(
        e,
        ChainError::MissingIntermediate {
            cert: "alice".into(),
            issuer: "certbound Test Intermediate CA".into(),
            likely_parent: "certbound Test Root CA".into()
        }
    );
    assert!(e.hint().contains("after the leaf"));
}

#[test]
fn unrelated_ca_is_unknown_ca() {
    let pki = TestPki::new();
    let leaf = pki
        .other_root
        .issue(&LeafOptions::client("mallory").org(Some("Other Org")));
    let e = verify(&leaf.cert, &[], &[der(&pki.root.cert)], Usage::Client, NOW).unwrap_err();
    assert!(
        matches!(&e, ChainError::UnknownCa { issuer, .. } if issuer == "Other Root CA"),
        "{e:?}"
    );
}

#[test]
fn self_signed_leaf_verifies_only_against_itself() {
    let pki = TestPki::new();
    let leaf = certbound_testkit::self_signed(&LeafOptions::client("solo"));
    assert!(verify(&leaf.cert, &[], &[der(&leaf.cert)], Usage::Client, NOW).is_ok());
    let e = verify(&leaf.cert, &[], &[der(&pki.root.cert)], Usage::Client, NOW).unwrap_err();
    assert_eq!(
        e,
        ChainError::UntrustedRoot {
            root: "solo".into(),
            is_leaf: true
        }
    );
}

#[test]
fn ca_file_holding_a_leaf_is_named() {
    let pki = TestPki::new();
    let leaf = pki.intermediate.issue(&LeafOptions::client("alice"));
    let other = pki.intermediate.issue(&LeafOptions::client("bob"));
    let e = verify(&leaf.cert, &[], &[der(&other.cert)], Usage::Client, NOW).unwrap_err();
    assert_eq!(
        e,
        ChainError::AnchorNotCa {
            subject: "bob".into()
        }
    );
}

#[test]
fn same_name_different_key_is_bad_signature() {
    let pki = TestPki::new();
    let impostor = Ca::root("certbound Test Root CA", "certbound tests");
    let leaf = pki.root.issue(&LeafOptions::client("alice"));
    let e = verify(&leaf.cert, &[], &[der(&impostor.cert)], Usage::Client, NOW).unwrap_err();
    assert!(matches!(e, ChainError::BadSignature { .. }), "{e:?}");
    // Through an intermediate whose issuer name matches but key does not.
    let leaf2 = pki.intermediate.issue(&LeafOptions::client("carol"));
    let fake_inter = impostor.intermediate("certbound Test Intermediate CA", "certbound tests");
    let e = verify(
        &leaf2.cert,
        &[der(&fake_inter.cert)],
        &[der(&pki.root.cert)],
        Usage::Client,
        NOW,
    )
    .unwrap_err();
    assert!(matches!(e, ChainError::BadSignature { .. }), "{e:?}");
}

#[test]
fn expired_leaf_and_intermediate_are_named() {
    let pki = TestPki::new();
    let old = LeafOptions::client("old").validity(
        datetime!(2025-01-01 0:00 UTC),
        datetime!(2025-06-01 0:00 UTC),
    );
    let leaf = pki.root.issue(&old);
    let e = verify(&leaf.cert, &[], &[der(&pki.root.cert)], Usage::Client, NOW).unwrap_err();
    assert!(
        matches!(&e, ChainError::Expired { cert, .. } if cert == "old"),
        "{e:?}"
    );
    assert!(e.to_string().contains("2025-06-01"), "{e}");

    let inter = pki.root.intermediate_with(
        "Old Intermediate",
        "certbound tests",
        datetime!(2025-01-01 0:00 UTC),
        datetime!(2026-03-01 0:00 UTC),
    );
    let leaf = inter.issue(&LeafOptions::client("fresh"));
    let e = verify(
        &leaf.cert,
        &[der(&inter.cert)],
        &[der(&pki.root.cert)],
        Usage::Client,
        NOW,
    )
    .unwrap_err();
    assert!(
        matches!(&e, ChainError::Expired { cert, .. } if cert == "Old Intermediate"),
        "{e:?}"
    );
}

#[test]
fn not_yet_valid_leaf() {
    let pki = TestPki::new();
    let later = LeafOptions::client("later").validity(
        datetime!(2026-09-01 0:00 UTC),
        datetime!(2027-09-01 0:00 UTC),
    );
    let leaf = pki.root.issue(&later);
    let e = verify(&leaf.cert, &[], &[der(&pki.root.cert)], Usage::Client, NOW).unwrap_err();
    assert!(matches!(e, ChainError::NotYetValid { .. }), "{e:?}");
}

#[test]
fn expired_anchor_is_reported_though_webpki_ignores_it() {
    let root = Ca::root_with(
        "Short Root",
        "certbound tests",
        datetime!(2026-03-01 0:00 UTC),
    );
    let leaf = root.issue(&LeafOptions::client("alice").validity(
        datetime!(2026-01-01 0:00 UTC),
        datetime!(2026-02-01 0:00 UTC),
    ));
    let at = datetime!(2026-01-15 0:00 UTC);
    assert!(verify(&leaf.cert, &[], &[der(&root.cert)], Usage::Client, at).is_ok());
    let leaf = root.issue(&LeafOptions::client("bob"));
    let e = verify(&leaf.cert, &[], &[der(&root.cert)], Usage::Client, NOW).unwrap_err();
    assert!(matches!(e, ChainError::AnchorExpired { .. }), "{e:?}");
}

#[test]
fn wrong_eku_for_usage() {
    let pki = TestPki::new();
    let server = pki.root.issue(&LeafOptions::server("api"));
    let e = verify(
        &server.cert,
        &[],
        &[der(&pki.root.cert)],
        Usage::Client,
        NOW,
    )
    .unwrap_err();
    assert!(
        matches!(&e, ChainError::EkuNotAllowed { cert, usage: Usage::Client } if cert == "api"),
        "{e:?}"
    );
    assert!(
        verify(
            &server.cert,
            &[],
            &[der(&pki.root.cert)],
            Usage::Server,
            NOW
        )
        .is_ok()
    );
    assert!(verify(&server.cert, &[], &[der(&pki.root.cert)], Usage::Any, NOW).is_ok());
    let none = pki.root.issue(&LeafOptions::client("plain").eku(Eku::None));
    assert!(verify(&none.cert, &[], &[der(&pki.root.cert)], Usage::Client, NOW).is_ok());
}

#[test]
fn ca_used_as_leaf() {
    let pki = TestPki::new();
    let e = verify(
        &pki.intermediate.cert,
        &[],
        &[der(&pki.root.cert)],
        Usage::Client,
        NOW,
    )
    .unwrap_err();
    assert!(matches!(e, ChainError::CaAsLeaf { .. }), "{e:?}");
}

#[test]
fn no_anchors() {
    let pki = TestPki::new();
    let leaf = pki.root.issue(&LeafOptions::client("alice"));
    assert_eq!(
        verify(&leaf.cert, &[], &[], Usage::Client, NOW).unwrap_err(),
        ChainError::NoAnchors
    );
}

#[test]
fn signed_by_uses_the_issuer_key() {
    let pki = TestPki::new();
    let leaf = pki.root.issue(&LeafOptions::client("alice"));
    assert!(signed_by(&leaf.cert, &pki.root.cert));
    assert!(!signed_by(&leaf.cert, &pki.other_root.cert));
    assert!(signed_by(&pki.root.cert, &pki.root.cert));
    assert!(!signed_by(b"garbage", &pki.root.cert));
}

#[test]
fn every_error_has_a_code_message_and_hint() {
    let errors = [
        ChainError::NoAnchors,
        ChainError::PathLenExceeded,
        ChainError::NameConstraintViolation,
        ChainError::CaAsLeaf { cert: "x".into() },
        ChainError::IssuerNotCa { issuer: "x".into() },
        ChainError::UnsupportedSignature {
            cert: "x".into(),
            algorithm: "sha1WithRSAEncryption".into(),
        },
        ChainError::TooManyIntermediates {
            presented: 9,
            max: 8,
        },
        ChainError::SameNameIntermediates {
            name: "CN=x".into(),
            count: 3,
            max: 2,
        },
        ChainError::TooComplex,
        ChainError::Other { reason: "r".into() },
    ];
    for e in errors {
        assert!(!e.to_string().is_empty());
        assert!(!e.hint().is_empty());
        assert!(!e.code().is_empty());
    }
}

#[test]
fn a_ring_of_same_name_cas_is_refused_before_any_path_search() {
    let pki = TestPki::new();
    let anchors = [der(&pki.root.cert)];
    // Twelve: more than a chain may carry.
    let (leaf, ring) = certbound_testkit::same_name_ring(12);
    let e = verify(&leaf.cert, &ring, &anchors, Usage::Client, NOW).unwrap_err();
    assert_eq!(
        e,
        ChainError::TooManyIntermediates {
            presented: 12,
            max: MAX_INTERMEDIATES
        }
    );
    // Three with one name: more than a CA and its cross-signed twin.
    let (leaf, ring) = certbound_testkit::same_name_ring(3);
    let e = verify(&leaf.cert, &ring, &anchors, Usage::Client, NOW).unwrap_err();
    assert!(
        matches!(&e, ChainError::SameNameIntermediates { count: 3, max: 2, name } if name.contains("Ring CA")),
        "{e:?}"
    );
    assert_eq!(e.code(), "same_name_intermediates");
    // Two with one name are considered (and lead nowhere here).
    let (leaf, ring) = certbound_testkit::same_name_ring(2);
    let e = verify(&leaf.cert, &ring, &anchors, Usage::Client, NOW).unwrap_err();
    assert!(
        !matches!(
            e,
            ChainError::SameNameIntermediates { .. } | ChainError::TooManyIntermediates { .. }
        ),
        "{e:?}"
    );
}

#[test]
fn duplicates_and_copies_of_the_leaf_do_not_count_against_the_cap() {
    let pki = TestPki::new();
    let leaf = pki.intermediate.issue(&LeafOptions::client("alice"));
    let mut presented = vec![der(&leaf.cert)];
    presented.extend(std::iter::repeat_n(der(&pki.intermediate.cert), 40));
    let screened = screen_intermediates(&leaf.cert, &presented).unwrap();
    assert_eq!(screened, [der(&pki.intermediate.cert)]);
    let v = verify(
        &leaf.cert,
        &presented,
        &[der(&pki.root.cert)],
        Usage::Client,
        NOW,
    )
    .unwrap();
    assert_eq!(v.path.len(), 3);
}
