//! Certificate signing requests (PKCS#10, RFC 2986) both ways, so that a
//! private key never has to leave the side that uses it:
//!
//! - [`make`] writes a request for a new key (what `openssl req -new` does),
//!   for a partner who keeps its key and sends the request to a CA;
//! - [`parse`] reads a request anyone made (openssl, Java keytool, Windows
//!   certreq; PEM or DER), verifies its self-signature with aws-lc-rs (proof
//!   that the requester holds the key) and refuses one that asks to be a CA;
//! - [`sign`] issues a leaf for the request's key with the same profile as
//!   [`super::leaf`]: the EKU of the usage, keyUsage digitalSignature,
//!   basicConstraints CA:FALSE, whatever else the request asked for.

use std::net::IpAddr;

use rcgen::{CertificateParams, DistinguishedName, DnType, DnValue, KeyUsagePurpose};
use time::OffsetDateTime;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::extensions::{GeneralName, ParsedExtension, X509Extension};
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

use super::{GenerateError, KeyType, LeafSpec, Signer, leaf_params, pem_encode, pkcs8_v1};
use crate::CertDer;
use crate::chain::Usage;
use crate::inspect::{KeyKind, SanEntry};

mod signature;

use signature::{CsrKey, request_key, verify_signature};

/// Largest request accepted; real ones are a few KiB.
pub const MAX_CSR_BYTES: usize = 1024 * 1024;

/// What goes in a new request: a subject and the names to vouch for.
#[derive(Debug, Clone, Default)]
pub struct RequestSpec {
    pub common_name: String,
    pub organization: Option<String>,
    pub dns: Vec<String>,
    pub ips: Vec<IpAddr>,
    pub uris: Vec<String>,
    pub emails: Vec<String>,
    pub key_type: KeyType,
}

/// A request just made, with the private key it was made for.
#[derive(Debug, Clone)]
pub struct MadeRequest {
    /// PEM "CERTIFICATE REQUEST".
    pub csr_pem: String,
    pub csr_der: Vec<u8>,
    /// The private key, PKCS#8 PEM.
    pub key_pem: String,
}

/// Make a new key and a request for it. The request carries the subject and
/// the SANs, nothing else: the CA decides the usage.
pub fn make(spec: &RequestSpec) -> Result<MadeRequest, GenerateError> {
    // The leaf profile validates and shapes the subject and SANs exactly as
    // `pki issue` does; only those two parts go into the request (its dates,
    // which a request cannot carry, are not used).
    let shaped = leaf_params(
        &LeafSpec {
            common_name: spec.common_name.clone(),
            organization: spec.organization.clone(),
            dns: spec.dns.clone(),
            ips: spec.ips.clone(),
            uris: spec.uris.clone(),
            emails: spec.emails.clone(),
            usage: Usage::Client,
            key_type: spec.key_type,
            days: 1,
            ..LeafSpec::default()
        },
        OffsetDateTime::UNIX_EPOCH,
    )?;
    let mut params = CertificateParams::default();
    params.distinguished_name = shaped.distinguished_name;
    params.subject_alt_names = shaped.subject_alt_names;
    let key = spec.key_type.generate()?;
    let csr = params
        .serialize_request(&key)
        .map_err(super::rcgen_err("make the certificate signing request"))?;
    let der = csr.der().to_vec();
    Ok(MadeRequest {
        csr_pem: pem_encode("CERTIFICATE REQUEST", &der),
        csr_der: der,
        key_pem: pem_encode("PRIVATE KEY", &pkcs8_v1(key.serialized_der())),
    })
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsrError {
    #[error(
        "the file is empty: expected a certificate signing request (PEM `-----BEGIN CERTIFICATE REQUEST-----` or DER)"
    )]
    Empty,
    #[error("the file is {size} bytes, more than the {MAX_CSR_BYTES} accepted for a CSR")]
    TooLarge { size: usize },
    #[error(
        "this is {what}, not a certificate signing request: ask the requester for the CSR (a `.csr` file, `-----BEGIN CERTIFICATE REQUEST-----`)"
    )]
    WrongKind { what: String },
    #[error(
        "this is neither a PEM certificate signing request (no `-----BEGIN CERTIFICATE REQUEST-----` line) nor a DER one: check that you gave the .csr file"
    )]
    NotACsr,
    #[error("the file holds {count} certificate signing requests: give one at a time")]
    Several { count: usize },
    #[error("the CSR cannot be read: {reason}; ask the requester for a new one")]
    Malformed { reason: String },
    #[error(
        "the CSR is signed with {algorithm}, which can be forged: ask for a new CSR signed with SHA-256 (e.g. `openssl req -new -sha256`)"
    )]
    WeakSignature { algorithm: String },
    #[error(
        "the CSR is signed with {algorithm}, which certbound does not verify: ask for a CSR signed with RSA (PKCS#1 v1.5 or PSS) and SHA-256/384/512, ECDSA P-256 or P-384, or Ed25519"
    )]
    UnsupportedSignature { algorithm: String },
    #[error(
        "the CSR's key is {key}, which certbound does not certify: ask for a CSR with an RSA (2048 to 8192 bits), ECDSA P-256 or P-384, or Ed25519 key"
    )]
    UnsupportedKey { key: String },
    #[error(
        "the CSR's key is RSA {bits} bits, too weak to certify: ask for a CSR with a key of at least 2048 bits"
    )]
    WeakKey { bits: usize },
    #[error(
        "the CSR's signature does not verify ({algorithm}): it was altered after it was made, or was not signed by the key it carries; ask the requester for a new CSR"
    )]
    BadSignature { algorithm: String },
    #[error(
        "the CSR asks for a CA certificate ({what}): `pki sign` issues only client and server certificates; ask for a CSR without it"
    )]
    AsksForCa { what: &'static str },
}

