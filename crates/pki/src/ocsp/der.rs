//! The little DER an OCSP exchange needs: a reader that walks TLVs with
//! single-byte tags and definite lengths (what DER allows), and a writer for
//! the request. Every read is bounds-checked; nothing here panics on input.

/// Universal tags.
pub(super) const BOOLEAN: u8 = 0x01;
pub(super) const INTEGER: u8 = 0x02;
pub(super) const BIT_STRING: u8 = 0x03;
pub(super) const OCTET_STRING: u8 = 0x04;
pub(super) const NULL: u8 = 0x05;
pub(super) const OID: u8 = 0x06;
pub(super) const ENUMERATED: u8 = 0x0a;
pub(super) const GENERALIZED_TIME: u8 = 0x18;
pub(super) const SEQUENCE: u8 = 0x30;

/// Context-specific tag `[n]`, constructed (EXPLICIT or a constructed IMPLICIT).
pub(super) const fn ctx(n: u8) -> u8 {
    0xa0 | n
}

/// Context-specific tag `[n]`, primitive (IMPLICIT of a primitive type).
pub(super) const fn ctx_prim(n: u8) -> u8 {
    0x80 | n
}

/// One element: its tag, its whole encoding and its content.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tlv<'a> {
    pub tag: u8,
    pub raw: &'a [u8],
    pub content: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// A reader over the content of a constructed element.
    pub fn inner(&self) -> Reader<'a> {
        Reader(self.content)
    }
}

/// The malformed part, named for the error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Malformed(pub &'static str);

/// Reads TLVs one after another.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reader<'a>(pub &'a [u8]);

impl<'a> Reader<'a> {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn peek_tag(&self) -> Option<u8> {
        self.0.first().copied()
    }

    /// The next element, whatever its tag.
    pub fn any(&mut self, what: &'static str) -> Result<Tlv<'a>, Malformed> {
        let bad = || Malformed(what);
        let bytes = self.0;
        let tag = *bytes.first().ok_or_else(bad)?;
        if tag & 0x1f == 0x1f {
            // High tag numbers never occur in OCSP.
            return Err(bad());
        }
        let first = *bytes.get(1).ok_or_else(bad)?;
        let (len, header) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let n = usize::from(first & 0x7f);
            // 0x80 is the indefinite form, which DER forbids; more than 4
            // length bytes is more than any OCSP message holds.
            if n == 0 || n > 4 {
                return Err(bad());
            }
            let len_bytes = bytes.get(2..2 + n).ok_or_else(bad)?;
            let len = len_bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, 2 + n)
        };
        let end = header.checked_add(len).ok_or_else(bad)?;
        let raw = bytes.get(..end).ok_or_else(bad)?;
        let content = raw.get(header..).ok_or_else(bad)?;
        self.0 = bytes.get(end..).unwrap_or_default();
        Ok(Tlv { tag, raw, content })
    }

    /// The next element, which must carry `tag`.
    pub fn expect(&mut self, tag: u8, what: &'static str) -> Result<Tlv<'a>, Malformed> {
        let tlv = self.any(what)?;
        if tlv.tag == tag {
            Ok(tlv)
        } else {
            Err(Malformed(what))
        }
    }

    /// The next element if it carries `tag` (an OPTIONAL field).
    pub fn optional(&mut self, tag: u8, what: &'static str) -> Result<Option<Tlv<'a>>, Malformed> {
        if self.peek_tag() == Some(tag) {
            self.any(what).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Nothing may follow.
    pub fn finish(&self, what: &'static str) -> Result<(), Malformed> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Malformed(what))
        }
    }
}

/// Encode one element.
pub(super) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let used = &bytes[skip..];
        out.push(0x80 | used.len() as u8);
        out.extend_from_slice(used);
    }
    out.extend_from_slice(content);
    out
}

/// Encode a SEQUENCE (or another constructed tag) of already encoded parts.
pub(super) fn constructed(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag, &parts.concat())
}

/// Encode an OID given in dotted form (the arcs are known-good constants).
pub(super) fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').filter_map(|a| a.parse().ok()).collect();
    let mut content = Vec::new();
    if let [a, b, rest @ ..] = arcs.as_slice() {
        push_base128(&mut content, a * 40 + b);
        for arc in rest {
            push_base128(&mut content, *arc);
        }
    }
    tlv(OID, &content)
}

fn push_base128(out: &mut Vec<u8>, mut v: u64) {
    let mut tmp = vec![(v & 0x7f) as u8];
    v >>= 7;
    while v > 0 {
        tmp.push(0x80 | (v & 0x7f) as u8);
        v >>= 7;
    }
    out.extend(tmp.iter().rev());
}

/// The dotted form of an OID's content, for messages.
pub(super) fn oid_string(content: &[u8]) -> String {
    let mut arcs = Vec::new();
    let mut v: u64 = 0;
    for b in content {
        v = (v << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            arcs.push(v);
            v = 0;
        }
    }
    let mut out = String::new();
    if let Some(first) = arcs.first() {
        let (a, b) = match first {
            0..40 => (0, *first),
            40..80 => (1, first - 40),
            _ => (2, first - 80),
        };
        out = format!("{a}.{b}");
        for arc in &arcs[1..] {
            out.push('.');
            out.push_str(&arc.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_round_trip() {
        for dotted in [
            "1.3.6.1.5.5.7.48.1.1",
            "1.3.14.3.2.26",
            "2.16.840.1.101.3.4.2.1",
        ] {
            let der = oid(dotted);
            let tlv = Reader(&der).any("oid").expect("an OID we encoded");
            assert_eq!(oid_string(tlv.content), dotted);
        }
    }

    #[test]
    fn long_lengths_round_trip() {
        let content = vec![7u8; 300];
        let der = tlv(OCTET_STRING, &content);
        assert_eq!(&der[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let mut r = Reader(&der);
        assert_eq!(
            r.expect(OCTET_STRING, "x").map(|t| t.content.len()),
            Ok(300)
        );
        assert!(r.is_empty());
    }

    #[test]
    fn truncated_and_indefinite_are_malformed() {
        for bad in [
            &[0x30u8, 0x05, 0x01][..],
            &[0x30, 0x80, 0x00, 0x00],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x1f, 0x01, 0x00],
            &[0x30],
        ] {
            assert!(Reader(bad).any("x").is_err(), "{bad:02x?}");
        }
    }
}
