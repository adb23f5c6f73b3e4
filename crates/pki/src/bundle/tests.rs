use super::*;
use certbound_testkit::{LeafOptions, TestPki, pem};

fn two_cert_pem() -> (String, TestPki) {
    let pki = TestPki::new();
    let leaf = pki.intermediate.issue(&LeafOptions::client("alice"));
    (
        format!("{}{}", leaf.cert_pem(), pki.intermediate.cert_pem()),
        pki,
    )
}

#[test]
fn reads_several_pem_certificates_in_order() {
    let (text, pki) = two_cert_pem();
    let certs = parse_certificates(text.as_bytes()).unwrap();
    assert_eq!(certs.len(), 2);
    assert_eq!(certs[1].as_ref(), pki.intermediate.cert.as_ref());
}

#[test]
fn ignores_text_around_blocks_and_crlf() {
    let (text, _) = two_cert_pem();
    let noisy = format!(
        "Bag Attributes\r\n  friendlyName: x\r\nsubject=CN = alice\r\n{}\r\ntrailing words",
        text.replace('\n', "\r\n")
    );
    assert_eq!(parse_certificates(noisy.as_bytes()).unwrap().len(), 2);
}

#[test]
fn reads_der() {
    let pki = TestPki::new();
    let certs = parse_certificates(&pki.root.cert).unwrap();
    assert_eq!(certs.len(), 1);
}

#[test]
fn der_with_trailing_bytes_is_refused() {
    let pki = TestPki::new();
    let mut der = pki.root.cert.to_vec();
    der.extend_from_slice(b"xx");
    assert!(matches!(
        parse_certificates(&der),
        Err(BundleError::BadDer { .. })
    ));
}

#[test]
fn names_what_the_wrong_file_is() {
    let pki = TestPki::new();
    assert_eq!(parse_certificates(b"").unwrap_err(), BundleError::Empty);
    assert_eq!(
        parse_certificates(b" \n\t").unwrap_err(),
        BundleError::Empty
    );
    assert!(matches!(
        parse_certificates(pki.root.key_pem().as_bytes()).unwrap_err(),
        BundleError::PrivateKey { .. }
    ));
    let csr = pem("CERTIFICATE REQUEST", b"\x30\x00");
    assert!(matches!(
        parse_certificates(csr.as_bytes()).unwrap_err(),
        BundleError::Csr { .. }
    ));
    let p7 = pem("PKCS7", b"\x30\x00");
    assert!(matches!(
        parse_certificates(p7.as_bytes()).unwrap_err(),
        BundleError::Pkcs7 { .. }
    ));
    assert_eq!(
        parse_certificates(b"hello world").unwrap_err(),
        BundleError::NotCertificate
    );
    let err = parse_certificates(pki.root.key_pem().as_bytes())
        .unwrap_err()
        .to_string();
    assert!(err.contains("--key"), "{err}");
}

#[test]
fn names_the_broken_block() {
    let (text, _) = two_cert_pem();
    // Corrupt the second block's base64.
    let second = text.rfind("-----BEGIN CERTIFICATE-----").unwrap();
    let mut broken = text.clone();
    broken.replace_range(second + 28..second + 32, "!!!!");
    match parse_certificates(broken.as_bytes()).unwrap_err() {
        BundleError::BadBase64 { index, line, .. } => {
            assert_eq!(index, 2);
            assert!(line > 1);
        }
        other => panic!("unexpected {other:?}"),
    }
    let truncated = &text[..text.len() - 30];
    assert!(matches!(
        parse_certificates(truncated.as_bytes()).unwrap_err(),
        BundleError::Unterminated { index: 2, .. }
    ));
    let not_x509 = pem("CERTIFICATE", b"\x30\x03\x02\x01\x01");
    let e = parse_certificates(not_x509.as_bytes()).unwrap_err();
    assert!(
        matches!(
            e,
            BundleError::BadCertificate {
                index: 1,
                line: 1,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn trusted_certificate_keeps_the_certificate() {
    let pki = TestPki::new();
    let mut der = pki.root.cert.to_vec();
    der.extend_from_slice(&[0x30, 0x00]); // OpenSSL's trailing trust settings
    let text = pem("TRUSTED CERTIFICATE", &der);
    let certs = parse_certificates(text.as_bytes()).unwrap();
    assert_eq!(certs[0].as_ref(), pki.root.cert.as_ref());
}

#[test]
fn too_large_is_refused_before_parsing() {
    let big = vec![b'a'; MAX_BUNDLE_BYTES + 1];
    assert!(matches!(
        parse_certificates(&big),
        Err(BundleError::TooLarge { .. })
    ));
}

#[test]
fn line_numbers_count_from_one() {
    let (text, _) = two_cert_pem();
    let blocks = pem_blocks(format!("\n\n{text}").as_bytes()).unwrap();
    assert_eq!(blocks[0].line, 3);
    assert!(blocks[1].line > blocks[0].line);
}

#[test]
fn reads_pem_quoted_from_an_email_reply() {
    let (text, pki) = two_cert_pem();
    for prefix in ["> ", ">", ">> ", "> > "] {
        let quoted: String = text.lines().map(|l| format!("{prefix}{l}\n")).collect();
        let mail = format!("On Monday, Partner wrote:\n{quoted}> \n> Regards\n");
        let certs = parse_certificates(mail.as_bytes()).unwrap();
        assert_eq!(certs.len(), 2, "{prefix:?}");
        assert_eq!(certs[1].as_ref(), pki.intermediate.cert.as_ref());
    }
    // A quote mark inside the base64 is still refused.
    let broken = text.replacen("\nMII", "\nM>II", 1);
    assert!(matches!(
        parse_certificates(broken.as_bytes()),
        Err(BundleError::BadBase64 { .. })
    ));
}
