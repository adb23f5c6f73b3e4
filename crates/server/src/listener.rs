//! One listener: accept TCP, run the TLS handshake (bounded in time, failures
//! logged with their reason), capture the client's certificate chain as the
//! connection's identity, and serve HTTP/1.1 and HTTP/2 on it until shutdown,
//! when open connections are drained gracefully.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
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

/// A handshake that has not finished by then is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head (request line and headers) accepted: room for a
/// forwarded certificate chain, far below what would let a peer hog memory.
/// Larger heads get 431.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// How long shutdown waits for open connections to finish.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A bound listener, ready to serve.
pub struct BoundListener {
    pub name: Arc<str>,
    pub tcp: TcpListener,
    /// The live TLS config, swapped by certificate reloads.
    pub tls: Option<Arc<ArcSwap<rustls::ServerConfig>>>,
    /// Forwarded client-certificate header settings.
    pub forwarded: Option<Arc<ForwardedConfig>>,
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
pub async fn serve(
    listener: BoundListener,
    router: Router,
    state: Arc<AppState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder.http1().max_buf_size(MAX_HEADER_BYTES);
    builder
        .http2()
        .max_header_list_size(MAX_HEADER_BYTES as u32);
    let builder = Arc::new(builder);
    loop {
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
        tokio::spawn(async move {
            let Some((io, identity)) = handshake(stream, peer, &name, tls, &state).await else {
                return;
            };
            state.metrics.connection_opened();
            let _open = OpenConnection(Arc::clone(&state));
            let connection = Connection(Arc::new(identity));
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    let conn = match &forwarded {
                        None => connection.clone(),
                        Some(fw) => per_request_identity(fw, &mut req, &connection, &state),
                    };
                    // From here on the path is the normalized one: routing,
                    // the routes' rules and the upstream all see it.
                    let refused = request_check::check(&mut req).err();
                    let route_only =
                        refused.is_none() && app::route_only(&state.gateway, req.uri().path());
                    let (router, state) = (router.clone(), Arc::clone(&state));
                    async move {
                        if let Some(refusal) = refused {
                            tracing::info!(listener = %conn.0.listener, peer = %conn.0.peer, path = ?req.uri().path(), reason = refusal.code(), "request refused before routing: {refusal}");
                            return Ok(refusal.response());
                        }
                        let req = req.map(axum::body::Body::new);
                        if route_only {
                            Ok(app::gateway_request(&state, req, Some(&conn.0)).await)
                        } else {
                            let mut req = req;
                            req.extensions_mut().insert(conn);
                            router.oneshot(req).await
                        }
                    }
                },
            );
            let conn = builder.serve_connection(io, service).into_owned();
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
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
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
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
