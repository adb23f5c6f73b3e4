//! OCSP (RFC 6960): build the request for one certificate, read the
//! responder's answer, and decide whether to believe it.
//!
//! A response is believed only when its signature verifies with the issuer's
//! key, or with the key of a responder certificate carried in the response
//! that the same issuer signed and gave the id-kp-OCSPSigning usage
//! (§4.2.2.2); any other signer is refused as unauthorised. It must answer for
//! the certificate asked about, its thisUpdate must not lie in the future
//! (beyond [`CLOCK_SKEW`]) and its nextUpdate must not have passed. An answer
//! without nextUpdate is taken as current for [`NO_NEXT_UPDATE_VALIDITY`]
//! after its thisUpdate.
//!
//! Pure: the caller fetches (certbound-tls does it over http://) and hands the
//! bytes here. The DER is read by a small bounds-checked reader
//! ([`der`]), which keeps the dependency tree as it is.

mod der;
mod parse;

use std::fmt;

use aws_lc_rs::digest;
use time::{Duration, OffsetDateTime};
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

pub use crate::revocation::Reason;
use crate::thumbprint::colon_hex;
use crate::time_fmt::{date, rfc3339};
use der::{Malformed, Reader};
use parse::ResponderId;
pub use parse::{ParsedResponse, RawStatus, SingleResponse, parse_response};

/// How far a responder's clock may run ahead of ours.
pub const CLOCK_SKEW: Duration = Duration::minutes(5);
/// How long an answer that carries no nextUpdate counts as current after its
/// thisUpdate (RFC 6960 §4.2.2.1: "newer information is always available").
pub const NO_NEXT_UPDATE_VALIDITY: Duration = Duration::hours(1);
/// The media type of a request (RFC 6960 appendix A.1).
pub const REQUEST_CONTENT_TYPE: &str = "application/ocsp-request";
/// The media type of a response.
pub const RESPONSE_CONTENT_TYPE: &str = "application/ocsp-response";

const SHA1: &str = "1.3.14.3.2.26";
const SHA256: &str = "2.16.840.1.101.3.4.2.1";
const SHA384: &str = "2.16.840.1.101.3.4.2.2";
const SHA512: &str = "2.16.840.1.101.3.4.2.3";
const BASIC: &str = "1.3.6.1.5.5.7.48.1.1";
const NONCE: &str = "1.3.6.1.5.5.7.48.1.2";
const AD_OCSP: &str = "1.3.6.1.5.5.7.48.1";

