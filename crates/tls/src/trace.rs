//! What happened during a handshake, in order: the TLS records that crossed
//! the wire and the moments rustls called back into certbound (server
//! certificate received, client certificate requested, session ticket).
//!
//! [`TracedStream`] sits between the socket and rustls and reads the record
//! layer as it passes. Only the plaintext part of a handshake can be read
//! there (all of ClientHello and ServerHello; in TLS 1.2 also the server's
//! Certificate, CertificateRequest and ServerHelloDone and the client's
//! answer); TLS 1.3 encrypts the rest, which the callbacks in
//! [`capture`](crate::capture) fill in. Parsing is bounded and never fails: a
//! record it cannot read is skipped, never trusted.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

use crate::report::Verification;

/// Largest TLS record payload (2^14 plus the most expansion any cipher adds).
const MAX_RECORD: usize = 16_384 + 2_048;
/// Largest handshake message reassembled; a certificate chain fits easily.
const MAX_HANDSHAKE_MESSAGE: usize = 256 * 1024;
/// The ServerHello random that marks a HelloRetryRequest (RFC 8446 §4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

/// Who sent something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peer {
    Client,
    Server,
}

/// One thing seen, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// A plaintext handshake message of this type.
    Handshake {
        from: Peer,
        msg: u8,
    },
    ChangeCipherSpec {
        from: Peer,
    },
    /// A plaintext alert.
    Alert {
        from: Peer,
        description: u8,
    },
    /// An encrypted record; `content_type` is the outer type (23 in TLS 1.3).
    Encrypted {
        from: Peer,
        content_type: u8,
    },
    /// rustls asked the resolver for a client certificate.
    CertificateRequested,
    /// rustls handed the server's chain to the verifier.
    ServerCertificate,
    /// rustls checked the server's handshake signature (TLS 1.3 CertificateVerify).
    ServerSignature,
    /// The server sent a TLS 1.3 session ticket.
    Ticket,
}

/// Facts from the ServerHello, readable even when the handshake fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ServerHello {
    pub version: u16,
    pub cipher_suite: u16,
    pub group: Option<u16>,
    pub retry: bool,
}

/// What the server's CertificateRequest asked for, as rustls passed it on.
#[derive(Debug, Clone, Default)]
pub(crate) struct CertRequest {
    /// DER distinguished names, as sent (with the outer SEQUENCE).
    pub hints: Vec<Vec<u8>>,
    /// Signature schemes the server accepts.
    pub schemes: Vec<String>,
    /// Whether a certificate went back.
    pub sent: bool,
}

/// Everything recorded for one connection.
#[derive(Debug, Default)]
pub(crate) struct Trace {
    pub events: Vec<Event>,
    /// Reading the record layer; switched off once the handshake is over.
    pub active: bool,
    pub server_hello: Option<ServerHello>,
    /// The group of a TLS 1.2 ServerKeyExchange.
    pub kx_group_12: Option<u16>,
    pub server_chain: Vec<certbound_pki::CertDer>,
    pub verification: Option<Verification>,
    pub cert_request: Option<CertRequest>,
    pub tickets: usize,
    client: Direction,
    server: Direction,
}

/// State shared by the stream, the verifier, the resolver and the ticket store.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    trace: Mutex<Trace>,
    /// Signalled when a session ticket arrives.
    pub ticket: Notify,
}

impl Shared {
    pub fn new() -> Arc<Self> {
        let shared = Self::default();
        shared.lock().active = true;
        Arc::new(shared)
    }

    /// The trace. A panic elsewhere while holding the lock leaves a trace
    /// that is still worth reading, so poisoning is ignored.
    pub fn lock(&self) -> MutexGuard<'_, Trace> {
        self.trace.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Parser state for one direction of the record layer.
#[derive(Debug, Default)]
struct Direction {
    pending: Vec<u8>,
    handshake: Vec<u8>,
    encrypted: bool,
    /// Something could not be framed: stop reading this direction.
    lost: bool,
}

impl Trace {
    /// Whether the client's Certificate message left: seen in plaintext
    /// (TLS 1.2), or, in TLS 1.3 where it is encrypted, as the client's
    /// first encrypted record, which carries it when the server asked —
    /// unless the client aborted (`went_on` false), when that record was
    /// its alert.
    pub(crate) fn client_certificate_left(&self, went_on: bool) -> bool {
        self.events.iter().any(|e| match e {
            Event::Handshake {
                from: Peer::Client,
                msg: 11,
            } => true,
            Event::Encrypted {
                from: Peer::Client, ..
            } => went_on,
            _ => false,
        })
    }

    /// The description of the last plaintext alert the server sent.
    pub(crate) fn server_alert(&self) -> Option<u8> {
        self.events.iter().rev().find_map(|e| match e {
            Event::Alert {
                from: Peer::Server,
                description,
            } => Some(*description),
            _ => None,
        })
    }

