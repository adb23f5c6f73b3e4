//! Certificate thumbprints: the SHA-256 fingerprint people compare by eye and
//! the RFC 8705 `x5t#S256` value a certificate-bound token carries.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// SHA-256 of `der`.
pub fn sha256(der: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, der).as_ref());
    out
}

/// The SHA-256 fingerprint as openssl prints it: upper-case hex pairs joined by `:`.
pub fn sha256_fingerprint(der: &[u8]) -> String {
    colon_hex(&sha256(der))
}

/// RFC 8705 §3.1 `x5t#S256`: base64url (no padding) of SHA-256 of the DER certificate.
pub fn x5t_s256(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(sha256(der))
}

/// Upper-case hex pairs joined by `:` (serial numbers, fingerprints, key ids).
pub fn colon_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push_str(&format!("{b:02X}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_sha256_values() {
        // SHA-256 of the empty string, a value anyone can check.
        assert_eq!(
            sha256_fingerprint(b""),
            "E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55"
        );
        assert_eq!(x5t_s256(b""), "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
    }

    #[test]
    fn colon_hex_formats_pairs() {
        assert_eq!(colon_hex(&[0x0a, 0xff]), "0A:FF");
        assert_eq!(colon_hex(&[]), "");
    }
}
