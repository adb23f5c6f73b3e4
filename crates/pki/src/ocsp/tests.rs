//! OCSP responses built here byte by byte (the shapes responders send) and
//! signed with testkit keys: each accept case beside its refusals.

use certbound_testkit::pki::{Ca, LeafOptions, NOW};
use rcgen::{
    CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, SigningKey,
};
use time::macros::datetime;

use super::der::{self, constructed, ctx, ctx_prim, tlv};
use super::parse::generalized_time;
use super::*;

const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";

fn gtime(t: OffsetDateTime) -> Vec<u8> {
    let s = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    tlv(der::GENERALIZED_TIME, s.as_bytes())
}

/// What one SingleResponse says.
#[derive(Clone, Copy)]
enum Says {
    Good,
    Revoked(OffsetDateTime, Option<u8>),
    Unknown,
}

struct Single {
    says: Says,
    this_update: OffsetDateTime,
    next_update: Option<OffsetDateTime>,
}

impl Single {
    fn good() -> Self {
        Self {
            says: Says::Good,
            this_update: NOW - Duration::hours(1),
            next_update: Some(NOW + Duration::days(1)),
        }
    }

    fn says(says: Says) -> Self {
        Self {
            says,
            ..Self::good()
        }
    }

    fn encode(&self, cert: &[u8], issuer: &[u8]) -> Vec<u8> {
        let pair = Pair::parse(cert, issuer).expect("test certificates pair up");
        let (name_hash, key_hash) = pair.hashes(SHA1).expect("SHA-1 is known");
        let alg = constructed(der::SEQUENCE, &[&der::oid(SHA1), &tlv(der::NULL, &[])]);
        let id = constructed(
            der::SEQUENCE,
            &[
                &alg,
                &tlv(der::OCTET_STRING, &name_hash),
                &tlv(der::OCTET_STRING, &key_hash),
                &tlv(der::INTEGER, pair.serial()),
            ],
        );
        let status = match self.says {
            Says::Good => tlv(ctx_prim(0), &[]),
            Says::Unknown => tlv(ctx_prim(2), &[]),
            Says::Revoked(at, reason) => {
                let mut info = gtime(at);
                if let Some(r) = reason {
                    info.extend(tlv(ctx(0), &tlv(der::ENUMERATED, &[r])));
                }
                tlv(ctx(1), &info)
            }
        };
        let mut parts = vec![id, status, gtime(self.this_update)];
        if let Some(n) = self.next_update {
            parts.push(tlv(ctx(0), &gtime(n)));
        }
        tlv(der::SEQUENCE, &parts.concat())
    }
}

/// responderID by the DER of a certificate's subject.
fn by_name(cert: &[u8]) -> Vec<u8> {
    let (_, c) = X509Certificate::from_der(cert).expect("a test certificate");
    tlv(ctx(1), c.subject().as_raw())
}

/// responderID by the SHA-1 of a certificate's key.
fn by_key(cert: &[u8]) -> Vec<u8> {
    let (_, c) = X509Certificate::from_der(cert).expect("a test certificate");
    let hash = digest::digest(
        &digest::SHA1_FOR_LEGACY_USE_ONLY,
        &c.public_key().subject_public_key.data,
    );
    tlv(ctx(2), &tlv(der::OCTET_STRING, hash.as_ref()))
}

/// A successful basic response signed by `key`.
fn response(
    key: &KeyPair,
    responder: &[u8],
    singles: &[Vec<u8>],
    certs: &[&[u8]],
    nonce: Option<&[u8]>,
) -> Vec<u8> {
    let mut tbs = vec![
        responder.to_vec(),
        gtime(NOW - Duration::minutes(30)),
        tlv(der::SEQUENCE, &singles.concat()),
    ];
    if let Some(n) = nonce {
        let value = tlv(der::OCTET_STRING, &tlv(der::OCTET_STRING, n));
        let ext = constructed(der::SEQUENCE, &[&der::oid(NONCE), &value]);
        tbs.push(tlv(ctx(1), &tlv(der::SEQUENCE, &ext)));
    }
    let tbs = tlv(der::SEQUENCE, &tbs.concat());
    let sig = key.sign(&tbs).expect("the test key signs");
    let mut bits = vec![0u8];
    bits.extend(sig);
    let mut basic = vec![
        tbs,
        constructed(der::SEQUENCE, &[&der::oid(ECDSA_SHA256)]),
        tlv(der::BIT_STRING, &bits),
    ];
    if !certs.is_empty() {
        basic.push(tlv(ctx(0), &tlv(der::SEQUENCE, &certs.concat())));
    }
    let basic = tlv(der::SEQUENCE, &basic.concat());
    let bytes = constructed(
        der::SEQUENCE,
        &[&der::oid(BASIC), &tlv(der::OCTET_STRING, &basic)],
    );
    constructed(
        der::SEQUENCE,
        &[&tlv(der::ENUMERATED, &[0]), &tlv(ctx(0), &bytes)],
    )
}

