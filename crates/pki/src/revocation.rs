//! Certificate revocation: CRLs read from PEM or DER, checked against their
//! issuer's key, trusted only until their nextUpdate, and asked "is this
//! certificate revoked, since when, and why?".
//!
//! Chain verification ([`crate::anchors::AnchorSet::verify`],
//! [`crate::chain::verify`]) takes an optional [`RevocationCheck`]: webpki
//! gives the verdict on every certificate of the path (leaf and
//! intermediates) with the CRLs of the set; a refusal is then explained here
//! with the certificate, its serial, the date and the reason code.
//!
//! A certificate is *covered* when the set holds a CRL of its issuer. A
//! covered certificate listed in that CRL is revoked whatever the policy; when
//! the CRL is stale (past its nextUpdate) the certificate's status is
//! unavailable, and [`Unavailable`] decides. A certificate whose issuer has no
//! CRL in the set is not checked: adding one partner's CRL does not lock out
//! the clients of every other CA.

use std::fmt;
use std::sync::Arc;

use rustls_pki_types::CertificateRevocationListDer;
use time::OffsetDateTime;
use webpki::{
    CertRevocationList, ExpirationPolicy, OwnedCertRevocationList, RevocationCheckDepth,
    RevocationOptions, RevocationOptionsBuilder, UnknownStatusPolicy,
};

use crate::CertDer;
use crate::chain::ChainError;
use crate::thumbprint::colon_hex;
use crate::time_fmt::{date, relative};

/// Largest CRL accepted, in bytes (a CRL of 100,000 serials is about 4 MB).
pub const MAX_CRL_BYTES: usize = 32 << 20;

/// What to do when a covered certificate's status cannot be had (its CRL is stale).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unavailable {
    /// Refuse the chain (the default).
    #[default]
    Fail,
    /// Accept the chain; a stale CRL still refuses the serials it lists.
    Allow,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unavailable::Fail => "fail",
            Unavailable::Allow => "allow",
        })
    }
}

/// Why a certificate was revoked (RFC 5280 §5.3.1 CRLReason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    Unspecified,
    KeyCompromise,
    CaCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
    CertificateHold,
    RemoveFromCrl,
    PrivilegeWithdrawn,
    AaCompromise,
}

impl Reason {
    /// Every reason, in code order.
    pub const ALL: [Reason; 10] = [
        Reason::Unspecified,
        Reason::KeyCompromise,
        Reason::CaCompromise,
        Reason::AffiliationChanged,
        Reason::Superseded,
        Reason::CessationOfOperation,
        Reason::CertificateHold,
        Reason::RemoveFromCrl,
        Reason::PrivilegeWithdrawn,
        Reason::AaCompromise,
    ];

    /// The RFC 5280 name: `keyCompromise`, `cACompromise`, ...
    pub fn name(self) -> &'static str {
        match self {
            Reason::Unspecified => "unspecified",
            Reason::KeyCompromise => "keyCompromise",
            Reason::CaCompromise => "cACompromise",
            Reason::AffiliationChanged => "affiliationChanged",
            Reason::Superseded => "superseded",
            Reason::CessationOfOperation => "cessationOfOperation",
            Reason::CertificateHold => "certificateHold",
            Reason::RemoveFromCrl => "removeFromCRL",
            Reason::PrivilegeWithdrawn => "privilegeWithdrawn",
            Reason::AaCompromise => "aACompromise",
        }
    }

    /// The reason code of the CRL entry extension.
    pub fn code(self) -> u8 {
        match self {
            Reason::Unspecified => 0,
            Reason::KeyCompromise => 1,
            Reason::CaCompromise => 2,
            Reason::AffiliationChanged => 3,
            Reason::Superseded => 4,
            Reason::CessationOfOperation => 5,
            Reason::CertificateHold => 6,
            Reason::RemoveFromCrl => 8,
            Reason::PrivilegeWithdrawn => 9,
            Reason::AaCompromise => 10,
        }
    }

    /// The reason named `name` (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(name))
    }

    /// The reason with code `code`.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<webpki::RevocationReason> for Reason {
    fn from(r: webpki::RevocationReason) -> Self {
        Reason::from_code(r as u8).unwrap_or(Reason::Unspecified)
    }
}

