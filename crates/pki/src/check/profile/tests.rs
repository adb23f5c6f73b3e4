//! Every profile finding on a certificate made by the real `openssl` at test
//! time, beside a conforming certificate that must pass; where OpenSSL also
//! refuses the certificate, `openssl verify -x509_strict` is run on the same
//! files and must refuse it too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::lab::*;
use super::*;
fn lint_as(certs: &[(CertDer, Role)], usage: Usage, host: Option<&str>) -> Vec<Check> {
    check(certs, &Scope { usage, host })
}

fn lint(certs: &[(CertDer, Role)]) -> Vec<Check> {
    lint_as(certs, Usage::Server, None)
}

/// The (id, status) of each line.
fn ids(lines: &[Check]) -> Vec<(&'static str, Status)> {
    lines.iter().map(|c| (c.id, c.status)).collect()
}

fn assert_clean(lines: &[Check]) {
    assert_eq!(ids(lines), [("profile", Status::Pass)], "{lines:#?}");
}

/// The lines hold `id` with `status`, with its RFC section and fix.
fn assert_finding(lines: &[Check], id: &str, status: Status) {
    let line = lines
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no finding {id} in {lines:#?}"));
    assert_eq!(line.status, status, "{line:#?}");
    assert_eq!(line.severity, Some(status));
    assert!(line.rfc.is_some_and(|r| r.starts_with("RFC ")), "{line:#?}");
    assert!(line.hint.as_ref().is_some_and(|h| !h.is_empty()));
    assert!(line.certificate.is_some());
}

fn chain(lab: &Lab, leaf: CertDer, inter: Option<CertDer>) -> Vec<(CertDer, Role)> {
    let mut certs = vec![(leaf, Role::Leaf)];
    certs.extend(inter.map(|i| (i, Role::Issuer)));
    certs.push((lab.der("root"), Role::Anchor));
    certs
}

#[test]
fn a_conforming_chain_has_nothing_to_report() {
    let lab = Lab::new();
    let inter = lab.issue("inter", "root", "/CN=Test Inter", INTER, None, None);
    let leaf = lab.issue("leaf", "inter", "/CN=leaf.example.com", LEAF, None, None);
    let lines = lint(&chain(&lab, leaf, Some(inter)));
    assert_clean(&lines);
    assert!(lines[0].message.contains("3 certificates"), "{lines:#?}");
    assert!(lab.openssl_verifies("leaf", &["inter"]));
}

/// A leaf issued by the root with `ext` instead of the conforming set.
struct LeafCase {
    name: &'static str,
    ext: String,
    subject: &'static str,
    serial: Option<&'static str>,
    id: &'static str,
    status: Status,
    /// `openssl verify -x509_strict` refuses it too.
    openssl_refuses: bool,
}

fn leaf_case(
    name: &'static str,
    ext: impl Into<String>,
    id: &'static str,
    status: Status,
    openssl_refuses: bool,
) -> LeafCase {
    LeafCase {
        name,
        ext: ext.into(),
        subject: "/CN=leaf.example.com",
        serial: None,
        id,
        status,
        openssl_refuses,
    }
}

#[test]
fn each_leaf_finding_beside_a_conforming_leaf() {
    use Status::{Fail, Warn};
    let lab = Lab::new();
    let good = lab.issue("good", "root", "/CN=leaf.example.com", LEAF, None, None);
    assert_clean(&lint(&chain(&lab, good, None)));
    assert!(lab.openssl_verifies("good", &[]));
    let cases = [
        leaf_case(
            "ca-false-explicit",
            replace(
                LEAF,
                "basicConstraints",
                "basicConstraints=critical,DER:30:03:01:01:00",
            ),
            "der-default-encoded",
            Fail,
            false,
        ),
        leaf_case(
            "no-aki",
            without(LEAF, "authorityKeyIdentifier"),
            "aki-missing",
            Fail,
            true,
        ),
        leaf_case(
            "aki-critical",
            replace(
                LEAF,
                "authorityKeyIdentifier",
                "authorityKeyIdentifier=critical,keyid",
            ),
            "aki-critical",
            Fail,
            true,
        ),
        leaf_case(
            "aki-issuer",
            replace(
                LEAF,
                "authorityKeyIdentifier",
                "authorityKeyIdentifier=issuer:always",
            ),
            "aki-no-key-id",
            Fail,
            true,
        ),
        leaf_case(
            "ski-critical",
            replace(
                LEAF,
                "subjectKeyIdentifier",
                "subjectKeyIdentifier=critical,hash",
            ),
            "ski-critical",
            Fail,
            true,
        ),
        leaf_case(
            "kcs-leaf",
            replace(
                LEAF,
                "keyUsage",
                "keyUsage=critical,digitalSignature,keyCertSign",
            ),
            "key-cert-sign-not-ca",
            Fail,
            true,
        ),
        leaf_case(
            "unknown-critical",
            format!("{LEAF}1.2.3.4=critical,ASN1:NULL\n"),
            "critical-extension-unknown",
            Fail,
            true,
        ),
        LeafCase {
            subject: "/",
            ..leaf_case(
                "empty-subject",
                LEAF,
                "san-not-critical-empty-subject",
                Fail,
                true,
            )
        },
        leaf_case(
            "san-critical",
            replace(
                LEAF,
                "subjectAltName",
                "subjectAltName=critical,DNS:leaf.example.com",
            ),
            "san-critical-with-subject",
            Warn,
            false,
        ),
        LeafCase {
            serial: Some("-5"),
            ..leaf_case("serial-negative", LEAF, "serial-negative", Fail, false)
        },
        LeafCase {
            serial: Some("0"),
            ..leaf_case("serial-zero", LEAF, "serial-zero", Warn, false)
        },
        LeafCase {
            serial: Some("0x0102030405060708090a0b0c0d0e0f101112131415"),
            ..leaf_case("serial-long", LEAF, "serial-too-long", Fail, false)
        },
        leaf_case(
            "nc-leaf",
            format!("{LEAF}nameConstraints=critical,permitted;DNS:example.com\n"),
            "name-constraints-not-ca",
            Fail,
            false,
        ),
        leaf_case(
            "eku-any",
            replace(
                LEAF,
                "extendedKeyUsage",
                "extendedKeyUsage=serverAuth,anyExtendedKeyUsage",
            ),
            "eku-any-on-leaf",
            Warn,
            false,
        ),
        leaf_case(
            "eku-critical",
            replace(
                LEAF,
                "extendedKeyUsage",
                "extendedKeyUsage=critical,serverAuth",
            ),
            "eku-critical-on-leaf",
            Warn,
            false,
        ),
        leaf_case(
            "aia-critical",
            format!("{LEAF}authorityInfoAccess=critical,caIssuers;URI:http://ca.example/ca.crt\n"),
            "aia-critical",
            Fail,
            true,
        ),
        leaf_case(
            "aia-not-url",
            format!("{LEAF}authorityInfoAccess=caIssuers;email:ca@example.com\n"),
            "aia-malformed",
            Warn,
            false,
        ),
        leaf_case(
            "san-underscore",
            replace(LEAF, "subjectAltName", "subjectAltName=DNS:a_b.example.com"),
            "san-dns-underscore",
            Warn,
            false,
        ),
        leaf_case(
            "san-empty-label",
            replace(
                LEAF,
                "subjectAltName",
                "subjectAltName=DNS:leaf..example.com",
            ),
            "san-dns-syntax",
            Fail,
            false,
        ),
        leaf_case(
            "san-ip-as-dns",
            replace(LEAF, "subjectAltName", "subjectAltName=DNS:192.0.2.1"),
            "san-dns-syntax",
            Fail,
            false,
        ),
    ];
    for case in &cases {
        let der = lab.issue(
            case.name,
            "root",
            case.subject,
            &case.ext,
            None,
            case.serial,
        );
        let lines = lint_as(&chain(&lab, der, None), Usage::Any, None);
        assert_finding(&lines, case.id, case.status);
        assert_eq!(
            lines.len(),
            1,
            "{}: one cause, one line: {lines:#?}",
            case.name
        );
        if case.openssl_refuses {
            assert!(
                !lab.openssl_verifies(case.name, &[]),
                "{}: openssl verify -x509_strict accepts it",
                case.name
            );
        }
    }
}

#[test]
fn each_ca_finding_beside_a_conforming_intermediate() {
    use Status::{Fail, Warn};
    let lab = Lab::new();
    // (name, extensions, finding, status, openssl -x509_strict refuses)
    let cases = [
        (
            "bc-not-critical",
            replace(
                INTER,
                "basicConstraints",
                "basicConstraints=CA:TRUE,pathlen:0",
            ),
            "ca-basic-constraints-not-critical",
            Fail,
            true,
        ),
        (
            "no-ku",
            without(INTER, "keyUsage"),
            "ca-key-usage-missing",
            Fail,
            true,
        ),
        (
            "no-cert-sign",
            replace(
                INTER,
                "keyUsage",
                "keyUsage=critical,digitalSignature,cRLSign",
            ),
            "ca-key-cert-sign-missing",
            Fail,
            true,
        ),
        (
            "no-ski",
            replace(INTER, "subjectKeyIdentifier", "subjectKeyIdentifier=none"),
            "ski-missing",
            Fail,
            true,
        ),
        (
            "nc-not-critical",
            format!("{INTER}nameConstraints=permitted;DNS:example.com\n"),
            "name-constraints-not-critical",
            Warn,
            false,
        ),
        (
            "nc-dot",
            format!("{INTER}nameConstraints=critical,permitted;DNS:.example.com\n"),
            "name-constraints-dns-leading-period",
            Fail,
            false,
        ),
        (
            "pc-not-critical",
            format!("{INTER}policyConstraints=requireExplicitPolicy:5\n"),
            "policy-constraints-not-critical",
            Warn,
            false,
        ),
    ];
    let good = lab.issue("inter", "root", "/CN=Good Inter", INTER, None, None);
    let leaf = lab.issue("leaf", "inter", "/CN=leaf.example.com", LEAF, None, None);
    assert_clean(&lint(&chain(&lab, leaf, Some(good))));
    for (name, ext, id, status, openssl_refuses) in cases {
        let inter = lab.issue(name, "root", &format!("/CN=Inter {name}"), &ext, None, None);
        // The leaf names the intermediate's key id only when it has one.
        let leaf_ext = if name == "no-ski" {
            replace(
                LEAF,
                "authorityKeyIdentifier",
                "authorityKeyIdentifier=keyid:always",
            )
        } else {
            LEAF.to_string()
        };
        let leaf_name = format!("{name}-leaf");
        let leaf = if name == "no-ski" {
            // openssl cannot name a key id the issuer lacks: issue without AKI,
            // and look at the intermediate alone.
            lab.issue(
                &leaf_name,
                name,
                "/CN=leaf.example.com",
                &without(LEAF, "authorityKeyIdentifier"),
                None,
                None,
            )
        } else {
            lab.issue(
                &leaf_name,
                name,
                "/CN=leaf.example.com",
                &leaf_ext,
                None,
                None,
            )
        };
        let lines = lint(&chain(&lab, leaf, Some(inter)));
        assert_finding(&lines, id, status);
        let about: Vec<_> = lines.iter().filter(|c| c.id == id).collect();
        assert_eq!(
            about[0].certificate.as_deref(),
            Some(format!("Inter {name}").as_str())
        );
        if openssl_refuses {
            assert!(
                !lab.openssl_verifies(&leaf_name, &[name]),
                "{name}: openssl verify -x509_strict accepts it"
            );
        }
    }
}

#[test]
fn an_empty_name_constraints_extension_is_found() {
    let lab = Lab::new();
    // SEQUENCE {} : neither subtree.
    let inter = lab.issue(
        "nc-empty",
        "root",
        "/CN=Inter NC",
        &format!("{INTER}2.5.29.30=critical,DER:3000\n"),
        None,
        None,
    );
    let lines = lint(&[(inter, Role::Leaf)]);
    assert_finding(&lines, "name-constraints-empty", Status::Fail);
}

#[test]
fn root_findings_eku_and_cert_sign() {
    let lab = Lab::new();
    let root = lab.self_signed(
        "eku-root",
        "/CN=EKU Root",
        &format!("{ROOT}extendedKeyUsage=serverAuth\n"),
    );
    let lines = lint(&[(root, Role::Anchor)]);
    assert_finding(&lines, "eku-on-root", Status::Warn);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_clean(&lint(&[(lab.der("root"), Role::Anchor)]));
}

#[test]
fn the_openssl_req_x509_certificate_is_a_warning_not_a_failure() {
    let lab = Lab::new();
    // OpenSSL 3's defaults for `req -x509`: CA:TRUE critical, SKI, AKI, no keyUsage.
    let out = openssl(
        lab.dir.path(),
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "key.pem",
            "-subj",
            "/CN=partner",
            "-days",
            "30",
            "-out",
            "seed.pem",
        ],
    );
    ok(&out, "req -x509");
    let seed = lab.der("seed");
    let lines = lint_as(&[(seed.clone(), Role::Leaf)], Usage::Client, None);
    assert_eq!(
        ids(&lines),
        [("ca-key-usage-missing", Status::Warn)],
        "{lines:#?}"
    );
    assert!(lines[0].message.contains("MUST"));
    // As a CA that issued a certificate, the same profile fails.
    let lines = lint(&[(seed, Role::Issuer)]);
    assert_finding(&lines, "ca-key-usage-missing", Status::Fail);
}