struct Fixture {
    ca: Ca,
    leaf: Vec<u8>,
}

fn fixture() -> Fixture {
    let ca = Ca::root("OCSP Test CA", "certbound tests");
    let leaf = ca.issue(&LeafOptions::client("partner")).cert.to_vec();
    Fixture { ca, leaf }
}

impl Fixture {
    fn issuer(&self) -> &[u8] {
        &self.ca.cert
    }

    /// A response about the leaf from the issuer itself.
    fn signed_by_issuer(&self, single: Single) -> Vec<u8> {
        response(
            &self.ca.key,
            &by_name(self.issuer()),
            &[single.encode(&self.leaf, self.issuer())],
            &[],
            None,
        )
    }

    fn verify(&self, response: &[u8]) -> Result<OcspAnswer, OcspError> {
        verify_response(response, &self.leaf, self.issuer(), None, NOW)
    }

    /// A responder certificate issued by `by` (key, cert) with or without
    /// id-kp-OCSPSigning.
    fn responder(by: &Ca, ocsp_signing: bool) -> (KeyPair, Vec<u8>) {
        let key = KeyPair::generate().expect("P-256 key generation works");
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "OCSP Responder");
        params.not_before = NOW - Duration::days(30);
        params.not_after = NOW + Duration::days(30);
        params.is_ca = IsCa::ExplicitNoCa;
        params.extended_key_usages = if ocsp_signing {
            vec![ExtendedKeyUsagePurpose::OcspSigning]
        } else {
            vec![ExtendedKeyUsagePurpose::ClientAuth]
        };
        let issuer = Issuer::from_ca_cert_der(&by.cert, &by.key).expect("a CA certificate");
        let cert = params.signed_by(&key, &issuer).expect("rcgen signs");
        (key, cert.der().to_vec())
    }
}

#[test]
fn good_from_the_issuer_is_believed_until_next_update() {
    let f = fixture();
    let answer = f
        .verify(&f.signed_by_issuer(Single::good()))
        .expect("a good answer");
    assert_eq!(
        answer.status,
        OcspStatus::Good {
            next_update: NOW + Duration::days(1)
        }
    );
    assert_eq!(answer.signer, Signer::Issuer);
    assert_eq!(answer.valid_until, NOW + Duration::days(1));
}

#[test]
fn revoked_carries_date_and_reason() {
    let f = fixture();
    let at = datetime!(2026-05-20 08:00 UTC);
    let answer = f
        .verify(&f.signed_by_issuer(Single::says(Says::Revoked(at, Some(1)))))
        .expect("a revoked answer");
    assert_eq!(
        answer.status,
        OcspStatus::Revoked {
            at,
            reason: Some(Reason::KeyCompromise)
        }
    );
    assert_eq!(
        answer.status.to_string(),
        "revoked on 2026-05-20 (keyCompromise)"
    );
    let bare = f
        .verify(&f.signed_by_issuer(Single::says(Says::Revoked(at, None))))
        .expect("a revoked answer without reason");
    assert_eq!(bare.status, OcspStatus::Revoked { at, reason: None });
    // Reason 7 does not exist.
    let err = f
        .verify(&f.signed_by_issuer(Single::says(Says::Revoked(at, Some(7)))))
        .unwrap_err();
    assert_eq!(err.code(), "ocsp_malformed");
}

#[test]
fn unknown_is_an_answer() {
    let f = fixture();
    let answer = f
        .verify(&f.signed_by_issuer(Single::says(Says::Unknown)))
        .expect("an unknown answer");
    assert_eq!(answer.status, OcspStatus::Unknown);
}