/// Why a response is not believed (or could not be asked for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OcspError {
    /// A certificate given to build or check the request cannot be read.
    Certificate { what: &'static str },
    /// The issuer given is not the one named in the certificate.
    NotTheIssuer { cert: String, issuer: String },
    /// The response is not DER the way RFC 6960 describes it.
    Malformed { part: &'static str },
    /// The responder answered with an error status instead of an answer.
    NotSuccessful { status: &'static str },
    /// A response type other than id-pkix-ocsp-basic.
    UnsupportedType { oid: String },
    /// A signature algorithm certbound does not accept (SHA-1, unknown).
    UnsupportedSignature { algorithm: String },
    /// The signer is authorised, but the signature does not verify.
    BadSignature { signer: String },
    /// The response was signed by someone the issuer did not authorise.
    Unauthorised { signer: String, reason: String },
    /// No SingleResponse answers for the certificate asked about.
    NoAnswer { serial: String },
    /// thisUpdate lies in the future.
    NotYetValid {
        this_update: OffsetDateTime,
        now: OffsetDateTime,
    },
    /// nextUpdate has passed: the answer is stale.
    Stale {
        next_update: OffsetDateTime,
        now: OffsetDateTime,
    },
    /// The response echoes a nonce other than the one sent (a replay).
    NonceMismatch,
}

impl fmt::Display for OcspError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OcspError::Certificate { what } => write!(f, "{what} cannot be read as a certificate"),
            OcspError::NotTheIssuer { cert, issuer } => write!(
                f,
                "'{issuer}' is not the issuer of '{cert}', so no OCSP request can be made for it"
            ),
            OcspError::Malformed { part } => {
                write!(
                    f,
                    "the OCSP response is malformed: its {part} cannot be read"
                )
            }
            OcspError::NotSuccessful { status } => {
                write!(
                    f,
                    "the OCSP responder answered '{status}' instead of a status"
                )
            }
            OcspError::UnsupportedType { oid } => write!(
                f,
                "the OCSP response is of type {oid}, not the basic response (1.3.6.1.5.5.7.48.1.1)"
            ),
            OcspError::UnsupportedSignature { algorithm } => write!(
                f,
                "the OCSP response is signed with {algorithm}, which certbound does not accept"
            ),
            OcspError::BadSignature { signer } => write!(
                f,
                "the OCSP response's signature does not verify with the key of '{signer}'"
            ),
            OcspError::Unauthorised { signer, reason } => write!(
                f,
                "the OCSP response is signed by {signer}, which may not answer for this issuer: {reason}"
            ),
            OcspError::NoAnswer { serial } => write!(
                f,
                "the OCSP response does not answer for the certificate with serial {serial}"
            ),
            OcspError::NotYetValid { this_update, now } => write!(
                f,
                "the OCSP response is dated {} (thisUpdate), later than now ({})",
                rfc3339(*this_update),
                rfc3339(*now)
            ),
            OcspError::Stale { next_update, now } => write!(
                f,
                "the OCSP response is stale: its nextUpdate was {}, before now ({})",
                rfc3339(*next_update),
                rfc3339(*now)
            ),
            OcspError::NonceMismatch => f.write_str(
                "the OCSP response carries a nonce other than the one sent (a replayed answer)",
            ),
        }
    }
}

impl std::error::Error for OcspError {}

impl OcspError {
    /// A stable identifier for logs, audit records and JSON.
    pub fn code(&self) -> &'static str {
        match self {
            OcspError::Certificate { .. } => "ocsp_bad_certificate",
            OcspError::NotTheIssuer { .. } => "ocsp_not_the_issuer",
            OcspError::Malformed { .. } => "ocsp_malformed",
            OcspError::NotSuccessful { .. } => "ocsp_not_successful",
            OcspError::UnsupportedType { .. } => "ocsp_unsupported_type",
            OcspError::UnsupportedSignature { .. } => "ocsp_unsupported_signature",
            OcspError::BadSignature { .. } => "ocsp_bad_signature",
            OcspError::Unauthorised { .. } => "ocsp_unauthorised_signer",
            OcspError::NoAnswer { .. } => "ocsp_no_answer",
            OcspError::NotYetValid { .. } => "ocsp_not_yet_valid",
            OcspError::Stale { .. } => "ocsp_stale",
            OcspError::NonceMismatch => "ocsp_nonce_mismatch",
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            OcspError::NotYetValid { .. } => "check this machine's clock and the responder's",
            OcspError::NotSuccessful { .. } | OcspError::Stale { .. } => {
                "ask the CA's operator to fix the OCSP responder, or try again later"
            }
            OcspError::NotTheIssuer { .. } | OcspError::Certificate { .. } => {
                "give the certificate together with the CA certificate that issued it"
            }
            _ => {
                "the responder's answer cannot be trusted: ask the CA's operator to check its OCSP responder and signing certificate"
            }
        }
    }
}

impl From<Malformed> for OcspError {
    fn from(m: Malformed) -> Self {
        OcspError::Malformed { part: m.0 }
    }
}

/// What the responder says about the certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OcspStatus {
    Good {
        next_update: OffsetDateTime,
    },
    Revoked {
        at: OffsetDateTime,
        reason: Option<Reason>,
    },
    /// The responder does not know the certificate.
    Unknown,
}

