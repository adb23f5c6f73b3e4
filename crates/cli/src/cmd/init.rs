//! `certbound init DIR`: the start of a real deployment. A commented
//! `certbound.toml` (TLS and mTLS listeners, the admin API and console,
//! audit, metrics, the store), an admin token (mode 0600) and a PKI — a root
//! CA and a server certificate for the host names — or, with `--no-pki`,
//! the places to put an existing one; then the next commands.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use certbound_pki::chain::Usage;
use certbound_pki::generate::{self, CaSpec, KeyType, LeafSpec, Signer};
use clap::Args;
use time::OffsetDateTime;

use crate::cmd::pki::{CA_CERT, CA_KEY};
use crate::files::{self, Output};

/// The config file's name in DIR.
pub const CONFIG_FILE: &str = "certbound.toml";
/// The admin token's file in DIR.
pub const ADMIN_TOKEN_FILE: &str = "admin-token";
/// The PKI's directory in DIR.
pub const PKI_DIR: &str = "pki";
/// Default ports of the listeners `init` writes.
pub const DEFAULT_TLS_PORT: u16 = 8443;
pub const DEFAULT_MTLS_PORT: u16 = 9443;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to write certbound.toml, the admin token and the PKI to
    /// (created with mode 0700 if missing).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Host name (or IP address) clients use to reach the server: the issuer
    /// URL's host and a SAN of the server certificate (repeatable; the first
    /// one is the issuer's) [default: localhost].
    #[arg(long, value_name = "NAME")]
    hostname: Vec<String>,
    /// Keep the registry, revocations and audit trail in PostgreSQL
    /// (postgres://USER:PASSWORD@HOST:PORT/DB) instead of SQLite, for several instances.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// Write no PKI: the config names pki/server.crt and pki/server.key, for
    /// a certificate from your own CA.
    #[arg(long)]
    no_pki: bool,
    /// The data directory (the SQLite database and the token signing key),
    /// relative to DIR unless absolute: /var/lib/certbound for the Debian
    /// package's service.
    #[arg(long, value_name = "DIR", default_value = "data")]
    data_dir: PathBuf,
    /// Port of the TLS listener (metadata, JWKS, the console).
    #[arg(long, value_name = "PORT", default_value_t = DEFAULT_TLS_PORT)]
    tls_port: u16,
    /// Port of the mTLS listener (the token endpoint for certificate clients).
    #[arg(long, value_name = "PORT", default_value_t = DEFAULT_MTLS_PORT)]
    mtls_port: u16,
    /// Replace existing files.
    #[arg(long)]
    force: bool,
}