#[test]
fn responder_by_key_is_the_issuer_too() {
    let f = fixture();
    let r = response(
        &f.ca.key,
        &by_key(f.issuer()),
        &[Single::good().encode(&f.leaf, f.issuer())],
        &[],
        None,
    );
    assert_eq!(f.verify(&r).expect("good").signer, Signer::Issuer);
}

#[test]
fn a_signature_by_another_key_is_refused() {
    let f = fixture();
    let other = Ca::root("OCSP Test CA", "certbound tests");
    // Names the issuer, signed by an impostor with the same name.
    let forged = response(
        &other.key,
        &by_name(f.issuer()),
        &[Single::good().encode(&f.leaf, f.issuer())],
        &[],
        None,
    );
    let err = f.verify(&forged).unwrap_err();
    assert!(matches!(err, OcspError::BadSignature { .. }), "{err}");
    // Names itself: not the issuer, no delegation.
    let other = Ca::root("Other CA", "elsewhere");
    let unauthorised = response(
        &other.key,
        &by_name(&other.cert),
        &[Single::good().encode(&f.leaf, f.issuer())],
        &[&other.cert],
        None,
    );
    let err = f.verify(&unauthorised).unwrap_err();
    assert_eq!(err.code(), "ocsp_unauthorised_signer", "{err}");
    assert!(err.to_string().contains("Other CA"), "{err}");
}

#[test]
fn a_delegated_responder_with_ocsp_signing_is_believed() {
    let f = fixture();
    let (key, cert) = Fixture::responder(&f.ca, true);
    let r = response(
        &key,
        &by_name(&cert),
        &[Single::good().encode(&f.leaf, f.issuer())],
        &[&cert],
        None,
    );
    let answer = f.verify(&r).expect("a delegated answer");
    assert!(matches!(answer.signer, Signer::Delegated(ref s) if s.contains("OCSP Responder")));
    // The same without the certificate in the response: nobody to believe.
    let r = response(
        &key,
        &by_name(&cert),
        &[Single::good().encode(&f.leaf, f.issuer())],
        &[],
        None,
    );
    assert_eq!(f.verify(&r).unwrap_err().code(), "ocsp_unauthorised_signer");
}

#[test]
fn a_delegated_responder_without_ocsp_signing_or_from_another_ca_is_refused() {
    let f = fixture();
    let (key, cert) = Fixture::responder(&f.ca, false);
    let r = response(
        &key,
        &by_name(&cert),
        &[Single::good().encode(&f.leaf, f.issuer())],
        &[&cert],
        None,
    );
    let err = f.verify(&r).unwrap_err();
    assert_eq!(err.code(), "ocsp_unauthorised_signer");
    assert!(err.to_string().contains("OCSPSigning"), "{err}");

    let other = Ca::root("Other CA", "elsewhere");
    let (key, cert) = Fixture::responder(&other, true);
    let r = response(
        &key,
        &by_name(&cert),
        &[Single::good().encode(&f.leaf, f.issuer())],
        &[&cert],
        None,
    );
    let err = f.verify(&r).unwrap_err();
    assert_eq!(err.code(), "ocsp_unauthorised_signer");
    assert!(err.to_string().contains("issued by"), "{err}");
}

#[test]
fn dates_are_checked() {
    let f = fixture();
    let stale = Single {
        this_update: NOW - Duration::days(2),
        next_update: Some(NOW - Duration::days(1)),
        ..Single::good()
    };
    assert_eq!(
        f.verify(&f.signed_by_issuer(stale)).unwrap_err().code(),
        "ocsp_stale"
    );
    let future = Single {
        this_update: NOW + Duration::hours(1),
        ..Single::good()
    };
    assert_eq!(
        f.verify(&f.signed_by_issuer(future)).unwrap_err().code(),
        "ocsp_not_yet_valid"
    );
    // Within the clock skew allowance.
    let skewed = Single {
        this_update: NOW + Duration::minutes(2),
        ..Single::good()
    };
    assert!(f.verify(&f.signed_by_issuer(skewed)).is_ok());
    // Without nextUpdate: current for an hour after thisUpdate.
    let recent = Single {
        this_update: NOW - Duration::minutes(10),
        next_update: None,
        ..Single::good()
    };
    let answer = f
        .verify(&f.signed_by_issuer(recent))
        .expect("recent enough");
    assert_eq!(
        answer.valid_until,
        NOW - Duration::minutes(10) + NO_NEXT_UPDATE_VALIDITY
    );
    let old = Single {
        this_update: NOW - Duration::hours(2),
        next_update: None,
        ..Single::good()
    };
    assert_eq!(
        f.verify(&f.signed_by_issuer(old)).unwrap_err().code(),
        "ocsp_stale"
    );
}

