//! Kept-alive HTTP/1.1 connections to a plain `http://` upstream, with less
//! work per request than hyper-util's general client: no pool key to hash,
//! no connect future built and raced against the checkout, no task spawned
//! per request to put the connection back, and no task per connection: a
//! connection is driven by the request that uses it (then by its response
//! body), so a request and its upstream exchange run in one task without
//! waking another. A connection returns to the pool when the response body it
//! carried has been read to its end (or was empty); one dropped halfway is
//! closed. An idle connection is driven again when it is checked out, which
//! is when a close by the upstream is noticed. The newest idle connection is
//! used first; idle connections are closed after [`POOL_IDLE`].
//!
//! Connections are made by hyper-util's `HttpConnector`, configured as the
//! general client configures it (name resolution, connect timeout,
//! `TCP_NODELAY`). A request that could not be sent because a reused
//! connection had just closed is sent again on another one, as hyper-util
//! does. `https://` upstreams (TLS, ALPN, HTTP/2) keep hyper-util's client.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, Response, Uri};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::client::conn::http1;
use hyper_util::client::legacy::connect::HttpConnector;
use tower::ServiceExt;

use certbound_tls::http::POOL_IDLE;

/// A failure to reach the upstream or to exchange a request with it, shown
/// the way hyper-util's client error shows it (`client error (Connect)`).
#[derive(Debug)]
pub(super) struct UpstreamError {
    kind: &'static str,
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl UpstreamError {
    fn connect(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            kind: "Connect",
            source: source.into(),
        }
    }

    fn send(source: hyper::Error) -> Self {
        Self {
            kind: "SendRequest",
            source: source.into(),
        }
    }
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "client error ({})", self.kind)
    }
}

impl std::error::Error for UpstreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// The idle connections to one upstream.
#[derive(Debug)]
pub(super) struct Http1Pool {
    connector: HttpConnector,
    /// Scheme and authority, what the connector connects to.
    upstream: Uri,
    /// Newest last.
    idle: Mutex<Vec<Idle>>,
    /// Whether the task that closes connections idle too long runs.
    pruning: std::sync::atomic::AtomicBool,
}

/// One upstream connection: the handle requests go through, and the
/// connection itself, driven by whoever is using it (the request's future,
/// then its response body) rather than by a task of its own, so that a
/// request and its connection run without handing work between tasks.
struct Upstream {
    sender: http1::SendRequest<Body>,
    connection: Pin<Box<http1::Connection<hyper_util::rt::TokioIo<tokio::net::TcpStream>, Body>>>,
}

impl Upstream {
    /// Drive the connection's I/O; `true` once it has ended.
    fn drive(&mut self, cx: &mut Context<'_>) -> bool {
        match self.connection.as_mut().poll(cx) {
            Poll::Ready(Err(e)) => {
                tracing::debug!(error = %e, "upstream connection ended with an error");
                true
            }
            Poll::Ready(Ok(())) => true,
            Poll::Pending => false,
        }
    }
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream").finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Idle {
    upstream: Upstream,
    since: Instant,
}

