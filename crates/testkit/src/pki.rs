//! Test PKIs made with rcgen at test time: roots, intermediates and leaves of
//! every shape the tests need (expired, not yet valid, wrong EKU, no EKU, weak
//! RSA, another CA, self-signed). Built independently of certbound's own
//! generator, so tests of one do not lean on the other.
//!
//! Certificates are valid from [`NOT_BEFORE`] to [`NOT_AFTER`] unless a test
//! asks otherwise; chain tests verify at the fixed time [`NOW`].

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SanType, SignatureAlgorithm,
};
use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;
use time::macros::datetime;

/// The fixed "now" of chain tests.
pub const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);
/// Default start of validity.
pub const NOT_BEFORE: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);
/// Default end of validity.
pub const NOT_AFTER: OffsetDateTime = datetime!(2027-01-01 0:00 UTC);
/// Roots live longer than their leaves.
pub const ROOT_NOT_AFTER: OffsetDateTime = datetime!(2036-01-01 0:00 UTC);

/// A certificate authority able to issue.
#[derive(Debug)]
pub struct Ca {
    pub name: String,
    pub cert: CertificateDer<'static>,
    pub key: KeyPair,
    params: CertificateParams,
}

/// A certificate with its key, as PEM and DER.
#[derive(Debug)]
pub struct Leaf {
    pub cert: CertificateDer<'static>,
    /// PKCS#8 PEM; empty when the leaf was made with a bare public key.
    pub key_pem: String,
}

/// What EKU a leaf carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eku {
    Client,
    Server,
    Both,
    /// No EKU extension at all.
    None,
}

/// How a leaf should look.
#[derive(Debug, Clone)]
pub struct LeafOptions {
    pub cn: String,
    pub org: Option<String>,
    pub eku: Eku,
    pub dns: Vec<String>,
    pub ips: Vec<IpAddr>,
    pub uris: Vec<String>,
    pub emails: Vec<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub alg: &'static SignatureAlgorithm,
    /// keyUsage bits; empty for none.
    pub key_usages: Vec<KeyUsagePurpose>,
    /// Mark as a CA (for tests of a CA used where a leaf belongs).
    pub is_ca: bool,
}

impl LeafOptions {
    /// A client certificate (EKU clientAuth) named `cn`.
    pub fn client(cn: &str) -> Self {
        Self {
            cn: cn.to_string(),
            org: Some("certbound tests".to_string()),
            eku: Eku::Client,
            dns: Vec::new(),
            ips: Vec::new(),
            uris: Vec::new(),
            emails: Vec::new(),
            not_before: NOT_BEFORE,
            not_after: NOT_AFTER,
            alg: &rcgen::PKCS_ECDSA_P256_SHA256,
            key_usages: vec![KeyUsagePurpose::DigitalSignature],
            is_ca: false,
        }
    }

    /// A server certificate (EKU serverAuth) for `localhost` and 127.0.0.1.
    pub fn server(cn: &str) -> Self {
        Self {
            eku: Eku::Server,
            dns: vec!["localhost".to_string()],
            ips: vec![
                "127.0.0.1".parse().expect("a valid IP literal"),
                "::1".parse().expect("a valid IP literal"),
            ],
            ..Self::client(cn)
        }
    }

    pub fn eku(mut self, eku: Eku) -> Self {
        self.eku = eku;
        self
    }

    /// Valid from an hour ago for 30 days: for tests against a server that runs
    /// at the real time.
    pub fn around_now(self) -> Self {
        let now = OffsetDateTime::now_utc();
        self.validity(
            now - time::Duration::hours(1),
            now + time::Duration::days(30),
        )
    }

    /// Valid for `days` days, ending `ago_days` days ago (negative: in the future).
    pub fn ended_days_ago(self, ago_days: i64, days: i64) -> Self {
        let end = OffsetDateTime::now_utc() - time::Duration::days(ago_days);
        self.validity(end - time::Duration::days(days), end)
    }

