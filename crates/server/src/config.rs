//! The config file: TOML read into a raw struct, then validated into a
//! [`Config`] whose TLS profiles are loaded, paths resolved and listeners
//! typed. Every problem is reported at once, each with its key and reason.
//! Every value has a default; `serve --dev` needs no file at all.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use certbound_oauth::Algorithm;
use certbound_tls::profile::{RawProfile, TlsProfile};
use serde::Deserialize;

/// Default data directory, relative to the config file.
pub const DEFAULT_DATA_DIR: &str = "certbound-data";
/// Default database file inside the data directory.
pub const DEFAULT_DB_FILE: &str = "certbound.db";
/// Default signing key file inside the data directory.
pub const DEFAULT_SIGNING_KEY: &str = "signing-key.pem";
/// Default access token lifetime: one hour.
pub const DEFAULT_TOKEN_LIFETIME: u64 = 3600;
/// Shortest and longest access token lifetime accepted, in seconds.
pub const TOKEN_LIFETIME_RANGE: std::ops::RangeInclusive<u64> = 60..=86_400;
/// Largest `[store] client_cache`.
pub const MAX_CLIENT_CACHE: usize = 10_000_000;

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub data_dir: Option<PathBuf>,
    #[serde(default)]
    pub store: RawStore,
    #[serde(default)]
    pub issuer: RawIssuer,
    #[serde(default)]
    pub tls: BTreeMap<String, RawProfile>,
    #[serde(default, rename = "listener")]
    pub listeners: Vec<RawListener>,
    #[serde(default)]
    pub log: RawLog,
    #[serde(default)]
    pub admin: RawAdmin,
    #[serde(default, rename = "route")]
    pub routes: Vec<RawRoute>,
    #[serde(default)]
    pub metrics: RawMetrics,
    #[serde(default)]
    pub audit: RawAudit,
    /// `[revocation]`: CRLs checked on every client chain.
    pub revocation: Option<crate::crl::RawRevocation>,
    /// `[udap]`: the UDAP trust communities.
    pub udap: Option<udap::RawUdap>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAudit {
    /// Days audit events are kept; 0 keeps them forever.
    pub retention_days: Option<u32>,
    /// What happens while the store cannot take audit events: "buffer" or "refuse".
    pub on_store_error: Option<String>,
}

/// What the server does while the store cannot take audit events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnStoreError {
    /// Keep issuing tokens; hold the events in memory (up to the audit queue,
    /// [`crate::audit::AUDIT_QUEUE`] events) and write them when the store is back.
    #[default]
    Buffer,
    /// Refuse token requests (503 `temporarily_unavailable`) until the store
    /// takes audit events again: no token is issued unaudited.
    Refuse,
}

/// Days audit events are kept when `[audit] retention_days` is not set.
pub const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 90;
/// The longest retention that can be set (ten years); 0 means forever.
pub const MAX_AUDIT_RETENTION_DAYS: u32 = 3650;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    /// Peers allowed to read `/metrics` (CIDR blocks); default loopback only.
    pub allow_from: Option<Vec<String>>,
}

/// Who may read `/metrics` when `[metrics] allow_from` is not set: this host only.
pub const DEFAULT_METRICS_ALLOW: [&str; 2] = ["127.0.0.0/8", "::1/128"];

