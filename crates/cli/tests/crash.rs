//! Crash safety: `serve` is SIGKILLed while clients are being registered
//! through the admin API; after a restart every registration that was
//! answered 201 is there, and the database is consistent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::process::Command;
use std::sync::{Arc, Mutex};

use certbound_testkit::{LeafOptions, TestPki, self_signed};
use util::process::Server;

const TOKEN: &str = "crash-test-admin-token-0123456789";

fn config(d: &std::path::Path) {
    let pki = TestPki::new();
    pki.root
        .issue(&LeafOptions::server("localhost").around_now())
        .write(d, "server", &[]);
    std::fs::write(d.join("root.crt"), pki.root.cert_pem()).unwrap();
    certbound_testkit::write_private(&d.join("admin-token"), TOKEN);
    std::fs::write(
        d.join("certbound.toml"),
        r#"
[issuer]
url = "https://localhost"
[tls.server]
cert = "server.crt"
key = "server.key"
[[listener]]
name = "api"
bind = "127.0.0.1:0"
tls = "server"
[admin]
token_file = "admin-token"
"#,
    )
    .unwrap();
}

/// POST one client with curl; true when answered 201.
fn register(d: &std::path::Path, addr: &str, id: &str, pem: &str) -> bool {
    let body = serde_json::json!({"resourceType": "ClientApplication", "id": id, "name": id, "certificateTrustStore": pem}).to_string();
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "5",
            "--cacert",
            "root.crt",
            "-H",
        ])
        .arg(format!("Authorization: Bearer {TOKEN}"))
        .args([
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            &body,
        ])
        .arg(format!(
            "https://localhost:{}/admin/ClientApplication",
            addr.rsplit(':').next().unwrap()
        ))
        .args([
            "--resolve",
            &format!("localhost:{}:127.0.0.1", addr.rsplit(':').next().unwrap()),
        ])
        .current_dir(d)
        .output()
        .expect("curl is installed");
    String::from_utf8_lossy(&out.stdout) == "201"
}

#[test]
fn every_answered_registration_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    config(&d);
    let server = Server::start(&d, &["serve", "--config", "certbound.toml"], "issuer:");
    let addr = server.addr("api");
    let pems: Vec<String> = (0..400)
        .map(|i| self_signed(&LeafOptions::client(&format!("c{i}")).around_now()).cert_pem())
        .collect();
    let answered = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..3 {
        let (d, addr, answered, stop, pems) = (
            d.clone(),
            addr.clone(),
            answered.clone(),
            stop.clone(),
            pems.clone(),
        );
        workers.push(std::thread::spawn(move || {
            for i in (w..pems.len()).step_by(3) {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let id = format!("client-{i}");
                if register(&d, &addr, &id, &pems[i]) {
                    answered.lock().unwrap().push(id);
                }
            }
        }));
    }
    // Kill once registrations are flowing, while they still are.
    util::eventually_sync("40 registrations answered", || {
        answered.lock().unwrap().len() >= 40
    });
    server.kill();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    assert!(answered.len() >= 40);

    // Restart on the same database: every answered registration is there and valid.
    let server = Server::start(&d, &["serve", "--config", "certbound.toml"], "issuer:");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = certbound_store::open(&format!(
            "sqlite://{}",
            d.join("certbound-data/certbound.db").display()
        ))
        .await
        .unwrap();
        let stored = store.list_clients(None).await.unwrap();
        for id in &answered {
            let record = stored
                .iter()
                .find(|r| &r.id == id)
                .unwrap_or_else(|| panic!("{id} was answered 201 but is lost"));
            let app: certbound_oauth::client::ClientApplication =
                serde_json::from_value(record.document.clone()).unwrap();
            assert!(
                app.validate(Default::default(), time::OffsetDateTime::now_utc())
                    .is_ok(),
                "{id} is corrupt"
            );
        }
        assert_eq!(store.count_clients().await.unwrap() as usize, stored.len());
        store.close().await;
    });
    // And the restarted server serves them.
    let out = Command::new("curl")
        .args(["-s", "--cacert", "root.crt", "-H"])
        .arg(format!("Authorization: Bearer {TOKEN}"))
        .arg(format!(
            "https://localhost:{}/admin/ClientApplication",
            server.addr("api").rsplit(':').next().unwrap()
        ))
        .args([
            "--resolve",
            &format!(
                "localhost:{}:127.0.0.1",
                server.addr("api").rsplit(':').next().unwrap()
            ),
        ])
        .current_dir(&d)
        .output()
        .unwrap();
    let bundle: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(bundle["total"].as_u64().unwrap() as usize >= answered.len());
}