/// A CRL that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrlError {
    #[error("{source_name}: not a CRL: {reason}")]
    Unreadable { source_name: String, reason: String },
    #[error("{source_name}: holds no X509 CRL block{}", found_labels(.found))]
    NoCrl {
        source_name: String,
        found: Vec<String>,
    },
    #[error("{source_name}: the CRL is {size} bytes; at most {max} are read")]
    TooLarge {
        source_name: String,
        size: usize,
        max: usize,
    },
    #[error(
        "{source_name}: the CRL of '{issuer}' has no nextUpdate, so it can never be known to be current"
    )]
    NoNextUpdate { source_name: String, issuer: String },
    #[error("{source_name}: the CRL of '{issuer}' cannot be used: {reason}")]
    Unsupported {
        source_name: String,
        issuer: String,
        reason: String,
    },
    #[error(
        "{source_name}: the CRL names '{issuer}' as its issuer, but that CA's key did not sign it (a CRL of another CA with the same name, or a forged one)"
    )]
    NotSignedByIssuer { source_name: String, issuer: String },
    #[error(
        "{source_name}: the CRL is of '{issuer}', not of '{expected}', the certificate's issuer"
    )]
    OtherIssuer {
        source_name: String,
        issuer: String,
        expected: String,
    },
}

fn found_labels(found: &[String]) -> String {
    if found.is_empty() {
        String::new()
    } else {
        format!(" (found {})", found.join(", "))
    }
}

impl CrlError {
    /// A one-line fix.
    pub fn hint(&self) -> String {
        match self {
            CrlError::Unreadable { .. } | CrlError::NoCrl { .. } => {
                "give a CRL in PEM (-----BEGIN X509 CRL-----) or DER, as `certbound pki crl` or `openssl ca -gencrl` write it".into()
            }
            CrlError::TooLarge { .. } => "split the CRL by issuing distribution point".into(),
            CrlError::NoNextUpdate { .. } | CrlError::Unsupported { .. } => {
                "ask the CA for a complete version 2 CRL with a nextUpdate (`certbound pki crl`)".into()
            }
            CrlError::NotSignedByIssuer { issuer, .. } => format!(
                "get the CRL from the CA that issued the certificates ('{issuer}'), signed by its current key"
            ),
            CrlError::OtherIssuer { expected, .. } => format!(
                "point the certificate's CRL Distribution Point at the CRL of '{expected}'"
            ),
        }
    }

    /// A stable short code.
    pub fn code(&self) -> &'static str {
        match self {
            CrlError::Unreadable { .. } => "crl_unreadable",
            CrlError::NoCrl { .. } => "no_crl",
            CrlError::TooLarge { .. } => "crl_too_large",
            CrlError::NoNextUpdate { .. } => "crl_no_next_update",
            CrlError::Unsupported { .. } => "crl_unsupported",
            CrlError::NotSignedByIssuer { .. } => "crl_bad_signature",
            CrlError::OtherIssuer { .. } => "crl_other_issuer",
        }
    }
}

/// One CRL, parsed.
#[derive(Debug)]
pub struct Crl {
    list: CertRevocationList<'static>,
    der: Vec<u8>,
    /// Where it was read from (a file name), for messages.
    pub source: String,
    /// The issuer's name as users read it (its CN, else the whole DN).
    pub issuer: String,
    issuer_raw: Vec<u8>,
    pub this_update: OffsetDateTime,
    pub next_update: OffsetDateTime,
    /// The CRL number, in decimal, when present.
    pub number: Option<String>,
    /// How many certificates it lists.
    pub entries: usize,
}