impl fmt::Display for OcspStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OcspStatus::Good { next_update } => {
                write!(f, "good (until {})", rfc3339(*next_update))
            }
            OcspStatus::Revoked { at, reason } => {
                write!(f, "revoked on {}", date(*at))?;
                match reason {
                    Some(r) => write!(f, " ({r})"),
                    None => f.write_str(" (no reason given)"),
                }
            }
            OcspStatus::Unknown => f.write_str("unknown to the responder"),
        }
    }
}

/// Who signed a believed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    /// The issuer itself.
    Issuer,
    /// A responder certificate the issuer delegated to (its subject).
    Delegated(String),
}

/// A believed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspAnswer {
    pub status: OcspStatus,
    pub this_update: OffsetDateTime,
    /// Until when the answer may be used: its nextUpdate, or thisUpdate plus
    /// [`NO_NEXT_UPDATE_VALIDITY`] when it has none.
    pub valid_until: OffsetDateTime,
    pub produced_at: OffsetDateTime,
    pub signer: Signer,
}

/// A request ready to POST, with what the answer is checked against.
#[derive(Debug, Clone)]
pub struct OcspRequest {
    /// The DER body (`application/ocsp-request`).
    pub der: Vec<u8>,
    /// The nonce sent, if any.
    pub nonce: Option<Vec<u8>>,
}

/// The fields of a certificate and its issuer an OCSP exchange uses.
struct Pair<'a> {
    cert: X509Certificate<'a>,
    issuer: X509Certificate<'a>,
}

impl<'a> Pair<'a> {
    fn parse(cert: &'a [u8], issuer: &'a [u8]) -> Result<Self, OcspError> {
        let (_, cert) = X509Certificate::from_der(cert).map_err(|_| OcspError::Certificate {
            what: "the certificate to ask about",
        })?;
        let (_, issuer) =
            X509Certificate::from_der(issuer).map_err(|_| OcspError::Certificate {
                what: "the issuer's certificate",
            })?;
        if cert.issuer().as_raw() != issuer.subject().as_raw() {
            return Err(OcspError::NotTheIssuer {
                cert: display_name(cert.subject()),
                issuer: display_name(issuer.subject()),
            });
        }
        Ok(Self { cert, issuer })
    }

    fn serial(&self) -> &'a [u8] {
        self.cert.raw_serial()
    }

    fn serial_hex(&self) -> String {
        hex(self.serial())
    }

    /// issuerNameHash and issuerKeyHash with the hash `alg` (dotted OID).
    fn hashes(&self, alg: &str) -> Option<(Vec<u8>, Vec<u8>)> {
        let algorithm = match alg {
            SHA1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            SHA256 => &digest::SHA256,
            SHA384 => &digest::SHA384,
            SHA512 => &digest::SHA512,
            _ => return None,
        };
        let name = digest::digest(algorithm, self.issuer.subject().as_raw());
        let key = digest::digest(algorithm, &self.issuer.public_key().subject_public_key.data);
        Some((name.as_ref().to_vec(), key.as_ref().to_vec()))
    }
}

/// Build the request for `cert` issued by `issuer` (DER), with the CertID
/// hashed with SHA-1 as responders expect, and `nonce` if given (RFC 8954).
pub fn request(cert: &[u8], issuer: &[u8], nonce: Option<&[u8]>) -> Result<OcspRequest, OcspError> {
    let pair = Pair::parse(cert, issuer)?;
    let (name_hash, key_hash) = pair
        .hashes(SHA1)
        .ok_or(OcspError::Malformed { part: "hash" })?;
    let alg = der::constructed(der::SEQUENCE, &[&der::oid(SHA1), &der::tlv(der::NULL, &[])]);
    let cert_id = der::constructed(
        der::SEQUENCE,
        &[
            &alg,
            &der::tlv(der::OCTET_STRING, &name_hash),
            &der::tlv(der::OCTET_STRING, &key_hash),
            &der::tlv(der::INTEGER, pair.serial()),
        ],
    );
    let one = der::constructed(der::SEQUENCE, &[&cert_id]);
    let list = der::constructed(der::SEQUENCE, &[&one]);
    let tbs = match nonce {
        Some(n) => {
            let value = der::tlv(der::OCTET_STRING, &der::tlv(der::OCTET_STRING, n));
            let ext = der::constructed(der::SEQUENCE, &[&der::oid(NONCE), &value]);
            let exts = der::constructed(der::SEQUENCE, &[&ext]);
            der::constructed(der::SEQUENCE, &[&list, &der::tlv(der::ctx(2), &exts)])
        }
        None => der::constructed(der::SEQUENCE, &[&list]),
    };
    Ok(OcspRequest {
        der: der::constructed(der::SEQUENCE, &[&tbs]),
        nonce: nonce.map(<[u8]>::to_vec),
    })
}

