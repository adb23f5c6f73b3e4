//! The RFC 5280 profile checks: what path validation lets through but a
//! strict verifier (OpenSSL 3 with `-x509_strict`, pyca/cryptography, Go)
//! refuses, on every certificate of the built chain. Each finding has a
//! stable id, the section it rests on and a fix. A finding FAILs where the
//! RFC says MUST and a major verifier refuses the certificate for it; it
//! WARNs where the RFC says SHOULD (or a MUST that no major verifier
//! enforces).

use std::net::IpAddr;

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension, X509Extension};

use super::{Check, Status};
use crate::CertDer;
use crate::chain::Usage;
use crate::inspect::{CertInfo, KeyKind};

/// Where a certificate stands in what is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// The certificate under check.
    Leaf,
    /// An intermediate of the verified path: it issued the one below it.
    Issuer,
    /// The trust anchor the path ended at (from `--ca`).
    Anchor,
    /// Presented (in the file or `--chain`) but not on a verified path.
    Presented,
}

/// The circumstances of the profile checks.
pub(super) struct Scope<'a> {
    pub usage: Usage,
    pub host: Option<&'a str>,
}

/// One profile finding, before it becomes a checklist line.
struct Finding {
    id: &'static str,
    rfc: &'static str,
    status: Status,
    message: String,
    fix: String,
}

/// Well-known extensions, named in messages instead of their OIDs.
const EXTENSION_NAMES: &[(&str, &str)] = &[
    ("2.5.29.14", "subjectKeyIdentifier"),
    ("2.5.29.15", "keyUsage"),
    ("2.5.29.17", "subjectAltName"),
    ("2.5.29.18", "issuerAltName"),
    ("2.5.29.19", "basicConstraints"),
    ("2.5.29.30", "nameConstraints"),
    ("2.5.29.31", "cRLDistributionPoints"),
    ("2.5.29.32", "certificatePolicies"),
    ("2.5.29.33", "policyMappings"),
    ("2.5.29.35", "authorityKeyIdentifier"),
    ("2.5.29.36", "policyConstraints"),
    ("2.5.29.37", "extendedKeyUsage"),
    ("2.5.29.46", "freshestCRL"),
    ("2.5.29.54", "inhibitAnyPolicy"),
    ("1.3.6.1.5.5.7.1.1", "authorityInfoAccess"),
    ("1.3.6.1.5.5.7.1.11", "subjectInfoAccess"),
    ("1.3.6.1.5.5.7.1.24", "TLS Feature (must-staple)"),
    ("1.3.6.1.4.1.11129.2.4.2", "CT precertificate SCTs"),
];

/// Extensions a verifier processes when marked critical: those OpenSSL 3
/// supports (`X509_supported_extension`), so that a critical one outside this
/// list is refused by OpenSSL as it is here. Critical key identifiers and AIA
/// have findings of their own.
const UNDERSTOOD_CRITICAL: &[&str] = &[
    "2.5.29.15",
    "2.5.29.17",
    "2.5.29.19",
    "2.5.29.30",
    "2.5.29.32",
    "2.5.29.33",
    "2.5.29.36",
    "2.5.29.37",
    "2.5.29.54",
    "2.16.840.1.113730.1.1",
    "1.3.6.1.5.5.7.1.7",
    "1.3.6.1.5.5.7.1.8",
    "1.3.6.1.5.5.7.1.14",
];

const OID_AKI: &str = "2.5.29.35";
const OID_SKI: &str = "2.5.29.14";
const OID_AIA: &str = "1.3.6.1.5.5.7.1.1";

fn extension_name(oid: &str) -> String {
    EXTENSION_NAMES
        .iter()
        .find(|(o, _)| *o == oid)
        .map_or_else(|| format!("extension {oid}"), |(_, n)| (*n).to_string())
}

