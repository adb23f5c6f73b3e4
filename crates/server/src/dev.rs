//! `serve --dev`: everything a first run needs, with no config file. A data
//! directory with a dev PKI (a root CA, a server certificate for localhost and
//! a demo client certificate), an SQLite database with the demo client
//! registered, and two listeners on 127.0.0.1: TLS, and mTLS that asks every
//! client for a certificate. The admin API and the console are on, with an
//! admin token generated into the data directory (mode 0600). Running it
//! again reuses what is there.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use certbound_oauth::Algorithm;
use certbound_oauth::client::{ClientApplication, RESOURCE_TYPE};
use certbound_pki::chain::Usage;
use certbound_pki::generate::{self, CaSpec, KeyType, LeafSpec, Signer};
use certbound_tls::profile::{RawProfile, TlsProfile};
use time::OffsetDateTime;

use crate::config::{
    Config, DEFAULT_DB_FILE, DEFAULT_SIGNING_KEY, IssuerConfig, ListenerConfig, LogConfig,
};

/// The demo client's id.
pub const DEMO_CLIENT_ID: &str = "demo-client";
/// Default data directory of `serve --dev`.
pub const DEFAULT_DEV_DIR: &str = "certbound-dev";
/// Default ports of the dev listeners.
pub const DEV_TLS_PORT: u16 = 8443;
pub const DEV_MTLS_PORT: u16 = 9443;
/// The admin token's file in the data directory (mode 0600, reused on the next start).
pub const DEV_ADMIN_TOKEN_FILE: &str = "admin-token";

/// Files of the dev PKI that the printed commands use.
#[derive(Debug, Clone)]
pub struct DevFiles {
    pub ca_cert: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub client_id: String,
    /// The admin API's bearer token, in the data directory.
    pub admin_token: PathBuf,
}