impl Crl {
    /// Read one DER CRL.
    pub fn from_der(source: &str, der: &[u8]) -> Result<Self, CrlError> {
        let unreadable = |reason: String| CrlError::Unreadable {
            source_name: source.to_string(),
            reason,
        };
        if der.len() > MAX_CRL_BYTES {
            return Err(CrlError::TooLarge {
                source_name: source.to_string(),
                size: der.len(),
                max: MAX_CRL_BYTES,
            });
        }
        let (rest, parsed) = x509_parser::parse_x509_crl(der)
            .map_err(|e| unreadable(format!("the DER does not parse as a CRL ({e})")))?;
        if !rest.is_empty() {
            return Err(unreadable(format!("{} bytes follow the CRL", rest.len())));
        }
        let tbs = &parsed.tbs_cert_list;
        let issuer = display_name(&tbs.issuer);
        let Some(next_update) = tbs.next_update else {
            return Err(CrlError::NoNextUpdate {
                source_name: source.to_string(),
                issuer,
            });
        };
        let (issuer_raw, this_update, next_update, number, entries) = (
            tbs.issuer.as_raw().to_vec(),
            tbs.this_update.to_datetime(),
            next_update.to_datetime(),
            parsed.crl_number().map(ToString::to_string),
            tbs.revoked_certificates.len(),
        );
        // Freed before the list that is kept is built, so that its pages
        // (about 40 MB for 100,000 entries) can be reused for it.
        drop(parsed);
        let list = OwnedCertRevocationList::from_der(der).map_err(|e| CrlError::Unsupported {
            source_name: source.to_string(),
            issuer: issuer.clone(),
            reason: webpki_crl_reason(&e),
        })?;
        Ok(Self {
            list: CertRevocationList::Owned(list),
            der: der.to_vec(),
            source: source.to_string(),
            issuer_raw,
            this_update,
            next_update,
            number,
            entries,
            issuer,
        })
    }

    /// The DER, as rustls verifiers take it.
    pub fn der(&self) -> CertificateRevocationListDer<'static> {
        CertificateRevocationListDer::from(self.der.clone())
    }

    /// The issuer's DER-encoded name.
    pub fn issuer_raw(&self) -> &[u8] {
        &self.issuer_raw
    }

    /// Whether `now` is past its nextUpdate.
    pub fn is_stale(&self, now: OffsetDateTime) -> bool {
        now >= self.next_update
    }

    /// Whether the key of `issuer` (a DER certificate) signed this CRL.
    pub fn signed_by(&self, issuer: &[u8]) -> bool {
        let Ok((_, parsed)) = x509_parser::parse_x509_crl(&self.der) else {
            return false;
        };
        crate::chain::signature_verifies(
            parsed.signature_algorithm.algorithm.as_bytes(),
            parsed.tbs_cert_list.as_ref(),
            parsed.signature_value.data.as_ref(),
            issuer,
        )
    }

    /// Check the signature against the certificates in `known` that carry
    /// the CRL issuer's name: `Ok(Some(i))` names the one whose key signed
    /// it, `Ok(None)` says none carries that name (the signature is then
    /// checked when a chain names the issuer), an error that some do but
    /// none signed it.
    pub fn check_issuer(&self, known: &[CertDer]) -> Result<Option<usize>, CrlError> {
        let mut named = false;
        for (i, cert) in known.iter().enumerate() {
            let Ok((_, parsed)) = x509_parser::parse_x509_certificate(cert) else {
                continue;
            };
            if parsed.subject().as_raw() != self.issuer_raw.as_slice() {
                continue;
            }
            named = true;
            if self.signed_by(cert) {
                return Ok(Some(i));
            }
        }
        if named {
            return Err(CrlError::NotSignedByIssuer {
                source_name: self.source.clone(),
                issuer: self.issuer.clone(),
            });
        }
        Ok(None)
    }

    /// The entry for the certificate `cert` (DER), when this CRL lists its
    /// serial; `None` too when `cert` does not parse.
    pub fn lists(&self, cert: &[u8]) -> Option<(OffsetDateTime, Reason)> {
        let (_, parsed) = x509_parser::parse_x509_certificate(cert).ok()?;
        self.find(parsed.raw_serial())
    }

    /// The entry for `serial` (the certificate's raw serial bytes).
    pub fn find(&self, serial: &[u8]) -> Option<(OffsetDateTime, Reason)> {
        let entry = self.list.find_serial(serial).ok().flatten()?;
        let at = OffsetDateTime::from_unix_timestamp(entry.revocation_date.as_secs() as i64)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Some((
            at,
            entry.reason_code.map_or(Reason::Unspecified, Reason::from),
        ))
    }
}