pub fn run(a: InitArgs) -> Result<ExitCode> {
    let now = OffsetDateTime::now_utc();
    let hosts = if a.hostname.is_empty() {
        vec!["localhost".to_string()]
    } else {
        a.hostname.clone()
    };
    for h in &hosts {
        if h.is_empty() || (h.contains(['/', ':', ' ']) && h.parse::<IpAddr>().is_err()) {
            return Err(crate::cmd::usage(format!(
                "--hostname {h:?} is not a host name: give the name alone, e.g. auth.example.com (no scheme, port or path)"
            )));
        }
    }
    if let Some(url) = &a.postgres {
        if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            return Err(crate::cmd::usage(format!(
                "--postgres {url:?} is not a PostgreSQL URL: use postgres://USER:PASSWORD@HOST:PORT/DB"
            )));
        }
    }
    let dir = &a.dir;
    let pki = dir.join(PKI_DIR);
    let token = certbound_server::dev::new_admin_token()
        .ok_or_else(|| anyhow::anyhow!("the system's random source failed; try again"))?;
    let config = Output {
        path: dir.join(CONFIG_FILE),
        contents: config_text(&a, &hosts, now),
        // A PostgreSQL URL holds a password.
        mode: if a.postgres.is_some() {
            files::KEY_MODE
        } else {
            files::CERT_MODE
        },
    };
    let mut outputs = vec![
        config,
        Output::key(dir.join(ADMIN_TOKEN_FILE), format!("{token}\n")),
    ];
    if !a.no_pki {
        outputs.extend(make_pki(&pki, &hosts, now)?);
    }
    files::ensure_writable(
        &outputs.iter().map(|o| o.path.as_path()).collect::<Vec<_>>(),
        a.force,
    )?;
    files::ensure_dir(dir)?;
    if !a.no_pki {
        files::ensure_dir(&pki)?;
    }
    files::write_all(&outputs, a.force)?;

    let d = dir.display();
    println!("Wrote {d}:");
    println!("  {CONFIG_FILE:<18} the config, commented: read it, then adapt");
    println!("  {ADMIN_TOKEN_FILE:<18} the admin API's bearer token, mode 0600");
    if a.no_pki {
        println!("\nNo PKI written. Put in {}:", pki.display());
        println!(
            "  server.crt         the server certificate (leaf, then intermediates), for {}",
            hosts.join(", ")
        );
        println!("  server.key         its private key (mode 0600)");
    } else {
        println!(
            "  {:<18} a root CA (keep ca.key offline once clients are issued)",
            format!("{PKI_DIR}/{CA_CERT}")
        );
        println!(
            "  {:<18} the server certificate for {}",
            format!("{PKI_DIR}/server.crt"),
            hosts.join(", ")
        );
        println!(
            "  {:<18} private keys, mode 0600",
            format!("{PKI_DIR}/*.key")
        );
    }
    let config = dir.join(CONFIG_FILE);
    let config = config.display();
    let issuer = issuer_url(&hosts[0], a.tls_port);
    println!("\nNext:");
    println!("  certbound config check {config}");
    println!("  certbound serve --config {config}");
    if !a.no_pki {
        println!(
            "  certbound pki issue client --ca {} --name partner --cn partner-1",
            pki.display()
        );
    }
    println!(
        "  certbound client add --name \"Partner\" --trust-store {} --subject-dn CN=partner-1 --config {config}",
        if a.no_pki {
            "PARTNER-CA.crt".to_string()
        } else {
            pki.join(CA_CERT).display().to_string()
        }
    );
    println!("  open {issuer}/console and sign in with the content of {d}/{ADMIN_TOKEN_FILE}");
    Ok(ExitCode::SUCCESS)
}

fn issuer_url(host: &str, port: u16) -> String {
    let host = match host.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
        _ => host.to_string(),
    };
    if port == 443 {
        format!("https://{host}")
    } else {
        format!("https://{host}:{port}")
    }
}

/// A root CA and a server certificate for `hosts`.
fn make_pki(pki: &Path, hosts: &[String], now: OffsetDateTime) -> Result<Vec<Output>> {
    let root = generate::root_ca(
        &CaSpec {
            common_name: format!("certbound Root CA ({})", hosts[0]),
            organization: None,
            key_type: KeyType::EcdsaP256,
            days: generate::ROOT_DAYS,
        },
        now,
    )?;
    let signer = Signer::new(root.cert_der.clone(), root.key_pem.as_bytes())?;
    let (ips, dns): (Vec<_>, Vec<_>) = hosts.iter().partition(|h| h.parse::<IpAddr>().is_ok());
    let server = generate::leaf(
        &signer,
        &LeafSpec {
            common_name: hosts[0].clone(),
            dns: dns.into_iter().cloned().collect(),
            ips: ips.iter().filter_map(|h| h.parse().ok()).collect(),
            usage: Usage::Server,
            days: generate::SERVER_DAYS,
            ..LeafSpec::default()
        },
        now,
    )?;
    Ok(vec![
        Output::cert(pki.join(CA_CERT), root.cert_pem),
        Output::key(pki.join(CA_KEY), root.key_pem),
        Output::cert(pki.join("server.crt"), server.cert_pem),
        Output::key(pki.join("server.key"), server.key_pem),
    ])
}

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    let mut s = String::from('"');
    for c in text.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c if c.is_control() => s.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

