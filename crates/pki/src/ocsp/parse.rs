//! Reading an OCSPResponse (RFC 6960 §4.2.1) into its fields, before any
//! signature or date is checked: the part that takes outside input, and the
//! entry point of the `ocsp` fuzz target.

use time::OffsetDateTime;

use super::der::{self, Reader, Tlv};
use super::{BASIC, NONCE, OcspError, Reason};

/// One SingleResponse as read.
#[derive(Debug, Clone)]
pub struct SingleResponse<'a> {
    pub(super) hash_alg: String,
    pub(super) name_hash: &'a [u8],
    pub(super) key_hash: &'a [u8],
    pub(super) serial: &'a [u8],
    pub status: RawStatus,
    pub this_update: OffsetDateTime,
    pub next_update: Option<OffsetDateTime>,
}

/// certStatus as read, before dates are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawStatus {
    Good,
    Revoked {
        at: OffsetDateTime,
        reason: Option<Reason>,
    },
    Unknown,
}

/// responderID.
#[derive(Debug, Clone, Copy)]
pub(super) enum ResponderId<'a> {
    /// The DER of the responder's subject Name.
    ByName(&'a [u8]),
    /// SHA-1 of the responder's public key bits.
    ByKey(&'a [u8]),
}

/// A successful OCSPResponse as read, signature not yet checked.
#[derive(Debug, Clone)]
pub struct ParsedResponse<'a> {
    pub(super) tbs: &'a [u8],
    pub(super) responder: ResponderId<'a>,
    pub produced_at: OffsetDateTime,
    pub responses: Vec<SingleResponse<'a>>,
    pub(super) nonce: Option<&'a [u8]>,
    /// The content of the signatureAlgorithm AlgorithmIdentifier.
    pub(super) sig_alg: &'a [u8],
    pub(super) signature: &'a [u8],
    /// The certificates that came with it (DER).
    pub certs: Vec<&'a [u8]>,
}

/// Read an OCSPResponse. A responseStatus other than successful is an error
/// that names it. This is the entry point of the `ocsp` fuzz target.
pub fn parse_response(bytes: &[u8]) -> Result<ParsedResponse<'_>, OcspError> {
    let mut top = Reader(bytes);
    let outer = top.expect(der::SEQUENCE, "OCSPResponse")?;
    top.finish("OCSPResponse (bytes after it)")?;
    let mut r = outer.inner();
    let status = r.expect(der::ENUMERATED, "responseStatus")?;
    let status = match status.content {
        [0] => None,
        [1] => Some("malformedRequest"),
        [2] => Some("internalError"),
        [3] => Some("tryLater"),
        [5] => Some("sigRequired"),
        [6] => Some("unauthorized"),
        _ => {
            return Err(OcspError::Malformed {
                part: "responseStatus",
            });
        }
    };
    if let Some(status) = status {
        return Err(OcspError::NotSuccessful { status });
    }
    let bytes = r.expect(der::ctx(0), "responseBytes")?;
    r.finish("OCSPResponse (fields after responseBytes)")?;
    let mut rb = bytes
        .inner()
        .expect(der::SEQUENCE, "responseBytes")?
        .inner();
    let kind = rb.expect(der::OID, "responseType")?;
    let kind = der::oid_string(kind.content);
    if kind != BASIC {
        return Err(OcspError::UnsupportedType { oid: kind });
    }
    let basic = rb.expect(der::OCTET_STRING, "response")?;
    let mut b = Reader(basic.content);
    let basic = b.expect(der::SEQUENCE, "BasicOCSPResponse")?;
    b.finish("BasicOCSPResponse (bytes after it)")?;
    let mut b = basic.inner();
    let tbs = b.expect(der::SEQUENCE, "tbsResponseData")?;
    let sig_alg = b.expect(der::SEQUENCE, "signatureAlgorithm")?;
    let signature = b.expect(der::BIT_STRING, "signature")?;
    let signature = match signature.content {
        [0, rest @ ..] => rest,
        _ => return Err(OcspError::Malformed { part: "signature" }),
    };
    let mut certs = Vec::new();
    if let Some(list) = b.optional(der::ctx(0), "certs")? {
        let mut seq = list.inner().expect(der::SEQUENCE, "certs")?.inner();
        while !seq.is_empty() {
            certs.push(seq.expect(der::SEQUENCE, "certs")?.raw);
        }
    }
    b.finish("BasicOCSPResponse (fields after certs)")?;

    let mut t = tbs.inner();
    if let Some(v) = t.optional(der::ctx(0), "version")? {
        let v = v.inner().expect(der::INTEGER, "version")?;
        if v.content != [0] {
            return Err(OcspError::Malformed {
                part: "version (only v1 exists)",
            });
        }
    }
    let id = t.any("responderID")?;
    let responder = match id.tag {
        t if t == der::ctx(1) => {
            ResponderId::ByName(id.inner().expect(der::SEQUENCE, "responderID")?.raw)
        }
        t if t == der::ctx(2) => {
            ResponderId::ByKey(id.inner().expect(der::OCTET_STRING, "responderID")?.content)
        }
        _ => {
            return Err(OcspError::Malformed {
                part: "responderID",
            });
        }
    };
    let produced_at = generalized_time(t.expect(der::GENERALIZED_TIME, "producedAt")?)?;
    let mut list = t.expect(der::SEQUENCE, "responses")?.inner();
    let mut responses = Vec::new();
    while !list.is_empty() {
        responses.push(single_response(
            list.expect(der::SEQUENCE, "SingleResponse")?,
        )?);
    }
    let mut nonce = None;
    if let Some(exts) = t.optional(der::ctx(1), "responseExtensions")? {
        let mut exts = exts
            .inner()
            .expect(der::SEQUENCE, "responseExtensions")?
            .inner();
        while !exts.is_empty() {
            let mut ext = exts.expect(der::SEQUENCE, "responseExtensions")?.inner();
            let id = ext.expect(der::OID, "responseExtensions")?;
            ext.optional(der::BOOLEAN, "responseExtensions")?;
            let value = ext.expect(der::OCTET_STRING, "responseExtensions")?;
            if der::oid_string(id.content) == NONCE {
                // RFC 8954: an OCTET STRING inside; some responders send it bare.
                let mut inner = Reader(value.content);
                nonce = Some(match inner.optional(der::OCTET_STRING, "nonce")? {
                    Some(n) if inner.is_empty() => n.content,
                    _ => value.content,
                });
            }
        }
    }
    t.finish("tbsResponseData (fields after responseExtensions)")?;
    Ok(ParsedResponse {
        tbs: tbs.raw,
        responder,
        produced_at,
        responses,
        nonce,
        sig_alg: sig_alg.content,
        signature,
        certs,
    })
}