    /// Feed bytes that `from` sent.
    fn observe(&mut self, from: Peer, bytes: &[u8]) {
        if !self.active {
            return;
        }
        let mut dir = std::mem::take(match from {
            Peer::Client => &mut self.client,
            Peer::Server => &mut self.server,
        });
        if !dir.lost {
            dir.pending.extend_from_slice(bytes);
            let mut at = 0;
            while dir.pending.len() - at >= 5 {
                let head = &dir.pending[at..at + 5];
                let content_type = head[0];
                let len = usize::from(u16::from_be_bytes([head[3], head[4]]));
                if len > MAX_RECORD || !(20..=24).contains(&content_type) {
                    dir.lost = true;
                    break;
                }
                if dir.pending.len() - at < 5 + len {
                    break;
                }
                let payload = dir.pending[at + 5..at + 5 + len].to_vec();
                at += 5 + len;
                self.record(&mut dir, from, content_type, &payload);
            }
            dir.pending.drain(..at.min(dir.pending.len()));
            if dir.lost {
                dir.pending.clear();
                dir.handshake.clear();
            }
        }
        match from {
            Peer::Client => self.client = dir,
            Peer::Server => self.server = dir,
        }
    }

    fn record(&mut self, dir: &mut Direction, from: Peer, content_type: u8, payload: &[u8]) {
        match content_type {
            20 => {
                self.events.push(Event::ChangeCipherSpec { from });
                dir.encrypted = true;
            }
            21 if !dir.encrypted && payload.len() >= 2 => self.events.push(Event::Alert {
                from,
                description: payload[1],
            }),
            22 if !dir.encrypted => {
                dir.handshake.extend_from_slice(payload);
                let mut at = 0;
                while dir.handshake.len() - at >= 4 {
                    let h = &dir.handshake[at..at + 4];
                    let msg = h[0];
                    let len = usize::from(h[1]) << 16 | usize::from(h[2]) << 8 | usize::from(h[3]);
                    if len > MAX_HANDSHAKE_MESSAGE {
                        dir.lost = true;
                        return;
                    }
                    if dir.handshake.len() - at < 4 + len {
                        break;
                    }
                    let body = &dir.handshake[at + 4..at + 4 + len];
                    if from == Peer::Server {
                        match msg {
                            2 => self.server_hello = parse_server_hello(body).or(self.server_hello),
                            12 => self.kx_group_12 = parse_ske_group(body),
                            _ => {}
                        }
                    }
                    self.events.push(Event::Handshake { from, msg });
                    at += 4 + len;
                }
                dir.handshake.drain(..at);
            }
            21..=23 => {
                dir.encrypted = true;
                self.events.push(Event::Encrypted { from, content_type });
            }
            _ => {}
        }
    }
}

/// A minimal reader over peer bytes: every read is bounds-checked.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
}

fn parse_server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut r = Reader(body);
    let mut version = r.u16()?;
    let random = r.take(32)?;
    let sid_len = usize::from(r.u8()?);
    r.take(sid_len)?;
    let cipher_suite = r.u16()?;
    r.u8()?;
    let retry = random == HRR_RANDOM;
    let mut group = None;
    if let Some(ext_len) = r.u16() {
        let mut exts = Reader(r.take(usize::from(ext_len))?);
        while let (Some(kind), Some(len)) = (exts.u16(), exts.u16()) {
            let mut data = Reader(exts.take(usize::from(len))?);
            match kind {
                // supported_versions: the version actually chosen.
                43 => version = data.u16()?,
                // key_share: the group comes first (alone in a HelloRetryRequest).
                51 => group = data.u16(),
                _ => {}
            }
        }
    }
    Some(ServerHello {
        version,
        cipher_suite,
        group,
        retry,
    })
}

/// The named curve of an ECDHE ServerKeyExchange (TLS 1.2).
fn parse_ske_group(body: &[u8]) -> Option<u16> {
    let mut r = Reader(body);
    (r.u8()? == 3).then_some(())?;
    r.u16()
}

/// A socket (or any stream) whose traffic is traced into [`Shared`].
#[derive(Debug)]
pub struct TracedStream<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> TracedStream<S> {
    pub(crate) fn new(inner: S, shared: Arc<Shared>) -> Self {
        Self { inner, shared }
    }

    /// The stream underneath.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TracedStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            let new = &buf.filled()[before..];
            if !new.is_empty() {
                this.shared.lock().observe(Peer::Server, new);
            }
        }
        result
    }
}

/// A socket whose received bytes can be read at once, bypassing the async
/// runtime's readiness tracking (which may not have seen them yet).
pub trait PendingRead {
    /// Bytes already received, up to `buf.len()`; `None` when there are none
    /// or the socket cannot be read.
    fn read_pending(&self, buf: &mut [u8]) -> Option<usize>;
}

