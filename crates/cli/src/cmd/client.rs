//! What `connect`, `request` and `token` share: the TLS flags (a client
//! certificate and CA from files, or a named `[tls.NAME]` profile), the tokio
//! runtime each command starts for itself, the mapping of certbound-tls
//! errors to exit codes, and the text rendering of a connection report.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use certbound_pki::time_fmt::{days_between, rfc3339};
use certbound_tls::material::{KEY_PASSWORD_ENV, KeyPassword};
use certbound_tls::report::{ConnectReport, HandshakeStatus, PostHandshake};
use certbound_tls::{ClientTls, Identity, material, profile};
use clap::Args;
use time::OffsetDateTime;

use crate::cmd::usage;
use crate::style::{BOLD, DIM, GREEN, RED, YELLOW, paint};

/// Default for `--timeout`, in seconds.
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;

/// The client's TLS settings, from files or from a named profile.
#[derive(Debug, Args)]
pub struct ClientTlsArgs {
    /// Client certificate (PEM or DER): the leaf, then its intermediates; or a
    /// PKCS#12 file (.p12/.pfx), which holds the key too.
    #[arg(long, value_name = "FILE", conflicts_with = "tls")]
    pub cert: Option<PathBuf>,
    /// Private key of --cert (not needed when --cert is PKCS#12).
    #[arg(long, value_name = "FILE", requires = "cert", conflicts_with = "tls")]
    pub key: Option<PathBuf>,
    /// File whose first line is the password of an encrypted --key or a
    /// PKCS#12 --cert [default: $CERTBOUND_KEY_PASSWORD].
    #[arg(long, value_name = "FILE", conflicts_with = "tls")]
    pub key_password_file: Option<PathBuf>,
    /// CA certificate(s) that verify the server [default: the system's roots].
    #[arg(
        long,
        visible_alias = "cacert",
        value_name = "FILE",
        conflicts_with = "tls"
    )]
    pub ca: Option<PathBuf>,
    /// Use the TLS profile [tls.NAME] of --config (cert, key, ca, min_version).
    #[arg(long, value_name = "NAME", requires = "config")]
    pub tls: Option<String>,
    /// The config file that holds the --tls profile.
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub config: Option<PathBuf>,
    /// Seconds allowed for TCP connect, and again for the TLS handshake.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT_SECS)]
    pub timeout: u64,
}

impl ClientTlsArgs {
    /// Load the files or the profile.
    pub fn load(&self) -> Result<ClientTls> {
        if let (Some(name), Some(config)) = (&self.tls, &self.config) {
            let profile = profile::load_profile(config, name).map_err(|e| tls_error(e.into()))?;
            return Ok(ClientTls::from_profile(profile));
        }
        let identity = Identity::from_flags(
            self.cert.as_deref(),
            self.key.as_deref(),
            &key_password(self.key_password_file.as_deref())?,
        )
        .map_err(tls_error)?;
        let ca = self
            .ca
            .as_deref()
            .map(|p| material::load_certificates(p, "the CA file"))
            .transpose()
            .map_err(tls_error)?;
        Ok(ClientTls {
            identity,
            ca,
            ..ClientTls::default()
        })
    }

    pub fn timeout(&self) -> Result<Duration> {
        if self.timeout == 0 {
            return Err(usage("--timeout must be at least 1 second"));
        }
        Ok(Duration::from_secs(self.timeout))
    }
}

/// The password of an encrypted key or PKCS#12 file: the first line of
/// `--key-password-file`, else `$CERTBOUND_KEY_PASSWORD`, else none.
pub fn key_password(file: Option<&Path>) -> Result<KeyPassword> {
    KeyPassword::from_sources(file, std::env::var_os(KEY_PASSWORD_ENV)).map_err(tls_error)
}

/// A certbound-tls error for `main`: exit code 2 when the input is at fault.
pub fn tls_error(e: certbound_tls::Error) -> anyhow::Error {
    if e.is_usage() {
        usage(e.to_string())
    } else {
        anyhow::Error::new(e)
    }
}

/// Run a future on a current-thread runtime made for this command.
pub fn block_on<F: std::future::Future>(future: F) -> Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    Ok(runtime.block_on(future))
}