/// A request whose signature verified, ready to sign.
#[derive(Debug, Clone)]
pub struct Request {
    /// The subject, as `openssl` prints it (`CN=partner-7, O=Payer Inc`).
    pub subject: String,
    pub common_name: Option<String>,
    /// The SANs requested.
    pub sans: Vec<SanEntry>,
    pub key: KeyKind,
    pub signature_algorithm: String,
    subject_attributes: Attributes,
    public_key: CsrKey,
    key_usage: Option<Vec<&'static str>>,
    extended_key_usage: Option<Vec<String>>,
    /// What will not be carried whatever the usage, one line each.
    dropped: Vec<String>,
}

/// What the certificate made from a request says beyond the request.
#[derive(Debug, Clone, Default)]
pub struct SignSpec {
    pub usage: Usage,
    pub days: u32,
    /// Replaces the request's CN.
    pub common_name: Option<String>,
    /// Replaces the request's O.
    pub organization: Option<String>,
    /// Any SAN given here replaces all the SANs of the request.
    pub dns: Vec<String>,
    pub ips: Vec<IpAddr>,
    pub uris: Vec<String>,
    pub emails: Vec<String>,
    /// CRL Distribution Points (`--crl-url`).
    pub crl_urls: Vec<String>,
    /// AIA OCSP responders (`--ocsp-url`).
    pub ocsp_urls: Vec<String>,
}

impl SignSpec {
    fn has_sans(&self) -> bool {
        !(self.dns.is_empty()
            && self.ips.is_empty()
            && self.uris.is_empty()
            && self.emails.is_empty())
    }
}

/// A certificate issued for a request's key.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    pub cert_pem: String,
    pub cert_der: CertDer,
    /// Set when the requested lifetime was cut to end with the issuing CA.
    pub capped_at: Option<OffsetDateTime>,
    /// What the request asked for that the certificate does not carry, one
    /// line each, for the operator to read.
    pub not_carried: Vec<String>,
}

/// Subject attributes in their order, one value per type.
type Attributes = Vec<(DnType, DnValue)>;

/// Read a request (PEM or DER), verify its signature and refuse what a leaf
/// may not be.
pub fn parse(input: &[u8]) -> Result<Request, CsrError> {
    let der = request_der(input)?;
    let (rest, csr) =
        X509CertificationRequest::from_der(&der).map_err(|e| CsrError::Malformed {
            reason: crate::bundle::describe_x509_error(&e),
        })?;
    if !rest.is_empty() {
        return Err(CsrError::Malformed {
            reason: format!("{} bytes follow the request", rest.len()),
        });
    }
    let info = &csr.certification_request_info;
    let (public_key, key) = request_key(&info.subject_pki)?;
    let signature_algorithm = verify_signature(&csr, &public_key)?;

    let mut dropped = Vec::new();
    let (subject_attributes, common_name) = subject_attributes(&info.subject, &mut dropped)?;
    let mut request = Request {
        subject: info
            .subject
            .to_string_with_registry(x509_parser::objects::oid_registry())
            .unwrap_or_else(|_| "(a name that cannot be decoded)".to_string()),
        common_name,
        sans: Vec::new(),
        key,
        signature_algorithm,
        subject_attributes,
        public_key,
        key_usage: None,
        extended_key_usage: None,
        dropped,
    };
    for attr in info.iter_attributes() {
        if let ParsedCriAttribute::ExtensionRequest(req) = attr.parsed_attribute() {
            for ext in &req.extensions {
                request.requested(ext)?;
            }
        }
    }
    Ok(request)
}

