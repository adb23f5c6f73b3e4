//! One listener: accept TCP, run the TLS handshake (bounded in time, failures
//! logged with their reason), capture the client's certificate chain as the
//! connection's identity, and serve HTTP/1.1 and HTTP/2 on it until shutdown,
//! when open connections are drained gracefully.
//!
//! A connection cannot hold its resources for nothing: a request head must
//! arrive whole within `header_read_timeout_secs` (hyper's HTTP/1 timer,
//! counted from the connection's start and, kept alive, from the end of the
//! previous response: so it also bounds an idle HTTP/1.1 connection); a
//! connection with no request in progress is closed after
//! `idle_timeout_secs` (HTTP/2 too, whose keep-alive pings detect dead
//! peers); and at most `max_connections` are open per listener: when that
//! many are, the listener stops accepting and new connections wait in the
//! kernel's accept backlog until one closes.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::app;
use crate::forwarded::{Forwarded, ForwardedConfig};
use crate::identity::{ClientIdentity, Connection};
use crate::request_check;
use crate::state::AppState;
use certbound_store::{AuditEvent, AuditResult};
pub(crate) use certbound_tls::http::Limits;

/// A handshake that has not finished by then is dropped.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for open connections to finish.
pub(crate) const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A bound listener, ready to serve.
pub(crate) struct BoundListener {
    pub name: Arc<str>,
    pub tcp: TcpListener,
    /// The live TLS config, swapped by certificate reloads.
    pub tls: Option<Arc<ArcSwap<rustls::ServerConfig>>>,
    /// Forwarded client-certificate header settings.
    pub forwarded: Option<Arc<ForwardedConfig>>,
    pub limits: Limits,
    /// The `client_ca` certificates of its TLS profile: with `[revocation]
    /// ocsp`, a client chain verified to them is asked about after the
    /// handshake, and the connection closed if refused.
    pub client_ca: Option<Arc<Vec<certbound_pki::CertDer>>>,
}

impl std::fmt::Debug for BoundListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundListener")
            .field("name", &self.name)
            .field("addr", &self.tcp.local_addr().ok())
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// Accept and serve until `shutdown` turns true, then drain.
pub(crate) async fn serve(
    listener: BoundListener,
    router: Router,
    state: Arc<AppState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let limits = listener.limits;
    let builder = Arc::new(limits.builder());
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    loop {
        // At the cap, accept nothing: new connections wait in the backlog.
        if slots.available_permits() == 0 {
            state.metrics.connection_limit_reached(&listener.name);
            tracing::warn!(listener = %listener.name, max_connections = limits.max_connections, "connection limit reached: new connections wait until one closes");
        }
        let slot = tokio::select! {
            s = Arc::clone(&slots).acquire_owned() => s,
            _ = shutdown.changed() => break,
        };
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            a = listener.tcp.accept() => a,
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: back off briefly rather than spin.
                tracing::warn!(listener = %listener.name, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let watcher = graceful.watcher();
        let tls = listener
            .tls
            .as_ref()
            .map(|t| TlsAcceptor::from(t.load_full()));
        let (name, router, builder) = (listener.name.clone(), router.clone(), builder.clone());
        let state = Arc::clone(&state);
        let forwarded = listener.forwarded.clone();
        let client_ca = listener.client_ca.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let Some((io, identity)) = handshake(stream, peer, &name, tls, &state).await else {
                return;
            };
            if let Some(anchors) = &client_ca
                && !identity.chain.is_empty()
                && let Err(e) =
                    crate::online_revocation::check(&state, &identity.chain, anchors).await
            {
                tracing::warn!(listener = %name, %peer, reason = %e, code = e.code(), "client certificate refused by a revocation source: connection closed after the handshake");
                return;
            }
            state.metrics.connection_opened();
            let _open = OpenConnection(Arc::clone(&state));
            let connection = Connection(Arc::new(identity));
            let activity = Arc::new(Activity::new());
            let requests = Arc::clone(&activity);
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    let in_progress = InProgress::start(&requests);
                    let conn = match &forwarded {
                        None => connection.clone(),
                        Some(fw) => per_request_identity(fw, &mut req, &connection, &state),
                    };
                    // From here on the path is the normalized one: routing,
                    // the routes' rules and the upstream all see it.
                    let refused = request_check::check(&mut req).err();
                    let route_only = refused.is_none()
                        && app::route_only(
                            state.gateway.as_deref(),
                            &state.mounted,
                            req.uri().path(),
                        );
                    let (router, state) = (router.clone(), Arc::clone(&state));
                    async move {
                        let response = if let Some(refusal) = refused {
                            tracing::info!(listener = %conn.0.listener, peer = %conn.0.peer, path = ?req.uri().path(), reason = refusal.code(), "request refused before routing: {refusal}");
                            refusal.response()
                        } else {
                            let req = req.map(axum::body::Body::new);
                            if route_only {
                                app::gateway_request(state, req, Some(&conn.0)).await
                            } else {
                                let mut req = req;
                                req.extensions_mut().insert(conn);
                                match router.oneshot(req).await {
                                    Ok(r) => r,
                                    Err(never) => match never {},
                                }
                            }
                        };
                        Ok::<_, std::convert::Infallible>(response.map(|body| Tracked {
                            body,
                            _in_progress: in_progress,
                        }))
                    }
                },
            );
            let conn = builder.serve_connection(io, service).into_owned();
            tokio::select! {
                ended = watcher.watch(conn) => if let Err(e) = ended {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                },
                () = activity.idle(limits.idle_timeout) => {
                    tracing::debug!(%peer, "connection closed after {}s without a request", limits.idle_timeout.as_secs());
                }
            }
        });
    }
    drop(listener.tcp);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(DRAIN_TIMEOUT) => tracing::warn!(listener = %listener.name, "connections still open after the drain timeout"),
    }
}

