//! `soak`: certbound under steady mixed load for minutes, with a fault in the
//! middle, printing what an operator watches: requests, p99, errors and the
//! server's memory, minute by minute (issue 19's soak run; `scripts/soak.sh`).
//!
//! The load is token requests on kept-alive connections arriving at a fixed
//! rate, a share of the peak measured at the start under the same mix (70 %
//! by default), plus one client opening a new connection (full mTLS
//! handshake) per request. The
//! store is PostgreSQL; at the fault minute the cluster is stopped (fast, so
//! open sessions are cut), kept down a few seconds, and started again. The
//! figures: RSS growth from the first minute to the last, errors outside the
//! fault's minute, and how long after PostgreSQL's return `/healthz` says
//! `ok` again (the audit writes have caught up). It is a program that prints
//! figures, not a test.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;

use certbound_bench::load::{self, Expect, Groups, Measured, Target};
use certbound_bench::procfs::Procs;
use certbound_bench::program::{self, cores};
use certbound_bench::setup::{self, Pki};

/// How long a server may take to answer its first request once listening.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// The targets of the issue.
const TARGET_RSS_GROWTH: f64 = 0.10;
const TARGET_RECOVERY: Duration = Duration::from_secs(5);

#[derive(Debug, Parser)]
#[command(
    name = "soak",
    about = "Mixed load on certbound for minutes, PostgreSQL restarted in the middle; prints RSS, p99 and errors per minute"
)]
struct Args {
    /// Minutes of load.
    #[arg(long, value_name = "N", default_value_t = 10)]
    minutes: u32,
    /// The minute (from 1) in which PostgreSQL is restarted; 0: no fault.
    #[arg(long, value_name = "N")]
    fault_minute: Option<u32>,
    /// Seconds PostgreSQL stays down.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    down: u64,
    /// Share of the measured kept-alive peak to send.
    #[arg(long, value_name = "SHARE", default_value_t = 0.7)]
    load: f64,
    /// Seconds the peak is measured over (with the new-connection client
    /// running too, and long enough for the audit writes to weigh in).
    #[arg(long, value_name = "SECS", default_value_t = 20)]
    peak_secs: u64,
    /// Kept-alive connections.
    #[arg(long, value_name = "N", default_value_t = 32)]
    connections: usize,
    /// The certbound binary (default: `certbound` next to this program).
    #[arg(long, value_name = "PATH")]
    certbound: Option<PathBuf>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    program::main_with(cores(), run(args))
}

/// One minute's figures.
struct Minute {
    kept: Measured,
    fresh: Measured,
    rss_kib: u64,
    fault: bool,
}