/// The profile findings for `certs` (leaf first), as checklist lines: one
/// line a finding, or one `profile` pass line naming what was checked.
pub(super) fn check(certs: &[(CertDer, Role)], scope: &Scope<'_>) -> Vec<Check> {
    let mut seen: Vec<&[u8]> = Vec::new();
    let mut lines = Vec::new();
    let mut names = Vec::new();
    for (der, role) in certs {
        if seen.contains(&der.as_ref()) {
            continue;
        }
        seen.push(der.as_ref());
        let Ok((_, x)) = x509_parser::parse_x509_certificate(der) else {
            continue;
        };
        let Ok(info) = CertInfo::from_der(der) else {
            continue;
        };
        let name = info.display_name().to_string();
        let mut found = Vec::new();
        lint(&x, &info, *role, &mut found);
        if *role == Role::Leaf && scope.usage == Usage::Server {
            server_names(&info, scope.host, &mut found);
        }
        for f in found {
            let mut line =
                Check::new(f.id, f.status, format!("'{name}': {}", f.message)).hint(f.fix);
            line.rfc = Some(f.rfc);
            line.severity = Some(f.status);
            line.certificate = Some(name.clone());
            lines.push(line);
        }
        names.push(format!("'{name}'"));
    }
    if lines.is_empty() {
        let what = match names.len() {
            1 => "1 certificate".to_string(),
            n => format!("{n} certificates"),
        };
        lines.push(Check::new(
            "profile",
            Status::Pass,
            format!(
                "RFC 5280 profile of {what} ({}): nothing to report",
                names.join(", ")
            ),
        ));
    }
    lines
}

fn finding(
    id: &'static str,
    rfc: &'static str,
    status: Status,
    message: impl Into<String>,
    fix: impl Into<String>,
) -> Finding {
    Finding {
        id,
        rfc,
        status,
        message: message.into(),
        fix: fix.into(),
    }
}

/// The findings that read one certificate alone.
fn lint(x: &X509Certificate<'_>, info: &CertInfo, role: Role, out: &mut Vec<Finding>) {
    let exts = x.extensions();
    let ext = |oid: &str| exts.iter().find(|e| e.oid.to_id_string() == oid);
    // A self-issued certificate whose signature certbound refuses to check
    // (SHA-1, a small RSA key) is most likely self-signed: no AKI needed.
    let self_signed = info.self_signed || info.refused_self_signature().is_some();
    let reissue = if info.is_ca {
        "re-issue the CA certificate with the corrected profile (`certbound pki init` makes conforming CAs)"
    } else {
        "re-issue the certificate (`certbound pki issue` makes conforming ones)"
    };
    key_identifiers(info, self_signed, ext(OID_AKI), ext(OID_SKI), reissue, out);
    ca_profile(x, info, role, self_signed, out);
    serial(x.raw_serial(), reissue, out);
    subject_and_san(x, info, reissue, out);
    for e in exts {
        extension(e, info, role, self_signed, reissue, out);
    }
    key_strength(info, reissue, out);
    dns_names(info, reissue, out);
}

