//! Client changes at a steady rate through one instance's admin API, and
//! probes that time how soon a change is honoured (`bench-registry`).
//!
//! The changes are paced evenly, one per slot. Every [`PROBE_EVERY`]th slot
//! hands a client to the probe task instead: it turns the client `off`
//! through the admin API, then asks the watching instance for the client's
//! token every [`PROBE_POLL`] until it is refused with `invalid_client`, and
//! turns the client `active` again (in the next slot, which the pacer leaves
//! free). Probes and changes use different clients, so no change ever meets
//! another one's: an admin answer other than 200 is a wrong answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hyper::Method;
use hyper::header::{AUTHORIZATION, HeaderValue};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::conn::{self, Connection};
use crate::fleet::{ACTIVE, Fleet, INITIAL_SCOPE, OFF, Pool, Wrong, client_id};

/// Every how many change slots a probe takes one (and the next, for
/// turning its client active again).
pub const PROBE_EVERY: u64 = 10;
/// How often a probe asks the watching instance for a token.
pub const PROBE_POLL: Duration = Duration::from_millis(5);
/// How long a probe waits for its change to arrive.
pub const PROBE_LIMIT: Duration = Duration::from_secs(10);

/// An instance's admin API, on a connection of its own (opened again when
/// the server closed it).
#[derive(Debug)]
pub struct Admin {
    pool: Arc<Pool>,
    fleet: Arc<Fleet>,
    conn: Option<Connection>,
    auth: HeaderValue,
}

impl Admin {
    /// The admin API of the server `pool` connects to, with `token`; the
    /// connection is opened now, so that its handshake is not a change's.
    pub async fn open(pool: Arc<Pool>, fleet: Arc<Fleet>, token: &str) -> Result<Self> {
        let auth = HeaderValue::from_str(&format!("Bearer {token}"))
            .context("the admin token as a header")?;
        let conn = pool
            .open_connection()
            .await
            .context("connecting to the admin API")?;
        Ok(Self {
            pool,
            fleet,
            conn: Some(conn),
            auth,
        })
    }

    /// Replace client `i`'s document with one of `scope` and `status`;
    /// anything but 200 is an error.
    pub async fn put(&mut self, i: usize, scope: &str, status: Option<&str>) -> Result<()> {
        let body = serde_json::to_vec(&self.fleet.document(i, scope, status)?)?;
        let request = conn::request(
            Method::PUT,
            &format!("/admin/ClientApplication/{}", client_id(i)),
            "application/json",
            &[(AUTHORIZATION, self.auth.clone())],
            body,
        )?;
        let mut conn = match self.conn.take() {
            Some(conn) if !conn.is_closed() => conn,
            _ => self.pool.open_connection().await?,
        };
        let answer = conn.send(request).await?;
        self.conn = Some(conn);
        if answer.status != 200 {
            bail!("PUT {}: {}", client_id(i), answer.describe());
        }
        Ok(())
    }
}

/// The changes to make: `rate` per second for `window`, probes on
/// `probe_ids` and scope changes on `change_ids` (each taken in turn, round
/// and round; neither may be empty).
#[derive(Debug)]
pub struct Plan {
    pub rate: f64,
    pub window: Duration,
    pub probe_ids: Vec<usize>,
    pub change_ids: Vec<usize>,
}

impl Plan {
    /// The slots: rate × window.
    pub fn planned(&self) -> u64 {
        (self.rate * self.window.as_secs_f64()).round().max(1.0) as u64
    }

    /// When slot `j` is due.
    fn due(&self, start: tokio::time::Instant, j: u64) -> tokio::time::Instant {
        start + Duration::from_secs_f64(j as f64 / self.rate)
    }
}

/// What the probes saw.
#[derive(Debug, Default)]
pub struct Probes {
    /// Admin PUTs sent (two per probe).
    pub puts: u64,
    /// From the admin API's answer to the first refusal at the watcher, sorted.
    pub delays: Vec<Duration>,
    /// Probes whose client was still served after [`PROBE_LIMIT`].
    pub unpropagated: u64,
}

