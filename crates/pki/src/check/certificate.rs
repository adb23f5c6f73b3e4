//! Checks that read only the certificate: dates, purpose (EKU), keyUsage,
//! host name, algorithm strength, and whether it is self-signed.

use time::OffsetDateTime;

use super::{Check, Status};
use crate::CertDer;
use crate::chain::Usage;
use crate::host::{HostVerdict, check_host};
use crate::inspect::{CertInfo, KeyKind};
use crate::oid::{EKU_CLIENT_AUTH, EKU_SERVER_AUTH};
use crate::time_fmt::{date, relative};

/// Smallest RSA modulus accepted.
pub const MIN_RSA_BITS: usize = 2048;

/// The leaf and the circumstances of the check.
pub(super) struct Context<'a> {
    pub leaf: &'a CertInfo,
    pub leaf_der: &'a CertDer,
    pub usage: Usage,
    pub now: OffsetDateTime,
    pub warn_days: u32,
}

fn renew_hint(usage: Usage) -> &'static str {
    match usage {
        Usage::Server => "issue a new one with `certbound pki issue server`",
        _ => "issue a new one with `certbound pki issue client`",
    }
}

pub(super) fn validity(ctx: &Context<'_>, file: &str) -> Check {
    let c = ctx.leaf;
    if ctx.now < c.not_before {
        return Check::new(
            "validity",
            Status::Fail,
            format!(
                "{file} is not valid until {} ({}); the clocks of the issuer and this machine may disagree",
                date(c.not_before),
                relative(ctx.now, c.not_before)
            ),
        )
        .hint("check this machine's clock (and the CA's), or wait until the certificate becomes valid");
    }
    if ctx.now > c.not_after {
        return Check::new(
            "validity",
            Status::Fail,
            format!(
                "{file} expired on {} ({})",
                date(c.not_after),
                relative(ctx.now, c.not_after)
            ),
        )
        .hint(renew_hint(ctx.usage));
    }
    let left = c.not_after - ctx.now;
    if left.whole_days() < i64::from(ctx.warn_days) {
        return Check::new(
            "validity",
            Status::Warn,
            format!(
                "{file} expires on {} ({}), within {} days",
                date(c.not_after),
                relative(ctx.now, c.not_after),
                ctx.warn_days
            ),
        )
        .hint(format!("renew it soon: {}", renew_hint(ctx.usage)));
    }
    Check::new(
        "validity",
        Status::Pass,
        format!(
            "valid from {} until {} ({})",
            date(c.not_before),
            date(c.not_after),
            relative(ctx.now, c.not_after)
        ),
    )
}

pub(super) fn purpose(ctx: &Context<'_>) -> Check {
    let c = ctx.leaf;
    let (eku, word) = match ctx.usage {
        Usage::Client => (EKU_CLIENT_AUTH, "client"),
        Usage::Server => (EKU_SERVER_AUTH, "server"),
        Usage::Any => {
            let what = if c.is_ca {
                "a CA certificate"
            } else {
                "a leaf certificate"
            };
            let ekus = match &c.extended_key_usage {
                None => "no EKU extension (any purpose)".to_string(),
                Some(_) => format!("EKU {}", c.eku_names().join(", ")),
            };
            return Check::new("purpose", Status::Pass, format!("{what}; {ekus}"))
                .hint("pass --usage client or --usage server to check it is fit for that role");
        }
    };
    if c.is_ca && c.self_signed && ctx.usage == Usage::Client {
        return Check::new(
            "purpose",
            Status::Warn,
            "self-signed and marked CA:TRUE (OpenSSL 3's default for `req -x509`): certbound and most servers authenticate it as itself when its trust store holds it, but verifiers that refuse a CA certificate as a client's (rustls-webpki) will not",
        )
        .hint("when you make the next one, add `-addext basicConstraints=critical,CA:FALSE -addext extendedKeyUsage=clientAuth` (or use `certbound pki self-signed`)");
    }
    if c.is_ca {
        return Check::new(
            "purpose",
            Status::Fail,
            format!(
                "this is a CA certificate (basicConstraints CA:TRUE), not a {word} certificate"
            ),
        )
        .hint(format!(
            "check the {word} certificate itself; the CA belongs in --ca"
        ));
    }
    match &c.extended_key_usage {
        None => Check::new(
            "purpose",
            Status::Warn,
            format!("no Extended Key Usage extension: most peers accept it for any purpose, some require {} explicitly", eku_short(eku)),
        )
        .hint(renew_hint(ctx.usage)),
        Some(_) if c.has_eku(eku) => Check::new(
            "purpose",
            Status::Pass,
            format!("fit for a {word}: EKU {}", c.eku_names().join(", ")),
        ),
        Some(list) => {
            let have = if list.is_empty() {
                "an empty EKU extension".to_string()
            } else {
                format!("EKU {}", c.eku_names().join(", "))
            };
            Check::new(
                "purpose",
                Status::Fail,
                format!(
                    "not usable as a {word} certificate: it has {have}, without {}",
                    crate::oid::eku_name(eku)
                ),
            )
            .hint(renew_hint(ctx.usage))
        }
    }
}

