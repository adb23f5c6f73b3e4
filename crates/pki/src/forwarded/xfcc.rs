//! Envoy's `x-forwarded-client-cert` (XFCC): elements separated by `,` (one
//! per proxy hop, the newest last), each a `;`-separated list of `key=value`
//! pairs; keys are case-insensitive; a value may be double-quoted, and inside
//! quotes `\"` is a quote, so quoted values may hold `,`, `;` and `=`.
//!
//! The certificate comes from the last element, the one the proxy in front of
//! certbound added: its `Cert` (URL-encoded PEM of the leaf) and `Chain`
//! (URL-encoded PEM of the whole chain, leaf first). `By`, `Hash`, `Subject`,
//! `URI`, `DNS` and unknown keys are ignored. The whole header must parse:
//! a quote left open anywhere makes the element boundaries unknowable, so it
//! is refused rather than guessed at.

use std::borrow::Cow;

use super::{Place, Problem, certs, percent};
use crate::CertDer;

/// One `key=value` pair; the value unquoted and unescaped.
#[derive(Debug)]
struct Pair<'a> {
    key: &'a str,
    value: Cow<'a, str>,
}

/// The certificates of the last element.
pub(super) fn decode(value: &str) -> Result<Vec<CertDer>, (Place, Problem)> {
    let elements = parse(value)?;
    let number = elements.len();
    let place = Place {
        element: Some(number),
        ..Place::default()
    };
    let Some(last) = elements.last() else {
        return Err((place, Problem::Empty));
    };
    let cert = single(last, "Cert", place)?;
    let chain = single(last, "Chain", place)?;
    let read = |key: &'static str, text: &str| {
        let at = Place {
            key: Some(key),
            ..place
        };
        let bytes = percent::decode(text.as_bytes()).map_err(|p| (at, p))?;
        certs::pem_certificates(&bytes).map_err(|(certificate, p)| (Place { certificate, ..at }, p))
    };
    let leaf = |text: &str| {
        let certs = read("Cert", text)?;
        if certs.len() == 1 {
            Ok(certs)
        } else {
            let at = Place {
                key: Some("Cert"),
                ..place
            };
            Err((at, Problem::OnlyLeaf { count: certs.len() }))
        }
    };
    match (cert, chain) {
        (None, None) => Err((place, Problem::XfccNoCert)),
        (Some(cert), None) => leaf(cert),
        (cert, Some(chain)) => {
            let chain = read("Chain", chain)?;
            if let Some(cert) = cert {
                if chain.first() != leaf(cert)?.first() {
                    return Err((place, Problem::XfccLeafMismatch));
                }
            }
            Ok(chain)
        }
    }
}

/// The value of `key` in `element`, if present once; present twice is an error.
fn single<'e>(
    element: &'e [Pair<'_>],
    key: &'static str,
    place: Place,
) -> Result<Option<&'e str>, (Place, Problem)> {
    let mut found = element.iter().filter(|p| p.key.eq_ignore_ascii_case(key));
    let first = found.next();
    if found.next().is_some() {
        return Err((place, Problem::XfccDuplicateKey { key }));
    }
    Ok(first.map(|p| p.value.as_ref()))
}

/// Splits the whole header into elements of pairs.
fn parse(value: &str) -> Result<Vec<Vec<Pair<'_>>>, (Place, Problem)> {
    let s = value.as_bytes();
    let mut elements = vec![Vec::new()];
    let mut pos = 0;
    loop {
        let element_no = elements.len();
        let fail = |offset: usize, reason: &'static str| {
            (
                Place {
                    element: Some(element_no),
                    ..Place::default()
                },
                Problem::Xfcc { offset, reason },
            )
        };
        pos = skip_ows(s, pos);
        let key_start = pos;
        while pos < s.len() && !matches!(s[pos], b'=' | b';' | b',' | b'"') {
            pos += 1;
        }
        let key = value[key_start..pos].trim_end_matches([' ', '\t']);
        if key.is_empty() {
            let reason = if s.get(pos) == Some(&b'=') {
                "a pair with no key before `=`"
            } else {
                "an empty element or pair"
            };
            return Err(fail(pos, reason));
        }
        if s.get(pos) != Some(&b'=') {
            return Err(fail(pos, "a key without `=value`"));
        }
        pos += 1;
        let value_of_pair = if s.get(pos) == Some(&b'"') {
            let (text, next) = quoted(value, pos)
                .ok_or_else(|| fail(pos, "a quoted value with no closing `\"`"))?;
            pos = skip_ows(s, next);
            text
        } else {
            let start = pos;
            while pos < s.len() && !matches!(s[pos], b';' | b',') {
                if s[pos] == b'"' {
                    return Err(fail(pos, "a `\"` inside an unquoted value"));
                }
                pos += 1;
            }
            Cow::Borrowed(value[start..pos].trim_end_matches([' ', '\t']))
        };
        let current = elements.last_mut().ok_or_else(|| fail(pos, "no element"))?;
        current.push(Pair {
            key,
            value: value_of_pair,
        });
        match s.get(pos) {
            None => return Ok(elements),
            Some(b';') => pos += 1,
            Some(b',') => {
                pos += 1;
                elements.push(Vec::new());
            }
            Some(_) => return Err(fail(pos, "text after a quoted value")),
        }
    }
}

/// The quoted string starting at `value[open]` (a `"`): its unescaped text
/// and the position after the closing quote. A backslash takes the next
/// character literally.
fn quoted(value: &str, open: usize) -> Option<(Cow<'_, str>, usize)> {
    let s = value.as_bytes();
    let start = open + 1;
    let mut pos = start;
    let mut escaped = false;
    while pos < s.len() {
        match s[pos] {
            b'\\' => {
                escaped = true;
                pos += 2;
            }
            b'"' => {
                let raw = value.get(start..pos)?;
                let text = if escaped {
                    Cow::Owned(unescape(raw))
                } else {
                    Cow::Borrowed(raw)
                };
                return Some((text, pos + 1));
            }
            _ => pos += 1,
        }
    }
    None
}

fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn skip_ows(s: &[u8], mut pos: usize) -> usize {
    while matches!(s.get(pos), Some(b' ' | b'\t')) {
        pos += 1;
    }
    pos
}
