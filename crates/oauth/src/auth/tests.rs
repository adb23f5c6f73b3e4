use super::*;
use crate::client::{ClientApplication, Policy, RESOURCE_TYPE};
use certbound_testkit::{Eku, LeafOptions, NOW, TestPki, self_signed};
use time::macros::datetime;

fn owned(c: &rustls_pki_types::CertificateDer<'_>) -> CertDer {
    c.clone().into_owned()
}

fn compile(store: String, f: impl FnOnce(&mut ClientApplication)) -> CompiledClient {
    let mut c = ClientApplication {
        resource_type: RESOURCE_TYPE.into(),
        id: Some("c1".into()),
        name: "c1".into(),
        certificate_trust_store: Some(store),
        ..ClientApplication::default()
    };
    f(&mut c);
    c.validate(Policy::default(), NOW).unwrap().client
}

/// The seed's recipe (`openssl req -x509`, OpenSSL 3: CA:TRUE, no keyUsage):
/// the certificate authenticates as itself, and vouches for nothing it signed.
#[test]
fn an_openssl_style_self_signed_certificate_authenticates_as_itself_only() {
    let mine = certbound_testkit::Ca::openssl_style("My Integration Client");
    let client = compile(mine.cert_pem(), |_| {});
    assert_eq!(
        authenticate_certificate(&client, &[owned(&mine.cert)], NOW, None),
        Ok(Method::SelfSignedTlsClientAuth)
    );
    // Another self-signed certificate with the same subject.
    let twin = certbound_testkit::Ca::openssl_style("My Integration Client");
    let e = authenticate_certificate(&client, &[owned(&twin.cert)], NOW, None).unwrap_err();
    assert!(
        matches!(
            e,
            AuthFailure::NotInTrustStore {
                pinned_issuer: None,
                ..
            }
        ),
        "{e:?}"
    );
    // A certificate its key signed: refused, and the message says why.
    let issued = mine.issue(&LeafOptions::client("issued"));
    let e = authenticate_certificate(&client, &[owned(&issued.cert)], NOW, None).unwrap_err();
    assert!(
        matches!(&e, AuthFailure::NotInTrustStore { pinned_issuer: Some(i), .. } if i == "My Integration Client"),
        "{e:?}"
    );
    assert!(e.to_string().contains("keyCertSign"), "{e}");
    // Expired.
    let late = datetime!(2040-01-01 0:00 UTC);
    assert!(matches!(
        authenticate_certificate(&client, &[owned(&mine.cert)], late, None),
        Err(AuthFailure::ExactCertNotValid { .. })
    ));
}

#[test]
fn self_signed_matches_exactly() {
    let mine = self_signed(&LeafOptions::client("mine"));
    let other = self_signed(&LeafOptions::client("mine"));
    let client = compile(mine.cert_pem(), |_| {});
    assert_eq!(
        authenticate_certificate(&client, &[owned(&mine.cert)], NOW, None),
        Ok(Method::SelfSignedTlsClientAuth)
    );
    let e = authenticate_certificate(&client, &[owned(&other.cert)], NOW, None).unwrap_err();
    assert!(matches!(e, AuthFailure::NotInTrustStore { .. }), "{e:?}");
    assert_eq!(e.code(), "not_in_trust_store");
    assert_eq!(
        authenticate_certificate(&client, &[], NOW, None),
        Err(AuthFailure::NoCertificate)
    );
    let late = datetime!(2027-06-01 0:00 UTC);
    assert!(matches!(
        authenticate_certificate(&client, &[owned(&mine.cert)], late, None),
        Err(AuthFailure::ExactCertNotValid { .. })
    ));
}

#[test]
fn ca_issued_through_intermediate_and_two_cas() {
    let pki = TestPki::new();
    let client = compile(
        format!("{}{}", pki.other_root.cert_pem(), pki.root.cert_pem()),
        |_| {},
    );
    let leaf = pki.intermediate.issue(&LeafOptions::client("alice"));
    let chain = [owned(&leaf.cert), owned(&pki.intermediate.cert)];
    assert_eq!(
        authenticate_certificate(&client, &chain, NOW, None),
        Ok(Method::TlsClientAuth)
    );
    let e = authenticate_certificate(&client, &chain[..1], NOW, None).unwrap_err();
    assert_eq!(e.code(), "missing_intermediate", "{e}");
    // The intermediate in the trust store fills the gap.
    let with_inter = compile(
        format!("{}{}", pki.root.cert_pem(), pki.intermediate.cert_pem()),
        |_| {},
    );
    assert_eq!(
        authenticate_certificate(&with_inter, &chain[..1], NOW, None),
        Ok(Method::TlsClientAuth)
    );
}

