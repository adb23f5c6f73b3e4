//! Client certificates forwarded in an HTTP header by a TLS-terminating proxy.
//!
//! When a load balancer or reverse proxy terminates TLS, the application no
//! longer sees the client's certificate; the proxy passes it on in a request
//! header instead, and every proxy encodes it its own way. This module turns
//! such a header value back into the certificate chain, exactly as each proxy
//! writes it, and encodes a chain the same way (for golden tests, and for the
//! RFC 9440 headers the gateway sends upstream).
//!
//! | format         | written by                                                     | carries |
//! | -------------- | -------------------------------------------------------------- | ------- |
//! | `aws-alb`      | AWS ALB mTLS passthrough, `x-amzn-mtls-clientcert`             | chain   |
//! | `aws-alb-leaf` | AWS ALB mTLS verify, `x-amzn-mtls-clientcert-leaf`             | leaf    |
//! | `nginx`        | nginx `$ssl_client_escaped_cert`                               | leaf    |
//! | `rfc9440`      | RFC 9440 `Client-Cert` (see [`decode_rfc9440_chain`])          | leaf    |
//! | `envoy-xfcc`   | Envoy `x-forwarded-client-cert`, `Cert=` / `Chain=`            | chain   |
//! | `traefik`      | Traefik `passTLSClientCert` `pem: true`                        | chain   |
//! | `base64-der`   | HAProxy `%[ssl_c_der,base64]`, Caddy `certificate_der_base64`  | leaf    |
//! | `pem`          | Apache `%{SSL_CLIENT_CERT}s` (newlines become spaces)          | chain   |
//!
//! Decoding rules, the same for every format:
//! - A value longer than [`MAX_HEADER_VALUE_BYTES`] is refused before any
//!   decoding; at most [`MAX_FORWARDED_CERTIFICATES`] certificates are read.
//! - An empty value, or the proxy's documented "no certificate" marker, is
//!   `Ok(None)`: Apache sends `(null)`; HAProxy sends `-` with the `+M` option
//!   and `""` with `+Q`; Caddy leaves its placeholder unreplaced
//!   (`{http.request.tls.client.certificate_der_base64}`); the others send
//!   nothing or an empty value.
//! - Percent-decoding is byte-exact: `+` stays `+`, and a `%` without two hex
//!   digits is an error. (A form decoder would turn the `+` of ALB's base64
//!   into a space and corrupt the certificate.)
//! - PEM must hold only `CERTIFICATE` blocks and whitespace; a private key or
//!   any other text is an error. Every certificate returned was parsed as
//!   X.509 with nothing after it.
//! - Formats that carry only the leaf refuse a value holding several
//!   certificates, so a wrong `format` shows up as an error, not as a chain
//!   silently cut short.
//!
//! What this module does not do: decide whom to believe. A forwarded header
//! is trustworthy only from a configured proxy that strips any incoming copy,
//! and proof of possession of the key is then the proxy's job; the server
//! checks the peer address before calling [`decode`].
//!
//! Envoy writes the `URI=` and `DNS=` values of the client certificate's SANs
//! into XFCC unquoted and unescaped, so a certificate whose SAN holds
//! `,Cert="..."` can append a fake element after the real one. Configure Envoy
//! with `set_current_client_cert_details` `cert` and `chain` only (no `uri`,
//! no `dns`) in front of certbound.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::CertDer;

mod certs;
mod error;
mod percent;
mod sf;
mod xfcc;

pub use error::{Field, ForwardedError, Place, Problem};

/// Largest header value accepted, checked before decoding. A chain of three
/// RSA-4096 certificates, URL-encoded, is about 8 KiB; proxies cap a request
/// header section at 8 to 64 KiB.
pub const MAX_HEADER_VALUE_BYTES: usize = 64 * 1024;

/// Most certificates read from one header value; real chains have 2 to 4.
pub const MAX_FORWARDED_CERTIFICATES: usize = 16;

/// What Apache `mod_headers` writes for `%{SSL_CLIENT_CERT}s` when there is no
/// client certificate.
pub const APACHE_NO_CERTIFICATE: &str = "(null)";

