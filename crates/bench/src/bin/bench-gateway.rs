//! `bench-gateway`: what certbound's gateway route (mTLS + a certificate-bound
//! token, RFC 8705 §3) costs in front of an HTTP API, next to nginx as an mTLS
//! reverse proxy to the same upstream, in the same run with the same load
//! generator (issue 7's benchmark; `scripts/bench-gateway.sh` runs it).
//!
//! One upstream, inside this process on a thread of its own, answers a fixed
//! small body. certbound (`serve --config`, a TLS listener with `client_auth =
//! "required"` and a `[[route]]` with `require = "bound-token"`) and nginx
//! (`ssl_verify_client on`, `proxy_pass` to a kept-alive `upstream` block)
//! both forward to it; the load generator also calls it directly over plain
//! HTTP for the baseline. A second nginx (`nginx+id`) also passes on the
//! client's identity in headers as the route does (the certificate, its
//! subject and fingerprint, `X-Forwarded-For`): the like-for-like peak, next
//! to the issue's reference, nginx passing on the request alone. The load generator keeps `--concurrency`
//! connections alive with the bench client's certificate and sends the same
//! request to each: `GET /api/hello` with `Authorization: Bearer <token>`, the
//! token obtained once from certbound's token endpoint with that certificate
//! (nginx ignores the header).
//!
//! Two measurements per server: the peak (closed loop: every connection sends
//! its next request as soon as the last is answered) and the latency at half
//! of the peak (open loop: a constant arrival rate, each request timed from
//! when it was due). The p99 "added latency" of a proxy is its p99 minus the
//! p99 of the same open-loop load sent straight to the upstream. Each
//! measurement is made in `--rounds` short runs, interleaved across the
//! upstream and the proxies, so that drift and bursts of background work on
//! the machine fall on all of them; the summary takes the rounds together.
//! It is a program that prints figures, not a timed test: it asserts nothing
//! beyond the correctness of every answer.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use clap::Parser;
use hyper::header::{AUTHORIZATION, HeaderValue};

use certbound_bench::load::{self, Expect, Groups, Measured, Negotiated, Target};
use certbound_bench::procfs::{self, Procs, RssSampler};
use certbound_bench::program::{self, cores};
use certbound_bench::setup::{self, Forwarding, Pki, Server};
use certbound_bench::upstream::{self, Upstream};

/// Issue 7's targets: certbound's route serves at least nginx's requests/s...
const TARGET_THROUGHPUT_RATIO: f64 = 1.0;
/// ...and adds less than this to the p99 latency at half of the peak load.
const TARGET_ADDED_P99_MS: f64 = 2.0;
/// The share of the peak offered in the open-loop runs.
const HALF: f64 = 0.5;
/// How long a server may take to answer its first request once listening.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// nginx as the issue's reference: the request passed on as it came.
const NGINX: &str = "nginx";
/// nginx passing on the client's identity as certbound does (like for like;
/// measured at the peak only).
const NGINX_ID: &str = "nginx+id";
/// The route's prefix; [`upstream::PATH`] lies under it.
const ROUTE_PREFIX: &str = "/api/";

#[derive(Debug, Parser)]
#[command(
    name = "bench-gateway",
    about = "Drive certbound's gateway route (mTLS + bound token) and nginx as an mTLS reverse proxy to the same upstream with the same load; print the figures"
)]
struct Args {
    /// Seconds each run lasts.
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    duration: f64,
    /// Runs of each measurement per subject, interleaved across subjects.
    #[arg(long, value_name = "N", default_value_t = 3)]
    rounds: usize,
    /// Kept-alive connections of every run.
    #[arg(long, value_name = "N", default_value_t = 32)]
    concurrency: usize,
    /// Threads of the load generator's runtime (default: the number of cores).
    #[arg(long, value_name = "N")]
    client_threads: Option<usize>,
    /// Key-exchange groups the client offers.
    #[arg(long, value_enum, default_value_t = Groups::Default)]
    groups: Groups,
    /// Whose peak sets the open-loop rate: the lower of the two proxies'
    /// (both get the same offered load), or each proxy's own.
    #[arg(long, value_enum, default_value_t = HalfOf::Lower)]
    half_of: HalfOf,
    /// Leave nginx out (to profile certbound alone).
    #[arg(long)]
    no_nginx: bool,
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
enum HalfOf {
    /// Half of the lower of the two proxies' peaks, offered to both.
    Lower,
    /// Half of each proxy's own peak.
    Own,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Closed loop at `--concurrency` connections.
    Peak,
    /// Open loop at a constant arrival rate.
    Half,
}

impl Phase {
    fn label(self) -> &'static str {
        match self {
            Phase::Peak => "peak (closed loop)",
            Phase::Half => "half of peak (open loop)",
        }
    }
}

