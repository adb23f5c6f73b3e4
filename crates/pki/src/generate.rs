//! Making certificates that are right for mTLS the first time: a root CA, an
//! optional intermediate, server certificates (EKU serverAuth only) and client
//! certificates (EKU clientAuth only), and self-signed client certificates, the
//! equivalent of `openssl genrsa` + `openssl req -x509` with the right EKU.
//!
//! Everything is returned as PEM text; writing files (mode 0600 for keys) is the
//! caller's job.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

use crate::CertDer;
use crate::chain::Usage;
use crate::inspect::CertInfo;

pub mod crl;
pub mod csr;

/// Default lifetime of a root CA: ten years.
pub const ROOT_DAYS: u32 = 3650;
/// Default lifetime of an intermediate CA: five years (never past its root).
pub const INTERMEDIATE_DAYS: u32 = 1825;
/// Default lifetime of a server certificate: 397 days, the most browsers accept.
pub const SERVER_DAYS: u32 = 397;
/// Default lifetime of a client certificate: one year.
pub const CLIENT_DAYS: u32 = 365;
/// Certificates start this long before "now" so that a peer whose clock is a
/// little behind does not see them as not yet valid.
pub const BACKDATE: Duration = Duration::minutes(5);

/// The key algorithms certbound generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyType {
    #[default]
    EcdsaP256,
    EcdsaP384,
    Ed25519,
    Rsa2048,
    Rsa3072,
    Rsa4096,
}

impl KeyType {
    /// Every key type, in the order the help lists them.
    pub const ALL: [KeyType; 6] = [
        KeyType::EcdsaP256,
        KeyType::EcdsaP384,
        KeyType::Ed25519,
        KeyType::Rsa2048,
        KeyType::Rsa3072,
        KeyType::Rsa4096,
    ];

    fn name(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::EcdsaP384 => "ecdsa-p384",
            KeyType::Ed25519 => "ed25519",
            KeyType::Rsa2048 => "rsa-2048",
            KeyType::Rsa3072 => "rsa-3072",
            KeyType::Rsa4096 => "rsa-4096",
        }
    }

    fn is_rsa(self) -> bool {
        matches!(self, KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096)
    }

    fn generate(self) -> Result<KeyPair, GenerateError> {
        let result = match self {
            KeyType::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
            KeyType::EcdsaP384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
            KeyType::Ed25519 => KeyPair::generate_for(&rcgen::PKCS_ED25519),
            KeyType::Rsa2048 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
            }
            KeyType::Rsa3072 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_3072)
            }
            KeyType::Rsa4096 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_4096)
            }
        };
        result.map_err(|e| GenerateError::Rcgen {
            what: "generate the key",
            reason: e.to_string(),
        })
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyType::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "unknown key type `{s}`: use one of {}",
                    KeyType::ALL.map(|k| k.name()).join(", ")
                )
            })
    }
}

/// Why a certificate could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenerateError {
    #[error("could not {what}: {reason}")]
    Rcgen { what: &'static str, reason: String },
    #[error(
        "`{value}` cannot go in a certificate {field}: only ASCII is allowed (use punycode for international domain names)"
    )]
    NotAscii { field: &'static str, value: String },
    #[error("the CA key does not belong to the CA certificate: the CA directory is inconsistent")]
    CaKeyMismatch,
    #[error("the CA certificate cannot be read: {reason}")]
    BadCa { reason: String },
    #[error(
        "'{subject}' is not a CA certificate (basicConstraints CA:TRUE is missing), so it cannot issue certificates"
    )]
    NotACa { subject: String },
    #[error(
        "the CA '{subject}' expired on {not_after}: create a new one with `certbound pki init`"
    )]
    CaExpired { subject: String, not_after: String },
    #[error("{field} is required")]
    Missing { field: &'static str },
    #[error("--days must be at least 1")]
    ZeroDays,
}

impl GenerateError {
    /// Whether the request itself was wrong (a missing or malformed field), as
    /// opposed to a CA that cannot issue or a failure while making the
    /// certificate.
    pub fn is_bad_request(&self) -> bool {
        matches!(
            self,
            Self::NotAscii { .. } | Self::Missing { .. } | Self::ZeroDays
        )
    }
}

/// A certificate just made, with its private key.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate alone.
    pub cert_pem: String,
    pub cert_der: CertDer,
    /// The private key, PKCS#8 PEM.
    pub key_pem: String,
    /// Set when the requested lifetime was cut to end with the issuing CA.
    pub capped_at: Option<OffsetDateTime>,
}

/// Subject and lifetime of a CA.
#[derive(Debug, Clone)]
pub struct CaSpec {
    pub common_name: String,
    pub organization: Option<String>,
    pub key_type: KeyType,
    pub days: u32,
}

