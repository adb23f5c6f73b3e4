//! What a certificate says, in one plain struct: names, dates, SANs, usages,
//! key, signature, fingerprints. Built once from DER with x509-parser; the
//! checks, `connect`, the trust store and the console all read it.

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::public_key::PublicKey;

use crate::bundle::describe_x509_error;
use crate::oid;
use crate::thumbprint::{colon_hex, sha256_fingerprint, x5t_s256};

/// One subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum SanEntry {
    Dns(String),
    Ip(IpAddr),
    Uri(String),
    Email(String),
    /// Any other kind, described.
    Other(String),
}

impl fmt::Display for SanEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SanEntry::Dns(v) => write!(f, "DNS:{v}"),
            SanEntry::Ip(v) => write!(f, "IP:{v}"),
            SanEntry::Uri(v) => write!(f, "URI:{v}"),
            SanEntry::Email(v) => write!(f, "email:{v}"),
            SanEntry::Other(v) => write!(f, "{v}"),
        }
    }
}

/// The kind and size of a public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum KeyKind {
    Rsa { bits: usize },
    Ec { curve: String, bits: usize },
    Ed25519,
    Ed448,
    Other { oid: String },
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyKind::Rsa { bits } => write!(f, "RSA {bits} bits"),
            KeyKind::Ec { curve, .. } => write!(f, "ECDSA {curve}"),
            KeyKind::Ed25519 => write!(f, "Ed25519"),
            KeyKind::Ed448 => write!(f, "Ed448"),
            KeyKind::Other { oid } if oid == "1.2.840.10040.4.1" => write!(f, "DSA"),
            KeyKind::Other { oid } => write!(f, "unknown key type {oid}"),
        }
    }
}

/// Everything certbound reports about one certificate.
#[derive(Debug, Clone, Serialize)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// Serial number as colon-separated hex.
    pub serial: String,
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    pub subject_alt_names: Vec<SanEntry>,
    /// keyUsage bits by name; `None` when the extension is absent.
    pub key_usage: Option<Vec<String>>,
    /// Extended key usage OIDs (dotted); `None` when the extension is absent.
    pub extended_key_usage: Option<Vec<String>>,
    /// basicConstraints cA.
    pub is_ca: bool,
    pub path_len: Option<u32>,
    /// Subject and issuer names are the same.
    pub self_issued: bool,
    /// Self-issued and signed by its own key.
    pub self_signed: bool,
    pub key: KeyKind,
    pub signature_algorithm: String,
    pub signature_algorithm_oid: String,
    pub weak_signature: bool,
    pub sha256_fingerprint: String,
    #[serde(rename = "x5t#S256")]
    pub x5t_s256: String,
    pub subject_key_id: Option<String>,
    pub authority_key_id: Option<String>,
    /// The subject's common names (usually one).
    #[serde(skip)]
    pub common_names: Vec<String>,
    /// The subject's organization names.
    #[serde(skip)]
    pub organizations: Vec<String>,
    #[serde(skip)]
    pub issuer_organizations: Vec<String>,
    /// The issuer's common names.
    #[serde(skip)]
    pub issuer_common_names: Vec<String>,
    /// Raw DER of the subject and issuer names, for exact comparison.
    #[serde(skip)]
    pub subject_raw: Vec<u8>,
    #[serde(skip)]
    pub issuer_raw: Vec<u8>,
    /// Extensions that could not be parsed, described.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension_errors: Vec<String>,
}

/// What a certificate in a client's trust store stands for (RFC 8705 §2.1, §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustRole {
    /// A CA: it vouches for the certificates it issued (`tls_client_auth`).
    Ca,
    /// A self-signed certificate: it authenticates exactly itself, byte for
    /// byte, whatever its basicConstraints say (`self_signed_tls_client_auth`).
    /// `openssl req -x509` makes these with CA:TRUE and no keyUsage.
    Pinned,
    /// A self-signed CA with keyUsage keyCertSign: itself, and what it issued.
    PinnedCa,
    /// Neither a CA nor self-signed: it cannot be in a trust store.
    Neither,
}

impl TrustRole {
    /// Whether the certificate authenticates a client presenting it byte for byte.
    pub fn pins(self) -> bool {
        matches!(self, TrustRole::Pinned | TrustRole::PinnedCa)
    }

    /// Whether the certificate vouches for the certificates it issued.
    pub fn vouches(self) -> bool {
        matches!(self, TrustRole::Ca | TrustRole::PinnedCa)
    }

