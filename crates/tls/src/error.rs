//! The one error type of this crate. Each variant carries what the message
//! needs (paths, names, reasons) and its `Display` says what went wrong and
//! what to do. A failed handshake is not an error here: it is a
//! [`ConnectReport`](crate::report::ConnectReport) with a diagnosis, carried by
//! [`Error::Handshake`] only when a caller (the HTTP client) cannot go on.

use std::path::PathBuf;

use certbound_pki::BundleError;
use certbound_pki::key::KeyError;

use crate::profile::ProfileError;
use crate::report::ConnectReport;

/// What can go wrong before, around or after a TLS connection.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {what} {}: {source}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} {} holds no usable certificate: {source}", path.display())]
    Certificates {
        what: &'static str,
        path: PathBuf,
        source: BundleError,
    },
    /// "the key PATH: …", or for a password "PATH is encrypted: give its
    /// password …" and "the password for PATH is wrong".
    #[error("{}", source.describe(&path.display().to_string()))]
    Key { path: PathBuf, source: KeyError },
    #[error(
        "the key {} does not belong to the certificate {}: pass the key made with that certificate (`certbound check CERT --key KEY` compares them)",
        key.display(), cert.display()
    )]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error(
        "a client certificate needs both --cert and --key (or a PKCS#12 file as --cert); {missing} is missing"
    )]
    HalfIdentity { missing: &'static str },
    #[error("{0}")]
    Profile(#[from] ProfileError),
    #[error(
        "no trusted CA certificates were found on this system{}: pass the server's CA with --ca",
        if detail.is_empty() { String::new() } else { format!(" ({detail})") }
    )]
    NoSystemRoots { detail: String },
    #[error("`{input}` is not HOST:PORT or an https:// URL: {reason}")]
    Target { input: String, reason: String },
    #[error("`{name}` cannot be used as a TLS server name: {reason}")]
    ServerName { name: String, reason: String },
    #[error("`{url}` is not a usable URL: {reason}")]
    Url { url: String, reason: String },
    #[error("`{header}` is not a valid header: write it as 'Name: value'")]
    Header { header: String },
    #[error("the TLS configuration cannot be built: {reason}")]
    Config { reason: String },
    #[error("{}", .0.headline())]
    Handshake(Box<ConnectReport>),
    #[error("the HTTP exchange failed: {reason}")]
    Http { reason: String },
    #[error("no complete response within {seconds} s: raise --timeout, or check the server")]
    Timeout { seconds: u64 },
    #[error(
        "the response body is larger than {limit} bytes; certbound stops reading there (use curl for downloads this large)"
    )]
    BodyTooLarge { limit: usize },
}

impl Error {
    /// Whether the caller's input is at fault (a file, a flag, a config): the
    /// CLI's exit code 2, rather than 1 for a failed connection or request.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Error::Read { .. }
                | Error::Certificates { .. }
                | Error::Key { .. }
                | Error::KeyMismatch { .. }
                | Error::HalfIdentity { .. }
                | Error::Profile(_)
                | Error::Target { .. }
                | Error::ServerName { .. }
                | Error::Url { .. }
                | Error::Header { .. }
        )
    }
}
