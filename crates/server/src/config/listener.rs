//! `[[listener]]`: where certbound listens, with which TLS profile, and
//! what it believes of a TLS-terminating proxy in front of it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use certbound_tls::profile::{RawProfile, TlsProfile};
use serde::Deserialize;

use super::{check_url, no_profile};

pub use certbound_tls::http::{
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, Limits,
};
/// Largest accepted `header_read_timeout_secs` and `idle_timeout_secs`.
pub const MAX_TIMEOUT_SECS: u64 = 3600;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListener {
    pub name: Option<String>,
    /// `127.0.0.1:8443`, `[::1]:8443`, `0.0.0.0:8443`.
    pub bind: Option<String>,
    /// A `[tls.NAME]` profile; absent for plain HTTP (behind a proxy).
    pub tls: Option<String>,
    /// The URL clients use to reach this listener, when it differs from the issuer's
    /// (RFC 8705 §5 `mtls_endpoint_aliases`).
    pub public_url: Option<String>,
    /// A header in which a TLS-terminating proxy forwards the client certificate.
    pub client_cert_header: Option<RawCertHeader>,
    /// Peers whose forwarded-certificate header is believed (CIDR blocks).
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Seconds to send a whole request head (default 10).
    pub header_read_timeout_secs: Option<u64>,
    /// Seconds a connection may stay open with no request in progress (default 60).
    pub idle_timeout_secs: Option<u64>,
    /// Most connections open at once (default 10000); more wait in the backlog.
    pub max_connections: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCertHeader {
    /// Header name; defaults to the format's usual header where it has one.
    pub name: Option<String>,
    /// aws-alb, aws-alb-leaf, nginx, rfc9440, envoy-xfcc, traefik, base64-der, pem.
    pub format: String,
}

#[derive(Debug, Clone)]
pub struct ListenerConfig {
    pub name: String,
    pub bind: SocketAddr,
    pub tls: Option<Arc<TlsProfile>>,
    /// How to load the TLS profile again (certificate reload).
    pub tls_source: Option<crate::reload::TlsSource>,
    pub public_url: Option<String>,
    pub forwarded: Option<crate::forwarded::ForwardedConfig>,
    pub limits: Limits,
}

impl RawListener {
    /// Validate listener `i` against the TLS profiles (`profiles` resolved,
    /// `raw_profiles` as written); `None` when it cannot be used.
    pub fn validate(
        &self,
        i: usize,
        profiles: &BTreeMap<String, Arc<TlsProfile>>,
        raw_profiles: &BTreeMap<String, RawProfile>,
        base: &Path,
        problem: &mut impl FnMut(String, String),
    ) -> Option<ListenerConfig> {
        let key = format!("listener[{i}]");
        let name = self.name.clone().unwrap_or_else(|| format!("listener-{i}"));
        let bind = match self.bind.as_deref() {
            None => {
                problem(
                    format!("{key}.bind"),
                    "missing: the address to listen on, e.g. \"0.0.0.0:8443\"".into(),
                );
                None
            }
            Some(b) => match b.parse::<SocketAddr>() {
                Ok(a) => Some(a),
                Err(_) => {
                    problem(
                        format!("{key}.bind"),
                        format!(
                            "`{b}` is not an address: write IP:PORT, e.g. \"127.0.0.1:8443\" or \"[::]:8443\""
                        ),
                    );
                    None
                }
            },
        };
        let tls = match self.tls.as_deref() {
            None => None,
            Some(t) => match profiles.get(t) {
                Some(p) if p.identity.is_some() => Some(p.clone()),
                Some(_) => {
                    problem(
                        format!("{key}.tls"),
                        format!(
                            "the profile [tls.{t}] has no cert and key, which a listener needs"
                        ),
                    );
                    None
                }
                None if raw_profiles.contains_key(t) => None, // already reported
                None => {
                    problem(format!("{key}.tls"), no_profile(t, raw_profiles.keys()));
                    None
                }
            },
        };
        if let Some(url) = &self.public_url {
            check_url(problem, format!("{key}.public_url"), url);
        }
        let forwarded = forwarded_config(&key, self, problem);
        let limits = validate_limits(
            &key,
            self.header_read_timeout_secs,
            self.idle_timeout_secs,
            self.max_connections,
            problem,
        );
        let bind = bind?;
        let tls_source =
            self.tls
                .as_ref()
                .filter(|_| tls.is_some())
                .map(|t| crate::reload::TlsSource {
                    name: t.clone(),
                    raw: raw_profiles.get(t).cloned().unwrap_or_default(),
                    base: base.to_path_buf(),
                });
        Some(ListenerConfig {
            name,
            bind,
            tls,
            tls_source,
            public_url: self.public_url.clone(),
            forwarded,
            limits,
        })
    }
}

/// Validate a listener's forwarded-certificate header settings.
fn forwarded_config(
    key: &str,
    l: &RawListener,
    problem: &mut impl FnMut(String, String),
) -> Option<crate::forwarded::ForwardedConfig> {
    use certbound_pki::forwarded::HeaderFormat;
    let mut trusted = Vec::new();
    for (i, t) in l.trusted_proxies.iter().enumerate() {
        match t.parse::<crate::forwarded::Cidr>() {
            Ok(c) => trusted.push(c),
            Err(e) => problem(format!("{key}.trusted_proxies[{i}]"), e),
        }
    }
    let Some(h) = &l.client_cert_header else {
        if !l.trusted_proxies.is_empty() {
            problem(
                format!("{key}.trusted_proxies"),
                "is set but client_cert_header is not: nothing would be trusted".into(),
            );
        }
        return None;
    };
    let format = match h.format.parse::<HeaderFormat>() {
        Ok(f) => f,
        Err(e) => {
            problem(format!("{key}.client_cert_header.format"), e.to_string());
            return None;
        }
    };
    let name = match h.name.as_deref().or(format.default_header_name()) {
        Some(n) => n,
        None => {
            problem(
                format!("{key}.client_cert_header.name"),
                format!(
                    "missing: the `{format}` format has no usual header name, so name the one your proxy sets"
                ),
            );
            return None;
        }
    };
    let header = match axum::http::HeaderName::from_bytes(name.trim().as_bytes()) {
        Ok(h) => h,
        Err(_) => {
            problem(
                format!("{key}.client_cert_header.name"),
                format!("`{name}` is not a valid header name"),
            );
            return None;
        }
    };
    if trusted.is_empty() && l.trusted_proxies.is_empty() {
        problem(
            format!("{key}.trusted_proxies"),
            "missing: a forwarded certificate header is believed only from the proxies listed here (CIDR blocks); without them anyone could claim any certificate".into(),
        );
        return None;
    }
    let chain_header = (format == HeaderFormat::Rfc9440)
        .then(|| axum::http::HeaderName::from_static("client-cert-chain"));
    Some(crate::forwarded::ForwardedConfig {
        header,
        chain_header,
        format,
        trusted,
    })
}

/// The limits of `[[listener]]` `key`; problems go to `problem`.
pub fn validate_limits(
    key: &str,
    header_read_timeout_secs: Option<u64>,
    idle_timeout_secs: Option<u64>,
    max_connections: Option<u64>,
    problem: &mut impl FnMut(String, String),
) -> Limits {
    let mut limits = Limits::default();
    let mut secs = |name: &str, value: Option<u64>, default: Duration| match value {
        None => default,
        Some(s) if (1..=MAX_TIMEOUT_SECS).contains(&s) => Duration::from_secs(s),
        Some(s) => {
            problem(
                format!("{key}.{name}"),
                format!("{s} is out of range: write 1 to {MAX_TIMEOUT_SECS} seconds"),
            );
            default
        }
    };
    limits.header_read_timeout = secs(
        "header_read_timeout_secs",
        header_read_timeout_secs,
        DEFAULT_HEADER_READ_TIMEOUT,
    );
    limits.idle_timeout = secs("idle_timeout_secs", idle_timeout_secs, DEFAULT_IDLE_TIMEOUT);
    match max_connections {
        None => {}
        Some(n) if (1..=1_000_000).contains(&n) => limits.max_connections = n as usize,
        Some(n) => problem(
            format!("{key}.max_connections"),
            format!("{n} is out of range: write 1 to 1000000"),
        ),
    }
    limits
}
