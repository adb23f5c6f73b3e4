//! `bench-token`: how fast certbound issues certificate-bound tokens, next to
//! what nginx costs for the mTLS handshake alone, on the same machine in the
//! same run (issue 4's benchmark; `scripts/bench-token.sh` runs it).
//!
//! A figure on its own says little about a TLS server: the machine, the
//! client and the key exchange move it more than the server does. So one
//! program starts both servers as child processes with the same certificates,
//! drives both with the same client, interleaves their runs so background
//! noise falls on both, and reads each server's CPU time and memory from
//! /proc. It prints requests/s and latency, and server CPU per request, the
//! figure that does not depend on how much of the machine the load generator
//! took. It is a program that prints figures, not a timed test: it asserts
//! nothing beyond the correctness of every answer.
//!
//! With `--private-key-jwt`, a second client authenticates by a signed client
//! assertion (RFC 7523) instead of its certificate, on the same certbound
//! process and the same mTLS connections: `certbound+jwt`, measured next to
//! `certbound` (tls_client_auth) in the same rounds.

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;

use certbound_bench::assertion::{self, JWT_CLIENT_ID, Signer};
use certbound_bench::load::{self, Expect, Groups, Measured, Negotiated, Target};
use certbound_bench::procfs::{self, Procs, RssSampler};
use certbound_bench::program::{self, cores};
use certbound_bench::setup::{self, Pki, Server};
use certbound_bench::signing::{self, Floor};

/// The targets (issue 4's, raised by issue 20, "Scale"): new-connection
/// tokens at this many times nginx's handshake-only rate, at most this share
/// of its server CPU per request, and this many kept-alive tokens/s.
const TARGET_NEW_CONN_RATIO: f64 = 1.7;
const TARGET_NEW_CONN_CPU_RATIO: f64 = 0.5;
const TARGET_KEPT_ALIVE_RATE: f64 = 55_000.0;
const TARGET_RSS_MIB: f64 = 64.0;
/// Issue 13's target: new-connection tokens with a large CRL cost at most this much more.
const TARGET_CRL_OVERHEAD: f64 = 0.10;
/// How long a server may take to answer its first request once listening.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long signing alone is measured.
const SIGNING_RUN: Duration = Duration::from_secs(1);
/// Client assertions signed for a run: the rate expected times this, times
/// the duration (a pool that runs out ends the run early, and says so).
const POOL_MARGIN: f64 = 1.5;
/// With no figure to go by yet, a trial run (not measured) of this long and
/// at most this many assertions tells the rate to expect.
const TRIAL_RUN: Duration = Duration::from_secs(1);
const TRIAL_ASSERTIONS: usize = 2_000;
/// The longest run with `--private-key-jwt`: its assertions, signed before
/// the run, must not expire during it.
const MAX_JWT_RUN_SECS: f64 = (assertion::LIFETIME_SECS - 40) as f64;