fn key_identifiers(
    info: &CertInfo,
    self_signed: bool,
    aki: Option<&X509Extension<'_>>,
    ski: Option<&X509Extension<'_>>,
    reissue: &str,
    out: &mut Vec<Finding>,
) {
    const AKI: &str = "RFC 5280 §4.2.1.1";
    const SKI: &str = "RFC 5280 §4.2.1.2";
    match aki {
        None if !self_signed => out.push(finding(
            "aki-missing",
            AKI,
            Status::Fail,
            "no authorityKeyIdentifier: it MUST be in every certificate that is not self-signed (OpenSSL with -x509_strict and pyca refuse it)",
            format!("{reissue}, with authorityKeyIdentifier keyid (openssl: -addext authorityKeyIdentifier=keyid)"),
        )),
        Some(e) => {
            if e.critical {
                out.push(finding(
                    "aki-critical",
                    AKI,
                    Status::Fail,
                    "authorityKeyIdentifier is marked critical: it MUST be non-critical (OpenSSL and pyca refuse it)",
                    format!("{reissue}, with a non-critical authorityKeyIdentifier"),
                ));
            }
            if let ParsedExtension::AuthorityKeyIdentifier(a) = e.parsed_extension() {
                if a.key_identifier.is_none() && !self_signed {
                    let has = if a.authority_cert_issuer.is_some() || a.authority_cert_serial.is_some() {
                        "only the issuer name and serial"
                    } else {
                        "no field"
                    };
                    out.push(finding(
                        "aki-no-key-id",
                        AKI,
                        Status::Fail,
                        format!("authorityKeyIdentifier holds {has}, without the keyIdentifier that MUST be there (pyca refuses it; path building by key falls back to guessing)"),
                        format!("{reissue}, with authorityKeyIdentifier keyid (not issuer/serial)"),
                    ));
                }
            }
        }
        None => {}
    }
    match ski {
        Some(e) if e.critical => out.push(finding(
            "ski-critical",
            SKI,
            Status::Fail,
            "subjectKeyIdentifier is marked critical: it MUST be non-critical (OpenSSL refuses it)",
            format!("{reissue}, with a non-critical subjectKeyIdentifier"),
        )),
        None if info.is_ca => out.push(finding(
            "ski-missing",
            SKI,
            Status::Fail,
            "a CA certificate without subjectKeyIdentifier: it MUST be in every CA certificate, and the certificates it issues point to it (OpenSSL with -x509_strict refuses it)",
            format!("{reissue}, with subjectKeyIdentifier hash"),
        )),
        _ => {}
    }
}

/// basicConstraints and keyUsage, and what they say together.
fn ca_profile(
    x: &X509Certificate<'_>,
    info: &CertInfo,
    role: Role,
    self_signed: bool,
    out: &mut Vec<Finding>,
) {
    const BC: &str = "RFC 5280 §4.2.1.9";
    const KU: &str = "RFC 5280 §4.2.1.3";
    let bc = x.basic_constraints().ok().flatten();
    let cert_sign = info
        .key_usage
        .as_ref()
        .is_some_and(|ku| ku.iter().any(|k| k == "keyCertSign"));
    if cert_sign && !info.is_ca {
        let (id, message) = if bc.is_none() {
            (
                "ca-basic-constraints-missing",
                "keyUsage keyCertSign without basicConstraints: a CA certificate MUST carry basicConstraints CA:TRUE, marked critical (OpenSSL and webpki do not accept it as an issuer)",
            )
        } else {
            (
                "key-cert-sign-not-ca",
                "keyUsage keyCertSign on a certificate that is not a CA (CA:FALSE): keyCertSign MUST come with CA:TRUE (OpenSSL with -x509_strict refuses it)",
            )
        };
        out.push(finding(
            id,
            if bc.is_none() { BC } else { KU },
            Status::Fail,
            message,
            "re-issue it: a leaf without keyCertSign (keyUsage digitalSignature), or a CA with basicConstraints critical,CA:TRUE",
        ));
    } else if bc.is_none() && matches!(role, Role::Issuer | Role::Anchor) {
        out.push(finding(
            "ca-basic-constraints-missing",
            BC,
            Status::Fail,
            "used as a CA but has no basicConstraints extension: a CA certificate MUST carry CA:TRUE, marked critical (OpenSSL with -x509_strict refuses it)",
            "re-create the CA with basicConstraints critical,CA:TRUE (`certbound pki init`)",
        ));
    }
    let Some(bc) = bc else { return };
    if !info.is_ca {
        return;
    }
    if !bc.critical && info.allows_key_usage("keyCertSign") {
        out.push(finding(
            "ca-basic-constraints-not-critical",
            BC,
            Status::Fail,
            "a CA whose basicConstraints is not marked critical: it MUST be critical in a CA certificate (OpenSSL with -x509_strict and pyca refuse it)",
            "re-create the CA with basicConstraints critical,CA:TRUE",
        ));
    }
    match &info.key_usage {
        None if role == Role::Leaf && self_signed => out.push(finding(
            "ca-key-usage-missing",
            KU,
            Status::Warn,
            "self-signed CA:TRUE without keyUsage (as `openssl req -x509` makes them): in a trust store it authenticates exactly itself, but RFC 5280 says a CA certificate MUST carry keyUsage keyCertSign to sign certificates, so it vouches for none",
            "if it only identifies itself, next time add `-addext basicConstraints=critical,CA:FALSE`; if it is a CA, add `-addext keyUsage=critical,keyCertSign,cRLSign`",
        )),
        None => out.push(finding(
            "ca-key-usage-missing",
            KU,
            Status::Fail,
            "a CA certificate without keyUsage: it MUST carry keyUsage keyCertSign to sign certificates (OpenSSL with -x509_strict refuses it)",
            "re-create the CA with keyUsage critical,keyCertSign,cRLSign",
        )),
        Some(ku) if role != Role::Leaf && !ku.iter().any(|k| k == "keyCertSign") => out.push(finding(
            "ca-key-cert-sign-missing",
            KU,
            Status::Fail,
            format!("a CA whose keyUsage ({}) lacks keyCertSign, so its signature on certificates is not valid (OpenSSL refuses the certificates it issued)", ku.join(", ")),
            "re-create the CA with keyUsage critical,keyCertSign,cRLSign",
        )),
        _ => {}
    }
}