#[test]
fn rejections_name_the_cause() {
    let pki = TestPki::new();
    let client = compile(pki.root.cert_pem(), |_| {});
    let cases = [
        (
            pki.other_root.issue(&LeafOptions::client("x")),
            "untrusted_certificate",
        ),
        (
            pki.root.issue(&LeafOptions::client("x").validity(
                datetime!(2025-01-01 0:00 UTC),
                datetime!(2026-01-01 0:00 UTC),
            )),
            "certificate_not_valid",
        ),
        (
            pki.root.issue(&LeafOptions::client("x").validity(
                datetime!(2026-09-01 0:00 UTC),
                datetime!(2027-01-01 0:00 UTC),
            )),
            "certificate_not_valid",
        ),
        (pki.root.issue(&LeafOptions::server("x")), "wrong_eku"),
    ];
    for (leaf, code) in cases {
        let e = authenticate_certificate(&client, &[owned(&leaf.cert)], NOW, None).unwrap_err();
        assert_eq!(e.code(), code, "{e}");
    }
    // No EKU extension means any purpose (RFC 5280 §4.2.1.12).
    let plain = pki.root.issue(&LeafOptions::client("x").eku(Eku::None));
    assert!(authenticate_certificate(&client, &[owned(&plain.cert)], NOW, None).is_ok());
    // A self-signed certificate against a CA-only store.
    let solo = self_signed(&LeafOptions::client("solo"));
    let e = authenticate_certificate(&client, &[owned(&solo.cert)], NOW, None).unwrap_err();
    assert_eq!(e.code(), "untrusted_certificate", "{e}");
}

#[test]
fn subject_and_san_constraints() {
    let pki = TestPki::new();
    let alice = pki
        .root
        .issue(&LeafOptions::client("alice").uri("spiffe://acme/alice"));
    let bob = pki.root.issue(&LeafOptions::client("bob"));
    let by_dn = compile(pki.root.cert_pem(), |c| {
        c.tls_client_auth_subject_dn = Some("O=certbound tests, CN=alice".into())
    });
    assert!(authenticate_certificate(&by_dn, &[owned(&alice.cert)], NOW, None).is_ok());
    let e = authenticate_certificate(&by_dn, &[owned(&bob.cert)], NOW, None).unwrap_err();
    assert!(matches!(e, AuthFailure::SubjectMismatch { .. }), "{e:?}");
    assert!(e.to_string().contains("CN=bob"), "{e}");

    let by_uri = compile(pki.root.cert_pem(), |c| {
        c.tls_client_auth_san_uri = Some("spiffe://acme/alice".into())
    });
    assert!(authenticate_certificate(&by_uri, &[owned(&alice.cert)], NOW, None).is_ok());
    let e = authenticate_certificate(&by_uri, &[owned(&bob.cert)], NOW, None).unwrap_err();
    assert!(
        matches!(e, AuthFailure::SanMismatch { kind: "URI", .. }),
        "{e:?}"
    );
}

#[test]
fn secrets() {
    let hash = crate::secret::hash_secret("s3cret").unwrap();
    let client = CompiledClient {
        id: "s".into(),
        name: "s".into(),
        status: crate::client::ClientStatus::Active,
        trust_store: None,
        constraint: None,
        allowed_scopes: None,
        token_lifetime: None,
        secret_hash: Some(hash),
        keys: None,
        require_binding: false,
        udap: None,
        version: 0,
        serial: 0,
    };
    assert_eq!(
        authenticate_secret(&client, "s3cret", Method::ClientSecretPost),
        Ok(Method::ClientSecretPost)
    );
    assert_eq!(
        authenticate_secret(&client, "nope", Method::ClientSecretBasic),
        Err(AuthFailure::WrongSecret)
    );
    assert_eq!(
        authenticate_certificate(&client, &[], NOW, None),
        Err(AuthFailure::SecretRequired)
    );
    let pki = TestPki::new();
    let cert_client = compile(pki.root.cert_pem(), |_| {});
    assert_eq!(
        authenticate_secret(&cert_client, "x", Method::ClientSecretPost),
        Err(AuthFailure::CertificateRequired)
    );
}

