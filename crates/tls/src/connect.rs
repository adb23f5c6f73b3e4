//! `certbound connect` as a library: a real TCP connection and TLS handshake
//! (rustls, aws-lc-rs) that records everything it sees and ends in a
//! [`ConnectReport`] with one diagnosis: TCP refused or timed out, the
//! server's chain not trusted, the client certificate missing or refused,
//! and a TLS 1.3 rejection that arrives only after the handshake.
//!
//! [`open`] stops after the handshake and hands over the stream (the HTTP
//! client builds on it); [`connect`] goes on to read briefly for a late
//! rejection and returns the report.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use certbound_pki::CertInfo;
use rustls::client::ClientConnection;
use rustls_pki_types::ServerName;
use time::OffsetDateTime;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::alert::{self, AlertContext};
use crate::client::ClientTls;
use crate::diagram::{self, End, group_name, suite_name, version_name};
use crate::error::Error;
use crate::report::{
    AlertInfo, CertSummary, ConnectReport, Diagnosis, HandshakeStatus, Negotiated, PostHandshake,
    TcpReport, TcpStatus,
};
use crate::trace::{Shared, TracedStream};
use crate::{names, tcp};

/// How long TCP connect and the handshake may each take, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait after a TLS 1.3 handshake for a late rejection. A server
/// that accepted sends a session ticket at once, which ends the wait early.
pub const POST_HANDSHAKE_WAIT: Duration = Duration::from_millis(1000);

/// The TLS stream `open` returns.
pub type TlsStream = tokio_rustls::client::TlsStream<TracedStream<TcpStream>>;

/// Where to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
}

impl Target {
    /// Parse `HOST:PORT`, `[IPv6]:PORT`.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let s = input.trim();
        let err = |reason: &str| Error::Target {
            input: s.to_string(),
            reason: reason.to_string(),
        };
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| err("an IPv6 address needs its closing ]"))?;
            let port = after
                .strip_prefix(':')
                .ok_or_else(|| err("the port is missing, e.g. [::1]:443"))?;
            (host, port)
        } else {
            if s.matches(':').count() > 1 {
                return Err(err("write an IPv6 address in brackets, e.g. [::1]:443"));
            }
            s.rsplit_once(':')
                .ok_or_else(|| err("the port is missing, e.g. example.com:443"))?
        };
        if host.is_empty() {
            return Err(err("the host is missing"));
        }
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| err("the port must be a number from 1 to 65535"))?;
        Ok(Target {
            host: host.to_string(),
            port,
        })
    }
}