/// What Caddy (since its `header_up` replaces only known placeholders) sends
/// when there is no client certificate: the placeholder itself.
pub const CADDY_NO_CERTIFICATE: &str = "{http.request.tls.client.certificate_der_base64}";

/// How a proxy encodes the client certificate in its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeaderFormat {
    /// AWS ALB passthrough `x-amzn-mtls-clientcert`: URL-encoded PEM chain,
    /// leaf first, `+`, `=` and `/` left unescaped.
    AwsAlb,
    /// AWS ALB verify mode `x-amzn-mtls-clientcert-leaf`: the leaf alone,
    /// encoded as [`HeaderFormat::AwsAlb`].
    AwsAlbLeaf,
    /// nginx `$ssl_client_escaped_cert`: URL-encoded PEM of the leaf.
    Nginx,
    /// RFC 9440 `Client-Cert`: `:base64-DER:`, an RFC 8941 byte sequence.
    Rfc9440,
    /// Envoy `x-forwarded-client-cert`: `Cert=`/`Chain=` of the last element.
    EnvoyXfcc,
    /// Traefik `X-Forwarded-Tls-Client-Cert`: comma-separated base64 DER,
    /// leaf first (before v2.9.4 each one URL-escaped).
    Traefik,
    /// One base64 DER certificate (HAProxy, Caddy).
    Base64Der,
    /// PEM, raw, with newlines turned into spaces or tabs (Apache), or
    /// URL-escaped.
    Pem,
}

impl HeaderFormat {
    /// Every format, in documentation order.
    pub const ALL: [HeaderFormat; 8] = [
        HeaderFormat::AwsAlb,
        HeaderFormat::AwsAlbLeaf,
        HeaderFormat::Nginx,
        HeaderFormat::Rfc9440,
        HeaderFormat::EnvoyXfcc,
        HeaderFormat::Traefik,
        HeaderFormat::Base64Der,
        HeaderFormat::Pem,
    ];

    /// The name used in configuration.
    pub const fn name(self) -> &'static str {
        match self {
            HeaderFormat::AwsAlb => "aws-alb",
            HeaderFormat::AwsAlbLeaf => "aws-alb-leaf",
            HeaderFormat::Nginx => "nginx",
            HeaderFormat::Rfc9440 => "rfc9440",
            HeaderFormat::EnvoyXfcc => "envoy-xfcc",
            HeaderFormat::Traefik => "traefik",
            HeaderFormat::Base64Der => "base64-der",
            HeaderFormat::Pem => "pem",
        }
    }

    /// The header the proxy uses when its name is fixed; `None` when the
    /// operator chooses it in the proxy's configuration.
    pub const fn default_header_name(self) -> Option<&'static str> {
        match self {
            HeaderFormat::AwsAlb => Some("x-amzn-mtls-clientcert"),
            HeaderFormat::AwsAlbLeaf => Some("x-amzn-mtls-clientcert-leaf"),
            HeaderFormat::Rfc9440 => Some("client-cert"),
            HeaderFormat::EnvoyXfcc => Some("x-forwarded-client-cert"),
            HeaderFormat::Traefik => Some("x-forwarded-tls-client-cert"),
            HeaderFormat::Nginx | HeaderFormat::Base64Der | HeaderFormat::Pem => None,
        }
    }

    /// Whether the header can carry intermediates after the leaf.
    pub const fn carries_chain(self) -> bool {
        matches!(
            self,
            HeaderFormat::AwsAlb
                | HeaderFormat::EnvoyXfcc
                | HeaderFormat::Traefik
                | HeaderFormat::Pem
        )
    }

    /// How a value of this format is named in messages.
    const fn describe(self) -> &'static str {
        match self {
            HeaderFormat::AwsAlb => "x-amzn-mtls-clientcert",
            HeaderFormat::AwsAlbLeaf => "x-amzn-mtls-clientcert-leaf",
            HeaderFormat::Nginx => "nginx $ssl_client_escaped_cert",
            HeaderFormat::Rfc9440 => "Client-Cert",
            HeaderFormat::EnvoyXfcc => "x-forwarded-client-cert",
            HeaderFormat::Traefik => "X-Forwarded-Tls-Client-Cert",
            HeaderFormat::Base64Der => "base64 DER",
            HeaderFormat::Pem => "PEM",
        }
    }
}

