//! The token signing key is made only when no key can have signed before: the
//! store records the key every server signs with. A key file that disappears
//! from a server whose store names a key is never silently replaced: every
//! token issued before would stop verifying, and other instances sharing the
//! store would not publish the new key. Clients registered before the first
//! start (`client add` against the store) do not count.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use certbound_server::config::Config;
use certbound_testkit::{LeafOptions, TestPki};

/// A config in `dir` whose store is `store` (relative to its data_dir).
fn write_config(dir: &Path, store: &str) -> Config {
    let pki = TestPki::new();
    pki.root
        .issue(&LeafOptions::server("localhost").around_now())
        .write(dir, "server", &[]);
    let path = dir.join("certbound.toml");
    std::fs::write(
        &path,
        format!(
            "data_dir = \"data\"\n[store]\nurl = \"{store}\"\n[issuer]\nurl = \"https://localhost\"\n\
             [tls.tls]\ncert = \"server.crt\"\nkey = \"server.key\"\n\
             [[listener]]\nname = \"tls\"\nbind = \"127.0.0.1:0\"\ntls = \"tls\"\n"
        ),
    )
    .unwrap();
    Config::load(&path).unwrap()
}

#[tokio::test]
async fn a_lost_signing_key_is_never_replaced_silently() {
    let shared = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", shared.path().join("certbound.db").display());
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let config = write_config(dir.path(), &db);
    let key_file = config.issuer.signing_key.clone();

    // A client registered before the first start, as `client add` does.
    let store = certbound_store::open(&db).await.unwrap();
    let leaf = certbound_testkit::self_signed(&LeafOptions::client("partner").around_now());
    store
        .create_client(
            "partner",
            "partner",
            &common::client_doc("partner", &common::pem_of(&leaf.cert)),
        )
        .await
        .unwrap();
    store.close().await;

    // First start: no key recorded, so it is made (0600) and recorded.
    let running = certbound_server::bind(&config).await.unwrap();
    assert!(key_file.exists());
    assert_eq!(
        std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let kid = running.signing_key().kid().to_string();
    assert_eq!(
        running.store().signing_keys().await.unwrap(),
        [kid.as_str()]
    );
    let kept = std::fs::read(&key_file).unwrap();
    running.shutdown();
    running.wait().await;

    // The key is lost: refused, with the fix, and no key is written.
    std::fs::remove_file(&key_file).unwrap();
    let e = certbound_server::bind(&config)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("is missing, but the store has been used"), "{e}");
    assert!(e.contains(&kid), "{e}");
    assert!(e.contains("openssl genpkey"), "{e}");
    assert!(!key_file.exists());

    // A second instance on the same store with a fresh data directory: refused too.
    let other = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(other.path().join("data")).unwrap();
    let second = write_config(other.path(), &db);
    let e = certbound_server::bind(&second)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("copy it from another instance"), "{e}");
    assert!(!second.issuer.signing_key.exists());

    // Restored: it starts, with the same key.
    std::fs::write(&key_file, &kept).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let running = certbound_server::bind(&config).await.unwrap();
    assert_eq!(std::fs::read(&key_file).unwrap(), kept);
    assert_eq!(running.signing_key().kid(), kid);
    running.shutdown();
    running.wait().await;
}
