//! `bench-registry`: certbound with a large client registry (issue "Scale"):
//! how long it takes to start, what memory it holds, how fast it issues a
//! client's first token and the later ones, what a change of one client
//! costs every instance, and how soon a change made through one instance is
//! honoured by the other. `scripts/bench-registry.sh` runs it:
//!
//! ```text
//! scripts/bench-registry.sh                     # 100,000 clients, SQLite, one instance
//! scripts/bench-registry.sh --clients 1000000 --store postgres --instances 2
//! ```
//!
//! 1. N clients in 100 groups (one root CA and one client certificate each,
//!    see `certbound_bench::fleet`) are written straight into the store with
//!    `Store::create_clients`, 4096 per call.
//! 2. One or two `certbound serve` processes start on that store (two share
//!    one PostgreSQL database and one signing key, as the README's "Several
//!    instances" says); start-up runs from the spawn until the process
//!    reports its listener and answers a token request.
//! 3. Token requests over kept-alive mTLS connections (one per group,
//!    presenting the group's certificate), 4 in flight, for clients the
//!    instance has never been asked for ("cold"), then for the same clients
//!    again ("warm").
//! 4. For `--change-seconds`, `--changes-per-second` client changes, paced
//!    evenly, through instance A's admin API (`PUT /admin/ClientApplication`,
//!    a new scope, on clients both instances hold). Each instance's CPU over
//!    that window, less its CPU over an idle window as long just before,
//!    divided by the changes, is its CPU per change. Every tenth change is a
//!    probe: the client is turned `off` through A and asked for a token at B
//!    (at A with one instance) every 5 ms until it is refused; the delay from
//!    A's answer to the first refusal is the propagation delay. The client
//!    is turned `active` again in the next change slot
//!    (`certbound_bench::changes`).
//! 5. Each instance's RSS at the end.
//!
//! It is a program that prints figures, not a test: a target missed is
//! reported, and the exit code stays 0; a wrong answer (anything but a token
//! where a token is due, anything but 200 from the admin API), a server that
//! dies or does not start make it exit 1.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use tokio::task::JoinSet;

use certbound_bench::changes::{self, Admin, PROBE_LIMIT, PROBE_POLL, Plan};
use certbound_bench::fleet::{self, Fleet, Pool, SHOWN_WRONG, Wrong, client_id};
use certbound_bench::load::Measured;
use certbound_bench::procfs::{self, Procs};
use certbound_bench::program::{self, cores};
use certbound_bench::setup::{self, Pki, Server};

/// The issue's targets, the same for N = 1,000,000 on PostgreSQL with two
/// instances and for N = 100,000 on SQLite with one.
const TARGET_STARTUP: Duration = Duration::from_secs(5);
const TARGET_RSS_MIB: f64 = 512.0;
const TARGET_CHANGE_CPU_MS: f64 = 5.0;
const TARGET_PROPAGATION: Duration = Duration::from_secs(1);
const TARGET_COLD_P99_MS: f64 = 10.0;

/// Groups of clients: CAs, client certificates, and connections per server.
const GROUPS: usize = 100;
/// Token requests in flight.
const IN_FLIGHT: usize = 4;
/// The longest a run of token requests may last; clients not asked by then
/// are reported.
const TOKEN_RUN_LIMIT: Duration = Duration::from_secs(300);
/// The client whose token tells that an instance is ready (never sampled).
const READY_CLIENT: usize = 0;
/// How often a starting instance is asked for a token.
const READY_POLL: Duration = Duration::from_millis(20);
/// The seed of the sample of clients: every run asks for the same ones.
const SEED: u64 = 0x5eed_0fc1_1e77_5500;
/// The instances' names; their directories are the names in lower case.
const NAMES: [&str; 2] = ["A", "B"];
/// The admin API's section of each instance's config (the file is written
/// beside it).
const ADMIN_CONFIG: &str = "[admin]\ntoken_file = \"admin-token\"\n";
/// Where certbound keeps its signing key in its data directory (the
/// README's default `issuer.signing_key`); the second instance gets a copy.
const SIGNING_KEY: &str = "data/signing-key.pem";