#[derive(Debug, Parser)]
#[command(
    name = "bench-token",
    about = "Drive certbound's token endpoint and an nginx mTLS endpoint with the same load; print the figures"
)]
struct Args {
    /// Seconds each run lasts.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    duration: f64,
    /// Concurrent workers (new-connection runs) and connections (kept-alive runs).
    #[arg(long, value_name = "N", default_value_t = 32)]
    concurrency: usize,
    /// Connections of the memory run.
    #[arg(long, value_name = "N", default_value_t = 256)]
    rss_connections: usize,
    /// Threads of the load generator's runtime (default: the number of cores).
    #[arg(long, value_name = "N")]
    client_threads: Option<usize>,
    /// Key-exchange groups the client offers.
    #[arg(long, value_enum, default_value_t = Groups::Default)]
    groups: Groups,
    /// Which runs to do.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "new,kept-alive,rss"
    )]
    runs: Vec<RunKind>,
    /// Leave nginx out (to profile certbound alone).
    #[arg(long)]
    no_nginx: bool,
    /// Also run a second certbound with `[revocation] crl_files`: a CRL of the
    /// client's CA listing this many serials (not the client's), side by side.
    #[arg(long, value_name = "N", default_value_t = 0)]
    crl_serials: usize,
    /// Also measure `private_key_jwt` (RFC 7523): a second client with an
    /// inline ES384 JWKS, on the same certbound process and the same mTLS
    /// connections, each request carrying an assertion with a fresh `jti`
    /// (signed before each run); next to the certificate-authenticated
    /// client in the new-connection and kept-alive runs.
    #[arg(long)]
    private_key_jwt: bool,
    /// Interleaved rounds of every run (the CRL comparison reports each
    /// round's and the median).
    #[arg(long, value_name = "N", default_value_t = 1)]
    rounds: usize,
    /// The certbound binary (default: `certbound` next to this program).
    #[arg(long, value_name = "PATH")]
    certbound: Option<PathBuf>,
    /// The nginx binary (default: `nginx` in PATH, else /usr/sbin/nginx).
    #[arg(long, value_name = "PATH")]
    nginx: Option<PathBuf>,
    /// Keep the temporary directory (configs, logs, database) and print where it is.
    #[arg(long)]
    keep_dir: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum RunKind {
    /// A new connection and full mTLS handshake per request.
    New,
    /// `--concurrency` kept-alive connections.
    KeptAlive,
    /// `--rss-connections` kept-alive connections, sampling the server's RSS.
    Rss,
}

impl RunKind {
    fn label(self) -> &'static str {
        match self {
            RunKind::New => "new connection/request",
            RunKind::KeptAlive => "kept-alive",
            RunKind::Rss => "kept-alive (memory)",
        }
    }
}

/// One server, or one way of asking it, under test.
struct Subject {
    name: &'static str,
    addr: SocketAddr,
    pid: u32,
    procs: Procs,
    target: Target,
    negotiated: Negotiated,
    /// Signs the requests of a `private_key_jwt` subject, before each run.
    signer: Option<Signer>,
}

impl Subject {
    fn new(server: &Server, target: Target, negotiated: Negotiated) -> Self {
        Self {
            name: server.name,
            addr: server.addr,
            pid: server.pid(),
            // nginx's workers exist once it answers.
            procs: Procs::tree(server.pid()),
            target,
            negotiated,
            signer: None,
        }
    }
}

/// The client assertions of a `private_key_jwt` run.
#[derive(Debug)]
struct PoolUse {
    /// The tokens/s the pool was sized for, and whether a trial run told it.
    sized_for: f64,
    trial: bool,
    signed: usize,
    used: usize,
    exhausted: bool,
    sign_seconds: f64,
    sign_cpu_us_each: f64,
}

/// One run's figures.
#[derive(Debug)]
struct Row {
    kind: RunKind,
    server: &'static str,
    connections: usize,
    measured: Measured,
    server_cpu: f64,
    client_cpu: f64,
    max_rss_kib: u64,
    assertions: Option<PoolUse>,
}

