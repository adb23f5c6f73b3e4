//! RFC 5280 §6.1 where rustls-webpki's verdict is wrong, for `check` only:
//! webpki counts self-issued intermediates (a CA's key rollover) toward
//! pathLenConstraint and applies name constraints to them, refuses every
//! directoryName constraint and every rfc822Name constraint. OpenSSL and
//! pyca accept such chains, as the RFC does.
//!
//! When webpki refuses a chain, [`verify_around`] builds the path by names
//! and signatures and judges it itself: webpki still verifies the leaf (its
//! signature, dates, EKU, extensions) against its issuer taken as an anchor
//! without constraints; this module checks each CA above it (signature,
//! dates, CA:TRUE, keyCertSign, critical extensions, EKU) and evaluates
//! pathLenConstraint and name constraints as §6.1.3 and §6.1.4 say. The
//! server never uses it: it authenticates with webpki alone, and `check`
//! says so when the two disagree.

use std::net::IpAddr;

use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;
use webpki::EndEntityCert;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, NameConstraints};
use x509_parser::x509::X509Name;

use super::{AnyUsage, SUPPORTED_SIG_ALGS, Usage, VerifiedChain, signed_by, unix_time};
use crate::CertDer;
use crate::inspect::CertInfo;

/// Longest path tried: the leaf, this many CAs, the anchor.
const MAX_DEPTH: usize = 6;

/// Critical extensions a CA on the path may carry (those webpki and OpenSSL
/// process).
const UNDERSTOOD_CRITICAL: &[&str] = &[
    "2.5.29.15",
    "2.5.29.17",
    "2.5.29.19",
    "2.5.29.30",
    "2.5.29.32",
    "2.5.29.33",
    "2.5.29.36",
    "2.5.29.37",
    "2.5.29.54",
];

/// What made webpki's verdict wrong on a chain that is valid by RFC 5280.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Around {
    /// A self-issued intermediate: it does not count toward
    /// pathLenConstraint and is not subject to name constraints.
    SelfIssued,
    /// Name constraints of a kind webpki does not evaluate (directoryName,
    /// rfc822Name), which the names satisfy.
    NameConstraints,
}

impl Around {
    /// The RFC point, in words.
    pub fn reason(self) -> &'static str {
        match self {
            Around::SelfIssued => {
                "a self-issued intermediate (a CA's new key, signed by its old one) does not count toward pathLenConstraint and is not subject to name constraints (RFC 5280 §4.2.1.9, §6.1.4)"
            }
            Around::NameConstraints => {
                "the names are within the CA's directoryName or rfc822Name constraints (RFC 5280 §4.2.1.10)"
            }
        }
    }
}

/// Verify a chain that webpki refused, by RFC 5280; `None` when it is not
/// valid either (the caller keeps webpki's diagnosis then).
pub fn verify_around(
    leaf: &CertDer,
    intermediates: &[CertDer],
    anchors: &[CertDer],
    usage: Usage,
    now: OffsetDateTime,
) -> Option<(VerifiedChain, Around)> {
    let (path, anchor) = build(leaf, intermediates, anchors)?;
    let anchor_der = &anchors[anchor];
    let issuer = path.get(1).unwrap_or(anchor_der);
    leaf_verifies(leaf, issuer, usage, now)?;
    let mut all: Vec<&CertDer> = path.iter().collect();
    all.push(anchor_der);
    let parsed: Vec<X509Certificate<'_>> = all
        .iter()
        .map(|c| x509_parser::parse_x509_certificate(c).ok().map(|(_, x)| x))
        .collect::<Option<_>>()?;
    let infos: Vec<CertInfo> = all
        .iter()
        .map(|c| CertInfo::from_der(c).ok())
        .collect::<Option<_>>()?;
    for (x, info) in parsed.iter().zip(&infos).skip(1) {
        ca_acceptable(x, info, usage, now)?;
    }
    // pathLenConstraint: the non-self-issued intermediates below each CA.
    for (p, info) in infos.iter().enumerate().skip(1) {
        if let Some(max) = info.path_len {
            let below = infos[1..p].iter().filter(|c| !c.self_issued).count();
            if below > max as usize {
                return None;
            }
        }
    }
    // Name constraints, on every certificate below, self-issued
    // intermediates excepted.
    let mut constrained = false;
    for (p, x) in parsed.iter().enumerate().skip(1) {
        let Ok(Some(nc)) = x.name_constraints() else {
            continue;
        };
        constrained = true;
        for (q, child) in parsed.iter().enumerate().take(p) {
            if q != 0 && infos[q].self_issued {
                continue;
            }
            if !within(nc.value, child)? {
                return None;
            }
        }
    }
    let self_issued = infos[1..infos.len() - 1].iter().any(|c| c.self_issued);
    let around = if self_issued || !constrained {
        Around::SelfIssued
    } else {
        Around::NameConstraints
    };
    let mut names: Vec<String> = infos.iter().map(|i| i.display_name().to_string()).collect();
    if path.iter().any(|c| c.as_ref() == anchor_der.as_ref()) {
        names.pop();
    }
    Some((
        VerifiedChain {
            path: names,
            anchor,
            certs: path,
        },
        around,
    ))
}