fn config_text(a: &InitArgs, hosts: &[String], now: OffsetDateTime) -> String {
    let issuer = issuer_url(&hosts[0], a.tls_port);
    let mtls_url = issuer_url(&hosts[0], a.mtls_port);
    let store = match &a.postgres {
        Some(url) => format!(
            "url = {}\n# Every instance points at the same database and uses the same signing key\n# (copy the data directory's signing-key.pem to each, mode 0600) and the same [issuer] url.",
            toml_string(url)
        ),
        None => "url = \"sqlite://certbound.db\"   # relative to data_dir; for several instances use\n                                  # postgres://USER:PASSWORD@HOST:PORT/DB (`certbound init --postgres`)".to_string(),
    };
    let pki_note = if a.no_pki {
        "# Put the server certificate (leaf, then intermediates) in pki/server.crt and its\n# key in pki/server.key (mode 0600); clients check the host name against its SANs."
    } else {
        "# Made by `certbound init`: a root CA in pki/ca.crt and a server certificate for\n# the host names. A certificate from another CA replaces pki/server.crt and\n# pki/server.key (leaf, then intermediates); SIGHUP or a file change reloads it."
    };
    let date = now.date();
    format!(
        r#"# certbound.toml, written by `certbound init` on {date}.
# Every key is described in the README (certbound serve -> Configuration).
# Relative paths are relative to this file's directory.
# Check it without starting: certbound config check certbound.toml
# Start:                     certbound serve --config certbound.toml

# The SQLite database and the token signing key (made, mode 0600, on the
# first start: back it up; every token verifies with it).
data_dir = {data_dir}

[store]
{store}

[issuer]
# The URL clients and resource servers use: the tokens' `iss` and the base of
# the metadata's endpoints.
url = "{issuer}"
# audience = ["https://api.example.com"]   # `aud` of the tokens; default [url]
token_lifetime = 3600                       # seconds
# require_subject_constraint = true         # refuse a CA in a client's trust store
#                                           # without a subject DN / SAN constraint

{pki_note}

# TLS without client certificates: metadata, JWKS, the console, the admin API.
[tls.server]
cert = "pki/server.crt"
key = "pki/server.key"
min_version = "1.2"

# The same certificate, asking every client for its certificate. Trust is per
# client (its registered trust store), so no client_ca here; add one to
# refuse at the handshake every chain that does not verify to it.
[tls.mtls]
cert = "pki/server.crt"
key = "pki/server.key"
client_auth = "required"
min_version = "1.2"

[[listener]]
name = "tls"
bind = "0.0.0.0:{tls_port}"
tls = "server"

[[listener]]
name = "mtls"
bind = "0.0.0.0:{mtls_port}"
tls = "mtls"
# Advertised in the metadata as mtls_endpoint_aliases: certificate clients
# are sent here for the token endpoint.
public_url = "{mtls_url}"
# Behind a TLS-terminating proxy instead: a plain listener and the header the
# proxy forwards the certificate in, believed only from the proxy's address:
#   client_cert_header = {{ format = "nginx" }}
#   trusted_proxies = ["10.0.0.0/8"]

# The admin API (/admin/ClientApplication) and the web console (/console).
[admin]
token_file = "admin-token"          # 64 hex digits, mode 0600: sign in with it
# client_certs = ["admin.crt"]      # or admin client certificates

[audit]
retention_days = 90                 # 0 keeps every event
on_store_error = "buffer"           # or "refuse": issue no token that cannot be audited

[metrics]
allow_from = ["127.0.0.0/8", "::1/128"]   # who may read /metrics (Prometheus)

[log]
format = "text"                     # "json" for a log collector
level = "info"
"#,
        data_dir = toml_string(&a.data_dir.to_string_lossy()),
        tls_port = a.tls_port,
        mtls_port = a.mtls_port,
    )
}