/// Read every CRL in `bytes`: PEM (`X509 CRL` blocks) or one DER CRL.
/// `source` names the input in messages.
pub fn parse_crls(source: &str, bytes: &[u8]) -> Result<Vec<Crl>, CrlError> {
    if bytes.len() > MAX_CRL_BYTES * 2 {
        return Err(CrlError::TooLarge {
            source_name: source.to_string(),
            size: bytes.len(),
            max: MAX_CRL_BYTES,
        });
    }
    let text_start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    let looks_pem = text_start.is_some_and(|i| bytes[i] != 0x30);
    if !looks_pem {
        return Crl::from_der(source, bytes).map(|c| vec![c]);
    }
    let blocks = crate::bundle::pem_blocks(bytes).map_err(|e| CrlError::Unreadable {
        source_name: source.to_string(),
        reason: e.to_string(),
    })?;
    let mut crls = Vec::new();
    let mut found = Vec::new();
    for block in blocks {
        if block.label == "X509 CRL" {
            crls.push(Crl::from_der(source, &block.der)?);
        } else if !found.contains(&block.label) {
            found.push(block.label);
        }
    }
    if crls.is_empty() {
        return Err(CrlError::NoCrl {
            source_name: source.to_string(),
            found,
        });
    }
    Ok(crls)
}

/// The CRL among `crls` (read from `source`) of the CA certificate `issuer`
/// (DER): named like its subject and signed by its key.
pub fn issued_by(source: &str, crls: Vec<Crl>, issuer: &[u8]) -> Result<Crl, CrlError> {
    let (name, display) = match x509_parser::parse_x509_certificate(issuer) {
        Ok((_, c)) => (c.subject().as_raw().to_vec(), display_name(c.subject())),
        Err(e) => {
            return Err(CrlError::Unreadable {
                source_name: source.to_string(),
                reason: format!("its issuer's certificate does not parse ({e})"),
            });
        }
    };
    let mut other = None;
    for crl in crls {
        if crl.issuer_raw != name {
            other.get_or_insert(crl.issuer.clone());
            continue;
        }
        if crl.signed_by(issuer) {
            return Ok(crl);
        }
        return Err(CrlError::NotSignedByIssuer {
            source_name: source.to_string(),
            issuer: crl.issuer.clone(),
        });
    }
    Err(CrlError::OtherIssuer {
        source_name: source.to_string(),
        issuer: other.unwrap_or_default(),
        expected: display,
    })
}

/// The CRLs in force: at most one per issuer (the newest by CRL number, then
/// thisUpdate).
#[derive(Debug, Default)]
pub struct CrlSet {
    crls: Vec<Crl>,
}

impl CrlSet {
    /// Keep the newest CRL of each issuer.
    pub fn new(crls: Vec<Crl>) -> Self {
        let mut kept: Vec<Crl> = Vec::with_capacity(crls.len());
        for crl in crls {
            match kept.iter_mut().find(|k| k.issuer_raw == crl.issuer_raw) {
                Some(k) if newer(&crl, k) => *k = crl,
                Some(_) => {}
                None => kept.push(crl),
            }
        }
        Self { crls: kept }
    }

    pub fn crls(&self) -> &[Crl] {
        &self.crls
    }

    pub fn is_empty(&self) -> bool {
        self.crls.is_empty()
    }

    pub fn len(&self) -> usize {
        self.crls.len()
    }

    /// The CRL of the issuer named `issuer_raw` (DER name).
    pub fn for_issuer(&self, issuer_raw: &[u8]) -> Option<&Crl> {
        self.crls.iter().find(|c| c.issuer_raw == issuer_raw)
    }