impl Target {
    /// Parse what `certbound connect` takes: `HOST:PORT`, `[IPv6]:PORT`, or
    /// `https://HOST[:PORT][/PATH]` (port 443 by default). The second value
    /// is the URL's path and query, which a handshake does not use, when
    /// there is one besides `/`. `http://` is refused: it has no TLS.
    pub fn parse_arg(input: &str) -> Result<(Self, Option<String>), Error> {
        let s = input.trim();
        let Some((scheme, _)) = s.split_once("://") else {
            return Ok((Self::parse(s)?, None));
        };
        let err = |reason: String| Error::Target {
            input: s.to_string(),
            reason,
        };
        if scheme.eq_ignore_ascii_case("http") {
            return Err(err(
                "http:// is plain HTTP, with no TLS handshake to test: use https:// or HOST:PORT"
                    .into(),
            ));
        }
        if !scheme.eq_ignore_ascii_case("https") {
            return Err(err(format!(
                "the scheme `{scheme}` is not https: use https://HOST[:PORT] or HOST:PORT"
            )));
        }
        let uri: http::Uri = s
            .parse()
            .map_err(|e: http::uri::InvalidUri| err(format!("it is not a valid URL ({e})")))?;
        let host = uri
            .host()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
            .filter(|h| !h.is_empty())
            .ok_or_else(|| err("the host is missing, e.g. https://example.com".into()))?;
        // Read the port from the text: `Uri::port` drops one above 65535.
        let authority = uri.authority().map_or("", |a| a.as_str());
        let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
        let after_host = authority.rsplit_once(']').map_or(authority, |(_, a)| a);
        let port = match after_host.split_once(':') {
            None => 443,
            Some((_, p)) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| err("the port must be a number from 1 to 65535".into()))?,
        };
        let path = uri
            .path_and_query()
            .map(|p| p.as_str())
            .filter(|p| !p.is_empty() && *p != "/")
            .map(str::to_string);
        Ok((
            Target {
                host: host.to_string(),
                port,
            },
            path,
        ))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// How to connect.
#[derive(Debug)]
pub struct ConnectOptions {
    pub tls: ClientTls,
    /// The name for SNI and the certificate check; default: the target host.
    pub server_name: Option<String>,
    /// Limit for TCP connect, and again for the handshake.
    pub timeout: Duration,
    /// How long to wait for a late rejection after a TLS 1.3 handshake.
    pub post_handshake_wait: Duration,
}

impl ConnectOptions {
    /// Defaults around `tls`.
    pub fn new(tls: ClientTls) -> Self {
        Self {
            tls,
            server_name: None,
            timeout: DEFAULT_TIMEOUT,
            post_handshake_wait: POST_HANDSHAKE_WAIT,
        }
    }
}

/// Connect, handshake, wait briefly for a late rejection, and report.
/// `Err` only for problems before any connection (files, names, roots).
pub async fn connect(target: &Target, opts: &ConnectOptions) -> Result<ConnectReport, Error> {
    match open(target, opts).await {
        Ok(session) => Ok(session
            .check_after_handshake(opts.post_handshake_wait)
            .await),
        Err(Error::Handshake(report)) => Ok(*report),
        Err(e) => Err(e),
    }
}

/// Connect and handshake. A failed connection is `Error::Handshake` with
/// its report.
pub async fn open(target: &Target, opts: &ConnectOptions) -> Result<Session, Error> {
    let name_text = opts
        .server_name
        .clone()
        .unwrap_or_else(|| target.host.clone());
    let server_name = ServerName::try_from(name_text.clone()).map_err(|e| Error::ServerName {
        name: name_text.clone(),
        reason: e.to_string(),
    })?;
    let trust = opts.tls.trust()?;
    let shared = Shared::new();
    let config = opts.tls.traced_config(&trust, &shared)?;
    let client = opts.tls.identity.as_ref().map(|id| ClientInfo {
        chain: id
            .chain
            .iter()
            .filter_map(|c| CertInfo::from_der(c).ok())
            .collect(),
    });
    let mut attempt = Attempt {
        target: target.to_string(),
        sni: matches!(server_name, ServerName::DnsName(_)).then(|| name_text.clone()),
        server_name: name_text,
        shared: shared.clone(),
        versions: opts.tls.versions.describe(),
        alpn: opts.tls.alpn.clone(),
        client,
        tcp: TcpReport {
            status: TcpStatus::Failed,
            address: None,
            error: None,
        },
        negotiated: None,
    };
    let (tcp_report, socket) = tcp::connect(&target.host, target.port, opts.timeout).await;
    attempt.tcp = tcp_report;
    let Some(socket) = socket else {
        return Err(Error::Handshake(Box::new(attempt.finish(End::NoTcp, None))));
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let handshake = connector.connect(server_name, TracedStream::new(socket, shared.clone()));
    let result = tokio::time::timeout(opts.timeout, handshake).await;
    shared.lock().active = false;
    match result {
        Ok(Ok(stream)) => {
            attempt.negotiated = Some(negotiated(stream.get_ref().1));
            Ok(Session {
                stream,
                info: SessionInfo { attempt },
            })
        }
        Ok(Err(e)) => {
            let (mut end, local) = classify(&e, false);
            // The write failed because the server had closed; the alert it
            // sent first was read from the socket afterwards.
            if let (End::Closed { .. }, Some(code)) = (&end, shared.lock().server_alert()) {
                end = End::AlertReceived {
                    code,
                    after_handshake: false,
                };
            }
            Err(Error::Handshake(Box::new(attempt.finish(end, local))))
        }
        Err(_) => Err(Error::Handshake(Box::new(attempt.finish(
            End::TimedOut {
                seconds: opts.timeout.as_secs(),
            },
            None,
        )))),
    }
}

/// An established connection.
#[derive(Debug)]
pub struct Session {
    pub stream: TlsStream,
    info: SessionInfo,
}

/// What is known about a connection, kept after its stream is handed on.
#[derive(Debug)]
pub struct SessionInfo {
    attempt: Attempt,
}

impl SessionInfo {
    /// The report as of the end of the handshake.
    pub fn report(&self) -> ConnectReport {
        self.attempt.finish(
            End::Complete {
                post: PostHandshake::NotChecked,
                wait_ms: 0,
            },
            None,
        )
    }

    /// The report for a connection that failed after the handshake, when
    /// `err` (or an error it wraps) is a TLS alert or a closed connection;
    /// `None` when the failure has nothing to do with TLS.
    pub fn failure_report(&self, err: &(dyn std::error::Error + 'static)) -> Option<ConnectReport> {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(e) = cur {
            if let Some(io) = e.downcast_ref::<io::Error>() {
                let (end, local) = classify(io, true);
                if matches!(end, End::AlertReceived { .. } | End::Closed { .. }) || local.is_some()
                {
                    return Some(self.attempt.finish(end, local));
                }
            }
            cur = e.source();
        }
        None
    }
}

impl Session {
    /// The report as of the end of the handshake.
    pub fn report(&self) -> ConnectReport {
        self.info.report()
    }

    /// The ALPN protocol agreed on.
    pub fn alpn(&self) -> Option<Vec<u8>> {
        self.stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec)
    }

    /// The stream, and what is needed to explain its failures later.
    pub fn split(self) -> (TlsStream, SessionInfo) {
        (self.stream, self.info)
    }

    /// Read briefly: a TLS 1.3 server that refuses the client certificate
    /// says so only now. Then report.
    pub async fn check_after_handshake(mut self, wait: Duration) -> ConnectReport {
        if self.is_tls12() {
            return self.report();
        }
        let after = read_after_handshake(&mut self.stream, &self.info.attempt.shared, wait).await;
        self.info.attempt.finish(after.end, after.local)
    }

    /// Before speaking first on a TLS 1.3 connection whose server asked for
    /// a client certificate, wait (at most `wait`, less when the server sends
    /// a session ticket) for the server's verdict on it: a rejection is
    /// `Err` with its report. `Ok` carries any data the server already sent,
    /// which the caller must read before the stream.
    pub async fn settle(&mut self, wait: Duration) -> Result<Vec<u8>, Box<ConnectReport>> {
        let requested = self.info.attempt.shared.lock().cert_request.is_some();
        if self.is_tls12() || !requested {
            return Ok(Vec::new());
        }
        let after = read_after_handshake(&mut self.stream, &self.info.attempt.shared, wait).await;
        match after.end {
            End::Complete { .. } => Ok(after.data),
            end => Err(Box::new(self.info.attempt.finish(end, after.local))),
        }
    }

    fn is_tls12(&self) -> bool {
        self.stream.get_ref().1.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_2)
    }
}