impl fmt::Display for HeaderFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format name that is not one of [`HeaderFormat::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown client certificate header format `{name}`: use one of aws-alb, aws-alb-leaf, nginx, rfc9440, envoy-xfcc, traefik, base64-der, pem"
)]
pub struct UnknownHeaderFormat {
    /// The name given.
    pub name: String,
}

impl FromStr for HeaderFormat {
    type Err = UnknownHeaderFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HeaderFormat::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownHeaderFormat {
                name: s.chars().take(64).collect(),
            })
    }
}

impl<'de> serde::Deserialize<'de> for HeaderFormat {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = Cow::<'de, str>::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for HeaderFormat {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// Decodes a forwarded client-certificate header value into the chain, leaf
/// first. `Ok(None)` means the proxy says there was no client certificate.
pub fn decode(format: HeaderFormat, value: &str) -> Result<Option<Vec<CertDer>>, ForwardedError> {
    let field = Field::Value(format);
    check_size(field, value)?;
    let value = trim_ows(value);
    if means_no_certificate(format, value) {
        return Ok(None);
    }
    let whole = |problem| (Place::default(), problem);
    let certs = match format {
        HeaderFormat::AwsAlb | HeaderFormat::Pem => url_encoded_pem(value),
        HeaderFormat::AwsAlbLeaf | HeaderFormat::Nginx => {
            url_encoded_pem(value).and_then(only_leaf)
        }
        HeaderFormat::Rfc9440 => sf::parse_item(value)
            .and_then(certs::der_certificate)
            .map(|cert| vec![cert])
            .map_err(whole),
        HeaderFormat::EnvoyXfcc => xfcc::decode(value),
        HeaderFormat::Traefik => traefik(value),
        HeaderFormat::Base64Der => certs::base64_certificate(unquote(value))
            .map(|cert| vec![cert])
            .map_err(whole),
    };
    certs
        .map(Some)
        .map_err(|(place, problem)| ForwardedError::Malformed {
            field,
            place,
            problem,
        })
}

/// Decodes an RFC 9440 `Client-Cert-Chain` value: the certificates after the
/// leaf, in TLS order. A request may split the list over several field lines;
/// join them with `, ` first. An empty value is an empty chain.
pub fn decode_rfc9440_chain(value: &str) -> Result<Vec<CertDer>, ForwardedError> {
    let field = Field::Rfc9440Chain;
    check_size(field, value)?;
    let fail = |member: usize, problem| ForwardedError::Malformed {
        field,
        place: Place {
            member: Some(member),
            ..Place::default()
        },
        problem,
    };
    let members = sf::parse_list(value).map_err(|(member, problem)| fail(member, problem))?;
    members
        .into_iter()
        .enumerate()
        .map(|(i, der)| certs::der_certificate(der).map_err(|problem| fail(i + 1, problem)))
        .collect()
}

/// Encodes `chain` (leaf first) exactly as the proxy of `format` would send
/// it. Formats that carry only the leaf encode `chain[0]`; an empty chain
/// encodes as an empty value, which [`decode`] reads as "no certificate".
///
/// `envoy-xfcc` yields the element Envoy writes with `SANITIZE_SET` and
/// `cert`, `chain` set (`Hash=...;Cert="...";Chain="..."`, no `By=` since that
/// names the proxy's own certificate); `pem` yields Apache's form, newlines
/// replaced by spaces.
pub fn encode(format: HeaderFormat, chain: &[CertDer]) -> String {
    let Some(leaf) = chain.first() else {
        return String::new();
    };
    match format {
        HeaderFormat::AwsAlb => {
            percent::encode(certs::chain_pem(chain).as_bytes(), percent::is_aws_safe)
        }
        HeaderFormat::AwsAlbLeaf => {
            percent::encode(certs::to_pem(leaf).as_bytes(), percent::is_aws_safe)
        }
        HeaderFormat::Nginx => {
            percent::encode(certs::to_pem(leaf).as_bytes(), percent::is_unreserved)
        }
        HeaderFormat::Rfc9440 => sf::byte_sequence(leaf),
        HeaderFormat::EnvoyXfcc => {
            let hash: String = crate::thumbprint::sha256(leaf)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let cert = percent::encode(certs::to_pem(leaf).as_bytes(), percent::is_envoy_safe);
            let all = percent::encode(certs::chain_pem(chain).as_bytes(), percent::is_envoy_safe);
            format!("Hash={hash};Cert=\"{cert}\";Chain=\"{all}\"")
        }
        HeaderFormat::Traefik => chain
            .iter()
            .map(|c| STANDARD.encode(c))
            .collect::<Vec<_>>()
            .join(","),
        HeaderFormat::Base64Der => STANDARD.encode(leaf),
        HeaderFormat::Pem => certs::chain_pem(chain)
            .replace('\n', " ")
            .trim_end()
            .to_owned(),
    }
}

/// Encodes an RFC 9440 `Client-Cert-Chain` value listing `certs` (the
/// certificates after the leaf, which goes in `Client-Cert`). Empty when
/// `certs` is; then the header is better left out.
pub fn encode_rfc9440_chain(certs: &[CertDer]) -> String {
    certs
        .iter()
        .map(|c| sf::byte_sequence(c))
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_size(field: Field, value: &str) -> Result<(), ForwardedError> {
    if value.len() > MAX_HEADER_VALUE_BYTES {
        return Err(ForwardedError::TooLarge {
            field,
            len: value.len(),
            max: MAX_HEADER_VALUE_BYTES,
        });
    }
    Ok(())
}

/// HTTP optional whitespace around a field value.
fn trim_ows(value: &str) -> &str {
    value.trim_matches(|c| c == ' ' || c == '\t')
}

fn means_no_certificate(format: HeaderFormat, value: &str) -> bool {
    value.is_empty()
        || match format {
            HeaderFormat::Pem => value == APACHE_NO_CERTIFICATE,
            HeaderFormat::Base64Der => matches!(value, "-" | "\"\"" | CADDY_NO_CERTIFICATE),
            _ => false,
        }
}

/// HAProxy's `%{+Q}` wraps the value in double quotes.
fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

/// URL-encoded PEM (ALB, nginx, escaped `pem`), or raw PEM (no `%` in it).
fn url_encoded_pem(value: &str) -> Result<Vec<CertDer>, (Place, Problem)> {
    let text = percent::decode(value.as_bytes()).map_err(|p| (Place::default(), p))?;
    pem(&text)
}

fn pem(text: &[u8]) -> Result<Vec<CertDer>, (Place, Problem)> {
    certs::pem_certificates(text).map_err(|(certificate, problem)| {
        (
            Place {
                certificate,
                ..Place::default()
            },
            problem,
        )
    })
}

fn only_leaf(certs: Vec<CertDer>) -> Result<Vec<CertDer>, (Place, Problem)> {
    if certs.len() == 1 {
        Ok(certs)
    } else {
        Err((Place::default(), Problem::OnlyLeaf { count: certs.len() }))
    }
}

/// Traefik: since v2.9.4 comma-separated base64 DER; from v1.7 to v2.9.1
/// the same, each one `url.QueryEscape`d. A value holding PEM armor (after
/// URL-decoding) is read as PEM.
fn traefik(value: &str) -> Result<Vec<CertDer>, (Place, Problem)> {
    let text = percent::decode(value.as_bytes()).map_err(|p| (Place::default(), p))?;
    if text.windows(10).any(|w| w == b"-----BEGIN") {
        return pem(&text);
    }
    let mut chain = Vec::new();
    for (i, item) in text.split(|&b| b == b',').enumerate() {
        let at = Place {
            certificate: Some(i + 1),
            ..Place::default()
        };
        if i >= MAX_FORWARDED_CERTIFICATES {
            let max = MAX_FORWARDED_CERTIFICATES;
            return Err((at, Problem::TooManyCertificates { max }));
        }
        let item = std::str::from_utf8(item).map_err(|_| {
            let reason = "it holds bytes that are not text".to_owned();
            (at, Problem::Base64 { reason })
        })?;
        chain.push(certs::base64_certificate(trim_ows(item)).map_err(|p| (at, p))?);
    }
    Ok(chain)
}

#[cfg(test)]
mod tests;