#[derive(Debug, Parser)]
#[command(
    name = "bench-registry",
    about = "certbound with a large client registry: start-up, memory, cold and warm tokens, change cost and propagation"
)]
struct Args {
    /// Clients registered.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    clients: usize,
    /// The store the instances share.
    #[arg(long, value_enum, default_value_t = StoreKind::Sqlite)]
    store: StoreKind,
    /// certbound processes on the store (2 needs `--store postgres`).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    instances: u8,
    /// An empty PostgreSQL database to use, kept afterwards (default: a fresh
    /// database on the local cluster the tests use, dropped at the end).
    #[arg(long, value_name = "URL")]
    postgres_url: Option<String>,
    /// Client changes per second through instance A's admin API.
    #[arg(long, value_name = "R", default_value_t = 100.0)]
    changes_per_second: f64,
    /// Seconds of changes (and of the idle window measured before them).
    #[arg(long, value_name = "S", default_value_t = 10)]
    change_seconds: u64,
    /// Clients asked for a first ("cold") and then a second ("warm") token
    /// on each instance.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    cold_samples: usize,
    /// Seconds an instance may take to answer its first token request.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    start_timeout: u64,
    /// The certbound binary (default: `certbound` next to this program).
    #[arg(long, value_name = "PATH")]
    certbound: Option<PathBuf>,
    /// Keep the temporary directory (configs, logs, SQLite file) and print where it is.
    #[arg(long)]
    keep_dir: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum StoreKind {
    Sqlite,
    Postgres,
}

impl Args {
    fn check(&self) -> Result<()> {
        if self.instances == 2 && self.store != StoreKind::Postgres {
            bail!("--instances 2 needs --store postgres: SQLite serves one instance");
        }
        if self.postgres_url.is_some() && self.store != StoreKind::Postgres {
            bail!("--postgres-url needs --store postgres");
        }
        if self.clients < 3 {
            bail!("--clients must be at least 3");
        }
        if !(self.changes_per_second > 0.0 && self.changes_per_second <= 10_000.0) {
            bail!("--changes-per-second must be above 0 and at most 10000");
        }
        Ok(())
    }

    /// Cold samples: at least 2 (a probe's client and a changed one), and
    /// not more than the clients besides the readiness probe's.
    fn samples(&self) -> usize {
        self.cold_samples.clamp(2, self.clients - 1)
    }

    fn describe(&self) -> String {
        let store = match (self.store, &self.postgres_url) {
            (StoreKind::Sqlite, _) => "SQLite",
            (StoreKind::Postgres, None) => "PostgreSQL (a fresh database)",
            (StoreKind::Postgres, Some(_)) => "PostgreSQL (--postgres-url)",
        };
        format!(
            "{} clients in {GROUPS} groups on {store}, {} instance{}; {} cold samples, {IN_FLIGHT} in flight; {} changes/s for {} s",
            self.clients,
            self.instances,
            if self.instances == 1 { "" } else { "s" },
            self.samples(),
            self.changes_per_second,
            self.change_seconds.max(1),
        )
    }