impl Request {
    /// Take in one requested extension: refuse a CA request, keep the SANs,
    /// remember the rest to say it is not carried.
    fn requested(&mut self, ext: &X509Extension<'_>) -> Result<(), CsrError> {
        let unreadable = |name: &str| CsrError::Malformed {
            reason: format!("its requested {name} extension cannot be decoded"),
        };
        match ext.parsed_extension() {
            ParsedExtension::BasicConstraints(bc) => {
                if bc.ca {
                    return Err(CsrError::AsksForCa {
                        what: "basicConstraints CA:TRUE",
                    });
                }
            }
            ParsedExtension::KeyUsage(ku) => {
                if ku.key_cert_sign() {
                    return Err(CsrError::AsksForCa {
                        what: "keyUsage keyCertSign",
                    });
                }
                if ku.crl_sign() {
                    return Err(CsrError::AsksForCa {
                        what: "keyUsage cRLSign",
                    });
                }
                self.key_usage = Some(
                    [
                        (ku.digital_signature(), "digitalSignature"),
                        (ku.non_repudiation(), "nonRepudiation"),
                        (ku.key_encipherment(), "keyEncipherment"),
                        (ku.data_encipherment(), "dataEncipherment"),
                        (ku.key_agreement(), "keyAgreement"),
                        (ku.encipher_only(), "encipherOnly"),
                        (ku.decipher_only(), "decipherOnly"),
                    ]
                    .into_iter()
                    .filter_map(|(set, name)| set.then_some(name))
                    .collect(),
                );
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                let mut names: Vec<String> = [
                    (eku.server_auth, "serverAuth"),
                    (eku.client_auth, "clientAuth"),
                    (eku.code_signing, "codeSigning"),
                    (eku.email_protection, "emailProtection"),
                    (eku.time_stamping, "timeStamping"),
                    (eku.ocsp_signing, "OCSPSigning"),
                    (eku.any, "anyExtendedKeyUsage"),
                ]
                .into_iter()
                .filter(|(set, _)| *set)
                .map(|(_, name)| name.to_string())
                .collect();
                names.extend(eku.other.iter().map(|o| o.to_id_string()));
                self.extended_key_usage = Some(names);
            }
            ParsedExtension::SubjectAlternativeName(san) => {
                self.sans = san.general_names.iter().map(san_entry).collect();
            }
            ParsedExtension::ParseError { .. } => {
                let name = extension_name(ext);
                // A request we cannot read might be asking to be a CA: fail closed.
                if ["basicConstraints", "keyUsage", "subjectAltName"].contains(&name.as_str()) {
                    return Err(unreadable(&name));
                }
                self.dropped.push(name);
            }
            ParsedExtension::SubjectKeyIdentifier(_) => self.dropped.push(
                "subjectKeyIdentifier (the certificate has its own, computed from the key)"
                    .to_string(),
            ),
            ParsedExtension::NameConstraints(_) => self
                .dropped
                .push("nameConstraints (only a CA may carry it)".to_string()),
            _ => self.dropped.push(extension_name(ext)),
        }
        Ok(())
    }
}