pub use admin::{AdminConfig, MIN_ADMIN_TOKEN_LEN, RawAdmin};
pub use listener::{ListenerConfig, RawCertHeader, RawListener};
pub use route::RawRoute;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// `sqlite://PATH` (relative to the data directory) or `postgres://...`.
    pub url: Option<String>,
    /// Compiled clients held in memory; others are read from the store when asked for.
    pub client_cache: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIssuer {
    /// The public URL of the authorization server: `iss`, and the base of the metadata's endpoints.
    pub url: Option<String>,
    /// `aud` of the tokens; defaults to the issuer URL.
    pub audience: Option<Vec<String>>,
    /// Seconds.
    pub token_lifetime: Option<u64>,
    pub signing_key: Option<PathBuf>,
    /// "ES256" (default) or "EdDSA", for a key created on first start.
    pub algorithm: Option<String>,
    /// Keys that signed earlier tokens: still published in the JWKS.
    #[serde(default)]
    pub previous_keys: Vec<PathBuf>,
    /// Refuse clients whose trust store holds a CA without a subject or SAN constraint.
    pub require_subject_constraint: Option<bool>,
    /// The Da Vinci HRex rules for every client: PKI trust stores only, a URI
    /// SAN constraint, and certificate-bound tokens.
    pub hrex: Option<bool>,
    /// PEM file of CAs that verify the servers of clients' `jwks_uri`
    /// (default: the system's roots).
    pub jwks_ca: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    /// "text" (default) or "json".
    pub format: Option<String>,
    /// A tracing filter such as "info" or "certbound=debug".
    pub level: Option<String>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub store_url: String,
    /// `[store] client_cache`.
    pub client_cache: usize,
    pub issuer: IssuerConfig,
    pub listeners: Vec<ListenerConfig>,
    pub log: LogConfig,
    /// `None`: the admin API is disabled.
    pub admin: Option<AdminConfig>,
    pub routes: Vec<route::RouteConfig>,
    /// Peers allowed to read `/metrics`.
    pub metrics_allow: Vec<crate::forwarded::Cidr>,
    /// How long audit events are kept; `None`: forever.
    pub audit_retention: Option<std::time::Duration>,
    /// `[audit] on_store_error`.
    pub audit_on_store_error: OnStoreError,
    /// `[revocation]`; `None`: no revocation checking.
    pub revocation: Option<crate::crl::RevocationConfig>,
    /// `[[udap.community]]`; empty when UDAP is off.
    pub udap: Vec<udap::CommunityConfig>,
}

#[derive(Debug, Clone)]
pub struct IssuerConfig {
    pub url: String,
    pub audience: Vec<String>,
    pub token_lifetime: u64,
    pub signing_key: PathBuf,
    pub algorithm: Algorithm,
    pub previous_keys: Vec<PathBuf>,
    pub require_subject_constraint: bool,
    pub hrex: bool,
    /// CAs for clients' `jwks_uri` servers; `None`: the system's roots.
    pub jwks_ca: Option<Vec<certbound_pki::CertDer>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    pub format: LogFormat,
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// One thing wrong in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.reason)
    }
}

/// Why the config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `message` is TOML's own, with the line, a snippet and a caret.
    #[error("the config file {} is not valid:\n{message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error("{}", problems_message(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn problems_message(path: &Path, problems: &[Problem]) -> String {
    let mut s = format!(
        "the config file {} has {} problem{}:",
        path.display(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        s.push_str("\n  ");
        s.push_str(&p.to_string());
    }
    s
}

impl Config {
    /// Read and validate a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Self::load_with_env(path, &|name| std::env::var(name).ok())
    }

    /// [`Config::load`] reading environment variables (`[admin] token_env`)
    /// through `env`: tests give the variables they mean without setting
    /// them in the process.
    pub fn load_with_env(path: &Path, env: &Env<'_>) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let raw: RawConfig = toml::from_str(&text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let base = certbound_tls::profile::base_dir(path);
        raw.validate_with_env(&base, env)
            .map_err(|problems| ConfigError::Invalid {
                path: path.to_path_buf(),
                problems,
            })
    }
}

/// How validation reads an environment variable: `None` when it is not set.
pub type Env<'a> = dyn Fn(&str) -> Option<String> + 'a;

impl RawConfig {
    /// Validate against `base`, the directory relative paths start from,
    /// with the process's environment.
    pub fn validate(&self, base: &Path) -> Result<Config, Vec<Problem>> {
        self.validate_with_env(base, &|name| std::env::var(name).ok())
    }

