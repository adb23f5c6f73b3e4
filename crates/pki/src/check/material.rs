//! Checks that need more than the certificate: the private key (does it match,
//! is its file private) and the chain to the CA.

use super::certificate::Context;
use super::profile::Role;
use super::{Check, KeyFile, Named, Status};
use crate::CertDer;
use crate::chain::{ChainError, Usage, verify, verify_ca};
use crate::key::{mode_is_loose, parse_private_key};

/// The `key` and `key-file` checks.
pub(super) fn key(key: Option<KeyFile<'_>>, leaf_der: &CertDer) -> Vec<Check> {
    let Some(key) = key else {
        return vec![
            Check::new("key", Status::Skip, "no --key given")
                .hint("pass --key KEY to check that the private key belongs to the certificate"),
            Check::new("key-file", Status::Skip, "no --key given"),
        ];
    };
    let name = key.file.name;
    let parsed = parse_private_key(key.file.bytes);
    let not_a_key = matches!(parsed, Err(crate::key::KeyError::NotAKey { .. }));
    let matched = match parsed {
        Ok(k) if k.matches_certificate(leaf_der) => Check::new(
            "key",
            Status::Pass,
            format!("{name} ({}, {}) belongs to the certificate", k.kind(), k.format.name()),
        ),
        Ok(k) => Check::new(
            "key",
            Status::Fail,
            format!("{name} does not belong to the certificate: its public key ({}) differs from the certificate's", k.kind()),
        )
        .hint("use the key generated with this certificate (or its CSR), or issue a new certificate for this key"),
        Err(e) => Check::new("key", Status::Fail, format!("{name}: {e}")).hint("pass the private key file (PEM or DER) with --key"),
    };
    let file = match key.mode {
        // A certificate (or anything else that is no key) is public: its mode says nothing.
        _ if not_a_key => Check::new(
            "key-file",
            Status::Skip,
            format!("{name} holds no private key, so its permissions are not judged"),
        ),
        None => Check::new("key-file", Status::Skip, "file permissions are not available on this platform"),
        Some(mode) if mode_is_loose(mode) => Check::new(
            "key-file",
            Status::Fail,
            format!(
                "{name} is readable by {} (mode {:04o}): anyone who can read it can impersonate this certificate",
                if mode & 0o004 != 0 { "everyone" } else { "its group" },
                mode & 0o7777
            ),
        )
        .hint(format!("chmod 600 {name}")),
        Some(mode) => Check::new("key-file", Status::Pass, format!("{name} is private to its owner (mode {:04o})", mode & 0o7777)),
    };
    vec![matched, file]
}

/// The chain check and, when it verified, the path.
pub(super) struct ChainOutcome {
    pub check: Check,
    pub path: Option<Vec<String>>,
    /// The verified path, leaf first, with its anchor, for the profile checks.
    pub certs: Option<Vec<(CertDer, Role)>>,
}

