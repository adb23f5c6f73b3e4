//! PKCS#12 files made at test time by `openssl pkcs12 -export` (OpenSSL 3
//! default and `-legacy`) and by Java keytool; files written here read back
//! by openssl and keytool. A wrong or missing password is said so.

use std::path::Path;
use std::process::Command;

use certbound_testkit::pki::{Ca, LeafOptions, pem};

use super::*;
use crate::encrypted::tests::openssl;
use crate::key::parse_private_key;

const PASSWORD: &str = "p12 secret";

/// root → intermediate → client, written as PEM files in `dir`:
/// leaf.pem, key.pem, inter.pem, root.pem.
fn chain_files(dir: &Path) -> (CertDer, CertDer, CertDer) {
    let root = Ca::root("P12 Root", "Test");
    let inter = root.intermediate("P12 Intermediate", "Test");
    let leaf = inter.issue(&LeafOptions::client("p12-client"));
    std::fs::write(dir.join("leaf.pem"), pem("CERTIFICATE", &leaf.cert)).unwrap();
    std::fs::write(dir.join("key.pem"), &leaf.key_pem).unwrap();
    std::fs::write(dir.join("inter.pem"), inter.cert_pem()).unwrap();
    std::fs::write(dir.join("root.pem"), root.cert_pem()).unwrap();
    // Out of order on purpose: the reader orders them.
    let bundle = format!("{}{}", root.cert_pem(), inter.cert_pem());
    std::fs::write(dir.join("cas.pem"), bundle).unwrap();
    (leaf.cert, inter.cert, root.cert)
}

fn export(dir: &Path, out: &str, extra: &[&str]) -> Vec<u8> {
    let pass = format!("pass:{PASSWORD}");
    let mut args = vec![
        "pkcs12",
        "-export",
        "-inkey",
        "key.pem",
        "-in",
        "leaf.pem",
        "-certfile",
        "cas.pem",
        "-name",
        "client",
        "-passout",
        &pass,
        "-out",
        out,
    ];
    args.extend_from_slice(extra);
    openssl(dir, &args);
    std::fs::read(dir.join(out)).unwrap()
}

#[test]
fn openssl_default_and_legacy_exports_read_with_their_chain() {
    let dir = tempfile::tempdir().unwrap();
    let (leaf, inter, root) = chain_files(dir.path());
    for (name, extra) in [("default.p12", &[][..]), ("legacy.p12", &["-legacy"][..])] {
        let bytes = export(dir.path(), name, extra);
        assert!(is_pkcs12(&bytes), "{name}");
        let got = read_pkcs12(&bytes, Some(PASSWORD)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            got.chain,
            vec![leaf.clone(), inter.clone(), root.clone()],
            "{name}"
        );
        assert!(got.other.is_empty());
        assert!(got.key.matches_certificate(&leaf));
        assert_eq!(got.friendly_name.as_deref(), Some("client"), "{name}");
        // A wrong password is said so (the MAC is checked first)...
        assert!(
            matches!(
                read_pkcs12(&bytes, Some("nope")),
                Err(KeyError::WrongPassword)
            ),
            "{name}"
        );
        // ...and no password asks for one.
        assert!(
            matches!(read_pkcs12(&bytes, None), Err(KeyError::Encrypted { .. })),
            "{name}"
        );
        // Given where a key is expected, the key is read from it.
        let key = crate::key::parse_private_key_with_password(&bytes, Some(PASSWORD)).unwrap();
        assert!(key.matches_certificate(&leaf));
    }
}

#[test]
fn an_empty_password_needs_none() {
    let dir = tempfile::tempdir().unwrap();
    let (leaf, ..) = chain_files(dir.path());
    openssl(
        dir.path(),
        &[
            "pkcs12",
            "-export",
            "-inkey",
            "key.pem",
            "-in",
            "leaf.pem",
            "-passout",
            "pass:",
            "-out",
            "empty.p12",
        ],
    );
    let bytes = std::fs::read(dir.path().join("empty.p12")).unwrap();
    let got = read_pkcs12(&bytes, None).unwrap();
    assert_eq!(got.chain, vec![leaf]);
}

#[test]
fn a_trust_store_without_a_key_is_not_an_identity() {
    let dir = tempfile::tempdir().unwrap();
    chain_files(dir.path());
    let pass = format!("pass:{PASSWORD}");
    openssl(
        dir.path(),
        &[
            "pkcs12",
            "-export",
            "-nokeys",
            "-in",
            "cas.pem",
            "-passout",
            &pass,
            "-out",
            "trust.p12",
        ],
    );
    let bytes = std::fs::read(dir.path().join("trust.p12")).unwrap();
    let err = read_pkcs12(&bytes, Some(PASSWORD)).unwrap_err();
    assert!(err.to_string().contains("holds no private key"), "{err}");
}

#[test]
fn not_pkcs12() {
    assert!(!is_pkcs12(b""));
    assert!(!is_pkcs12(b"-----BEGIN CERTIFICATE-----"));
    let root = Ca::root("R", "T");
    assert!(!is_pkcs12(&root.cert));
    assert!(!is_pkcs12(&root.key.serialize_der()));
}