/// The I/O of a connection, TLS or plain.
enum Io {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

/// The identity of one request on a listener with a forwarded-certificate
/// header: the header's certificate when the peer is a trusted proxy, the
/// connection's TLS certificate otherwise. The header is stripped either way.
fn per_request_identity<B>(
    fw: &ForwardedConfig,
    req: &mut hyper::Request<B>,
    connection: &Connection,
    state: &AppState,
) -> Connection {
    let identity = &connection.0;
    match fw.take(req.headers_mut(), identity.peer.ip()) {
        Forwarded::Untrusted { header_present } => {
            if header_present {
                state.metrics.forwarded_header_ignored(&identity.listener);
                tracing::warn!(
                    listener = %identity.listener,
                    peer = %identity.peer,
                    header = %fw.header,
                    "forwarded client-certificate header from a peer that is not a trusted proxy: ignored"
                );
            }
            connection.clone()
        }
        Forwarded::Trusted(result) => {
            if let Err(reason) = &result {
                tracing::warn!(listener = %identity.listener, peer = %identity.peer, header = %fw.header, %reason, "malformed forwarded client certificate");
            }
            Connection(Arc::new(ClientIdentity::forwarded(
                result.map(Option::unwrap_or_default),
                identity.peer,
                identity.listener.clone(),
                fw.header.as_str(),
            )))
        }
    }
}

/// Whether a connection has requests in progress, and since when it has none.
#[derive(Debug)]
struct Activity {
    start: Instant,
    in_progress: AtomicUsize,
    /// Milliseconds from `start` to when the last request in progress ended.
    idle_since: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            in_progress: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
        }
    }

    /// Resolves once the connection has had no request in progress for `limit`.
    async fn idle(&self, limit: Duration) {
        loop {
            let deadline = if self.in_progress.load(Ordering::Acquire) > 0 {
                // Busy: look again after a full period.
                Instant::now() + limit
            } else {
                let since =
                    self.start + Duration::from_millis(self.idle_since.load(Ordering::Acquire));
                if since.elapsed() >= limit {
                    return;
                }
                since + limit
            };
            tokio::time::sleep_until(deadline.into()).await;
        }
    }
}

/// One request in progress, from its head until its response body is done
/// (or dropped).
struct InProgress(Arc<Activity>);

impl InProgress {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.in_progress.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(activity))
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        let activity = &self.0;
        let now = activity.start.elapsed().as_millis() as u64;
        activity.idle_since.fetch_max(now, Ordering::AcqRel);
        activity.in_progress.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted as in progress.
struct Tracked {
    body: axum::body::Body,
    _in_progress: InProgress,
}

impl hyper::body::Body for Tracked {
    type Data = hyper::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// Counts a connection as closed when dropped.
struct OpenConnection(Arc<AppState>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.metrics.connection_closed();
    }
}

