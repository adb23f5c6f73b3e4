use super::*;
use crate::generate::{CaSpec, Issued, ROOT_DAYS, intermediate_ca, root_ca};
use crate::inspect::CertInfo;
use crate::oid;
use time::macros::datetime;
use x509_parser::prelude::FromDer;

const T0: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

fn spec(key_type: KeyType) -> RequestSpec {
    RequestSpec {
        common_name: "partner-7".into(),
        organization: Some("Payer Inc".into()),
        dns: vec!["partner.example".into()],
        ips: vec!["192.0.2.7".parse().unwrap()],
        uris: vec!["spiffe://payer/p7".into()],
        emails: vec!["ops@payer.example".into()],
        key_type,
    }
}

fn ca() -> (Issued, Signer) {
    let root_spec = CaSpec {
        common_name: "Acme Root CA".into(),
        organization: Some("Acme".into()),
        key_type: KeyType::EcdsaP256,
        days: ROOT_DAYS,
    };
    let root = root_ca(&root_spec, T0).unwrap();
    let root_signer = Signer::new(root.cert_der.clone(), root.key_pem.as_bytes()).unwrap();
    let inter = intermediate_ca(&root_signer, &root_spec, T0).unwrap();
    let signer = Signer::new(inter.cert_der.clone(), inter.key_pem.as_bytes()).unwrap();
    (root, signer)
}

fn sign_spec(usage: Usage) -> SignSpec {
    SignSpec {
        usage,
        days: 365,
        ..SignSpec::default()
    }
}

/// The raw SubjectPublicKeyInfo of a certificate or of a request.
fn cert_spki(der: &[u8]) -> Vec<u8> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
    cert.public_key().raw.to_vec()
}

fn csr_spki(der: &[u8]) -> Vec<u8> {
    let (_, csr) = X509CertificationRequest::from_der(der).unwrap();
    csr.certification_request_info.subject_pki.raw.to_vec()
}

/// A request for a fresh key with the given parameters.
fn request_with(params: &CertificateParams, key_type: KeyType) -> Vec<u8> {
    let key = key_type.generate().unwrap();
    params.serialize_request(&key).unwrap().der().to_vec()
}

fn named(cn: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params
}