    /// In words, for listings: "CA", "self-signed", "self-signed CA".
    pub fn label(self) -> &'static str {
        match self {
            TrustRole::Ca => "CA",
            TrustRole::Pinned => "self-signed",
            TrustRole::PinnedCa => "self-signed CA",
            TrustRole::Neither => "issued certificate",
        }
    }
}

/// A certificate that x509-parser could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid X.509 certificate: {reason}")]
pub struct InspectError {
    pub reason: String,
}

/// A certificate's public key in the forms signature verifiers take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKeyBytes {
    /// RSA: the DER `RSAPublicKey` (the subjectPublicKey bits), and its
    /// modulus and exponent (big-endian, leading zeros removed).
    Rsa {
        der: Vec<u8>,
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// EC: the curve's name (`P-256`, `P-384`, ...) and the SEC1 point.
    Ec { curve: String, point: Vec<u8> },
    /// Ed25519: the 32-byte key.
    Ed25519(Vec<u8>),
    /// Another kind of key, described.
    Other(KeyKind),
}

/// The public key of a DER certificate.
pub fn public_key(der: &[u8]) -> Result<PublicKeyBytes, InspectError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| InspectError {
        reason: describe_x509_error(&e),
    })?;
    let bits = cert.public_key().subject_public_key.data.to_vec();
    let strip = |b: &[u8]| b[b.iter().take_while(|x| **x == 0).count()..].to_vec();
    Ok(match key_kind(&cert) {
        KeyKind::Ed25519 => PublicKeyBytes::Ed25519(bits),
        KeyKind::Ec { curve, .. } => PublicKeyBytes::Ec { curve, point: bits },
        kind @ KeyKind::Rsa { .. } => match cert.public_key().parsed() {
            Ok(PublicKey::RSA(rsa)) => PublicKeyBytes::Rsa {
                n: strip(rsa.modulus),
                e: strip(rsa.exponent),
                der: bits,
            },
            _ => PublicKeyBytes::Other(kind),
        },
        kind => PublicKeyBytes::Other(kind),
    })
}