/// The report as text: connection, server chain, verdict, client
/// certificate, the handshake diagram, and the diagnosis.
pub fn render_report(r: &ConnectReport, color: bool) -> String {
    let mut out = String::new();
    let now = OffsetDateTime::now_utc();
    let _ = writeln!(
        out,
        "{} {}  (server name {})\n",
        paint(color, BOLD, "certbound connect"),
        r.target,
        r.server_name
    );
    let row = |out: &mut String, k: &str, v: &str| {
        let _ = writeln!(out, "  {k:<16} {v}");
    };
    row(
        &mut out,
        "TCP",
        &match (&r.tcp.address, &r.tcp.error) {
            (Some(a), None) => format!("connected to {a}"),
            (a, e) => format!(
                "{}{}{}",
                r.tcp.status,
                a.as_ref().map(|a| format!(" ({a})")).unwrap_or_default(),
                e.as_ref().map(|e| format!(": {e}")).unwrap_or_default()
            ),
        },
    );
    if let Some(tls) = &r.tls {
        let parts: Vec<&str> = [
            Some(tls.version.as_str()),
            tls.cipher_suite.as_deref(),
            tls.key_exchange.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        row(&mut out, "TLS", &parts.join(", "));
        if let Some(alpn) = &tls.alpn {
            row(&mut out, "ALPN", alpn);
        }
    }
    row(
        &mut out,
        "handshake",
        match (r.handshake, r.post_handshake) {
            (HandshakeStatus::NotStarted, _) => "not started",
            // A late rejection (TLS 1.3): complete for the client only.
            (HandshakeStatus::Complete, PostHandshake::Rejected) => {
                "completed on the client's side, then rejected by the server"
            }
            (HandshakeStatus::Complete, PostHandshake::Closed) => {
                "completed on the client's side, then closed by the server"
            }
            (HandshakeStatus::Complete, _) => "complete",
            (HandshakeStatus::Failed, _) => "failed",
        },
    );
    if !r.server_certificates.is_empty() {
        let _ = writeln!(out, "\n{}", paint(color, BOLD, "Server certificate chain"));
        for (i, c) in r.server_certificates.iter().enumerate() {
            let _ = writeln!(out, "  {i} subject  {}", c.subject);
            let _ = writeln!(out, "    issuer   {}", c.issuer);
            let _ = writeln!(
                out,
                "    valid    {} → {} ({} days left)",
                rfc3339(c.not_before),
                rfc3339(c.not_after),
                days_between(now, c.not_after)
            );
            if !c.subject_alt_names.is_empty() {
                let _ = writeln!(out, "    SANs     {}", c.subject_alt_names.join(", "));
            }
        }
    }
    if let Some(v) = &r.verification {
        let verdict = if v.ok {
            paint(color, GREEN, "ok")
        } else if v.enforced {
            paint(color, RED, "FAILED")
        } else {
            paint(
                color,
                YELLOW,
                "FAILED (not enforced: --insecure-skip-verify)",
            )
        };
        let source = match v.trust {
            certbound_tls::report::TrustSource::CaFile => "the CA file",
            certbound_tls::report::TrustSource::SystemRoots => "the system roots",
        };
        let _ = writeln!(
            out,
            "\n{} {verdict}  (against {source}: {} CA certificate{})",
            paint(color, BOLD, "Verification"),
            v.anchors,
            if v.anchors == 1 { "" } else { "s" }
        );
        row(&mut out, "chain", &v.chain_message);
        row(&mut out, "host name", &v.host_message);
        if let Some(staple) = &v.ocsp_staple {
            row(&mut out, "OCSP staple", &staple.to_string());
        }
        if let (false, Some(fix)) = (v.ok, &v.fix) {
            row(&mut out, "fix", fix);
        }
    }
    let a = &r.client_auth;
    if r.handshake != HandshakeStatus::NotStarted {
        let _ = writeln!(out, "\n{}", paint(color, BOLD, "Client certificate"));
        row(
            &mut out,
            "requested",
            if a.requested { "yes" } else { "no" },
        );
        if a.requested {
            if a.acceptable_ca_names.is_empty() {
                row(&mut out, "acceptable CAs", "(none named)");
            }
            for (i, n) in a.acceptable_ca_names.iter().enumerate() {
                row(&mut out, if i == 0 { "acceptable CAs" } else { "" }, n);
            }
        }
        let sent = match (&a.certificate, a.certificate_sent) {
            (Some(c), true) => format!("yes: {} (chain of {})", c.subject, c.chain_length),
            (Some(_), false) => "no (one is configured)".to_string(),
            (None, _) => "no (none configured)".to_string(),
        };
        row(&mut out, "sent", &sent);
        if let Some(c) = &a.certificate {
            row(&mut out, "issuer", &c.issuer);
        }
        if let Some(note) = &a.note {
            row(&mut out, "note", note);
        }
    }
    let _ = writeln!(out, "\n{}", paint(color, BOLD, "Handshake"));
    for s in &r.steps {
        let arrow = if s.from == "client" {
            "client → server"
        } else {
            "client ← server"
        };
        let mark = if s.failed {
            paint(color, RED, "  ✗ stopped here")
        } else {
            String::new()
        };
        let note = s
            .note
            .as_deref()
            .map(|n| paint(color, DIM, n))
            .unwrap_or_default();
        let line = format!("  {arrow}  {:<22} {note}{mark}", s.message);
        let _ = writeln!(out, "{}", line.trim_end());
    }
    if r.handshake == HandshakeStatus::Complete {
        let post = match r.post_handshake {
            PostHandshake::NotChecked => None,
            PostHandshake::Accepted => Some("the server accepted the connection"),
            PostHandshake::Quiet => Some("no rejection after the handshake"),
            PostHandshake::Rejected => {
                Some("the server rejected the connection after the handshake")
            }
            PostHandshake::Closed => Some("the server closed the connection after the handshake"),
        };
        if let Some(p) = post {
            let _ = writeln!(out, "  {p}");
        }
    }
    if let Some(d) = &r.diagnosis {
        let _ = writeln!(out, "\n{} {}", paint(color, BOLD, "Diagnosis:"), d.code);
        row(&mut out, "cause", &d.cause);
        row(&mut out, "fix", &d.fix);
    }
    let _ = writeln!(
        out,
        "\n{}",
        if r.ok {
            format!(
                "{}: handshake and verification succeeded",
                paint(color, GREEN, "OK")
            )
        } else {
            format!("{}: {}", paint(color, RED, "FAILED"), r.headline())
        }
    );
    out
}
