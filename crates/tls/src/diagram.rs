//! The handshake as a sequence of messages (ClientHello → ServerHello → … →
//! Finished), built from the trace: what was read off the wire where TLS
//! leaves it readable, what rustls' callbacks saw where TLS 1.3 encrypts, and
//! how the connection ended. The last step of a failed connection is marked.

use certbound_pki::CertInfo;

use crate::alert;
use crate::report::{PostHandshake, Step, TcpReport, TcpStatus};
use crate::trace::{Event, Peer, Trace};

/// How the connection ended, for the last step.
#[derive(Debug, Clone)]
pub(crate) enum End {
    /// The handshake completed; the post-handshake read said `post`.
    Complete { post: PostHandshake, wait_ms: u128 },
    /// The server sent this alert.
    AlertReceived { code: u8, after_handshake: bool },
    /// The client aborted with this alert.
    AlertSent { code: u8, reason: String },
    /// The client aborted for a reason without a known alert.
    Aborted { reason: String },
    /// The server closed the connection.
    Closed { after_handshake: bool },
    /// No answer in time.
    TimedOut { seconds: u64 },
    /// TCP did not connect.
    NoTcp,
}

/// What the diagram needs besides the trace.
#[derive(Debug)]
pub(crate) struct Input<'a> {
    pub trace: &'a Trace,
    pub tcp: &'a TcpReport,
    /// The SNI sent, `None` for an IP address.
    pub sni: Option<&'a str>,
    pub versions: &'a str,
    pub alpn: &'a [Vec<u8>],
    pub client_subject: Option<&'a str>,
    pub end: End,
}