impl Row {
    fn cpu_us_per_request(&self) -> f64 {
        self.server_cpu * 1e6 / self.measured.requests().max(1) as f64
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let threads = args.client_threads.unwrap_or_else(cores);
    program::main_with(threads, run(args, threads))
}

async fn run(args: Args, threads: usize) -> Result<()> {
    let duration = Duration::from_secs_f64(args.duration.max(0.1));
    if args.private_key_jwt && duration.as_secs_f64() > MAX_JWT_RUN_SECS {
        anyhow::bail!(
            "--private-key-jwt runs last at most {MAX_JWT_RUN_SECS} s (their assertions, signed \
             before the run, expire {} s after)",
            assertion::LIFETIME_SECS
        );
    }
    // Before any server starts, while the machine is quiet.
    let floor = if args.runs.contains(&RunKind::KeptAlive) {
        Some(signing::measure(SIGNING_RUN)?)
    } else {
        None
    };
    let dir = tempfile::Builder::new()
        .prefix("bench-token-")
        .tempdir()
        .context("creating a temporary directory")?;
    let pki = Pki::new();
    pki.write(dir.path())?;
    let connector = load::connector(&pki, args.groups)?;

    let certbound_bin = program::certbound_binary(args.certbound.as_deref())?;
    let mut servers = Vec::new();
    let mut subjects = Vec::new();
    let signer = if args.private_key_jwt {
        let signer = Signer::generate()?;
        setup::register_jwt_client(dir.path(), JWT_CLIENT_ID, signer.jwks()).await?;
        Some(signer)
    } else {
        None
    };
    let mut server = setup::start_certbound(&certbound_bin, dir.path(), &pki, "").await?;
    let target = Target::new(server.addr, Expect::Token, connector.clone());
    let negotiated = load::wait_ready(&target, READY_TIMEOUT, || server.check_alive())
        .await
        .context("certbound's token endpoint")?
        .0;
    subjects.push(Subject::new(&server, target, negotiated));
    if let Some(signer) = signer {
        // The same process and connections; only the client and how it
        // authenticates differ.
        let target = Target::new(server.addr, Expect::Token, connector.clone());
        let probe = signer.pool(1, 1)?;
        let negotiated = load::ask(&target.clone().with_bodies(probe.bodies))
            .await
            .context("certbound's token endpoint with private_key_jwt")?
            .0;
        let mut subject = Subject::new(&server, target, negotiated);
        subject.name = "certbound+jwt";
        subject.signer = Some(signer);
        subjects.push(subject);
    }
    servers.push(server);
    if args.crl_serials > 0 {
        let crl_dir = dir.path().join("crl");
        std::fs::create_dir_all(&crl_dir).context("creating crl/")?;
        pki.write(&crl_dir)?;
        let made = std::time::Instant::now();
        setup::write_crl(&pki, args.crl_serials, &crl_dir.join("ca.crl"))?;
        println!(
            "CRL of {} serials written in {:.1} s",
            args.crl_serials,
            made.elapsed().as_secs_f64()
        );
        let mut server = setup::start_certbound(
            &certbound_bin,
            &crl_dir,
            &pki,
            "[revocation]\ncrl_files = [\"ca.crl\"]\n",
        )
        .await?;
        server.name = "certbound+crl";
        let target = Target::new(server.addr, Expect::Token, connector.clone());
        let negotiated = load::wait_ready(&target, READY_TIMEOUT, || server.check_alive())
            .await
            .context("certbound with the CRL")?
            .0;
        subjects.push(Subject::new(&server, target, negotiated));
        servers.push(server);
    }
    let nginx_bin = program::nginx_binary(args.nginx.as_deref())?;
    if !args.no_nginx {
        let mut server = setup::start_nginx(&nginx_bin, dir.path(), cores())?;
        let target = Target::new(server.addr, Expect::Fixed, connector.clone());
        let negotiated = load::wait_ready(&target, READY_TIMEOUT, || server.check_alive())
            .await
            .context("nginx")?
            .0;
        subjects.push(Subject::new(&server, target, negotiated));
        servers.push(server);
    }

    print_header(&args, threads, &subjects, &nginx_bin);
    let mut rows = Vec::new();
    for round in 0..args.rounds.max(1) {
        for kind in [RunKind::New, RunKind::KeptAlive, RunKind::Rss] {
            if !args.runs.contains(&kind) {
                continue;
            }
            let connections = match kind {
                RunKind::Rss => args.rss_connections,
                _ => args.concurrency,
            };
            // Interleaved, so that noise from elsewhere on the machine falls
            // on both servers; every other round in the reverse order, so
            // that going first or second favours neither.
            let mut order: Vec<usize> = (0..subjects.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for i in order {
                let s = &subjects[i];
                // The memory run is the process's, whichever client asks.
                if s.signer.is_some() && kind == RunKind::Rss {
                    continue;
                }
                let row = measure(
                    kind,
                    s,
                    connections,
                    duration,
                    best_rate(&rows, kind, s.name),
                )
                .await?;
                print_row(&row);
                rows.push(row);
                for server in &mut servers {
                    server.check_alive()?;
                }
            }
        }
    }
    let hwm = subjects.first().map(|s| s.procs.hwm_kib()).unwrap_or(0);
    print_summary(&rows, &subjects, hwm, floor);
    drop(servers);
    if args.keep_dir {
        println!("\nfiles kept in {}", dir.keep().display());
    }
    Ok(())
}

/// The best tokens/s of the runs of `kind` on `name` so far.
fn best_rate(rows: &[Row], kind: RunKind, name: &str) -> Option<f64> {
    rows.iter()
        .filter(|r| r.kind == kind && r.server == name && r.measured.requests() > 0)
        .map(|r| r.measured.rate())
        .reduce(f64::max)
}

/// Sign the client assertions of a `private_key_jwt` run: enough for the
/// rate expected (`best_rate`, else a trial run's) times the duration, with
/// a margin. Returns the pool and the rate it was sized for.
async fn assertions_for(
    kind: RunKind,
    subject: &Subject,
    signer: &Signer,
    connections: usize,
    duration: Duration,
    best_rate: Option<f64>,
) -> Result<(assertion::Pool, f64)> {
    let rate = match best_rate {
        Some(rate) => rate,
        None => {
            let trial = signer.pool(TRIAL_ASSERTIONS, cores())?;
            let target = subject.target.clone().with_bodies(trial.bodies);
            // A trial that uses up its assertions early still tells the rate.
            let m = match kind {
                RunKind::New => {
                    load::run_new_connections(&target, connections, TRIAL_RUN, || {}).await
                }
                RunKind::KeptAlive | RunKind::Rss => {
                    load::run_kept_alive(&target, connections, TRIAL_RUN, || {}).await?
                }
            };
            m.rate()
        }
    };
    let count = (rate * POOL_MARGIN * duration.as_secs_f64()).ceil() as usize + 2 * connections;
    let pool = signer.pool(count.min(assertion::MAX_POOL), cores())?;
    Ok((pool, rate))
}

async fn measure(
    kind: RunKind,
    subject: &Subject,
    connections: usize,
    duration: Duration,
    best_rate: Option<f64>,
) -> Result<Row> {
    let (target, pool) = match &subject.signer {
        Some(signer) => {
            let (pool, rate) =
                assertions_for(kind, subject, signer, connections, duration, best_rate).await?;
            let target = subject.target.clone().with_bodies(Arc::clone(&pool.bodies));
            (target, Some((pool, rate)))
        }
        None => (subject.target.clone(), None),
    };
    let client = Procs::this();
    let mut before = (0.0, 0.0);
    let mut sampler = None;
    let on_start = || {
        before = (subject.procs.cpu_seconds(), client.cpu_seconds());
        sampler = Some(RssSampler::start(&subject.procs));
    };
    let measured = match kind {
        RunKind::New => load::run_new_connections(&target, connections, duration, on_start).await,
        RunKind::KeptAlive | RunKind::Rss => {
            load::run_kept_alive(&target, connections, duration, on_start).await?
        }
    };
    let server_cpu = subject.procs.cpu_seconds() - before.0;
    let client_cpu = client.cpu_seconds() - before.1;
    let max_rss_kib = sampler.map(RssSampler::finish).unwrap_or(0);
    Ok(Row {
        kind,
        server: subject.name,
        connections,
        measured,
        server_cpu,
        client_cpu,
        max_rss_kib,
        assertions: pool.map(|(p, rate)| PoolUse {
            sized_for: rate,
            trial: best_rate.is_none(),
            signed: p.bodies.len(),
            used: p.bodies.taken(),
            exhausted: p.bodies.exhausted(),
            sign_seconds: p.seconds,
            sign_cpu_us_each: p.cpu_us_each(),
        }),
    })
}

fn print_header(args: &Args, threads: usize, subjects: &[Subject], nginx_bin: &std::path::Path) {
    println!(
        "bench-token: certbound's token endpoint vs nginx (ssl_verify_client on, fixed 200 body)"
    );
    println!(
        "machine: {} cores, load average {} (1, 5, 15 min). The load generator runs on the same \
         cores as the server, for both servers alike: req/s is shared-machine throughput; \
         server CPU per request is the server's own cost.",
        cores(),
        procfs::loadavg()
    );
    println!(
        "client: tokio-rustls + hyper HTTP/1.1, {threads} threads, session resumption off, \
         key-exchange groups offered: {}; {}s per run",
        args.groups.names(),
        args.duration
    );
    for s in subjects {
        let what = match s.name {
            "nginx" => format!(
                "{} (master + {} workers)",
                setup::nginx_version(nginx_bin),
                s.procs.count() - 1
            ),
            "certbound+crl" => format!(
                "certbound serve (release build), [revocation] crl_files: a CRL of {} serials",
                args.crl_serials
            ),
            "certbound+jwt" => format!(
                "the same certbound, client {JWT_CLIENT_ID} authenticated by private_key_jwt \
                 (ES384 assertion with a fresh jti per request, signed before each run; its \
                 token bound to the certificate of the connection)"
            ),
            "certbound" if args.private_key_jwt => {
                "certbound serve (release build), client authenticated by tls_client_auth"
                    .to_string()
            }
            _ => "certbound serve (release build)".to_string(),
        };
        println!(
            "{:<13} {} at {}, pid {}: {}",
            s.name, what, s.addr, s.pid, s.negotiated
        );
    }
    println!();
    println!(
        "{:<24} {:<13} {:>5} {:>9} {:>8} {:>8} {:>6} {:>8} {:>9} {:>8} {:>8}",
        "run",
        "server",
        "conns",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "srv CPU",
        "srv µs/req",
        "cli CPU",
        "RSS MiB"
    );
}

fn print_row(r: &Row) {
    let m = &r.measured;
    println!(
        "{:<24} {:<13} {:>5} {:>9.0} {:>8.2} {:>8.2} {:>6} {:>7.2}s {:>10.0} {:>7.2}s {:>8.1}",
        r.kind.label(),
        r.server,
        r.connections,
        m.rate(),
        m.percentile_ms(50),
        m.percentile_ms(99),
        m.errors,
        r.server_cpu,
        r.cpu_us_per_request(),
        r.client_cpu,
        mib(r.max_rss_kib)
    );
    if let Some(e) = &m.first_error {
        println!("    first error: {e}");
    }
    if let Some(a) = &r.assertions {
        println!(
            "    assertions: {} signed before the run (for {:.0} tokens/s{}) in {:.1} s ({:.0} µs \
             client CPU each), {} used{}",
            a.signed,
            a.sized_for,
            if a.trial { ", a trial run's" } else { "" },
            a.sign_seconds,
            a.sign_cpu_us_each,
            a.used,
            if a.exhausted {
                format!(
                    "; ALL USED UP: the run ended after {:.2} s",
                    m.elapsed.as_secs_f64()
                )
            } else {
                String::new()
            }
        );
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

fn find<'a>(rows: &'a [Row], kind: RunKind, server: &str) -> Option<&'a Row> {
    rows.iter().find(|r| r.kind == kind && r.server == server)
}

/// Server CPU µs per request (CPU and requests summed) and the mean
/// requests/s of several runs.
fn pooled(rows: &[&Row]) -> (f64, f64) {
    let cpu: f64 = rows.iter().map(|r| r.server_cpu).sum();
    let requests: usize = rows.iter().map(|r| r.measured.requests()).sum();
    let rate: f64 = rows.iter().map(|r| r.measured.rate()).sum::<f64>() / rows.len().max(1) as f64;
    (cpu * 1e6 / requests.max(1) as f64, rate)
}

/// `private_key_jwt` next to `tls_client_auth` (certbound+jwt and certbound,
/// the same process) in the runs of `kind`: pooled over all rounds, and each
/// round's ratio of server CPU per token.
fn print_jwt_comparison(rows: &[Row], kind: RunKind) {
    let of = |server: &str| -> Vec<&Row> {
        rows.iter()
            .filter(|r| r.kind == kind && r.server == server)
            .collect()
    };
    let (mtls, jwt) = (of("certbound"), of("certbound+jwt"));
    if mtls.is_empty() || jwt.is_empty() {
        return;
    }
    let each: Vec<String> = mtls
        .iter()
        .zip(&jwt)
        .map(|(a, b)| format!("{:.2}x", b.cpu_us_per_request() / a.cpu_us_per_request()))
        .collect();
    let ((cpu_mtls, rate_mtls), (cpu_jwt, rate_jwt)) = (pooled(&mtls), pooled(&jwt));
    let errors = |rows: &[&Row]| rows.iter().map(|r| r.measured.errors).sum::<u64>();
    let sign_us: Vec<f64> = jwt
        .iter()
        .filter_map(|r| r.assertions.as_ref())
        .map(|a| a.sign_cpu_us_each)
        .collect();
    let rounds = match mtls.len() {
        1 => "1 round".to_string(),
        n => format!("{n} rounds, pooled"),
    };
    println!("    private_key_jwt next to tls_client_auth, {rounds}:");
    println!(
        "    certbound (tls_client_auth): {rate_mtls:.0} tokens/s, {cpu_mtls:.0} µs server CPU \
         per token, {} errors",
        errors(&mtls)
    );
    println!(
        "    certbound (private_key_jwt): {rate_jwt:.0} tokens/s, {cpu_jwt:.0} µs server CPU \
         per token, {} errors (ES384 assertions signed before each run, {:.0} µs client CPU \
         each)",
        errors(&jwt),
        sign_us.iter().sum::<f64>() / sign_us.len().max(1) as f64
    );
    println!(
        "    private_key_jwt / tls_client_auth: {:.2}x server CPU per token (each round: {}), \
         {:.2}x tokens/s",
        cpu_jwt / cpu_mtls,
        each.join(" "),
        rate_jwt / rate_mtls
    );
}

/// The cost of the CRL (certbound+crl over certbound, new connections):
/// each round's, and pooled over all rounds (server CPU and requests summed).
fn print_crl_overhead(rows: &[Row]) {
    let of = |server: &str| -> Vec<&Row> {
        rows.iter()
            .filter(|r| r.kind == RunKind::New && r.server == server)
            .collect()
    };
    let (off, on) = (of("certbound"), of("certbound+crl"));
    if off.is_empty() || on.is_empty() {
        return;
    }
    let each: Vec<String> = off
        .iter()
        .zip(&on)
        .map(|(a, b)| {
            format!(
                "{:+.1}%",
                (b.cpu_us_per_request() / a.cpu_us_per_request() - 1.0) * 100.0
            )
        })
        .collect();
    let ((cpu_off, rate_off), (cpu_on, rate_on)) = (pooled(&off), pooled(&on));
    let cpu = cpu_on / cpu_off - 1.0;
    println!(
        "    with the CRL: {rate_on:.0} tokens/s, {cpu_on:.0} µs server CPU per token, against \
         {rate_off:.0} and {cpu_off:.0} without: {:+.1}% server CPU per token over {} rounds \
         (each: {}), {:+.1}% tokens/s (target <= {:.0}% over off: {})",
        cpu * 100.0,
        off.len(),
        each.join(" "),
        (rate_on / rate_off - 1.0) * 100.0,
        TARGET_CRL_OVERHEAD * 100.0,
        verdict(cpu <= TARGET_CRL_OVERHEAD)
    );
}

fn print_summary(rows: &[Row], subjects: &[Subject], certbound_hwm_kib: u64, floor: Option<Floor>) {
    println!();
    println!("summary (certbound / nginx; same client, same machine, same run)");
    for s in subjects {
        println!("  negotiated with {:<13} {}", s.name, s.negotiated);
    }
    if let Some(c) = find(rows, RunKind::New, "certbound") {
        println!(
            "  new connection per request: certbound {:.0} tokens/s, {:.0} µs server CPU per token",
            c.measured.rate(),
            c.cpu_us_per_request()
        );
        print_crl_overhead(rows);
        print_jwt_comparison(rows, RunKind::New);
        if let Some(n) = find(rows, RunKind::New, "nginx") {
            let ratio = c.measured.rate() / n.measured.rate();
            let cpu = c.cpu_us_per_request() / n.cpu_us_per_request();
            println!(
                "    nginx handshake-only: {:.0} req/s, {:.0} µs server CPU per request",
                n.measured.rate(),
                n.cpu_us_per_request()
            );
            println!(
                "    throughput ratio certbound/nginx (req/s, shared machine): {ratio:.2}x  \
                 (target >= {TARGET_NEW_CONN_RATIO}x: {})",
                verdict(ratio >= TARGET_NEW_CONN_RATIO)
            );
            println!(
                "    server CPU per request ratio certbound/nginx: {cpu:.2}x  (lower is better; \
                 target <= {TARGET_NEW_CONN_CPU_RATIO}x: {}; requests per server core: {:.2}x nginx's)",
                verdict(cpu <= TARGET_NEW_CONN_CPU_RATIO),
                1.0 / cpu
            );
        }
    }
    if let Some(c) = find(rows, RunKind::KeptAlive, "certbound") {
        println!(
            "  kept-alive: certbound {:.0} tokens/s on {} connections (target >= {:.0}: {}), \
             {:.0} µs server CPU per token",
            c.measured.rate(),
            c.connections,
            TARGET_KEPT_ALIVE_RATE,
            verdict(c.measured.rate() >= TARGET_KEPT_ALIVE_RATE),
            c.cpu_us_per_request()
        );
        if let Some(floor) = floor {
            println!(
                "    signing alone (one thread, before the runs; certbound_oauth::claims::issue: \
                 claims, jti, ES256 signature): {:.0} tokens/s per core, {:.1} µs each; at \
                 {:.0} tokens/s that is {:.2} of this machine's {} cores, before TLS, HTTP and \
                 the load generator",
                floor.per_core,
                floor.us_per_token(),
                TARGET_KEPT_ALIVE_RATE,
                floor.cores_at(TARGET_KEPT_ALIVE_RATE),
                cores()
            );
        }
        print_jwt_comparison(rows, RunKind::KeptAlive);
        if let Some(n) = find(rows, RunKind::KeptAlive, "nginx") {
            println!(
                "    nginx fixed 200: {:.0} req/s, {:.0} µs server CPU per request; throughput \
                 ratio certbound/nginx {:.2}x, server CPU per request ratio {:.2}x",
                n.measured.rate(),
                n.cpu_us_per_request(),
                c.measured.rate() / n.measured.rate(),
                c.cpu_us_per_request() / n.cpu_us_per_request()
            );
        }
    }
    if let Some(c) = find(rows, RunKind::Rss, "certbound") {
        println!(
            "  memory at {} kept-alive connections: certbound max VmRSS {:.1} MiB during the run, \
             VmHWM {:.1} MiB over the whole benchmark (target < {TARGET_RSS_MIB:.0} MiB: {})",
            c.connections,
            mib(c.max_rss_kib),
            mib(certbound_hwm_kib),
            verdict(mib(c.max_rss_kib.max(certbound_hwm_kib)) < TARGET_RSS_MIB)
        );
        if let Some(n) = find(rows, RunKind::Rss, "nginx") {
            println!(
                "    nginx: max VmRSS {:.1} MiB, summed over master and workers (shared pages counted in each)",
                mib(n.max_rss_kib)
            );
        }
    }
    let errors: u64 = rows.iter().map(|r| r.measured.errors).sum();
    println!(
        "  errors: {errors} (every certbound answer must be 200 with an access_token; every nginx answer 200 {{\"ok\":true}})"
    );
    println!("  load average at the end: {}", procfs::loadavg());
}