#[test]
fn weak_and_odd_keys_are_named_not_numbered() {
    let lab = Lab::new();
    lab.key(
        "p192.pem",
        &["ecparam", "-name", "prime192v1", "-genkey", "-noout"],
    );
    lab.key(
        "secp256k1.pem",
        &["ecparam", "-name", "secp256k1", "-genkey", "-noout"],
    );
    lab.key("rsa2052.pem", &["genrsa", "2052"]);
    lab.key("dsa-params.pem", &["dsaparam", "2048"]);
    ok(
        &openssl(
            lab.dir.path(),
            &["gendsa", "-out", "dsa.pem", "dsa-params.pem"],
        ),
        "gendsa",
    );
    let rsa2048 = "rsa2048.pem";
    lab.key(rsa2048, &["genrsa", "2048"]);
    for (key, id, status, words) in [
        ("p192.pem", "key-curve-weak", Status::Fail, "P-192"),
        (
            "secp256k1.pem",
            "key-curve-unusual",
            Status::Warn,
            "secp256k1",
        ),
        ("rsa2052.pem", "rsa-modulus-size", Status::Fail, "2052 bits"),
        ("dsa.pem", "key-dsa", Status::Fail, "DSA"),
    ] {
        let name = key.trim_end_matches(".pem");
        let der = lab.issue(name, "root", "/CN=leaf.example.com", LEAF, Some(key), None);
        let lines = lint(&[(der.clone(), Role::Leaf)]);
        assert_finding(&lines, id, status);
        assert!(lines[0].message.contains(words), "{lines:#?}");
        assert!(!lines[0].message.contains("1.2.840"), "an OID: {lines:#?}");
        let info = CertInfo::from_der(&der).unwrap();
        assert!(
            info.key
                .to_string()
                .contains(words.trim_end_matches(" bits")),
            "{}",
            info.key
        );
    }
    let der = lab.issue(
        "rsa2048",
        "root",
        "/CN=leaf.example.com",
        LEAF,
        Some(rsa2048),
        None,
    );
    assert_clean(&lint(&[(der.clone(), Role::Leaf)]));
    assert_eq!(
        CertInfo::from_der(&der).unwrap().key,
        KeyKind::Rsa { bits: 2048 }
    );
}

