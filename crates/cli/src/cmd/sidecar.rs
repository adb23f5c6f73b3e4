//! `certbound sidecar`: plain HTTP in on loopback, mTLS (and a
//! certificate-bound token) out, for applications that cannot do either.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use certbound_sidecar::{Credentials, SidecarConfig, TokenSettings};
use clap::Args;

use crate::cmd::usage;

#[derive(Debug, Args)]
pub struct SidecarArgs {
    /// Address to accept plain HTTP on (loopback unless --insecure-listen).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Allow a non-loopback --listen: anyone who can reach it then acts with your certificate.
    #[arg(long)]
    insecure_listen: bool,
    /// The partner's base URL: https://HOST[:PORT][/PATH].
    #[arg(long, value_name = "URL")]
    upstream: String,
    /// A named TLS profile [tls.NAME] from --config (cert, key, ca).
    #[arg(long, value_name = "NAME", requires = "config", conflicts_with_all = ["cert", "key", "ca"])]
    tls: Option<String>,
    /// The config file holding the --tls profile.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Client certificate (leaf, then intermediates), or a PKCS#12 file
    /// (.p12/.pfx) that holds the key too.
    #[arg(long, value_name = "FILE")]
    cert: Option<PathBuf>,
    /// Its private key (not needed when --cert is PKCS#12).
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// File whose first line is the password of an encrypted --key or a
    /// PKCS#12 --cert [default: $CERTBOUND_KEY_PASSWORD].
    #[arg(long, value_name = "FILE", requires = "cert")]
    key_password_file: Option<PathBuf>,
    /// CA certificates that verify the upstream (default: the system's roots).
    #[arg(long, visible_alias = "cacert", value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Token endpoint: fetch a certificate-bound token and attach it to every request.
    #[arg(long, value_name = "URL", requires = "client_id")]
    token_url: Option<String>,
    /// client_id for the token request.
    #[arg(long, value_name = "ID")]
    client_id: Option<String>,
    /// Scopes to ask for.
    #[arg(long, value_name = "S")]
    scope: Option<String>,
    /// Seconds to connect to the upstream.
    #[arg(long, value_name = "S", default_value_t = 10)]
    connect_timeout: u64,
}

pub fn run(args: SidecarArgs) -> Result<ExitCode> {
    if !args.listen.ip().is_loopback() && !args.insecure_listen {
        return Err(usage(format!(
            "--listen {} is not a loopback address: anyone who can reach it would call the partner with your certificate; use 127.0.0.1 or pass --insecure-listen",
            args.listen
        )));
    }
    let upstream = https_url("--upstream", &args.upstream)?;
    let credentials = match (&args.tls, &args.config, &args.cert, &args.key) {
        (Some(name), Some(config), _, _) => Credentials::Profile {
            config: config.clone(),
            name: name.clone(),
        },
        (None, _, Some(cert), None)
            if !std::fs::read(cert).is_ok_and(|b| certbound_pki::pkcs12::is_pkcs12(&b)) =>
        {
            return Err(usage(
                "give the client certificate's key with --key (only a PKCS#12 --cert holds its key)",
            ));
        }
        (None, _, Some(cert), key) => Credentials::Files {
            cert: cert.clone(),
            // A PKCS#12 --cert holds the key: read it from there.
            key: key.clone().unwrap_or_else(|| cert.clone()),
            ca: args.ca.clone(),
            key_password: crate::cmd::client::key_password(args.key_password_file.as_deref())?,
        },
        _ => {
            return Err(usage(
                "give the client certificate with --cert and --key, or --tls NAME --config FILE",
            ));
        }
    };
    let token = match (&args.token_url, &args.client_id) {
        (Some(url), Some(id)) => Some(TokenSettings {
            url: https_url("--token-url", url)?,
            client_id: id.clone(),
            scope: args.scope.clone(),
        }),
        // clap requires the two together.
        _ => None,
    };
    let config = SidecarConfig {
        listen: args.listen,
        upstream,
        credentials,
        token,
        connect_timeout: Duration::from_secs(args.connect_timeout),
    };
    crate::cmd::serve::init_logging(certbound_server::config::LogFormat::Text, "info", None);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let sidecar = certbound_sidecar::start(config)
            .await
            .map_err(|e| match e {
                // Files that cannot be read or do not belong together: an input error.
                certbound_sidecar::SidecarError::Credentials(_) => usage(e.to_string()),
                other => anyhow::Error::new(other),
            })?;
        println!("sidecar: http://{} → {}", sidecar.addr, args.upstream);
        crate::cmd::serve::wait_for_termination().await;
        sidecar.shutdown();
        sidecar.wait().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// An `https://` URL with a host: the sidecar only ever talks TLS to the
/// partner, since sending its client certificate's token in clear would
/// defeat the point.
fn https_url(flag: &str, value: &str) -> Result<http::Uri> {
    let uri: http::Uri = value
        .parse()
        .map_err(|_| usage(format!("{flag} `{value}` is not a URL")))?;
    if uri.scheme_str() != Some("https") || uri.host().is_none() {
        return Err(usage(format!(
            "{flag} `{value}` must be an https:// URL with a host: the sidecar calls the partner over mTLS only"
        )));
    }
    Ok(uri)
}