impl Http1Pool {
    pub(super) fn new(upstream: Uri, connect_timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.enforce_http(false);
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(connect_timeout));
        Self {
            connector,
            upstream,
            idle: Mutex::new(Vec::new()),
            pruning: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Send `request` (origin-form URI, `Host` set) and return the response
    /// head with its body streaming.
    pub(super) async fn send(
        self: &Arc<Self>,
        mut request: Request<Body>,
    ) -> Result<Response<Body>, UpstreamError> {
        loop {
            let (mut upstream, reused) = match self.checkout().await {
                Some(upstream) => (upstream, true),
                None => (self.connect().await?, false),
            };
            let mut response = std::pin::pin!(upstream.sender.try_send_request(request));
            let mut ended = false;
            let sent = std::future::poll_fn(|cx| {
                if !ended {
                    ended = upstream.drive(cx);
                }
                response.as_mut().poll(cx)
            })
            .await;
            match sent {
                Ok(response) => {
                    let (parts, body) = response.into_parts();
                    let body = Returning {
                        body,
                        upstream: (!ended).then_some(upstream),
                        pool: Arc::clone(self),
                    };
                    return Ok(Response::from_parts(parts, Body::new(body)));
                }
                Err(mut e) => match e.take_message() {
                    // Never sent: the reused connection closed under it. Another one.
                    Some(unsent) if reused => request = unsent,
                    _ => return Err(UpstreamError::send(e.into_error())),
                },
            }
        }
    }

    /// The newest idle connection that is ready for a request.
    async fn checkout(&self) -> Option<Upstream> {
        loop {
            let mut idle = self.idle.lock().ok()?.pop()?;
            if idle.since.elapsed() > POOL_IDLE {
                continue;
            }
            // Drive it until it takes a request, or turns out to have closed.
            let ready = std::future::poll_fn(|cx| {
                let ended = idle.upstream.drive(cx);
                match idle.upstream.sender.poll_ready(cx) {
                    Poll::Ready(r) => Poll::Ready(r.is_ok() && !ended),
                    Poll::Pending if ended => Poll::Ready(false),
                    Poll::Pending => Poll::Pending,
                }
            })
            .await;
            if ready {
                return Some(idle.upstream);
            }
        }
    }

    async fn connect(self: &Arc<Self>) -> Result<Upstream, UpstreamError> {
        let io = self
            .connector
            .clone()
            .oneshot(self.upstream.clone())
            .await
            .map_err(UpstreamError::connect)?;
        let (sender, connection) = http1::Builder::new()
            .handshake(io)
            .await
            .map_err(UpstreamError::connect)?;
        self.start_pruning();
        Ok(Upstream {
            sender,
            connection: Box::pin(connection),
        })
    }

    fn give_back(&self, upstream: Upstream) {
        if upstream.sender.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(Idle {
                upstream,
                since: Instant::now(),
            });
        }
    }

    /// Close connections idle longer than [`POOL_IDLE`], every [`POOL_IDLE`],
    /// while the pool lives.
    fn start_pruning(self: &Arc<Self>) {
        if self
            .pruning
            .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        let pool: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POOL_IDLE);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(pool) = pool.upgrade() else {
                    return;
                };
                if let Ok(mut idle) = pool.idle.lock() {
                    idle.retain(|i| {
                        !i.upstream.sender.is_closed() && i.since.elapsed() <= POOL_IDLE
                    });
                }
            }
        });
    }
}

/// A response body that drives its connection while it is read and puts the
/// connection back into the pool once read to its end.
struct Returning {
    body: Incoming,
    /// `None` once the connection has ended (or been given back).
    upstream: Option<Upstream>,
    pool: Arc<Http1Pool>,
}

impl Returning {
    fn give_back(&mut self) {
        if let Some(upstream) = self.upstream.take() {
            self.pool.give_back(upstream);
        }
    }
}

