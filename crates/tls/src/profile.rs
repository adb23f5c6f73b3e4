//! Named TLS profiles: the `[tls.NAME]` tables of the config file, the way
//! integration platforms name their SSL/TLS configurations. Client commands
//! (`request --tls NAME`, `token --tls NAME`) and `serve`'s listeners refer to
//! a profile by name.
//!
//! Two stages, as for the rest of the config: [`RawProfile`] is the table as
//! written (strings and paths), [`TlsProfile`] is the profile resolved, with
//! its files loaded and its values typed. Both stages report every problem at
//! once, each with its table, key and reason. Relative paths are resolved
//! against the directory of the config file, not the working directory.
//!
//! ```toml
//! [tls.partner]
//! cert = "certs/client.crt"   # leaf, then intermediates
//! key = "certs/client.key"   # or none when cert is a PKCS#12 (.p12/.pfx) file
//! key_password_file = "certs/client.pass" # when the key (or .p12) is encrypted
//! ca = "certs/partner-ca.crt" # CAs to verify the server; default: system roots
//! min_version = "1.2"         # "1.2" (default) or "1.3"
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use certbound_pki::CertDer;
use serde::{Deserialize, Serialize};

use crate::material::{Identity, KeyPassword, load_certificates};

/// The name of the top-level table that holds the profiles.
pub const TLS_TABLE: &str = "tls";

/// The keys a profile may have, for the "unknown key" message.
pub const PROFILE_KEYS: &[&str] = &[
    "cert",
    "key",
    "key_password_file",
    "ca",
    "min_version",
    "client_auth",
    "client_ca",
];

/// The default lowest TLS version: 1.2, which every current partner speaks.
pub const DEFAULT_MIN_VERSION: MinVersion = MinVersion::Tls12;

/// One `[tls.NAME]` table as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProfile {
    /// Certificate file: the leaf, then its intermediates.
    pub cert: Option<PathBuf>,
    /// Private key file of `cert`.
    pub key: Option<PathBuf>,
    /// File whose first line is the password of an encrypted `key` or of a
    /// PKCS#12 `cert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_password_file: Option<PathBuf>,
    /// CA certificates that verify the peer server; absent: the system roots.
    pub ca: Option<PathBuf>,
    /// "1.2" or "1.3".
    pub min_version: Option<String>,
    /// For servers: "off", "optional", "required" or "optional_no_ca".
    pub client_auth: Option<String>,
    /// For servers: CA certificates that verify clients.
    pub client_ca: Option<PathBuf>,
}

/// The lowest TLS version a profile allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum MinVersion {
    #[serde(rename = "1.2")]
    Tls12,
    #[serde(rename = "1.3")]
    Tls13,
}

impl fmt::Display for MinVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MinVersion::Tls12 => "1.2",
            MinVersion::Tls13 => "1.3",
        })
    }
}

impl MinVersion {
    fn parse(s: &str) -> Result<Self, String> {
        match s
            .trim()
            .trim_start_matches("TLS")
            .trim_start_matches("tls")
            .trim()
        {
            "1.2" | "v1.2" => Ok(MinVersion::Tls12),
            "1.3" | "v1.3" => Ok(MinVersion::Tls13),
            _ => Err(format!(
                "`{s}` is not a TLS version certbound speaks: use \"1.2\" or \"1.3\""
            )),
        }
    }
}

/// Whether a server asks clients for a certificate, and what it does with it
/// (the values follow nginx's `ssl_verify_client`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// Do not ask for a client certificate.
    #[default]
    Off,
    /// Ask; a certificate sent must chain to `client_ca` when one is set.
    Optional,
    /// Require a certificate, chaining to `client_ca` when one is set.
    Required,
    /// Ask, accept any chain at the handshake (possession of the key is still
    /// proven) and let the application decide, e.g. per-client trust stores.
    OptionalNoCa,
}

impl ClientAuth {
    fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "off" | "none" => Ok(ClientAuth::Off),
            "optional" => Ok(ClientAuth::Optional),
            "required" | "on" => Ok(ClientAuth::Required),
            "optional_no_ca" => Ok(ClientAuth::OptionalNoCa),
            _ => Err(format!(
                "`{s}` is not a client_auth mode: use \"off\", \"optional\", \"required\" or \"optional_no_ca\""
            )),
        }
    }
}

/// A profile resolved: files loaded and checked, values typed.
#[derive(Debug)]
pub struct TlsProfile {
    pub name: String,
    /// Certificate and key, when the profile has them.
    pub identity: Option<Identity>,
    /// CAs that verify the peer server; `None` means the system roots.
    pub ca: Option<Vec<CertDer>>,
    pub min_version: MinVersion,
    pub client_auth: ClientAuth,
    /// CAs that verify clients (servers only).
    pub client_ca: Option<Vec<CertDer>>,
}

