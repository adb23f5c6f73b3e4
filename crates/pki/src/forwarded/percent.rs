//! Percent-encoding as the proxies write it, and the one strict decoder that
//! reads all of them.
//!
//! Decoding is byte-exact: `%XX` becomes the byte `0xXX` and every other byte
//! stays as it is. In particular `+` stays `+`. AWS ALB leaves `+`, `=` and `/`
//! unescaped in the base64 of its PEM, so an `application/x-www-form-urlencoded`
//! decoder (which turns `+` into a space) silently corrupts the certificate.
//! A `%` not followed by two hex digits is an error, never passed through.

use std::borrow::Cow;

use super::Problem;

/// Decodes `%XX` escapes; every other byte is kept. Borrows when there is
/// nothing to decode.
pub(super) fn decode(input: &[u8]) -> Result<Cow<'_, [u8]>, Problem> {
    if !input.contains(&b'%') {
        return Ok(Cow::Borrowed(input));
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b != b'%' {
            out.push(b);
            i += 1;
            continue;
        }
        let hi = input.get(i + 1).and_then(|&c| hex_value(c));
        let lo = input.get(i + 2).and_then(|&c| hex_value(c));
        match (hi, lo) {
            (Some(hi), Some(lo)) => {
                out.push(hi << 4 | lo);
                i += 3;
            }
            _ => {
                let end = (i + 3).min(input.len());
                return Err(Problem::BadPercentEscape {
                    offset: i,
                    found: String::from_utf8_lossy(&input[i..end]).into_owned(),
                });
            }
        }
    }
    Ok(Cow::Owned(out))
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// RFC 3986 unreserved characters: never escaped by any of the proxies.
pub(super) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// AWS ALB: "URL-encoded PEM format, with `+`, `=` and `/` as safe characters".
pub(super) fn is_aws_safe(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'+' | b'=' | b'/')
}

/// Envoy's `urlEncodedPemEncodedPeerCertificate` replaces exactly these five
/// characters (newline, space, `+`, `/`, `=`) and leaves everything else.
pub(super) fn is_envoy_safe(b: u8) -> bool {
    !matches!(b, b'\n' | b' ' | b'+' | b'/' | b'=')
}

/// Escapes every byte for which `keep` is false as `%XX` (upper-case hex, as
/// nginx, Envoy and AWS write it).
pub(super) fn encode(input: &[u8], keep: fn(u8) -> bool) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(input.len() + input.len() / 8);
    for &b in input {
        if keep(b) && b.is_ascii() {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}