/// What a leaf certificate says.
#[derive(Debug, Clone, Default)]
pub struct LeafSpec {
    pub common_name: String,
    pub organization: Option<String>,
    pub dns: Vec<String>,
    pub ips: Vec<IpAddr>,
    pub uris: Vec<String>,
    pub emails: Vec<String>,
    /// Client or server; `Any` is treated as client.
    pub usage: Usage,
    pub key_type: KeyType,
    pub days: u32,
    /// CRL Distribution Points (`--crl-url`).
    pub crl_urls: Vec<String>,
    /// AIA OCSP responders (`--ocsp-url`).
    pub ocsp_urls: Vec<String>,
}

/// A CA able to sign: its certificate and key.
#[derive(Debug)]
pub struct Signer {
    cert_der: CertDer,
    info: CertInfo,
    key: KeyPair,
}

impl Signer {
    /// Load a CA from its certificate (DER) and private key (PEM or DER), checking
    /// that they belong together and that the certificate is a CA.
    pub fn new(cert_der: CertDer, key: &[u8]) -> Result<Self, GenerateError> {
        let info = CertInfo::from_der(&cert_der).map_err(|e| GenerateError::BadCa {
            reason: e.to_string(),
        })?;
        if !info.is_ca {
            return Err(GenerateError::NotACa {
                subject: info.subject.clone(),
            });
        }
        let parsed = crate::key::parse_private_key(key).map_err(|e| GenerateError::BadCa {
            reason: e.to_string(),
        })?;
        if !parsed.matches_certificate(&cert_der) {
            return Err(GenerateError::CaKeyMismatch);
        }
        Ok(Self {
            cert_der,
            info,
            key: parsed.key_pair,
        })
    }

    /// The CA certificate.
    pub fn cert_der(&self) -> &CertDer {
        &self.cert_der
    }

    /// What the CA certificate says.
    pub fn info(&self) -> &CertInfo {
        &self.info
    }

    fn issuer(&self) -> Result<Issuer<'static, &KeyPair>, GenerateError> {
        Issuer::from_ca_cert_der(&self.cert_der, &self.key).map_err(|e| GenerateError::BadCa {
            reason: e.to_string(),
        })
    }

    fn check_valid(&self, now: OffsetDateTime) -> Result<(), GenerateError> {
        if now > self.info.not_after {
            return Err(GenerateError::CaExpired {
                subject: self.info.display_name().to_string(),
                not_after: crate::time_fmt::date(self.info.not_after),
            });
        }
        Ok(())
    }
}

/// A new self-signed root CA.
pub fn root_ca(spec: &CaSpec, now: OffsetDateTime) -> Result<Issued, GenerateError> {
    let key = spec.key_type.generate()?;
    let mut params = ca_params(spec, now, BasicConstraints::Unconstrained)?;
    params.not_after = now + days(spec.days)?;
    // Self-signed: the authority key identifier equals the subject key identifier.
    params.use_authority_key_identifier_extension = true;
    let cert = params
        .self_signed(&key)
        .map_err(rcgen_err("sign the root CA"))?;
    Ok(finish(cert.der().clone(), &key, None))
}

/// A new intermediate CA (pathLenConstraint 0) signed by `root`.
pub fn intermediate_ca(
    root: &Signer,
    spec: &CaSpec,
    now: OffsetDateTime,
) -> Result<Issued, GenerateError> {
    root.check_valid(now)?;
    let key = spec.key_type.generate()?;
    let mut params = ca_params(spec, now, BasicConstraints::Constrained(0))?;
    let (not_after, capped) = cap(now + days(spec.days)?, root.info.not_after);
    params.not_after = not_after;
    params.use_authority_key_identifier_extension = true;
    let issuer = root.issuer()?;
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(rcgen_err("sign the intermediate CA"))?;
    Ok(finish(cert.der().clone(), &key, capped))
}

/// A new leaf certificate for a client or server, signed by `signer`.
pub fn leaf(
    signer: &Signer,
    spec: &LeafSpec,
    now: OffsetDateTime,
) -> Result<Issued, GenerateError> {
    signer.check_valid(now)?;
    let key = spec.key_type.generate()?;
    let params = leaf_params(spec, now)?;
    let (cert_der, capped) = sign_leaf(signer, params, &key)?;
    Ok(finish(cert_der, &key, capped))
}

/// Sign leaf `params` for `key` (a new key pair, or the key of a CSR): the
/// lifetime ends with the signer's, and the AKI names the signer.
fn sign_leaf(
    signer: &Signer,
    mut params: CertificateParams,
    key: &impl rcgen::PublicKeyData,
) -> Result<(CertDer, Option<OffsetDateTime>), GenerateError> {
    let (not_after, capped) = cap(params.not_after, signer.info.not_after);
    params.not_after = not_after;
    params.use_authority_key_identifier_extension = true;
    let issuer = signer.issuer()?;
    let cert = params
        .signed_by(key, &issuer)
        .map_err(rcgen_err("sign the certificate"))?;
    Ok((cert.der().clone(), capped))
}

