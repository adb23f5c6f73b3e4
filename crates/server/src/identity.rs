//! Who is on the other end of a connection: the certificate chain it presented
//! in the TLS handshake (proof of key possession already checked there), its
//! RFC 8705 thumbprint, the peer address and the listener. Computed once per
//! connection and shared by every request on it, with a small cache of the
//! last successful client authentication so kept-alive token requests skip
//! chain verification, the identity headers a gateway route sends upstream
//! (encoded once, not per request), and one slot in which whoever serves the
//! connection's requests (the gateway: the last token a route verified)
//! remembers a value of its own type by a key and a text.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use axum::http::HeaderValue;
use certbound_oauth::auth::Method;
use certbound_pki::CertDer;
use certbound_pki::forwarded::{HeaderFormat, encode, encode_rfc9440_chain};
use time::OffsetDateTime;

use std::any::Any;

/// The identity of one connection, inserted into every request's extensions.
#[derive(Debug)]
pub struct ClientIdentity {
    /// Leaf first; empty when no certificate was presented.
    pub chain: Vec<CertDer>,
    /// `x5t#S256` of the leaf.
    pub thumbprint: Option<String>,
    pub peer: SocketAddr,
    pub listener: Arc<str>,
    /// Where the chain came from.
    pub source: Source,
    /// Why a forwarded certificate header could not be read, when it could not.
    pub header_error: Option<String>,
    auth_cache: Mutex<Option<CachedAuth>>,
    /// The leaf's subject, parsed once for every audit record of the connection.
    subject: OnceLock<Option<String>>,
    /// The identity headers for an upstream, encoded on first use.
    upstream_headers: OnceLock<UpstreamHeaders>,
    /// What a request handler remembered on this connection (see [`Self::remember`]).
    remembered: Mutex<Option<Remembered>>,
}

/// The headers a gateway route sets for its upstream from a connection's
/// identity; `None` where there is nothing to send or the value is not a
/// valid header value.
#[derive(Debug)]
pub struct UpstreamHeaders {
    /// `X-Client-Cert-Subject`.
    pub subject: Option<HeaderValue>,
    /// `X-Client-Cert-Thumbprint`.
    pub thumbprint: Option<HeaderValue>,
    /// RFC 9440 `Client-Cert`: the leaf.
    pub client_cert: Option<HeaderValue>,
    /// RFC 9440 `Client-Cert-Chain`: every certificate, when there is more than the leaf.
    pub client_cert_chain: Option<HeaderValue>,
    /// The peer's IP address, for `X-Forwarded-For`.
    pub peer_ip: Option<HeaderValue>,
}

/// A value remembered on a connection under a key and a text.
struct Remembered {
    key: usize,
    text: Box<str>,
    value: Arc<dyn Any + Send + Sync>,
}

impl std::fmt::Debug for Remembered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remembered")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// Where a connection's certificate chain came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The TLS handshake with certbound itself (key possession verified here).
    Tls,
    /// A header set by a trusted proxy (key possession verified by the proxy).
    Header { name: String },
}

/// A client authentication that succeeded on this connection.
#[derive(Debug, Clone)]
struct CachedAuth {
    client_id: String,
    generation: crate::chain_cache::Generation,
    method: Method,
    valid_until: OffsetDateTime,
}

/// Shared handle put in request extensions.
#[derive(Debug, Clone)]
pub struct Connection(pub Arc<ClientIdentity>);

impl ClientIdentity {
    pub fn new(chain: Vec<CertDer>, peer: SocketAddr, listener: Arc<str>) -> Self {
        let thumbprint = chain.first().map(|leaf| certbound_pki::x5t_s256(leaf));
        Self {
            chain,
            thumbprint,
            peer,
            listener,
            source: Source::Tls,
            header_error: None,
            auth_cache: Mutex::new(None),
            subject: OnceLock::new(),
            upstream_headers: OnceLock::new(),
            remembered: Mutex::new(None),
        }
    }

