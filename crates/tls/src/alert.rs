//! TLS alerts in words. A server that rejects a client says so with one byte
//! (`unknown_ca`, `certificate_required`, ...); this module turns that byte,
//! together with what the client knows (did it send a certificate, which CA
//! names did the server accept, when does its certificate expire), into a
//! cause and a fix.

use std::borrow::Cow;

use certbound_pki::CertInfo;
use certbound_pki::time_fmt::{date, relative};
use time::OffsetDateTime;

use crate::report::{ClientAuthReport, Diagnosis};

/// Alert codes with a diagnosis of their own (RFC 8446 §6, RFC 5246 §7.2).
pub mod code {
    pub const CLOSE_NOTIFY: u8 = 0;
    pub const HANDSHAKE_FAILURE: u8 = 40;
    pub const BAD_CERTIFICATE: u8 = 42;
    pub const UNSUPPORTED_CERTIFICATE: u8 = 43;
    pub const CERTIFICATE_REVOKED: u8 = 44;
    pub const CERTIFICATE_EXPIRED: u8 = 45;
    pub const CERTIFICATE_UNKNOWN: u8 = 46;
    pub const UNKNOWN_CA: u8 = 48;
    pub const ACCESS_DENIED: u8 = 49;
    pub const DECRYPT_ERROR: u8 = 51;
    pub const PROTOCOL_VERSION: u8 = 70;
    pub const INSUFFICIENT_SECURITY: u8 = 71;
    pub const UNRECOGNIZED_NAME: u8 = 112;
    pub const CERTIFICATE_REQUIRED: u8 = 116;
    pub const NO_APPLICATION_PROTOCOL: u8 = 120;
}

/// The alert's name as the RFCs and openssl write it.
pub fn name(code: u8) -> Cow<'static, str> {
    Cow::Borrowed(match code {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        121 => "ech_required",
        other => return Cow::Owned(format!("alert {other}")),
    })
}

/// What the client knows when an alert arrives from the server.
#[derive(Debug, Clone, Copy)]
pub struct AlertContext<'a> {
    pub client_auth: &'a ClientAuthReport,
    /// The client certificate configured, if any.
    pub client_leaf: Option<&'a CertInfo>,
    /// A ServerHello arrived before the alert.
    pub server_hello_seen: bool,
    /// The client had finished its side of the handshake.
    pub after_handshake: bool,
    /// The versions offered, in words ("TLS 1.2 and 1.3").
    pub versions_offered: &'a str,
    pub server_name: &'a str,
    pub now: OffsetDateTime,
}

const CERT_FLAGS: &str = "pass --cert and --key (or a --tls profile with cert and key)";

