//! `[[route]]`: an existing HTTP API put behind mTLS and bound tokens. The
//! raw section as written, its validation, and the validated route the
//! gateway serves.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::http::Uri;
use certbound_oauth::VerifyingKeys;
use certbound_pki::anchors::AnchorSet;
use certbound_tls::profile::TlsProfile;
use serde::Deserialize;

/// One `[[route]]`: an existing HTTP API put behind mTLS and bound tokens.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    /// Path prefix, e.g. "/api/". Longest prefix wins; certbound's own endpoints come first.
    pub prefix: Option<String>,
    /// `http://HOST:PORT` or `https://HOST:PORT` (with `upstream_tls`).
    pub upstream: Option<String>,
    /// A `[tls.NAME]` profile for the upstream connection (CA, client certificate).
    pub upstream_tls: Option<String>,
    /// "bound-token" (default), "token" or "client-cert".
    pub require: Option<String>,
    /// Scopes the token must all carry.
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub allow_client_ids: Vec<String>,
    #[serde(default)]
    pub allow_subject_cn: Vec<String>,
    #[serde(default)]
    pub allow_san_dns: Vec<String>,
    #[serde(default)]
    pub allow_san_uri: Vec<String>,
    /// `aud` the token must carry; default: this issuer's audience.
    pub audience: Option<String>,
    /// An external issuer whose tokens this route accepts (with `jwks_uri` or `jwks_file`).
    pub issuer: Option<String>,
    pub jwks_uri: Option<String>,
    /// CA certificates that verify the `jwks_uri` server (default: the system's roots).
    pub jwks_ca: Option<PathBuf>,
    pub jwks_file: Option<PathBuf>,
    /// CA certificates that verify client certificates on `require = "client-cert"` routes.
    pub client_ca: Option<PathBuf>,
    /// Seconds to wait for the upstream to connect, and to answer.
    pub connect_timeout: Option<u64>,
    pub timeout: Option<u64>,
}

/// Default seconds to connect to an upstream.
pub const DEFAULT_CONNECT_TIMEOUT: u64 = 5;
/// Default seconds to wait for an upstream's response headers.
pub const DEFAULT_TIMEOUT: u64 = 30;

/// What a route demands of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Require {
    /// A valid token bound (`cnf.x5t#S256`) to the certificate on this request.
    BoundToken,
    /// A valid token.
    Token,
    /// An allowed client certificate, no token.
    ClientCert,
}

/// Where a route's tokens come from.
#[derive(Debug, Clone)]
pub enum TokenSource {
    /// Tokens this server issued.
    Local,
    /// An external issuer's tokens, verified with its keys.
    External { issuer: String, jwks: ExternalJwks },
}

#[derive(Debug, Clone)]
pub enum ExternalJwks {
    File(Arc<VerifyingKeys>),
    /// Fetched over HTTPS, verified with `ca` (the system's roots when `None`).
    Uri {
        uri: String,
        ca: Option<Vec<certbound_pki::CertDer>>,
    },
}