    pub fn validity(mut self, not_before: OffsetDateTime, not_after: OffsetDateTime) -> Self {
        self.not_before = not_before;
        self.not_after = not_after;
        self
    }

    pub fn dns(mut self, names: &[&str]) -> Self {
        self.dns = names.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn alg(mut self, alg: &'static SignatureAlgorithm) -> Self {
        self.alg = alg;
        self
    }

    pub fn org(mut self, org: Option<&str>) -> Self {
        self.org = org.map(str::to_string);
        self
    }

    pub fn uri(mut self, uri: &str) -> Self {
        self.uris.push(uri.to_string());
        self
    }

    fn params(&self) -> CertificateParams {
        let mut p = CertificateParams::default();
        p.distinguished_name = dn(&self.cn, self.org.as_deref());
        p.not_before = self.not_before;
        p.not_after = self.not_after;
        p.is_ca = if self.is_ca {
            IsCa::Ca(BasicConstraints::Unconstrained)
        } else {
            IsCa::ExplicitNoCa
        };
        p.key_usages = self.key_usages.clone();
        p.extended_key_usages = match self.eku {
            Eku::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
            Eku::Server => vec![ExtendedKeyUsagePurpose::ServerAuth],
            Eku::Both => vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
            Eku::None => Vec::new(),
        };
        for d in &self.dns {
            p.subject_alt_names.push(SanType::DnsName(
                d.as_str().try_into().expect("test DNS names are ASCII"),
            ));
        }
        for ip in &self.ips {
            p.subject_alt_names.push(SanType::IpAddress(*ip));
        }
        for u in &self.uris {
            p.subject_alt_names.push(SanType::URI(
                u.as_str().try_into().expect("test URIs are ASCII"),
            ));
        }
        for e in &self.emails {
            p.subject_alt_names.push(SanType::Rfc822Name(
                e.as_str().try_into().expect("test e-mails are ASCII"),
            ));
        }
        p.use_authority_key_identifier_extension = true;
        p
    }
}

fn dn(cn: &str, org: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    if let Some(org) = org {
        dn.push(DnType::OrganizationName, org);
    }
    dn
}

fn ca_params(
    cn: &str,
    org: &str,
    path_len: Option<u8>,
    not_after: OffsetDateTime,
) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(cn, Some(org));
    p.is_ca = IsCa::Ca(match path_len {
        Some(n) => BasicConstraints::Constrained(n),
        None => BasicConstraints::Unconstrained,
    });
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = NOT_BEFORE;
    p.not_after = not_after;
    p.use_authority_key_identifier_extension = true;
    p
}

impl Ca {
    /// A self-signed root CA.
    pub fn root(cn: &str, org: &str) -> Self {
        Self::root_with(cn, org, ROOT_NOT_AFTER)
    }

    /// A root CA with a chosen end of validity (to test an expired anchor).
    pub fn root_with(cn: &str, org: &str, not_after: OffsetDateTime) -> Self {
        let key = KeyPair::generate().expect("P-256 key generation works");
        let params = ca_params(cn, org, None, not_after);
        let cert = params.self_signed(&key).expect("rcgen signs a root");
        Self {
            name: cn.to_string(),
            cert: cert.der().clone(),
            key,
            params,
        }
    }

    /// A self-signed certificate as `openssl req -x509` makes one with OpenSSL 3's
    /// defaults: basicConstraints critical CA:TRUE, key identifiers, no keyUsage.
    pub fn openssl_style(cn: &str) -> Self {
        let key = KeyPair::generate().expect("P-256 key generation works");
        let mut params = ca_params(cn, "My Organization", None, ROOT_NOT_AFTER);
        params.key_usages = Vec::new();
        let cert = params.self_signed(&key).expect("rcgen self-signs");
        Self {
            name: cn.to_string(),
            cert: cert.der().clone(),
            key,
            params,
        }
    }

