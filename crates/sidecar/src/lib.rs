//! `certbound sidecar`: lets an application that can only make plain HTTP
//! calls talk to a partner that demands mTLS and certificate-bound tokens. It
//! listens on loopback, forwards each request over mTLS to the upstream and,
//! when a token URL is given, attaches an access token obtained with the same
//! certificate (RFC 8705 client_credentials), refreshed at 80% of its lifetime
//! and once after the upstream answers 401. Certificate files are watched and
//! reloaded (and a new token fetched) when they change. Upstream failures are
//! logged with the TLS diagnosis `certbound connect` would give.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Request, Response, StatusCode, Uri, Version, header};
use certbound_tls::ClientTls;
use certbound_tls::connect::{ConnectOptions, Target};
use http_body_util::BodyExt;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, watch};

use certbound_tls::http::{Limits, bind_hint, build_client, single_chunked, strip_hop_by_hop};

/// Largest request body held so that it can be sent again after a 401;
/// longer bodies stream through and are sent once.
pub const REPLAY_LIMIT: usize = 64 * 1024;
/// How often certificate files are checked for changes.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(2);
/// Fraction of a token's lifetime after which it is renewed.
pub const REFRESH_AT: f64 = 0.8;

/// Where the client certificate comes from, to reload it.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// `--cert`, `--key`, `--ca`, `--key-password-file` (`key` is `cert`
    /// itself for a PKCS#12 file).
    Files {
        cert: PathBuf,
        key: PathBuf,
        ca: Option<PathBuf>,
        key_password: certbound_tls::material::KeyPassword,
    },
    /// `--tls NAME --config FILE`.
    Profile { config: PathBuf, name: String },
}

impl Credentials {
    fn load(&self) -> Result<ClientTls, CredentialsError> {
        match self {
            Credentials::Files {
                cert,
                key,
                ca,
                key_password,
            } => Ok(ClientTls {
                identity: Some(certbound_tls::Identity::load_with_password(
                    cert,
                    Some(key),
                    key_password,
                )?),
                ca: ca
                    .as_ref()
                    .map(|p| certbound_tls::material::load_certificates(p, "the CA file"))
                    .transpose()?,
                ..ClientTls::default()
            }),
            Credentials::Profile { config, name } => Ok(ClientTls::from_profile(
                certbound_tls::profile::load_profile(config, name)?,
            )),
        }
    }

    fn files(&self) -> Vec<PathBuf> {
        match self {
            Credentials::Files { cert, key, ca, .. } => {
                [Some(cert.clone()), Some(key.clone()), ca.clone()]
                    .into_iter()
                    .flatten()
                    .collect()
            }
            Credentials::Profile { config, name } => {
                let mut files = vec![config.clone()];
                if let Ok(table) = certbound_tls::profile::read_tls_table(config) {
                    if let Some(raw) = table.get(name) {
                        let base = certbound_tls::profile::base_dir(config);
                        files.extend(
                            [&raw.cert, &raw.key, &raw.ca]
                                .into_iter()
                                .flatten()
                                .map(|p| base.join(p)),
                        );
                    }
                }
                files
            }
        }
    }
}

/// The token to fetch: where, as whom, for what.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub url: Uri,
    pub client_id: String,
    pub scope: Option<String>,
}

/// What the sidecar does.
#[derive(Debug, Clone)]
pub struct SidecarConfig {
    pub listen: SocketAddr,
    pub upstream: Uri,
    pub credentials: Credentials,
    pub token: Option<TokenSettings>,
    pub connect_timeout: Duration,
}