/// Issue a leaf for the request's key, signed by `signer`, with the profile
/// of [`super::leaf`]: the request's subject and SANs (or those of `spec`),
/// never the extensions it asked for.
pub fn sign(
    signer: &Signer,
    request: &Request,
    spec: &SignSpec,
    now: OffsetDateTime,
) -> Result<SignedRequest, GenerateError> {
    signer.check_valid(now)?;
    let mut not_carried = request.dropped.clone();
    let mut leaf = LeafSpec {
        common_name: spec
            .common_name
            .clone()
            .or_else(|| request.common_name.clone())
            .unwrap_or_default(),
        organization: spec.organization.clone(),
        usage: spec.usage,
        // Only whether the key is RSA shapes the profile (keyEncipherment).
        key_type: if request.public_key.rsa {
            KeyType::Rsa2048
        } else {
            KeyType::EcdsaP256
        },
        days: spec.days,
        crl_urls: spec.crl_urls.clone(),
        ocsp_urls: spec.ocsp_urls.clone(),
        ..LeafSpec::default()
    };
    if spec.has_sans() {
        leaf.dns = spec.dns.clone();
        leaf.ips = spec.ips.clone();
        leaf.uris = spec.uris.clone();
        leaf.emails = spec.emails.clone();
    } else {
        for san in &request.sans {
            match san {
                SanEntry::Dns(v) => leaf.dns.push(v.clone()),
                SanEntry::Ip(v) => leaf.ips.push(*v),
                SanEntry::Uri(v) => leaf.uris.push(v.clone()),
                SanEntry::Email(v) => leaf.emails.push(v.clone()),
                SanEntry::Other(v) => not_carried.push(format!("subjectAltName {v}")),
            }
        }
    }
    if leaf.common_name.trim().is_empty() {
        return Err(GenerateError::Missing {
            field: "a common name: the CSR has none, so give one with --cn",
        });
    }
    let mut params = leaf_params(&leaf, now)?;
    params.distinguished_name = subject(request, spec);

    let profile_ku = profile_key_usage(&params.key_usages);
    if let Some(asked) = &request.key_usage {
        if asked.iter().any(|k| !profile_ku.contains(k)) {
            not_carried.push(format!(
                "keyUsage {} (the certificate has {})",
                asked.join(", "),
                profile_ku.join(", ")
            ));
        }
    }
    let profile_eku = if spec.usage == Usage::Server {
        "serverAuth"
    } else {
        "clientAuth"
    };
    if let Some(asked) = &request.extended_key_usage {
        if asked.as_slice() != [profile_eku] {
            not_carried.push(format!(
                "extendedKeyUsage {} (the certificate has {profile_eku}, from --usage)",
                asked.join(", ")
            ));
        }
    }

    let (cert_der, capped_at) = super::sign_leaf(signer, params, &request.public_key)?;
    Ok(SignedRequest {
        cert_pem: pem_encode("CERTIFICATE", &cert_der),
        cert_der,
        capped_at,
        not_carried,
    })
}

/// The request's subject with the CN and O of `spec` in place of its own.
fn subject(request: &Request, spec: &SignSpec) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for (ty, value) in &request.subject_attributes {
        dn.push(ty.clone(), value.clone());
    }
    if let Some(cn) = &spec.common_name {
        dn.push(DnType::CommonName, cn.as_str());
    }
    if let Some(org) = spec.organization.as_ref().filter(|o| !o.trim().is_empty()) {
        dn.push(DnType::OrganizationName, org.as_str());
    }
    dn
}

fn profile_key_usage(usages: &[KeyUsagePurpose]) -> Vec<&'static str> {
    usages
        .iter()
        .map(|k| match k {
            KeyUsagePurpose::DigitalSignature => "digitalSignature",
            KeyUsagePurpose::KeyEncipherment => "keyEncipherment",
            _ => "other",
        })
        .collect()
}

/// The DER of the one request in `input`, which is PEM or DER.
fn request_der(input: &[u8]) -> Result<Vec<u8>, CsrError> {
    if input.iter().all(u8::is_ascii_whitespace) {
        return Err(CsrError::Empty);
    }
    if input.len() > MAX_CSR_BYTES {
        return Err(CsrError::TooLarge { size: input.len() });
    }
    if input.windows(11).any(|w| w == b"-----BEGIN ") {
        let blocks = crate::bundle::pem_blocks(input).map_err(|e| CsrError::Malformed {
            reason: e.to_string(),
        })?;
        let mut requests: Vec<_> = blocks
            .iter()
            .filter(|b| b.label == "CERTIFICATE REQUEST" || b.label == "NEW CERTIFICATE REQUEST")
            .collect();
        return match requests.len() {
            1 => Ok(requests.remove(0).der.clone()),
            0 => Err(match blocks.first() {
                Some(b) => CsrError::WrongKind {
                    what: pem_kind(&b.label),
                },
                None => CsrError::NotACsr,
            }),
            count => Err(CsrError::Several { count }),
        };
    }
    if X509CertificationRequest::from_der(input).is_err() {
        if x509_parser::parse_x509_certificate(input).is_ok() {
            return Err(CsrError::WrongKind {
                what: "a certificate (DER)".to_string(),
            });
        }
        if crate::key::parse_private_key(input).is_ok() {
            return Err(CsrError::WrongKind {
                what: "a private key (DER), which should never leave its owner".to_string(),
            });
        }
        // DER of a request starts with a SEQUENCE; anything else is not one.
        if input.first() != Some(&0x30) {
            return Err(CsrError::NotACsr);
        }
    }
    Ok(input.to_vec())
}

