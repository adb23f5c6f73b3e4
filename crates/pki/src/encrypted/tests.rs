//! Keys encrypted by the real `openssl` at test time, in every form it
//! writes: each decrypts with the right password, and a wrong or missing
//! password is said so, never as a parser error.

use std::path::Path;
use std::process::Command;

use super::*;
use crate::key::{KeyFormat, parse_private_key, parse_private_key_with_password};

const PASSWORD: &str = "correct horse";

/// Run openssl in `dir`; panics with its stderr when it fails.
pub(crate) fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A plain key and the matching public key as a self-signed certificate.
fn plain(dir: &Path, kind: &str) -> (Vec<u8>, Vec<u8>) {
    match kind {
        "rsa" => openssl(
            dir,
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                "plain.pem",
            ],
        ),
        "ec" => openssl(
            dir,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                "plain.pem",
            ],
        ),
        _ => openssl(
            dir,
            &["genpkey", "-algorithm", "ED25519", "-out", "plain.pem"],
        ),
    }
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "plain.pem",
            "-subj",
            "/CN=enc.test",
            "-days",
            "1",
            "-out",
            "cert.der",
            "-outform",
            "DER",
        ],
    );
    (
        std::fs::read(dir.join("plain.pem")).unwrap(),
        std::fs::read(dir.join("cert.der")).unwrap(),
    )
}

fn assert_password_cases(what: &str, bytes: &[u8], cert: &[u8], format: KeyFormat) {
    let key = parse_private_key_with_password(bytes, Some(PASSWORD))
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(key.matches_certificate(cert), "{what}: wrong key");
    assert_eq!(key.format, format, "{what}");
    // rustls gets PKCS#8 whatever the key came in.
    let pkcs8 = key
        .pkcs8_der()
        .unwrap_or_else(|| panic!("{what}: no PKCS#8"));
    assert!(
        parse_private_key(&pkcs8).unwrap().matches_certificate(cert),
        "{what}"
    );
    assert!(
        matches!(key.to_der(), rustls_pki_types::PrivateKeyDer::Pkcs8(_)),
        "{what}"
    );
    assert!(
        matches!(
            parse_private_key_with_password(bytes, Some("wrong password")),
            Err(KeyError::WrongPassword)
        ),
        "{what}: wrong password"
    );
    assert!(
        matches!(parse_private_key(bytes), Err(KeyError::Encrypted { .. })),
        "{what}: no password"
    );
}

#[test]
fn pkcs8_pbes2_in_pem_and_der() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pass = format!("pass:{PASSWORD}");
    for kind in ["rsa", "ec", "ed25519"] {
        let (_, cert) = plain(d, kind);
        for (cipher, prf) in [
            ("aes256", "hmacWithSHA256"),
            ("aes128", "hmacWithSHA1"),
            ("aes192", "hmacWithSHA256"),
            ("des3", "hmacWithSHA256"),
        ] {
            for form in ["PEM", "DER"] {
                openssl(
                    d,
                    &[
                        "pkcs8",
                        "-topk8",
                        "-in",
                        "plain.pem",
                        "-v2",
                        cipher,
                        "-v2prf",
                        prf,
                        "-passout",
                        &pass,
                        "-outform",
                        form,
                        "-out",
                        "enc",
                    ],
                );
                let bytes = std::fs::read(d.join("enc")).unwrap();
                assert_password_cases(
                    &format!("{kind} {cipher} {prf} {form}"),
                    &bytes,
                    &cert,
                    KeyFormat::Pkcs8,
                );
            }
        }
    }
}

#[test]
fn legacy_pem_from_genrsa_rsa_and_ec() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pass = format!("pass:{PASSWORD}");
    let (_, cert) = plain(d, "rsa");
    for cipher in ["-aes256", "-aes128", "-aes192", "-des3"] {
        openssl(
            d,
            &[
                "rsa",
                "-in",
                "plain.pem",
                cipher,
                "-traditional",
                "-passout",
                &pass,
                "-out",
                "legacy.pem",
            ],
        );
        let bytes = std::fs::read(d.join("legacy.pem")).unwrap();
        assert!(String::from_utf8_lossy(&bytes).contains("Proc-Type: 4,ENCRYPTED"));
        assert_password_cases(&format!("rsa {cipher}"), &bytes, &cert, KeyFormat::Pkcs1);
    }
    let (_, cert) = plain(d, "ec");
    openssl(
        d,
        &[
            "ec",
            "-in",
            "plain.pem",
            "-aes256",
            "-passout",
            &pass,
            "-out",
            "legacy.pem",
        ],
    );
    let bytes = std::fs::read(d.join("legacy.pem")).unwrap();
    assert_password_cases("ec -aes256", &bytes, &cert, KeyFormat::Sec1);
    // genrsa writes one directly.
    openssl(
        d,
        &[
            "genrsa",
            "-aes256",
            "-traditional",
            "-passout",
            &pass,
            "-out",
            "gen.pem",
            "2048",
        ],
    );
    let bytes = std::fs::read(d.join("gen.pem")).unwrap();
    let key = parse_private_key_with_password(&bytes, Some(PASSWORD)).unwrap();
    assert_eq!(key.kind(), "RSA");
}