    /// Which of the issue's configurations this run is, if either.
    fn configuration(&self) -> &'static str {
        match (self.clients, self.store, self.instances) {
            (1_000_000, StoreKind::Postgres, 2) => {
                "this run is the issue's PostgreSQL configuration"
            }
            (100_000, StoreKind::Sqlite, 1) => "this run is the issue's SQLite configuration",
            _ => "this run is neither: the targets are shown for comparison",
        }
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    program::main_with(cores(), run(args))
}

async fn run(args: Args) -> Result<()> {
    args.check()?;
    let dir = tempfile::Builder::new()
        .prefix("bench-registry-")
        .tempdir()
        .context("creating a temporary directory")?;
    println!("bench-registry: {}", args.describe());
    println!("load average before: {}", procfs::loadavg());
    let pki = Pki::new();
    let fleet = Arc::new(Fleet::new(&pki, GROUPS)?);
    // Declared before the instances, so it is dropped after they stop.
    let database = Database::prepare(&args, dir.path());
    let created = fill(&database.url, &fleet, args.clients).await?;
    println!(
        "bulk creation: {} clients in {:.1} s ({:.0}/s), {} per create_clients call",
        args.clients,
        created.as_secs_f64(),
        args.clients as f64 / created.as_secs_f64(),
        fleet::BULK_CHUNK
    );

    let setup = Setup {
        bin: program::certbound_binary(args.certbound.as_deref())?,
        dir: dir.path().to_path_buf(),
        store_url: database.url.clone(),
        fleet: fleet.clone(),
        admin_token: admin_token()?,
        start_timeout: Duration::from_secs(args.start_timeout.max(1)),
    };
    let mut instances = Vec::new();
    for name in NAMES.into_iter().take(usize::from(args.instances)) {
        let instance = Instance::start(&setup, &pki, name).await?;
        instance.print_start();
        instances.push(instance);
    }

    let wrong = Arc::new(Wrong::default());
    let samples = Arc::new(sample(args.clients, args.samples()));
    let mut tokens = Vec::new();
    for instance in &instances {
        tokens.push(token_runs(instance, &samples, &wrong).await);
    }
    let changes = change_phase(&instances, &setup, &samples, &args, &wrong).await?;
    let rss_end: Vec<u64> = instances.iter().map(|i| i.procs.rss_kib()).collect();
    for instance in &mut instances {
        instance.server.check_alive()?;
    }

    println!("load average after: {}", procfs::loadavg());
    report(&args, &instances, &tokens, &changes, &rss_end);
    if args.keep_dir {
        println!("\nfiles kept in {}", dir.keep().display());
    }
    match wrong.count() {
        0 => Ok(()),
        n => bail!("{n} wrong answers (the first {SHOWN_WRONG} are printed above)"),
    }
}

/// The store the run fills: an SQLite file in the run's directory, or a
/// PostgreSQL database, dropped when dropped if this run created it.
#[derive(Debug)]
struct Database {
    url: String,
    owned: bool,
}

impl Database {
    fn prepare(args: &Args, dir: &Path) -> Self {
        match (args.store, &args.postgres_url) {
            (StoreKind::Sqlite, _) => Self {
                url: format!("sqlite://{}", dir.join("registry.db").display()),
                owned: false,
            },
            (StoreKind::Postgres, Some(url)) => Self {
                url: url.clone(),
                owned: false,
            },
            // The tests' convention: the local cluster, started if need be,
            // a fresh database owned by the test role.
            (StoreKind::Postgres, None) => Self {
                url: certbound_testkit::postgres::database("bench_registry"),
                owned: true,
            },
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // Gigabytes at a million clients: give the space back.
        if self.owned && !std::thread::panicking() {
            certbound_testkit::postgres::drop_database(&self.url);
        }
    }
}

/// Register clients `0..n` in the store at `url`; how long it took.
async fn fill(url: &str, fleet: &Fleet, n: usize) -> Result<Duration> {
    let store = certbound_store::open(url)
        .await
        .context("opening the store")?;
    let took = fleet.create_clients(&*store, n).await;
    store.close().await;
    took
}

/// A random admin token (64 hex digits).
fn admin_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| anyhow::anyhow!("no random bytes"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// What every instance is started from.
#[derive(Debug)]
struct Setup {
    bin: PathBuf,
    dir: PathBuf,
    store_url: String,
    fleet: Arc<Fleet>,
    admin_token: String,
    start_timeout: Duration,
}

/// A running certbound and what its start measured.
#[derive(Debug)]
struct Instance {
    name: &'static str,
    server: Server,
    procs: Procs,
    pool: Arc<Pool>,
    /// From the spawn until it reported its listener.
    listening: Duration,
    /// From the spawn until it answered a token request.
    startup: Duration,
    rss_start_kib: u64,
}

impl Instance {
    /// Start instance `name` in its own directory (the second with a copy
    /// of the first one's signing key) and wait for its first token.
    async fn start(setup: &Setup, pki: &Pki, name: &'static str) -> Result<Self> {
        let dir = setup.dir.join(name.to_lowercase());
        std::fs::create_dir_all(dir.join("data")).context("creating a data directory")?;
        pki.write(&dir)?;
        certbound_testkit::write_private(&dir.join("admin-token"), &setup.admin_token);
        if name != NAMES[0] {
            let first = setup.dir.join(NAMES[0].to_lowercase()).join(SIGNING_KEY);
            std::fs::copy(&first, dir.join(SIGNING_KEY))
                .with_context(|| format!("copying {}", first.display()))?;
        }
        let spawned = Instant::now();
        let mut server = setup::spawn_certbound(
            &setup.bin,
            &dir,
            &setup.store_url,
            ADMIN_CONFIG,
            setup.start_timeout,
        )
        .with_context(|| format!("starting instance {name}"))?;
        let listening = spawned.elapsed();
        let pool = Arc::new(Pool::new(server.addr, setup.fleet.clone()));
        first_token(&pool, &mut server, spawned + setup.start_timeout)
            .await
            .with_context(|| format!("instance {name}"))?;
        let startup = spawned.elapsed();
        let procs = Procs::tree(server.pid());
        let rss_start_kib = procs.rss_kib();
        Ok(Self {
            name,
            server,
            procs,
            pool,
            listening,
            startup,
            rss_start_kib,
        })
    }

    fn print_start(&self) {
        println!(
            "instance {} on {}: listening {:.2} s after the spawn, first token after {:.2} s, RSS {:.1} MiB (log {})",
            self.name,
            self.server.addr,
            self.listening.as_secs_f64(),
            self.startup.as_secs_f64(),
            mib(self.rss_start_kib),
            self.server.log.display()
        );
    }
}

/// Ask for [`READY_CLIENT`]'s token until one comes, the server dies, or
/// `deadline` passes.
async fn first_token(pool: &Pool, server: &mut Server, deadline: Instant) -> Result<()> {
    let mut last = String::from("nothing");
    while Instant::now() < deadline {
        match pool.token(READY_CLIENT).await {
            Ok((answer, _)) if answer.is_token() => return Ok(()),
            Ok((answer, _)) => last = answer.describe(),
            Err(e) => last = format!("{e:#}"),
        }
        server.check_alive()?;
        tokio::time::sleep(READY_POLL).await;
    }
    bail!(
        "no token for {} by the deadline; the last answer: {last}; its log:\n{}",
        client_id(READY_CLIENT),
        setup::tail(&server.log)
    )
}

/// `count` distinct clients of `1..n` in random order, the same every run
/// ([`SEED`]); client 0 is [`READY_CLIENT`]'s.
fn sample(n: usize, count: usize) -> Vec<usize> {
    let mut ids: Vec<usize> = (1..n).collect();
    let count = count.min(ids.len());
    let mut state = SEED;
    for j in 0..count {
        // splitmix64: uniform enough for picking clients.
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let pick = j + (z % (ids.len() - j) as u64) as usize;
        ids.swap(j, pick);
    }
    ids.truncate(count);
    ids
}

/// The cold run, then the warm run over the same clients, on `instance`.
async fn token_runs(
    instance: &Instance,
    samples: &Arc<Vec<usize>>,
    wrong: &Arc<Wrong>,
) -> (Measured, Measured) {
    let cold = printed_token_run(instance, samples, wrong, "cold").await;
    let warm = printed_token_run(instance, samples, wrong, "warm").await;
    (cold, warm)
}

/// [`token_run`] on `instance`, its figures printed under `kind`.
async fn printed_token_run(
    instance: &Instance,
    samples: &Arc<Vec<usize>>,
    wrong: &Arc<Wrong>,
    kind: &str,
) -> Measured {
    let label = format!("{kind} tokens at {}", instance.name);
    let run = token_run(&instance.pool, samples, wrong, &label).await;
    println!(
        "{label}: {} answered in {:.2} s ({:.0}/s), p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} wrong",
        run.requests(),
        run.elapsed.as_secs_f64(),
        run.rate(),
        run.percentile_ms(50),
        run.percentile_ms(99),
        run.max_ms(),
        run.errors
    );
    run
}

/// A token for each of `ids`, [`IN_FLIGHT`] at a time; the latencies of the
/// tokens, and as errors every other answer (each recorded in `wrong`).
async fn token_run(
    pool: &Arc<Pool>,
    ids: &Arc<Vec<usize>>,
    wrong: &Arc<Wrong>,
    label: &str,
) -> Measured {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + TOKEN_RUN_LIMIT;
    let mut workers = JoinSet::new();
    for _ in 0..IN_FLIGHT {
        let (pool, ids, wrong, next) = (pool.clone(), ids.clone(), wrong.clone(), next.clone());
        let label = label.to_owned();
        workers
            .spawn(async move { ask_in_turn(&pool, &ids, &next, deadline, &wrong, &label).await });
    }
    let mut measured = Measured {
        elapsed: Duration::ZERO,
        latencies_us: Vec::new(),
        errors: 0,
        first_error: None,
    };
    while let Some(done) = workers.join_next().await {
        match done {
            Ok((latencies, errors)) => {
                measured.latencies_us.extend(latencies);
                measured.errors += errors;
            }
            Err(e) => wrong.record(label, format!("a worker failed: {e}")),
        }
    }
    measured.elapsed = started.elapsed();
    measured.latencies_us.sort_unstable();
    let asked = measured.requests() + measured.errors as usize;
    if asked < ids.len() {
        println!(
            "{label}: {} clients not asked: the run reached its limit of {} s",
            ids.len() - asked,
            TOKEN_RUN_LIMIT.as_secs()
        );
    }
    measured
}

/// One worker of [`token_run`]: the next client of `ids` until none is
/// left or `deadline` passes; its latencies (µs) and errors.
async fn ask_in_turn(
    pool: &Pool,
    ids: &[usize],
    next: &AtomicUsize,
    deadline: Instant,
    wrong: &Wrong,
    label: &str,
) -> (Vec<u32>, u64) {
    let (mut latencies, mut errors) = (Vec::new(), 0);
    while Instant::now() < deadline {
        let Some(&i) = ids.get(next.fetch_add(1, Ordering::Relaxed)) else {
            break;
        };
        match pool.token(i).await {
            Ok((answer, took)) if answer.is_token() => {
                latencies.push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
            }
            Ok((answer, _)) => {
                errors += 1;
                wrong.record(label, format!("{}: {}", client_id(i), answer.describe()));
            }
            Err(e) => {
                errors += 1;
                wrong.record(label, format!("{e:#}"));
            }
        }
    }
    (latencies, errors)
}

/// What the change window measured.
#[derive(Debug)]
struct Changes {
    /// Changes planned (rate × seconds) and made (admin PUTs sent).
    planned: u64,
    made: u64,
    elapsed: Duration,
    /// Per instance, ms of CPU per change above its idle rate.
    cpu_per_change_ms: Vec<f64>,
    /// Per instance, CPU seconds over the idle window.
    idle_cpu: Vec<f64>,
    probes: changes::Probes,
    /// The instance the probes asked.
    watcher: &'static str,
}

/// The idle window, then the change window; the CPU per change of each
/// instance and the probes' delays.
async fn change_phase(
    instances: &[Instance],
    setup: &Setup,
    samples: &[usize],
    args: &Args,
    wrong: &Arc<Wrong>,
) -> Result<Changes> {
    let (Some(a), Some(watcher)) = (instances.first(), instances.last()) else {
        bail!("no instance to change clients through");
    };
    let window = Duration::from_secs(args.change_seconds.max(1));
    let cpu = || -> Vec<f64> { instances.iter().map(|i| i.procs.cpu_seconds()).collect() };

    println!("idle window: {} s", window.as_secs());
    let before = cpu();
    tokio::time::sleep(window).await;
    let idle_cpu: Vec<f64> = cpu()
        .iter()
        .zip(&before)
        .map(|(now, then)| now - then)
        .collect();

    // Probes turn off clients of the first half of the sample; changes
    // go round the second half. Both instances hold all of them now.
    let (probe_ids, change_ids) = samples.split_at(samples.len() / 2);
    let plan = Plan {
        rate: args.changes_per_second,
        window,
        probe_ids: probe_ids.to_vec(),
        change_ids: change_ids.to_vec(),
    };
    println!(
        "change window: {} s, {} changes/s through {}, probes watched at {}",
        window.as_secs(),
        plan.rate,
        a.name,
        watcher.name
    );
    let open_admin = || Admin::open(a.pool.clone(), setup.fleet.clone(), &setup.admin_token);
    let (admin, probe_admin) = (open_admin().await?, open_admin().await?);
    let before = cpu();
    let started = Instant::now();
    let (made, probes) =
        changes::run(admin, probe_admin, watcher.pool.clone(), &plan, wrong).await?;
    let elapsed = started.elapsed();
    let busy: Vec<f64> = cpu()
        .iter()
        .zip(&before)
        .map(|(now, then)| now - then)
        .collect();
    let scale = elapsed.as_secs_f64() / window.as_secs_f64();
    let cpu_per_change_ms = busy
        .iter()
        .zip(&idle_cpu)
        .map(|(busy, idle)| (busy - idle * scale) * 1000.0 / made as f64)
        .collect();
    Ok(Changes {
        planned: plan.planned(),
        made,
        elapsed,
        cpu_per_change_ms,
        idle_cpu,
        probes,
        watcher: watcher.name,
    })
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "missed" }
}

/// One line of the table: a figure for each instance (or one for the run),
/// the target and whether every instance met it.
fn row(label: &str, values: &[String], target: &str, met: Option<bool>) {
    let values: Vec<String> = values.iter().map(|v| format!(" {v:>22}")).collect();
    println!(
        "{label:<34}{} {target:>14}  {}",
        values.join(""),
        met.map_or("", verdict)
    );
}

/// `p50 / p99 / max` of `m`, in ms.
fn spread(m: &Measured) -> String {
    format!(
        "{:.2} / {:.2} / {:.2}",
        m.percentile_ms(50),
        m.percentile_ms(99),
        m.max_ms()
    )
}

/// The figures, each beside its target.
fn report(
    args: &Args,
    instances: &[Instance],
    tokens: &[(Measured, Measured)],
    changes: &Changes,
    rss_end: &[u64],
) {
    println!();
    println!(
        "targets: N = 1,000,000 on PostgreSQL with two instances, N = 100,000 on SQLite with one; {}",
        args.configuration()
    );
    let names: Vec<String> = instances
        .iter()
        .map(|i| format!("instance {}", i.name))
        .collect();
    row("figure", &names, "target", None);
    let secs = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    let rss = |kib: &u64| format!("{:.1} MiB", mib(*kib));
    let rss_met = |kib: &u64| mib(*kib) < TARGET_RSS_MIB;
    let (cold, warm): (Vec<&Measured>, Vec<&Measured>) = tokens.iter().map(|(c, w)| (c, w)).unzip();
    let rss_start: Vec<u64> = instances.iter().map(|i| i.rss_start_kib).collect();

    row(
        "start-up (spawn to first token)",
        &instances
            .iter()
            .map(|i| secs(i.startup))
            .collect::<Vec<_>>(),
        "< 5 s",
        Some(instances.iter().all(|i| i.startup < TARGET_STARTUP)),
    );
    row(
        "  spawn to listening",
        &instances
            .iter()
            .map(|i| secs(i.listening))
            .collect::<Vec<_>>(),
        "",
        None,
    );
    row(
        "RSS after start",
        &rss_start.iter().map(rss).collect::<Vec<_>>(),
        "< 512 MiB",
        Some(rss_start.iter().all(rss_met)),
    );
    row(
        "cold token p50 / p99 / max ms",
        &cold.iter().map(|m| spread(m)).collect::<Vec<_>>(),
        "p99 < 10 ms",
        Some(
            cold.iter()
                .all(|m| m.percentile_ms(99) < TARGET_COLD_P99_MS),
        ),
    );
    row(
        "  cold tokens/s",
        &cold
            .iter()
            .map(|m| format!("{:.0}", m.rate()))
            .collect::<Vec<_>>(),
        "",
        None,
    );
    row(
        "warm token p50 / p99 / max ms",
        &warm.iter().map(|m| spread(m)).collect::<Vec<_>>(),
        "",
        None,
    );
    row(
        "  warm tokens/s",
        &warm
            .iter()
            .map(|m| format!("{:.0}", m.rate()))
            .collect::<Vec<_>>(),
        "",
        None,
    );
    let cpu = &changes.cpu_per_change_ms;
    row(
        "CPU per change",
        &cpu.iter()
            .map(|ms| format!("{ms:.3} ms"))
            .collect::<Vec<_>>(),
        "< 5 ms",
        Some(cpu.iter().all(|ms| *ms < TARGET_CHANGE_CPU_MS)),
    );
    report_propagation(changes);
    row(
        "RSS at the end",
        &rss_end.iter().map(rss).collect::<Vec<_>>(),
        "< 512 MiB",
        Some(rss_end.iter().all(rss_met)),
    );
    report_changes(instances, changes);
}

fn report_propagation(changes: &Changes) {
    let probes = &changes.probes;
    let ms = |q: usize| {
        let d = &probes.delays;
        d.get((d.len() * q / 100).min(d.len().saturating_sub(1)))
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    let max = probes.delays.last().copied();
    row(
        &format!("propagation to {} p50/p99/max ms", changes.watcher),
        &[format!("{:.1} / {:.1} / {:.1}", ms(50), ms(99), ms(100))],
        "< 1 s",
        Some(probes.unpropagated == 0 && max.is_some_and(|m| m < TARGET_PROPAGATION)),
    );
}

fn report_changes(instances: &[Instance], changes: &Changes) {
    println!();
    println!(
        "changes: {} made of {} planned in {:.1} s ({:.0}/s); {} probes answered, {} not refused within {} s",
        changes.made,
        changes.planned,
        changes.elapsed.as_secs_f64(),
        changes.made as f64 / changes.elapsed.as_secs_f64(),
        changes.probes.delays.len(),
        changes.probes.unpropagated,
        PROBE_LIMIT.as_secs()
    );
    for (instance, idle) in instances.iter().zip(&changes.idle_cpu) {
        println!("idle CPU of {}: {idle:.2} s", instance.name);
    }
    println!(
        "CPU per change counts everything the instance did in the window less its idle rate: \
         on A the admin requests too, on {} the probes' token requests (one every {} ms while a probe waits)",
        changes.watcher,
        PROBE_POLL.as_millis()
    );
}