#[test]
fn the_answer_must_be_about_this_certificate() {
    let f = fixture();
    let sibling = f.ca.issue(&LeafOptions::client("other")).cert.to_vec();
    let r = response(
        &f.ca.key,
        &by_name(f.issuer()),
        &[Single::good().encode(&sibling, f.issuer())],
        &[],
        None,
    );
    let err = f.verify(&r).unwrap_err();
    assert_eq!(err.code(), "ocsp_no_answer");
    // Among several, the right one is found.
    let r = response(
        &f.ca.key,
        &by_name(f.issuer()),
        &[
            Single::good().encode(&sibling, f.issuer()),
            Single::says(Says::Unknown).encode(&f.leaf, f.issuer()),
        ],
        &[],
        None,
    );
    assert_eq!(f.verify(&r).expect("found").status, OcspStatus::Unknown);
    // The wrong issuer for the certificate.
    let other = Ca::root("Other CA", "elsewhere");
    let err = verify_response(&r, &f.leaf, &other.cert, None, NOW).unwrap_err();
    assert_eq!(err.code(), "ocsp_not_the_issuer");
}

#[test]
fn nonces_must_match_when_echoed() {
    let f = fixture();
    let single = Single::good().encode(&f.leaf, f.issuer());
    let echoed = response(
        &f.ca.key,
        &by_name(f.issuer()),
        std::slice::from_ref(&single),
        &[],
        Some(b"n1"),
    );
    let ok = verify_response(&echoed, &f.leaf, f.issuer(), Some(b"n1"), NOW);
    assert!(ok.is_ok(), "{ok:?}");
    let err = verify_response(&echoed, &f.leaf, f.issuer(), Some(b"n2"), NOW).unwrap_err();
    assert_eq!(err, OcspError::NonceMismatch);
    // A pre-signed response without a nonce is accepted.
    let plain = response(&f.ca.key, &by_name(f.issuer()), &[single], &[], None);
    assert!(verify_response(&plain, &f.leaf, f.issuer(), Some(b"n1"), NOW).is_ok());
}

#[test]
fn error_statuses_are_named() {
    for (code, name) in [
        (1u8, "malformedRequest"),
        (3, "tryLater"),
        (6, "unauthorized"),
    ] {
        let r = tlv(der::SEQUENCE, &tlv(der::ENUMERATED, &[code]));
        assert_eq!(
            parse_response(&r).unwrap_err(),
            OcspError::NotSuccessful { status: name }
        );
    }
}

#[test]
fn requests_carry_sha1_cert_id_and_nonce() {
    let f = fixture();
    let req = request(&f.leaf, f.issuer(), Some(b"0123456789abcdef")).expect("a request");
    // OCSPRequest > TBSRequest > requestList > Request > CertID.
    let mut r = Reader(&req.der);
    let tbs = r
        .expect(der::SEQUENCE, "req")
        .unwrap()
        .inner()
        .expect(der::SEQUENCE, "tbs")
        .unwrap();
    let mut t = tbs.inner();
    let list = t.expect(der::SEQUENCE, "list").unwrap();
    let exts = t.expect(ctx(2), "exts").unwrap();
    assert!(t.is_empty());
    let one = list.inner().expect(der::SEQUENCE, "one").unwrap();
    let mut id = one.inner().expect(der::SEQUENCE, "id").unwrap().inner();
    let alg = id.expect(der::SEQUENCE, "alg").unwrap();
    let alg_oid = alg.inner().expect(der::OID, "oid").unwrap();
    assert_eq!(der::oid_string(alg_oid.content), SHA1);
    assert_eq!(
        id.expect(der::OCTET_STRING, "name").unwrap().content.len(),
        20
    );
    assert_eq!(
        id.expect(der::OCTET_STRING, "key").unwrap().content.len(),
        20
    );
    let serial = id.expect(der::INTEGER, "serial").unwrap();
    let (_, leaf) = X509Certificate::from_der(&f.leaf).unwrap();
    assert_eq!(serial.content, leaf.raw_serial());
    assert!(exts.raw.windows(16).any(|w| w == b"0123456789abcdef"));
    assert_eq!(req.nonce.as_deref(), Some(&b"0123456789abcdef"[..]));
    let plain = request(&f.leaf, f.issuer(), None).expect("a request");
    assert!(plain.der.len() < req.der.len());
}