async fn handshake(
    stream: TcpStream,
    peer: SocketAddr,
    listener: &Arc<str>,
    tls: Option<TlsAcceptor>,
    state: &AppState,
) -> Option<(TokioIo<IoStream>, ClientIdentity)> {
    let Some(acceptor) = tls else {
        let identity = ClientIdentity::new(Vec::new(), peer, listener.clone());
        return Some((TokioIo::new(IoStream(Io::Plain(stream))), identity));
    };
    let accept = async {
        if let Some(version) = legacy_hello(&stream).await {
            return Err(refuse_legacy(stream, version).await);
        }
        acceptor.accept(stream).await
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, accept).await {
        Ok(Ok(tls)) => {
            let chain = tls
                .get_ref()
                .1
                .peer_certificates()
                .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default();
            let identity = ClientIdentity::new(chain, peer, listener.clone());
            Some((TokioIo::new(IoStream(Io::Tls(Box::new(tls)))), identity))
        }
        Ok(Err(e)) => {
            let reason = crate::metrics::handshake_reason(&e);
            state.metrics.handshake_failure(reason);
            tracing::info!(%listener, %peer, reason = %e, "TLS handshake failed");
            // A client certificate refused (or missing where one is
            // required) is an authentication attempt: audited like one.
            if matches!(
                reason,
                "no_client_certificate" | "bad_certificate" | "bad_signature"
            ) {
                let mut event = AuditEvent::new("handshake", AuditResult::Failure);
                event.reason = Some(reason.to_string());
                event.detail = Some(e.to_string());
                event.peer = Some(peer.to_string());
                event.listener = Some(listener.to_string());
                state.audit.record(event);
            }
            None
        }
        Err(_) => {
            state.metrics.handshake_failure("timeout");
            tracing::info!(%listener, %peer, "TLS handshake timed out after {}s", HANDSHAKE_TIMEOUT.as_secs());
            None
        }
    }
}

/// The version in a ClientHello that offers only SSL 3.0 to TLS 1.1, when the
/// first bytes show one: its legacy_version is below 0x0303, which a TLS 1.2
/// or 1.3 client never sends (RFC 8446 §4.1.2). rustls would answer such a
/// client `handshake_failure` (it finds no certificate for the client's
/// signature schemes before it looks at the version); the right answer is
/// `protocol_version` (RFC 8446 §6.2, RFC 5246 §7.2.2).
async fn legacy_hello(stream: &TcpStream) -> Option<u16> {
    // Record header (type 22, version, length), handshake type 1, length, version.
    let mut head = [0u8; 11];
    let n = stream.peek(&mut head).await.ok()?;
    if n < head.len() || head[0] != 22 || head[5] != 1 {
        return None;
    }
    let version = u16::from_be_bytes([head[9], head[10]]);
    (0x0300..0x0303).contains(&version).then_some(version)
}

/// Send the fatal `protocol_version` alert to a client that offers only an old
/// TLS version, close, and say why.
async fn refuse_legacy(mut stream: TcpStream, version: u16) -> std::io::Error {
    use tokio::io::AsyncWriteExt;
    // An alert record: level fatal (2), description protocol_version (70).
    let _ = stream.write_all(&[21, 3, 1, 0, 2, 2, 70]).await;
    let _ = stream.shutdown().await;
    let name = match version {
        0x0300 => "SSL 3.0",
        0x0301 => "TLS 1.0",
        _ => "TLS 1.1",
    };
    std::io::Error::other(format!(
        "the client offers only {name}: no protocol version in common (TLS 1.2 and 1.3 are accepted); sent the protocol_version alert"
    ))
}

/// TCP or TLS stream behind one type for hyper.
#[allow(missing_debug_implementations)]
struct IoStream(Io);

impl tokio::io::AsyncRead for IoStream {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match &mut self.get_mut().0 {
            Io::Plain(s) => std::pin::Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl tokio::io::AsyncWrite for IoStream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match &mut self.get_mut().0 {
            Io::Plain(s) => std::pin::Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match &mut self.get_mut().0 {
            Io::Plain(s) => std::pin::Pin::new(s).poll_flush(cx),
            Io::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match &mut self.get_mut().0 {
            Io::Plain(s) => std::pin::Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match &mut self.get_mut().0 {
            Io::Plain(s) => std::pin::Pin::new(s).poll_write_vectored(cx, bufs),
            Io::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.0 {
            Io::Plain(s) => s.is_write_vectored(),
            Io::Tls(s) => s.is_write_vectored(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_and_out_of_range_values_are_reported() {
        let mut problems = Vec::new();
        let mut problem = |k: String, r: String| problems.push(format!("{k}: {r}"));
        let limits =
            crate::config::listener::validate_limits("listener[0]", None, None, None, &mut problem);
        assert_eq!(limits, Limits::default());
        let limits = crate::config::listener::validate_limits(
            "listener[0]",
            Some(1),
            Some(2),
            Some(3),
            &mut problem,
        );
        assert_eq!(
            (
                limits.header_read_timeout,
                limits.idle_timeout,
                limits.max_connections
            ),
            (Duration::from_secs(1), Duration::from_secs(2), 3)
        );
        crate::config::listener::validate_limits(
            "listener[1]",
            Some(0),
            Some(3601),
            Some(0),
            &mut problem,
        );
        assert_eq!(
            problems,
            [
                "listener[1].header_read_timeout_secs: 0 is out of range: write 1 to 3600 seconds",
                "listener[1].idle_timeout_secs: 3601 is out of range: write 1 to 3600 seconds",
                "listener[1].max_connections: 0 is out of range: write 1 to 1000000",
            ]
        );
    }
}
