//! Distinguished names compared as structures, not strings: the
//! `tls_client_auth_subject_dn` a client is registered with (RFC 8705 §2.1.2)
//! against the subject of the certificate it presents.
//!
//! A configured DN is written as RFC 4514 (`CN=partner-7,O=Payer Inc`), or the
//! way tools print it (`CN = partner-7, O = Payer Inc`, `/CN=partner-7/O=Payer
//! Inc`). Two names match when they hold the same attributes (type by OID,
//! value compared case-insensitively with runs of spaces folded, as LDAP's
//! caseIgnoreMatch does), whatever the order they are written in.

use std::fmt;

use x509_parser::x509::X509Name;

/// One attribute of a name: its OID (dotted) and normalized value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Attribute {
    oid: String,
    value: String,
}

/// A parsed distinguished name, ready to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistinguishedName {
    /// Sorted, so that order does not matter.
    attributes: Vec<Attribute>,
    text: String,
}

/// Why a DN string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnError {
    #[error("the distinguished name is empty")]
    Empty,
    #[error("`{part}` is not an attribute: write TYPE=value, e.g. CN=partner-7,O=Payer Inc")]
    NotAnAttribute { part: String },
    #[error(
        "unknown attribute type `{name}`: use CN, O, OU, C, ST, L, emailAddress, serialNumber, DC, UID or a dotted OID"
    )]
    UnknownType { name: String },
    #[error("the name ends inside an escape (`\\`)")]
    DanglingEscape,
}

const NAMES: &[(&str, &str)] = &[
    ("CN", "2.5.4.3"),
    ("COMMONNAME", "2.5.4.3"),
    ("SN", "2.5.4.4"),
    ("SURNAME", "2.5.4.4"),
    ("SERIALNUMBER", "2.5.4.5"),
    ("C", "2.5.4.6"),
    ("L", "2.5.4.7"),
    ("ST", "2.5.4.8"),
    ("S", "2.5.4.8"),
    ("STREET", "2.5.4.9"),
    ("O", "2.5.4.10"),
    ("OU", "2.5.4.11"),
    ("TITLE", "2.5.4.12"),
    ("GIVENNAME", "2.5.4.42"),
    ("DC", "0.9.2342.19200300.100.1.25"),
    ("UID", "0.9.2342.19200300.100.1.1"),
    ("EMAILADDRESS", "1.2.840.113549.1.9.1"),
    ("E", "1.2.840.113549.1.9.1"),
    ("ORGANIZATIONIDENTIFIER", "2.5.4.97"),
];

fn type_oid(name: &str) -> Result<String, DnError> {
    let upper = name.trim().to_ascii_uppercase();
    if let Some((_, oid)) = NAMES.iter().find(|(n, _)| *n == upper) {
        return Ok((*oid).to_string());
    }
    let dotted = upper.strip_prefix("OID.").unwrap_or(&upper);
    if !dotted.is_empty()
        && dotted
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    {
        return Ok(dotted.to_string());
    }
    Err(DnError::UnknownType {
        name: name.trim().to_string(),
    })
}

