use super::*;
use crate::chain::{Usage, verify};
use crate::inspect::{CertInfo, KeyKind};
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

fn ca_spec(cn: &str, key_type: KeyType) -> CaSpec {
    CaSpec {
        common_name: cn.into(),
        organization: Some("Acme".into()),
        key_type,
        days: ROOT_DAYS,
    }
}

fn signer(issued: &Issued) -> Signer {
    Signer::new(issued.cert_der.clone(), issued.key_pem.as_bytes()).unwrap()
}

#[test]
fn root_is_a_proper_ca() {
    let root = root_ca(&ca_spec("Acme Root", KeyType::EcdsaP256), T0).unwrap();
    let info = CertInfo::from_der(&root.cert_der).unwrap();
    assert!(info.is_ca && info.self_signed);
    assert_eq!(info.path_len, None);
    assert_eq!(
        info.key_usage.as_deref(),
        Some(&["keyCertSign".to_string(), "cRLSign".to_string()][..])
    );
    assert!(info.subject_key_id.is_some());
    assert_eq!(info.subject_key_id, info.authority_key_id);
    assert_eq!(info.not_before, T0 - BACKDATE);
    assert_eq!((info.not_after - T0).whole_days(), 3650);
    assert_eq!(info.subject, "CN=Acme Root, O=Acme");
    assert!(root.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
}

#[test]
fn intermediate_has_pathlen_zero_and_signs_leaves() {
    let root = root_ca(&ca_spec("Acme Root", KeyType::EcdsaP384), T0).unwrap();
    let inter = intermediate_ca(
        &signer(&root),
        &ca_spec("Acme Issuing", KeyType::EcdsaP256),
        T0,
    )
    .unwrap();
    let info = CertInfo::from_der(&inter.cert_der).unwrap();
    assert!(info.is_ca && !info.self_signed);
    assert_eq!(info.path_len, Some(0));
    // Capped at the root's end of life.
    let root_info = CertInfo::from_der(&root.cert_der).unwrap();
    assert!(info.not_after <= root_info.not_after);
    assert_eq!(info.authority_key_id, root_info.subject_key_id);

    let spec = LeafSpec {
        common_name: "api.acme.test".into(),
        dns: vec!["api.acme.test".into()],
        ips: vec!["127.0.0.1".parse().unwrap()],
        usage: Usage::Server,
        days: SERVER_DAYS,
        ..LeafSpec::default()
    };
    let server = leaf(&signer(&inter), &spec, T0).unwrap();
    let s = CertInfo::from_der(&server.cert_der).unwrap();
    assert_eq!(
        s.extended_key_usage.as_deref(),
        Some(&[crate::oid::EKU_SERVER_AUTH.to_string()][..])
    );
    assert_eq!(
        s.key_usage.as_deref(),
        Some(&["digitalSignature".to_string()][..])
    );
    assert!(!s.is_ca);
    assert_eq!(s.subject_alt_names.len(), 2);
    let v = verify(
        &server.cert_der,
        std::slice::from_ref(&inter.cert_der),
        std::slice::from_ref(&root.cert_der),
        Usage::Server,
        T0,
    )
    .unwrap();
    assert_eq!(v.path.len(), 3);
    assert!(
        verify(
            &server.cert_der,
            std::slice::from_ref(&inter.cert_der),
            std::slice::from_ref(&root.cert_der),
            Usage::Client,
            T0
        )
        .is_err()
    );
}

#[test]
fn client_certificates_carry_client_auth_and_names() {
    let root = root_ca(&ca_spec("Acme Root", KeyType::EcdsaP256), T0).unwrap();
    let spec = LeafSpec {
        common_name: "partner-7".into(),
        organization: Some("Payer Inc".into()),
        uris: vec!["spiffe://acme/partner-7".into()],
        emails: vec!["ops@payer.test".into()],
        usage: Usage::Client,
        days: CLIENT_DAYS,
        ..LeafSpec::default()
    };
    let c = leaf(&signer(&root), &spec, T0).unwrap();
    let info = CertInfo::from_der(&c.cert_der).unwrap();
    assert!(info.has_eku(crate::oid::EKU_CLIENT_AUTH));
    assert!(!info.has_eku(crate::oid::EKU_SERVER_AUTH));
    assert_eq!(info.subject, "CN=partner-7, O=Payer Inc");
    assert_eq!(info.subject_alt_names.len(), 2);
    assert!(
        verify(
            &c.cert_der,
            &[],
            std::slice::from_ref(&root.cert_der),
            Usage::Client,
            T0
        )
        .is_ok()
    );
}

#[test]
fn every_key_type_makes_a_verifiable_chain() {
    for kt in KeyType::ALL {
        if matches!(kt, KeyType::Rsa3072 | KeyType::Rsa4096) {
            continue; // slow to generate; covered by the CLI's openssl interop test
        }
        let root = root_ca(&ca_spec("Root", kt), T0).unwrap();
        let spec = LeafSpec {
            common_name: "c".into(),
            usage: Usage::Client,
            key_type: kt,
            days: 1,
            ..LeafSpec::default()
        };
        let c = leaf(&signer(&root), &spec, T0).unwrap();
        let info = CertInfo::from_der(&c.cert_der).unwrap();
        match kt {
            KeyType::Rsa2048 => assert_eq!(info.key, KeyKind::Rsa { bits: 2048 }),
            KeyType::Ed25519 => assert_eq!(info.key, KeyKind::Ed25519),
            KeyType::EcdsaP384 => {
                assert!(matches!(&info.key, KeyKind::Ec { curve, .. } if curve == "P-384"))
            }
            _ => {}
        }
        assert!(
            verify(
                &c.cert_der,
                &[],
                std::slice::from_ref(&root.cert_der),
                Usage::Client,
                T0
            )
            .is_ok(),
            "{kt}"
        );
    }
}

#[test]
fn self_signed_client_verifies_against_itself() {
    let spec = LeafSpec {
        common_name: "My Integration Client".into(),
        organization: Some("My Organization".into()),
        usage: Usage::Client,
        days: CLIENT_DAYS,
        ..LeafSpec::default()
    };
    let c = self_signed(&spec, T0).unwrap();
    let info = CertInfo::from_der(&c.cert_der).unwrap();
    assert!(info.self_signed && !info.is_ca);
    assert!(
        verify(
            &c.cert_der,
            &[],
            std::slice::from_ref(&c.cert_der),
            Usage::Client,
            T0
        )
        .is_ok()
    );
}

#[test]
fn signer_refuses_mismatched_key_and_non_ca() {
    let root = root_ca(&ca_spec("Root", KeyType::EcdsaP256), T0).unwrap();
    let other = root_ca(&ca_spec("Other", KeyType::EcdsaP256), T0).unwrap();
    assert_eq!(
        Signer::new(root.cert_der.clone(), other.key_pem.as_bytes()).unwrap_err(),
        GenerateError::CaKeyMismatch
    );
    let spec = LeafSpec {
        common_name: "c".into(),
        days: 1,
        ..LeafSpec::default()
    };
    let c = leaf(&signer(&root), &spec, T0).unwrap();
    assert!(matches!(
        Signer::new(c.cert_der.clone(), c.key_pem.as_bytes()).unwrap_err(),
        GenerateError::NotACa { .. }
    ));
}

#[test]
fn refuses_bad_input() {
    let root = root_ca(&ca_spec("Root", KeyType::EcdsaP256), T0).unwrap();
    let bad_dns = LeafSpec {
        common_name: "c".into(),
        dns: vec!["bücher.test".into()],
        days: 1,
        ..LeafSpec::default()
    };
    assert!(matches!(
        leaf(&signer(&root), &bad_dns, T0).unwrap_err(),
        GenerateError::NotAscii { .. }
    ));
    let zero = LeafSpec {
        common_name: "c".into(),
        days: 0,
        ..LeafSpec::default()
    };
    assert_eq!(
        leaf(&signer(&root), &zero, T0).unwrap_err(),
        GenerateError::ZeroDays
    );
    let no_cn = LeafSpec {
        days: 1,
        ..LeafSpec::default()
    };
    assert!(matches!(
        self_signed(&no_cn, T0).unwrap_err(),
        GenerateError::Missing { .. }
    ));
    // An expired CA cannot issue.
    let later = T0 + time::Duration::days(4000);
    let spec = LeafSpec {
        common_name: "c".into(),
        days: 1,
        ..LeafSpec::default()
    };
    assert!(matches!(
        leaf(&signer(&root), &spec, later).unwrap_err(),
        GenerateError::CaExpired { .. }
    ));
}

#[test]
fn leaf_lifetime_is_capped_at_the_ca() {
    let mut spec = ca_spec("Root", KeyType::EcdsaP256);
    spec.days = 10;
    let root = root_ca(&spec, T0).unwrap();
    let leaf_spec = LeafSpec {
        common_name: "c".into(),
        days: 365,
        ..LeafSpec::default()
    };
    let c = leaf(&signer(&root), &leaf_spec, T0).unwrap();
    let root_info = CertInfo::from_der(&root.cert_der).unwrap();
    assert_eq!(c.capped_at, Some(root_info.not_after));
}

#[test]
fn key_type_names_round_trip() {
    for kt in KeyType::ALL {
        assert_eq!(kt.to_string().parse::<KeyType>().unwrap(), kt);
    }
    assert!("dsa".parse::<KeyType>().unwrap_err().contains("ecdsa-p256"));
}

#[test]
fn serials_are_positive_and_distinct() {
    let a = serial().unwrap().to_bytes();
    let b = serial().unwrap().to_bytes();
    assert_ne!(a, b);
    assert_eq!(a[0] & 0xc0, 0x40);
}

#[test]
fn ed25519_keys_are_written_as_pkcs8_v1() {
    let spec = LeafSpec {
        common_name: "ed".into(),
        key_type: KeyType::Ed25519,
        days: 1,
        ..LeafSpec::default()
    };
    let c = self_signed(&spec, T0).unwrap();
    let key = crate::key::parse_private_key(c.key_pem.as_bytes()).unwrap();
    assert!(key.matches_certificate(&c.cert_der));
    let der = crate::bundle::pem_blocks(c.key_pem.as_bytes())
        .unwrap()
        .remove(0)
        .der;
    assert_eq!(der.len(), 48);
    assert_eq!(der[..16], ED25519_PKCS8_V1_PREFIX);
    // Other keys are untouched.
    assert_eq!(pkcs8_v1(b"\x30\x03\x02\x01\x00"), b"\x30\x03\x02\x01\x00");
}