/// What the read after a TLS 1.3 handshake found.
struct AfterHandshake {
    end: End,
    local: Option<rustls::Error>,
    /// Application data the server sent first.
    data: Vec<u8>,
}

async fn read_after_handshake(
    stream: &mut TlsStream,
    shared: &Shared,
    wait: Duration,
) -> AfterHandshake {
    let mut buf = vec![0u8; 16 * 1024];
    let (post, failure, n) = tokio::select! {
        r = stream.read(&mut buf) => match r {
            Ok(0) => (PostHandshake::Closed, None, 0),
            Ok(n) => (PostHandshake::Accepted, None, n),
            Err(e) => (PostHandshake::Rejected, Some(classify(&e, true)), 0),
        },
        _ = shared.ticket.notified() => (PostHandshake::Accepted, None, 0),
        _ = tokio::time::sleep(wait) => (PostHandshake::Quiet, None, 0),
    };
    buf.truncate(n);
    // A session ticket is sent only after the server accepted the client's
    // Finished: whatever follows (even a close) is no rejection.
    let ticket = shared.lock().tickets > 0;
    let alert = matches!(failure, Some((End::AlertReceived { .. }, _)));
    let (post, failure) = if ticket && !alert {
        (PostHandshake::Accepted, None)
    } else {
        (post, failure)
    };
    let (end, local) = match (post, failure) {
        (_, Some(f)) => f,
        (PostHandshake::Closed, None) => (
            End::Closed {
                after_handshake: true,
            },
            None,
        ),
        (post, None) => (
            End::Complete {
                post,
                wait_ms: wait.as_millis(),
            },
            None,
        ),
    };
    AfterHandshake {
        end,
        local,
        data: buf,
    }
}

