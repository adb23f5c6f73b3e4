//! Password-protected private keys as OpenSSL, Java and .NET tools write them:
//! PKCS#8 `ENCRYPTED PRIVATE KEY` (PBES2: PBKDF2-HMAC-SHA1/SHA-256 with
//! AES-128/192/256-CBC or DES-EDE3-CBC, OpenSSL 3's `-topk8` default) and the
//! legacy PEM of `openssl genrsa -aes256 -traditional` (`Proc-Type:
//! 4,ENCRYPTED` and `DEK-Info: CIPHER,IV`, the key from OpenSSL's
//! `EVP_BytesToKey` with MD5 and one iteration).
//!
//! Each function returns the plain key DER. A decryption that ran but whose
//! padding is wrong means the password is wrong; so does plain text that is
//! not a key, which the caller finds when it parses the result.

use aes::{Aes128, Aes192, Aes256};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockCipherDecrypt, BlockModeDecrypt, KeyInit, KeyIvInit};
use des::{Des, TdesEde3};
use md5::{Digest, Md5};
use pkcs8::EncryptedPrivateKeyInfoRef;
use pkcs8::pkcs5;

use crate::key::KeyError;

/// Most PBKDF2 iterations an encrypted key may ask for: OpenSSL writes 2,048,
/// Java 10,000, and the most cautious recommendations some 600,000.
pub const MAX_PBKDF2_ITERATIONS: u32 = 5_000_000;

/// Decrypt the DER of a PKCS#8 `EncryptedPrivateKeyInfo` into the DER of a
/// plain PKCS#8 `PrivateKeyInfo`.
pub(crate) fn decrypt_pkcs8(der: &[u8], password: &str) -> Result<Vec<u8>, KeyError> {
    let info = EncryptedPrivateKeyInfoRef::try_from(der).map_err(|_| match scheme_oid(der) {
        Some(oid) => KeyError::UnsupportedEncryption {
            scheme: oid_name(&oid),
        },
        None => KeyError::Unsupported {
            format: "encrypted PKCS#8",
        },
    })?;
    // The file sets the work: a key from elsewhere must not hold a program
    // for hours with billions of PBKDF2 rounds.
    if let pkcs5::EncryptionScheme::Pbes2(p) = &info.encryption_algorithm {
        if let pkcs5::pbes2::Kdf::Pbkdf2(kdf) = &p.kdf {
            if kdf.iteration_count > MAX_PBKDF2_ITERATIONS {
                return Err(KeyError::UnsupportedEncryption {
                    scheme: format!(
                        "PBKDF2 with {} iterations (at most {MAX_PBKDF2_ITERATIONS} are worked through)",
                        kdf.iteration_count
                    ),
                });
            }
        }
    }
    info.encryption_algorithm
        .decrypt(password, info.encrypted_data.as_bytes())
        .map_err(|e| match e {
            pkcs5::Error::DecryptFailed => KeyError::WrongPassword,
            _ => KeyError::UnsupportedEncryption {
                scheme: scheme_name(&info.encryption_algorithm),
            },
        })
}

/// Words for an encryption scheme certbound cannot decrypt.
fn scheme_name(scheme: &pkcs5::EncryptionScheme) -> String {
    match scheme {
        pkcs5::EncryptionScheme::Pbes1(p) => format!("PBES1 ({})", p.encryption.oid()),
        pkcs5::EncryptionScheme::Pbes2(p) => {
            format!("PBES2 with cipher {}", p.encryption.oid())
        }
        _ => scheme.oid().to_string(),
    }
}

/// Whether a PKCS#8 `EncryptedPrivateKeyInfo` could be what these DER bytes
/// hold: a SEQUENCE that opens with an algorithm (SEQUENCE { OID … }), where
/// a plain key opens with an INTEGER and a certificate with its TBS.
pub(crate) fn looks_like_encrypted_pkcs8(der: &[u8]) -> bool {
    scheme_oid(der).is_some()
}

/// The OID of the encryption algorithm of an `EncryptedPrivateKeyInfo`.
fn scheme_oid(der: &[u8]) -> Option<pkcs8::der::asn1::ObjectIdentifier> {
    let inner = skip_header(der, 0x30)?;
    let alg = skip_header(inner, 0x30)?;
    if *alg.first()? != 0x06 {
        return None;
    }
    let len = usize::from(*alg.get(1)?);
    pkcs8::der::asn1::ObjectIdentifier::from_bytes(alg.get(2..2 + len)?).ok()
}