/// caseIgnoreMatch-style normalization: trim, fold runs of whitespace, lower-case.
fn normalize(value: &str) -> String {
    value
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl DistinguishedName {
    /// Parse a DN written by a person.
    pub fn parse(text: &str) -> Result<Self, DnError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(DnError::Empty);
        }
        // OpenSSL's "/CN=a/O=b" form.
        let parts = if let Some(rest) = trimmed.strip_prefix('/') {
            split_unescaped(rest, &['/'])?
        } else {
            split_unescaped(trimmed, &[',', ';', '+'])?
        };
        let mut attributes = Vec::new();
        for part in parts {
            if part.trim().is_empty() {
                continue;
            }
            let Some((name, value)) = part.split_once('=') else {
                return Err(DnError::NotAnAttribute {
                    part: part.trim().to_string(),
                });
            };
            attributes.push(Attribute {
                oid: type_oid(name)?,
                value: normalize(&unescape(value.trim())),
            });
        }
        if attributes.is_empty() {
            return Err(DnError::Empty);
        }
        attributes.sort();
        Ok(Self {
            attributes,
            text: trimmed.to_string(),
        })
    }

    /// The name of a certificate's subject (or issuer), from its DER.
    pub fn from_x509(name: &X509Name<'_>) -> Self {
        let mut attributes: Vec<Attribute> = name
            .iter_attributes()
            .map(|a| Attribute {
                oid: a.attr_type().to_id_string(),
                value: normalize(a.as_str().unwrap_or("")),
            })
            .collect();
        attributes.sort();
        Self {
            attributes,
            text: name.to_string(),
        }
    }

    /// The subject of a DER certificate; `None` when it does not parse.
    pub fn subject_of(cert_der: &[u8]) -> Option<Self> {
        let (_, cert) = x509_parser::parse_x509_certificate(cert_der).ok()?;
        Some(Self::from_x509(cert.subject()))
    }

    /// Same attributes, in any order.
    pub fn matches(&self, other: &DistinguishedName) -> bool {
        self.attributes == other.attributes
    }
}

impl fmt::Display for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Split on any of `seps` that is not escaped with `\` or inside double quotes.
fn split_unescaped(s: &str, seps: &[char]) -> Result<Vec<String>, DnError> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = s.chars();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let next = chars.next().ok_or(DnError::DanglingEscape)?;
                current.push('\\');
                current.push(next);
            }
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if !quoted && seps.contains(&c) => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    Ok(parts)
}

/// Remove RFC 4514 escapes and surrounding quotes.
fn unescape(value: &str) -> String {
    let v = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dn(s: &str) -> DistinguishedName {
        DistinguishedName::parse(s).unwrap()
    }

    #[test]
    fn order_case_and_spacing_do_not_matter() {
        let a = dn("CN=partner-7,O=Payer Inc");
        assert!(a.matches(&dn("O=Payer Inc, CN=partner-7")));
        assert!(a.matches(&dn("cn = PARTNER-7 , o = payer   inc")));
        assert!(a.matches(&dn("/CN=partner-7/O=Payer Inc")));
        assert!(a.matches(&dn("commonName=partner-7;O=Payer Inc")));
        assert!(a.matches(&dn("2.5.4.3=partner-7,OID.2.5.4.10=Payer Inc")));
        assert!(!a.matches(&dn("CN=partner-7")));
        assert!(!a.matches(&dn("CN=partner-8,O=Payer Inc")));
        assert!(!a.matches(&dn("CN=partner-7,O=Payer Inc,OU=x")));
    }

    #[test]
    fn escapes_and_quotes() {
        assert!(dn(r"CN=Smith\, John,O=Acme").matches(&dn(r#"CN="Smith, John",O=Acme"#)));
        assert_eq!(dn(r"CN=a\,b").attributes.len(), 1);
    }

    #[test]
    fn errors_are_named() {
        assert_eq!(DistinguishedName::parse("  ").unwrap_err(), DnError::Empty);
        assert!(matches!(
            DistinguishedName::parse("partner").unwrap_err(),
            DnError::NotAnAttribute { .. }
        ));
        assert!(matches!(
            DistinguishedName::parse("XX=1").unwrap_err(),
            DnError::UnknownType { .. }
        ));
        assert_eq!(
            DistinguishedName::parse("CN=a\\").unwrap_err(),
            DnError::DanglingEscape
        );
    }

    #[test]
    fn matches_a_certificate_subject() {
        let mut params = rcgen::CertificateParams::default();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "partner-7");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Payer Inc");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let subject = DistinguishedName::subject_of(cert.der()).unwrap();
        assert!(dn("O=Payer Inc,CN=partner-7").matches(&subject));
        assert!(!dn("CN=partner-7").matches(&subject));
    }
}