/// The path by names and signatures, leaf first, and the anchor's index.
fn build(
    leaf: &CertDer,
    intermediates: &[CertDer],
    anchors: &[CertDer],
) -> Option<(Vec<CertDer>, usize)> {
    let subject = |c: &CertDer| {
        x509_parser::parse_x509_certificate(c)
            .ok()
            .map(|(_, x)| x.subject().as_raw().to_vec())
    };
    let inter_subjects: Vec<Option<Vec<u8>>> = intermediates.iter().map(subject).collect();
    let anchor_subjects: Vec<Option<Vec<u8>>> = anchors.iter().map(subject).collect();
    let mut path = vec![leaf.clone()];
    search(
        &mut path,
        intermediates,
        &inter_subjects,
        anchors,
        &anchor_subjects,
    )
    .map(|anchor| (path, anchor))
}

fn search(
    path: &mut Vec<CertDer>,
    intermediates: &[CertDer],
    inter_subjects: &[Option<Vec<u8>>],
    anchors: &[CertDer],
    anchor_subjects: &[Option<Vec<u8>>],
) -> Option<usize> {
    let current = path.last()?.clone();
    let (_, x) = x509_parser::parse_x509_certificate(&current).ok()?;
    let issuer = x.issuer().as_raw();
    if let Some(i) = (0..anchors.len()).find(|&i| {
        anchor_subjects[i].as_deref() == Some(issuer) && signed_by(&current, &anchors[i])
    }) {
        return Some(i);
    }
    if path.len() > MAX_DEPTH {
        return None;
    }
    for (i, cand) in intermediates.iter().enumerate() {
        if inter_subjects[i].as_deref() != Some(issuer)
            || path.iter().any(|p| p.as_ref() == cand.as_ref())
            || !signed_by(&current, cand)
        {
            continue;
        }
        path.push(cand.clone());
        if let Some(a) = search(
            path,
            intermediates,
            inter_subjects,
            anchors,
            anchor_subjects,
        ) {
            return Some(a);
        }
        path.pop();
    }
    None
}

/// webpki's verdict on the leaf alone, with its issuer as an anchor whose
/// constraints are left to this module.
fn leaf_verifies(
    leaf: &CertDer,
    issuer: &CertDer,
    usage: Usage,
    now: OffsetDateTime,
) -> Option<()> {
    let issuer = CertificateDer::from(issuer.as_ref());
    let mut anchor = webpki::anchor_from_trusted_cert(&issuer).ok()?;
    anchor.name_constraints = None;
    let ee = EndEntityCert::try_from(leaf).ok()?;
    let time = unix_time(now);
    let anchors = [anchor];
    let verified = match usage {
        Usage::Any => ee
            .verify_for_usage(
                SUPPORTED_SIG_ALGS,
                &anchors,
                &[],
                time,
                AnyUsage,
                None,
                None,
            )
            .is_ok(),
        Usage::Client | Usage::Server => {
            let ku = if usage == Usage::Client {
                webpki::KeyUsage::client_auth()
            } else {
                webpki::KeyUsage::server_auth()
            };
            ee.verify_for_usage(SUPPORTED_SIG_ALGS, &anchors, &[], time, ku, None, None)
                .is_ok()
        }
    };
    verified.then_some(())
}

/// What webpki requires of a CA on the path, but for its constraints.
fn ca_acceptable(
    x: &X509Certificate<'_>,
    info: &CertInfo,
    usage: Usage,
    now: OffsetDateTime,
) -> Option<()> {
    let ok = info.is_ca
        && info.is_valid_at(now)
        && info.allows_key_usage("keyCertSign")
        && x.extensions()
            .iter()
            .all(|e| !e.critical || UNDERSTOOD_CRITICAL.contains(&e.oid.to_id_string().as_str()))
        && usage
            .eku_oid()
            .is_none_or(|eku| info.extended_key_usage.is_none() || info.has_eku(eku));
    ok.then_some(())
}