/// The handshake messages, in order.
pub(crate) fn steps(input: &Input<'_>) -> Vec<Step> {
    let mut d = Diagram::default();
    let tcp_ok = input.tcp.status == TcpStatus::Connected;
    d.push(
        Peer::Client,
        "TCP connect",
        Some(match (&input.tcp.address, tcp_ok) {
            (Some(a), true) => format!("connected to {a}"),
            (a, false) => format!(
                "{}{}",
                tcp_words(input.tcp.status),
                a.as_ref().map(|a| format!(" ({a})")).unwrap_or_default()
            ),
            (None, true) => "connected".into(),
        }),
    );
    if !tcp_ok {
        d.fail_last();
        return d.steps;
    }
    let trace = input.trace;
    let tls13 = trace
        .server_hello
        .is_some_and(|h| h.version == 0x0304 && !h.retry);
    let mut ee_done = false;
    let mut server_ccs = false;
    let mut client_ccs = false;
    let mut server_finished = false;
    let mut client_finished = false;
    let mut client_flight = false;
    let mut server_signed = false;
    for event in &trace.events {
        match *event {
            Event::Handshake {
                from: Peer::Client,
                msg: 1,
            } => {
                let mut note = vec![match input.sni {
                    Some(n) => format!("SNI {n}"),
                    None => "no SNI (IP address)".to_string(),
                }];
                note.push(input.versions.to_string());
                if !input.alpn.is_empty() {
                    let names: Vec<_> = input
                        .alpn
                        .iter()
                        .map(|p| String::from_utf8_lossy(p).into_owned())
                        .collect();
                    note.push(format!("ALPN {}", names.join(", ")));
                }
                d.push(Peer::Client, "ClientHello", Some(note.join("; ")));
            }
            Event::Handshake {
                from: Peer::Server,
                msg: 2,
            } => match trace.server_hello {
                Some(h) if h.retry => d.push(
                    Peer::Server,
                    "HelloRetryRequest",
                    h.group
                        .map(|g| format!("asks for key share {}", group_name(g))),
                ),
                Some(h) => d.push(
                    Peer::Server,
                    "ServerHello",
                    Some(
                        [
                            Some(version_name(h.version)),
                            Some(suite_name(h.cipher_suite)),
                            h.group.or(trace.kx_group_12).map(group_name),
                        ]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(", "),
                    ),
                ),
                None => d.push(Peer::Server, "ServerHello", None),
            },
            Event::Handshake {
                from: Peer::Server,
                msg,
            } => match msg {
                11 => d.push(Peer::Server, "Certificate", chain_note(trace)),
                12 => d.push(
                    Peer::Server,
                    "ServerKeyExchange",
                    trace.kx_group_12.map(group_name),
                ),
                13 => d.push(Peer::Server, "CertificateRequest", request_note(trace)),
                14 => d.push(Peer::Server, "ServerHelloDone", None),
                4 => d.push(Peer::Server, "NewSessionTicket", None),
                other => d.push(Peer::Server, &handshake_name(other), None),
            },
            Event::Handshake {
                from: Peer::Client,
                msg,
            } => match msg {
                11 => d.push(
                    Peer::Client,
                    "Certificate",
                    Some(client_cert_note(trace, input.client_subject)),
                ),
                16 => d.push(Peer::Client, "ClientKeyExchange", None),
                15 => d.push(Peer::Client, "CertificateVerify", None),
                other => d.push(Peer::Client, &handshake_name(other), None),
            },
            Event::ChangeCipherSpec { from } if !tls13 => {
                d.push(from, "ChangeCipherSpec", None);
                match from {
                    Peer::Server => server_ccs = true,
                    Peer::Client => client_ccs = true,
                }
            }
            Event::Encrypted {
                from: Peer::Server,
                content_type: 22,
            } if !tls13 && server_ccs && !server_finished => {
                server_finished = true;
                d.push(Peer::Server, "Finished", None);
            }
            Event::Encrypted {
                from: Peer::Client,
                content_type: 22,
            } if !tls13 && client_ccs && !client_finished => {
                client_finished = true;
                d.push(Peer::Client, "Finished", None);
            }
            Event::CertificateRequested if tls13 => {
                d.encrypted_extensions(&mut ee_done);
                d.push(Peer::Server, "CertificateRequest", request_note(trace));
            }
            Event::ServerCertificate if tls13 => {
                d.encrypted_extensions(&mut ee_done);
                d.push(Peer::Server, "Certificate", chain_note(trace));
            }
            Event::ServerSignature if tls13 => {
                server_signed = true;
                d.push(Peer::Server, "CertificateVerify", None);
            }
            // The client encrypts only after the server's Finished checked out
            // (before that, an encrypted record from it is an alert).
            Event::Encrypted {
                from: Peer::Client, ..
            } if tls13 && server_signed && !client_flight => {
                client_flight = true;
                d.client_flight_13(trace, input.client_subject);
            }
            Event::Ticket => {
                if tls13 && !client_flight {
                    client_flight = true;
                    d.client_flight_13(trace, input.client_subject);
                }
                d.push(
                    Peer::Server,
                    "NewSessionTicket",
                    Some("sent only after the server accepted the handshake".into()),
                );
            }
            _ => {}
        }
    }
    match &input.end {
        End::Complete { post, wait_ms } => {
            if tls13 && !client_flight {
                d.client_flight_13(trace, input.client_subject);
            }
            match post {
                PostHandshake::Quiet => d.push(
                    Peer::Server,
                    "(no alert)",
                    Some(format!(
                        "nothing within {wait_ms} ms after the handshake: not rejected"
                    )),
                ),
                PostHandshake::Accepted if trace.tickets == 0 => d.push(
                    Peer::Server,
                    "application data",
                    Some("the server spoke first".into()),
                ),
                _ => {}
            }
        }
        End::AlertReceived {
            code,
            after_handshake,
        } => {
            if *after_handshake && tls13 && !client_flight {
                d.client_flight_13(trace, input.client_subject);
            }
            let note = if *after_handshake {
                Some("after the client's Finished: a late rejection".to_string())
            } else if !tls13 && client_finished {
                Some(
                    "after the client's Finished: the server's answer to its certificate"
                        .to_string(),
                )
            } else if !tls13 && trace.client_certificate_left(false) {
                Some("after the client's Certificate".to_string())
            } else {
                None
            };
            d.push(Peer::Server, &format!("alert {}", alert::name(*code)), note);
            d.fail_last();
        }
        End::AlertSent { code, reason } => {
            d.push(
                Peer::Client,
                &format!("alert {}", alert::name(*code)),
                Some(reason.clone()),
            );
            d.fail_last();
        }
        End::Aborted { reason } => {
            d.push(Peer::Client, "abort", Some(reason.clone()));
            d.fail_last();
        }
        End::Closed { after_handshake } => {
            d.push(
                Peer::Server,
                "connection closed",
                Some(
                    if *after_handshake {
                        "after the handshake, without an alert"
                    } else {
                        "without an alert"
                    }
                    .into(),
                ),
            );
            d.fail_last();
        }
        End::TimedOut { seconds } => {
            d.push(
                Peer::Server,
                "(no answer)",
                Some(format!("nothing within {seconds} s")),
            );
            d.fail_last();
        }
        End::NoTcp => d.fail_last(),
    }
    d.steps
}