fn pem_kind(label: &str) -> String {
    match label {
        "CERTIFICATE" | "TRUSTED CERTIFICATE" | "X509 CERTIFICATE" => {
            "a certificate (already signed)".to_string()
        }
        l if l.ends_with("PRIVATE KEY") => {
            format!("a private key ({l}), which should never leave its owner")
        }
        l => format!("a PEM \"{l}\" block"),
    }
}

/// The subject's attributes as rcgen keeps them (one value per type; a
/// repeated type keeps its first value and the others are reported), and
/// its first common name.
fn subject_attributes(
    name: &X509Name<'_>,
    dropped: &mut Vec<String>,
) -> Result<(Attributes, Option<String>), CsrError> {
    use x509_parser::der_parser::asn1_rs::Tag;
    let mut out: Attributes = Vec::new();
    let mut common_name = None;
    for attr in name.iter().flat_map(|rdn| rdn.iter()) {
        let oid_text = attr.attr_type().to_id_string();
        let components: Vec<u64> =
            attr.attr_type()
                .iter()
                .map(Iterator::collect)
                .ok_or_else(|| CsrError::Malformed {
                    reason: format!("its subject has an attribute type {oid_text} out of range"),
                })?;
        let ty = DnType::from_oid(&components);
        let bad = || CsrError::Malformed {
            reason: format!("its subject attribute {oid_text} cannot be decoded"),
        };
        let data = attr.attr_value().data;
        let text = || std::str::from_utf8(data).map_err(|_| bad());
        let value = match attr.attr_value().header.tag() {
            Tag::Utf8String => DnValue::Utf8String(text()?.to_string()),
            Tag::PrintableString => {
                DnValue::PrintableString(text()?.try_into().map_err(|_| bad())?)
            }
            Tag::Ia5String => DnValue::Ia5String(text()?.try_into().map_err(|_| bad())?),
            Tag::T61String => DnValue::TeletexString(text()?.try_into().map_err(|_| bad())?),
            Tag::BmpString => DnValue::BmpString(
                rcgen::string::BmpString::from_utf16be(data.to_vec()).map_err(|_| bad())?,
            ),
            Tag::UniversalString => DnValue::UniversalString(
                rcgen::string::UniversalString::from_utf32be(data.to_vec()).map_err(|_| bad())?,
            ),
            _ => return Err(bad()),
        };
        if ty == DnType::CommonName && common_name.is_none() {
            common_name = attr.as_str().ok().map(str::to_string);
        }
        if out.iter().any(|(t, _)| *t == ty) {
            dropped.push(format!(
                "subject {}={} (a repeated attribute: only the first is kept)",
                short_attribute_name(&oid_text),
                attr.as_str().unwrap_or("…")
            ));
            continue;
        }
        out.push((ty, value));
    }
    Ok((out, common_name))
}

fn short_attribute_name(oid_text: &str) -> String {
    match oid_text {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "0.9.2342.19200300.100.1.25" => "DC",
        other => other,
    }
    .to_string()
}

fn san_entry(name: &GeneralName<'_>) -> SanEntry {
    match name {
        GeneralName::DNSName(v) => SanEntry::Dns((*v).to_string()),
        GeneralName::URI(v) => SanEntry::Uri((*v).to_string()),
        GeneralName::RFC822Name(v) => SanEntry::Email((*v).to_string()),
        GeneralName::IPAddress(bytes) => match <[u8; 4]>::try_from(*bytes) {
            Ok(v4) => SanEntry::Ip(IpAddr::from(v4)),
            Err(_) => match <[u8; 16]>::try_from(*bytes) {
                Ok(v6) => SanEntry::Ip(IpAddr::from(v6)),
                Err(_) => SanEntry::Other("an IP address of an odd length".to_string()),
            },
        },
        GeneralName::OtherName(oid, _) => SanEntry::Other(format!("otherName {oid}")),
        GeneralName::DirectoryName(n) => SanEntry::Other(format!("dirName {n}")),
        GeneralName::RegisteredID(oid) => SanEntry::Other(format!("registeredID {oid}")),
        GeneralName::X400Address(_) => SanEntry::Other("x400Address".to_string()),
        GeneralName::EDIPartyName(_) => SanEntry::Other("ediPartyName".to_string()),
        GeneralName::Invalid(..) => SanEntry::Other("a name that cannot be decoded".to_string()),
    }
}

/// An extension's name as openssl prints it, or its OID.
fn extension_name(ext: &X509Extension<'_>) -> String {
    x509_parser::objects::oid_registry()
        .get(&ext.oid)
        .map(|e| e.sn().to_string())
        .unwrap_or_else(|| ext.oid.to_id_string())
}

#[cfg(test)]
mod tests;