/// A new self-signed leaf certificate (a client certificate to register as-is
/// in a trust store, or a quick server certificate).
pub fn self_signed(spec: &LeafSpec, now: OffsetDateTime) -> Result<Issued, GenerateError> {
    let key = spec.key_type.generate()?;
    let params = leaf_params(spec, now)?;
    let cert = params
        .self_signed(&key)
        .map_err(rcgen_err("sign the certificate"))?;
    Ok(finish(cert.der().clone(), &key, None))
}

fn ca_params(
    spec: &CaSpec,
    now: OffsetDateTime,
    bc: BasicConstraints,
) -> Result<CertificateParams, GenerateError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(&spec.common_name, spec.organization.as_deref())?;
    params.is_ca = IsCa::Ca(bc);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = now - BACKDATE;
    params.serial_number = Some(serial()?);
    Ok(params)
}

fn leaf_params(spec: &LeafSpec, now: OffsetDateTime) -> Result<CertificateParams, GenerateError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(&spec.common_name, spec.organization.as_deref())?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.not_before = now - BACKDATE;
    params.not_after = now + days(spec.days)?;
    params.serial_number = Some(serial()?);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    if spec.usage == Usage::Server {
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        if spec.key_type.is_rsa() {
            params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
        }
    } else {
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    }
    for name in &spec.dns {
        params
            .subject_alt_names
            .push(SanType::DnsName(ia5("DNS name", name)?));
    }
    for ip in &spec.ips {
        params.subject_alt_names.push(SanType::IpAddress(*ip));
    }
    for uri in &spec.uris {
        params
            .subject_alt_names
            .push(SanType::URI(ia5("URI", uri)?));
    }
    for email in &spec.emails {
        params
            .subject_alt_names
            .push(SanType::Rfc822Name(ia5("e-mail address", email)?));
    }
    crl::add_locations(&mut params, &spec.crl_urls, &spec.ocsp_urls)?;
    Ok(params)
}

fn dn(cn: &str, org: Option<&str>) -> Result<DistinguishedName, GenerateError> {
    if cn.trim().is_empty() {
        return Err(GenerateError::Missing {
            field: "a common name (--cn)",
        });
    }
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    if let Some(org) = org.filter(|o| !o.trim().is_empty()) {
        dn.push(DnType::OrganizationName, org);
    }
    Ok(dn)
}

fn ia5(field: &'static str, value: &str) -> Result<rcgen::string::Ia5String, GenerateError> {
    rcgen::string::Ia5String::try_from(value).map_err(|_| GenerateError::NotAscii {
        field,
        value: value.to_string(),
    })
}

fn days(n: u32) -> Result<Duration, GenerateError> {
    if n == 0 {
        return Err(GenerateError::ZeroDays);
    }
    Ok(Duration::days(i64::from(n)))
}

/// End no later than the issuer; say so when cut.
fn cap(wanted: OffsetDateTime, limit: OffsetDateTime) -> (OffsetDateTime, Option<OffsetDateTime>) {
    if wanted > limit {
        (limit, Some(limit))
    } else {
        (wanted, None)
    }
}

/// A positive, non-zero 127-bit random serial (RFC 5280 §4.1.2.2 allows 20 octets).
fn serial() -> Result<SerialNumber, GenerateError> {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| GenerateError::Rcgen {
            what: "draw a random serial number",
            reason: "the system random generator failed".into(),
        })?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

fn finish(cert_der: CertDer, key: &KeyPair, capped_at: Option<OffsetDateTime>) -> Issued {
    Issued {
        cert_pem: pem_encode("CERTIFICATE", &cert_der),
        cert_der,
        key_pem: pem_encode("PRIVATE KEY", &pkcs8_v1(key.serialized_der())),
        capped_at,
    }
}

/// The PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410 §7), before the 32-byte seed.
const ED25519_PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// aws-lc writes Ed25519 keys as PKCS#8 v2 (with the public key), which
/// OpenSSL 3.0, and so nginx and curl, cannot read; rewrite them as v1. Other
/// keys pass through unchanged.
pub fn pkcs8_v1(der: &[u8]) -> Vec<u8> {
    const V2_SEED_MARKER: [u8; 4] = [0x04, 0x22, 0x04, 0x20];
    let is_ed25519_v2 = der.len() > 48
        && der[2..5] == [0x02, 0x01, 0x01]
        && der[7..12] == [0x06, 0x03, 0x2b, 0x65, 0x70];
    if !is_ed25519_v2 {
        return der.to_vec();
    }
    match der.windows(4).position(|w| w == V2_SEED_MARKER) {
        Some(at) if der.len() >= at + 4 + 32 => {
            let mut v1 = ED25519_PKCS8_V1_PREFIX.to_vec();
            v1.extend_from_slice(&der[at + 4..at + 4 + 32]);
            v1
        }
        _ => der.to_vec(),
    }
}

fn rcgen_err(what: &'static str) -> impl Fn(rcgen::Error) -> GenerateError {
    move |e| GenerateError::Rcgen {
        what,
        reason: e.to_string(),
    }
}

/// PEM-encode DER with 64-column lines.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests;
