//! Why a forwarded certificate header was refused, and where in it: the
//! header ([`Field`]), the spot inside it ([`Place`]: XFCC element and key,
//! list member, certificate number) and what was wrong ([`Problem`]), so a
//! log line reads like "x-forwarded-client-cert header (format `envoy-xfcc`),
//! element 2, Cert value: ...".

use std::fmt;

use super::HeaderFormat;

/// Which header value failed to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// A value given to [`decode`](super::decode) for this format.
    Value(HeaderFormat),
    /// A value given to [`decode_rfc9440_chain`](super::decode_rfc9440_chain).
    Rfc9440Chain,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Value(format) => write!(f, "{} header (format `{format}`)", format.describe()),
            Field::Rfc9440Chain => f.write_str("Client-Cert-Chain header (format `rfc9440`)"),
        }
    }
}

/// Where in a header value a problem was found; empty for the whole value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Place {
    /// 1-based element of an `x-forwarded-client-cert` value.
    pub element: Option<usize>,
    /// The XFCC key whose value failed: `Cert` or `Chain`.
    pub key: Option<&'static str>,
    /// 1-based member of an RFC 9440 `Client-Cert-Chain` list.
    pub member: Option<usize>,
    /// 1-based certificate within the value.
    pub certificate: Option<usize>,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = self.element {
            write!(f, ", element {n}")?;
        }
        if let Some(key) = self.key {
            write!(f, ", {key} value")?;
        }
        if let Some(n) = self.member {
            write!(f, ", list member {n}")?;
        }
        if let Some(n) = self.certificate {
            write!(f, ", certificate {n}")?;
        }
        Ok(())
    }
}

/// What was wrong with (part of) a header value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error(
        "`{found}` at byte {offset} is not a percent escape (`%` must be followed by two hex digits), so this is not the URL-encoding the format expects"
    )]
    BadPercentEscape { offset: usize, found: String },
    #[error(
        "not PEM: expected `-----BEGIN CERTIFICATE-----` at byte {offset} (after URL-decoding); check that `format` matches what the proxy sends"
    )]
    NotPem { offset: usize },
    #[error("no certificate in it")]
    NoCertificate,
    #[error(
        "a private key (`{label}`), not a certificate: a proxy forwards only certificates, so the proxy is misconfigured or the value forged; treat that key as exposed"
    )]
    PrivateKey { label: String },
    #[error("a `{label}` PEM block, not a certificate")]
    NotCertificate { label: String },
    #[error("the `-----BEGIN {label}-----` block has no matching `-----END {label}-----`")]
    Unterminated { label: String },
    #[error("not valid base64 ({reason})")]
    Base64 { reason: String },
    #[error("not an X.509 certificate ({reason})")]
    NotX509 { reason: String },
    #[error("{count} bytes follow the certificate")]
    TrailingBytes { count: usize },
    #[error("empty")]
    Empty,
    #[error(
        "{count} certificates, but this header carries only the client's own certificate; if the proxy sends the chain, use a chain format (aws-alb, envoy-xfcc, traefik, pem)"
    )]
    OnlyLeaf { count: usize },
    #[error("more than the {max} certificates accepted in one header")]
    TooManyCertificates { max: usize },
    #[error(
        "not an RFC 8941 byte sequence: RFC 9440 wants `:base64-DER:` with the colons (for plain base64 use format `base64-der`)"
    )]
    NotByteSequence,
    #[error("not a valid structured field: {reason} at byte {offset}")]
    StructuredField { offset: usize, reason: &'static str },
    #[error("not a valid x-forwarded-client-cert value: {reason} at byte {offset}")]
    Xfcc { offset: usize, reason: &'static str },
    #[error(
        "no Cert or Chain key: configure Envoy with `set_current_client_cert_details: {{ cert: true, chain: true }}`"
    )]
    XfccNoCert,
    #[error("the {key} key appears twice; refusing the ambiguous element")]
    XfccDuplicateKey { key: &'static str },
    #[error("Cert is not the first certificate of Chain; refusing the inconsistent element")]
    XfccLeafMismatch,
}

/// Why a forwarded client-certificate header value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForwardedError {
    #[error(
        "{field}: the value is {len} bytes, more than the {max} accepted; check that the proxy forwards only the client's certificate chain"
    )]
    TooLarge {
        field: Field,
        len: usize,
        max: usize,
    },
    #[error("{field}{place}: {problem}")]
    Malformed {
        field: Field,
        place: Place,
        problem: Problem,
    },
}
