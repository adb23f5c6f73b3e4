//! `certbound serve`: run the authorization server from a config file, or with
//! `--dev` from nothing at all, until SIGINT or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use certbound_server::config::{Config, LogFormat};
use certbound_server::dev;
use clap::Args;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The config file (TOML); `certbound init DIR` writes one to start from.
    #[arg(long, value_name = "FILE", conflicts_with = "dev")]
    config: Option<PathBuf>,
    /// Run with embedded defaults: a dev PKI, an SQLite database, a demo
    /// client, TLS and mTLS listeners on 127.0.0.1. No config file needed.
    #[arg(long)]
    dev: bool,
    /// Data directory of --dev.
    #[arg(long, value_name = "DIR", default_value = dev::DEFAULT_DEV_DIR, requires = "dev")]
    data_dir: PathBuf,
    /// Port of the --dev TLS listener (0 picks a free one).
    #[arg(long, value_name = "PORT", default_value_t = dev::DEV_TLS_PORT, requires = "dev")]
    tls_port: u16,
    /// Port of the --dev mTLS listener (0 picks a free one).
    #[arg(long, value_name = "PORT", default_value_t = dev::DEV_MTLS_PORT, requires = "dev")]
    mtls_port: u16,
    /// Log format: text or json (overrides the config file's [log] format).
    #[arg(long, value_name = "FORMAT", value_parser = ["text", "json"])]
    log_format: Option<String>,
}

pub fn run(args: ServeArgs) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("certbound")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args))
}

/// What `serve` says when given neither `--config` nor `--dev`.
const NEITHER: &str = "serve needs --config FILE (a deployment; `certbound init DIR` writes a commented certbound.toml \
     and a PKI to start from, `certbound config check FILE` validates one) or --dev (a local trial on 127.0.0.1 \
     with everything generated: PKI, database, demo client, admin token)";

async fn serve(args: ServeArgs) -> Result<ExitCode> {
    if args.config.is_none() && !args.dev {
        return Err(crate::cmd::usage(NEITHER));
    }
    let (config, dev_files) = match &args.config {
        Some(path) => (
            Config::load(path).map_err(|e| crate::cmd::usage(e.to_string()))?,
            None,
        ),
        None => {
            init_logging(LogFormat::Text, "info", args.log_format.as_deref());
            let (config, files) = dev::prepare(&args.data_dir, args.tls_port, args.mtls_port)
                .await
                .context("preparing the --dev environment")?;
            (config, Some(files))
        }
    };
    if dev_files.is_none() {
        init_logging(
            config.log.format,
            &config.log.level,
            args.log_format.as_deref(),
        );
    }
    let mut signals = Signals::register().context("cannot install the signal handlers")?;
    let running = certbound_server::bind_with(
        &config,
        &[certbound_console::MOUNT],
        Some(certbound_gateway::BUILD),
    )
    .await?;
    for l in &running.listeners {
        let scheme = if l.tls { "https" } else { "http" };
        let kind = if l.mtls {
            "mTLS"
        } else if l.tls {
            "TLS"
        } else {
            "plain HTTP"
        };
        println!("listening: {} {scheme}://{} ({kind})", l.name, l.addr);
    }
    println!("issuer: {}", running.issuer);
    print_console(&running, dev_files.as_ref());
    if let Some(files) = &dev_files {
        print_dev_commands(&running, files);
    }
    signals.wait(&running).await;
    eprintln!("shutting down: draining connections");
    running.shutdown();
    running.wait().await;
    Ok(ExitCode::SUCCESS)
}

/// The console's URL when `[admin]` is configured; in dev mode also a
/// one-time sign-in link and the admin token's file.
fn print_console(running: &certbound_server::Running, dev: Option<&dev::DevFiles>) {
    use certbound_server::signin_link::{LINK_VALIDITY, SignInLinks};
    let Some(admin) = running.admin() else {
        return;
    };
    let issuer = running.issuer.trim_end_matches('/');
    println!("console: {issuer}{}", certbound_server::meta::CONSOLE_PATH);
    let Some(files) = dev else {
        return;
    };
    if let Some(code) = admin.sign_in_links.issue() {
        println!(
            "  sign in (one-time link, valid {} minutes): {}",
            LINK_VALIDITY.as_secs() / 60,
            SignInLinks::url(issuer, &code)
        );
    }
    println!(
        "  admin token (admin API, console sign-in form): {}",
        files.admin_token.display()
    );
}

fn print_dev_commands(running: &certbound_server::Running, files: &dev::DevFiles) {
    let Some(mtls) = running.listeners.iter().find(|l| l.mtls) else {
        return;
    };
    let url = format!("https://{}/oauth2/token", mtls.addr);
    let (cert, key, ca) = (
        files.client_cert.display(),
        files.client_key.display(),
        files.ca_cert.display(),
    );
    println!("\nGet a certificate-bound token with curl:");
    println!(
        "  curl --cert {cert} --key {key} --cacert {ca} -d grant_type=client_credentials -d client_id={} {url}",
        files.client_id
    );
    println!("or with certbound, which also decodes it and checks the binding:");
    println!(
        "  certbound token --token-url {url} --client-id {} --cert {cert} --key {key} --ca {ca} --claims",
        files.client_id
    );
    println!(
        "\nMetadata: {}/.well-known/oauth-authorization-server  (Ctrl-C stops)",
        running.issuer
    );
}

pub fn init_logging(format: LogFormat, level: &str, flag: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let json = match flag {
        Some(f) => f == "json",
        None => format == LogFormat::Json,
    };
    use std::io::IsTerminal;
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// The signals `serve` answers, registered before it binds and announces its
/// listeners, so that a signal sent as soon as they are printed is never met
/// by the default action (death) instead.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn register() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// Wait for SIGINT or SIGTERM; reload certificates on each SIGHUP meanwhile.
    async fn wait(&mut self, running: &certbound_server::Running) {
        loop {
            tokio::select! {
                _ = self.int.recv() => return,
                _ = self.term.recv() => return,
                _ = self.hup.recv() => {
                    for outcome in running.reload_tls() {
                        match outcome.result {
                            Ok(()) => eprintln!("SIGHUP: reloaded the certificates of listener {}", outcome.listener),
                            Err(e) => eprintln!("SIGHUP: listener {} keeps its old certificates: {e}", outcome.listener),
                        }
                    }
                }
            }
        }
    }
}

/// Wait for SIGINT or SIGTERM.
pub async fn wait_for_termination() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