fn keytool(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("keytool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("keytool is installed (the test command installs a JDK)");
    assert!(
        out.status.success(),
        "keytool {}: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn keytool_made_keystore_reads() {
    let dir = tempfile::tempdir().unwrap();
    keytool(
        dir.path(),
        &[
            "-genkeypair",
            "-keystore",
            "java.p12",
            "-storetype",
            "PKCS12",
            "-storepass",
            PASSWORD,
            "-alias",
            "svc",
            "-keyalg",
            "EC",
            "-groupname",
            "secp256r1",
            "-dname",
            "CN=java-client",
            "-validity",
            "2",
        ],
    );
    let bytes = std::fs::read(dir.path().join("java.p12")).unwrap();
    assert!(is_pkcs12(&bytes));
    let got = read_pkcs12(&bytes, Some(PASSWORD)).unwrap();
    assert_eq!(got.chain.len(), 1);
    assert_eq!(got.friendly_name.as_deref(), Some("svc"));
    assert!(matches!(
        read_pkcs12(&bytes, Some("x")),
        Err(KeyError::WrongPassword)
    ));
}

#[test]
fn written_files_read_back_here_in_openssl_and_in_keytool() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (leaf, inter, root) = chain_files(d);
    let key = parse_private_key(&std::fs::read(d.join("key.pem")).unwrap()).unwrap();
    let chain = vec![leaf.clone(), inter, root];
    let bytes = write_pkcs12(&key.key_pair.serialize_der(), &chain, "my client", PASSWORD).unwrap();
    std::fs::write(d.join("out.p12"), &bytes).unwrap();
    std::fs::write(d.join("pw.txt"), format!("{PASSWORD}\n")).unwrap();

    let back = read_pkcs12(&bytes, Some(PASSWORD)).unwrap();
    assert_eq!(back.chain, chain);
    assert_eq!(back.friendly_name.as_deref(), Some("my client"));

    let out = Command::new("openssl")
        .args([
            "pkcs12",
            "-in",
            "out.p12",
            "-nokeys",
            "-passin",
            "file:pw.txt",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("BEGIN CERTIFICATE").count(), 3, "{text}");
    // The key bag carries the friendlyName (the alias keytool and .NET show).
    let keys = Command::new("openssl")
        .args([
            "pkcs12",
            "-in",
            "out.p12",
            "-nocerts",
            "-nodes",
            "-passin",
            "file:pw.txt",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    let keys = String::from_utf8_lossy(&keys.stdout);
    assert!(keys.contains("friendlyName: my client"), "{keys}");
    assert!(keys.contains("BEGIN PRIVATE KEY"), "{keys}");
    // OpenSSL sees the algorithms we promise.
    let info = Command::new("openssl")
        .args([
            "pkcs12",
            "-in",
            "out.p12",
            "-info",
            "-noout",
            "-passin",
            "file:pw.txt",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stderr);
    assert!(info.contains("MAC: sha256"), "{info}");
    assert!(info.contains("PBKDF2, AES-256-CBC"), "{info}");
    assert!(info.contains("hmacWithSHA256"), "{info}");

    let listed = keytool(
        d,
        &[
            "-list",
            "-keystore",
            "out.p12",
            "-storetype",
            "PKCS12",
            "-storepass",
            PASSWORD,
        ],
    );
    assert!(listed.contains("my client"), "{listed}");
    assert!(listed.contains("PrivateKeyEntry"), "{listed}");
}

#[test]
fn containers_are_told_apart_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    chain_files(d);
    let p12 = export(d, "c.p12", &[]);
    assert_eq!(container(&p12), Some(Container::Pkcs12));
    openssl(
        d,
        &[
            "crl2pkcs7",
            "-nocrl",
            "-certfile",
            "cas.pem",
            "-out",
            "b.p7b",
        ],
    );
    openssl(
        d,
        &[
            "crl2pkcs7",
            "-nocrl",
            "-certfile",
            "cas.pem",
            "-outform",
            "DER",
            "-out",
            "b.der",
        ],
    );
    assert_eq!(
        container(&std::fs::read(d.join("b.p7b")).unwrap()),
        Some(Container::Pkcs7Pem)
    );
    assert_eq!(
        container(&std::fs::read(d.join("b.der")).unwrap()),
        Some(Container::Pkcs7Der)
    );
    keytool(
        d,
        &[
            "-genkeypair",
            "-keystore",
            "k.jks",
            "-storetype",
            "JKS",
            "-storepass",
            PASSWORD,
            "-alias",
            "a",
            "-keyalg",
            "EC",
            "-dname",
            "CN=jks",
            "-validity",
            "2",
        ],
    );
    assert_eq!(
        container(&std::fs::read(d.join("k.jks")).unwrap()),
        Some(Container::Jks)
    );
    assert_eq!(container(&std::fs::read(d.join("leaf.pem")).unwrap()), None);
    assert_eq!(
        Container::Jks.conversion("dir/k.jks").unwrap(),
        "keytool -importkeystore -srckeystore dir/k.jks -srcstoretype JKS -destkeystore dir/k.p12 -deststoretype PKCS12"
    );
    assert_eq!(
        Container::Pkcs7Der.conversion("b.der").unwrap(),
        "openssl pkcs7 -inform DER -print_certs -in b.der -out b.pem"
    );
    assert!(Container::Pkcs12.conversion("c.p12").is_none());
}
