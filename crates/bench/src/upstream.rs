//! The upstream every proxy forwards to, and that the load generator also
//! calls directly for the baseline: a small HTTP/1.1 server (hyper) with one
//! current-thread runtime on a thread of its own inside the benchmark
//! process, answering `GET` [`PATH`] with a fixed small body. One upstream for
//! every proxy in the run, so that what it costs, it costs each of them
//! alike; its thread's CPU time is read from /proc apart from the load
//! generator's.

use std::convert::Infallible;
use std::net::SocketAddr;

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::procfs::Procs;

/// The path the upstream serves (and the gateway route's prefix covers).
pub const PATH: &str = "/api/hello";
/// The upstream's answer to [`PATH`].
pub const BODY: &[u8] = br#"{"upstream":"ok"}"#;

/// The running upstream; stopped when dropped.
#[derive(Debug)]
pub struct Upstream {
    pub addr: SocketAddr,
    /// Its thread, for CPU time.
    pub procs: Procs,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Upstream {
    /// Bind 127.0.0.1:0 on a new thread and serve until dropped.
    pub fn start() -> Result<Self> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(SocketAddr, Procs)>>();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("bench-upstream".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = ready_tx.send(Err(anyhow!("the upstream's runtime: {e}")));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let bound = TcpListener::bind("127.0.0.1:0")
                        .await
                        .and_then(|l| Ok((l.local_addr()?, l)));
                    let listener = match bound {
                        Ok((addr, l)) => {
                            let _ = ready_tx.send(Ok((addr, Procs::current_thread())));
                            l
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(anyhow!("binding the upstream: {e}")));
                            return;
                        }
                    };
                    tokio::select! {
                        _ = accept_loop(listener) => {}
                        _ = stopped => {}
                    }
                });
            })
            .context("starting the upstream's thread")?;
        let (addr, procs) = ready_rx
            .recv()
            .context("the upstream's thread ended before it was ready")??;
        Ok(Self {
            addr,
            procs,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors and the like: back off rather than spin.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(answer);
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// [`BODY`] for `GET` [`PATH`], 404 for anything else (a proxy that rewrote
/// the path shows up as errors).
async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = if request.uri().path() == PATH {
        (StatusCode::OK, Bytes::from_static(BODY))
    } else {
        (StatusCode::NOT_FOUND, Bytes::from_static(b"not found"))
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}