    /// The DER of every CRL, for rustls verifiers.
    pub fn ders(&self) -> Vec<CertificateRevocationListDer<'static>> {
        self.crls.iter().map(Crl::der).collect()
    }

    /// What the set says of the certificate `cert` (DER) at `now`, without
    /// checking the CRL's signature (chain verification does).
    pub fn status(&self, cert: &[u8], now: OffsetDateTime) -> Status<'_> {
        let Ok((_, parsed)) = x509_parser::parse_x509_certificate(cert) else {
            return Status::NotCovered;
        };
        let Some(crl) = self.for_issuer(parsed.issuer().as_raw()) else {
            return Status::NotCovered;
        };
        match crl.find(parsed.raw_serial()) {
            Some((revoked_at, reason)) => Status::Revoked {
                crl,
                revoked_at,
                reason,
            },
            None if crl.is_stale(now) => Status::Stale { crl },
            None => Status::Good { crl },
        }
    }

    fn refs(&self) -> Vec<&CertRevocationList<'static>> {
        self.crls.iter().map(|c| &c.list).collect()
    }
}

fn newer(a: &Crl, b: &Crl) -> bool {
    let num = |c: &Crl| {
        c.number
            .as_deref()
            .map(|n| (n.len(), n.to_string()))
            .unwrap_or_default()
    };
    (num(a), a.this_update) > (num(b), b.this_update)
}

/// A certificate's standing in a [`CrlSet`].
#[derive(Debug, Clone, Copy)]
pub enum Status<'a> {
    /// The set holds no CRL of its issuer.
    NotCovered,
    /// Its issuer's current CRL does not list it.
    Good { crl: &'a Crl },
    /// Listed: revoked.
    Revoked {
        crl: &'a Crl,
        revoked_at: OffsetDateTime,
        reason: Reason,
    },
    /// Not listed, but the CRL is past its nextUpdate.
    Stale { crl: &'a Crl },
}

/// The revocation input of chain verification: the sources consulted and
/// what to do when none can answer. Sources are added beside `crls`.
#[derive(Debug, Clone, Default)]
pub struct RevocationCheck {
    pub crls: Option<Arc<CrlSet>>,
    pub unavailable: Unavailable,
}

impl RevocationCheck {
    /// A check by the CRLs of `crls`.
    pub fn crls(crls: Arc<CrlSet>, unavailable: Unavailable) -> Self {
        Self {
            crls: Some(crls),
            unavailable,
        }
    }

    /// The CRLs webpki is given (empty when there are none).
    pub(crate) fn crl_refs(&self) -> Vec<&CertRevocationList<'static>> {
        self.crls.as_deref().map(CrlSet::refs).unwrap_or_default()
    }

    /// webpki's options for `refs` (from [`Self::crl_refs`]): every
    /// certificate of the path, a certificate without a CRL of its issuer
    /// unchecked, nextUpdate enforced unless stale CRLs are allowed.
    pub(crate) fn options<'a>(
        &self,
        refs: &'a [&'a CertRevocationList<'a>],
    ) -> Option<RevocationOptions<'a>> {
        let expiration = match self.unavailable {
            Unavailable::Fail => ExpirationPolicy::Enforce,
            Unavailable::Allow => ExpirationPolicy::Ignore,
        };
        Some(
            RevocationOptionsBuilder::new(refs)
                .ok()?
                .with_depth(RevocationCheckDepth::Chain)
                .with_status_policy(UnknownStatusPolicy::Allow)
                .with_expiration_policy(expiration)
                .build(),
        )
    }

    /// Explain webpki's revocation refusal `err` of the verified `path`
    /// (leaf first, then the intermediates, then the anchor).
    pub(crate) fn explain(
        &self,
        err: &webpki::Error,
        path: &[CertDer],
        now: OffsetDateTime,
    ) -> ChainError {
        use webpki::Error as E;
        let set = self.crls.as_deref();
        let pairs = path.iter().zip(path.iter().skip(1));
        for (cert, issuer) in pairs {
            let (name, serial, crl) = match describe(cert, set) {
                Some(d) => d,
                None => continue,
            };
            let Some(crl) = crl else { continue };
            let unavailable = |why: String| ChainError::RevocationUnavailable {
                cert: name.clone(),
                why,
            };
            match err {
                E::CertRevoked => {
                    if let Some((revoked_at, reason)) = crl.find(&serial) {
                        return ChainError::Revoked {
                            cert: name,
                            serial: colon_hex(&serial),
                            revoked_at,
                            reason,
                        };
                    }
                }
                E::CrlExpired { .. } if crl.is_stale(now) => {
                    return unavailable(format!(
                        "the CRL of '{}' ({}) is stale: its nextUpdate was {} ({})",
                        crl.issuer,
                        crl.source,
                        date(crl.next_update),
                        relative(now, crl.next_update)
                    ));
                }
                E::IssuerNotCrlSigner => {
                    return unavailable(format!(
                        "'{}' may not sign CRLs (its keyUsage lacks cRLSign), so its CRL ({}) is not used",
                        crl.issuer, crl.source
                    ));
                }
                E::InvalidCrlSignatureForPublicKey
                | E::UnsupportedCrlSignatureAlgorithmContext(_)
                | E::UnsupportedCrlSignatureAlgorithmForPublicKeyContext(_)
                    if !crl.signed_by(issuer) =>
                {
                    return unavailable(format!(
                        "the CRL of '{}' ({}) is not signed by the key of the '{}' certificate of this chain",
                        crl.issuer, crl.source, crl.issuer
                    ));
                }
                _ => {}
            }
        }
        ChainError::RevocationUnavailable {
            cert: path
                .first()
                .and_then(|c| describe(c, set))
                .map(|d| d.0)
                .unwrap_or_default(),
            why: webpki_crl_reason(err),
        }
    }
}