/// Check a response to the request for `cert` issued by `issuer` (both DER)
/// and return the answer it gives, or why it is not believed. `nonce` is the
/// one sent, if any: a response that echoes another is refused (one that
/// echoes none is accepted, as most responders pre-sign).
pub fn verify_response(
    response: &[u8],
    cert: &[u8],
    issuer: &[u8],
    nonce: Option<&[u8]>,
    now: OffsetDateTime,
) -> Result<OcspAnswer, OcspError> {
    let pair = Pair::parse(cert, issuer)?;
    let parsed = parse_response(response)?;
    let signer = authorised_signer(&parsed, &pair, now)?;
    let signer_cert = match &signer {
        (Signer::Issuer, _) => issuer,
        (Signer::Delegated(_), der) => der,
    };
    let signer_name = match &signer.0 {
        Signer::Issuer => display_name(pair.issuer.subject()),
        Signer::Delegated(s) => s.clone(),
    };
    verify_signature(
        signer_cert,
        parsed.tbs,
        parsed.sig_alg,
        parsed.signature,
        &signer_name,
    )?;
    if let (Some(sent), Some(got)) = (nonce, parsed.nonce) {
        if sent != got {
            return Err(OcspError::NonceMismatch);
        }
    }
    let single = parsed
        .responses
        .iter()
        .find(|s| {
            s.serial == pair.serial()
                && pair
                    .hashes(&s.hash_alg)
                    .is_some_and(|(n, k)| n == s.name_hash && k == s.key_hash)
        })
        .ok_or_else(|| OcspError::NoAnswer {
            serial: pair.serial_hex(),
        })?;
    if single.this_update > now + CLOCK_SKEW {
        return Err(OcspError::NotYetValid {
            this_update: single.this_update,
            now,
        });
    }
    let valid_until = single
        .next_update
        .unwrap_or(single.this_update + NO_NEXT_UPDATE_VALIDITY);
    if now > valid_until {
        return Err(OcspError::Stale {
            next_update: valid_until,
            now,
        });
    }
    let status = match single.status {
        RawStatus::Good => OcspStatus::Good {
            next_update: valid_until,
        },
        RawStatus::Revoked { at, reason } => OcspStatus::Revoked { at, reason },
        RawStatus::Unknown => OcspStatus::Unknown,
    };
    Ok(OcspAnswer {
        status,
        this_update: single.this_update,
        valid_until,
        produced_at: parsed.produced_at,
        signer: signer.0,
    })
}