fn serial(raw: &[u8], reissue: &str, out: &mut Vec<Finding>) {
    const RFC: &str = "RFC 5280 §4.1.2.2";
    if raw.first().is_some_and(|b| b & 0x80 != 0) {
        out.push(finding(
            "serial-negative",
            RFC,
            Status::Fail,
            "the serial number is negative: it MUST be a positive integer (pyca refuses it)",
            format!("{reissue}; a CA makes serials of 64+ random bits, positive"),
        ));
    } else if raw.iter().all(|b| *b == 0) {
        out.push(finding(
            "serial-zero",
            RFC,
            Status::Warn,
            "the serial number is zero: it MUST be a positive integer (verifiers accept it for now; pyca warns that it will refuse it)",
            format!("{reissue}; a CA makes serials of 64+ random bits, positive"),
        ));
    }
    if raw.len() > 20 {
        out.push(finding(
            "serial-too-long",
            RFC,
            Status::Fail,
            format!("the serial number is {} octets long: it MUST NOT be longer than 20 (pyca refuses it)", raw.len()),
            format!("{reissue}; 16 random octets are plenty"),
        ));
    }
}

fn subject_and_san(
    x: &X509Certificate<'_>,
    info: &CertInfo,
    reissue: &str,
    out: &mut Vec<Finding>,
) {
    const SAN: &str = "RFC 5280 §4.2.1.6";
    let empty = x.subject().iter().next().is_none();
    let san = x.subject_alternative_name().ok().flatten();
    if empty && info.is_ca {
        out.push(finding(
            "ca-subject-empty",
            "RFC 5280 §4.1.2.6",
            Status::Fail,
            "a CA certificate with an empty subject: a CA's subject MUST be non-empty, as it is the issuer name of what it signs (OpenSSL refuses it)",
            "re-create the CA with a subject name (CN=..., O=...)",
        ));
        return;
    }
    match (empty, san) {
        (true, None) => out.push(finding(
            "subject-empty-no-san",
            SAN,
            Status::Fail,
            "empty subject and no subjectAltName: the certificate names nobody (a certificate with an empty subject MUST have a critical subjectAltName; OpenSSL refuses it)",
            format!("{reissue}, with a subject or a critical subjectAltName"),
        )),
        (true, Some(s)) if !s.critical => out.push(finding(
            "san-not-critical-empty-subject",
            SAN,
            Status::Fail,
            "empty subject with a non-critical subjectAltName: with an empty subject the subjectAltName MUST be critical (OpenSSL with -x509_strict refuses it)",
            format!("{reissue}, marking subjectAltName critical (or giving it a subject)"),
        )),
        (false, Some(s)) if s.critical => out.push(finding(
            "san-critical-with-subject",
            SAN,
            Status::Warn,
            "subjectAltName is marked critical although the subject is not empty: it SHOULD be non-critical then, and verifiers that do not know a name form in it refuse the certificate",
            format!("{reissue}, with a non-critical subjectAltName"),
        )),
        _ => {}
    }
}