/// Make the changes of `plan` through `admin` (and the probes through
/// `probe_admin`, another connection to the same server), probes watched at
/// `watcher`. A probe slot while the previous probe is still under way
/// changes a scope instead. Stops at twice the window plus 10 s however far
/// behind it is. The changes made (admin PUTs sent, the probes' included),
/// and what the probes saw; wrong answers go to `wrong`.
pub async fn run(
    mut admin: Admin,
    probe_admin: Admin,
    watcher: Arc<Pool>,
    plan: &Plan,
    wrong: &Arc<Wrong>,
) -> Result<(u64, Probes)> {
    // One probe at a time: its permit goes with its client.
    let probe_idle = Arc::new(Semaphore::new(1));
    let (probe_tx, probe_rx) = mpsc::unbounded_channel();
    let probe_task = tokio::spawn(probe_loop(probe_admin, watcher, probe_rx, wrong.clone()));
    let start = tokio::time::Instant::now();
    let stop = start + plan.window * 2 + Duration::from_secs(10);
    let mut probe_ids = plan.probe_ids.iter().cycle();
    let mut change_ids = plan.change_ids.iter().cycle();
    let (mut made, mut probe_slot) = (0, false);
    for j in 0..plan.planned() {
        if tokio::time::Instant::now() >= stop {
            break;
        }
        tokio::time::sleep_until(plan.due(start, j)).await;
        if std::mem::take(&mut probe_slot) {
            continue; // The probe turns its client active again.
        }
        if j % PROBE_EVERY == 0 {
            if let (Ok(permit), Some(&i)) =
                (probe_idle.clone().try_acquire_owned(), probe_ids.next())
            {
                probe_slot = probe_tx.send((i, permit)).is_ok();
                if probe_slot {
                    continue;
                }
            }
        }
        let Some(&i) = change_ids.next() else { break };
        made += 1;
        let scope = format!("{INITIAL_SCOPE} bench.v{j}");
        if let Err(e) = admin.put(i, &scope, None).await {
            wrong.record("change", format!("{e:#}"));
        }
    }
    drop(probe_tx);
    let probes = probe_task.await.context("the probe task")?;
    Ok((made + probes.puts, probes))
}

/// Probe each client received: turn it off through `admin`, time how long
/// until `watcher` refuses it, turn it active again, and give the permit
/// back.
async fn probe_loop(
    mut admin: Admin,
    watcher: Arc<Pool>,
    mut clients: mpsc::UnboundedReceiver<(usize, OwnedSemaphorePermit)>,
    wrong: Arc<Wrong>,
) -> Probes {
    let mut probes = Probes::default();
    while let Some((i, _permit)) = clients.recv().await {
        probes.puts += 1;
        if let Err(e) = admin.put(i, INITIAL_SCOPE, Some(OFF)).await {
            wrong.record("probe", format!("{e:#}"));
            continue;
        }
        match refusal_delay(&watcher, i).await {
            Ok(Some(delay)) => probes.delays.push(delay),
            Ok(None) => probes.unpropagated += 1,
            Err(e) => wrong.record("probe", format!("{e:#}")),
        }
        probes.puts += 1;
        if let Err(e) = admin.put(i, INITIAL_SCOPE, Some(ACTIVE)).await {
            wrong.record("probe", format!("{e:#}"));
        }
    }
    probes.delays.sort_unstable();
    probes
}

/// Ask `watcher` for client `i`'s token every [`PROBE_POLL`] until it is
/// refused (`invalid_client`): how long that took from now; `None` when it
/// was still served after [`PROBE_LIMIT`]. Any other answer is an error.
async fn refusal_delay(watcher: &Pool, i: usize) -> Result<Option<Duration>> {
    let changed = Instant::now();
    let mut ticks = tokio::time::interval(PROBE_POLL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while changed.elapsed() < PROBE_LIMIT {
        ticks.tick().await;
        let (answer, _) = watcher.token(i).await?;
        if answer.is_invalid_client() {
            return Ok(Some(changed.elapsed()));
        }
        if !answer.is_token() {
            bail!("{} while off: {}", client_id(i), answer.describe());
        }
    }
    Ok(None)
}
