//! Names for the object identifiers users meet in certificates: signature
//! algorithms, extended key usages and curves, in the words openssl prints.

/// `serverAuth` (1.3.6.1.5.5.7.3.1).
pub const EKU_SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
/// `clientAuth` (1.3.6.1.5.5.7.3.2).
pub const EKU_CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";

/// A signature algorithm: its name and whether it is too weak to trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureAlgorithm {
    pub name: &'static str,
    /// MD5 and SHA-1 signatures can be forged; modern clients reject them.
    pub weak: bool,
}

/// Name a signature algorithm OID (dotted form).
pub fn signature_algorithm(oid: &str) -> SignatureAlgorithm {
    let (name, weak) = match oid {
        "1.2.840.113549.1.1.4" => ("md5WithRSAEncryption", true),
        "1.2.840.113549.1.1.5" => ("sha1WithRSAEncryption", true),
        "1.2.840.113549.1.1.11" => ("sha256WithRSAEncryption", false),
        "1.2.840.113549.1.1.12" => ("sha384WithRSAEncryption", false),
        "1.2.840.113549.1.1.13" => ("sha512WithRSAEncryption", false),
        "1.2.840.113549.1.1.10" => ("rsassaPss", false),
        "1.2.840.10045.4.1" => ("ecdsa-with-SHA1", true),
        "1.2.840.10045.4.3.2" => ("ecdsa-with-SHA256", false),
        "1.2.840.10045.4.3.3" => ("ecdsa-with-SHA384", false),
        "1.2.840.10045.4.3.4" => ("ecdsa-with-SHA512", false),
        "1.3.101.112" => ("ED25519", false),
        "1.3.101.113" => ("ED448", false),
        "1.2.840.10040.4.3" => ("dsa-with-SHA1", true),
        _ => ("unknown", false),
    };
    SignatureAlgorithm { name, weak }
}

/// Name an extended key usage OID the way `openssl x509 -text` does, with its
/// short name: "TLS Web Client Authentication (clientAuth)".
pub fn eku_name(oid: &str) -> String {
    let name = match oid {
        EKU_SERVER_AUTH => "TLS Web Server Authentication (serverAuth)",
        EKU_CLIENT_AUTH => "TLS Web Client Authentication (clientAuth)",
        "1.3.6.1.5.5.7.3.3" => "Code Signing (codeSigning)",
        "1.3.6.1.5.5.7.3.4" => "E-mail Protection (emailProtection)",
        "1.3.6.1.5.5.7.3.8" => "Time Stamping (timeStamping)",
        "1.3.6.1.5.5.7.3.9" => "OCSP Signing (OCSPSigning)",
        "2.5.29.37.0" => "Any Extended Key Usage (anyExtendedKeyUsage)",
        other => return other.to_string(),
    };
    name.to_string()
}

/// Name an elliptic curve OID.
pub fn curve_name(oid: &str) -> Option<&'static str> {
    match oid {
        "1.2.840.10045.3.1.7" => Some("P-256"),
        "1.3.132.0.34" => Some("P-384"),
        "1.3.132.0.35" => Some("P-521"),
        "1.3.132.0.10" => Some("secp256k1"),
        "1.2.840.10045.3.1.1" => Some("P-192"),
        "1.3.132.0.33" => Some("P-224"),
        "1.3.132.0.31" => Some("secp192k1"),
        "1.3.132.0.32" => Some("secp224k1"),
        "1.3.36.3.3.2.8.1.1.3" => Some("brainpoolP192r1"),
        "1.3.36.3.3.2.8.1.1.5" => Some("brainpoolP224r1"),
        "1.3.36.3.3.2.8.1.1.7" => Some("brainpoolP256r1"),
        "1.3.36.3.3.2.8.1.1.11" => Some("brainpoolP384r1"),
        "1.3.36.3.3.2.8.1.1.13" => Some("brainpoolP512r1"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(signature_algorithm("1.2.840.113549.1.1.5").weak);
        assert!(!signature_algorithm("1.2.840.10045.4.3.2").weak);
        assert_eq!(
            eku_name(EKU_CLIENT_AUTH),
            "TLS Web Client Authentication (clientAuth)"
        );
        assert_eq!(eku_name("1.2.3.4"), "1.2.3.4");
        assert_eq!(curve_name("1.3.132.0.34"), Some("P-384"));
    }
}
