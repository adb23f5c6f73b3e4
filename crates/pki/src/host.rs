//! Does the certificate name the host a client connects to? Decided by
//! rustls-webpki (RFC 6125: SAN dNSName with a left-most wildcard label, or
//! iPAddress), the rule every modern client applies; the common name is looked
//! at only to explain why it does not count.

use rustls_pki_types::ServerName;
use webpki::EndEntityCert;

use crate::inspect::CertInfo;

/// The answer for one host name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostVerdict {
    /// A SAN covers the host.
    Match,
    /// Only the subject CN names the host; clients ignore it.
    CommonNameOnly { cn: String },
    /// Nothing names the host.
    NoMatch { sans: Vec<String> },
    /// The host is not a valid DNS name or IP address.
    InvalidHost { reason: String },
}

/// Check `host` against the certificate.
pub fn check_host(cert_der: &[u8], info: &CertInfo, host: &str) -> HostVerdict {
    let host = host.trim();
    let name = match ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']')) {
        Ok(name) => name.to_owned(),
        Err(e) => {
            return HostVerdict::InvalidHost {
                reason: e.to_string(),
            };
        }
    };
    let der = rustls_pki_types::CertificateDer::from(cert_der);
    // A certificate webpki cannot read (an odd critical extension) is
    // matched by its SANs here, so that the host is judged for what it is.
    let matched = EndEntityCert::try_from(&der).map_or_else(
        |_| san_matches(info, host),
        |ee| ee.verify_is_valid_for_subject_name(&name).is_ok(),
    );
    if matched {
        return HostVerdict::Match;
    }
    if let Some(cn) = info
        .common_names
        .iter()
        .find(|cn| cn.eq_ignore_ascii_case(host.trim_end_matches('.')))
    {
        return HostVerdict::CommonNameOnly { cn: cn.clone() };
    }
    HostVerdict::NoMatch {
        sans: info
            .subject_alt_names
            .iter()
            .map(|s| s.to_string())
            .collect(),
    }
}

/// RFC 6125 matching of `host` against the SANs alone: a dNSName equal to
/// it (without case) or a wildcard standing for its whole leftmost label, or
/// an iPAddress equal to it.
fn san_matches(info: &CertInfo, host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return info
            .subject_alt_names
            .iter()
            .any(|s| matches!(s, crate::inspect::SanEntry::Ip(a) if *a == ip));
    }
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    info.subject_alt_names.iter().any(|s| {
        let crate::inspect::SanEntry::Dns(d) = s else {
            return false;
        };
        let d = d.trim_end_matches('.').to_ascii_lowercase();
        match d.strip_prefix("*.") {
            Some(rest) => host
                .split_once('.')
                .is_some_and(|(label, tail)| !label.is_empty() && tail == rest),
            None => d == host,
        }
    })
}