/// The cause and fix for an alert the server sent.
pub fn explain(alert: u8, ctx: &AlertContext<'_>) -> Diagnosis {
    let auth = ctx.client_auth;
    let subject = ctx
        .client_leaf
        .map(|l| l.display_name().to_string())
        .unwrap_or_default();
    let issuer = ctx
        .client_leaf
        .map(|l| l.issuer_display_name().to_string())
        .unwrap_or_default();
    let nothing_sent = auth.requested && !auth.certificate_sent;
    let (cause, fix) = match alert {
        code::CERTIFICATE_REQUIRED | 41 if nothing_sent => no_cert_sent(auth),
        code::HANDSHAKE_FAILURE if nothing_sent => {
            let (cause, fix) = no_cert_sent(auth);
            (
                format!("{cause} (TLS 1.2 servers such as OpenSSL report a missing client certificate as handshake_failure)"),
                fix,
            )
        }
        code::HANDSHAKE_FAILURE if !ctx.server_hello_seen => (
            format!(
                "the server refused the ClientHello: it shares no protocol version, cipher suite or key-exchange group with this client ({} offered), or it refused the server name '{}'",
                ctx.versions_offered, ctx.server_name
            ),
            "try --tls1.2 or --tls1.3, and compare with `openssl s_client -connect HOST:PORT -tls1_2` to see what the server accepts".into(),
        ),
        code::CERTIFICATE_REQUIRED => (
            "the server requires a client certificate and says none arrived".into(),
            format!("{CERT_FLAGS}, and check that the key belongs to the certificate"),
        ),
        code::UNKNOWN_CA => unknown_ca(auth, ctx.client_leaf),
        code::BAD_CERTIFICATE => (
            format!(
                "the server rejected your certificate '{subject}' as bad: it is malformed, its signature does not verify against the issuer the server has, or the server's checks failed without a more precise alert"
            ),
            "run `certbound check CERT --key KEY --ca CA --usage client` with the server's CA; if it passes, ask the server's operator what its log says".into(),
        ),
        code::UNSUPPORTED_CERTIFICATE => {
            let eku = ctx.client_leaf.map(|l| {
                if l.extended_key_usage.is_none() {
                    "it has no extended key usage extension".to_string()
                } else if l.has_eku(certbound_pki::oid::EKU_CLIENT_AUTH) {
                    "it does list clientAuth, so the server objects to another usage or key type".to_string()
                } else {
                    format!("its extended key usage is {} — without clientAuth", l.eku_names().join(", "))
                }
            });
            (
                format!(
                    "the server does not accept your certificate '{subject}' for client authentication (wrong extended key usage){}",
                    eku.map(|e| format!(": {e}")).unwrap_or_default()
                ),
                "use a client certificate whose extended key usage includes clientAuth (`certbound pki issue client --ca DIR --name NAME`)".into(),
            )
        }
        code::CERTIFICATE_EXPIRED => {
            let local = ctx.client_leaf.map(|l| {
                if ctx.now > l.not_after {
                    format!("'{subject}' expired on {} ({})", date(l.not_after), relative(ctx.now, l.not_after))
                } else if ctx.now < l.not_before {
                    format!("'{subject}' is not valid until {} ({})", date(l.not_before), relative(ctx.now, l.not_before))
                } else {
                    format!(
                        "'{subject}' is valid here until {}; the problem is an intermediate in your chain, or the server's clock",
                        date(l.not_after)
                    )
                }
            });
            (
                format!(
                    "the server says your certificate (or one in its chain) has expired or is not yet valid{}",
                    local.map(|l| format!(": {l}")).unwrap_or_default()
                ),
                format!("renew the client certificate{} and deploy it with its chain", if issuer.is_empty() { String::new() } else { format!(" from '{issuer}'") }),
            )
        }
        code::CERTIFICATE_REVOKED => (
            format!("the server says your certificate '{subject}' has been revoked"),
            "get a new certificate from your CA".into(),
        ),
        code::CERTIFICATE_UNKNOWN => (
            format!("the server refused your certificate '{subject}' for an unspecified reason"),
            "run `certbound check CERT --key KEY --ca CA --usage client`, and ask the server's operator what its log says".into(),
        ),
        code::ACCESS_DENIED => (
            format!(
                "the server verified your certificate '{subject}' but refuses access: the certificate is valid but not authorized (not registered for this client, or not on an allow list)"
            ),
            format!(
                "ask the server's operator to authorize this certificate{}",
                ctx.client_leaf
                    .map(|l| format!(" (subject {}, SHA-256 {})", l.subject, l.sha256_fingerprint))
                    .unwrap_or_default()
            ),
        ),
        code::DECRYPT_ERROR => (
            "the server could not verify a handshake signature: the private key may not belong to the certificate, or the connection was tampered with".into(),
            "check that the key matches the certificate (`certbound check CERT --key KEY`)".into(),
        ),
        code::PROTOCOL_VERSION => (
            format!("the server does not speak the TLS version offered ({})", ctx.versions_offered),
            "try --tls1.2 or --tls1.3 (or drop the one given); if neither works, the server needs an update".into(),
        ),
        code::INSUFFICIENT_SECURITY => (
            "the server requires stronger cipher suites than the client offered".into(),
            "compare with `openssl s_client -connect HOST:PORT` to see what the server accepts".into(),
        ),
        code::UNRECOGNIZED_NAME => (
            format!("the server does not serve the name '{}' sent in SNI", ctx.server_name),
            "pass the name the server expects with --servername".into(),
        ),
        code::NO_APPLICATION_PROTOCOL => (
            "the server supports none of the application protocols (ALPN) offered".into(),
            "try --http1.1 or --http2 (request), or ask which protocols the server speaks".into(),
        ),
        code::CLOSE_NOTIFY if ctx.after_handshake => (
            "the server closed the connection right after the handshake (close_notify)".into(),
            "the server may refuse this client after verifying it; ask its operator what its log says".into(),
        ),
        code::HANDSHAKE_FAILURE => (
            "the server aborted the handshake (handshake_failure) without a more precise reason".into(),
            "check the versions (--tls1.2/--tls1.3) and the client certificate with `certbound check`; the server's log says more".into(),
        ),
        other => (
            format!("the server sent the alert {}", name(other)),
            "the server's log says more; compare with `openssl s_client -connect HOST:PORT -cert CERT -key KEY`".into(),
        ),
    };
    Diagnosis {
        code: name(alert).into_owned(),
        cause,
        fix,
    }
}