    /// The identity a trusted proxy forwarded in `header` for one request.
    pub fn forwarded(
        chain: Result<Vec<CertDer>, String>,
        peer: SocketAddr,
        listener: Arc<str>,
        header: &str,
    ) -> Self {
        let (chain, header_error) = match chain {
            Ok(c) => (c, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let mut identity = Self::new(chain, peer, listener);
        identity.source = Source::Header {
            name: header.to_string(),
        };
        identity.header_error = header_error;
        identity
    }

    /// The leaf's thumbprint when the leaf came from certbound's own TLS handshake.
    pub fn tls_thumbprint(&self) -> Option<&str> {
        (self.source == Source::Tls)
            .then_some(self.thumbprint.as_deref())
            .flatten()
    }

    /// The subject of the leaf, for logs and audit records.
    pub fn subject(&self) -> Option<String> {
        self.subject
            .get_or_init(|| certbound_pki::inspect::subject_string(self.chain.first()?))
            .clone()
    }

    /// The identity headers for an upstream, encoded once per connection.
    pub fn upstream_headers(&self) -> &UpstreamHeaders {
        self.upstream_headers.get_or_init(|| {
            let value = |v: &str| HeaderValue::from_str(v).ok();
            let leaf = self.chain.first();
            UpstreamHeaders {
                subject: leaf.and(self.subject()).and_then(|s| value(&s)),
                thumbprint: leaf.and(self.thumbprint.as_deref()).and_then(value),
                client_cert: leaf
                    .and_then(|l| value(&encode(HeaderFormat::Rfc9440, std::slice::from_ref(l)))),
                client_cert_chain: (self.chain.len() > 1)
                    .then(|| value(&encode_rfc9440_chain(&self.chain)))
                    .flatten(),
                peer_ip: value(&self.peer.ip().to_string()),
            }
        })
    }

    /// The value remembered under `key` for `text`, if it is the last one
    /// remembered on this connection and of type `T` (the gateway: what
    /// route `key` made of the token `text`).
    pub fn remembered<T: Any + Send + Sync>(&self, key: usize, text: &str) -> Option<Arc<T>> {
        let guard = self.remembered.lock().ok()?;
        let last = guard.as_ref()?;
        if last.key != key || *last.text != *text {
            return None;
        }
        Arc::clone(&last.value).downcast::<T>().ok()
    }

    /// Remember `value` under `key` and `text` on this connection, in place
    /// of what was remembered before.
    pub fn remember<T: Any + Send + Sync>(&self, key: usize, text: &str, value: Arc<T>) {
        if let Ok(mut guard) = self.remembered.lock() {
            *guard = Some(Remembered {
                key,
                text: text.into(),
                value,
            });
        }
    }

    /// A cached authentication of `client_id` still good at `now` under
    /// `generation` (the client's compilation and the CRL set).
    pub fn cached_auth(
        &self,
        client_id: &str,
        generation: crate::chain_cache::Generation,
        now: OffsetDateTime,
    ) -> Option<Method> {
        let guard = self.auth_cache.lock().ok()?;
        let cached = guard.as_ref()?;
        (cached.client_id == client_id
            && cached.generation == generation
            && now <= cached.valid_until)
            .then_some(cached.method)
    }

    /// Remember a successful authentication until the leaf expires or the registry changes.
    pub fn remember_auth(
        &self,
        client_id: &str,
        generation: crate::chain_cache::Generation,
        method: Method,
    ) {
        let Some(valid_until) = self
            .chain
            .first()
            .and_then(|leaf| certbound_pki::inspect::not_after(leaf))
        else {
            return;
        };
        if let Ok(mut guard) = self.auth_cache.lock() {
            *guard = Some(CachedAuth {
                client_id: client_id.to_string(),
                generation,
                method,
                valid_until,
            });
        }
    }
}