#[test]
fn server_names_cn_wildcards_and_ip_literals() {
    let lab = Lab::new();
    let server = |name: &str, subject: &str, san: &str| {
        lab.issue(
            name,
            "root",
            subject,
            &replace(LEAF, "subjectAltName", &format!("subjectAltName={san}")),
            None,
            None,
        )
    };
    let good = server(
        "good",
        "/CN=www.example.co.uk",
        "DNS:www.example.co.uk,DNS:*.example.co.uk",
    );
    assert_clean(&lint_as(
        &[(good.clone(), Role::Leaf)],
        Usage::Server,
        Some("www.example.co.uk"),
    ));
    assert_clean(&lint_as(
        &[(good.clone(), Role::Leaf)],
        Usage::Server,
        Some("192.0.2.1"),
    ));

    let psl = server(
        "psl",
        "/CN=shop.example.co.uk",
        "DNS:shop.example.co.uk,DNS:*.co.uk",
    );
    let lines = lint_as(&[(psl.clone(), Role::Leaf)], Usage::Server, None);
    assert_finding(&lines, "wildcard-public-suffix", Status::Fail);
    assert!(lines[0].message.contains("co.uk"));
    // Only a server certificate is matched against host names.
    assert_clean(&lint_as(&[(psl, Role::Leaf)], Usage::Client, None));

    let cn = server("cn", "/CN=old.example.com", "DNS:new.example.com");
    assert_finding(
        &lint_as(&[(cn, Role::Leaf)], Usage::Server, None),
        "cn-not-in-san",
        Status::Warn,
    );

    for (host, canonical) in [
        ("127.1", "127.0.0.1"),
        ("010.0.0.1", "8.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("2001:DB8::1", "2001:db8::1"),
    ] {
        let lines = lint_as(&[(good.clone(), Role::Leaf)], Usage::Server, Some(host));
        assert_finding(&lines, "host-ip-not-canonical", Status::Warn);
        assert!(lines[0].message.contains(canonical), "{host}: {lines:#?}");
    }
}

#[test]
fn non_canonical_ip_literals() {
    assert_eq!(non_canonical_ip("192.0.2.1"), None);
    assert_eq!(non_canonical_ip("::1"), None);
    assert_eq!(non_canonical_ip("example.com"), None);
    assert_eq!(non_canonical_ip("1.example"), None);
    assert_eq!(non_canonical_ip("2130706433").as_deref(), Some("127.0.0.1"));
    assert_eq!(non_canonical_ip("192.0.2.01").as_deref(), Some("192.0.2.1"));
    assert_eq!(
        non_canonical_ip("[::FFFF:1.2.3.4]").as_deref(),
        Some("::ffff:1.2.3.4")
    );
}

#[test]
fn dns_name_syntax() {
    for good in [
        "a.example",
        "*.example.com",
        "xn--bcher-kva.example",
        "a-b.c",
    ] {
        assert_eq!(dns_syntax(good), None, "{good}");
    }
    for bad in [
        "", "a..b", ".a.b", "a.b.", "a*.b", "a b.c", "-a.b", "10.0.0.1",
    ] {
        assert!(dns_syntax(bad).is_some(), "{bad}");
    }
}