fn eku_short(eku: &str) -> &'static str {
    if eku == EKU_CLIENT_AUTH {
        "TLS Web Client Authentication (clientAuth)"
    } else {
        "TLS Web Server Authentication (serverAuth)"
    }
}

pub(super) fn key_usage(ctx: &Context<'_>) -> Check {
    let c = ctx.leaf;
    let Some(ku) = &c.key_usage else {
        return Check::new(
            "key-usage",
            Status::Pass,
            "no keyUsage extension (any use of the key allowed)",
        );
    };
    let has = |name: &str| ku.iter().any(|k| k == name);
    let list = if ku.is_empty() {
        "(none)".to_string()
    } else {
        ku.join(", ")
    };
    if c.is_ca {
        if !has("keyCertSign") {
            return Check::new(
                "key-usage",
                Status::Fail,
                format!("CA certificate whose keyUsage ({list}) lacks keyCertSign: it cannot sign certificates"),
            )
            .hint("re-create the CA with keyUsage keyCertSign, cRLSign (`certbound pki init`)");
        }
        return Check::new("key-usage", Status::Pass, format!("keyUsage {list}"));
    }
    if !has("digitalSignature") {
        let why = if ctx.usage == Usage::Server
            && matches!(c.key, KeyKind::Rsa { .. })
            && has("keyEncipherment")
        {
            "keyEncipherment alone only allows RSA key exchange, which TLS 1.3 and modern servers do not use"
        } else {
            "TLS authentication signs with the key"
        };
        return Check::new(
            "key-usage",
            Status::Fail,
            format!("keyUsage ({list}) lacks digitalSignature: {why}"),
        )
        .hint(renew_hint(ctx.usage));
    }
    let inconsistent: Vec<&str> = match c.key {
        KeyKind::Ec { .. } => ["keyEncipherment", "dataEncipherment"]
            .into_iter()
            .filter(|k| has(k))
            .collect(),
        KeyKind::Ed25519 | KeyKind::Ed448 => {
            ["keyEncipherment", "dataEncipherment", "keyAgreement"]
                .into_iter()
                .filter(|k| has(k))
                .collect()
        }
        KeyKind::Rsa { .. } => ["keyAgreement"].into_iter().filter(|k| has(k)).collect(),
        KeyKind::Other { .. } => Vec::new(),
    };
    if !inconsistent.is_empty() {
        return Check::new(
            "key-usage",
            Status::Warn,
            format!(
                "keyUsage {list}: {} does not apply to a {} key",
                inconsistent.join(", "),
                c.key
            ),
        )
        .hint("harmless for most peers, but strict ones reject it; re-issue with keyUsage digitalSignature");
    }
    Check::new(
        "key-usage",
        Status::Pass,
        format!("keyUsage {list}, consistent with the {} key", c.key),
    )
}

