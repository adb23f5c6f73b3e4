//! The subcommands. Each module holds its clap arguments and its `run`.

pub mod audit;
pub mod check;
pub mod client;
pub mod completions;
pub mod config;
pub mod connect;
pub mod init;
pub mod pki;
pub mod pki_export;
pub mod pki_revoke;
pub mod registry;
pub mod request;
pub mod serve;
pub mod sidecar;
pub mod token;
pub mod udap;

/// Exit code: the command found a problem.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: usage or input error.
pub const EXIT_USAGE: u8 = 2;

/// An error the user made in calling the command (a bad argument, a file that
/// cannot be read): exit code 2 rather than 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Wrap a message as a usage error.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// 2 for usage errors anywhere in the chain (a bad field of a certificate
/// request among them), 1 otherwise.
pub fn exit_code_for(err: &anyhow::Error) -> u8 {
    if err.chain().any(|e| {
        e.downcast_ref::<UsageError>().is_some()
            || e.downcast_ref::<certbound_pki::generate::GenerateError>()
                .is_some_and(|g| g.is_bad_request())
    }) {
        EXIT_USAGE
    } else {
        EXIT_FAILED
    }
}