fn no_cert_sent(auth: &ClientAuthReport) -> (String, String) {
    if auth.certificate_configured {
        (
            "the server requires a client certificate and yours was not sent: the server accepts none of the signature schemes your key can make".into(),
            "use a certificate with an ECDSA P-256 or RSA 2048+ key, which every server accepts".into(),
        )
    } else {
        (
            "the server requires a client certificate and none was sent".into(),
            CERT_FLAGS.into(),
        )
    }
}

fn unknown_ca(auth: &ClientAuthReport, leaf: Option<&CertInfo>) -> (String, String) {
    let Some(leaf) = leaf.filter(|_| auth.certificate_sent) else {
        return (
            "the server does not trust the issuer of the client certificate (unknown_ca)".into(),
            CERT_FLAGS.into(),
        );
    };
    let subject = leaf.display_name();
    let issuer = leaf.issuer_display_name();
    let chain_length = auth.certificate.as_ref().map_or(1, |c| c.chain_length);
    let names = if auth.acceptable_ca_names.is_empty() {
        String::new()
    } else {
        format!(
            "; it accepts certificates from {}",
            auth.acceptable_ca_names
                .iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    if leaf.self_signed {
        return (
            format!(
                "the server does not trust your self-signed certificate '{subject}'{names}"
            ),
            "a self-signed certificate is trusted only when that exact certificate is in the server's trust store: send it to the server's operator".into(),
        );
    }
    if chain_length == 1 {
        return (
            format!(
                "the server does not trust your issuer '{issuer}', or your intermediate is missing: you sent only '{subject}', issued by '{issuer}'{names}"
            ),
            format!(
                "if '{issuer}' is an intermediate CA, append its certificate after yours in the certificate file; otherwise have the server trust '{issuer}'"
            ),
        );
    }
    (
        format!(
            "the server does not trust the CA of your chain: '{subject}' was sent with {} intermediate{}, issued by '{issuer}'{names}",
            chain_length - 1,
            if chain_length == 2 { "" } else { "s" }
        ),
        format!(
            "have the server add the root CA of '{issuer}' to its client CA file, or use a certificate from a CA it trusts"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(auth: &'a ClientAuthReport) -> AlertContext<'a> {
        AlertContext {
            client_auth: auth,
            client_leaf: None,
            server_hello_seen: true,
            after_handshake: false,
            versions_offered: "TLS 1.2 and 1.3",
            server_name: "localhost",
            now: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn names_follow_the_rfcs() {
        assert_eq!(name(116), "certificate_required");
        assert_eq!(name(48), "unknown_ca");
        assert_eq!(name(250), "alert 250");
    }

    #[test]
    fn a_missing_certificate_is_named_whatever_the_alert() {
        let auth = ClientAuthReport {
            requested: true,
            ..ClientAuthReport::default()
        };
        for alert in [code::CERTIFICATE_REQUIRED, code::HANDSHAKE_FAILURE] {
            let d = explain(alert, &ctx(&auth));
            assert!(d.cause.contains("none was sent"), "{d:?}");
            assert!(d.fix.contains("--cert"), "{d:?}");
        }
    }

    #[test]
    fn handshake_failure_before_server_hello_is_about_versions() {
        let auth = ClientAuthReport::default();
        let mut c = ctx(&auth);
        c.server_hello_seen = false;
        let d = explain(code::HANDSHAKE_FAILURE, &c);
        assert!(d.cause.contains("protocol version"), "{d:?}");
    }
}
