//! `certbound connect HOST:PORT`: a real handshake, explained. Prints the
//! connection report (or one JSON object with `--json`); exit 0 when the
//! handshake and the server's verification succeeded, 1 when not.
//! `--save-chain FILE` keeps the chain the server sent, verified or not (what
//! `openssl s_client -showcerts` is used for: learning a partner's CA).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use certbound_pki::CertInfo;
use certbound_tls::{ConnectOptions, ConnectReport, Target, Versions};
use clap::Args;

use crate::cmd::EXIT_FAILED;
use crate::cmd::client::{ClientTlsArgs, block_on, render_report, tls_error};
use crate::files;
use crate::style::color_stdout;

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Where to connect: HOST:PORT, [IPv6]:PORT, or https://HOST[:PORT][/PATH]
    /// (port 443 by default; the path is ignored).
    #[arg(value_name = "HOST:PORT")]
    target: String,
    #[command(flatten)]
    tls: ClientTlsArgs,
    /// Name for SNI and the certificate's host check [default: HOST].
    #[arg(long, value_name = "NAME")]
    servername: Option<String>,
    /// Offer TLS 1.2 only.
    #[arg(long = "tls1.2", conflicts_with = "tls13")]
    tls12: bool,
    /// Offer TLS 1.3 only.
    #[arg(long = "tls1.3")]
    tls13: bool,
    /// Complete the handshake even if the server's certificate fails
    /// verification. The verdict is still reported, and the exit code is 1.
    #[arg(long)]
    insecure_skip_verify: bool,
    /// Print one JSON object instead of the report.
    #[arg(long)]
    json: bool,
    /// Write the certificates the server sent to FILE (PEM, leaf first), even
    /// when their verification fails: the last one's issuer is the CA to pass
    /// as --ca.
    #[arg(long, value_name = "FILE")]
    save_chain: Option<PathBuf>,
    /// Replace an existing --save-chain file.
    #[arg(long, requires = "save_chain")]
    force: bool,
}

pub fn run(args: ConnectArgs) -> Result<ExitCode> {
    let (target, path) = Target::parse_arg(&args.target).map_err(tls_error)?;
    if let Some(path) = path {
        eprintln!(
            "note: the path {path} is ignored: connect tests the TLS connection only (`certbound request URL` fetches it)"
        );
    }
    if let Some(file) = &args.save_chain {
        // Refuse before connecting, not after.
        files::ensure_writable(&[file.as_path()], args.force)?;
    }
    let mut tls = args.tls.load()?;
    if args.tls12 {
        tls.versions = Versions::Only12;
    } else if args.tls13 {
        tls.versions = Versions::Only13;
    }
    tls.insecure_skip_verify = args.insecure_skip_verify;
    let mut opts = ConnectOptions::new(tls);
    opts.server_name = args.servername.clone();
    opts.timeout = args.tls.timeout()?;
    let report = block_on(certbound_tls::connect(&target, &opts))?.map_err(tls_error)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render_report(&report, color_stdout()));
    }
    if let Some(file) = &args.save_chain {
        save_chain(&report, file, args.force)?;
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

/// Write the server's chain as PEM and say, on stderr (stdout may be JSON),
/// what was written and which CA completes it.
fn save_chain(report: &ConnectReport, file: &Path, force: bool) -> Result<()> {
    if report.server_chain.is_empty() {
        anyhow::bail!(
            "the server sent no certificate, so nothing was written to {}: {}",
            file.display(),
            report.headline()
        );
    }
    let pem: String = report
        .server_chain
        .iter()
        .map(|der| certbound_pki::generate::pem_encode("CERTIFICATE", der))
        .collect();
    files::write_all(&[files::Output::cert(file.to_path_buf(), pem)], force)?;
    let count = report.server_chain.len();
    eprintln!(
        "saved the server's chain to {} ({count} certificate{}, leaf first):",
        file.display(),
        if count == 1 { "" } else { "s" }
    );
    let infos: Vec<Option<CertInfo>> = report
        .server_chain
        .iter()
        .map(|der| CertInfo::from_der(der).ok())
        .collect();
    for (i, info) in infos.iter().enumerate() {
        match info {
            Some(c) => eprintln!("  {i} {}  (issued by {})", c.subject, c.issuer),
            None => eprintln!("  {i} (a certificate certbound cannot read)"),
        }
    }
    if let Some(Some(last)) = infos.last() {
        if last.self_signed {
            eprintln!(
                "the last certificate is self-signed: it is the CA itself. Compare its SHA-256 fingerprint {} with the server's operator before you pass it as --ca",
                last.sha256_fingerprint
            );
        } else {
            eprintln!(
                "the CA to ask the server's operator for, and to pass as --ca, is the issuer of the last one: {}",
                last.issuer
            );
        }
    }
    Ok(())
}
