//! The `certbound` binary: parses the command line, dispatches to a command,
//! prints errors with their causes, and picks the exit code.
//!
//! Exit codes: 0 success; 1 the command ran and found a problem (a failed
//! check or handshake, an error response, a refused operation); 2 a usage or
//! input error (bad arguments, a file that cannot be read).

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

mod cmd;
mod files;
mod style;

/// jemalloc returns the pages a burst used (a PostgreSQL outage's audit
/// spill, a wave of connections) to the OS; glibc's malloc kept them, which
/// showed as a lasting RSS step in the soak run.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
    /// Test a TLS handshake against a server and explain a failure: chain,
    /// host name, client certificate, alerts, and where the handshake stopped.
    Connect(cmd::connect::ConnectArgs),
    /// Call an HTTPS API with a client certificate (a small curl that explains TLS).
    Request(cmd::request::RequestArgs),
    /// Get an access token with client_credentials, authenticated by the
    /// client certificate alone (RFC 8705).
    Token(cmd::token::TokenArgs),
    /// UDAP (HL7 FAST Security) as a partner: verify a server's metadata,
    /// register by software statement, get tokens with hl7-b2b.
    Udap(cmd::udap::UdapArgs),
    /// Run the RFC 8705 authorization server (`--dev` needs no config file).
    Serve(cmd::serve::ServeArgs),
    /// Start a deployment: write a commented certbound.toml, an admin token
    /// and a PKI (or say where to put yours) to DIR, and print the next commands.
    Init(cmd::init::InitArgs),
    /// Check a `serve` config file without starting the server.
    Config(cmd::config::ConfigArgs),
    /// Plain HTTP in on loopback, mTLS plus a certificate-bound token out:
    /// lets an app that cannot do mTLS call a partner that requires it.
    Sidecar(cmd::sidecar::SidecarArgs),
    /// Manage the client registry (add, list, show, remove): in the store
    /// (--store, --config) or through a running server's admin API (--server).
    Client(cmd::registry::ClientArgs),
    /// Read the audit trail: authentication attempts and admin changes, with
    /// the precise reason of each refusal, newest first.
    Audit(cmd::audit::AuditArgs),
    /// Print a shell completion script (bash, zsh, fish) to stdout.
    Completions(cmd::completions::CompletionsArgs),
    /// Write the man pages (certbound.1 and one page per subcommand) to DIR.
    Man(cmd::completions::ManArgs),
}

/// The exit status of a process that SIGPIPE killed, as shells report it.
const EXIT_BROKEN_PIPE: i32 = 128 + 13;

/// Output piped into a reader that stops early (`certbound check … | head`)
/// ends the program quietly, the way SIGPIPE ends other Unix tools, instead of
/// a panic from `println!` about the broken pipe. (Rust ignores SIGPIPE, and
/// restoring it takes unsafe code, which this workspace forbids.)
fn exit_quietly_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to std") && message.contains("Broken pipe") {
            std::process::exit(EXIT_BROKEN_PIPE);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    exit_quietly_on_broken_pipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Pki(args) => cmd::pki::run(args),
        Command::Check(args) => cmd::check::run(args),
        Command::Connect(args) => cmd::connect::run(args),
        Command::Request(args) => cmd::request::run(args),
        Command::Token(args) => cmd::token::run(args),
        Command::Udap(args) => cmd::udap::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Sidecar(args) => cmd::sidecar::run(args),
        Command::Client(args) => cmd::registry::run(args),
        Command::Audit(args) => cmd::audit::run(args),
        Command::Init(args) => cmd::init::run(args),
        Command::Config(args) => cmd::config::run(args),
        Command::Completions(args) => cmd::completions::completions(&args, Cli::command()),
        Command::Man(args) => cmd::completions::man(&args, Cli::command()),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            style::print_error(&err);
            ExitCode::from(cmd::exit_code_for(&err))
        }
    }
}