async fn run(args: Args) -> Result<()> {
    let minutes = args.minutes.max(1);
    let fault_minute = args.fault_minute.unwrap_or(minutes.div_ceil(2));
    let dir = tempfile::Builder::new()
        .prefix("soak-")
        .tempdir()
        .context("creating a temporary directory")?;
    let pki = Pki::new();
    pki.write(dir.path())?;
    let connector = load::connector(&pki, Groups::Default)?;
    let store_url = certbound_testkit::postgres::database("soak");
    let bin = program::certbound_binary(args.certbound.as_deref())?;
    let mut server = setup::start_certbound_on(&bin, dir.path(), &pki, &store_url, "").await?;
    let target = Target::new(server.addr, Expect::Token, connector.clone());
    load::wait_ready(&target, READY_TIMEOUT, || server.check_alive())
        .await
        .context("certbound's token endpoint")?;
    let health = Target::get(server.addr, "/healthz", Expect::Healthy, Some(connector));
    let procs = Procs::tree(server.pid());

    // The peak under the same mix as the soak: kept-alive connections as
    // fast as they go, beside the new-connection client.
    let peak_for = Duration::from_secs(args.peak_secs.max(1));
    let (peak, _) = tokio::join!(
        load::run_kept_alive(&target, args.connections, peak_for, || {}),
        load::run_new_connections(&target, 1, peak_for, || {}),
    );
    let peak = peak?.rate();
    let rate = peak * args.load;
    println!(
        "soak: {minutes} min, {:.0} tokens/s on {} kept-alive connections ({:.0}% of the {:.0}/s peak) + 1 new-connection client; PostgreSQL restarted in minute {} for {} s",
        rate,
        args.connections,
        args.load * 100.0,
        peak,
        if fault_minute == 0 {
            "none".to_string()
        } else {
            fault_minute.to_string()
        },
        args.down
    );
    println!(
        "{:>6} {:>9} {:>8} {:>8} {:>7} {:>9} {:>8} {:>7} {:>8}",
        "minute",
        "kept req",
        "p50 ms",
        "p99 ms",
        "errors",
        "new req",
        "p99 ms",
        "errors",
        "RSS MiB"
    );

    let mut rows = Vec::new();
    let mut recovery = None;
    for m in 1..=minutes {
        let fault = m == fault_minute;
        let minute = Duration::from_secs(60);
        let fault_task = fault.then(|| {
            let (down, health) = (Duration::from_secs(args.down), health.clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(15)).await;
                tokio::task::spawn_blocking(move || certbound_testkit::postgres::restart(down))
                    .await
                    .ok();
                let back = Instant::now();
                // `/healthz` pings the store and reports failing audit writes.
                while back.elapsed() < Duration::from_secs(40) {
                    if load::ask(&health).await.is_ok() {
                        return Some(back.elapsed());
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                None
            })
        });
        let (kept, fresh) = tokio::join!(
            load::run_open_loop(&target, args.connections, rate, minute, || {}),
            load::run_new_connections(&target, 1, minute, || {}),
        );
        let kept = kept?;
        if let Some(task) = fault_task {
            recovery = task.await.ok().flatten();
        }
        server.check_alive()?;
        let row = Minute {
            kept,
            fresh,
            rss_kib: procs.rss_kib(),
            fault,
        };
        print_minute(m, &row);
        rows.push(row);
    }

    // The run wrote gigabytes of audit events: give the space back.
    drop(server);
    certbound_testkit::postgres::drop_database(&store_url);
    let first = rows.first().map_or(0, |r| r.rss_kib) as f64;
    let last = rows.last().map_or(0, |r| r.rss_kib) as f64;
    let growth = if first > 0.0 { last / first - 1.0 } else { 0.0 };
    // A fault fills the audit queue (bounded; the allocator keeps what it
    // took), so growth is also measured from the minute after it: a leak
    // shows there too.
    let after_fault = (fault_minute != 0 && (fault_minute as usize) < rows.len()).then(|| {
        let from = rows[fault_minute as usize].rss_kib as f64;
        (from, if from > 0.0 { last / from - 1.0 } else { 0.0 })
    });
    let outside: u64 = rows
        .iter()
        .filter(|r| !r.fault)
        .map(|r| r.kept.errors + r.fresh.errors)
        .sum();
    let during: u64 = rows
        .iter()
        .filter(|r| r.fault)
        .map(|r| r.kept.errors + r.fresh.errors)
        .sum();
    println!();
    println!(
        "RSS growth, first to last minute: {:+.1}% ({:.1} → {:.1} MiB; target under {:.0}%): {}",
        growth * 100.0,
        first / 1024.0,
        last / 1024.0,
        TARGET_RSS_GROWTH * 100.0,
        verdict(growth < TARGET_RSS_GROWTH)
    );
    if let Some((from, growth)) = after_fault {
        println!(
            "RSS growth, minute {} (after the fault) to the last: {:+.1}% ({:.1} → {:.1} MiB; target under {:.0}%): {}",
            fault_minute + 1,
            growth * 100.0,
            from / 1024.0,
            last / 1024.0,
            TARGET_RSS_GROWTH * 100.0,
            verdict(growth < TARGET_RSS_GROWTH)
        );
    }
    println!(
        "errors outside the fault's minute: {outside} (target 0): {}; during it: {during}",
        verdict(outside == 0)
    );
    if fault_minute != 0 {
        match recovery {
            Some(d) => println!(
                "healthz ok again {:.1} s after PostgreSQL's return (target under {} s): {}",
                d.as_secs_f64(),
                TARGET_RECOVERY.as_secs(),
                verdict(d < TARGET_RECOVERY)
            ),
            None => println!("healthz not ok within 40 s of PostgreSQL's return: missed"),
        }
    }
    if let Some(e) = rows.iter().find_map(|r| {
        r.kept
            .first_error
            .clone()
            .or_else(|| r.fresh.first_error.clone())
    }) {
        println!("first error: {e}");
    }
    Ok(())
}

fn print_minute(m: u32, r: &Minute) {
    println!(
        "{:>6} {:>9} {:>8.2} {:>8.2} {:>7} {:>9} {:>8.2} {:>7} {:>8.1}{}",
        m,
        r.kept.requests(),
        r.kept.percentile_ms(50),
        r.kept.percentile_ms(99),
        r.kept.errors,
        r.fresh.requests(),
        r.fresh.percentile_ms(99),
        r.fresh.errors,
        r.rss_kib as f64 / 1024.0,
        if r.fault {
            "  ← PostgreSQL restarted"
        } else {
            ""
        }
    );
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "missed" }
}