/// One thing wrong in a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileProblem {
    /// `tls.partner.cert`, or `tls.partner` for the table itself.
    pub key: String,
    pub reason: String,
}

impl fmt::Display for ProfileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.reason)
    }
}

/// Why profiles could not be read or resolved.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read the config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the config file {} is not valid TOML: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error(
        "the config file {} has no TLS profile `{name}`{}: add a [tls.{name}] table with cert, key and ca",
        path.display(),
        if available.is_empty() { String::new() } else { format!(" (it has {})", available.join(", ")) }
    )]
    NotFound {
        path: PathBuf,
        name: String,
        available: Vec<String>,
    },
    #[error("{}", invalid_message(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<ProfileProblem>,
    },
}

fn invalid_message(path: &Path, problems: &[ProfileProblem]) -> String {
    let mut s = format!(
        "the TLS profiles in {} have {} problem{}:",
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

/// Read the `[tls.*]` profiles out of a whole config file; other tables are
/// ignored (they belong to other parts of certbound).
pub fn read_tls_table(path: &Path) -> Result<BTreeMap<String, RawProfile>, ProfileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_tls_table(&text, path)
}

/// [`read_tls_table`] for text already read; `path` is for messages.
pub fn parse_tls_table(
    text: &str,
    path: &Path,
) -> Result<BTreeMap<String, RawProfile>, ProfileError> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| ProfileError::Syntax {
        path: path.to_path_buf(),
        message: e.to_string().trim().replace('\n', " "),
    })?;
    let Some(tls) = doc.get(TLS_TABLE) else {
        return Ok(BTreeMap::new());
    };
    let mut problems = Vec::new();
    let mut out = BTreeMap::new();
    let Some(tls) = tls.as_table() else {
        return Err(ProfileError::Invalid {
            path: path.to_path_buf(),
            problems: vec![ProfileProblem {
                key: TLS_TABLE.into(),
                reason: "must be a table of profiles, e.g. [tls.partner]".into(),
            }],
        });
    };
    for (name, value) in tls {
        match value.as_table() {
            Some(table) => {
                let (raw, mut p) = RawProfile::from_table(name, table);
                problems.append(&mut p);
                out.insert(name.clone(), raw);
            }
            None => problems.push(ProfileProblem {
                key: format!("{TLS_TABLE}.{name}"),
                reason: format!("must be a table: write it as [tls.{name}] with cert, key, ca"),
            }),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(ProfileError::Invalid {
            path: path.to_path_buf(),
            problems,
        })
    }
}

impl RawProfile {
    /// Read one profile table, collecting every problem (wrong types, unknown
    /// keys) instead of stopping at the first.
    pub fn from_table(name: &str, table: &toml::Table) -> (Self, Vec<ProfileProblem>) {
        let mut raw = RawProfile::default();
        let mut problems = Vec::new();
        for (key, value) in table {
            let full = format!("{TLS_TABLE}.{name}.{key}");
            let Some(s) = value.as_str() else {
                if PROFILE_KEYS.contains(&key.as_str()) {
                    problems.push(ProfileProblem {
                        key: full,
                        reason: format!("must be a string, not {}", value.type_str()),
                    });
                } else {
                    problems.push(unknown_key(full));
                }
                continue;
            };
            let s = s.to_string();
            match key.as_str() {
                "cert" => raw.cert = Some(s.into()),
                "key" => raw.key = Some(s.into()),
                "key_password_file" => raw.key_password_file = Some(s.into()),
                "ca" => raw.ca = Some(s.into()),
                "min_version" => raw.min_version = Some(s),
                "client_auth" => raw.client_auth = Some(s),
                "client_ca" => raw.client_ca = Some(s.into()),
                _ => problems.push(unknown_key(full)),
            }
        }
        (raw, problems)
    }
}

fn unknown_key(full: String) -> ProfileProblem {
    ProfileProblem {
        key: full,
        reason: format!("unknown key; a TLS profile has {}", PROFILE_KEYS.join(", ")),
    }
}

