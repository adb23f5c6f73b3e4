//! Just enough PEM and PKCS#8 reading to load a signing key and to say, in
//! plain words, what a file holds when it is not a key we can use.
//!
//! Only the outer PKCS#8 structure is read here (version, algorithm OID, curve
//! OID); the key itself is parsed and checked by aws-lc-rs.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::KeyError;

/// What a PKCS#8 document holds.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum KeyKind {
    P256,
    Ed25519,
    /// Anything else, named for the user ("RSA", "EC P-384", "OID 1.2.3").
    Other(String),
}

struct Block<'a> {
    label: &'a str,
    headers: bool,
    body: String,
}

/// Finds the first private-key block in `text` and returns its DER.
pub(super) fn private_key_der(text: &str) -> Result<Vec<u8>, KeyError> {
    let blocks = blocks(text)?;
    if blocks.is_empty() {
        let start: String = text.trim_start().chars().take(40).collect();
        return Err(KeyError::NoPem { start });
    }
    let Some(block) = blocks.iter().find(|b| b.label.ends_with("PRIVATE KEY")) else {
        let found: Vec<String> = blocks.iter().map(|b| format!("`{}`", b.label)).collect();
        return Err(KeyError::NotAPrivateKey {
            found: found.join(", "),
        });
    };
    if block.headers || block.label == "ENCRYPTED PRIVATE KEY" {
        // `Proc-Type: 4,ENCRYPTED` headers mark a legacy OpenSSL encrypted key.
        return Err(KeyError::Encrypted {
            label: block.label.to_owned(),
        });
    }
    match block.label {
        "PRIVATE KEY" => {}
        "RSA PRIVATE KEY" => {
            return Err(KeyError::NotPkcs8 {
                label: block.label.to_owned(),
                hint: ", although RSA keys cannot sign tokens here: use an EC P-256 or Ed25519 key",
            });
        }
        "EC PRIVATE KEY" => {
            return Err(KeyError::NotPkcs8 {
                label: block.label.to_owned(),
                hint: "",
            });
        }
        other => {
            return Err(KeyError::UnsupportedKeyType {
                kind: format!("a `{other}` block"),
            });
        }
    }
    STANDARD
        .decode(block.body.as_bytes())
        .map_err(|e| KeyError::BadPem {
            label: block.label.to_owned(),
            reason: format!("invalid base64 ({e})"),
        })
}

fn blocks(text: &str) -> Result<Vec<Block<'_>>, KeyError> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = line.trim();
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|rest| rest.strip_suffix("-----"))
        else {
            continue;
        };
        let mut block = Block {
            label,
            headers: false,
            body: String::new(),
        };
        let mut ended = false;
        for inner in lines.by_ref() {
            let inner = inner.trim();
            if let Some(end) = inner
                .strip_prefix("-----END ")
                .and_then(|rest| rest.strip_suffix("-----"))
            {
                if end != label {
                    return Err(KeyError::BadPem {
                        label: label.to_owned(),
                        reason: format!("it ends with `-----END {end}-----`"),
                    });
                }
                ended = true;
                break;
            }
            if inner.contains(':') {
                block.headers = true;
            } else {
                block.body.push_str(inner);
            }
        }
        if !ended {
            return Err(KeyError::BadPem {
                label: label.to_owned(),
                reason: "the `-----END` line is missing (was the file cut short?)".to_owned(),
            });
        }
        out.push(block);
    }
    Ok(out)
}

/// Encodes DER as PEM with 64-character lines.
pub(super) fn encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // base64 output is ASCII, so splitting at any byte index is a char boundary.
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
const OID_SECP256K1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x0a];
const OID_X25519: &[u8] = &[0x2b, 0x65, 0x6e];
const OID_X448: &[u8] = &[0x2b, 0x65, 0x6f];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_ED448: &[u8] = &[0x2b, 0x65, 0x71];
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];

const TAG_SEQUENCE: u8 = 0x30;
const TAG_INTEGER: u8 = 0x02;
const TAG_OID: u8 = 0x06;