/// Findings on one extension: criticality, placement, well-formedness.
fn extension(
    e: &X509Extension<'_>,
    info: &CertInfo,
    role: Role,
    self_signed: bool,
    reissue: &str,
    out: &mut Vec<Finding>,
) {
    let oid = e.oid.to_id_string();
    let parsed = e.parsed_extension();
    // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, ... }: DER
    // leaves out a value equal to its DEFAULT.
    if oid == "2.5.29.19" && matches!(e.value, [0x30, _, 0x01, 0x01, 0x00, ..]) {
        out.push(finding(
            "der-default-encoded",
            "RFC 5280 §4.1 (DER, X.690 §11.5)",
            Status::Fail,
            "basicConstraints encodes cA FALSE explicitly: DER leaves out a value equal to its DEFAULT, so the certificate is not DER, and strict parsers refuse it whole (pyca/cryptography: EncodedDefault)",
            format!("{reissue} (rcgen before 0.14.10 wrote leaves this way)"),
        ));
    }
    if e.critical
        && !UNDERSTOOD_CRITICAL.contains(&oid.as_str())
        && oid != OID_AKI
        && oid != OID_SKI
        && oid != OID_AIA
    {
        out.push(finding(
            "critical-extension-unknown",
            "RFC 5280 §4.2",
            Status::Fail,
            format!("{} is marked critical and is not one verifiers process: a verifier MUST refuse a certificate with a critical extension it does not recognize (OpenSSL and rustls-webpki do)", extension_name(&oid)),
            format!("{reissue}, without that extension or with it non-critical"),
        ));
    }
    match parsed {
        ParsedExtension::NameConstraints(nc) => {
            const RFC: &str = "RFC 5280 §4.2.1.10";
            if !info.is_ca {
                out.push(finding(
                    "name-constraints-not-ca",
                    RFC,
                    Status::Fail,
                    "nameConstraints in a certificate that is not a CA: it MUST be used only in CA certificates (pyca refuses it)",
                    format!("{reissue}, without nameConstraints"),
                ));
            }
            if !e.critical {
                out.push(finding(
                    "name-constraints-not-critical",
                    RFC,
                    Status::Warn,
                    "nameConstraints is not marked critical: conforming CAs MUST mark it critical, and a verifier that does not implement it then ignores the constraints (most verifiers still enforce them)",
                    "re-create the CA with nameConstraints critical",
                ));
            }
            let empty = |s: &Option<Vec<_>>| s.as_ref().is_none_or(Vec::is_empty);
            if empty(&nc.permitted_subtrees) && empty(&nc.excluded_subtrees) {
                out.push(finding(
                    "name-constraints-empty",
                    RFC,
                    Status::Fail,
                    "nameConstraints with neither permitted nor excluded subtrees: at least one MUST be present",
                    "re-create the CA with the subtrees it should be limited to, or without nameConstraints",
                ));
            }
            let dotted: Vec<&str> = nc
                .permitted_subtrees
                .iter()
                .chain(nc.excluded_subtrees.iter())
                .flatten()
                .filter_map(|s| match &s.base {
                    GeneralName::DNSName(d) if d.starts_with('.') => Some(*d),
                    _ => None,
                })
                .collect();
            if !dotted.is_empty() {
                out.push(finding(
                    "name-constraints-dns-leading-period",
                    RFC,
                    Status::Fail,
                    format!("dNSName subtree {} starts with a period: RFC 5280 writes a DNS constraint as a domain (example.com covers its subdomains); pyca refuses the constraint as malformed, Go reads it as subdomains only", dotted.join(", ")),
                    "re-create the CA with the domain without the leading period",
                ));
            }
        }
        ParsedExtension::PolicyConstraints(_) if !e.critical => out.push(finding(
            "policy-constraints-not-critical",
            "RFC 5280 §4.2.1.11",
            Status::Warn,
            "policyConstraints is not marked critical: conforming CAs MUST mark it critical",
            "re-create the CA with policyConstraints critical",
        )),
        ParsedExtension::ExtendedKeyUsage(eku) => {
            const RFC: &str = "RFC 5280 §4.2.1.12";
            if role == Role::Leaf && !info.is_ca && eku.any {
                out.push(finding(
                    "eku-any-on-leaf",
                    RFC,
                    Status::Warn,
                    "EKU anyExtendedKeyUsage on a leaf: it allows the key every purpose, and strict verifiers (pyca, the CA/Browser Forum rules) refuse it",
                    format!("{reissue}, with only the EKUs it needs (clientAuth or serverAuth)"),
                ));
            }
            if role == Role::Leaf && !info.is_ca && e.critical {
                out.push(finding(
                    "eku-critical-on-leaf",
                    RFC,
                    Status::Warn,
                    "extendedKeyUsage is marked critical: it SHOULD NOT be when anyExtendedKeyUsage may apply, and verifiers that do not know one of its purposes then refuse the certificate",
                    format!("{reissue}, with a non-critical extendedKeyUsage"),
                ));
            }
            if info.is_ca && self_signed && role != Role::Leaf {
                out.push(finding(
                    "eku-on-root",
                    RFC,
                    Status::Warn,
                    "a root CA with an extendedKeyUsage extension: it limits every certificate under it to those purposes (the CA/Browser Forum rules forbid it in roots)",
                    "re-create the root without extendedKeyUsage; put EKUs in the intermediates and leaves",
                ));
            }
        }
        ParsedExtension::AuthorityInfoAccess(aia) => {
            let bad: Vec<String> = aia
                .accessdescs
                .iter()
                .filter_map(|d| match &d.access_location {
                    GeneralName::URI(u) if u.contains("://") => None,
                    GeneralName::URI(u) => Some(format!("URI `{u}`")),
                    other => Some(name_form(other).to_string()),
                })
                .collect();
            if !bad.is_empty() {
                out.push(aia_finding(format!(
                    "authorityInfoAccess locations that are not URLs: {}",
                    bad.join(", ")
                ), reissue));
            }
        }
        ParsedExtension::ParseError { .. } if oid == OID_AIA => out.push(aia_finding(
            "authorityInfoAccess does not decode (it MUST be a sequence of access method and location)".to_string(),
            reissue,
        )),
        _ => {}
    }
    if oid == OID_AIA && e.critical {
        out.push(finding(
            "aia-critical",
            "RFC 5280 §4.2.2.1",
            Status::Fail,
            "authorityInfoAccess is marked critical: it MUST be non-critical (OpenSSL refuses it as an unhandled critical extension)",
            format!("{reissue}, with a non-critical authorityInfoAccess"),
        ));
    }
}

