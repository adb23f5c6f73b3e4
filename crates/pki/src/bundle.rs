//! Reading certificates out of what users actually have: one PEM file with
//! several certificates, a DER file, a PEM pasted with text around it, or the
//! wrong file altogether (a private key, a CSR, a PKCS#7 bundle). The errors
//! say which it was and what to do, and name the block that failed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rustls_pki_types::CertificateDer;

use crate::CertDer;

/// Largest input accepted, far above any real certificate bundle (a CA bundle
/// of every public root is ~250 KiB).
pub const MAX_BUNDLE_BYTES: usize = 8 * 1024 * 1024;

/// Why bytes did not yield certificates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("the input is empty: expected a PEM or DER certificate")]
    Empty,
    #[error(
        "the input is {size} bytes, more than the {MAX_BUNDLE_BYTES} accepted for a certificate bundle"
    )]
    TooLarge { size: usize },
    #[error(
        "this is a private key ({label}), not a certificate: pass it with --key, and give the certificate file as CERT"
    )]
    PrivateKey { label: String },
    #[error(
        "this is a certificate signing request ({label}), not a certificate: have it signed, e.g. `openssl x509 -req -in req.csr -CA ca.crt -CAkey ca.key`"
    )]
    Csr { label: String },
    #[error("this is a public key ({label}), not a certificate")]
    PublicKey { label: String },
    #[error("this is a certificate revocation list ({label}), not a certificate")]
    Crl { label: String },
    #[error(
        "this is a PKCS#7 bundle ({label}): convert it with `openssl pkcs7 -print_certs -in FILE -out certs.pem`"
    )]
    Pkcs7 { label: String },
    #[error("no certificate found: the PEM blocks here are {labels}")]
    NoCertificate { labels: String },
    #[error(
        "block {index} (\"{label}\", line {line}) has no matching `-----END {label}-----` line"
    )]
    Unterminated {
        index: usize,
        label: String,
        line: usize,
    },
    #[error("block {index} (\"{label}\", line {line}) is not valid base64: {reason}")]
    BadBase64 {
        index: usize,
        label: String,
        line: usize,
        reason: String,
    },
    #[error(
        "block {index} (certificate at line {line}) is not a valid X.509 certificate: {reason}"
    )]
    BadCertificate {
        index: usize,
        line: usize,
        reason: String,
    },
    #[error(
        "this is DER data but not an X.509 certificate ({reason}); if it is a key, pass it with --key"
    )]
    BadDer { reason: String },
    #[error(
        "this is neither PEM (no `-----BEGIN CERTIFICATE-----` line) nor DER: check that you gave the certificate file"
    )]
    NotCertificate,
}

/// One `-----BEGIN X----- ... -----END X-----` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemBlock {
    /// 1-based position among the blocks of the input.
    pub index: usize,
    /// The label between `BEGIN ` and `-----`.
    pub label: String,
    /// 1-based line of the BEGIN line.
    pub line: usize,
    /// Whether RFC 1421 headers (such as `Proc-Type: 4,ENCRYPTED`) preceded the body.
    pub encrypted_header: bool,
    /// The decoded body.
    pub der: Vec<u8>,
}

const BEGIN: &[u8] = b"-----BEGIN ";
const DASHES: &[u8] = b"-----";

/// Split text into PEM blocks, decoding each body. Text outside blocks (the
/// `openssl x509 -text` dump, `Bag Attributes`, comments) is ignored.
pub fn pem_blocks(input: &[u8]) -> Result<Vec<PemBlock>, BundleError> {
    let mut blocks = Vec::new();
    let mut pos = 0;
    // Line number of `pos`, advanced as we go so the whole scan stays linear.
    let mut line_at_pos = 1;
    while let Some(start) = find(&input[pos..], BEGIN).map(|i| i + pos) {
        let line = line_at_pos + count_lines(&input[pos..start]);
        let index = blocks.len() + 1;
        let label_start = start + BEGIN.len();
        let line_end = find(&input[label_start..], b"\n").map_or(input.len(), |i| i + label_start);
        let Some(label_end) = find(&input[label_start..line_end], DASHES).map(|i| i + label_start)
        else {
            return Err(BundleError::Unterminated {
                index,
                label: lossy(&input[label_start..line_end.min(label_start + 40)])
                    .trim()
                    .to_string(),
                line,
            });
        };
        let label = lossy(&input[label_start..label_end]);
        let body_start = label_end + DASHES.len();
        let end_marker = format!("-----END {label}-----");
        let Some(body_end) =
            find(&input[body_start..], end_marker.as_bytes()).map(|i| i + body_start)
        else {
            return Err(BundleError::Unterminated { index, label, line });
        };
        let (encrypted_header, der) =
            decode_body(&input[body_start..body_end]).map_err(|reason| BundleError::BadBase64 {
                index,
                label: label.clone(),
                line,
                reason,
            })?;
        blocks.push(PemBlock {
            index,
            label,
            line,
            encrypted_header,
            der,
        });
        let next = body_end + end_marker.len();
        line_at_pos = line + count_lines(&input[start..next]);
        pos = next;
    }
    Ok(blocks)
}