/// Skip a DER tag `tag` and its (definite) length.
fn skip_header(input: &[u8], tag: u8) -> Option<&[u8]> {
    if *input.first()? != tag {
        return None;
    }
    match *input.get(1)? {
        l if l < 0x80 => input.get(2..),
        l if l > 0x80 && l <= 0x84 => input.get(2 + usize::from(l & 0x7f)..),
        _ => None,
    }
}

/// A name for a PBES1 scheme certbound does not decrypt.
fn oid_name(oid: &pkcs8::der::asn1::ObjectIdentifier) -> String {
    let name = match oid.to_string().as_str() {
        "1.2.840.113549.1.12.1.3" => "PBE-SHA1-3DES",
        "1.2.840.113549.1.12.1.6" => "PBE-SHA1-RC2-40",
        "1.2.840.113549.1.12.1.5" => "PBE-SHA1-RC2-128",
        "1.2.840.113549.1.12.1.1" => "PBE-SHA1-RC4-128",
        "1.2.840.113549.1.5.3" => "PBE-MD5-DES",
        "1.2.840.113549.1.5.10" => "PBE-SHA1-DES",
        _ => return format!("the algorithm {oid}"),
    };
    format!("{name} (PBES1)")
}

/// The value of the `DEK-Info:` header of the PEM block that starts on the
/// 1-based line `line` of `input`.
pub(crate) fn dek_info(input: &[u8], line: usize) -> Option<String> {
    let text = String::from_utf8_lossy(input);
    text.lines()
        .skip(line)
        .take_while(|l| !l.starts_with("-----END "))
        .find_map(|l| l.trim().strip_prefix("DEK-Info:"))
        .map(|v| v.trim().to_string())
}

/// Decrypt the body of a legacy encrypted PEM block, given its `DEK-Info`
/// value (`AES-256-CBC,0123…`).
pub(crate) fn decrypt_legacy(
    dek_info: &str,
    body: &[u8],
    password: &str,
) -> Result<Vec<u8>, KeyError> {
    let unsupported = || KeyError::UnsupportedEncryption {
        scheme: format!("DEK-Info {dek_info}"),
    };
    let (cipher, iv_hex) = dek_info.split_once(',').ok_or_else(unsupported)?;
    let iv = hex(iv_hex.trim()).ok_or_else(unsupported)?;
    if iv.len() < 8 {
        return Err(unsupported());
    }
    let pw = password.as_bytes();
    let salt = &iv[..8];
    let plain = match cipher.trim().to_ascii_uppercase().as_str() {
        "AES-128-CBC" => cbc_decrypt::<Aes128>(&bytes_to_key(pw, salt, 16), &iv, body),
        "AES-192-CBC" => cbc_decrypt::<Aes192>(&bytes_to_key(pw, salt, 24), &iv, body),
        "AES-256-CBC" => cbc_decrypt::<Aes256>(&bytes_to_key(pw, salt, 32), &iv, body),
        "DES-EDE3-CBC" => cbc_decrypt::<TdesEde3>(&bytes_to_key(pw, salt, 24), &iv, body),
        "DES-CBC" => cbc_decrypt::<Des>(&bytes_to_key(pw, salt, 8), &iv, body),
        _ => return Err(unsupported()),
    };
    plain.ok_or(KeyError::WrongPassword)
}

/// CBC with PKCS#7 padding; `None` when the key or IV has the wrong length
/// for the cipher or the padding is wrong (a wrong password).
fn cbc_decrypt<C>(key: &[u8], iv: &[u8], body: &[u8]) -> Option<Vec<u8>>
where
    C: BlockCipherDecrypt + KeyInit,
{
    cbc::Decryptor::<C>::new_from_slices(key, iv)
        .ok()?
        .decrypt_padded_vec::<Pkcs7>(body)
        .ok()
}

/// OpenSSL's `EVP_BytesToKey` with MD5 and one iteration:
/// D1 = MD5(password ‖ salt), Di = MD5(Di-1 ‖ password ‖ salt), key = D1 ‖ D2 ‖ …
fn bytes_to_key(password: &[u8], salt: &[u8], len: usize) -> Vec<u8> {
    let mut key = Vec::with_capacity(len + 16);
    let mut prev: Vec<u8> = Vec::new();
    while key.len() < len {
        let mut md = Md5::new();
        md.update(&prev);
        md.update(password);
        md.update(salt);
        prev = md.finalize().to_vec();
        key.extend_from_slice(&prev);
    }
    key.truncate(len);
    key
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
pub(crate) mod tests;