/// Why the client certificate cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error(transparent)]
    Tls(#[from] certbound_tls::Error),
    #[error(transparent)]
    Profile(#[from] certbound_tls::ProfileError),
}

/// Why the sidecar could not start.
#[derive(Debug, thiserror::Error)]
pub enum SidecarError {
    #[error("cannot load the client certificate: {0}")]
    Credentials(#[from] CredentialsError),
    #[error("cannot listen on {addr}{}", bind_hint(source))]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A request that finds no valid token fetches one itself at most this often
/// (the background renewal keeps trying meanwhile).
pub const TOKEN_RETRY_ON_REQUEST: Duration = Duration::from_secs(1);

/// A live token and when to renew it.
#[derive(Debug, Clone)]
struct Token {
    value: String,
    renew_at: Instant,
    expires_at: Instant,
}

/// Why the last token fetch failed: what the token endpoint answered, when
/// it answered.
#[derive(Debug, Clone, Default)]
struct TokenFailure {
    /// The endpoint's HTTP status, when it answered.
    status: Option<u16>,
    /// Its RFC 6749 `error` and `error_description`, when it sent them.
    error: Option<String>,
    error_description: Option<String>,
    /// The whole story, for the log and the 503.
    message: String,
}

impl std::fmt::Display for TokenFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl TokenFailure {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..Self::default()
        }
    }
}

#[derive(Debug)]
struct Shared {
    config: SidecarConfig,
    client: ArcSwap<Client<HttpsConnector<HttpConnector>, Body>>,
    tls: ArcSwap<ClientTls>,
    token: ArcSwap<Option<Token>>,
    /// The last failed fetch and when it ended; cleared by a success.
    failure: ArcSwap<Option<(TokenFailure, Instant)>>,
    /// Serialises token fetches.
    fetching: Mutex<()>,
}

/// A running sidecar.
#[derive(Debug)]
pub struct Sidecar {
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Sidecar {
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }

    pub async fn wait(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

fn make_client(
    tls: &ClientTls,
    timeout: Duration,
) -> Result<Client<HttpsConnector<HttpConnector>, Body>, CredentialsError> {
    let config = tls.build()?;
    Ok(build_client((*config).clone(), timeout))
}

/// Start the sidecar.
pub async fn start(config: SidecarConfig) -> Result<Sidecar, SidecarError> {
    let tls = config.credentials.load()?;
    let client = make_client(&tls, config.connect_timeout)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| SidecarError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SidecarError::Bind {
        addr: config.listen,
        source,
    })?;
    let shared = Arc::new(Shared {
        client: ArcSwap::from_pointee(client),
        tls: ArcSwap::from_pointee(tls),
        token: ArcSwap::from_pointee(None),
        failure: ArcSwap::from_pointee(None),
        fetching: Mutex::new(()),
        config,
    });
    if shared.config.token.is_some() {
        if let Err(e) = refresh_token(&shared).await {
            tracing::warn!(error = %e, "cannot obtain the first access token; retrying in the background");
        }
    }
    let (shutdown, rx) = watch::channel(false);
    let tasks = vec![
        tokio::spawn(serve(listener, Arc::clone(&shared), rx.clone())),
        tokio::spawn(renew_tokens(Arc::clone(&shared), rx.clone())),
        tokio::spawn(watch_files(Arc::clone(&shared), rx)),
    ];
    tracing::info!(%addr, upstream = %shared.config.upstream, "sidecar listening");
    Ok(Sidecar {
        addr,
        shutdown,
        tasks,
    })
}

async fn serve(listener: TcpListener, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    // A listener's defaults: the header read timeout (which also closes an
    // idle HTTP/1.1 connection), HTTP/2 pings and the connection cap.
    let limits = Limits::default();
    let builder = Arc::new(limits.builder());
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    loop {
        let slot = tokio::select! {
            s = Arc::clone(&slots).acquire_owned() => s,
            _ = shutdown.changed() => return,
        };
        let Ok(slot) = slot else { return };
        let (stream, _) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let (shared, builder) = (Arc::clone(&shared), Arc::clone(&builder));
        tokio::spawn(async move {
            let _slot = slot;
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let shared = Arc::clone(&shared);
                async move {
                    Ok::<_, std::convert::Infallible>(handle(&shared, req.map(Body::new)).await)
                }
            });
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(shared: &Shared, request: Request<Body>) -> Response<Body> {
    // Hop-by-hop headers are not forwarded: a coding other than the chunking
    // hyper removes would reach the upstream unlabeled.
    if !single_chunked(request.headers()) {
        return json_response(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": "invalid_request", "error_description": "Transfer-Encoding must be `chunked` alone: other transfer codings are not accepted"}).to_string(),
        );
    }
    let (parts, body) = request.into_parts();
    let body = match read_prefix(body).await {
        Ok(body) => body,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the request body from the application");
            return json_response(
                StatusCode::BAD_REQUEST,
                r#"{"error":"invalid_request","error_description":"the request body could not be read"}"#.into(),
            );
        }
    };
    let replay = match &body {
        Outgoing::Whole(bytes) => Some(bytes.clone()),
        Outgoing::Streaming(_) => None,
    };
    // With a token URL, nothing goes upstream without a valid token.
    if let Err(refusal) = ensure_token(shared).await {
        return refusal;
    }
    let first = send(shared, &parts, body).await;
    match first {
        Ok(resp) if resp.status() == StatusCode::UNAUTHORIZED && shared.config.token.is_some() => {
            if replay.is_some() {
                tracing::info!(
                    "upstream answered 401: renewing the access token and retrying once"
                );
            } else {
                tracing::info!(
                    "upstream answered 401: renewing the access token; the request body was larger than {REPLAY_LIMIT} bytes and streamed, so the application gets the 401 and its retry carries the new token"
                );
            }
            if let Err(e) = refresh_token(shared).await {
                tracing::warn!(error = %e, "cannot renew the access token");
                return resp;
            }
            match replay {
                Some(bytes) => send(shared, &parts, Outgoing::Whole(bytes))
                    .await
                    .unwrap_or_else(|e| e),
                None => resp,
            }
        }
        Ok(resp) => resp,
        Err(resp) => resp,
    }
}

/// A request body on its way to the upstream.
enum Outgoing {
    /// Read to its end within [`REPLAY_LIMIT`]: it can be sent again.
    Whole(Bytes),
    /// Longer: what was read, then the rest as it arrives.
    Streaming(Body),
}

/// Read `body` up to [`REPLAY_LIMIT`] bytes, so that a short body can be sent
/// again after a 401 while a long one streams through without being held.
async fn read_prefix(mut body: Body) -> Result<Outgoing, axum::Error> {
    let mut prefix = Vec::new();
    while let Some(frame) = body.frame().await {
        // Trailers (rare from a local application) are not forwarded.
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        prefix.extend_from_slice(&data);
        if prefix.len() > REPLAY_LIMIT {
            return Ok(Outgoing::Streaming(Body::new(Prefixed {
                prefix: Some(Bytes::from(prefix)),
                rest: body,
            })));
        }
    }
    Ok(Outgoing::Whole(Bytes::from(prefix)))
}

/// The bytes already read, then the rest of the body.
struct Prefixed {
    prefix: Option<Bytes>,
    rest: Body,
}

impl hyper::body::Body for Prefixed {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, axum::Error>>> {
        if let Some(prefix) = self.prefix.take() {
            return std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(prefix))));
        }
        std::pin::Pin::new(&mut self.rest).poll_frame(cx)
    }
}

