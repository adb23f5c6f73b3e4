//! What a registry change costs next to a full load (issue "Scale"): N
//! clients, each with the same CA as its trust store and its own SAN
//! constraint (as `serve --dev` registers its demo client), written to a
//! SQLite store in a temporary directory; then the registry is loaded, one
//! client at a time is changed and refreshed, and the whole registry is read
//! again. Prints wall time, process CPU and RSS. A measurement, not a test:
//!
//!     cargo run --release -p certbound-server --example registry_change -- 50000
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use certbound_oauth::client::{ClientApplication, Policy, RESOURCE_TYPE};
use certbound_pki::generate::{self, CaSpec, KeyType};
use certbound_server::registry::Registry;
use time::OffsetDateTime;

/// Process CPU seconds (user + system) from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat, 11 and 12 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

fn document(i: usize, ca_pem: &str, scope: &str) -> serde_json::Value {
    let client = ClientApplication {
        resource_type: RESOURCE_TYPE.into(),
        id: Some(format!("c{i}")),
        name: format!("client {i}"),
        certificate_trust_store: Some(ca_pem.to_owned()),
        tls_client_auth_san_dns: Some(format!("c{i}.bench.example")),
        scope: Some(scope.to_owned()),
        ..ClientApplication::default()
    };
    serde_json::to_value(&client).unwrap()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50_000);
    let changes = 200;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("registry.db").display());
    let store = certbound_store::open(&url).await.unwrap();
    let ca = generate::root_ca(
        &CaSpec {
            common_name: "Registry Bench CA".into(),
            organization: None,
            key_type: KeyType::EcdsaP256,
            days: 365,
        },
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let started = Instant::now();
    for i in 0..n {
        store
            .create_client(
                &format!("c{i}"),
                &format!("client {i}"),
                &document(i, &ca.cert_pem, "read"),
            )
            .await
            .unwrap();
    }
    println!(
        "{n} clients written in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let (cpu, wall) = (cpu_seconds(), Instant::now());
    let registry = Registry::load(store.clone(), Policy::default())
        .await
        .unwrap();
    println!(
        "load: {:.2} s wall, {:.2} s CPU, RSS {:.0} MiB, {} clients",
        wall.elapsed().as_secs_f64(),
        cpu_seconds() - cpu,
        rss_mib(),
        registry.snapshot().len()
    );

    // One client at a time: the store write (not counted), then the refresh.
    let mut refresh = std::time::Duration::ZERO;
    let cpu = cpu_seconds();
    let mut write_cpu = 0.0;
    for k in 0..changes {
        let i = (k * 7919) % n;
        let id = format!("c{i}");
        let before = cpu_seconds();
        let record = store.get_client(&id).await.unwrap().unwrap();
        store
            .update_client(
                &id,
                &record.name,
                &document(i, &ca.cert_pem, "read write"),
                None,
            )
            .await
            .unwrap();
        write_cpu += cpu_seconds() - before;
        let t = Instant::now();
        registry.refresh(&id).await.unwrap();
        refresh += t.elapsed();
    }
    let refresh_cpu = cpu_seconds() - cpu - write_cpu;
    println!(
        "one change: {:.3} ms wall per refresh (mean of {changes}), about {:.2} ms CPU (process CPU less the store writes, 10 ms ticks), {} compilations in all",
        refresh.as_secs_f64() * 1000.0 / f64::from(changes as u32),
        refresh_cpu * 1000.0 / f64::from(changes as u32),
        registry.compiled()
    );

    let (cpu, wall) = (cpu_seconds(), Instant::now());
    registry.reload().await.unwrap();
    println!(
        "full reload (what every change cost before): {:.2} s wall, {:.2} s CPU, RSS {:.0} MiB",
        wall.elapsed().as_secs_f64(),
        cpu_seconds() - cpu,
        rss_mib()
    );
}