impl CertInfo {
    /// Describe a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, InspectError> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| InspectError {
            reason: describe_x509_error(&e),
        })?;
        Ok(Self::from_parsed(&cert, der))
    }

    fn from_parsed(cert: &X509Certificate<'_>, der: &[u8]) -> Self {
        let mut info = CertInfo {
            subject: name_string(cert.subject()),
            issuer: name_string(cert.issuer()),
            serial: colon_hex(cert.raw_serial()),
            not_before: cert.validity().not_before.to_datetime(),
            not_after: cert.validity().not_after.to_datetime(),
            subject_alt_names: Vec::new(),
            key_usage: None,
            extended_key_usage: None,
            is_ca: false,
            path_len: None,
            self_issued: cert.subject().as_raw() == cert.issuer().as_raw(),
            self_signed: false,
            key: key_kind(cert),
            signature_algorithm: String::new(),
            signature_algorithm_oid: cert.signature_algorithm.algorithm.to_id_string(),
            weak_signature: false,
            sha256_fingerprint: sha256_fingerprint(der),
            x5t_s256: x5t_s256(der),
            subject_key_id: None,
            authority_key_id: None,
            common_names: attr_strings(cert.subject().iter_common_name()),
            organizations: attr_strings(cert.subject().iter_organization()),
            issuer_organizations: attr_strings(cert.issuer().iter_organization()),
            issuer_common_names: attr_strings(cert.issuer().iter_common_name()),
            subject_raw: cert.subject().as_raw().to_vec(),
            issuer_raw: cert.issuer().as_raw().to_vec(),
            extension_errors: Vec::new(),
        };
        let alg = oid::signature_algorithm(&info.signature_algorithm_oid);
        info.signature_algorithm = if alg.name == "unknown" {
            info.signature_algorithm_oid.clone()
        } else {
            alg.name.to_string()
        };
        info.weak_signature = alg.weak;
        for ext in cert.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::SubjectAlternativeName(san) => {
                    info.subject_alt_names = san.general_names.iter().map(san_entry).collect();
                }
                ParsedExtension::KeyUsage(ku) => info.key_usage = Some(key_usage_names(ku)),
                ParsedExtension::ExtendedKeyUsage(eku) => {
                    let mut oids = Vec::new();
                    if eku.server_auth {
                        oids.push(oid::EKU_SERVER_AUTH.to_string());
                    }
                    if eku.client_auth {
                        oids.push(oid::EKU_CLIENT_AUTH.to_string());
                    }
                    for (flag, id) in [
                        (eku.code_signing, "1.3.6.1.5.5.7.3.3"),
                        (eku.email_protection, "1.3.6.1.5.5.7.3.4"),
                        (eku.time_stamping, "1.3.6.1.5.5.7.3.8"),
                        (eku.ocsp_signing, "1.3.6.1.5.5.7.3.9"),
                        (eku.any, "2.5.29.37.0"),
                    ] {
                        if flag {
                            oids.push(id.to_string());
                        }
                    }
                    oids.extend(eku.other.iter().map(|o| o.to_id_string()));
                    info.extended_key_usage = Some(oids);
                }
                ParsedExtension::BasicConstraints(bc) => {
                    info.is_ca = bc.ca;
                    info.path_len = bc.path_len_constraint;
                }
                ParsedExtension::SubjectKeyIdentifier(id) => {
                    info.subject_key_id = Some(colon_hex(id.0));
                }
                ParsedExtension::AuthorityKeyIdentifier(aki) => {
                    info.authority_key_id = aki.key_identifier.as_ref().map(|id| colon_hex(id.0));
                }
                ParsedExtension::ParseError { error } => info
                    .extension_errors
                    .push(format!("extension {}: {error}", ext.oid.to_id_string())),
                _ => {}
            }
        }
        info.self_signed = info.self_issued && crate::chain::signed_by(der, der);
        info
    }

    /// What this certificate stands for in a trust store. A self-signed
    /// certificate always authenticates itself; it also vouches for what it
    /// issued only when it is a CA by RFC 5280's rules, CA:TRUE and keyUsage
    /// keyCertSign (§4.2.1.3, §4.2.1.9). A certificate that is not
    /// self-signed vouches for what it issued when it is CA:TRUE.
    pub fn trust_role(&self) -> TrustRole {
        let signs_certs = self
            .key_usage
            .as_ref()
            .is_some_and(|ku| ku.iter().any(|k| k == "keyCertSign"));
        if self.refused_self_signature().is_some() {
            // Its key or signature algorithm can verify nothing certbound accepts.
            return TrustRole::Neither;
        }
        match (self.self_signed, self.is_ca) {
            (true, true) if signs_certs => TrustRole::PinnedCa,
            (true, _) => TrustRole::Pinned,
            (false, true) => TrustRole::Ca,
            (false, false) => TrustRole::Neither,
        }
    }

    /// Whether the subject and issuer are the same but the self-signature
    /// could not be checked because its algorithm or key is refused (SHA-1,
    /// MD5, RSA under 2048 bits): the algorithm in words, then.
    pub fn refused_self_signature(&self) -> Option<String> {
        if !self.self_issued || self.self_signed {
            return None;
        }
        if self.weak_signature {
            return Some(self.signature_algorithm.clone());
        }
        match self.key {
            KeyKind::Rsa { bits } if bits < 2048 => Some(format!("an RSA key of {bits} bits")),
            _ => None,
        }
    }

    /// The URI SANs (UDAP's and SPIFFE's identities), in certificate order.
    pub fn uris(&self) -> Vec<String> {
        self.subject_alt_names
            .iter()
            .filter_map(|s| match s {
                SanEntry::Uri(u) => Some(u.clone()),
                _ => None,
            })
            .collect()
    }

    /// The first common name, or the whole subject when it has none.
    pub fn display_name(&self) -> &str {
        self.common_names
            .first()
            .map_or(self.subject.as_str(), String::as_str)
    }

    /// The issuer's first common name, or the whole issuer name.
    pub fn issuer_display_name(&self) -> &str {
        self.issuer_common_names
            .first()
            .map_or(self.issuer.as_str(), String::as_str)
    }

    /// Whether the EKU extension lists `oid` (or anyExtendedKeyUsage).
    pub fn has_eku(&self, oid: &str) -> bool {
        self.extended_key_usage
            .as_ref()
            .is_some_and(|ekus| ekus.iter().any(|e| e == oid || e == "2.5.29.37.0"))
    }

    /// Whether the keyUsage extension is absent or lists `name`.
    pub fn allows_key_usage(&self, name: &str) -> bool {
        self.key_usage
            .as_ref()
            .is_none_or(|ku| ku.iter().any(|k| k == name))
    }

    /// Whether `now` is within the validity period.
    pub fn is_valid_at(&self, now: OffsetDateTime) -> bool {
        self.not_before <= now && now <= self.not_after
    }

    /// Human names of the EKUs, "TLS Web Client Authentication (clientAuth)".
    pub fn eku_names(&self) -> Vec<String> {
        self.extended_key_usage
            .iter()
            .flatten()
            .map(|o| oid::eku_name(o))
            .collect()
    }
}