async fn send(
    shared: &Shared,
    parts: &axum::http::request::Parts,
    body: Outgoing,
) -> Result<Response<Body>, Response<Body>> {
    let upstream = &shared.config.upstream;
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let uri: Uri = format!(
        "{}://{}{}{}",
        upstream.scheme_str().unwrap_or("https"),
        upstream.authority().map_or("", |a| a.as_str()),
        upstream.path().trim_end_matches('/'),
        path
    )
    .parse()
    .map_err(|_| {
        json_response(
            StatusCode::BAD_REQUEST,
            r#"{"error":"invalid_request"}"#.into(),
        )
    })?;
    let mut headers = parts.headers.clone();
    strip_hop_by_hop(&mut headers);
    if let Some(authority) = upstream
        .authority()
        .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    {
        headers.insert(header::HOST, authority);
    }
    // With a token URL the sidecar speaks for the app: whatever Authorization
    // the app sent never reaches the partner, even while no token is at hand.
    if shared.config.token.is_some() {
        headers.remove(header::AUTHORIZATION);
        // Never without a token: it may have expired since ensure_token.
        let Some(token) = valid_token(shared) else {
            return Err(no_token(shared));
        };
        if let Ok(v) = HeaderValue::from_str(&format!("Bearer {}", token.value)) {
            headers.insert(header::AUTHORIZATION, v);
        }
    }
    let mut request = Request::builder()
        .method(parts.method.clone())
        .uri(uri)
        .version(Version::HTTP_11)
        .body(match body {
            Outgoing::Whole(bytes) => Body::from(bytes),
            Outgoing::Streaming(body) => body,
        })
        .map_err(|_| {
            json_response(
                StatusCode::BAD_REQUEST,
                r#"{"error":"invalid_request"}"#.into(),
            )
        })?;
    *request.headers_mut() = headers;
    let client = shared.client.load_full();
    match client.request(request).await {
        Ok(resp) => {
            let (mut parts, body) = resp.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            Ok(Response::from_parts(parts, Body::new(body)))
        }
        Err(e) => {
            let diagnosis = diagnose(shared).await;
            tracing::warn!(upstream = %upstream, error = %e, %diagnosis, "upstream request failed");
            Err(json_response(
                StatusCode::BAD_GATEWAY,
                serde_json::json!({"error": "bad_gateway", "error_description": format!("the upstream cannot be reached: {diagnosis}")}).to_string(),
            ))
        }
    }
}

