//! The certificate readers shared by the header formats: strict PEM (only
//! `CERTIFICATE` blocks and whitespace), one base64 DER certificate, and the
//! X.509 check every returned certificate passes.
//!
//! These are stricter than [`crate::bundle`], which reads files people paste
//! (text around blocks, keys beside certificates). A header is written by a
//! program, so anything but certificates in it means a misconfigured proxy or
//! a forged value, and is refused.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rustls_pki_types::CertificateDer;

use super::{MAX_FORWARDED_CERTIFICATES, Problem};
use crate::CertDer;
use crate::bundle::describe_x509_error;

const BEGIN: &[u8] = b"-----BEGIN";
const END: &[u8] = b"-----END";
const DASHES: &[u8] = b"-----";

/// Reads one or more `CERTIFICATE` PEM blocks separated by whitespace. Line
/// breaks may be newlines, CRLF, spaces or tabs (Apache replaces newlines
/// with spaces). In the armor lines a `+` counts as a space, as Go's
/// `url.QueryEscape` writes one; the base64 is read exactly.
///
/// On error, returns the 1-based number of the certificate that failed.
pub(super) fn pem_certificates(text: &[u8]) -> Result<Vec<CertDer>, (Option<usize>, Problem)> {
    let mut certs = Vec::new();
    let mut pos = skip_whitespace(text, 0);
    while pos < text.len() {
        let index = certs.len() + 1;
        if index > MAX_FORWARDED_CERTIFICATES {
            return Err((
                None,
                Problem::TooManyCertificates {
                    max: MAX_FORWARDED_CERTIFICATES,
                },
            ));
        }
        let Some(label_start) = armor(text, pos, BEGIN) else {
            return Err((None, Problem::NotPem { offset: pos }));
        };
        let line_end = text[label_start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |i| label_start + i);
        let Some(label_len) = find(&text[label_start..line_end], DASHES) else {
            return Err((None, Problem::NotPem { offset: pos }));
        };
        let label = armor_label(&text[label_start..label_start + label_len]);
        if label != "CERTIFICATE" {
            let problem = if label.ends_with("PRIVATE KEY") {
                Problem::PrivateKey { label }
            } else {
                Problem::NotCertificate { label }
            };
            return Err((Some(index), problem));
        }
        let body_start = label_start + label_len + DASHES.len();
        let end = find(&text[body_start..], END)
            .map(|i| body_start + i)
            .and_then(|end| {
                let label_at = armor(text, end, END)?;
                let closing = label_at + label.len();
                let matches = text.get(label_at..closing).map(armor_label).as_deref()
                    == Some(label.as_str())
                    && text.get(closing..closing + DASHES.len()) == Some(DASHES);
                matches.then_some((end, closing + DASHES.len()))
            });
        let Some((body_end, next)) = end else {
            return Err((Some(index), Problem::Unterminated { label }));
        };
        let body: Vec<u8> = text[body_start..body_end]
            .iter()
            .copied()
            .filter(|b| !is_whitespace(*b))
            .collect();
        let der = STANDARD.decode(&body).map_err(|e| {
            (
                Some(index),
                Problem::Base64 {
                    reason: e.to_string(),
                },
            )
        })?;
        certs.push(der_certificate(der).map_err(|p| (Some(index), p))?);
        pos = skip_whitespace(text, next);
    }
    if certs.is_empty() {
        return Err((None, Problem::NoCertificate));
    }
    Ok(certs)
}

/// One standard base64 (with padding) DER certificate, nothing around it.
pub(super) fn base64_certificate(text: &str) -> Result<CertDer, Problem> {
    if text.is_empty() {
        return Err(Problem::Empty);
    }
    let der = STANDARD.decode(text).map_err(|e| Problem::Base64 {
        reason: e.to_string(),
    })?;
    der_certificate(der)
}

/// Accepts `der` only if it is exactly one X.509 certificate.
pub(super) fn der_certificate(der: Vec<u8>) -> Result<CertDer, Problem> {
    // x509-parser does not check the class and form bits of the outer tag,
    // so it would accept e.g. 0x10 or 0x50 where a certificate has its
    // SEQUENCE (0x30); webpki and every TLS stack refuse those.
    if der.first() != Some(&0x30) {
        return Err(Problem::NotX509 {
            reason: "it does not start with a DER SEQUENCE".to_owned(),
        });
    }
    match x509_parser::parse_x509_certificate(&der) {
        Ok(([], _)) => Ok(CertificateDer::from(der)),
        Ok((rest, _)) => Err(Problem::TrailingBytes { count: rest.len() }),
        Err(e) => Err(Problem::NotX509 {
            reason: describe_x509_error(&e),
        }),
    }
}

/// PEM as OpenSSL's `PEM_write_bio_X509` and Go's `pem.Encode` write it:
/// 64-character lines, each ending in `\n`.
pub(super) fn to_pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 60);
    out.push_str("-----BEGIN CERTIFICATE-----\n");
    let mut rest = b64.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// The PEM of every certificate, concatenated.
pub(super) fn chain_pem(chain: &[CertDer]) -> String {
    chain.iter().map(|c| to_pem(c)).collect()
}

/// If `text[pos..]` starts with `marker` followed by a space (or a `+`),
/// the position after that separator.
fn armor(text: &[u8], pos: usize, marker: &[u8]) -> Option<usize> {
    let rest = text.get(pos..)?;
    if rest.starts_with(marker) && matches!(rest.get(marker.len()), Some(b' ' | b'+')) {
        Some(pos + marker.len() + 1)
    } else {
        None
    }
}

/// An armor label with `+` read as a space, for display and comparison.
fn armor_label(raw: &[u8]) -> String {
    let shown = &raw[..raw.len().min(60)];
    String::from_utf8_lossy(shown).replace('+', " ")
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn skip_whitespace(text: &[u8], mut pos: usize) -> usize {
    while text.get(pos).is_some_and(|&b| is_whitespace(b)) {
        pos += 1;
    }
    pos
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
