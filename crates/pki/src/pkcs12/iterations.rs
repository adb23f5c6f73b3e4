//! The work a PKCS#12 file asks for, read before any of it is done: the
//! iteration counts of its MAC (RFC 7292 `MacData`) and of every key
//! derivation in sight (PBKDF2 parameters, RFC 8018, and the PKCS#12 PBE
//! parameters, RFC 7292 appendix C). A file is a few kilobytes, but one
//! iteration count of 2^31 would keep a reader busy for hours, so
//! [`read_pkcs12`](super::read_pkcs12) refuses a file asking for more than
//! [`MAX_PBKDF2_ITERATIONS`](crate::encrypted::MAX_PBKDF2_ITERATIONS) before
//! handing it to the PKCS#12 library.
//!
//! The walk reads DER and BER (indefinite lengths, as some Java and Windows
//! tools write), looks inside OCTET STRINGs that hold encoded structures
//! (the SafeContents of a `data` ContentInfo), and stops at a depth of
//! [`MAX_DEPTH`]. Contents encrypted as a whole (an `encryptedData` bag's
//! inner bags) are not visible; their own key derivation is bounded by the
//! iteration count of the outer one, which is.

/// How deep the walk goes.
const MAX_DEPTH: usize = 24;

/// id-PBKDF2 (1.2.840.113549.1.5.12), as encoded.
const PBKDF2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c];
/// pkcs-12PbeIds (1.2.840.113549.1.12.1), the prefix of the PKCS#12 PBE schemes.
const PKCS12_PBE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01];

const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const SEQUENCE: u8 = 0x30;

/// One BER element: its tag byte, whether it is constructed, its contents.
struct Element<'a> {
    tag: u8,
    constructed: bool,
    contents: &'a [u8],
}

/// The element at the start of `input` and the rest; `None` when `input`
/// does not start with a whole element.
fn element(input: &[u8]) -> Option<(Element<'_>, &[u8])> {
    element_at(input, 0)
}

/// [`element`], `depth` indefinite-length elements deep.
fn element_at(input: &[u8], depth: usize) -> Option<(Element<'_>, &[u8])> {
    if depth > MAX_DEPTH {
        return None;
    }
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        // High tag numbers appear nowhere in PKCS#12.
        return None;
    }
    let constructed = tag & 0x20 != 0;
    let (&first, rest) = rest.split_first()?;
    if first == 0x80 {
        // Indefinite length (BER, constructed only): up to the end-of-contents.
        if !constructed {
            return None;
        }
        let mut cursor = rest;
        loop {
            if cursor.starts_with(&[0, 0]) {
                let used = rest.len() - cursor.len();
                return Some((
                    Element {
                        tag,
                        constructed,
                        contents: &rest[..used],
                    },
                    &cursor[2..],
                ));
            }
            cursor = element_at(cursor, depth + 1)?.1;
        }
    }
    let (len, rest) = if first & 0x80 == 0 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((
        Element {
            tag,
            constructed,
            contents: &rest[..len],
        },
        &rest[len..],
    ))
}

/// Every element of `input`, which must be elements and nothing else.
fn elements(mut input: &[u8]) -> Option<Vec<Element<'_>>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (e, rest) = element(input)?;
        out.push(e);
        input = rest;
    }
    Some(out)
}

/// A non-negative INTEGER's value, saturating at `u64::MAX`.
fn integer(e: &Element<'_>) -> Option<u64> {
    if e.tag != INTEGER || e.contents.is_empty() || e.contents[0] & 0x80 != 0 {
        return None;
    }
    let digits: &[u8] = {
        let start = e
            .contents
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(e.contents.len());
        &e.contents[start..]
    };
    if digits.len() > 8 {
        return Some(u64::MAX);
    }
    Some(
        digits
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
    )
}

/// The largest iteration count the PKCS#12 file `der` asks for; `None` when
/// it names none (or does not parse: the library then says why).
pub(super) fn largest(der: &[u8]) -> Option<u64> {
    let (pfx, _) = element(der)?;
    let mut most = None;
    // PFX ::= SEQUENCE { version, authSafe ContentInfo, macData MacData OPTIONAL }
    // MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }
    if let Some(parts) = elements(pfx.contents)
        && let Some(mac) = parts.get(2).filter(|m| m.tag == SEQUENCE)
        && let Some(fields) = elements(mac.contents)
    {
        most = fields.get(2).and_then(integer);
    }
    walk(&pfx, 0, &mut most);
    most
}