/// What `certbound connect` says about the upstream.
async fn diagnose(shared: &Shared) -> String {
    let upstream = &shared.config.upstream;
    let port = upstream
        .port_u16()
        .unwrap_or(if upstream.scheme_str() == Some("http") {
            80
        } else {
            443
        });
    let Ok(target) = Target::parse(&format!("{}:{port}", upstream.host().unwrap_or_default()))
    else {
        return "the upstream address is not valid".into();
    };
    let tls = shared.tls.load();
    let mut opts = ConnectOptions::new(ClientTls {
        identity: tls.identity.as_ref().map(|i| i.duplicate()),
        ca: tls.ca.clone(),
        versions: tls.versions,
        ..ClientTls::default()
    });
    opts.timeout = Duration::from_secs(5);
    match certbound_tls::connect::connect(&target, &opts).await {
        Ok(report) => report.headline(),
        Err(e) => e.to_string(),
    }
}

/// The token to send, if one is held and unexpired.
fn valid_token(shared: &Shared) -> Option<Token> {
    shared
        .token
        .load()
        .as_ref()
        .as_ref()
        .filter(|t| t.expires_at > Instant::now())
        .cloned()
}

/// With a token URL: a valid token, fetched now if none is held (at most
/// once per [`TOKEN_RETRY_ON_REQUEST`]), or the 503 that tells the
/// application what the token endpoint answered. Without one: nothing to do.
async fn ensure_token(shared: &Shared) -> Result<(), Response<Body>> {
    if shared.config.token.is_none() || valid_token(shared).is_some() {
        return Ok(());
    }
    let recent = shared
        .failure
        .load()
        .as_ref()
        .as_ref()
        .is_some_and(|(_, at)| at.elapsed() < TOKEN_RETRY_ON_REQUEST);
    if !recent {
        if let Err(e) = refresh_token(shared).await {
            tracing::warn!(error = %e, "no access token: the request is not forwarded");
        }
    }
    if valid_token(shared).is_some() {
        return Ok(());
    }
    Err(no_token(shared))
}

/// The 503 for a request that finds no valid token: what the token endpoint
/// last answered.
fn no_token(shared: &Shared) -> Response<Body> {
    let failure = shared
        .failure
        .load()
        .as_ref()
        .as_ref()
        .map(|(f, _)| f.clone())
        .unwrap_or_else(|| TokenFailure::new("no token was obtained yet"));
    let body = serde_json::json!({
        "error": "temporarily_unavailable",
        "error_description": format!(
            "the sidecar has no valid access token, so the request was not forwarded: {}",
            failure.message
        ),
        "token_endpoint": {
            "url": shared.config.token.as_ref().map(|t| t.url.to_string()),
            "status": failure.status,
            "error": failure.error,
            "error_description": failure.error_description,
        },
    });
    let mut resp = json_response(StatusCode::SERVICE_UNAVAILABLE, body.to_string());
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    resp
}

/// Fetch a new token by client_credentials with the client certificate; a
/// failure is kept for the 503 of the requests that find no token.
async fn refresh_token(shared: &Shared) -> Result<(), TokenFailure> {
    let Some(settings) = &shared.config.token else {
        return Ok(());
    };
    let _guard = shared.fetching.lock().await;
    match fetch_token(shared, settings).await {
        Ok(token) => {
            shared.token.store(Arc::new(Some(token)));
            shared.failure.store(Arc::new(None));
            Ok(())
        }
        Err(failure) => {
            shared
                .failure
                .store(Arc::new(Some((failure.clone(), Instant::now()))));
            Err(failure)
        }
    }
}