#[test]
fn made_requests_parse_and_verify_for_every_key_type() {
    for key_type in KeyType::ALL {
        let made = make(&spec(key_type)).unwrap();
        assert!(
            made.csr_pem
                .starts_with("-----BEGIN CERTIFICATE REQUEST-----")
        );
        assert!(made.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let req = parse(made.csr_pem.as_bytes()).unwrap_or_else(|e| panic!("{key_type}: {e}"));
        assert_eq!(req.common_name.as_deref(), Some("partner-7"));
        assert_eq!(req.subject, "CN=partner-7, O=Payer Inc");
        assert_eq!(req.sans.len(), 4, "{key_type}: {:?}", req.sans);
        // DER is read as well as PEM.
        parse(&made.csr_der).unwrap();
        // The private key is the one the request is for.
        let key = crate::key::parse_private_key(made.key_pem.as_bytes()).unwrap();
        assert_eq!(key.public_key_raw(), req.public_key.raw.as_slice());
    }
}

#[test]
fn a_signed_request_gets_the_leaf_profile_and_keeps_its_key() {
    let (root, signer) = ca();
    for (key_type, usage) in [
        (KeyType::EcdsaP256, Usage::Client),
        (KeyType::EcdsaP384, Usage::Server),
        (KeyType::Ed25519, Usage::Client),
        (KeyType::Rsa2048, Usage::Server),
    ] {
        let made = make(&spec(key_type)).unwrap();
        let req = parse(made.csr_pem.as_bytes()).unwrap();
        let signed = sign(&signer, &req, &sign_spec(usage), T0).unwrap();
        assert_eq!(cert_spki(&signed.cert_der), csr_spki(&made.csr_der));
        let info = CertInfo::from_der(&signed.cert_der).unwrap();
        assert!(!info.is_ca);
        assert_eq!(info.subject, "CN=partner-7, O=Payer Inc");
        assert_eq!(info.subject_alt_names.len(), 4);
        let want_eku = if usage == Usage::Server {
            oid::EKU_SERVER_AUTH
        } else {
            oid::EKU_CLIENT_AUTH
        };
        assert_eq!(
            info.extended_key_usage.as_deref(),
            Some(&[want_eku.to_string()][..])
        );
        let mut ku = vec!["digitalSignature".to_string()];
        if usage == Usage::Server && key_type == KeyType::Rsa2048 {
            ku.push("keyEncipherment".into());
        }
        assert_eq!(info.key_usage, Some(ku));
        assert!(signed.not_carried.is_empty(), "{:?}", signed.not_carried);
        let v = crate::chain::verify(
            &signed.cert_der,
            std::slice::from_ref(signer.cert_der()),
            std::slice::from_ref(&root.cert_der),
            usage,
            T0,
        );
        assert!(v.is_ok(), "{key_type} {usage}: {v:?}");
    }
}

#[test]
fn flags_replace_the_subject_parts_and_all_the_sans() {
    let (_, signer) = ca();
    let mut params = named("asked");
    params
        .distinguished_name
        .push(DnType::OrganizationalUnitName, "Claims");
    params.subject_alt_names = vec![rcgen::SanType::DnsName("asked.example".try_into().unwrap())];
    let req = parse(&request_with(&params, KeyType::EcdsaP256)).unwrap();
    let spec = SignSpec {
        common_name: Some("given".into()),
        organization: Some("Payer Inc".into()),
        uris: vec!["spiffe://payer/given".into()],
        ..sign_spec(Usage::Client)
    };
    let signed = sign(&signer, &req, &spec, T0).unwrap();
    let info = CertInfo::from_der(&signed.cert_der).unwrap();
    assert_eq!(info.subject, "CN=given, OU=Claims, O=Payer Inc");
    assert_eq!(
        info.subject_alt_names,
        vec![SanEntry::Uri("spiffe://payer/given".into())]
    );
}

#[test]
fn a_request_without_a_common_name_needs_one() {
    let (_, signer) = ca();
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Payer Inc");
    let req = parse(&request_with(&params, KeyType::EcdsaP256)).unwrap();
    let err = sign(&signer, &req, &sign_spec(Usage::Client), T0).unwrap_err();
    assert!(err.is_bad_request());
    assert!(err.to_string().contains("--cn"), "{err}");
    let spec = SignSpec {
        common_name: Some("p7".into()),
        ..sign_spec(Usage::Client)
    };
    let info = CertInfo::from_der(&sign(&signer, &req, &spec, T0).unwrap().cert_der).unwrap();
    assert_eq!(info.subject, "O=Payer Inc, CN=p7");
}

#[test]
fn requested_extensions_are_not_carried_and_are_named() {
    let (_, signer) = ca();
    let mut params = named("p7");
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
    ];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 4, 1, 311, 20, 2],
        vec![0x1e, 0x02, 0x00, 0x41],
    )];
    let req = parse(&request_with(&params, KeyType::EcdsaP256)).unwrap();
    let signed = sign(&signer, &req, &sign_spec(Usage::Client), T0).unwrap();
    let notes = signed.not_carried.join("\n");
    assert!(notes.contains("1.3.6.1.4.1.311.20.2"), "{notes}");
    assert!(
        notes.contains(
            "keyUsage digitalSignature, nonRepudiation (the certificate has digitalSignature)"
        ),
        "{notes}"
    );
    assert!(
        notes.contains("extendedKeyUsage serverAuth (the certificate has clientAuth"),
        "{notes}"
    );
    let info = CertInfo::from_der(&signed.cert_der).unwrap();
    assert_eq!(
        info.extended_key_usage.as_deref(),
        Some(&[oid::EKU_CLIENT_AUTH.to_string()][..])
    );
}

#[test]
fn a_request_to_be_a_ca_is_refused() {
    // basicConstraints CA:TRUE
    let mut params = named("evil");
    params.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
        &[2, 5, 29, 19],
        vec![0x30, 0x03, 0x01, 0x01, 0xff],
    )];
    let err = parse(&request_with(&params, KeyType::EcdsaP256)).unwrap_err();
    assert_eq!(
        err,
        CsrError::AsksForCa {
            what: "basicConstraints CA:TRUE"
        }
    );
    // keyUsage keyCertSign
    let mut params = named("evil");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let err = parse(&request_with(&params, KeyType::EcdsaP256)).unwrap_err();
    assert!(matches!(err, CsrError::AsksForCa { what } if what.contains("keyCertSign")));
    // basicConstraints CA:FALSE is what a leaf is anyway.
    let mut params = named("fine");
    params.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
        &[2, 5, 29, 19],
        vec![0x30, 0x00],
    )];
    parse(&request_with(&params, KeyType::EcdsaP256)).unwrap();
}

