//! The result of `certbound connect` as data: every fact the tracer learned,
//! the verdicts, and one diagnosis with a fix. Text and JSON are two
//! renderings of this; the JSON field names are documented in
//! `docs/reference-client.md` and kept stable.

use serde::Serialize;
use time::OffsetDateTime;

/// Everything learned about one connection attempt.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectReport {
    /// `host:port` as given.
    pub target: String,
    /// The name sent in SNI and checked against the certificate.
    pub server_name: String,
    /// True when TCP, the handshake and the server's verification all succeeded
    /// and the server did not reject the connection right after.
    pub ok: bool,
    pub tcp: TcpReport,
    /// `not_started`, `complete` or `failed`.
    pub handshake: HandshakeStatus,
    /// What was negotiated; `null` when no ServerHello arrived.
    pub tls: Option<Negotiated>,
    /// The chain the server sent, leaf first.
    pub server_certificates: Vec<CertSummary>,
    /// The same chain as DER, for `connect --save-chain`; captured even when
    /// its verification failed. Not part of the JSON.
    #[serde(skip)]
    pub server_chain: Vec<certbound_pki::CertDer>,
    /// The verdict on the server's chain and name; `null` when it sent none.
    pub verification: Option<Verification>,
    pub client_auth: ClientAuthReport,
    /// The read after the handshake that catches a late rejection (TLS 1.3).
    pub post_handshake: PostHandshake,
    /// The alert that ended the connection, if one did.
    pub alert: Option<AlertInfo>,
    /// What went wrong and what to do; `null` when all is well.
    pub diagnosis: Option<Diagnosis>,
    /// The handshake as a sequence of messages.
    pub steps: Vec<Step>,
}

impl ConnectReport {
    /// One line: the cause of the failure, or that all went well.
    pub fn headline(&self) -> String {
        match &self.diagnosis {
            Some(d) => d.cause.clone(),
            None => format!("handshake with {} succeeded", self.target),
        }
    }
}

/// Where a connection attempt got to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HandshakeStatus {
    NotStarted,
    Complete,
    Failed,
}

/// The TCP connection.
#[derive(Debug, Clone, Serialize)]
pub struct TcpReport {
    pub status: TcpStatus,
    /// The address connected to (or last tried).
    pub address: Option<String>,
    /// The operating system's words, when it failed.
    pub error: Option<String>,
}

/// How the TCP connection went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TcpStatus {
    Connected,
    Refused,
    TimedOut,
    NotResolved,
    Unreachable,
    Failed,
}

impl std::fmt::Display for TcpStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TcpStatus::Connected => "connected",
            TcpStatus::Refused => "connection refused",
            TcpStatus::TimedOut => "timed out",
            TcpStatus::NotResolved => "name not resolved",
            TcpStatus::Unreachable => "unreachable",
            TcpStatus::Failed => "failed",
        })
    }
}

/// What client and server agreed on.
#[derive(Debug, Clone, Serialize)]
pub struct Negotiated {
    /// "TLS 1.3".
    pub version: String,
    /// IANA name, e.g. "TLS13_AES_256_GCM_SHA384".
    pub cipher_suite: Option<String>,
    /// e.g. "X25519", "secp256r1", "X25519MLKEM768".
    pub key_exchange: Option<String>,
    /// The ALPN protocol, e.g. "h2".
    pub alpn: Option<String>,
}

/// One certificate of the server's chain.
#[derive(Debug, Clone, Serialize)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    pub subject_alt_names: Vec<String>,
    pub sha256_fingerprint: String,
}

/// The verdict on the server's certificate: openssl's "Verify return code".
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// Chain and host name both good.
    pub ok: bool,
    /// False when `--insecure-skip-verify` let a failed verdict pass.
    pub enforced: bool,
    /// `ca_file` or `system_roots`.
    pub trust: TrustSource,
    /// How many CA certificates were trusted.
    pub anchors: usize,
    pub chain_ok: bool,
    /// The chain diagnosis code of `certbound check` (e.g. `unknown_ca`), when it failed.
    pub chain_code: Option<String>,
    /// In words: the verified path, or what is wrong with the chain.
    pub chain_message: String,
    /// Subjects from the leaf to the trust anchor, when the chain verified.
    pub path: Vec<String>,
    pub host_ok: bool,
    pub host_message: String,
    /// What to do, when something failed.
    pub fix: Option<String>,
    /// The OCSP response the server stapled in the handshake (RFC 6066
    /// status_request), checked against the leaf's issuer; `null` when the
    /// verifier did not look.
    pub ocsp_staple: Option<Staple>,
}