/// The upstream called directly, or a proxy in front of it.
struct Subject {
    name: &'static str,
    /// `None` for the upstream itself.
    server: Option<Server>,
    /// The proxy's processes (certbound; nginx master and workers).
    procs: Option<Procs>,
    target: Target,
    negotiated: Negotiated,
}

impl Subject {
    fn check_alive(&mut self) -> Result<()> {
        self.server.as_mut().map_or(Ok(()), Server::check_alive)
    }
}

/// One run's figures, or several runs' together.
#[derive(Debug)]
struct Row {
    phase: Phase,
    /// 1.. for one run, 0 for the rounds together.
    round: usize,
    name: &'static str,
    connections: usize,
    /// Arrivals per second (open loop).
    offered: Option<f64>,
    measured: Measured,
    /// The proxy's CPU seconds (none for the direct runs).
    server_cpu: Option<f64>,
    upstream_cpu: f64,
    client_cpu: f64,
    max_rss_kib: Option<u64>,
}

impl Row {
    fn per_request_us(&self, cpu: f64) -> f64 {
        cpu * 1e6 / self.measured.requests().max(1) as f64
    }

    fn server_us(&self) -> Option<f64> {
        self.server_cpu.map(|c| self.per_request_us(c))
    }

    /// The runs of one subject and phase as one row.
    fn combine(runs: &[&Row]) -> Option<Row> {
        let first = runs.first()?;
        Some(Row {
            phase: first.phase,
            round: 0,
            name: first.name,
            connections: first.connections,
            offered: first.offered,
            measured: Measured::combine(runs.iter().map(|r| &r.measured)),
            server_cpu: first
                .server_cpu
                .map(|_| runs.iter().filter_map(|r| r.server_cpu).sum()),
            upstream_cpu: runs.iter().map(|r| r.upstream_cpu).sum(),
            client_cpu: runs.iter().map(|r| r.client_cpu).sum(),
            max_rss_kib: runs.iter().filter_map(|r| r.max_rss_kib).max(),
        })
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let threads = args.client_threads.unwrap_or_else(cores);
    program::main_with(threads, run(args, threads))
}

async fn run(args: Args, threads: usize) -> Result<()> {
    let duration = Duration::from_secs_f64(args.duration.max(0.1));
    let dir = tempfile::Builder::new()
        .prefix("bench-gateway-")
        .tempdir()
        .context("creating a temporary directory")?;
    let pki = Pki::new();
    pki.write(dir.path())?;
    let connector = load::connector(&pki, args.groups)?;
    let upstream = Upstream::start()?;

    let certbound_bin = program::certbound_binary(args.certbound.as_deref())?;
    let nginx_bin = program::nginx_binary(args.nginx.as_deref())?;

    let route = format!(
        r#"
# The route under test: a token bound to the certificate on this request.
[[route]]
prefix = "{ROUTE_PREFIX}"
upstream = "http://{}"
require = "bound-token"
"#,
        upstream.addr
    );
    let mut server = setup::start_certbound(&certbound_bin, dir.path(), &pki, &route).await?;
    // The token, once, from certbound's token endpoint with the same certificate.
    let token_target = Target::new(server.addr, Expect::Token, connector.clone());
    let (_, body) = load::wait_ready(&token_target, READY_TIMEOUT, || server.check_alive())
        .await
        .context("certbound's token endpoint")?;
    let token = access_token(&body)?;
    let bearer = HeaderValue::from_str(&format!("Bearer {token}")).context("the token")?;
    let request = |addr, connector| {
        Target::get(addr, upstream::PATH, Expect::Upstream, connector)
            .with_header(AUTHORIZATION, bearer.clone())
    };

    let mut subjects = Vec::new();
    let direct = request(upstream.addr, None);
    let (negotiated, _) = load::wait_ready(&direct, READY_TIMEOUT, || Ok(()))
        .await
        .context("the upstream")?;
    subjects.push(Subject {
        name: "upstream",
        server: None,
        procs: None,
        target: direct,
        negotiated,
    });
    let target = request(server.addr, Some(connector.clone()));
    let (negotiated, _) = load::wait_ready(&target, READY_TIMEOUT, || server.check_alive())
        .await
        .context("certbound's route")?;
    subjects.push(Subject {
        name: "certbound",
        procs: Some(Procs::tree(server.pid())),
        server: Some(server),
        target,
        negotiated,
    });
    if !args.no_nginx {
        for (name, forwarding) in [
            (NGINX, Forwarding::Nothing),
            (NGINX_ID, Forwarding::Identity),
        ] {
            let mut server = setup::start_nginx_proxy(
                &nginx_bin,
                dir.path(),
                name,
                cores(),
                upstream.addr,
                forwarding,
            )?;
            let target = request(server.addr, Some(connector.clone()));
            let (negotiated, _) = load::wait_ready(&target, READY_TIMEOUT, || server.check_alive())
                .await
                .context(name)?;
            subjects.push(Subject {
                name,
                // The workers exist once nginx answers.
                procs: Some(Procs::tree(server.pid())),
                server: Some(server),
                target,
                negotiated,
            });
        }
    }

    print_header(&args, threads, &subjects, &upstream, &nginx_bin);
    let rounds = args.rounds.max(1);
    let mut runs = Vec::new();
    // Interleaved, so that noise from elsewhere on the machine falls on every subject.
    for round in 1..=rounds {
        for s in &mut subjects {
            let row = measure(
                Phase::Peak,
                round,
                s,
                &upstream,
                args.concurrency,
                None,
                duration,
            )
            .await?;
            print_row(&row);
            runs.push(row);
            s.check_alive()?;
        }
    }
    let peaks = together(&runs, Phase::Peak);
    let plan = half_plan(&peaks, args.half_of);
    println!("{}", plan.why);
    for round in 1..=rounds {
        for (rate, names) in &plan.groups {
            for s in &mut subjects {
                if s.name != "upstream" && !names.contains(&s.name) {
                    continue;
                }
                let row = measure(
                    Phase::Half,
                    round,
                    s,
                    &upstream,
                    args.concurrency,
                    Some(*rate),
                    duration,
                )
                .await?;
                print_row(&row);
                runs.push(row);
                s.check_alive()?;
            }
        }
    }
    let mut rows = peaks;
    rows.extend(together(&runs, Phase::Half));
    println!();
    println!("all {rounds} rounds together:");
    for row in &rows {
        print_row(row);
    }
    print_summary(&rows, &runs, &subjects, &plan);
    drop(subjects);
    drop(upstream);
    if args.keep_dir {
        println!("\nfiles kept in {}", dir.keep().display());
    }
    Ok(())
}

/// The runs of `phase` taken together, one row per subject and offered rate,
/// in the order they were first run.
fn together(runs: &[Row], phase: Phase) -> Vec<Row> {
    let mut keys: Vec<(&'static str, Option<f64>)> = Vec::new();
    for r in runs.iter().filter(|r| r.phase == phase) {
        if !keys.contains(&(r.name, r.offered)) {
            keys.push((r.name, r.offered));
        }
    }
    keys.into_iter()
        .filter_map(|(name, offered)| {
            let these: Vec<&Row> = runs
                .iter()
                .filter(|r| r.phase == phase && r.name == name && r.offered == offered)
                .collect();
            Row::combine(&these)
        })
        .collect()
}

/// The `access_token` of a token response.
fn access_token(body: &[u8]) -> Result<String> {
    let json: serde_json::Value =
        serde_json::from_slice(body).context("the token response is not JSON")?;
    json["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("the token response has no access_token"))
}

/// Which open-loop rates to run, for which proxies, and why.
#[derive(Debug)]
struct HalfPlan {
    /// Arrivals per second and the proxies offered that rate (the upstream
    /// gets each rate too, for the baseline).
    groups: Vec<(f64, Vec<&'static str>)>,
    why: String,
}

fn half_plan(rows: &[Row], half_of: HalfOf) -> HalfPlan {
    let peaks: Vec<(&'static str, f64)> = rows
        .iter()
        .filter(|r| r.phase == Phase::Peak && r.name != "upstream" && r.name != NGINX_ID)
        .map(|r| (r.name, r.measured.rate().max(1.0)))
        .collect();
    let lowest = peaks
        .iter()
        .copied()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or(("upstream", 1.0));
    if half_of == HalfOf::Lower || peaks.len() < 2 {
        let rate = (lowest.1 * HALF).round();
        return HalfPlan {
            groups: vec![(rate, peaks.iter().map(|p| p.0).collect())],
            why: format!(
                "open-loop rate: {rate:.0} req/s = {:.0}% of the lower peak ({}'s {:.0} req/s), \
                 offered to every proxy and to the upstream directly, so that all see the same \
                 load and the added latency compares like with like",
                HALF * 100.0,
                lowest.0,
                lowest.1
            ),
        };
    }
    HalfPlan {
        groups: peaks
            .iter()
            .map(|(name, peak)| ((peak * HALF).round(), vec![*name]))
            .collect(),
        why: format!(
            "open-loop rates: {:.0}% of each proxy's own peak ({}), each also sent to the \
             upstream directly for that proxy's baseline",
            HALF * 100.0,
            peaks
                .iter()
                .map(|(n, p)| format!("{n} {:.0} req/s", p * HALF))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

async fn measure(
    phase: Phase,
    round: usize,
    subject: &Subject,
    upstream: &Upstream,
    connections: usize,
    rate: Option<f64>,
    duration: Duration,
) -> Result<Row> {
    let client = Procs::this();
    let mut before = (0.0, 0.0, 0.0);
    let mut sampler = None;
    let on_start = || {
        before = (
            subject.procs.as_ref().map_or(0.0, Procs::cpu_seconds),
            upstream.procs.cpu_seconds(),
            client.cpu_seconds(),
        );
        sampler = subject.procs.as_ref().map(RssSampler::start);
    };
    let measured = match rate {
        None => load::run_kept_alive(&subject.target, connections, duration, on_start).await?,
        Some(rate) => {
            load::run_open_loop(&subject.target, connections, rate, duration, on_start).await?
        }
    };
    let server_cpu = subject.procs.as_ref().map(|p| p.cpu_seconds() - before.0);
    let upstream_cpu = upstream.procs.cpu_seconds() - before.1;
    // The upstream's thread lives in this process: its time is not the client's.
    let client_cpu = client.cpu_seconds() - before.2 - upstream_cpu;
    Ok(Row {
        phase,
        round,
        name: subject.name,
        connections,
        offered: rate,
        measured,
        server_cpu,
        upstream_cpu,
        client_cpu,
        max_rss_kib: sampler.map(RssSampler::finish),
    })
}

fn print_header(
    args: &Args,
    threads: usize,
    subjects: &[Subject],
    upstream: &Upstream,
    nginx_bin: &std::path::Path,
) {
    println!(
        "bench-gateway: certbound's [[route]] (mTLS + bound token) vs nginx as an mTLS reverse \
         proxy, same upstream, same client, same run"
    );
    println!(
        "machine: {} cores, load average {} (1, 5, 15 min). The load generator, the upstream \
         and the proxy under test all run on these cores: req/s is shared-machine throughput; \
         server CPU per request is the proxy's own cost.",
        cores(),
        procfs::loadavg()
    );
    println!(
        "client: tokio-rustls + hyper HTTP/1.1, {threads} threads, {} kept-alive connections, \
         GET {} with Authorization: Bearer <token from certbound's token endpoint>, \
         key-exchange groups offered: {}; {} rounds of {}s runs per measurement",
        args.concurrency,
        upstream::PATH,
        args.groups.names(),
        args.rounds.max(1),
        args.duration
    );
    println!(
        "upstream: hyper HTTP/1.1 on its own current-thread runtime in this process at {}, \
         answering {} ({} bytes)",
        upstream.addr,
        String::from_utf8_lossy(upstream::BODY),
        upstream::BODY.len()
    );
    for s in subjects {
        let Some(server) = &s.server else {
            continue;
        };
        let what = match s.name {
            NGINX | NGINX_ID => format!(
                "{} (master + {} workers): ssl_verify_client on, proxy_pass to an upstream \
                 block with keepalive 64, proxy_http_version 1.1{}",
                setup::nginx_version(nginx_bin),
                s.procs.as_ref().map_or(0, |p| p.count().saturating_sub(1)),
                if s.name == NGINX_ID {
                    ", passing on the client's identity as certbound's route does: \
                     proxy_set_header Client-Cert $ssl_client_escaped_cert (the seed guide's \
                     way), X-Client-Cert-Subject $ssl_client_s_dn, X-Client-Cert-Thumbprint \
                     $ssl_client_fingerprint, X-Forwarded-For $remote_addr (peak only)"
                } else {
                    ""
                }
            ),
            _ => format!(
                "certbound serve (release build): client_auth = \"required\", route {ROUTE_PREFIX} \
                 require = \"bound-token\""
            ),
        };
        println!(
            "{:<9} {} at {}, pid {}: {}",
            s.name,
            what,
            server.addr,
            server.pid(),
            s.negotiated
        );
    }
    println!();
    println!(
        "{:<25} {:>3} {:<9} {:>5} {:>9} {:>9} {:>7} {:>7} {:>6} {:>8} {:>10} {:>10} {:>8} {:>7}",
        "run",
        "rnd",
        "via",
        "conns",
        "offered/s",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "srv CPU",
        "srv µs/req",
        "ups µs/req",
        "cli CPU",
        "RSS MiB"
    );
}

fn print_row(r: &Row) {
    let m = &r.measured;
    let dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    println!(
        "{:<25} {:>3} {:<9} {:>5} {:>9} {:>9.0} {:>7.2} {:>7.2} {:>6} {:>8} {:>10} {:>10.1} {:>7.2}s {:>7}",
        r.phase.label(),
        if r.round == 0 {
            "all".to_string()
        } else {
            r.round.to_string()
        },
        r.name,
        r.connections,
        dash(r.offered.map(|o| format!("{o:.0}"))),
        m.rate(),
        m.percentile_ms(50),
        m.percentile_ms(99),
        m.errors,
        dash(r.server_cpu.map(|c| format!("{c:.2}s"))),
        dash(r.server_us().map(|u| format!("{u:.1}"))),
        r.per_request_us(r.upstream_cpu),
        r.client_cpu,
        dash(r.max_rss_kib.map(|k| format!("{:.1}", k as f64 / 1024.0)))
    );
    if let Some(e) = &m.first_error {
        println!("    first error: {e}");
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

fn find<'a>(rows: &'a [Row], phase: Phase, name: &str, rate: Option<f64>) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.phase == phase && r.name == name && (rate.is_none() || r.offered == rate))
}

/// The per-round values of `figure` for one subject, e.g. `48012 47311 49870`.
fn per_round(
    runs: &[Row],
    phase: Phase,
    name: &str,
    rate: Option<f64>,
    figure: impl Fn(&Row) -> f64,
    decimals: usize,
) -> String {
    runs.iter()
        .filter(|r| r.phase == phase && r.name == name && r.offered == rate)
        .map(|r| format!("{:.*}", decimals, figure(r)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn print_summary(rows: &[Row], runs: &[Row], subjects: &[Subject], plan: &HalfPlan) {
    println!();
    println!(
        "summary (certbound route / nginx mTLS reverse proxy; same client, same upstream, same \
         machine, same run; the rounds of each measurement taken together)"
    );
    for s in subjects.iter().filter(|s| s.server.is_some()) {
        println!("  negotiated with {:<9} {}", s.name, s.negotiated);
    }
    let direct = find(rows, Phase::Peak, "upstream", None);
    let certbound = find(rows, Phase::Peak, "certbound", None);
    let nginx = find(rows, Phase::Peak, "nginx", None);
    if let Some(c) = certbound {
        println!(
            "  peak at {} kept-alive connections: certbound {:.0} req/s (p50 {:.2} ms, p99 {:.2} ms), \
             {:.1} µs server CPU per request",
            c.connections,
            c.measured.rate(),
            c.measured.percentile_ms(50),
            c.measured.percentile_ms(99),
            c.server_us().unwrap_or(f64::NAN)
        );
    }
    if let Some(n) = nginx {
        println!(
            "    nginx {:.0} req/s (p50 {:.2} ms, p99 {:.2} ms), {:.1} µs server CPU per request",
            n.measured.rate(),
            n.measured.percentile_ms(50),
            n.measured.percentile_ms(99),
            n.server_us().unwrap_or(f64::NAN)
        );
    }
    if let Some(d) = direct {
        println!(
            "    upstream directly (plain HTTP): {:.0} req/s (p50 {:.2} ms, p99 {:.2} ms), \
             {:.1} µs upstream CPU per request",
            d.measured.rate(),
            d.measured.percentile_ms(50),
            d.measured.percentile_ms(99),
            d.per_request_us(d.upstream_cpu)
        );
    }
    if let (Some(c), Some(n)) = (certbound, nginx) {
        let ratio = c.measured.rate() / n.measured.rate();
        println!(
            "    throughput ratio certbound/nginx (req/s, shared machine): {ratio:.2}x  \
             (target >= {TARGET_THROUGHPUT_RATIO:.1}x: {})",
            verdict(ratio >= TARGET_THROUGHPUT_RATIO)
        );
        if let (Some(cu), Some(nu)) = (c.server_us(), n.server_us()) {
            let cpu = cu / nu;
            println!(
                "    server CPU per request ratio certbound/nginx: {cpu:.2}x  (lower is better; \
                 target <= {:.1}x, the throughput target per server core: {}; requests per \
                 server core: {:.2}x nginx's)",
                1.0 / TARGET_THROUGHPUT_RATIO,
                verdict(cpu <= 1.0 / TARGET_THROUGHPUT_RATIO),
                1.0 / cpu
            );
        }
        let rate = |r: &Row| r.measured.rate();
        println!(
            "    req/s by round: certbound {}; nginx {}",
            per_round(runs, Phase::Peak, "certbound", None, rate, 0),
            per_round(runs, Phase::Peak, "nginx", None, rate, 0)
        );
    }
    if let (Some(c), Some(n)) = (certbound, find(rows, Phase::Peak, NGINX_ID, None)) {
        let cpu = match (c.server_us(), n.server_us()) {
            (Some(cu), Some(nu)) => format!("{:.2}x", cu / nu),
            _ => "-".into(),
        };
        println!(
            "    like for like, nginx passing on the client's identity too: {:.0} req/s, {:.1} µs \
             server CPU per request; ratio certbound/nginx+id {:.2}x req/s, {cpu} CPU per request \
             (no target: the issue's is against plain nginx)",
            n.measured.rate(),
            n.server_us().unwrap_or(f64::NAN),
            c.measured.rate() / n.measured.rate()
        );
    }
    println!("  half of peak, {}", plan.why);
    for (rate, names) in &plan.groups {
        let Some(base) = find(rows, Phase::Half, "upstream", Some(*rate)) else {
            continue;
        };
        println!(
            "    at {rate:.0} req/s offered: upstream directly p50 {:.2} ms, p99 {:.2} ms",
            base.measured.percentile_ms(50),
            base.measured.percentile_ms(99)
        );
        for name in names {
            let Some(r) = find(rows, Phase::Half, name, Some(*rate)) else {
                continue;
            };
            let added = r.measured.percentile_ms(99) - base.measured.percentile_ms(99);
            let target = if *name == "certbound" {
                format!(
                    "  (target < {TARGET_ADDED_P99_MS:.0} ms: {})",
                    verdict(added < TARGET_ADDED_P99_MS)
                )
            } else {
                String::new()
            };
            println!(
                "    {name:<9} p50 {:.2} ms, p99 {:.2} ms, served {:.0} req/s: p99 added latency \
                 {added:.2} ms{target}",
                r.measured.percentile_ms(50),
                r.measured.percentile_ms(99),
                r.measured.rate()
            );
        }
        let p99 = |r: &Row| r.measured.percentile_ms(99);
        let by_round: Vec<String> = std::iter::once("upstream")
            .chain(names.iter().copied())
            .map(|name| {
                format!(
                    "{name} {}",
                    per_round(runs, Phase::Half, name, Some(*rate), p99, 2)
                )
            })
            .collect();
        println!("    p99 ms by round: {}", by_round.join("; "));
    }
    let errors: u64 = rows.iter().map(|r| r.measured.errors).sum();
    println!(
        "  errors: {errors} (every answer, direct or through either proxy, must be the \
         upstream's 200 {}; a 401 from the route counts as an error)",
        String::from_utf8_lossy(upstream::BODY)
    );
    println!("  load average at the end: {}", procfs::loadavg());
}