/// Whether the names of `child` are within `nc`; `None` when a constraint
/// or a name is of a kind this module does not evaluate.
fn within(nc: &NameConstraints<'_>, child: &X509Certificate<'_>) -> Option<bool> {
    let mut names: Vec<GeneralName<'_>> = Vec::new();
    if child.subject().iter().next().is_some() {
        names.push(GeneralName::DirectoryName(child.subject().clone()));
    }
    for email in child.subject().iter_email() {
        names.push(GeneralName::RFC822Name(email.as_str().ok()?));
    }
    if let Ok(Some(san)) = child.subject_alternative_name() {
        names.extend(san.value.general_names.iter().cloned());
    }
    let permitted = nc.permitted_subtrees.as_deref().unwrap_or_default();
    let excluded = nc.excluded_subtrees.as_deref().unwrap_or_default();
    for name in &names {
        let same_kind: Vec<&GeneralName<'_>> = permitted
            .iter()
            .map(|s| &s.base)
            .filter(|b| std::mem::discriminant(*b) == std::mem::discriminant(name))
            .collect();
        if !same_kind.is_empty() {
            let mut any = false;
            for base in same_kind {
                any |= matches(base, name)?;
            }
            if !any {
                return Some(false);
            }
        }
        for base in excluded.iter().map(|s| &s.base) {
            if std::mem::discriminant(base) == std::mem::discriminant(name) && matches(base, name)?
            {
                return Some(false);
            }
        }
    }
    Some(true)
}

/// Whether `name` is within the subtree `base` (of the same kind).
fn matches(base: &GeneralName<'_>, name: &GeneralName<'_>) -> Option<bool> {
    Some(match (base, name) {
        (GeneralName::DNSName(c), GeneralName::DNSName(n)) => dns_within(c, n),
        (GeneralName::RFC822Name(c), GeneralName::RFC822Name(n)) => email_within(c, n),
        (GeneralName::URI(c), GeneralName::URI(n)) => {
            let host = uri_host(n)?;
            match c.strip_prefix('.') {
                Some(_) => host.to_ascii_lowercase().ends_with(&c.to_ascii_lowercase()),
                None => host.eq_ignore_ascii_case(c),
            }
        }
        (GeneralName::IPAddress(c), GeneralName::IPAddress(n)) => {
            let half = c.len() / 2;
            if c.len() != 2 * n.len() {
                return Some(false);
            }
            (0..half).all(|i| n[i] & c[half + i] == c[i] & c[half + i])
        }
        (GeneralName::DirectoryName(c), GeneralName::DirectoryName(n)) => dn_within(c, n)?,
        _ => return None,
    })
}

fn dns_within(constraint: &str, name: &str) -> bool {
    let c = constraint.trim_end_matches('.').to_ascii_lowercase();
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    if c.is_empty() {
        return true;
    }
    match c.strip_prefix('.') {
        Some(_) => n.ends_with(&c),
        None => n == c || n.ends_with(&format!(".{c}")),
    }
}

/// RFC 5280 §4.2.1.10: a mailbox, a host, or (with a leading period) any
/// host in a domain.
fn email_within(constraint: &str, name: &str) -> bool {
    let Some((_, host)) = name.rsplit_once('@') else {
        return false;
    };
    if constraint.contains('@') {
        return constraint.eq_ignore_ascii_case(name);
    }
    match constraint.strip_prefix('.') {
        Some(_) => host
            .to_ascii_lowercase()
            .ends_with(&constraint.to_ascii_lowercase()),
        None => host.eq_ignore_ascii_case(constraint),
    }
}

fn uri_host(uri: &str) -> Option<String> {
    let rest = uri.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        host.split(':').next()?
    };
    (!host.is_empty() && host.parse::<IpAddr>().is_err()).then(|| host.to_string())
}

/// Whether the constraint's RDNs begin the name's (RFC 5280 §7.1: values
/// compared without case and with spaces collapsed).
fn dn_within(constraint: &X509Name<'_>, name: &X509Name<'_>) -> Option<bool> {
    let c: Vec<_> = constraint.iter().collect();
    let n: Vec<_> = name.iter().collect();
    if c.len() > n.len() {
        return Some(false);
    }
    for (rc, rn) in c.iter().zip(&n) {
        let (ac, an): (Vec<_>, Vec<_>) = (rc.iter().collect(), rn.iter().collect());
        if ac.len() != an.len() {
            return Some(false);
        }
        for (a, b) in ac.iter().zip(&an) {
            if a.attr_type() != b.attr_type() {
                return Some(false);
            }
            let same = match (a.as_str(), b.as_str()) {
                (Ok(x), Ok(y)) => fold(x) == fold(y),
                _ => a.attr_value().data == b.attr_value().data,
            };
            if !same {
                return Some(false);
            }
        }
    }
    Some(true)
}

fn fold(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}