#[test]
fn an_off_client_is_refused_whatever_it_presents() {
    let leaf = self_signed(&LeafOptions::client("partner"));
    let on = compile(leaf.cert_pem(), |_| {});
    assert_eq!(
        authenticate_certificate(&on, &[owned(&leaf.cert)], NOW, None),
        Ok(Method::SelfSignedTlsClientAuth)
    );
    let off = compile(leaf.cert_pem(), |c| c.status = Some("off".into()));
    let failure = authenticate_certificate(&off, &[owned(&leaf.cert)], NOW, None).unwrap_err();
    assert_eq!(failure.code(), "client_off");
    assert!(failure.to_string().contains("status \"off\""), "{failure}");
    assert_eq!(check_status(&off), Err(failure));
    let mut secret = off.clone();
    secret.trust_store = None;
    secret.secret_hash = Some(crate::secret::hash_secret("s3cret").unwrap());
    assert_eq!(
        authenticate_secret(&secret, "s3cret", Method::ClientSecretPost)
            .unwrap_err()
            .code(),
        "client_off"
    );
}

/// A CRL of `ca` listing `revoked`, made `age` days before NOW, current for 7 days.
fn crl_check(
    ca: &certbound_testkit::Ca,
    revoked: &[&CertDer],
    age: i64,
    unavailable: certbound_pki::revocation::Unavailable,
) -> RevocationCheck {
    use certbound_pki::generate::crl::RevokedEntry;
    let signer =
        certbound_pki::generate::Signer::new(owned(&ca.cert), ca.key_pem().as_bytes()).unwrap();
    let made = NOW - time::Duration::days(age);
    let entries: Vec<RevokedEntry> = revoked
        .iter()
        .map(|c| RevokedEntry {
            serial: certbound_pki::CertInfo::from_der(c)
                .unwrap()
                .serial
                .split(':')
                .map(|b| u8::from_str_radix(b, 16).unwrap())
                .collect(),
            revoked_at: made,
            reason: certbound_pki::revocation::Reason::KeyCompromise,
        })
        .collect();
    let crl = signer.crl(&entries, 1, made, 7).unwrap();
    let set = certbound_pki::revocation::CrlSet::new(
        certbound_pki::revocation::parse_crls("ca.crl", &crl.der).unwrap(),
    );
    RevocationCheck::crls(std::sync::Arc::new(set), unavailable)
}

#[test]
fn a_revoked_certificate_is_refused_and_named() {
    use certbound_pki::revocation::Unavailable;
    let pki = TestPki::new();
    let alice = pki.intermediate.issue(&LeafOptions::client("alice"));
    let bob = pki.intermediate.issue(&LeafOptions::client("bob"));
    let client = compile(pki.root.cert_pem(), |_| {});
    let chain = |leaf: &rustls_pki_types::CertificateDer<'_>| {
        vec![owned(leaf), owned(&pki.intermediate.cert)]
    };
    let fresh = crl_check(
        &pki.intermediate,
        &[&owned(&alice.cert)],
        1,
        Unavailable::Fail,
    );
    let e = authenticate_certificate(&client, &chain(&alice.cert), NOW, Some(&fresh)).unwrap_err();
    assert_eq!(e.code(), "certificate_revoked", "{e}");
    assert!(
        e.to_string().contains("'alice'") && e.to_string().contains("keyCompromise"),
        "{e}"
    );
    assert_eq!(
        authenticate_certificate(&client, &chain(&bob.cert), NOW, Some(&fresh)),
        Ok(Method::TlsClientAuth)
    );
    // Stale: refused with "fail", accepted with "allow".
    let stale = crl_check(&pki.intermediate, &[], 10, Unavailable::Fail);
    let e = authenticate_certificate(&client, &chain(&bob.cert), NOW, Some(&stale)).unwrap_err();
    assert_eq!(e.code(), "revocation_unavailable", "{e}");
    let allow = crl_check(&pki.intermediate, &[], 10, Unavailable::Allow);
    assert!(authenticate_certificate(&client, &chain(&bob.cert), NOW, Some(&allow)).is_ok());
}