fn single_response(tlv: Tlv<'_>) -> Result<SingleResponse<'_>, OcspError> {
    let mut s = tlv.inner();
    let mut id = s.expect(der::SEQUENCE, "certID")?.inner();
    let mut alg = id.expect(der::SEQUENCE, "certID hashAlgorithm")?.inner();
    let hash_alg = der::oid_string(alg.expect(der::OID, "certID hashAlgorithm")?.content);
    let name_hash = id
        .expect(der::OCTET_STRING, "certID issuerNameHash")?
        .content;
    let key_hash = id
        .expect(der::OCTET_STRING, "certID issuerKeyHash")?
        .content;
    let serial = id.expect(der::INTEGER, "certID serialNumber")?.content;
    id.finish("certID")?;
    let status = s.any("certStatus")?;
    let status = match status.tag {
        t if t == der::ctx_prim(0) => RawStatus::Good,
        t if t == der::ctx_prim(2) => RawStatus::Unknown,
        t if t == der::ctx(1) => {
            let mut info = status.inner();
            let at = generalized_time(info.expect(der::GENERALIZED_TIME, "revocationTime")?)?;
            let reason = match info.optional(der::ctx(0), "revocationReason")? {
                Some(r) => {
                    let code = r.inner().expect(der::ENUMERATED, "revocationReason")?;
                    match code.content {
                        [n] => Some(Reason::from_code(*n).ok_or(OcspError::Malformed {
                            part: "revocationReason",
                        })?),
                        _ => {
                            return Err(OcspError::Malformed {
                                part: "revocationReason",
                            });
                        }
                    }
                }
                None => None,
            };
            info.finish("revokedInfo")?;
            RawStatus::Revoked { at, reason }
        }
        _ => return Err(OcspError::Malformed { part: "certStatus" }),
    };
    let this_update = generalized_time(s.expect(der::GENERALIZED_TIME, "thisUpdate")?)?;
    let next_update = match s.optional(der::ctx(0), "nextUpdate")? {
        Some(n) => Some(generalized_time(
            n.inner().expect(der::GENERALIZED_TIME, "nextUpdate")?,
        )?),
        None => None,
    };
    // singleExtensions are not used.
    s.optional(der::ctx(1), "singleExtensions")?;
    s.finish("SingleResponse")?;
    Ok(SingleResponse {
        hash_alg,
        name_hash,
        key_hash,
        serial,
        status,
        this_update,
        next_update,
    })
}

/// GeneralizedTime as RFC 5280 profiles it: YYYYMMDDHHMMSS[.f*]Z.
pub(super) fn generalized_time(tlv: Tlv<'_>) -> Result<OffsetDateTime, OcspError> {
    let bad = OcspError::Malformed {
        part: "a GeneralizedTime",
    };
    let s = std::str::from_utf8(tlv.content).map_err(|_| bad.clone())?;
    let s = s.strip_suffix('Z').ok_or(bad.clone())?;
    let (whole, fraction) = match s.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (s, None),
    };
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad);
    }
    let num = |r: std::ops::Range<usize>| whole[r].parse::<u32>().map_err(|_| bad.clone());
    let month = time::Month::try_from(num(4..6)? as u8).map_err(|_| bad.clone())?;
    let day = time::Date::from_calendar_date(num(0..4)? as i32, month, num(6..8)? as u8)
        .map_err(|_| bad.clone())?;
    let mut nanos = 0u32;
    if let Some(f) = fraction {
        if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad);
        }
        nanos = format!("{f:0<9}").parse().map_err(|_| bad.clone())?;
    }
    let at = time::Time::from_hms_nano(
        num(8..10)? as u8,
        num(10..12)? as u8,
        num(12..14)? as u8,
        nanos,
    )
    .map_err(|_| bad.clone())?;
    Ok(time::PrimitiveDateTime::new(day, at).assume_utc())
}