/// The client certificate chain, described once.
#[derive(Debug)]
struct ClientInfo {
    chain: Vec<CertInfo>,
}

/// One connection attempt: what is known before and during it.
#[derive(Debug)]
struct Attempt {
    target: String,
    server_name: String,
    sni: Option<String>,
    shared: Arc<Shared>,
    versions: &'static str,
    alpn: Vec<Vec<u8>>,
    client: Option<ClientInfo>,
    tcp: TcpReport,
    negotiated: Option<Negotiated>,
}

impl Attempt {
    /// The report for a connection that ended with `end`; `local` is a rustls
    /// error on the client's side, if that is what ended it.
    fn finish(&self, end: End, local: Option<rustls::Error>) -> ConnectReport {
        let now = OffsetDateTime::now_utc();
        let trace = self.shared.lock();
        let leaf = self.client.as_ref().and_then(|c| c.chain.first());
        let client_auth = names::client_auth(
            &trace,
            self.client.as_ref().map(|c| c.chain.as_slice()),
            local.is_none(),
        );
        let tls = self.negotiated.clone().or_else(|| {
            trace.server_hello.filter(|h| !h.retry).map(|h| Negotiated {
                version: version_name(h.version),
                cipher_suite: Some(suite_name(h.cipher_suite)),
                key_exchange: h.group.or(trace.kx_group_12).map(group_name),
                alpn: None,
            })
        });
        let server_certificates = trace
            .server_chain
            .iter()
            .filter_map(|c| CertInfo::from_der(c).ok())
            .map(|i| CertSummary {
                subject: i.subject.clone(),
                issuer: i.issuer.clone(),
                not_before: i.not_before,
                not_after: i.not_after,
                subject_alt_names: i
                    .subject_alt_names
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                sha256_fingerprint: i.sha256_fingerprint.clone(),
            })
            .collect();
        let verification = trace.verification.clone();
        let ctx = AlertContext {
            client_auth: &client_auth,
            client_leaf: leaf,
            server_hello_seen: trace.server_hello.is_some(),
            after_handshake: false,
            versions_offered: self.versions,
            server_name: &self.server_name,
            now,
        };
        let (handshake, post_handshake) = match &end {
            End::NoTcp => (HandshakeStatus::NotStarted, PostHandshake::NotChecked),
            End::Complete { post, .. } => (HandshakeStatus::Complete, *post),
            End::AlertReceived {
                after_handshake: true,
                ..
            } => (HandshakeStatus::Complete, PostHandshake::Rejected),
            End::Closed {
                after_handshake: true,
            } => (HandshakeStatus::Complete, PostHandshake::Closed),
            _ => (HandshakeStatus::Failed, PostHandshake::NotChecked),
        };
        let mut alert = None;
        let mut diagnosis = match &end {
            End::NoTcp => Some(tcp::diagnosis(&self.tcp, &self.target)),
            End::AlertReceived {
                code,
                after_handshake,
            } => {
                alert = Some(AlertInfo {
                    from: "server".into(),
                    name: alert::name(*code).into_owned(),
                    code: *code,
                    after_handshake: *after_handshake,
                });
                Some(alert::explain(
                    *code,
                    &AlertContext {
                        after_handshake: *after_handshake,
                        ..ctx
                    },
                ))
            }
            End::AlertSent { code, .. } => {
                alert = Some(AlertInfo {
                    from: "client".into(),
                    name: alert::name(*code).into_owned(),
                    code: *code,
                    after_handshake: false,
                });
                None
            }
            End::Closed { after_handshake } => Some(closed_diagnosis(
                *after_handshake,
                trace.server_hello.is_some(),
                &client_auth,
            )),
            End::TimedOut { seconds } => Some(Diagnosis {
                code: "handshake_timeout".into(),
                cause: format!(
                    "the server accepted the TCP connection but did not complete the TLS handshake within {seconds} s"
                ),
                fix: "check that this port speaks TLS (not plain HTTP or a protocol with STARTTLS); raise --timeout for a slow server".into(),
            }),
            End::Aborted { reason } => Some(Diagnosis {
                code: "io_error".into(),
                cause: format!("the connection failed during the handshake: {reason}"),
                fix: "retry; if it persists, compare with `openssl s_client -connect HOST:PORT`".into(),
            }),
            End::Complete { .. } => None,
        };
        if let Some(e) = &local {
            diagnosis = Some(local_diagnosis(e, verification.as_ref()));
        }
        if diagnosis.is_none() {
            diagnosis = verification.as_ref().filter(|v| !v.ok).map(|v| Diagnosis {
                code: "server_certificate".into(),
                cause: format!(
                    "the server's certificate failed verification{}: {}",
                    if v.enforced {
                        ""
                    } else {
                        " (not enforced: --insecure-skip-verify)"
                    },
                    if v.chain_ok {
                        &v.host_message
                    } else {
                        &v.chain_message
                    }
                ),
                fix: v.fix.clone().unwrap_or_default(),
            });
        }
        let steps = diagram::steps(&diagram::Input {
            trace: &trace,
            tcp: &self.tcp,
            sni: self.sni.as_deref(),
            versions: self.versions,
            alpn: &self.alpn,
            client_subject: leaf.map(CertInfo::display_name),
            end,
        });
        let ok = handshake == HandshakeStatus::Complete
            && diagnosis.is_none()
            && verification.as_ref().is_some_and(|v| v.ok);
        ConnectReport {
            target: self.target.clone(),
            server_name: self.server_name.clone(),
            ok,
            tcp: self.tcp.clone(),
            handshake,
            tls,
            server_certificates,
            server_chain: trace.server_chain.clone(),
            verification,
            client_auth,
            post_handshake,
            alert,
            diagnosis,
            steps,
        }
    }
}