/// What the server stapled, and what it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Staple {
    /// Nothing was stapled.
    None,
    Good {
        #[serde(with = "time::serde::rfc3339")]
        next_update: OffsetDateTime,
    },
    Revoked {
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        /// keyCompromise, superseded, ... (RFC 5280 names); `null` when not given.
        reason: Option<String>,
    },
    /// The responder does not know the certificate.
    Unknown,
    /// A response was stapled but is not believed, or cannot be checked.
    Invalid { reason: String },
}

impl std::fmt::Display for Staple {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use certbound_pki::time_fmt::{date, rfc3339};
        match self {
            Staple::None => f.write_str("none (the server stapled no OCSP response)"),
            Staple::Good { next_update } => write!(
                f,
                "good (the issuer's OCSP answer, valid until {})",
                rfc3339(*next_update)
            ),
            Staple::Revoked { at, reason } => write!(
                f,
                "REVOKED on {}, reason: {}",
                date(*at),
                reason.as_deref().unwrap_or("not given")
            ),
            Staple::Unknown => {
                f.write_str("unknown (the responder does not know this certificate)")
            }
            Staple::Invalid { reason } => write!(f, "not believed: {reason}"),
        }
    }
}

/// Where the trusted CAs came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustSource {
    CaFile,
    SystemRoots,
}

/// The client-certificate part of the handshake.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClientAuthReport {
    /// The server sent a CertificateRequest.
    pub requested: bool,
    /// The CA names the server said it accepts (may be empty even when it asks).
    pub acceptable_ca_names: Vec<String>,
    /// A certificate and key were given.
    pub certificate_configured: bool,
    /// A certificate was sent.
    pub certificate_sent: bool,
    /// The certificate configured, summarized.
    pub certificate: Option<ClientCertSummary>,
    /// Whether the issuer of the chain sent is among the names; `null` when
    /// there is nothing to compare.
    pub issuer_acceptable: Option<bool>,
    /// A hint, when there is one.
    pub note: Option<String>,
}

/// The client's certificate, as configured.
#[derive(Debug, Clone, Serialize)]
pub struct ClientCertSummary {
    pub subject: String,
    pub issuer: String,
    /// Certificates in the chain sent (leaf included).
    pub chain_length: usize,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    #[serde(rename = "x5t#S256")]
    pub x5t_s256: String,
}

/// What the read after the handshake found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PostHandshake {
    /// No handshake to check after, or not checked (TLS 1.2: the server's
    /// Finished already said yes).
    NotChecked,
    /// The server sent a session ticket or data: it accepted the connection.
    Accepted,
    /// Nothing within the wait: no rejection seen.
    Quiet,
    /// The server sent an alert: it rejected the connection.
    Rejected,
    /// The server closed the connection without a word.
    Closed,
}

/// An alert and who sent it.
#[derive(Debug, Clone, Serialize)]
pub struct AlertInfo {
    /// `server` or `client`.
    pub from: String,
    /// The RFC 8446 name, e.g. `certificate_required`.
    pub name: String,
    pub code: u8,
    /// Sent after the client finished the handshake (a TLS 1.3 late rejection).
    pub after_handshake: bool,
}

/// What went wrong and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    /// A stable short code: the alert name, `connection_refused`,
    /// `server_certificate`, ...
    pub code: String,
    pub cause: String,
    pub fix: String,
}

/// One message of the handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// `client` or `server`: who sent it.
    pub from: String,
    /// "ClientHello", "Certificate", "alert unknown_ca", "TCP connect", ...
    pub message: String,
    /// Details, e.g. the version chosen or the certificate's subject.
    pub note: Option<String>,
    /// The connection ended here, in failure.
    pub failed: bool,
}