    /// An intermediate CA (pathlen 0) issued by `self`.
    pub fn intermediate(&self, cn: &str, org: &str) -> Self {
        self.intermediate_with(cn, org, NOT_BEFORE, ROOT_NOT_AFTER)
    }

    /// An intermediate with chosen validity.
    pub fn intermediate_with(
        &self,
        cn: &str,
        org: &str,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Self {
        let key = KeyPair::generate().expect("P-256 key generation works");
        let mut params = ca_params(cn, org, Some(0), not_after);
        params.not_before = not_before;
        let cert = params
            .signed_by(&key, &self.issuer())
            .expect("rcgen signs an intermediate");
        Self {
            name: cn.to_string(),
            cert: cert.der().clone(),
            key,
            params,
        }
    }

    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }

    /// Issue a leaf with a fresh key.
    pub fn issue(&self, opts: &LeafOptions) -> Leaf {
        let key = KeyPair::generate_for(opts.alg).expect("key generation works");
        let cert = opts
            .params()
            .signed_by(&key, &self.issuer())
            .expect("rcgen signs a leaf");
        Leaf {
            cert: cert.der().clone(),
            key_pem: key.serialize_pem(),
        }
    }

    /// Issue a leaf for a bare public key (SubjectPublicKeyInfo DER), such as a
    /// weak RSA key that no library will generate any more.
    pub fn issue_for_spki(&self, opts: &LeafOptions, spki_der: &[u8]) -> Leaf {
        let public = rcgen::SubjectPublicKeyInfo::from_der(spki_der).expect("a valid SPKI");
        let cert = opts
            .params()
            .signed_by(&public, &self.issuer())
            .expect("rcgen signs a leaf");
        Leaf {
            cert: cert.der().clone(),
            key_pem: String::new(),
        }
    }

    pub fn cert_pem(&self) -> String {
        pem("CERTIFICATE", &self.cert)
    }

    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }
}

/// A chain built to make a verifier search: `n` CA certificates that all bear
/// the name "Ring CA", each signed by the next one's key (a ring of
/// cross-signatures), and a client leaf issued under that name. No path from
/// it reaches any real anchor. Returns the leaf and the ring, as a client
/// would send them (leaf first, then the ring).
pub fn same_name_ring(n: usize) -> (Leaf, Vec<CertificateDer<'static>>) {
    let keys: Vec<KeyPair> = (0..n)
        .map(|_| KeyPair::generate().expect("P-256 key generation works"))
        .collect();
    let params = ca_params("Ring CA", "Ring", None, ROOT_NOT_AFTER);
    let ring = (0..n)
        .map(|i| {
            let issuer = Issuer::from_params(&params, &keys[(i + 1) % n]);
            params
                .signed_by(&keys[i], &issuer)
                .expect("rcgen signs a ring CA")
                .der()
                .clone()
        })
        .collect();
    let key = KeyPair::generate().expect("P-256 key generation works");
    let leaf = LeafOptions::client("ring-leaf")
        .params()
        .signed_by(&key, &Issuer::from_params(&params, &keys[0]))
        .expect("rcgen signs a leaf");
    (
        Leaf {
            cert: leaf.der().clone(),
            key_pem: key.serialize_pem(),
        },
        ring,
    )
}

/// A self-signed leaf (for `self_signed_tls_client_auth`).
pub fn self_signed(opts: &LeafOptions) -> Leaf {
    let key = KeyPair::generate_for(opts.alg).expect("key generation works");
    let cert = opts.params().self_signed(&key).expect("rcgen self-signs");
    Leaf {
        cert: cert.der().clone(),
        key_pem: key.serialize_pem(),
    }
}