fn negotiated(conn: &ClientConnection) -> Negotiated {
    Negotiated {
        version: conn
            .protocol_version()
            .map_or_else(|| "unknown".into(), |v| version_name(u16::from(v))),
        cipher_suite: conn
            .negotiated_cipher_suite()
            .map(|s| suite_name(u16::from(s.suite()))),
        key_exchange: conn
            .negotiated_key_exchange_group()
            .map(|g| group_name(u16::from(g.name()))),
        alpn: conn
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
    }
}

/// What an I/O error from tokio-rustls means for the diagram, and the rustls
/// error behind it when the client itself gave up.
fn classify(err: &io::Error, after_handshake: bool) -> (End, Option<rustls::Error>) {
    if let Some(tls) = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        return match tls {
            rustls::Error::AlertReceived(a) => (
                End::AlertReceived {
                    code: u8::from(*a),
                    after_handshake,
                },
                None,
            ),
            rustls::Error::InvalidCertificate(ce) => (
                End::AlertSent {
                    code: u8::from(rustls::AlertDescription::from(ce.clone())),
                    reason: "the server's certificate was rejected".into(),
                },
                Some(tls.clone()),
            ),
            other => (
                End::Aborted {
                    reason: other.to_string(),
                },
                Some(other.clone()),
            ),
        };
    }
    match err.kind() {
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => (End::Closed { after_handshake }, None),
        _ => (
            End::Aborted {
                reason: err.to_string(),
            },
            None,
        ),
    }
}