#[test]
fn unsupported_schemes_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    plain(d, "ec");
    // PBES1 (PKCS#12 3DES), the default of OpenSSL 1.x `pkcs8 -topk8`.
    openssl(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "plain.pem",
            "-v1",
            "PBE-SHA1-3DES",
            "-passout",
            "pass:x",
            "-out",
            "v1.pem",
        ],
    );
    let bytes = std::fs::read(d.join("v1.pem")).unwrap();
    let err = parse_private_key_with_password(&bytes, Some("x")).unwrap_err();
    assert!(
        matches!(err, KeyError::UnsupportedEncryption { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("openssl pkcs8 -topk8 -v2 aes256"),
        "{err}"
    );
}

#[test]
fn messages_name_the_file() {
    let missing = KeyError::Encrypted {
        label: "ENCRYPTED PRIVATE KEY".into(),
    }
    .describe("client.key");
    assert!(missing.starts_with("client.key is encrypted"), "{missing}");
    assert!(
        missing.contains("--key-password-file FILE or CERTBOUND_KEY_PASSWORD"),
        "{missing}"
    );
    let wrong = KeyError::WrongPassword.describe("client.key");
    assert!(
        wrong.starts_with("the password for client.key is wrong"),
        "{wrong}"
    );
}

#[test]
fn bytes_to_key_is_md5_chained() {
    let salt = [1, 2, 3, 4, 5, 6, 7, 8];
    let k = bytes_to_key(b"secret", &salt, 32);
    let d1 = Md5::new()
        .chain_update(b"secret")
        .chain_update(salt)
        .finalize();
    let d2 = Md5::new()
        .chain_update(d1)
        .chain_update(b"secret")
        .chain_update(salt)
        .finalize();
    assert_eq!(&k[..16], d1.as_slice());
    assert_eq!(&k[16..], d2.as_slice());
}

#[test]
fn bad_dek_info_is_unsupported() {
    for dek in [
        "AES-256-CBC",
        "AES-256-CBC,zz",
        "BF-CBC,0102030405060708",
        "AES-256-CBC,01",
    ] {
        assert!(
            matches!(
                decrypt_legacy(dek, &[0; 16], "pw"),
                Err(KeyError::UnsupportedEncryption { .. })
            ),
            "{dek}"
        );
    }
}

/// A key whose PBKDF2 asks for millions of rounds is refused before any
/// round is worked: a file from elsewhere must not hold a program for hours.
#[test]
fn pbkdf2_iterations_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    plain(d, "ec");
    openssl(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "plain.pem",
            "-v2",
            "aes256",
            "-iter",
            "65536",
            "-passout",
            "pass:x",
            "-outform",
            "DER",
            "-out",
            "many.der",
        ],
    );
    let mut der = std::fs::read(d.join("many.der")).unwrap();
    // The iteration count, INTEGER 65536, made 8,388,607 in place.
    let at = der
        .windows(5)
        .position(|w| w == [0x02, 0x03, 0x01, 0x00, 0x00])
        .expect("the iteration count");
    der[at + 2..at + 5].copy_from_slice(&[0x7f, 0xff, 0xff]);
    let started = std::time::Instant::now();
    let err = parse_private_key_with_password(&der, Some("x")).unwrap_err();
    assert!(
        matches!(&err, KeyError::UnsupportedEncryption { scheme } if scheme.contains("8388607 iterations")),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    // The file as openssl wrote it opens.
    let good = std::fs::read(d.join("many.der")).unwrap();
    assert!(parse_private_key_with_password(&good, Some("x")).is_ok());
}