impl hyper::body::Body for Returning {
    type Data = hyper::body::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        if let Some(upstream) = this.upstream.as_mut() {
            if upstream.drive(cx) {
                this.upstream = None;
            }
        }
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            this.give_back();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Returning {
    fn drop(&mut self) {
        // Read to its end (or empty): the connection can carry the next
        // request. Dropped halfway: the connection is dropped, and closed.
        if hyper::body::Body::is_end_stream(&self.body) {
            self.give_back();
        }
    }
}

impl std::fmt::Debug for Returning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Returning")
            .field("pooled", &self.upstream.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;

    use super::*;

    /// An upstream that counts its connections: `/close` answers with
    /// `Connection: close`, `/big` with a body of a megabyte, anything else
    /// with `hello`.
    async fn upstream() -> (SocketAddr, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&connections);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|req: Request<Incoming>| async move {
                        let mut response = match req.uri().path() {
                            "/big" => Response::new(Full::new(Bytes::from(vec![b'x'; 1 << 20]))),
                            _ => Response::new(Full::new(Bytes::from_static(b"hello"))),
                        };
                        if req.uri().path() == "/close" {
                            response
                                .headers_mut()
                                .insert("connection", "close".parse().unwrap());
                        }
                        Ok::<_, std::convert::Infallible>(response)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (addr, connections)
    }

    fn get(addr: SocketAddr, path: &str) -> Request<Body> {
        Request::get(path)
            .header("host", addr.to_string())
            .body(Body::empty())
            .unwrap()
    }

    async fn text(response: Response<Body>) -> String {
        let body = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn a_connection_is_reused_and_one_the_upstream_closes_is_replaced() {
        let (addr, connections) = upstream().await;
        let uri: Uri = format!("http://{addr}").parse().unwrap();
        let pool = Arc::new(Http1Pool::new(uri, Duration::from_secs(2)));
        for _ in 0..3 {
            let response = pool.send(get(addr, "/")).await.unwrap();
            assert_eq!(text(response).await, "hello");
        }
        assert_eq!(
            connections.load(Ordering::SeqCst),
            1,
            "one kept-alive connection"
        );

        let response = pool.send(get(addr, "/close")).await.unwrap();
        assert_eq!(text(response).await, "hello");
        let response = pool.send(get(addr, "/")).await.unwrap();
        assert_eq!(text(response).await, "hello");
        assert_eq!(
            connections.load(Ordering::SeqCst),
            2,
            "a connection the upstream closed is not reused"
        );

        let big = pool.send(get(addr, "/big")).await.unwrap();
        assert_eq!(text(big).await.len(), 1 << 20, "a large body streams whole");
        let response = pool.send(get(addr, "/")).await.unwrap();
        assert_eq!(text(response).await, "hello");
        assert_eq!(
            connections.load(Ordering::SeqCst),
            2,
            "reused after a large body"
        );

        // A body dropped halfway leaves its connection unusable: a new one serves the next request.
        let mut big = pool.send(get(addr, "/big")).await.unwrap().into_body();
        let first = big.frame().await.unwrap().unwrap();
        assert!(first.is_data());
        drop(big);
        let response = pool.send(get(addr, "/")).await.unwrap();
        assert_eq!(text(response).await, "hello");
        assert_eq!(connections.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn concurrent_requests_open_connections_that_are_then_shared() {
        let (addr, connections) = upstream().await;
        let uri: Uri = format!("http://{addr}").parse().unwrap();
        let pool = Arc::new(Http1Pool::new(uri, Duration::from_secs(2)));
        let requests: Vec<_> = (0..4)
            .map(|_| {
                let pool = Arc::clone(&pool);
                tokio::spawn(async move { text(pool.send(get(addr, "/")).await.unwrap()).await })
            })
            .collect();
        for request in requests {
            assert_eq!(request.await.unwrap(), "hello");
        }
        let opened = connections.load(Ordering::SeqCst);
        assert!((1..=4).contains(&opened));
        for _ in 0..8 {
            let response = pool.send(get(addr, "/")).await.unwrap();
            assert_eq!(text(response).await, "hello");
        }
        assert_eq!(
            connections.load(Ordering::SeqCst),
            opened,
            "no new connections"
        );
    }

    #[tokio::test]
    async fn an_unreachable_upstream_is_a_connect_error() {
        // Bound, then closed: nothing listens there.
        let addr = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let uri: Uri = format!("http://{addr}").parse().unwrap();
        let pool = Arc::new(Http1Pool::new(uri, Duration::from_secs(2)));
        let error = pool.send(get(addr, "/")).await.unwrap_err();
        assert_eq!(error.to_string(), "client error (Connect)");
        assert!(std::error::Error::source(&error).is_some());
    }
}