/// Who signed: the issuer, or a delegated responder certificate from the
/// response (returned with its DER), checked against RFC 6960 §4.2.2.2.
fn authorised_signer<'a>(
    parsed: &ParsedResponse<'a>,
    pair: &Pair<'_>,
    now: OffsetDateTime,
) -> Result<(Signer, &'a [u8]), OcspError> {
    let names = |c: &X509Certificate<'_>| match parsed.responder {
        ResponderId::ByName(name) => c.subject().as_raw() == name,
        ResponderId::ByKey(hash) => {
            digest::digest(
                &digest::SHA1_FOR_LEGACY_USE_ONLY,
                &c.public_key().subject_public_key.data,
            )
            .as_ref()
                == hash
        }
    };
    if names(&pair.issuer) {
        return Ok((Signer::Issuer, &[]));
    }
    let issuer_name = display_name(pair.issuer.subject());
    for der in &parsed.certs {
        let Ok((_, c)) = X509Certificate::from_der(der) else {
            return Err(OcspError::Malformed { part: "certs" });
        };
        if !names(&c) {
            continue;
        }
        let subject = display_name(c.subject());
        let refuse = |reason: String| OcspError::Unauthorised {
            signer: format!("'{subject}'"),
            reason,
        };
        if c.issuer().as_raw() != pair.issuer.subject().as_raw() {
            return Err(refuse(format!(
                "its certificate was issued by '{}', not by '{issuer_name}'",
                display_name(c.issuer())
            )));
        }
        let (tbs, alg, sig) = certificate_parts(der)?;
        verify_signature(pair.issuer.as_raw(), tbs, alg, sig, &issuer_name).map_err(|_| {
            refuse(format!(
                "its certificate names '{issuer_name}' as issuer but that key did not sign it"
            ))
        })?;
        let ocsp_signing = c
            .extended_key_usage()
            .ok()
            .flatten()
            .is_some_and(|e| e.value.ocsp_signing);
        if !ocsp_signing {
            return Err(refuse(
                "its certificate lacks the extended key usage OCSPSigning (1.3.6.1.5.5.7.3.9)"
                    .to_string(),
            ));
        }
        let validity = c.validity();
        let (from, to) = (
            validity.not_before.to_datetime(),
            validity.not_after.to_datetime(),
        );
        if now + CLOCK_SKEW < from || now > to {
            return Err(refuse(format!(
                "its certificate is valid from {} to {}, not now",
                rfc3339(from),
                rfc3339(to)
            )));
        }
        return Ok((Signer::Delegated(subject), der));
    }
    let who = match parsed.responder {
        ResponderId::ByName(name) => match x509_parser::x509::X509Name::from_der(name) {
            Ok((_, n)) => format!("'{}'", display_name(&n)),
            Err(_) => "an unreadable name".to_string(),
        },
        ResponderId::ByKey(hash) => format!("the key with SHA-1 hash {}", hex(hash)),
    };
    Err(OcspError::Unauthorised {
        signer: who,
        reason: format!(
            "it is neither '{issuer_name}' nor a responder certificate in the response that '{issuer_name}' issued for OCSP signing"
        ),
    })
}

/// The signed part, signatureAlgorithm content and signature of a certificate.
type Signed<'a> = (&'a [u8], &'a [u8], &'a [u8]);

/// Split a certificate into [`Signed`] parts.
fn certificate_parts(cert: &[u8]) -> Result<Signed<'_>, OcspError> {
    let mut r = Reader(cert).expect(der::SEQUENCE, "certs")?.inner();
    let tbs = r.expect(der::SEQUENCE, "certs")?.raw;
    let alg = r.expect(der::SEQUENCE, "certs")?.content;
    match r.expect(der::BIT_STRING, "certs")?.content {
        [0, sig @ ..] => Ok((tbs, alg, sig)),
        _ => Err(OcspError::Malformed { part: "certs" }),
    }
}

/// Verify `signature` over `message` with the key of `signer_cert`, with the
/// algorithm whose AlgorithmIdentifier content is `alg` (any webpki accepts:
/// ECDSA, RSA PKCS#1 and PSS with SHA-2, Ed25519; never SHA-1).
fn verify_signature(
    signer_cert: &[u8],
    message: &[u8],
    alg: &[u8],
    signature: &[u8],
    signer: &str,
) -> Result<(), OcspError> {
    let (spki_alg, key) = public_key(signer_cert)?;
    let mut known = false;
    for candidate in webpki::ALL_VERIFICATION_ALGS {
        if candidate.signature_alg_id().as_ref() != alg {
            continue;
        }
        known = true;
        if candidate.public_key_alg_id().as_ref() != spki_alg {
            continue;
        }
        if candidate.verify_signature(key, message, signature).is_ok() {
            return Ok(());
        }
    }
    if known {
        Err(OcspError::BadSignature {
            signer: signer.to_string(),
        })
    } else {
        let algorithm = Reader(alg)
            .expect(der::OID, "signatureAlgorithm")
            .map(|o| {
                let dotted = der::oid_string(o.content);
                match crate::oid::signature_algorithm(&dotted).name {
                    "unknown" => dotted,
                    name => name.to_string(),
                }
            })
            .unwrap_or_else(|_| "an unreadable algorithm".to_string());
        Err(OcspError::UnsupportedSignature { algorithm })
    }
}