fn local_diagnosis(e: &rustls::Error, v: Option<&crate::report::Verification>) -> Diagnosis {
    match (e, v) {
        (rustls::Error::InvalidCertificate(_), Some(v)) => Diagnosis {
            code: "server_certificate".into(),
            cause: format!(
                "the server's certificate failed verification: {}",
                if v.chain_ok {
                    &v.host_message
                } else {
                    &v.chain_message
                }
            ),
            fix: v.fix.clone().unwrap_or_default(),
        },
        (rustls::Error::InvalidMessage(_), _) => Diagnosis {
            code: "not_tls".into(),
            cause: format!(
                "the server's answer is not TLS ({e}): this port may speak plain HTTP or another protocol"
            ),
            fix: "check the port; for plain HTTP use http:// with another tool".into(),
        },
        (rustls::Error::PeerIncompatible(_), _) => Diagnosis {
            code: "incompatible".into(),
            cause: format!("the server and this client have no TLS parameters in common: {e}"),
            fix: "try --tls1.2 or --tls1.3, and compare with `openssl s_client -connect HOST:PORT`"
                .into(),
        },
        (rustls::Error::NoApplicationProtocol, _) => Diagnosis {
            code: "no_application_protocol".into(),
            cause: "the server chose no application protocol (ALPN) the client offered".into(),
            fix: "try --http1.1 or --http2".into(),
        },
        _ => Diagnosis {
            code: "tls_error".into(),
            cause: format!("the handshake failed on the client's side: {e}"),
            fix:
                "compare with `openssl s_client -connect HOST:PORT`; the server's log may say more"
                    .into(),
        },
    }
}

fn closed_diagnosis(
    after_handshake: bool,
    server_hello_seen: bool,
    auth: &crate::report::ClientAuthReport,
) -> Diagnosis {
    let (cause, fix) = if after_handshake {
        (
            "the server closed the connection right after the handshake, without an alert".to_string(),
            "the server may refuse this client after verifying it; ask its operator what its log says".to_string(),
        )
    } else if !server_hello_seen {
        (
            "the server closed the connection without answering the ClientHello: this port may not speak TLS, or the server refused the ClientHello (name, version)".to_string(),
            "check the port and --servername; compare with `openssl s_client -connect HOST:PORT`".to_string(),
        )
    } else if auth.requested {
        (
            format!(
                "the server closed the connection during the handshake without an alert, after asking for a client certificate ({}): it probably refused the certificate",
                if auth.certificate_sent { "one was sent" } else { "none was sent" }
            ),
            "check the client certificate with `certbound check CERT --key KEY --ca CA --usage client`; the server's log says why".to_string(),
        )
    } else {
        (
            "the server closed the connection during the handshake without an alert".to_string(),
            "the server's log says why; compare with `openssl s_client -connect HOST:PORT`"
                .to_string(),
        )
    };
    Diagnosis {
        code: "connection_closed".into(),
        cause,
        fix,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_print() {
        let t = Target::parse("example.com:443").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("example.com", 443));
        let t = Target::parse("[::1]:8443").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 8443));
        assert_eq!(t.to_string(), "[::1]:8443");
        for bad in [
            "example.com",
            "http://example.com",
            "ftp://example.com",
            "https://",
            "https://example.com:0/",
            "https://example.com:99999/",
            "::1:443",
            ":443",
            "host:0",
            "host:http",
            "[::1]443",
        ] {
            assert!(Target::parse_arg(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn https_urls_are_targets_too() {
        let parsed = |s: &str| {
            let (t, path) = Target::parse_arg(s).unwrap();
            (t.to_string(), path)
        };
        assert_eq!(
            parsed("example.com:8443"),
            ("example.com:8443".into(), None)
        );
        assert_eq!(
            parsed("https://example.com"),
            ("example.com:443".into(), None)
        );
        assert_eq!(
            parsed("HTTPS://example.com/"),
            ("example.com:443".into(), None)
        );
        assert_eq!(
            parsed("https://[::1]:8443/oauth2/token?x=1"),
            ("[::1]:8443".into(), Some("/oauth2/token?x=1".into()))
        );
        let e = Target::parse_arg("http://example.com")
            .unwrap_err()
            .to_string();
        assert!(e.contains("plain HTTP"), "{e}");
    }
}