/// Name, raw serial and issuer's CRL of `cert`.
fn describe<'a>(
    cert: &[u8],
    set: Option<&'a CrlSet>,
) -> Option<(String, Vec<u8>, Option<&'a Crl>)> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert).ok()?;
    let name = display_name(parsed.subject());
    let crl = set.and_then(|s| s.for_issuer(parsed.issuer().as_raw()));
    Some((name, parsed.raw_serial().to_vec(), crl))
}

/// Whether webpki refused for a revocation reason (rather than the chain itself).
pub(crate) fn is_revocation_error(e: &webpki::Error) -> bool {
    use webpki::Error as E;
    matches!(
        e,
        E::CertRevoked
            | E::CrlExpired { .. }
            | E::UnknownRevocationStatus
            | E::IssuerNotCrlSigner
            | E::InvalidCrlSignatureForPublicKey
            | E::UnsupportedCrlSignatureAlgorithmContext(_)
            | E::UnsupportedCrlSignatureAlgorithmForPublicKeyContext(_)
    )
}

/// webpki's CRL errors in words.
fn webpki_crl_reason(e: &webpki::Error) -> String {
    use webpki::Error as E;
    match e {
        E::UnsupportedCrlVersion => "only version 2 CRLs are supported".into(),
        E::UnsupportedDeltaCrl => "delta CRLs are not supported".into(),
        E::UnsupportedIndirectCrl => "indirect CRLs are not supported".into(),
        E::UnsupportedRevocationReason => "an entry has an unknown reason code".into(),
        E::UnsupportedCriticalExtension => {
            "it has a critical extension that is not understood".into()
        }
        E::InvalidCrlNumber => "its CRL number is invalid".into(),
        E::InvalidSerialNumber => "an entry's serial number is invalid".into(),
        E::BadDer | E::BadDerTime => "its DER encoding is invalid".into(),
        E::CrlExpired { .. } => "a CRL is stale (past its nextUpdate)".into(),
        E::CertRevoked => "a certificate of the chain is revoked".into(),
        E::InvalidCrlSignatureForPublicKey => "a CRL's signature does not verify".into(),
        E::IssuerNotCrlSigner => "a CRL's issuer may not sign CRLs".into(),
        other => crate::chain::webpki_reason(other),
    }
}

/// A name as users read it: its first CN, else the whole DN.
fn display_name(name: &x509_parser::x509::X509Name<'_>) -> String {
    name.iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map_or_else(|| name.to_string(), str::to_string)
}

#[cfg(test)]
mod tests;
