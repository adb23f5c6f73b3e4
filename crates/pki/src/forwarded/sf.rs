//! The slice of RFC 8941 (Structured Field Values) that RFC 9440 needs:
//! `Client-Cert` is an Item whose value is a Byte Sequence (`:base64:`), and
//! `Client-Cert-Chain` is a List of such Items.
//!
//! Parameters after an Item are parsed by the RFC 8941 grammar and ignored, as
//! RFC 9440 defines none. Base64 inside a Byte Sequence is read the way
//! RFC 8941 §4.2.7 asks: missing `=` padding and non-zero pad bits are
//! tolerated, any character outside the base64 alphabet is not.

use base64::Engine;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::Problem;

/// Standard base64, lenient about padding and trailing bits (RFC 8941 §4.2.7).
const SF_BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Serializes `der` as a Byte Sequence: `:` standard base64 with padding `:`.
pub(super) fn byte_sequence(der: &[u8]) -> String {
    let mut out = String::with_capacity(der.len().div_ceil(3) * 4 + 2);
    out.push(':');
    base64::engine::general_purpose::STANDARD.encode_string(der, &mut out);
    out.push(':');
    out
}

/// Parses a whole field value that must be one Byte Sequence Item.
pub(super) fn parse_item(input: &str) -> Result<Vec<u8>, Problem> {
    let mut p = Parser::new(input);
    let bytes = p.byte_sequence_item()?;
    p.skip_sp();
    if p.pos < p.s.len() {
        return Err(p.error("unexpected text after the byte sequence"));
    }
    Ok(bytes)
}

/// Parses a whole field value that must be a List of Byte Sequence Items.
/// Returns the 1-based member number with the problem. An empty value is an
/// empty list.
pub(super) fn parse_list(input: &str) -> Result<Vec<Vec<u8>>, (usize, Problem)> {
    let mut p = Parser::new(input);
    let mut members = Vec::new();
    if p.pos == p.s.len() {
        return Ok(members);
    }
    loop {
        let member = members.len() + 1;
        if p.peek() == Some(b'(') {
            return Err((member, p.error("an inner list, not a byte sequence")));
        }
        members.push(p.byte_sequence_item().map_err(|e| (member, e))?);
        p.skip_ows();
        if p.pos == p.s.len() {
            return Ok(members);
        }
        if p.peek() != Some(b',') {
            return Err((member, p.error("expected `,` between list members")));
        }
        p.pos += 1;
        p.skip_ows();
        if p.pos == p.s.len() {
            return Err((member + 1, p.error("the list ends with a `,`")));
        }
        if members.len() >= super::MAX_FORWARDED_CERTIFICATES {
            return Err((
                member + 1,
                Problem::TooManyCertificates {
                    max: super::MAX_FORWARDED_CERTIFICATES,
                },
            ));
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    /// RFC 8941 §4.2: leading and trailing SP are discarded; HTTP parsers
    /// have already removed other surrounding whitespace (OWS).
    fn new(input: &'a str) -> Self {
        let s = input.trim_matches(|c| c == ' ' || c == '\t').as_bytes();
        Self { s, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn error(&self, reason: &'static str) -> Problem {
        Problem::StructuredField {
            offset: self.pos,
            reason,
        }
    }

    /// A Byte Sequence followed by optional (ignored) parameters.
    fn byte_sequence_item(&mut self) -> Result<Vec<u8>, Problem> {
        if self.peek() != Some(b':') {
            return Err(Problem::NotByteSequence);
        }
        let encoded = self.byte_sequence()?;
        let bytes = SF_BASE64.decode(encoded).map_err(|e| Problem::Base64 {
            reason: e.to_string(),
        })?;
        if bytes.is_empty() {
            return Err(Problem::Empty);
        }
        self.parameters()?;
        Ok(bytes)
    }

    /// `:` base64 `:`; returns the base64 text, checked against the alphabet.
    fn byte_sequence(&mut self) -> Result<&'a [u8], Problem> {
        self.pos += 1; // the opening `:`
        let start = self.pos;
        loop {
            match self.peek() {
                None => return Err(self.error("the byte sequence has no closing `:`")),
                Some(b':') => break,
                Some(c) if c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=') => {
                    self.pos += 1;
                }
                Some(_) => return Err(self.error("a character outside the base64 alphabet")),
            }
        }
        let encoded = &self.s[start..self.pos];
        self.pos += 1; // the closing `:`
        Ok(encoded)
    }

    /// `*( ";" *SP key [ "=" bare-item ] )`, all ignored.
    fn parameters(&mut self) -> Result<(), Problem> {
        while self.peek() == Some(b';') {
            self.pos += 1;
            self.skip_sp();
            self.key()?;
            if self.peek() == Some(b'=') {
                self.pos += 1;
                self.bare_item()?;
            }
        }
        Ok(())
    }

    fn key(&mut self) -> Result<(), Problem> {
        match self.peek() {
            Some(c) if c.is_ascii_lowercase() || c == b'*' => self.pos += 1,
            _ => return Err(self.error("a parameter key must start with a-z or `*`")),
        }
        while matches!(self.peek(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'.' | b'*'))
        {
            self.pos += 1;
        }
        Ok(())
    }

    /// Any bare item (RFC 8941 §3.3, with RFC 9651's Date and Display String),
    /// checked for syntax and discarded.
    fn bare_item(&mut self) -> Result<(), Problem> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'"') => self.string(),
            Some(b':') => self.byte_sequence().map(|_| ()),
            Some(b'?') => {
                self.pos += 1;
                match self.peek() {
                    Some(b'0' | b'1') => {
                        self.pos += 1;
                        Ok(())
                    }
                    _ => Err(self.error("a boolean must be `?0` or `?1`")),
                }
            }
            Some(b'@') => {
                self.pos += 1;
                self.number()
            }
            Some(b'%') => {
                self.pos += 1;
                self.string()
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'*' => {
                self.pos += 1;
                while matches!(self.peek(), Some(c) if is_tchar(c) || matches!(c, b':' | b'/')) {
                    self.pos += 1;
                }
                Ok(())
            }
            _ => Err(self.error("a parameter value that is not a structured-field item")),
        }
    }

    fn number(&mut self) -> Result<(), Problem> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9' | b'.')) {
            self.pos += 1;
        }
        if self.pos == start || self.pos - start > 20 {
            return Err(self.error("a malformed number"));
        }
        Ok(())
    }

    fn string(&mut self) -> Result<(), Problem> {
        if self.peek() != Some(b'"') {
            return Err(self.error("expected `\"`"));
        }
        self.pos += 1;
        loop {
            match self.peek() {
                None => return Err(self.error("a string with no closing `\"`")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b'"' | b'\\') => self.pos += 1,
                        _ => return Err(self.error("a `\\` that escapes neither `\"` nor `\\`")),
                    }
                }
                Some(0x20..=0x7e) => self.pos += 1,
                Some(_) => return Err(self.error("a string holding a control character")),
            }
        }
    }
}

/// RFC 9110 `tchar`.
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}