/// Why the dev environment could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    #[error("cannot prepare {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot make the dev certificates: {0}")]
    Pki(#[from] generate::GenerateError),
    #[error("the dev TLS profile is invalid: {0}")]
    Profile(String),
    #[error("cannot register the demo client: {0}")]
    Store(#[from] certbound_store::StoreError),
    #[error(transparent)]
    Keys(#[from] crate::keys::KeysError),
}

/// Prepare `dir` and return the config to serve it.
pub async fn prepare(
    dir: &Path,
    tls_port: u16,
    mtls_port: u16,
) -> Result<(Config, DevFiles), DevError> {
    let pki = dir.join("pki");
    for d in [dir, pki.as_path()] {
        if !d.exists() {
            std::fs::create_dir_all(d).map_err(|source| DevError::Io {
                path: d.to_path_buf(),
                source,
            })?;
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).map_err(
                |source| DevError::Io {
                    path: d.to_path_buf(),
                    source,
                },
            )?;
        }
    }
    let files = DevFiles {
        ca_cert: pki.join("ca.crt"),
        client_cert: pki.join("demo-client.crt"),
        client_key: pki.join("demo-client.key"),
        client_id: DEMO_CLIENT_ID.to_string(),
        admin_token: dir.join(DEV_ADMIN_TOKEN_FILE),
    };
    if !files.ca_cert.exists() {
        make_pki(&pki)?;
    }
    let ca_pem = std::fs::read_to_string(&files.ca_cert).map_err(|source| DevError::Io {
        path: files.ca_cert.clone(),
        source,
    })?;
    // The signing key first: dev mode's own first start registers the demo
    // client, after which a missing key would be refused as lost.
    crate::keys::load(
        &dir.join(DEFAULT_SIGNING_KEY),
        Algorithm::Es256,
        &[],
        &crate::keys::FirstStart::Yes,
    )?;
    let admin_token = admin_token(&files.admin_token)?;
    let store_url = format!("sqlite://{}", dir.join(DEFAULT_DB_FILE).display());
    register_demo_client(&store_url, &ca_pem).await?;

    let listener = |name: &str, port: u16, client_auth: &str| -> Result<ListenerConfig, DevError> {
        let raw = RawProfile {
            cert: Some(PathBuf::from("pki/server.crt")),
            key: Some(PathBuf::from("pki/server.key")),
            client_auth: Some(client_auth.to_string()),
            ..RawProfile::default()
        };
        let profile_name = format!("dev-{name}");
        let profile = TlsProfile::resolve(&profile_name, &raw, dir).map_err(|p| {
            DevError::Profile(
                p.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        Ok(ListenerConfig {
            name: name.to_string(),
            bind: ([127, 0, 0, 1], port).into(),
            tls: Some(std::sync::Arc::new(profile)),
            tls_source: Some(crate::reload::TlsSource {
                name: profile_name,
                raw,
                base: dir.to_path_buf(),
            }),
            public_url: None,
            forwarded: None,
            limits: crate::listener::Limits::default(),
        })
    };
    let config = Config {
        data_dir: dir.to_path_buf(),
        store_url,
        client_cache: crate::registry::DEFAULT_CACHE,
        issuer: IssuerConfig {
            // Empty: derived from the first listener's address once bound.
            url: String::new(),
            audience: Vec::new(),
            token_lifetime: crate::config::DEFAULT_TOKEN_LIFETIME,
            signing_key: dir.join(DEFAULT_SIGNING_KEY),
            algorithm: Algorithm::Es256,
            previous_keys: Vec::new(),
            require_subject_constraint: false,
            hrex: false,
            jwks_ca: None,
        },
        listeners: vec![
            listener("tls", tls_port, "off")?,
            listener("mtls", mtls_port, "required")?,
        ],
        log: LogConfig::default(),
        admin: Some(crate::config::AdminConfig {
            token: Some(admin_token),
            cert_thumbprints: Vec::new(),
            sign_in_links: std::sync::Arc::default(),
        }),
        routes: Vec::new(),
        metrics_allow: crate::config::DEFAULT_METRICS_ALLOW
            .iter()
            .filter_map(|c| c.parse().ok())
            .collect(),
        audit_retention: Some(std::time::Duration::from_secs(
            u64::from(crate::config::DEFAULT_AUDIT_RETENTION_DAYS) * 86_400,
        )),
        audit_on_store_error: crate::config::OnStoreError::default(),
        revocation: None,
        udap: Vec::new(),
    };
    Ok((config, files))
}

/// The admin token in `path`, made (64 hex digits, mode 0600) when missing.
fn admin_token(path: &Path) -> Result<String, DevError> {
    let io = |source| DevError::Io {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().len() >= crate::config::MIN_ADMIN_TOKEN_LEN => {
            return Ok(text.trim().to_string());
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let token = new_admin_token()
        .ok_or_else(|| io(std::io::Error::other("the system's random source failed")))?;
    write(path, &format!("{token}\n"), 0o600)?;
    Ok(token)
}

/// A new admin token: 256 random bits as 64 hex digits; `None` if the
/// system's random source fails.
pub fn new_admin_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    rustls::crypto::aws_lc_rs::default_provider()
        .secure_random
        .fill(&mut bytes)
        .ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn make_pki(pki: &Path) -> Result<(), DevError> {
    let now = OffsetDateTime::now_utc();
    let root = generate::root_ca(
        &CaSpec {
            common_name: "certbound Dev Root CA".into(),
            organization: Some("certbound dev".into()),
            key_type: KeyType::EcdsaP256,
            days: generate::ROOT_DAYS,
        },
        now,
    )?;
    let signer = Signer::new(root.cert_der.clone(), root.key_pem.as_bytes())?;
    let server = generate::leaf(
        &signer,
        &LeafSpec {
            common_name: "localhost".into(),
            dns: vec!["localhost".into()],
            ips: vec![[127, 0, 0, 1].into(), std::net::Ipv6Addr::LOCALHOST.into()],
            usage: Usage::Server,
            days: generate::SERVER_DAYS,
            ..LeafSpec::default()
        },
        now,
    )?;
    let client = generate::leaf(
        &signer,
        &LeafSpec {
            common_name: DEMO_CLIENT_ID.into(),
            organization: Some("certbound dev".into()),
            usage: Usage::Client,
            days: generate::CLIENT_DAYS,
            ..LeafSpec::default()
        },
        now,
    )?;
    for (name, text, private) in [
        ("ca.key", &root.key_pem, true),
        ("server.crt", &server.cert_pem, false),
        ("server.key", &server.key_pem, true),
        ("demo-client.crt", &client.cert_pem, false),
        ("demo-client.key", &client.key_pem, true),
        // Last, so that an interrupted run makes a complete PKI next time.
        ("ca.crt", &root.cert_pem, false),
    ] {
        write(&pki.join(name), text, if private { 0o600 } else { 0o644 })?;
    }
    Ok(())
}

fn write(path: &Path, text: &str, mode: u32) -> Result<(), DevError> {
    let io = |source| DevError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(io)?;
    f.write_all(text.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)
}

async fn register_demo_client(store_url: &str, ca_pem: &str) -> Result<(), DevError> {
    let store = certbound_store::open(store_url).await?;
    if store.get_client(DEMO_CLIENT_ID).await?.is_none() {
        let client = ClientApplication {
            resource_type: RESOURCE_TYPE.into(),
            id: Some(DEMO_CLIENT_ID.into()),
            name: "Demo client".into(),
            certificate_trust_store: Some(ca_pem.to_string()),
            tls_client_auth_subject_dn: Some(format!("CN={DEMO_CLIENT_ID},O=certbound dev")),
            scope: Some("read write".into()),
            ..ClientApplication::default()
        };
        let doc = serde_json::to_value(&client).unwrap_or_default();
        match store
            .create_client(DEMO_CLIENT_ID, &client.name, &doc)
            .await
        {
            Ok(_) | Err(certbound_store::StoreError::AlreadyExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    store.close().await;
    Ok(())
}