/// The SubjectPublicKeyInfo of an RSA key of `bits` bits. The modulus is an odd
/// number of the right size, not a product of two primes: enough for tests that
/// look at key size, useless for signing.
pub fn rsa_spki(bits: usize) -> Vec<u8> {
    let mut modulus = vec![0u8; bits / 8];
    modulus[0] = 0xC3;
    for (i, b) in modulus.iter_mut().enumerate().skip(1) {
        *b = (i as u8).wrapping_mul(37).wrapping_add(11);
    }
    if let Some(last) = modulus.last_mut() {
        *last |= 1;
    }
    let mut n = vec![0u8];
    n.extend_from_slice(&modulus);
    let rsa_public_key = der_seq(&[der_tlv(0x02, &n), der_tlv(0x02, &[0x01, 0x00, 0x01])].concat());
    let mut bitstring = vec![0u8];
    bitstring.extend_from_slice(&rsa_public_key);
    // AlgorithmIdentifier { rsaEncryption, NULL }
    let alg = der_seq(
        &[
            &[
                0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
            ][..],
            &[0x05, 0x00],
        ]
        .concat(),
    );
    der_seq(&[alg, der_tlv(0x03, &bitstring)].concat())
}

fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

fn der_seq(content: &[u8]) -> Vec<u8> {
    der_tlv(0x30, content)
}

impl Leaf {
    pub fn cert_pem(&self) -> String {
        pem("CERTIFICATE", &self.cert)
    }

    /// Write `NAME.crt` (the leaf, then `chain` certificates) and `NAME.key`
    /// (mode 0600) into `dir`; returns (cert path, key path).
    pub fn write(
        &self,
        dir: &Path,
        name: &str,
        chain: &[&CertificateDer<'_>],
    ) -> (PathBuf, PathBuf) {
        let mut text = self.cert_pem();
        for c in chain {
            text.push_str(&pem("CERTIFICATE", c));
        }
        let cert_path = dir.join(format!("{name}.crt"));
        std::fs::write(&cert_path, text).expect("write test certificate");
        let key_path = dir.join(format!("{name}.key"));
        write_private(&key_path, &self.key_pem);
        (cert_path, key_path)
    }
}

/// Write a file with mode 0600.
pub fn write_private(path: &Path, contents: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .expect("create private test file");
    f.write_all(contents.as_bytes())
        .expect("write private test file");
}

/// PEM-encode DER.
pub fn pem(label: &str, der: &[u8]) -> String {
    use base64_lite::encode;
    let b64 = encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Standard base64, enough for PEM (kept here so the testkit needs no base64 crate).
mod base64_lite {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn encode(data: &[u8]) -> String {
        let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
        for chunk in data.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

/// The standard test PKI: a root, an intermediate under it, and an unrelated
/// root from another organization.
#[derive(Debug)]
pub struct TestPki {
    pub root: Ca,
    pub intermediate: Ca,
    pub other_root: Ca,
}

impl TestPki {
    pub fn new() -> Self {
        let root = Ca::root("certbound Test Root CA", "certbound tests");
        let intermediate = root.intermediate("certbound Test Intermediate CA", "certbound tests");
        let other_root = Ca::root("Other Root CA", "Other Org");
        Self {
            root,
            intermediate,
            other_root,
        }
    }
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}

/// Make a certificate signed with SHA-1 by running the real `openssl` (no
/// Rust library will sign with SHA-1). Returns the PEM certificate.
pub fn openssl_sha1_self_signed(dir: &Path) -> String {
    let key = dir.join("sha1.key");
    let cert = dir.join("sha1.crt");
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-sha1",
            "-days",
            "30",
            "-subj",
            "/CN=SHA-1 Test",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl is installed (apt-get install openssl)");
    assert!(
        status.success(),
        "openssl failed to make a SHA-1 certificate"
    );
    std::fs::read_to_string(cert).expect("read openssl output")
}

/// The public key data of a key pair, for tests that need SPKI bytes.
pub fn spki_of(key: &KeyPair) -> Vec<u8> {
    key.subject_public_key_info()
}