/// A validated route.
#[derive(Debug, Clone)]
pub struct RouteConfig {
    pub prefix: String,
    pub upstream: Uri,
    pub upstream_tls: Option<Arc<TlsProfile>>,
    pub require: Require,
    pub scopes: Vec<String>,
    pub allow_client_ids: Vec<String>,
    pub allow_subject_cn: Vec<String>,
    pub allow_san_dns: Vec<String>,
    pub allow_san_uri: Vec<String>,
    pub audience: Option<String>,
    pub tokens: TokenSource,
    pub client_ca: Option<AnchorSet>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

impl RouteConfig {
    /// Validate `[[route]]` number `key`; problems go to `problem`.
    /// `profiles` are those that loaded; `defined`, every name the file
    /// defines (one that failed to load has had its problem reported).
    pub fn validate(
        key: &str,
        r: &RawRoute,
        profiles: &BTreeMap<String, Arc<TlsProfile>>,
        defined: &[&String],
        base: &Path,
        sink: &mut impl FnMut(String, String),
    ) -> Option<RouteConfig> {
        let mut problems: Vec<(String, String)> = Vec::new();
        let mut problem = |k: String, r: String| problems.push((k, r));
        let prefix = match r.prefix.as_deref() {
            Some(p) if !p.starts_with('/') => {
                problem(format!("{key}.prefix"), format!("`{p}` must start with /"));
                String::new()
            }
            Some(p) if p.contains(['?', '#']) => {
                problem(
                    format!("{key}.prefix"),
                    format!("`{p}` is a path prefix: it cannot hold `?` or `#`"),
                );
                String::new()
            }
            Some(p) => match crate::request_check::normalize(p) {
                Ok(std::borrow::Cow::Borrowed(_)) => p.to_string(),
                Ok(std::borrow::Cow::Owned(normal)) => {
                    problem(
                        format!("{key}.prefix"),
                        format!(
                            "`{p}` is not in normal form: write it `{normal}` (requests are matched after normalization)"
                        ),
                    );
                    String::new()
                }
                Err(e) => {
                    problem(
                        format!("{key}.prefix"),
                        format!("`{p}` can never match a request: {e}"),
                    );
                    String::new()
                }
            },
            None => {
                problem(
                    format!("{key}.prefix"),
                    "missing: the path prefix this route serves, e.g. \"/api/\"".into(),
                );
                String::new()
            }
        };
        let upstream = match r.upstream.as_deref().map(str::parse::<Uri>) {
            Some(Ok(u))
                if matches!(u.scheme_str(), Some("http" | "https")) && u.authority().is_some() =>
            {
                Some(u)
            }
            Some(_) => {
                problem(
                    format!("{key}.upstream"),
                    "must be an http:// or https:// URL with a host".into(),
                );
                None
            }
            None => {
                problem(
                    format!("{key}.upstream"),
                    "missing: the URL of the API behind this route".into(),
                );
                None
            }
        };
        let upstream_tls = match r.upstream_tls.as_deref() {
            None => None,
            Some(name) => match profiles.get(name) {
                Some(p) => Some(Arc::clone(p)),
                None if defined.iter().any(|d| d.as_str() == name) => None,
                None => {
                    problem(
                        format!("{key}.upstream_tls"),
                        crate::config::no_profile(name, defined.iter().copied()),
                    );
                    None
                }
            },
        };
        let require = match r.require.as_deref() {
            None | Some("bound-token") => Require::BoundToken,
            Some("token") => Require::Token,
            Some("client-cert") => Require::ClientCert,
            Some(other) => {
                problem(
                    format!("{key}.require"),
                    format!(
                        "`{other}` is not a requirement: use \"bound-token\", \"token\" or \"client-cert\""
                    ),
                );
                Require::BoundToken
            }
        };
        let tokens = match (&r.issuer, &r.jwks_uri, &r.jwks_file) {
            (None, None, None) => TokenSource::Local,
            (Some(issuer), Some(uri), None) => {
                if !uri
                    .parse::<Uri>()
                    .is_ok_and(|u| u.scheme_str() == Some("https") && u.host().is_some())
                {
                    problem(
                        format!("{key}.jwks_uri"),
                        format!(
                            "`{uri}` must be an https:// URL: keys fetched in clear could be replaced on the way"
                        ),
                    );
                }
                let ca = r.jwks_ca.as_ref().and_then(|file| {
                    let path = base.join(file);
                    std::fs::read(&path)
                        .map_err(|e| e.to_string())
                        .and_then(|b| {
                            certbound_pki::parse_certificates(&b).map_err(|e| e.to_string())
                        })
                        .map_err(|e| {
                            problem(format!("{key}.jwks_ca"), format!("{}: {e}", path.display()))
                        })
                        .ok()
                });
                TokenSource::External {
                    issuer: issuer.clone(),
                    jwks: ExternalJwks::Uri {
                        uri: uri.clone(),
                        ca,
                    },
                }
            }
            (Some(issuer), None, Some(file)) => {
                let path = base.join(file);
                match std::fs::read(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|b| VerifyingKeys::from_jwks_json(&b).map_err(|e| e.to_string()))
                {
                    Ok(keys) => TokenSource::External {
                        issuer: issuer.clone(),
                        jwks: ExternalJwks::File(Arc::new(keys)),
                    },
                    Err(e) => {
                        problem(
                            format!("{key}.jwks_file"),
                            format!("{}: {e}", path.display()),
                        );
                        TokenSource::Local
                    }
                }
            }
            _ => {
                problem(
                    format!("{key}.issuer"),
                    "an external issuer needs `issuer` and exactly one of `jwks_uri` or `jwks_file`".into(),
                );
                TokenSource::Local
            }
        };
        let client_ca = match &r.client_ca {
            None => None,
            Some(file) => {
                let path = base.join(file);
                match std::fs::read(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|b| certbound_pki::parse_certificates(&b).map_err(|e| e.to_string()))
                    .and_then(|c| AnchorSet::new(c).map_err(|e| e.to_string()))
                {
                    Ok(set) => Some(set),
                    Err(e) => {
                        problem(
                            format!("{key}.client_ca"),
                            format!("{}: {e}", path.display()),
                        );
                        None
                    }
                }
            }
        };
        if r.jwks_ca.is_some() && r.jwks_uri.is_none() {
            problem(
                format!("{key}.jwks_ca"),
                "verifies the jwks_uri server, so it needs jwks_uri".into(),
            );
        }
        if require == Require::ClientCert && r.allow_client_ids.is_empty() && client_ca.is_none() {
            problem(
                format!("{key}.allow_client_ids"),
                "a client-cert route needs allow_client_ids (clients whose trust stores vouch for the certificate) or client_ca; with neither it would trust nobody".into(),
            );
        }
        if require == Require::ClientCert && !r.scopes.is_empty() {
            problem(
                format!("{key}.scopes"),
                "a client-cert route takes no token, so it cannot require scopes".into(),
            );
        }
        if !problems.is_empty() {
            for (k, r) in problems {
                sink(k, r);
            }
            return None;
        }
        Some(RouteConfig {
            prefix,
            upstream: upstream?,
            upstream_tls,
            require,
            scopes: r.scopes.clone(),
            allow_client_ids: r.allow_client_ids.clone(),
            allow_subject_cn: r.allow_subject_cn.clone(),
            allow_san_dns: r.allow_san_dns.clone(),
            allow_san_uri: r.allow_san_uri.clone(),
            audience: r.audience.clone(),
            tokens,
            client_ca,
            connect_timeout: Duration::from_secs(
                r.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            ),
            timeout: Duration::from_secs(r.timeout.unwrap_or(DEFAULT_TIMEOUT)),
        })
    }
}
