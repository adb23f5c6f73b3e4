//! The token signing key is created only on a first start. A key file that
//! disappears from a server whose store has been used is never silently
//! replaced: every token issued before would stop verifying, and other
//! instances sharing the store would not publish the new key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use certbound_server::config::Config;
use certbound_testkit::{LeafOptions, TestPki};

fn write_config(dir: &std::path::Path) -> std::path::PathBuf {
    let pki = TestPki::new();
    pki.root
        .issue(&LeafOptions::server("localhost").around_now())
        .write(dir, "server", &[]);
    std::fs::write(dir.join("root.crt"), pki.root.cert_pem()).unwrap();
    let path = dir.join("certbound.toml");
    std::fs::write(
        &path,
        "data_dir = \"data\"\n[issuer]\nurl = \"https://localhost\"\n\
         [tls.tls]\ncert = \"server.crt\"\nkey = \"server.key\"\n\
         [[listener]]\nname = \"tls\"\nbind = \"127.0.0.1:0\"\ntls = \"tls\"\n",
    )
    .unwrap();
    path
}

#[tokio::test]
async fn a_lost_signing_key_on_a_used_store_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path());
    let config = Config::load(&path).unwrap();
    let key_file = config.issuer.signing_key.clone();
    // First start: an empty store and no key, so the key is created (0600).
    let running = certbound_server::bind(&config).await.unwrap();
    assert!(key_file.exists());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let kept = std::fs::read(&key_file).unwrap();
    let leaf = certbound_testkit::self_signed(&LeafOptions::client("partner").around_now());
    running
        .state
        .store
        .create_client(
            "partner",
            "partner",
            &common::client_doc("partner", &common::pem_of(&leaf.cert)),
        )
        .await
        .unwrap();
    running.shutdown();
    running.wait().await;

    // The key is lost: refused, with the fix, and no key is written.
    std::fs::remove_file(&key_file).unwrap();
    let e = certbound_server::bind(&config)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("is missing, but the store has been used"), "{e}");
    assert!(e.contains("1 clients"), "{e}");
    assert!(e.contains("openssl genpkey"), "{e}");
    assert!(!key_file.exists());

    // Restored: it starts, with the same key.
    std::fs::write(&key_file, &kept).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let running = certbound_server::bind(&config).await.unwrap();
    assert_eq!(std::fs::read(&key_file).unwrap(), kept);
    running.shutdown();
    running.wait().await;
}