fn count_lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// Decode a PEM body: skip RFC 1421 headers (lines with `:` before the first
/// blank line), then base64 with any whitespace. Lines may carry e-mail quote
/// prefixes (`> `, `>> `, `> > `): PEM pasted from a reply is read as sent.
fn decode_body(body: &[u8]) -> Result<(bool, Vec<u8>), String> {
    let text =
        std::str::from_utf8(body).map_err(|_| "it holds bytes that are not text".to_string())?;
    let mut encrypted = false;
    let mut b64 = String::with_capacity(text.len());
    let mut in_headers = true;
    for raw_line in text.lines() {
        // `>` is not in the base64 alphabet, so a leading one is only a quote mark.
        let line = raw_line
            .trim_start_matches(|c: char| c == '>' || c.is_whitespace())
            .trim();
        if in_headers {
            if line.contains(':') {
                if line.starts_with("Proc-Type:") && line.contains("ENCRYPTED") {
                    encrypted = true;
                }
                continue;
            }
            if !line.is_empty() {
                in_headers = false;
            }
        }
        b64.extend(line.chars().filter(|c| !c.is_whitespace()));
    }
    if b64.is_empty() {
        return Err("the block is empty".to_string());
    }
    STANDARD
        .decode(b64.as_bytes())
        .map(|der| (encrypted, der))
        .map_err(|e| e.to_string())
}

/// Certificates from PEM (any number, in order) or DER (one certificate).
///
/// Every certificate returned has been parsed as X.509, so later steps can
/// rely on it. A PEM input holding keys or CSRs besides certificates yields the
/// certificates; one holding no certificate is an error saying what it holds.
pub fn parse_certificates(input: &[u8]) -> Result<Vec<CertDer>, BundleError> {
    if input.len() > MAX_BUNDLE_BYTES {
        return Err(BundleError::TooLarge { size: input.len() });
    }
    if input.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(BundleError::Empty);
    }
    if find(input, BEGIN).is_none() {
        return parse_der(input);
    }
    let blocks = pem_blocks(input)?;
    let mut certs = Vec::new();
    for block in &blocks {
        if is_certificate_label(&block.label) {
            check_certificate(&block.der, block.label == "TRUSTED CERTIFICATE").map_err(
                |reason| BundleError::BadCertificate {
                    index: block.index,
                    line: block.line,
                    reason,
                },
            )?;
            let der = if block.label == "TRUSTED CERTIFICATE" {
                // OpenSSL appends trust settings after the certificate: keep the certificate.
                certificate_prefix(&block.der).to_vec()
            } else {
                block.der.clone()
            };
            certs.push(CertificateDer::from(der));
        }
    }
    if certs.is_empty() {
        return Err(classify_non_certificate(&blocks));
    }
    Ok(certs)
}

fn parse_der(input: &[u8]) -> Result<Vec<CertDer>, BundleError> {
    if input.first() != Some(&0x30) {
        return Err(BundleError::NotCertificate);
    }
    match x509_parser::parse_x509_certificate(input) {
        Ok(([], _)) => Ok(vec![CertificateDer::from(input.to_vec())]),
        Ok((rest, _)) => Err(BundleError::BadDer {
            reason: format!("{} bytes follow the certificate", rest.len()),
        }),
        Err(e) => Err(BundleError::BadDer {
            reason: describe_x509_error(&e),
        }),
    }
}

fn is_certificate_label(label: &str) -> bool {
    matches!(
        label,
        "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE"
    )
}

fn check_certificate(der: &[u8], trailing_allowed: bool) -> Result<(), String> {
    // x509-parser ignores the class and form bits of the outer tag; DER demands a SEQUENCE.
    if der.first() != Some(&0x30) {
        return Err("it does not start with a DER SEQUENCE".into());
    }
    match x509_parser::parse_x509_certificate(der) {
        Ok((rest, _)) if rest.is_empty() || trailing_allowed => Ok(()),
        Ok((rest, _)) => Err(format!("{} bytes follow the certificate", rest.len())),
        Err(e) => Err(describe_x509_error(&e)),
    }
}

/// The bytes of the outer DER SEQUENCE at the start of `der`.
fn certificate_prefix(der: &[u8]) -> &[u8] {
    match x509_parser::parse_x509_certificate(der) {
        Ok((rest, _)) => &der[..der.len() - rest.len()],
        Err(_) => der,
    }
}

fn classify_non_certificate(blocks: &[PemBlock]) -> BundleError {
    let Some(first) = blocks.first() else {
        return BundleError::NotCertificate;
    };
    let label = first.label.clone();
    match label.as_str() {
        l if l.ends_with("PRIVATE KEY") => BundleError::PrivateKey { label },
        "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => BundleError::Csr { label },
        "PUBLIC KEY" | "RSA PUBLIC KEY" => BundleError::PublicKey { label },
        "X509 CRL" => BundleError::Crl { label },
        "PKCS7" | "CMS" => BundleError::Pkcs7 { label },
        _ => BundleError::NoCertificate {
            labels: blocks
                .iter()
                .map(|b| format!("\"{}\"", b.label))
                .collect::<Vec<_>>()
                .join(", "),
        },
    }
}

/// A short reason from an x509-parser error, without Rust debug syntax.
pub(crate) fn describe_x509_error(
    e: &x509_parser::nom::Err<x509_parser::error::X509Error>,
) -> String {
    match e {
        x509_parser::nom::Err::Incomplete(_) => {
            "the data ends before the certificate does".to_string()
        }
        x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e) => e.to_string(),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests;