impl TlsProfile {
    /// Load the files of `raw` (paths relative to `base_dir`) and type its
    /// values, reporting every problem.
    pub fn resolve(
        name: &str,
        raw: &RawProfile,
        base_dir: &Path,
    ) -> Result<Self, Vec<ProfileProblem>> {
        let mut problems = Vec::new();
        let key_of = |k: &str| format!("{TLS_TABLE}.{name}.{k}");
        let mut problem = |k: &str, reason: String| {
            problems.push(ProfileProblem {
                key: key_of(k),
                reason,
            })
        };
        let at = |p: &Path| base_dir.join(p);

        let password = match &raw.key_password_file {
            None => KeyPassword::none(),
            Some(p) => KeyPassword::from_file(&at(p)).unwrap_or_else(|e| {
                problem("key_password_file", e.to_string());
                KeyPassword::none()
            }),
        };
        let identity = match (&raw.cert, &raw.key) {
            (Some(c), None) if !is_pkcs12_file(&at(c)) => {
                problem(
                    "key",
                    "missing: a profile with `cert` needs its `key` (unless cert is a PKCS#12 file)"
                        .into(),
                );
                None
            }
            (Some(c), k) => match Identity::load_with_password(
                &at(c),
                k.as_deref().map(at).as_deref(),
                &password,
            ) {
                Ok(id) => Some(id),
                Err(crate::Error::HalfIdentity { .. }) => {
                    problem(
                        "key",
                        "missing: a profile with `cert` needs its `key` (unless cert is a PKCS#12 file)".into(),
                    );
                    None
                }
                Err(e) => {
                    let which = match &e {
                        crate::Error::Key { .. } | crate::Error::KeyMismatch { .. }
                            if k.is_some() =>
                        {
                            "key"
                        }
                        crate::Error::Read { what, .. } if *what == "the key" => "key",
                        _ => "cert",
                    };
                    problem(which, e.to_string());
                    None
                }
            },
            (None, Some(_)) => {
                problem(
                    "cert",
                    "missing: a profile with `key` needs its `cert`".into(),
                );
                None
            }
            (None, None) => None,
        };
        let mut load_cas = |k: &str, p: &Option<PathBuf>, what: &'static str| {
            p.as_ref()
                .and_then(|p| match load_certificates(&at(p), what) {
                    Ok(certs) => Some(certs),
                    Err(e) => {
                        problem(k, e.to_string());
                        None
                    }
                })
        };
        let ca = load_cas("ca", &raw.ca, "the CA file");
        let client_ca = load_cas("client_ca", &raw.client_ca, "the client CA file");
        let min_version = match raw.min_version.as_deref().map(MinVersion::parse) {
            None => DEFAULT_MIN_VERSION,
            Some(Ok(v)) => v,
            Some(Err(reason)) => {
                problem("min_version", reason);
                DEFAULT_MIN_VERSION
            }
        };
        let client_auth = match raw.client_auth.as_deref().map(ClientAuth::parse) {
            None => ClientAuth::default(),
            Some(Ok(v)) => v,
            Some(Err(reason)) => {
                problem("client_auth", reason);
                ClientAuth::default()
            }
        };
        if raw.client_ca.is_some() {
            match client_auth {
                ClientAuth::Off => problem(
                    "client_ca",
                    "has no effect while client_auth is \"off\" (the default): set client_auth = \"optional\" or \"required\"".into(),
                ),
                ClientAuth::OptionalNoCa => problem(
                    "client_ca",
                    "contradicts client_auth = \"optional_no_ca\", which verifies no chain at the handshake: use \"optional\" or \"required\" with client_ca".into(),
                ),
                _ => {}
            }
        }
        // "optional" and "required" without client_ca accept any client chain at
        // the handshake (possession of the key is still proven) and leave trust
        // to the application: the per-client trust stores of `serve`.
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(TlsProfile {
            name: name.to_string(),
            identity,
            ca,
            min_version,
            client_auth,
            client_ca,
        })
    }
}

/// Whether a file can be read and holds PKCS#12 (which needs no `key`).
fn is_pkcs12_file(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| certbound_pki::pkcs12::is_pkcs12(&b))
}

/// Every profile of a config file, resolved; problems of all profiles at once.
pub fn load_profiles(config: &Path) -> Result<BTreeMap<String, TlsProfile>, ProfileError> {
    let raw = read_tls_table(config)?;
    let base = base_dir(config);
    let mut problems = Vec::new();
    let mut out = BTreeMap::new();
    for (name, raw) in &raw {
        match TlsProfile::resolve(name, raw, &base) {
            Ok(p) => {
                out.insert(name.clone(), p);
            }
            Err(mut p) => problems.append(&mut p),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(ProfileError::Invalid {
            path: config.to_path_buf(),
            problems,
        })
    }
}

/// The profile `name` of a config file, resolved.
pub fn load_profile(config: &Path, name: &str) -> Result<TlsProfile, ProfileError> {
    let mut raw = read_tls_table(config)?;
    let Some(profile) = raw.remove(name) else {
        return Err(ProfileError::NotFound {
            path: config.to_path_buf(),
            name: name.to_string(),
            available: raw.keys().cloned().collect(),
        });
    };
    TlsProfile::resolve(name, &profile, &base_dir(config)).map_err(|problems| {
        ProfileError::Invalid {
            path: config.to_path_buf(),
            problems,
        }
    })
}

/// The directory relative paths of a config file are resolved against.
pub fn base_dir(config: &Path) -> PathBuf {
    config
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

#[cfg(test)]
mod tests;