fn walk(e: &Element<'_>, depth: usize, most: &mut Option<u64>) {
    if depth > MAX_DEPTH {
        return;
    }
    let inner = if e.constructed || e.tag == OCTET_STRING {
        elements(e.contents)
    } else {
        None
    };
    let Some(children) = inner else {
        return;
    };
    // AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters }: the
    // parameters of PBKDF2 and of the PKCS#12 PBEs both start
    // { salt OCTET STRING, iterationCount INTEGER, ... }.
    if e.tag == SEQUENCE
        && let [algorithm, parameters, ..] = children.as_slice()
        && algorithm.tag == OID
        && (algorithm.contents == PBKDF2 || algorithm.contents.starts_with(PKCS12_PBE))
        && parameters.tag == SEQUENCE
        && let Some(count) = elements(parameters.contents)
            .as_deref()
            .and_then(|p| p.get(1))
            .and_then(integer)
    {
        *most = Some(most.map_or(count, |m: u64| m.max(count)));
    }
    for child in &children {
        walk(child, depth + 1, most);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        if contents.len() < 128 {
            out.push(contents.len() as u8);
        } else {
            out.push(0x82);
            out.extend_from_slice(&(contents.len() as u16).to_be_bytes());
        }
        out.extend_from_slice(contents);
        out
    }

    fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
        tlv(SEQUENCE, &parts.concat())
    }

    fn int(v: u64) -> Vec<u8> {
        let mut bytes = v.to_be_bytes().to_vec();
        while bytes.len() > 1 && bytes[0] == 0 && bytes[1] & 0x80 == 0 {
            bytes.remove(0);
        }
        if bytes[0] & 0x80 != 0 {
            bytes.insert(0, 0);
        }
        tlv(INTEGER, &bytes)
    }

    fn pbkdf2(count: u64) -> Vec<u8> {
        seq(&[
            tlv(OID, PBKDF2),
            seq(&[tlv(OCTET_STRING, b"saltsalt"), int(count)]),
        ])
    }

    /// A PFX whose authSafe holds `bag` inside an OCTET STRING, MAC'd with `mac` iterations.
    fn pfx(bag: Vec<u8>, mac: u64) -> Vec<u8> {
        let data = tlv(OCTET_STRING, &seq(&[bag]));
        let auth_safe = seq(&[tlv(OID, &[0x2a, 0x86, 0x48]), tlv(0xa0, &data)]);
        let mac_data = seq(&[seq(&[]), tlv(OCTET_STRING, b"salt"), int(mac)]);
        seq(&[int(3), auth_safe, mac_data])
    }

    #[test]
    fn the_mac_and_a_nested_key_derivation_are_found() {
        assert_eq!(largest(&pfx(pbkdf2(2048), 10_000)), Some(10_000));
        assert_eq!(largest(&pfx(pbkdf2(1 << 31), 2048)), Some(1 << 31));
        let huge = seq(&[
            tlv(OID, PBKDF2),
            seq(&[tlv(OCTET_STRING, b"s"), tlv(INTEGER, &[1; 12])]),
        ]);
        assert_eq!(largest(&pfx(huge, 1)), Some(u64::MAX));
    }

    #[test]
    fn ber_indefinite_lengths_are_walked() {
        let inner = pbkdf2(9_000_000);
        let mut indefinite = vec![SEQUENCE, 0x80];
        indefinite.extend_from_slice(&inner);
        indefinite.extend_from_slice(&[0, 0]);
        let whole = seq(&[int(3), indefinite]);
        assert_eq!(largest(&whole), Some(9_000_000));
    }

    #[test]
    fn garbage_names_nothing() {
        assert_eq!(largest(b""), None);
        assert_eq!(largest(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(largest(&[0x30, 0x80, 0x30, 0x80]), None);
        // Nesting too deep to follow ends the walk, not the stack.
        let deep: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 100_000)
            .flatten()
            .collect();
        assert_eq!(largest(&deep), None);
    }
}