#[test]
fn times_are_read_with_and_without_fractions() {
    let t = |s: &str| {
        generalized_time(
            Reader(&tlv(der::GENERALIZED_TIME, s.as_bytes()))
                .any("t")
                .unwrap(),
        )
    };
    assert_eq!(t("20260601120000Z"), Ok(NOW));
    assert_eq!(
        t("20260601120000.5Z"),
        Ok(NOW + Duration::milliseconds(500))
    );
    for bad in [
        "20260601120000",
        "2026060112000Z",
        "20261301120000Z",
        "20260601120000.Z",
        "2026060112000+Z",
    ] {
        assert!(t(bad).is_err(), "{bad}");
    }
}

#[test]
fn urls_are_read_from_aia_and_crl_dp() {
    let ca = Ca::root("URL CA", "certbound tests");
    let key = KeyPair::generate().expect("P-256 key generation works");
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "with urls");
    let access = |method: &str, url: &str| {
        constructed(
            der::SEQUENCE,
            &[&der::oid(method), &tlv(ctx_prim(6), url.as_bytes())],
        )
    };
    let aia = constructed(
        der::SEQUENCE,
        &[
            &access("1.3.6.1.5.5.7.48.2", "http://ca.example/ca.crt"),
            &access(AD_OCSP, "http://ocsp.example/"),
        ],
    );
    params.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 5, 5, 7, 1, 1],
        aia,
    )];
    params.crl_distribution_points = vec![rcgen::CrlDistributionPoint {
        uris: vec!["http://crl.example/ca.crl".to_string()],
    }];
    let issuer = Issuer::from_ca_cert_der(&ca.cert, &ca.key).expect("a CA certificate");
    let cert = params
        .signed_by(&key, &issuer)
        .expect("rcgen signs")
        .der()
        .to_vec();
    assert_eq!(
        responder_urls(&cert),
        vec!["http://ocsp.example/".to_string()]
    );
    assert_eq!(
        crl_urls(&cert),
        vec!["http://crl.example/ca.crl".to_string()]
    );
    assert!(responder_urls(&ca.cert).is_empty());
    assert!(crl_urls(b"not a certificate").is_empty());
}

/// What the fuzz target does, over every truncation and many bit flips of a
/// real response and some hand-made garbage: an error, never a panic.
#[test]
fn malformed_responses_are_errors_not_panics() {
    let f = fixture();
    let (key, cert) = Fixture::responder(&f.ca, true);
    let good = response(
        &key,
        &by_name(&cert),
        &[Single::says(Says::Revoked(NOW, Some(1))).encode(&f.leaf, f.issuer())],
        &[&cert],
        Some(b"nonce"),
    );
    assert!(parse_response(&good).is_ok());
    for n in 0..good.len() {
        assert!(parse_response(&good[..n]).is_err(), "truncated at {n}");
        let _ = verify_response(&good[..n], &f.leaf, f.issuer(), None, NOW);
    }
    for i in 0..good.len() {
        for bit in [0x01u8, 0x80] {
            let mut flipped = good.clone();
            flipped[i] ^= bit;
            let _ = parse_response(&flipped);
            let _ = verify_response(&flipped, &f.leaf, f.issuer(), None, NOW);
        }
    }
    for junk in [
        &b""[..],
        &[0x30],
        &[0x30, 0x00],
        &[0x30, 0x03, 0x0a, 0x01, 0x00],
        &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
        &[0x30, 0x80, 0x0a, 0x01, 0x00, 0x00, 0x00],
        b"-----BEGIN OCSP RESPONSE-----",
    ] {
        assert!(parse_response(junk).is_err(), "{junk:02x?}");
    }
}