impl PendingRead for tokio::net::TcpStream {
    fn read_pending(&self, buf: &mut [u8]) -> Option<usize> {
        use std::io::Read;
        use std::os::fd::AsFd;
        // A duplicate of the descriptor, non-blocking like the original.
        let fd = self.as_fd().try_clone_to_owned().ok()?;
        let mut std_stream = std::net::TcpStream::from(fd);
        match std_stream.read(buf) {
            Ok(n) if n > 0 => Some(n),
            _ => None,
        }
    }
}

impl<S: PendingRead> TracedStream<S> {
    /// Read (without waiting) what the peer sent before it closed: a server
    /// that refuses a TLS 1.2 client certificate sends its alert and closes
    /// while the client is still writing its flight, so the client's next
    /// write fails; the alert is then waiting, unread, in the socket.
    fn drain_after_failed_write(&mut self) {
        let mut bytes = [0u8; 4096];
        for _ in 0..16 {
            match self.inner.read_pending(&mut bytes) {
                Some(n) => self.shared.lock().observe(Peer::Server, &bytes[..n]),
                None => return,
            }
        }
    }
}

impl<S: PendingRead + AsyncWrite + Unpin> AsyncWrite for TracedStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        match &result {
            Poll::Ready(Ok(n)) => {
                this.shared
                    .lock()
                    .observe(Peer::Client, &buf[..(*n).min(buf.len())]);
            }
            Poll::Ready(Err(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::BrokenPipe
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionAborted
                ) =>
            {
                this.drain_after_failed_write();
            }
            _ => {}
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(content_type: u8, payload: &[u8]) -> Vec<u8> {
        let mut r = vec![content_type, 3, 3];
        r.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        r.extend_from_slice(payload);
        r
    }

    fn handshake(msg: u8, body: &[u8]) -> Vec<u8> {
        let len = body.len();
        let mut h = vec![msg, (len >> 16) as u8, (len >> 8) as u8, len as u8];
        h.extend_from_slice(body);
        h
    }

    fn server_hello_13() -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend_from_slice(&[7; 32]);
        b.push(0);
        b.extend_from_slice(&[0x13, 0x02, 0]);
        let exts = [
            &[0, 43, 0, 2, 3, 4][..],
            &[0, 51, 0, 6, 0, 0x1d, 0, 2, 0xAA, 0xBB][..],
        ]
        .concat();
        b.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        b.extend_from_slice(&exts);
        b
    }

    #[test]
    fn reads_a_server_hello_split_across_reads() {
        let mut t = Trace {
            active: true,
            ..Trace::default()
        };
        let bytes = record(22, &handshake(2, &server_hello_13()));
        let (a, b) = bytes.split_at(7);
        t.observe(Peer::Server, a);
        assert!(t.events.is_empty());
        t.observe(Peer::Server, b);
        assert_eq!(
            t.events,
            [Event::Handshake {
                from: Peer::Server,
                msg: 2
            }]
        );
        let sh = t.server_hello.unwrap();
        assert_eq!(
            (sh.version, sh.cipher_suite, sh.group),
            (0x0304, 0x1302, Some(0x1d))
        );
        assert!(!sh.retry);
        // After ChangeCipherSpec, records are opaque.
        t.observe(Peer::Server, &record(20, &[1]));
        t.observe(Peer::Server, &record(23, &[0; 40]));
        assert_eq!(
            t.events[2],
            Event::Encrypted {
                from: Peer::Server,
                content_type: 23
            }
        );
    }

    #[test]
    fn several_messages_in_one_record_and_a_plain_alert() {
        let mut t = Trace {
            active: true,
            ..Trace::default()
        };
        let msgs = [handshake(11, &[0, 0, 0]), handshake(14, &[])].concat();
        t.observe(Peer::Server, &record(22, &msgs));
        t.observe(Peer::Server, &record(21, &[2, 48]));
        assert_eq!(
            t.events,
            [
                Event::Handshake {
                    from: Peer::Server,
                    msg: 11
                },
                Event::Handshake {
                    from: Peer::Server,
                    msg: 14
                },
                Event::Alert {
                    from: Peer::Server,
                    description: 48
                }
            ]
        );
    }

    #[test]
    fn garbage_stops_the_parser_without_panicking() {
        let mut t = Trace {
            active: true,
            ..Trace::default()
        };
        t.observe(Peer::Server, b"HTTP/1.1 400 Bad Request\r\n\r\n");
        t.observe(Peer::Server, &record(22, &handshake(2, &[1, 2, 3])));
        assert!(t.events.is_empty());
        assert!(t.server_hello.is_none());
        // A truncated ServerHello yields no facts but no panic either.
        let mut t = Trace {
            active: true,
            ..Trace::default()
        };
        t.observe(Peer::Server, &record(22, &handshake(2, &[3, 3, 1])));
        assert!(t.server_hello.is_none());
        assert_eq!(parse_ske_group(&[3, 0, 23, 65]), Some(23));
        assert_eq!(parse_ske_group(&[1]), None);
    }
}