    /// [`RawConfig::validate`] with environment variables read through `env`.
    pub fn validate_with_env(&self, base: &Path, env: &Env<'_>) -> Result<Config, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut problem = |key: String, reason: String| problems.push(Problem { key, reason });
        let data_dir = base.join(
            self.data_dir
                .as_deref()
                .unwrap_or(Path::new(DEFAULT_DATA_DIR)),
        );

        let client_cache = match self.store.client_cache {
            None => crate::registry::DEFAULT_CACHE,
            Some(n) if (1..=MAX_CLIENT_CACHE).contains(&n) => n,
            Some(n) => {
                problem(
                    "store.client_cache".into(),
                    format!("{n} is not between 1 and {MAX_CLIENT_CACHE}"),
                );
                crate::registry::DEFAULT_CACHE
            }
        };
        let store_url = match self.store.url.as_deref() {
            None => format!("sqlite://{}", data_dir.join(DEFAULT_DB_FILE).display()),
            Some(url) => match url.split_once("://") {
                Some(("sqlite", path)) if !path.starts_with('/') => {
                    format!("sqlite://{}", data_dir.join(path).display())
                }
                Some(("sqlite" | "postgres" | "postgresql", _)) => url.to_string(),
                _ => {
                    problem(
                        "store.url".into(),
                        format!(
                            "`{url}` is not a store URL: use sqlite://PATH or postgres://USER:PASSWORD@HOST/DB"
                        ),
                    );
                    String::new()
                }
            },
        };

        let mut profiles: BTreeMap<String, Arc<TlsProfile>> = BTreeMap::new();
        for (name, raw) in &self.tls {
            match TlsProfile::resolve(name, raw, base) {
                Ok(p) => {
                    profiles.insert(name.clone(), Arc::new(p));
                }
                Err(ps) => {
                    for p in ps {
                        problem(p.key, p.reason);
                    }
                }
            }
        }

        let mut listeners = Vec::new();
        if self.listeners.is_empty() {
            problem(
                "listener".into(),
                "no [[listener]] is configured: add one, e.g. [[listener]] bind = \"0.0.0.0:8443\" tls = \"server\"".into(),
            );
        }
        for (i, l) in self.listeners.iter().enumerate() {
            if let Some(listener) = l.validate(i, &profiles, &self.tls, base, &mut problem) {
                listeners.push(listener);
            }
        }

        let issuer_url = match &self.issuer.url {
            Some(u) => {
                check_url(&mut problem, "issuer.url".into(), u);
                u.trim_end_matches('/').to_string()
            }
            None => {
                problem(
                    "issuer.url".into(),
                    "missing: the public URL of this server, e.g. \"https://auth.example.com\" (it becomes the tokens' `iss`)".into(),
                );
                String::new()
            }
        };
        let token_lifetime = self.issuer.token_lifetime.unwrap_or(DEFAULT_TOKEN_LIFETIME);
        if !TOKEN_LIFETIME_RANGE.contains(&token_lifetime) {
            problem(
                "issuer.token_lifetime".into(),
                format!(
                    "{token_lifetime} seconds is outside {}..={}",
                    TOKEN_LIFETIME_RANGE.start(),
                    TOKEN_LIFETIME_RANGE.end()
                ),
            );
        }
        let algorithm = match self.issuer.algorithm.as_deref() {
            None | Some("ES256") => Algorithm::Es256,
            Some("EdDSA") => Algorithm::EdDsa,
            Some(other) => {
                problem(
                    "issuer.algorithm".into(),
                    format!("`{other}` is not supported: use \"ES256\" or \"EdDSA\""),
                );
                Algorithm::Es256
            }
        };
        let audience = self
            .issuer
            .audience
            .clone()
            .unwrap_or_else(|| vec![issuer_url.clone()]);
        if audience.is_empty() || audience.iter().any(|a| a.trim().is_empty()) {
            problem(
                "issuer.audience".into(),
                "must list at least one non-empty audience".into(),
            );
        }
        let log = LogConfig {
            format: match self.log.format.as_deref() {
                None | Some("text") => LogFormat::Text,
                Some("json") => LogFormat::Json,
                Some(other) => {
                    problem(
                        "log.format".into(),
                        format!("`{other}` is not a log format: use \"text\" or \"json\""),
                    );
                    LogFormat::Text
                }
            },
            level: self.log.level.clone().unwrap_or_else(|| "info".into()),
        };
        let admin = self.admin.resolve(base, env, &mut problem);
        let mut routes = Vec::new();
        let defined: Vec<&String> = self.tls.keys().collect();
        for (i, r) in self.routes.iter().enumerate() {
            if let Some(route) = route::RouteConfig::validate(
                &format!("route[{i}]"),
                r,
                &profiles,
                &defined,
                base,
                &mut problem,
            ) {
                routes.push(route);
            }
        }
        let mut metrics_allow = Vec::new();
        let allow: Vec<String> = match &self.metrics.allow_from {
            Some(list) => list.clone(),
            None => DEFAULT_METRICS_ALLOW
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        for (i, a) in allow.iter().enumerate() {
            match a.parse() {
                Ok(c) => metrics_allow.push(c),
                Err(e) => problem(format!("metrics.allow_from[{i}]"), e),
            }
        }
        let audit_retention = match self
            .audit
            .retention_days
            .unwrap_or(DEFAULT_AUDIT_RETENTION_DAYS)
        {
            0 => None,
            days if days <= MAX_AUDIT_RETENTION_DAYS => {
                Some(std::time::Duration::from_secs(u64::from(days) * 86_400))
            }
            days => {
                problem(
                    "audit.retention_days".into(),
                    format!(
                        "{days} is more than {MAX_AUDIT_RETENTION_DAYS} days: use at most {MAX_AUDIT_RETENTION_DAYS}, or 0 to keep every event"
                    ),
                );
                None
            }
        };
        let audit_on_store_error = match self.audit.on_store_error.as_deref() {
            None | Some("buffer") => OnStoreError::Buffer,
            Some("refuse") => OnStoreError::Refuse,
            Some(other) => {
                problem(
                    "audit.on_store_error".into(),
                    format!("`{other}` is neither \"buffer\" nor \"refuse\""),
                );
                OnStoreError::Buffer
            }
        };
        let revocation = self
            .revocation
            .as_ref()
            .and_then(|r| r.validate(base, &mut problem));
        let udap = self.udap.as_ref().map_or_else(Vec::new, |u| {
            u.validate(base, self.issuer.url.as_deref(), &mut problem)
        });
        let jwks_ca = self.issuer.jwks_ca.as_ref().and_then(|file| {
            let path = base.join(file);
            std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| certbound_pki::parse_certificates(&b).map_err(|e| e.to_string()))
                .map_err(|e| problem("issuer.jwks_ca".into(), format!("{}: {e}", path.display())))
                .ok()
        });
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Config {
            revocation,
            udap,
            metrics_allow,
            audit_retention,
            audit_on_store_error,
            admin,
            routes,
            store_url,
            client_cache,
            issuer: IssuerConfig {
                url: issuer_url,
                audience,
                token_lifetime,
                signing_key: data_dir.join(
                    self.issuer
                        .signing_key
                        .as_deref()
                        .unwrap_or(Path::new(DEFAULT_SIGNING_KEY)),
                ),
                algorithm,
                previous_keys: self
                    .issuer
                    .previous_keys
                    .iter()
                    .map(|p| data_dir.join(p))
                    .collect(),
                require_subject_constraint: self.issuer.require_subject_constraint.unwrap_or(false),
                hrex: self.issuer.hrex.unwrap_or(false),
                jwks_ca,
            },
            listeners,
            log,
            data_dir,
        })
    }
}

/// "there is no [tls.NAME] profile", with the profiles the file defines.
pub fn no_profile<'a>(name: &str, defined: impl Iterator<Item = &'a String>) -> String {
    let defined: Vec<String> = defined.map(|d| format!("[tls.{d}]")).collect();
    if defined.is_empty() {
        format!(
            "there is no [tls.{name}] profile, and the file defines none: add a [tls.{name}] table with cert and key"
        )
    } else {
        format!(
            "there is no [tls.{name}] profile; the file defines {}",
            defined.join(", ")
        )
    }
}

pub(crate) fn check_url(problem: &mut impl FnMut(String, String), key: String, url: &str) {
    let ok =
        (url.starts_with("https://") || url.starts_with("http://")) && url.len() > "https://".len();
    if !ok {
        problem(key, format!("`{url}` is not an http(s) URL"));
    }
}

pub mod admin;
pub mod listener;
pub mod route;
#[cfg(test)]
mod tests;
pub mod udap;