pub(super) fn chain(
    ctx: &Context<'_>,
    ca: Option<Named<'_>>,
    intermediates: &[CertDer],
    nearby: &[Named<'_>],
) -> ChainOutcome {
    let Some(ca) = ca else {
        let check = if ctx.leaf.self_signed {
            Check::new(
                "chain",
                Status::Skip,
                "self-signed: there is no chain to verify",
            )
            .hint("pass --ca to check it against a trust store")
        } else {
            Check::new("chain", Status::Skip, "no --ca given")
                .hint("pass --ca CA_FILE to verify the chain to the CA")
        };
        return ChainOutcome {
            check,
            path: None,
            certs: None,
        };
    };
    let anchors = match crate::bundle::parse_certificates(ca.bytes) {
        Ok(a) => a,
        Err(e) => {
            return ChainOutcome {
                check: Check::new("chain", Status::Fail, format!("{} (--ca): {e}", ca.name))
                    .hint("--ca takes the CA certificate(s) as PEM or DER"),
                path: None,
                certs: None,
            };
        }
    };
    // A self-signed certificate that --ca holds byte for byte is pinned: it
    // authenticates as itself, CA:TRUE or not (RFC 8705 §2.2).
    if ctx.leaf.self_signed
        && ctx.usage == Usage::Client
        && anchors.iter().any(|a| a.as_ref() == ctx.leaf_der.as_ref())
    {
        return ChainOutcome {
            check: Check::new(
                "chain",
                Status::Pass,
                format!(
                    "pinned: {} holds this exact self-signed certificate, which authenticates as itself (self_signed_tls_client_auth)",
                    ca.name
                ),
            ),
            path: Some(vec![ctx.leaf.display_name().to_string()]),
            certs: Some(vec![(ctx.leaf_der.clone(), Role::Leaf)]),
        };
    }
    // A self-signed certificate that --ca does not hold: it can only be pinned,
    // so the story is which certificate --ca holds instead, not CA-ness.
    if ctx.leaf.self_signed
        && ctx.usage == Usage::Client
        && ctx.leaf.trust_role() == crate::inspect::TrustRole::Pinned
    {
        let twin = anchors
            .iter()
            .filter_map(|a| crate::inspect::CertInfo::from_der(a).ok())
            .find(|a| a.subject_raw == ctx.leaf.subject_raw);
        let message = match twin {
            Some(t) => format!(
                "self-signed, and {} holds another certificate with the same name ('{}', SHA-256 {}): a self-signed certificate authenticates only when that exact certificate is in the trust store",
                ca.name,
                t.display_name(),
                t.sha256_fingerprint
            ),
            None => format!(
                "self-signed, and {} does not hold it: a self-signed certificate authenticates only when that exact certificate is in the trust store",
                ca.name
            ),
        };
        return ChainOutcome {
            check: Check::new("chain", Status::Fail, message)
                .hint("put this certificate itself in the trust store (--ca), or present the one the trust store holds"),
            path: None,
            certs: None,
        };
    }
    match verify_for(ctx, intermediates, &anchors) {
        Ok(v) => {
            let anchor_is_root =
                crate::inspect::CertInfo::from_der(&anchors[v.anchor]).is_ok_and(|a| a.self_signed);
            let path_text = v
                .path
                .iter()
                .map(|p| format!("'{p}'"))
                .collect::<Vec<_>>()
                .join(" → ");
            let check = if !anchor_is_root
                && ctx.usage == Usage::Server
                && intermediates.is_empty()
                && !ctx.leaf.self_signed
            {
                Check::new(
                    "chain",
                    Status::Fail,
                    format!("verifies ({path_text}) only because {} holds the intermediate, which the server does not send: clients that trust only the root will refuse the server", ca.name),
                )
                .hint("append the intermediate certificate after the leaf in the certificate file the server presents")
            } else {
                Check::new(
                    "chain",
                    Status::Pass,
                    format!("verifies to {}: {path_text}", ca.name),
                )
            };
            ChainOutcome {
                check,
                certs: Some(roles(&v, &anchors)),
                path: Some(v.path),
            }
        }
        Err(e)
            if !(ctx.leaf.is_ca && ctx.usage == Usage::Any)
                && let Some((v, around)) = crate::chain::verify_around(
                    ctx.leaf_der,
                    intermediates,
                    &anchors,
                    ctx.usage,
                    ctx.now,
                ) =>
        {
            let path_text = v
                .path
                .iter()
                .map(|p| format!("'{p}'"))
                .collect::<Vec<_>>()
                .join(" → ");
            let check = Check::new(
                "chain",
                Status::Warn,
                format!(
                    "verifies to {} by RFC 5280 ({path_text}), as OpenSSL and pyca find: {}; but rustls-webpki, which certbound's server and rustls peers use, refuses it ({e})",
                    ca.name,
                    around.reason()
                ),
            )
            .hint(match around {
                crate::chain::Around::SelfIssued => "for rustls peers, send a chain without the self-issued (key rollover) certificate: the new CA key cross-signed by the root, or the leaf re-issued under the old key",
                crate::chain::Around::NameConstraints => "for rustls peers, constrain the CA with dNSName and iPAddress subtrees only",
            });
            ChainOutcome {
                check,
                certs: Some(roles(&v, &anchors)),
                path: Some(v.path),
            }
        }
        Err(e) => {
            let check = match (&e, found_nearby(ctx, intermediates, &anchors, nearby)) {
                (
                    ChainError::UnknownCa { cert, issuer, .. }
                    | ChainError::MissingIntermediate { cert, issuer, .. },
                    Some(file),
                ) => Check::new(
                    "chain",
                    Status::Fail,
                    format!(
                        "missing intermediate: '{cert}' was issued by '{issuer}', which is not in the chain; {file} holds it, and {} holds its parent",
                        ca.name
                    ),
                )
                .hint(format!(
                    "append {file} after the leaf in the certificate file that is presented (or pass --chain {file})"
                )),
                // The purpose check has said it: one cause, one FAIL line.
                (ChainError::CaAsLeaf { .. }, _)
                    if ctx.leaf.is_ca && !(ctx.leaf.self_signed && ctx.usage == Usage::Client) =>
                {
                    Check::new(
                        "chain",
                        Status::Skip,
                        format!("see purpose: a CA certificate was given, not a {} certificate", ctx.usage),
                    )
                    .hint("check the leaf itself, or check this CA with --usage any")
                }
                _ => Check::new("chain", Status::Fail, e.to_string()).hint(e.hint()),
            };
            ChainOutcome {
                check,
                path: None,
                certs: None,
            }
        }
    }
}

/// The verified path with each certificate's role, and its anchor.
fn roles(v: &crate::chain::VerifiedChain, anchors: &[CertDer]) -> Vec<(CertDer, Role)> {
    let mut certs: Vec<(CertDer, Role)> = v
        .certs
        .iter()
        .enumerate()
        .map(|(i, c)| (c.clone(), if i == 0 { Role::Leaf } else { Role::Issuer }))
        .collect();
    if !v
        .certs
        .iter()
        .any(|c| c.as_ref() == anchors[v.anchor].as_ref())
    {
        certs.push((anchors[v.anchor].clone(), Role::Anchor));
    }
    certs
}

/// The nearby file holding a CA certificate that, added to the chain, makes
/// it verify: the intermediate that is missing. Of several such files, the
/// one with the fewest certificates (the intermediate's own file rather than
/// a bundle).
fn found_nearby<'a>(
    ctx: &Context<'_>,
    intermediates: &[CertDer],
    anchors: &[CertDer],
    nearby: &[Named<'a>],
) -> Option<&'a str> {
    // Only a CA named as the issuer of a certificate at hand can be the
    // missing link: the others are not verified at all.
    let wanted: Vec<Vec<u8>> = std::iter::once(ctx.leaf.issuer_raw.clone())
        .chain(
            intermediates
                .iter()
                .filter_map(|c| crate::inspect::CertInfo::from_der(c).ok())
                .map(|i| i.issuer_raw),
        )
        .collect();
    nearby
        .iter()
        .filter_map(|file| {
            let certs = crate::bundle::parse_certificates(file.bytes).ok()?;
            let count = certs.len();
            certs
                .into_iter()
                .filter(|c| {
                    crate::inspect::CertInfo::from_der(c)
                        .is_ok_and(|i| i.is_ca && !i.self_signed && wanted.contains(&i.subject_raw))
                })
                .any(|c| {
                    let mut with = intermediates.to_vec();
                    with.push(c);
                    verify_for(ctx, &with, anchors).is_ok()
                })
                .then_some((count, file.name))
        })
        .min_by_key(|(count, _)| *count)
        .map(|(_, name)| name)
}

/// The chain verification `check` runs: a CA certificate checked for no
/// particular use verifies as a CA; anything else as a client or server.
fn verify_for(
    ctx: &Context<'_>,
    intermediates: &[CertDer],
    anchors: &[CertDer],
) -> Result<crate::chain::VerifiedChain, ChainError> {
    if ctx.leaf.is_ca && ctx.usage == Usage::Any {
        verify_ca(ctx.leaf_der, intermediates, anchors, ctx.now)
    } else {
        verify(ctx.leaf_der, intermediates, anchors, ctx.usage, ctx.now)
    }
}