/// Reads the algorithm of a PKCS#8 `PrivateKeyInfo` / `OneAsymmetricKey`.
pub(super) fn classify_pkcs8(der: &[u8]) -> Result<KeyKind, KeyError> {
    let bad = |reason: &str| KeyError::Rejected {
        kind: "PKCS#8",
        reason: reason.to_owned(),
    };
    let (outer, _) = read_tlv(der, TAG_SEQUENCE).ok_or_else(|| bad("not a DER SEQUENCE"))?;
    let (_version, rest) = read_tlv(outer, TAG_INTEGER).ok_or_else(|| bad("no version"))?;
    let (alg_id, _) = read_tlv(rest, TAG_SEQUENCE).ok_or_else(|| bad("no algorithm identifier"))?;
    let (oid, params) = read_tlv(alg_id, TAG_OID).ok_or_else(|| bad("no algorithm OID"))?;
    let kind = match oid {
        OID_EC_PUBLIC_KEY => match read_tlv(params, TAG_OID).map(|(curve, _)| curve) {
            Some(OID_P256) => KeyKind::P256,
            Some(OID_P384) => KeyKind::Other("EC P-384".to_owned()),
            Some(OID_P521) => KeyKind::Other("EC P-521".to_owned()),
            Some(OID_SECP256K1) => KeyKind::Other("EC secp256k1".to_owned()),
            Some(curve) => KeyKind::Other(format!("EC on curve {}", dotted(curve))),
            None => KeyKind::Other("EC with explicit curve parameters".to_owned()),
        },
        OID_ED25519 => KeyKind::Ed25519,
        OID_ED448 => KeyKind::Other("Ed448".to_owned()),
        OID_X25519 => KeyKind::Other("X25519 (a key-agreement key, it cannot sign)".to_owned()),
        OID_X448 => KeyKind::Other("X448 (a key-agreement key, it cannot sign)".to_owned()),
        OID_RSA | OID_RSA_PSS => KeyKind::Other("RSA".to_owned()),
        other => KeyKind::Other(format!("of algorithm OID {}", dotted(other))),
    };
    Ok(kind)
}

/// Reads one DER TLV with the expected tag; returns (content, rest).
fn read_tlv(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = input.split_first()?;
    if t != tag {
        return None;
    }
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 3 {
            return None;
        }
        let (bytes, after) = rest.split_at_checked(n)?;
        rest = after;
        bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    rest.split_at_checked(len)
}

/// Dotted-decimal form of a DER OID body, for messages.
fn dotted(oid: &[u8]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut value: u64 = 0;
    for &b in oid {
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 != 0 {
            continue;
        }
        if parts.is_empty() {
            let first = if value < 80 { value / 40 } else { 2 };
            parts.push(first.to_string());
            parts.push((value - first * 40).to_string());
        } else {
            parts.push(value.to_string());
        }
        value = 0;
    }
    parts.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_oids_read_as_people_write_them() {
        assert_eq!(dotted(OID_P256), "1.2.840.10045.3.1.7");
        assert_eq!(dotted(OID_RSA), "1.2.840.113549.1.1.1");
        assert_eq!(dotted(OID_ED25519), "1.3.101.112");
    }

    #[test]
    fn tlv_reader_accepts_long_lengths_and_rejects_truncation() {
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([7u8; 0x80]);
        let (content, rest) = read_tlv(&long, 0x04).expect("well-formed TLV");
        assert_eq!(content.len(), 0x80);
        assert!(rest.is_empty());
        assert!(read_tlv(&long[..50], 0x04).is_none());
        assert!(read_tlv(&long, 0x30).is_none());
        assert!(read_tlv(&[0x04, 0x80], 0x04).is_none());
    }

    #[test]
    fn pem_encoding_round_trips() {
        let der: Vec<u8> = (0..=200u8).collect();
        let text = encode("PRIVATE KEY", &der);
        assert!(text.lines().all(|l| l.len() <= 64));
        assert_eq!(private_key_der(&text).expect("round trip"), der);
    }
}
