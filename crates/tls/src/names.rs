//! The client-certificate exchange explained: which CA names the server said
//! it accepts (the `certificate_authorities` of its CertificateRequest),
//! whether a certificate went back, and whether the chain sent comes from
//! one of those CAs. A chain whose issuer is not among the names is the
//! most common reason for `unknown_ca`, and it can be seen before the alert.

use certbound_pki::CertInfo;
use certbound_pki::time_fmt::date;
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

use crate::report::{ClientAuthReport, ClientCertSummary};
use crate::trace::Trace;

/// The client-authentication part of the report. `client_went_on`: the
/// client did not abort the handshake itself (a TLS 1.3 client that refuses
/// the server's certificate sends an encrypted alert, not its certificate).
pub(crate) fn client_auth(
    trace: &Trace,
    chain: Option<&[CertInfo]>,
    client_went_on: bool,
) -> ClientAuthReport {
    let leaf = chain.and_then(<[CertInfo]>::first);
    let mut report = ClientAuthReport {
        requested: trace.cert_request.is_some(),
        certificate_configured: leaf.is_some(),
        certificate: leaf.map(|l| ClientCertSummary {
            subject: l.subject.clone(),
            issuer: l.issuer.clone(),
            chain_length: chain.map_or(1, <[CertInfo]>::len),
            not_after: l.not_after,
            x5t_s256: l.x5t_s256.clone(),
        }),
        ..ClientAuthReport::default()
    };
    let Some(request) = &trace.cert_request else {
        if leaf.is_some()
            && !trace.server_chain.is_empty()
            && trace
                .verification
                .as_ref()
                .is_some_and(|v| v.ok || !v.enforced)
        {
            report.note = Some(
                "the server did not ask for a client certificate, so yours was not sent".into(),
            );
        }
        return report;
    };
    // Sent: the Certificate message left, not merely chosen to be sent.
    let left = trace.client_certificate_left(client_went_on);
    report.certificate_sent = request.sent && left;
    let hints: Vec<Vec<u8>> = request.hints.iter().map(|h| in_sequence(h)).collect();
    report.acceptable_ca_names = hints.iter().map(|h| display(h)).collect();
    report.note = match (leaf, request.sent) {
        (None, _) => Some(
            "the server asked for a client certificate and none is configured: pass --cert and --key".into(),
        ),
        (Some(_), false) => Some(format!(
            "the server asked for a client certificate, but it accepts no signature scheme your key can make (it accepts {})",
            request.schemes.join(", ")
        )),
        (Some(leaf), true) if !hints.is_empty() => {
            let chain = chain.unwrap_or_default();
            // The first certificate of the chain whose issuer (or itself) is named.
            let named = chain.iter().find_map(|c| {
                if hints.contains(&c.issuer_raw) {
                    Some(c.issuer_display_name())
                } else if hints.contains(&c.subject_raw) {
                    Some(c.display_name())
                } else {
                    None
                }
            });
            report.issuer_acceptable = Some(named.is_some());
            Some(if let Some(ca) = named {
                if ca == leaf.issuer_display_name() {
                    format!("your certificate's issuer '{ca}' is among the CA names the server accepts")
                } else {
                    format!(
                        "your chain leads to '{ca}' (via '{}'), which is among the CA names the server accepts",
                        leaf.issuer_display_name()
                    )
                }
            } else {
                format!(
                    "your certificate was issued by '{}', which is not among the CA names the server accepts: expect unknown_ca, unless a missing intermediate links them",
                    leaf.issuer_display_name()
                )
            })
        }
        (Some(leaf), true) => Some(format!(
            "the server named no CAs; '{}' (valid until {}) was sent",
            leaf.display_name(),
            date(leaf.not_after)
        )),
    };
    if request.sent && !left {
        report.note = Some(match report.note.take() {
            Some(n) => format!(
                "the handshake stopped before your certificate was sent (it was chosen to be); {n}"
            ),
            None => "the handshake stopped before your certificate was sent (it was chosen to be)"
                .to_string(),
        });
    }
    report
}

/// A distinguished name as DER with its outer SEQUENCE (servers send it so;
/// a bare RDN sequence is wrapped).
fn in_sequence(dn: &[u8]) -> Vec<u8> {
    if dn.first() == Some(&0x30) {
        return dn.to_vec();
    }
    let len = dn.len();
    let mut out = vec![0x30];
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(dn);
    out
}

/// "CN=Example CA, O=Example", or a note when it cannot be decoded.
fn display(dn: &[u8]) -> String {
    match X509Name::from_der(dn) {
        Ok((_, name)) => match name.to_string_with_registry(x509_parser::objects::oid_registry()) {
            Ok(s) if !s.is_empty() => s,
            Ok(_) => "(an empty name)".into(),
            Err(_) => "(a name that cannot be decoded)".into(),
        },
        Err(_) => "(a name that cannot be decoded)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_decoded_with_or_without_the_outer_sequence() {
        let pki = certbound_testkit::TestPki::new();
        let info = CertInfo::from_der(&pki.root.cert).unwrap();
        let full = info.subject_raw.clone();
        assert_eq!(full[0], 0x30);
        assert_eq!(display(&full), info.subject);
        // Strip the SEQUENCE header (short or long form) and wrap again.
        let header = if full[1] < 0x80 {
            2
        } else {
            2 + usize::from(full[1] & 0x7f)
        };
        assert_eq!(in_sequence(&full[header..]), full);
        // Garbage from a server yields some text, never a panic.
        assert!(!display(b"\x30\x80").is_empty());
        assert!(!display(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_empty());
    }
}