/// A general name's form, in words.
fn name_form(name: &GeneralName<'_>) -> &'static str {
    match name {
        GeneralName::RFC822Name(_) => "an e-mail address",
        GeneralName::DNSName(_) => "a DNS name",
        GeneralName::DirectoryName(_) => "a directory name",
        GeneralName::IPAddress(_) => "an IP address",
        GeneralName::URI(_) => "a URI",
        _ => "a name of another form",
    }
}

fn aia_finding(message: String, reissue: &str) -> Finding {
    finding(
        "aia-malformed",
        "RFC 5280 §4.2.2.1",
        Status::Warn,
        format!("{message}: clients that fetch a missing issuer or the OCSP status from it cannot"),
        format!("{reissue}, with caIssuers and OCSP as http:// URLs"),
    )
}

fn key_strength(info: &CertInfo, reissue: &str, out: &mut Vec<Finding>) {
    const RFC: &str = "RFC 5280 §4.1.2.7";
    let fix = format!("{reissue}, with an ECDSA P-256 or RSA 2048+ key");
    match &info.key {
        KeyKind::Rsa { bits } if bits % 8 != 0 => out.push(finding(
            "rsa-modulus-size",
            RFC,
            Status::Fail,
            format!("the RSA modulus is {bits} bits, not a whole number of bytes: pyca and the CA/Browser Forum rules refuse it, and it suggests a key made by hand"),
            fix,
        )),
        KeyKind::Ec { curve, bits } if *bits > 0 && *bits < 256 => out.push(finding(
            "key-curve-weak",
            RFC,
            Status::Fail,
            format!("the key is on curve {curve} ({bits} bits), below P-256: TLS libraries (rustls, pyca, browsers) refuse it"),
            fix,
        )),
        KeyKind::Ec { curve, .. } if !matches!(curve.as_str(), "P-256" | "P-384" | "P-521") => out.push(finding(
            "key-curve-unusual",
            RFC,
            Status::Warn,
            format!("the key is on curve {curve}: TLS peers accept only P-256, P-384 and P-521"),
            fix,
        )),
        KeyKind::Other { oid } if oid == "1.2.840.10040.4.1" => out.push(finding(
            "key-dsa",
            RFC,
            Status::Fail,
            "the key is DSA: TLS 1.3 has no DSA, and rustls, pyca and browsers refuse it",
            fix,
        )),
        _ => {}
    }
}

/// dNSName syntax: RFC 1034 preferred name syntax, a wildcard only as the
/// whole leftmost label.
fn dns_names(info: &CertInfo, reissue: &str, out: &mut Vec<Finding>) {
    const RFC: &str = "RFC 5280 §4.2.1.6";
    for san in &info.subject_alt_names {
        let crate::inspect::SanEntry::Dns(name) = san else {
            continue;
        };
        if let Some(reason) = dns_syntax(name) {
            out.push(finding(
                "san-dns-syntax",
                RFC,
                Status::Fail,
                format!("SAN DNS:{name} is not a valid DNS name ({reason}): a dNSName MUST use the preferred name syntax, and clients never match it"),
                format!("{reissue}, with the DNS name written correctly"),
            ));
        } else if name.contains('_') {
            out.push(finding(
                "san-dns-underscore",
                RFC,
                Status::Warn,
                format!("SAN DNS:{name} contains an underscore: host names may not (RFC 1034), and strict verifiers (pyca, the CA/Browser Forum rules) refuse it"),
                format!("{reissue}, with a host name without underscores"),
            ));
        }
    }
}

/// Why `name` is not a valid dNSName, if it is not.
fn dns_syntax(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".into());
    }
    if name.parse::<IpAddr>().is_ok() {
        return Some("it is an IP address, which belongs in an iPAddress SAN".into());
    }
    let body = name.strip_prefix("*.").unwrap_or(name);
    if name.len() > 253 {
        return Some("it is longer than 253 characters".into());
    }
    for label in body.split('.') {
        if label.is_empty() {
            return Some("an empty label (two dots, or a dot at an end)".into());
        }
        if label.len() > 63 {
            return Some(format!("label `{label}` is longer than 63 characters"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Some(if c == '*' {
                "a wildcard that is not the whole leftmost label".into()
            } else {
                format!("character `{}`", c.escape_default())
            });
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!("label `{label}` starts or ends with a hyphen"));
        }
    }
    None
}

/// `--usage server`: what clients match the host against.
fn server_names(info: &CertInfo, host: Option<&str>, out: &mut Vec<Finding>) {
    use crate::inspect::SanEntry;
    let reissue = "re-issue it with `certbound pki issue server --dns NAME`";
    for cn in &info.common_names {
        let in_san = info.subject_alt_names.iter().any(|s| match s {
            SanEntry::Dns(d) => d.eq_ignore_ascii_case(cn),
            SanEntry::Ip(ip) => cn.parse::<IpAddr>().is_ok_and(|c| c == *ip),
            _ => false,
        });
        if !in_san && !info.subject_alt_names.is_empty() && looks_like_host(cn) {
            out.push(finding(
                "cn-not-in-san",
                "RFC 6125 §6.4.4",
                Status::Warn,
                format!("the subject CN {cn} is not among the SANs: clients ignore the CN, so {cn} is not a name the certificate serves (the CA/Browser Forum rules require the CN to be a SAN)"),
                format!("{reissue} (with {cn} among the names, or a CN that is one of them)"),
            ));
        }
    }
    for san in &info.subject_alt_names {
        let SanEntry::Dns(d) = san else { continue };
        let Some(base) = d.strip_prefix("*.") else {
            continue;
        };
        let base = base.trim_end_matches('.').to_ascii_lowercase();
        let public = psl::suffix(base.as_bytes())
            .is_some_and(|s| s.is_known() && s.as_bytes() == base.as_bytes());
        if public {
            out.push(finding(
                "wildcard-public-suffix",
                "RFC 6125 §7.2",
                Status::Fail,
                format!("SAN DNS:{d} is a wildcard over the public suffix {base}: it would cover every registrant under it, and browsers and curl refuse to match it"),
                format!("{reissue} naming hosts under your own domain"),
            ));
        }
    }
    if let Some(host) = host {
        if let Some(canonical) = non_canonical_ip(host) {
            out.push(finding(
                "host-ip-not-canonical",
                "RFC 5952 §4",
                Status::Warn,
                format!("--host {host} is an IP address in a non-canonical form ({canonical}): clients read such forms differently (leading zeros as octal, short forms), so check and connect with {canonical}"),
                format!("use --host {canonical}, and the same form in client configuration"),
            ));
        }
    }
}

fn looks_like_host(cn: &str) -> bool {
    cn.contains('.') && !cn.contains(' ')
}

/// The canonical form of `host` when it is an IP literal written otherwise
/// (leading zeros, short IPv4 forms, upper-case or uncompressed IPv6).
fn non_canonical_ip(host: &str) -> Option<String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        let canonical = ip.to_string();
        return (canonical != bare).then_some(canonical);
    }
    // inet_aton forms: 127.1, 0x7f.0.0.1, 010.0.0.1, 2130706433.
    let parts: Vec<&str> = bare.split('.').collect();
    if parts.is_empty() || parts.len() > 4 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let num = |p: &str| -> Option<u64> {
        if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
            u64::from_str_radix(h, 16).ok()
        } else if p.len() > 1 && p.starts_with('0') {
            u64::from_str_radix(&p[1..], 8).ok()
        } else {
            p.parse().ok()
        }
    };
    let values: Vec<u64> = parts.iter().map(|p| num(p)).collect::<Option<_>>()?;
    let (last, head) = values.split_last()?;
    let mut addr: u64 = 0;
    for (i, v) in head.iter().enumerate() {
        if *v > 255 {
            return None;
        }
        addr |= v << (24 - 8 * i);
    }
    let room = 32 - 8 * head.len() as u32;
    if *last >= 1u64 << room {
        return None;
    }
    addr |= last;
    let ip = std::net::Ipv4Addr::from(u32::try_from(addr).ok()?);
    Some(ip.to_string())
}

#[cfg(test)]
mod false_rejects;
#[cfg(test)]
pub(super) mod lab;
#[cfg(test)]
mod tests;