#[derive(Debug, Default)]
struct Diagram {
    steps: Vec<Step>,
}

impl Diagram {
    fn push(&mut self, from: Peer, message: &str, note: Option<String>) {
        self.steps.push(Step {
            from: match from {
                Peer::Client => "client",
                Peer::Server => "server",
            }
            .to_string(),
            message: message.to_string(),
            note: note.filter(|n| !n.is_empty()),
            failed: false,
        });
    }

    fn fail_last(&mut self) {
        if let Some(last) = self.steps.last_mut() {
            last.failed = true;
        }
    }

    fn encrypted_extensions(&mut self, done: &mut bool) {
        if !*done {
            *done = true;
            self.push(Peer::Server, "EncryptedExtensions", None);
        }
    }

    /// The server's Finished and the client's answer, which TLS 1.3 encrypts.
    fn client_flight_13(&mut self, trace: &Trace, subject: Option<&str>) {
        self.push(Peer::Server, "Finished", None);
        if let Some(req) = &trace.cert_request {
            self.push(
                Peer::Client,
                "Certificate",
                Some(client_cert_note(trace, subject)),
            );
            if req.sent {
                self.push(Peer::Client, "CertificateVerify", None);
            }
        }
        self.push(Peer::Client, "Finished", None);
    }
}

fn tcp_words(status: TcpStatus) -> &'static str {
    match status {
        TcpStatus::Connected => "connected",
        TcpStatus::Refused => "refused",
        TcpStatus::TimedOut => "timed out",
        TcpStatus::NotResolved => "name not resolved",
        TcpStatus::Unreachable => "unreachable",
        TcpStatus::Failed => "failed",
    }
}

fn chain_note(trace: &Trace) -> Option<String> {
    let first = trace.server_chain.first()?;
    let name = CertInfo::from_der(first).ok()?.display_name().to_string();
    let more = trace.server_chain.len() - 1;
    Some(if more == 0 {
        name
    } else {
        format!("{name} + {more} more")
    })
}

fn request_note(trace: &Trace) -> Option<String> {
    trace.cert_request.as_ref().map(|r| match r.hints.len() {
        0 => "no CA names: any issuer the server trusts".to_string(),
        1 => "1 acceptable CA name".to_string(),
        n => format!("{n} acceptable CA names"),
    })
}

fn client_cert_note(trace: &Trace, subject: Option<&str>) -> String {
    match (&trace.cert_request, subject) {
        (Some(r), Some(s)) if r.sent => s.to_string(),
        _ => "empty: no certificate sent".to_string(),
    }
}

/// "TLS 1.3".
pub(crate) fn version_name(v: u16) -> String {
    match v {
        0x0304 => "TLS 1.3".into(),
        0x0303 => "TLS 1.2".into(),
        0x0302 => "TLS 1.1".into(),
        0x0301 => "TLS 1.0".into(),
        other => format!("version 0x{other:04x}"),
    }
}

/// The IANA name of a cipher suite.
pub(crate) fn suite_name(id: u16) -> String {
    match rustls::CipherSuite::from(id) {
        rustls::CipherSuite::Unknown(_) => format!("cipher suite 0x{id:04x}"),
        known => format!("{known:?}"),
    }
}

/// The IANA name of a key-exchange group.
pub(crate) fn group_name(id: u16) -> String {
    match rustls::NamedGroup::from(id) {
        rustls::NamedGroup::Unknown(_) => format!("group 0x{id:04x}"),
        known => format!("{known:?}"),
    }
}

fn handshake_name(msg: u8) -> String {
    match msg {
        0 => "HelloRequest".into(),
        8 => "EncryptedExtensions".into(),
        20 => "Finished".into(),
        24 => "KeyUpdate".into(),
        other => format!("handshake message {other}"),
    }
}
