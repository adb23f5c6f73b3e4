//! The store suite against SQLite, plus what only SQLite has: file creation,
//! the URL forms, WAL mode and the in-memory database.
//!
//! Two stores opened on the same file (as in `changes_reach_another_instance`)
//! see each other's changes by polling the generation counters, within
//! `SQLITE_POLL_INTERVAL`; only one *server* should use a file.

mod suite;

use std::os::unix::fs::PermissionsExt;

use certbound_store::{StoreError, open};
use serde_json::json;
use tempfile::TempDir;

/// A fresh database file in a new temporary directory.
fn fresh(_name: &str) -> (TempDir, String) {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => panic!("cannot make a temporary directory: {e}"),
    };
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    (dir, url)
}

suite::run_suite!(fresh);

#[tokio::test]
async fn the_file_is_created_in_wal_mode() {
    let (dir, _) = fresh("wal");
    let path = dir.path().join("new.db");
    assert!(!path.exists());
    let store = suite::store(&format!("sqlite:{}", path.display())).await;
    store
        .create_client("a", "A", &json!({}))
        .await
        .expect("create");
    assert!(path.exists());
    let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "only the owner may read the store");
    // The write-ahead log sits next to the database while it is open.
    assert!(dir.path().join("new.db-wal").exists(), "not in WAL mode");
    store.close().await;
}

#[tokio::test]
async fn a_missing_directory_is_named() {
    let (dir, _) = fresh("missing");
    let missing = dir.path().join("no-such-dir");
    let url = format!("sqlite://{}", missing.join("store.db").display());
    match open(&url).await {
        Err(e @ StoreError::MissingDirectory { .. }) => {
            let message = e.to_string();
            assert!(message.contains("no-such-dir"), "{message}");
            assert!(message.contains("create it"), "{message}");
        }
        other => panic!("expected MissingDirectory, got {other:?}"),
    }
    assert!(!missing.exists());
}

#[tokio::test]
async fn unsupported_urls_name_the_accepted_forms() {
    for url in [
        "mysql://root:hunter2@localhost/db",
        "store.db",
        "file:///tmp/x.db",
        "",
    ] {
        match open(url).await {
            Err(e @ StoreError::UnsupportedUrl { .. }) => {
                let message = e.to_string();
                assert!(message.contains("sqlite://PATH"), "{message}");
                assert!(message.contains("postgres://"), "{message}");
                assert!(!message.contains("hunter2"), "{message}");
            }
            other => panic!("expected UnsupportedUrl for {url:?}, got {other:?}"),
        }
    }
    for url in ["sqlite://", "sqlite:", "sqlite://x.db?mode=ro"] {
        assert!(
            matches!(open(url).await, Err(StoreError::InvalidUrl { .. })),
            "{url} should be refused"
        );
    }
}

#[tokio::test]
async fn a_directory_is_not_a_database() {
    let (dir, _) = fresh("dir");
    let url = format!("sqlite://{}", dir.path().display());
    assert!(matches!(open(&url).await, Err(StoreError::Connect { .. })));
}

#[tokio::test]
async fn memory_stores_are_private_and_work() {
    let one = suite::store("sqlite::memory:").await;
    let two = suite::store("sqlite::memory:").await;
    let mut rx = one.subscribe();
    one.create_client("a", "A", &json!({"k": "v"}))
        .await
        .expect("create");
    suite::assert_client_change(&suite::next_change(&mut rx).await, "a", Some(1));
    assert_eq!(one.count_clients().await.expect("count"), 1);
    assert_eq!(two.count_clients().await.expect("count"), 0);
}
