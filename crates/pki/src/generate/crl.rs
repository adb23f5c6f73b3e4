//! The CA side of revocation: a CRL signed by a CA's key (what `certbound
//! pki crl` writes), and the CRL Distribution Points and AIA OCSP extensions
//! that tell a verifier where to ask (`pki issue --crl-url/--ocsp-url`).

use rcgen::{
    CertificateParams, CertificateRevocationListParams, CrlDistributionPoint, CustomExtension,
    KeyIdMethod, RevokedCertParams, SerialNumber,
};
use time::OffsetDateTime;

use super::{GenerateError, Signer, days, rcgen_err};
use crate::revocation::Reason;

/// Default lifetime of a CRL (until its nextUpdate): seven days.
pub const CRL_DAYS: u32 = 7;

/// One revoked certificate, as the CA directory records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    /// The certificate's serial number, its raw bytes.
    pub serial: Vec<u8>,
    pub revoked_at: OffsetDateTime,
    pub reason: Reason,
}

/// A CRL just made.
#[derive(Debug, Clone)]
pub struct MadeCrl {
    pub pem: String,
    pub der: Vec<u8>,
    pub next_update: OffsetDateTime,
}

impl Signer {
    /// A CRL of `entries` signed by this CA, numbered `number`, current from
    /// `now` for `days` days.
    pub fn crl(
        &self,
        entries: &[RevokedEntry],
        number: u64,
        now: OffsetDateTime,
        days_valid: u32,
    ) -> Result<MadeCrl, GenerateError> {
        self.check_valid(now)?;
        let this_update = now - super::BACKDATE;
        let next_update = now + days(days_valid)?;
        let params = CertificateRevocationListParams {
            this_update,
            next_update,
            crl_number: SerialNumber::from(number),
            issuing_distribution_point: None,
            revoked_certs: entries
                .iter()
                .map(|e| RevokedCertParams {
                    serial_number: SerialNumber::from_slice(&e.serial),
                    revocation_time: e.revoked_at,
                    reason_code: rcgen_reason(e.reason),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params
            .signed_by(&self.issuer()?)
            .map_err(rcgen_err("sign the CRL"))?;
        let der = crl.der().to_vec();
        Ok(MadeCrl {
            pem: super::pem_encode("X509 CRL", &der),
            der,
            next_update,
        })
    }
}

/// No reason code when unspecified (RFC 5280 §5.3.1: "SHOULD be absent").
fn rcgen_reason(r: Reason) -> Option<rcgen::RevocationReason> {
    use rcgen::RevocationReason as R;
    Some(match r {
        Reason::Unspecified => return None,
        Reason::KeyCompromise => R::KeyCompromise,
        Reason::CaCompromise => R::CaCompromise,
        Reason::AffiliationChanged => R::AffiliationChanged,
        Reason::Superseded => R::Superseded,
        Reason::CessationOfOperation => R::CessationOfOperation,
        Reason::CertificateHold => R::CertificateHold,
        Reason::RemoveFromCrl => R::RemoveFromCrl,
        Reason::PrivilegeWithdrawn => R::PrivilegeWithdrawn,
        Reason::AaCompromise => R::AaCompromise,
    })
}

/// Put CRL Distribution Points and AIA OCSP URLs into leaf `params`.
pub(super) fn add_locations(
    params: &mut CertificateParams,
    crl_urls: &[String],
    ocsp_urls: &[String],
) -> Result<(), GenerateError> {
    for url in crl_urls.iter().chain(ocsp_urls) {
        super::ia5("URL", url)?;
    }
    if !crl_urls.is_empty() {
        params.crl_distribution_points = vec![CrlDistributionPoint {
            uris: crl_urls.to_vec(),
        }];
    }
    if !ocsp_urls.is_empty() {
        params.custom_extensions.push(aia_ocsp(ocsp_urls));
    }
    Ok(())
}

/// id-pe-authorityInfoAccess (1.3.6.1.5.5.7.1.1) with one id-ad-ocsp
/// (1.3.6.1.5.5.7.48.1) AccessDescription per URL (a uniformResourceIdentifier).
fn aia_ocsp(urls: &[String]) -> CustomExtension {
    const ID_AD_OCSP: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01];
    let mut descriptions = Vec::new();
    for url in urls {
        let mut desc = tlv(0x06, ID_AD_OCSP);
        desc.extend(tlv(0x86, url.as_bytes()));
        descriptions.extend(tlv(0x30, &desc));
    }
    CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 1], tlv(0x30, &descriptions))
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}