#[test]
fn an_altered_request_does_not_verify() {
    for key_type in [KeyType::EcdsaP256, KeyType::Ed25519, KeyType::Rsa2048] {
        let mut der = make(&spec(key_type)).unwrap().csr_der;
        // Flip a bit of the signature (the last bytes of the request).
        let last = der.len() - 3;
        der[last] ^= 0x01;
        let err = parse(&der).unwrap_err();
        assert!(
            matches!(err, CsrError::BadSignature { .. }),
            "{key_type}: {err}"
        );
        assert!(err.to_string().contains("signature does not verify"));
        // So does one whose content changed after signing.
        let mut der = make(&spec(key_type)).unwrap().csr_der;
        let at = der.windows(9).position(|w| w == b"partner-7").unwrap();
        der[at] = b'P';
        assert!(matches!(parse(&der), Err(CsrError::BadSignature { .. })));
    }
}

#[test]
fn sha1_and_unknown_signatures_are_refused_with_the_reason() {
    let der = make(&spec(KeyType::Rsa2048)).unwrap().csr_der;
    let sha256_with_rsa = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
    let at = der
        .windows(sha256_with_rsa.len())
        .rposition(|w| w == sha256_with_rsa)
        .unwrap();
    let mut sha1 = der.clone();
    sha1[at + 8] = 0x05;
    let err = parse(&sha1).unwrap_err();
    assert_eq!(
        err,
        CsrError::WeakSignature {
            algorithm: "sha1WithRSAEncryption".into()
        }
    );
    assert!(err.to_string().contains("SHA-256"));
    let mut odd = der;
    odd[at + 8] = 0x0e; // sha224WithRSAEncryption
    assert!(matches!(
        parse(&odd),
        Err(CsrError::UnsupportedSignature { .. })
    ));
}

#[test]
fn what_is_not_a_request_is_named() {
    assert_eq!(parse(b"").unwrap_err(), CsrError::Empty);
    assert_eq!(parse(b"hello, world\n").unwrap_err(), CsrError::NotACsr);
    let (root, _) = ca();
    let err = parse(root.cert_pem.as_bytes()).unwrap_err();
    assert!(
        err.to_string().contains("a certificate (already signed)"),
        "{err}"
    );
    let err = parse(&root.cert_der).unwrap_err();
    assert!(err.to_string().contains("a certificate (DER)"), "{err}");
    let err = parse(root.key_pem.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("a private key"), "{err}");
    // Truncated DER that starts like a request.
    let der = make(&spec(KeyType::EcdsaP256)).unwrap().csr_der;
    assert!(matches!(
        parse(&der[..der.len() / 2]),
        Err(CsrError::Malformed { .. })
    ));
    // Two requests in one file.
    let two = format!(
        "{}{}",
        make(&spec(KeyType::EcdsaP256)).unwrap().csr_pem,
        make(&spec(KeyType::EcdsaP256)).unwrap().csr_pem
    );
    assert_eq!(
        parse(two.as_bytes()).unwrap_err(),
        CsrError::Several { count: 2 }
    );
}

#[test]
fn keytool_and_certreq_labels_are_read() {
    let made = make(&spec(KeyType::EcdsaP256)).unwrap();
    let pem = made
        .csr_pem
        .replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")
        .replace('\n', "\r\n");
    parse(pem.as_bytes()).unwrap();
}

#[test]
fn an_expired_ca_does_not_sign() {
    let (_, signer) = ca();
    let req = parse(&make(&spec(KeyType::EcdsaP256)).unwrap().csr_der).unwrap();
    let later = T0 + time::Duration::days(365 * 20);
    assert!(matches!(
        sign(&signer, &req, &sign_spec(Usage::Client), later),
        Err(GenerateError::CaExpired { .. })
    ));
}