async fn fetch_token(shared: &Shared, settings: &TokenSettings) -> Result<Token, TokenFailure> {
    let mut form = format!(
        "grant_type=client_credentials&client_id={}",
        urlencode(&settings.client_id)
    );
    if let Some(scope) = &settings.scope {
        form.push_str(&format!("&scope={}", urlencode(scope)));
    }
    let request = Request::post(settings.url.clone())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .map_err(|e| TokenFailure::new(e.to_string()))?;
    let client = shared.client.load_full();
    let response = tokio::time::timeout(Duration::from_secs(15), client.request(request))
        .await
        .map_err(|_| TokenFailure::new("the token endpoint did not answer within 15 s"))?
        .map_err(|e| TokenFailure::new(format!("cannot reach the token endpoint: {e}")))?;
    let status = response.status();
    let mut failure = TokenFailure {
        status: Some(status.as_u16()),
        ..TokenFailure::default()
    };
    let body = axum::body::to_bytes(Body::new(response.into_body()), 64 * 1024)
        .await
        .map_err(|e| TokenFailure {
            message: format!("the token endpoint's answer ({status}) could not be read: {e}"),
            ..failure.clone()
        })?;
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body) else {
        failure.message = format!("the token endpoint answered {status} without JSON");
        return Err(failure);
    };
    if !status.is_success() {
        failure.error = json["error"].as_str().map(str::to_string);
        failure.error_description = json["error_description"].as_str().map(str::to_string);
        failure.message = format!(
            "the token endpoint refused ({status}): {}{}",
            failure.error.as_deref().unwrap_or("no error code"),
            failure
                .error_description
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        );
        return Err(failure);
    }
    let Some(value) = json["access_token"].as_str() else {
        failure.message = "the token response has no access_token".into();
        return Err(failure);
    };
    let lifetime = json["expires_in"].as_u64().unwrap_or(300);
    let now = Instant::now();
    tracing::info!(client_id = %settings.client_id, expires_in = lifetime, "access token obtained");
    Ok(Token {
        value: value.to_string(),
        renew_at: now + Duration::from_secs_f64(lifetime as f64 * REFRESH_AT),
        expires_at: now + Duration::from_secs(lifetime),
    })
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Renew the token at 80% of its lifetime; retry failures with backoff.
async fn renew_tokens(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    if shared.config.token.is_none() {
        return;
    }
    let mut backoff = Duration::from_secs(1);
    loop {
        let wait = match shared.token.load().as_ref() {
            Some(t) => t.renew_at.saturating_duration_since(Instant::now()),
            None => backoff,
        };
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        match refresh_token(&shared).await {
            Ok(()) => backoff = Duration::from_secs(1),
            Err(e) => {
                tracing::warn!(error = %e, "token renewal failed; retrying in {}s", backoff.as_secs());
                shared.token.store(Arc::new(None));
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// Reload the certificate when its files change, then fetch a new token (the
/// old one is bound to the old certificate).
async fn watch_files(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut last = certbound_tls::material::stamps(&shared.config.credentials.files());
    let mut tick = tokio::time::interval(WATCH_INTERVAL);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => {}
        }
        let now = certbound_tls::material::stamps(&shared.config.credentials.files());
        if now == last {
            continue;
        }
        last = now;
        match shared.config.credentials.load().and_then(|tls| {
            let client = make_client(&tls, shared.config.connect_timeout)?;
            Ok((tls, client))
        }) {
            Ok((tls, client)) => {
                shared.tls.store(Arc::new(tls));
                shared.client.store(Arc::new(client));
                tracing::info!("client certificate reloaded");
                if let Err(e) = refresh_token(&shared).await {
                    tracing::warn!(error = %e, "cannot obtain a token for the new certificate");
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "certificate reload failed; keeping the previous certificate")
            }
        }
    }
}

/// A JSON body with the no-store headers of an OAuth response: the
/// sidecar's answers stand where the partner's would.
fn json_response(status: StatusCode, body: String) -> Response<Body> {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in certbound_oauth::error::NO_STORE_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    resp
}