/// The SPKI AlgorithmIdentifier content and the key bits of a certificate.
fn public_key(cert: &[u8]) -> Result<(&[u8], &[u8]), OcspError> {
    let bad = OcspError::Certificate {
        what: "the signer's certificate",
    };
    let mut r = Reader(cert).expect(der::SEQUENCE, "certs")?.inner();
    let mut tbs = r.expect(der::SEQUENCE, "certs")?.inner();
    tbs.optional(der::ctx(0), "certs")?; // version
    for _ in 0..5 {
        // serialNumber, signature, issuer, validity, subject
        tbs.any("certs")?;
    }
    let mut spki = tbs.expect(der::SEQUENCE, "certs")?.inner();
    let alg = spki.expect(der::SEQUENCE, "certs")?.content;
    match spki.expect(der::BIT_STRING, "certs")?.content {
        [0, key @ ..] => Ok((alg, key)),
        _ => Err(bad),
    }
}

/// The http(s) URLs of the OCSP responders in a certificate's Authority
/// Information Access extension, in order.
pub fn responder_urls(cert: &[u8]) -> Vec<String> {
    let Ok((_, c)) = X509Certificate::from_der(cert) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for ext in c.extensions() {
        if let ParsedExtension::AuthorityInfoAccess(aia) = ext.parsed_extension() {
            for desc in &aia.accessdescs {
                if desc.access_method.to_id_string() == AD_OCSP {
                    if let GeneralName::URI(uri) = &desc.access_location {
                        out.push((*uri).to_string());
                    }
                }
            }
        }
    }
    out
}

/// The URLs of a certificate's CRL Distribution Points (full names only).
pub fn crl_urls(cert: &[u8]) -> Vec<String> {
    let Ok((_, c)) = X509Certificate::from_der(cert) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for ext in c.extensions() {
        if let ParsedExtension::CRLDistributionPoints(points) = ext.parsed_extension() {
            for point in &points.points {
                if let Some(DistributionPointName::FullName(names)) = &point.distribution_point {
                    for name in names {
                        if let GeneralName::URI(uri) = name {
                            out.push((*uri).to_string());
                        }
                    }
                }
            }
        }
    }
    out
}

/// Whether `issuer` issued `cert` (both DER): its subject is the
/// certificate's issuer name and its key verifies the certificate's signature.
pub fn issued_by(cert: &[u8], issuer: &[u8]) -> bool {
    let (Ok((_, c)), Ok((_, i))) = (
        X509Certificate::from_der(cert),
        X509Certificate::from_der(issuer),
    ) else {
        return false;
    };
    if c.issuer().as_raw() != i.subject().as_raw() {
        return false;
    }
    certificate_parts(cert)
        .and_then(|(tbs, alg, sig)| verify_signature(issuer, tbs, alg, sig, ""))
        .is_ok()
}

/// The certificate's serial number in hex, as `openssl` prints it.
pub fn serial_hex(cert: &[u8]) -> Option<String> {
    let (_, c) = X509Certificate::from_der(cert).ok()?;
    Some(hex(c.raw_serial()))
}

fn hex(bytes: &[u8]) -> String {
    colon_hex(bytes)
}

/// A name as `openssl` and `certbound check` print it.
fn display_name(name: &x509_parser::x509::X509Name<'_>) -> String {
    name.to_string()
}

#[cfg(test)]
mod tests;
