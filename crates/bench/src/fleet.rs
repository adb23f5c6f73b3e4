//! The many clients of the registry benchmark (`bench-registry`): a group of
//! clients per CA, each group with one client certificate, and the
//! connections that present them.
//!
//! Group `k` has its own root CA and one client certificate that CA issued,
//! with the DNS SAN `g{k}.bench.example`. Client `c{i}` belongs to group
//! `i % K`: its trust store is that CA and it is constrained to that SAN, so
//! the certificate of its group authenticates it and no other's does. The
//! clients are written straight into the store, in bulk, before any server
//! starts; a server then meets each of them for the first time when it is
//! asked for a token for it. Answers that are not what was due are counted
//! and shown by [`Wrong`].

use std::fmt::Display;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use certbound_oauth::client::{ClientApplication, RESOURCE_TYPE};
use certbound_store::{NewClient, Store};
use certbound_testkit::{Ca, LeafOptions};
use tokio::sync::Mutex;
use tokio_rustls::TlsConnector;

use crate::conn::{self, Answer, Connection};
use crate::load::{self, Groups};
use crate::setup::Pki;

/// Clients created by one call of [`Store::create_clients`]: one INSERT on
/// PostgreSQL, a few on SQLite, and one commit either way.
pub const BULK_CHUNK: usize = 4096;

/// The scope every client is registered with.
pub const INITIAL_SCOPE: &str = "bench.read";

/// `status` of a client that may authenticate, and of one that may not.
pub const ACTIVE: &str = "active";
pub const OFF: &str = "off";

/// The id of client `i`.
pub fn client_id(i: usize) -> String {
    format!("c{i}")
}

/// One CA's clients: the PEM their trust store holds, and a connector that
/// presents the group's client certificate.
struct Group {
    ca_pem: String,
    connector: TlsConnector,
}

/// The CAs, their client certificates, and the clients' documents.
pub struct Fleet {
    groups: Vec<Group>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("groups", &self.groups.len())
            .finish_non_exhaustive()
    }
}

impl Fleet {
    /// `groups` root CAs (at least one), each with a client certificate for
    /// `g{k}.bench.example`; the connectors trust `pki`'s CA, which issued
    /// the servers' certificate.
    pub fn new(pki: &Pki, groups: usize) -> Result<Self> {
        let groups = (0..groups.max(1))
            .map(|k| {
                let ca = Ca::root(&format!("bench registry CA {k}"), "certbound bench");
                let san = format!("g{k}.bench.example");
                let leaf = ca.issue(&LeafOptions::client(&san).dns(&[&san]).around_now());
                Ok(Group {
                    ca_pem: ca.cert_pem(),
                    connector: load::connector_for(pki, &leaf, Groups::Default)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self { groups })
    }

    /// How many groups (CAs) there are.
    pub fn groups(&self) -> usize {
        self.groups.len()
    }

    /// The group client `i` belongs to.
    pub fn group_of(&self, i: usize) -> usize {
        i % self.groups.len()
    }

    /// Client `i`'s `ClientApplication` document with `scope` and, when
    /// given, `status`.
    pub fn document(
        &self,
        i: usize,
        scope: &str,
        status: Option<&str>,
    ) -> Result<serde_json::Value> {
        let k = self.group_of(i);
        let client = ClientApplication {
            resource_type: RESOURCE_TYPE.into(),
            id: Some(client_id(i)),
            name: format!("bench client {i}"),
            certificate_trust_store: Some(self.groups[k].ca_pem.clone()),
            tls_client_auth_san_dns: Some(format!("g{k}.bench.example")),
            scope: Some(scope.to_owned()),
            status: status.map(str::to_owned),
            ..ClientApplication::default()
        };
        serde_json::to_value(&client).context("serializing a client")
    }

    /// Register clients `0..n` through `store`, [`BULK_CHUNK`] per call, with
    /// [`INITIAL_SCOPE`]; how long it took.
    pub async fn create_clients(&self, store: &dyn Store, n: usize) -> Result<Duration> {
        let started = Instant::now();
        for first in (0..n).step_by(BULK_CHUNK) {
            let clients = (first..(first + BULK_CHUNK).min(n))
                .map(|i| {
                    Ok(NewClient {
                        id: client_id(i),
                        name: format!("bench client {i}"),
                        document: self.document(i, INITIAL_SCOPE, None)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            store
                .create_clients(&clients)
                .await
                .with_context(|| format!("creating clients c{first} and on"))?;
        }
        Ok(started.elapsed())
    }
}

/// Kept-alive connections to one server, one per group, each presenting
/// its group's certificate, opened when first needed (and again when the
/// server closed it). A request waits while another uses its group's
/// connection.
pub struct Pool {
    addr: SocketAddr,
    fleet: Arc<Fleet>,
    slots: Vec<Mutex<Option<Connection>>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Pool {
    pub fn new(addr: SocketAddr, fleet: Arc<Fleet>) -> Self {
        let slots = (0..fleet.groups()).map(|_| Mutex::new(None)).collect();
        Self { addr, fleet, slots }
    }

    /// Ask for a token for client `i` on its group's connection: the answer
    /// and how long the server took to give it (opening the connection is
    /// not counted). A connection that fails is dropped, to be opened again.
    pub async fn token(&self, i: usize) -> Result<(Answer, Duration)> {
        let k = self.fleet.group_of(i);
        let mut slot = self.slots[k].lock().await;
        let conn = match &mut *slot {
            Some(conn) if !conn.is_closed() => conn,
            _ => slot.insert(
                Connection::open(self.addr, &self.fleet.groups[k].connector)
                    .await
                    .with_context(|| format!("connecting to {} as group {k}", self.addr))?,
            ),
        };
        let request = conn::token_request(&client_id(i))?;
        let sent = Instant::now();
        match conn.send(request).await {
            Ok(answer) => Ok((answer, sent.elapsed())),
            Err(e) => {
                *slot = None;
                Err(e.context(format!("token request for {}", client_id(i))))
            }
        }
    }

    /// A connection of its own, presenting group 0's certificate (for the
    /// admin API, which authenticates by bearer token).
    pub async fn open_connection(&self) -> Result<Connection> {
        Connection::open(self.addr, &self.fleet.groups[0].connector).await
    }
}

/// Wrong answers printed by [`Wrong::record`]; all are counted.
pub const SHOWN_WRONG: u64 = 10;

/// Wrong answers: counted, and the first [`SHOWN_WRONG`] printed as they come.
#[derive(Debug, Default)]
pub struct Wrong {
    count: AtomicU64,
}

impl Wrong {
    /// One more, met `during` something.
    pub fn record(&self, during: &str, what: impl Display) {
        let n = self.count.fetch_add(1, Ordering::Relaxed);
        if n < SHOWN_WRONG {
            eprintln!("wrong answer ({during}): {what}");
        } else if n == SHOWN_WRONG {
            eprintln!("(further wrong answers are counted, not printed)");
        }
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}