/// The subject of a DER certificate as text, without the cost of a full
/// [`CertInfo`] (no digests, no signature check).
pub fn subject_string(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(name_string(cert.subject()))
}

/// The end of validity of a DER certificate, cheaply.
pub fn not_after(der: &[u8]) -> Option<OffsetDateTime> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(cert.validity().not_after.to_datetime())
}

fn name_string(name: &x509_parser::x509::X509Name<'_>) -> String {
    name.to_string_with_registry(x509_parser::objects::oid_registry())
        .unwrap_or_else(|_| "(a name that cannot be decoded)".to_string())
}

fn attr_strings<'a>(
    attrs: impl Iterator<Item = &'a x509_parser::x509::AttributeTypeAndValue<'a>>,
) -> Vec<String> {
    attrs
        .filter_map(|a| a.as_str().ok().map(str::to_string))
        .collect()
}

fn san_entry(name: &GeneralName<'_>) -> SanEntry {
    match name {
        GeneralName::DNSName(v) => SanEntry::Dns((*v).to_string()),
        GeneralName::URI(v) => SanEntry::Uri((*v).to_string()),
        GeneralName::RFC822Name(v) => SanEntry::Email((*v).to_string()),
        GeneralName::IPAddress(bytes) => match bytes.len() {
            4 => {
                let mut a = [0u8; 4];
                a.copy_from_slice(bytes);
                SanEntry::Ip(IpAddr::from(a))
            }
            16 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(bytes);
                SanEntry::Ip(IpAddr::from(a))
            }
            _ => SanEntry::Other(format!("IP:<{} bytes>", bytes.len())),
        },
        GeneralName::DirectoryName(n) => SanEntry::Other(format!("DirName:{}", name_string(n))),
        GeneralName::OtherName(oid, _) => {
            SanEntry::Other(format!("othername:{}", oid.to_id_string()))
        }
        GeneralName::RegisteredID(oid) => SanEntry::Other(format!("RID:{}", oid.to_id_string())),
        _ => SanEntry::Other("(unsupported name form)".to_string()),
    }
}

fn key_usage_names(ku: &x509_parser::extensions::KeyUsage) -> Vec<String> {
    [
        (ku.digital_signature(), "digitalSignature"),
        (ku.non_repudiation(), "nonRepudiation"),
        (ku.key_encipherment(), "keyEncipherment"),
        (ku.data_encipherment(), "dataEncipherment"),
        (ku.key_agreement(), "keyAgreement"),
        (ku.key_cert_sign(), "keyCertSign"),
        (ku.crl_sign(), "cRLSign"),
        (ku.encipher_only(), "encipherOnly"),
        (ku.decipher_only(), "decipherOnly"),
    ]
    .into_iter()
    .filter(|(set, _)| *set)
    .map(|(_, name)| name.to_string())
    .collect()
}

fn key_kind(cert: &X509Certificate<'_>) -> KeyKind {
    let spki = cert.public_key();
    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        "1.3.101.112" => return KeyKind::Ed25519,
        "1.3.101.113" => return KeyKind::Ed448,
        "1.2.840.10045.2.1" => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .unwrap_or_default();
            let bits = match spki.parsed() {
                Ok(PublicKey::EC(point)) => point.key_size(),
                _ => 0,
            };
            let curve = oid::curve_name(&curve).map_or(curve, str::to_string);
            return KeyKind::Ec { curve, bits };
        }
        _ => {}
    }
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => KeyKind::Rsa {
            bits: modulus_bits(rsa.modulus),
        },
        _ => KeyKind::Other { oid: alg },
    }
}

/// The size of an RSA modulus in bits, counted from its highest set bit: a
/// 2052-bit modulus is 2052 bits, not the 2048 a byte count gives.
fn modulus_bits(modulus: &[u8]) -> usize {
    let Some(start) = modulus.iter().position(|b| *b != 0) else {
        return 0;
    };
    let rest = &modulus[start..];
    (rest.len() - 1) * 8 + (8 - rest[0].leading_zeros() as usize)
}