pub(super) fn host(ctx: &Context<'_>, host: Option<&str>) -> Check {
    let Some(host) = host else {
        return Check::new("host", Status::Skip, "no --host given")
            .hint("pass --host NAME to check a host name against the SANs");
    };
    match check_host(ctx.leaf_der, ctx.leaf, host) {
        HostVerdict::Match => Check::new("host", Status::Pass, format!("{host} matches the subject alternative names")),
        HostVerdict::CommonNameOnly { cn } => Check::new(
            "host",
            Status::Fail,
            format!(
                "{host} matches only the subject CN ({cn}); modern clients ignore the CN and check the SANs, which are: {}",
                san_list(ctx.leaf)
            ),
        )
        .hint(format!("re-issue the certificate with {host} as a SAN: `certbound pki issue server --dns {host}`")),
        HostVerdict::NoMatch { sans } => Check::new(
            "host",
            Status::Fail,
            format!(
                "{host} is not named by the certificate: its SANs are {}",
                if sans.is_empty() { "absent".to_string() } else { sans.join(", ") }
            ),
        )
        .hint(format!("connect with a name the certificate has, or re-issue it with {host} (`--dns` or `--ip`)")),
        HostVerdict::InvalidHost { reason } => {
            Check::new("host", Status::Fail, format!("`{host}` is not a valid host name or IP address: {reason}"))
                .hint("pass a DNS name or an IP address to --host")
        }
    }
}

fn san_list(c: &CertInfo) -> String {
    if c.subject_alt_names.is_empty() {
        "absent".to_string()
    } else {
        c.subject_alt_names
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub(super) fn strength(ctx: &Context<'_>, intermediates: &[CertDer]) -> Check {
    let mut problems = Vec::new();
    let others: Vec<CertInfo> = intermediates
        .iter()
        .filter_map(|c| CertInfo::from_der(c).ok())
        .collect();
    for c in std::iter::once(ctx.leaf).chain(others.iter()) {
        if let KeyKind::Rsa { bits } = c.key {
            if bits < MIN_RSA_BITS {
                problems.push(format!(
                    "'{}' has an RSA key of {bits} bits (at least {MIN_RSA_BITS} needed)",
                    c.display_name()
                ));
            }
        }
        // A root's signature on itself is never checked by anyone: only flag it on the leaf.
        let signature_matters = std::ptr::eq(c, ctx.leaf) || !c.self_signed;
        if c.weak_signature && signature_matters {
            problems.push(format!(
                "'{}' is signed with {}, which can be forged",
                c.display_name(),
                c.signature_algorithm
            ));
        }
    }
    if !problems.is_empty() {
        return Check::new("strength", Status::Fail, problems.join("; "))
            .hint("re-issue with an ECDSA P-256 or RSA 2048+ key and a SHA-256 signature (`certbound pki` does)");
    }
    let c = ctx.leaf;
    if let KeyKind::Ec { curve, .. } = &c.key {
        if !matches!(curve.as_str(), "P-256" | "P-384" | "P-521") {
            return Check::new(
                "strength",
                Status::Warn,
                format!("the key uses curve {curve}, which TLS peers rarely accept"),
            )
            .hint("use ECDSA P-256 or P-384");
        }
    }
    Check::new(
        "strength",
        Status::Pass,
        format!("{} key, {} signature", c.key, c.signature_algorithm),
    )
}

pub(super) fn self_signed(ctx: &Context<'_>) -> Check {
    let c = ctx.leaf;
    if !c.self_signed {
        return Check::new(
            "self-signed",
            Status::Pass,
            format!("issued by '{}'", c.issuer_display_name()),
        );
    }
    match c.trust_role() {
        crate::inspect::TrustRole::PinnedCa => {
            return Check::new(
                "self-signed",
                Status::Info,
                "self-signed CA certificate (a root): in a trust store it vouches for the certificates it issued, and for itself",
            );
        }
        crate::inspect::TrustRole::Pinned if c.is_ca => {
            return Check::new(
                "self-signed",
                Status::Info,
                "self-signed, marked CA:TRUE without keyUsage keyCertSign (as `openssl req -x509` makes them): in a certificateTrustStore it authenticates exactly itself, and vouches for no other certificate",
            );
        }
        _ => {}
    }
    let message = match ctx.usage {
        Usage::Server => {
            "self-signed: clients trust it only when this exact certificate is in their trust store (pass it to them as the CA file)"
        }
        _ => {
            "self-signed: a server accepts it only when this exact certificate is in its trust store (the client's certificateTrustStore)"
        }
    };
    Check::new("self-signed", Status::Info, message)
}
