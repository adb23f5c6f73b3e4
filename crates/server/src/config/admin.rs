//! `[admin]`: who may use the admin API and the console.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Env;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdmin {
    /// Name of an environment variable holding the admin bearer token.
    pub token_env: Option<String>,
    /// A file holding the admin bearer token (keep it mode 0600).
    pub token_file: Option<PathBuf>,
    /// Admin client certificates: presenting one (over TLS, with its key) grants admin access.
    #[serde(default)]
    pub client_certs: Vec<PathBuf>,
}

/// Shortest admin token accepted.
pub const MIN_ADMIN_TOKEN_LEN: usize = 16;

/// Who may use the admin API.
#[derive(Clone)]
pub struct AdminConfig {
    pub token: Option<String>,
    /// `x5t#S256` of the admin client certificates.
    pub cert_thumbprints: Vec<String>,
    /// One-time console sign-in links (`serve --dev` prints one), shared by every clone.
    pub sign_in_links: std::sync::Arc<crate::signin_link::SignInLinks>,
}

impl fmt::Debug for AdminConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the token.
        f.debug_struct("AdminConfig")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("cert_thumbprints", &self.cert_thumbprints)
            .finish_non_exhaustive()
    }
}

impl RawAdmin {
    pub(super) fn resolve(
        &self,
        base: &Path,
        env: &Env<'_>,
        problem: &mut impl FnMut(String, String),
    ) -> Option<AdminConfig> {
        let mut token = None;
        if let Some(var) = &self.token_env {
            match env(var) {
                Some(v) if !v.trim().is_empty() => token = Some(v.trim().to_string()),
                _ => problem(
                    "admin.token_env".into(),
                    format!("the environment variable {var} is not set"),
                ),
            }
        }
        if let Some(file) = &self.token_file {
            let path = base.join(file);
            match std::fs::read_to_string(&path) {
                Ok(v) if !v.trim().is_empty() => token = Some(v.trim().to_string()),
                Ok(_) => problem(
                    "admin.token_file".into(),
                    format!("{} is empty", path.display()),
                ),
                Err(e) => problem(
                    "admin.token_file".into(),
                    format!("cannot read {}: {e}", path.display()),
                ),
            }
        }
        if let Some(t) = &token {
            if t.len() < MIN_ADMIN_TOKEN_LEN {
                problem(
                    "admin".into(),
                    format!(
                        "the admin token is shorter than {MIN_ADMIN_TOKEN_LEN} characters: use a long random one, e.g. `openssl rand -hex 32`"
                    ),
                );
            }
        }
        let mut cert_thumbprints = Vec::new();
        for (i, file) in self.client_certs.iter().enumerate() {
            let path = base.join(file);
            match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| certbound_pki::parse_certificates(&b).map_err(|e| e.to_string()))
            {
                Ok(certs) => {
                    cert_thumbprints.extend(certs.iter().map(|c| certbound_pki::x5t_s256(c)))
                }
                Err(e) => problem(
                    format!("admin.client_certs[{i}]"),
                    format!("{}: {e}", path.display()),
                ),
            }
        }
        (token.is_some() || !cert_thumbprints.is_empty()).then(|| AdminConfig {
            token,
            cert_thumbprints,
            sign_in_links: std::sync::Arc::default(),
        })
    }
}
