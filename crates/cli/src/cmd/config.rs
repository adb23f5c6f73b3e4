//! `certbound config check FILE`: validate a `serve` config without starting
//! it — the same `Config::load` as `serve`, files read and certificates
//! matched to their keys — and print what it resolves to: the issuer, the
//! store, each listener and each TLS profile. Every problem is printed at
//! once (exit 2).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use certbound_pki::inspect::CertInfo;
use certbound_pki::time_fmt::date;
use certbound_server::config::Config;
use certbound_tls::profile::{ClientAuth, TlsProfile};
use clap::{Args, Subcommand};
use time::OffsetDateTime;

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate a config file as `serve` would, without starting, and print
    /// the resolved listeners and TLS profiles (exit 2 with every problem).
    Check(CheckArgs),
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The config file (TOML).
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

pub fn run(args: ConfigArgs) -> Result<ExitCode> {
    match args.command {
        ConfigCommand::Check(a) => check(&a),
    }
}

fn check(a: &CheckArgs) -> Result<ExitCode> {
    let config = Config::load(&a.file).map_err(|e| crate::cmd::usage(e.to_string()))?;
    let now = OffsetDateTime::now_utc();
    println!("{}: valid", a.file.display());
    let issuer = if config.issuer.url.is_empty() {
        "(derived from the first listener)".to_string()
    } else {
        config.issuer.url.clone()
    };
    println!("issuer: {issuer}");
    println!("store: {}", redact_password(&config.store_url));
    println!("data_dir: {}", config.data_dir.display());
    println!("signing key: {}", config.issuer.signing_key.display());

    println!("\nlisteners:");
    for l in &config.listeners {
        let mut what = match &l.tls {
            None => "plain HTTP".to_string(),
            Some(p) => format!("TLS, profile {}, {}", p.name, client_auth(p)),
        };
        if let Some(fw) = &l.forwarded {
            what.push_str(&format!(
                ", client certificate forwarded in {} ({} trusted proxies)",
                fw.header,
                fw.trusted.len()
            ));
        }
        if let Some(url) = &l.public_url {
            what.push_str(&format!(", public_url {url}"));
        }
        println!("  {:<10} {:<22} {what}", l.name, l.bind);
    }

    println!("\nTLS profiles:");
    let mut profiles: Vec<&TlsProfile> = config
        .listeners
        .iter()
        .filter_map(|l| l.tls.as_deref())
        .chain(
            config
                .routes
                .iter()
                .filter_map(|r| r.upstream_tls.as_deref()),
        )
        .collect();
    profiles.sort_by(|x, y| x.name.cmp(&y.name));
    profiles.dedup_by(|x, y| x.name == y.name);
    if profiles.is_empty() {
        println!("  none used");
    }
    for p in profiles {
        let cert = match p.identity.as_ref().and_then(|i| i.chain.first()) {
            Some(der) => match CertInfo::from_der(der) {
                Ok(info) => {
                    let days = (info.not_after - now).whole_days();
                    format!(
                        "certificate '{}' expires {} ({})",
                        info.display_name(),
                        date(info.not_after),
                        if days < 0 {
                            format!("expired {} days ago", -days)
                        } else {
                            format!("{days} days left")
                        }
                    )
                }
                Err(e) => format!("certificate unreadable: {e}"),
            },
            None => "no certificate (client side only)".to_string(),
        };
        let ca =
            p.ca.as_ref()
                .map(|c| format!(", {} CA certificate(s) for the peer", c.len()))
                .unwrap_or_default();
        println!(
            "  {:<10} {cert}; TLS {}+{ca}; {}",
            p.name,
            p.min_version,
            client_auth(p)
        );
    }

    match &config.admin {
        Some(admin) => println!(
            "\nadmin: {}{} admin certificate(s); console at {}/console",
            if admin.token.is_some() { "token, " } else { "" },
            admin.cert_thumbprints.len(),
            issuer.trim_end_matches('/')
        ),
        None => println!("\nadmin: off (no [admin]: no admin API, no console)"),
    }
    if !config.routes.is_empty() {
        println!("routes:");
        for r in &config.routes {
            println!("  {:<20} -> {}", r.prefix, r.upstream);
        }
    }
    println!(
        "audit: {}",
        match config.audit_retention {
            Some(d) => format!("kept {} days", d.as_secs() / 86_400),
            None => "kept forever".to_string(),
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn client_auth(p: &TlsProfile) -> String {
    let verified = if p.client_ca.is_some() {
        "verified against client_ca at the handshake"
    } else {
        "any chain at the handshake, trust per client"
    };
    match p.client_auth {
        ClientAuth::Off => "no client certificate".to_string(),
        ClientAuth::Optional => format!("client certificate optional ({verified})"),
        ClientAuth::Required => format!("client certificate required ({verified})"),
        ClientAuth::OptionalNoCa => {
            "client certificate optional (any chain at the handshake, trust per client)".to_string()
        }
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_store_urls_are_hidden() {
        assert_eq!(
            redact_password("postgres://cb:s3cret@db:5432/cb"),
            "postgres://cb:***@db:5432/cb"
        );
        assert_eq!(redact_password("sqlite:///x/y.db"), "sqlite:///x/y.db");
        assert_eq!(
            redact_password("postgres://cb@db/cb"),
            "postgres://cb@db/cb"
        );
    }
}
