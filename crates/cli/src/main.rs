//! The `certbound` binary: parses the command line, dispatches to a command,
//! prints errors with their causes, and picks the exit code.
//!
//! Exit codes: 0 success; 1 the command ran and found a problem (a failed
//! check or handshake, an error response, a refused operation); 2 a usage or
//! input error (bad arguments, a file that cannot be read).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;
mod files;
mod style;

/// One program for the whole life of a mutual-TLS integration: make
/// certificates, check them, test handshakes, and run an RFC 8705
/// authorization server.
#[derive(Debug, Parser)]
#[command(
    name = "certbound",
    version,
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Make certificates: a CA (with an optional intermediate), server and
    /// client certificates, self-signed certificates.
    Pki(cmd::pki::PkiArgs),
    /// Check a certificate before deploying it: dates, purpose, key, chain,
    /// host name, strength, key file permissions.
    Check(cmd::check::CheckArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Pki(args) => cmd::pki::run(args),
        Command::Check(args) => cmd::check::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            style::print_error(&err);
            ExitCode::from(cmd::exit_code_for(&err))
        }
    }
}
