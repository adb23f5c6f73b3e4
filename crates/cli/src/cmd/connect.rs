//! `certbound connect HOST:PORT`: a real handshake, explained. Prints the
//! connection report (or one JSON object with `--json`); exit 0 when the
//! handshake and the server's verification succeeded, 1 when not.

use std::process::ExitCode;

use anyhow::Result;
use certbound_tls::{ConnectOptions, Target, Versions};
use clap::Args;

use crate::cmd::EXIT_FAILED;
use crate::cmd::client::{ClientTlsArgs, block_on, render_report, tls_error};
use crate::style::color_stdout;

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Where to connect: HOST:PORT, or [IPv6]:PORT.
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
}

pub fn run(args: ConnectArgs) -> Result<ExitCode> {
    let target = Target::parse(&args.target).map_err(tls_error)?;
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
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}
