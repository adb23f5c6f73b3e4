//! The store suite against PostgreSQL, plus what only PostgreSQL has:
//! concurrent opens, connection errors and the LISTEN reconnection.
//!
//! Every test gets a fresh database from `certbound_testkit::postgres`, which
//! starts the local cluster if needed; without PostgreSQL these tests fail
//! with instructions, they never skip.

mod suite;

use std::time::Duration;

use certbound_store::{Change, RECONNECT_BACKOFF_MAX, StoreError, open};
use certbound_testkit::postgres;
use serde_json::json;
use sqlx::Connection;

fn fresh(name: &str) -> ((), String) {
    ((), postgres::database(name))
}

suite::run_suite!(fresh);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_opens_of_a_new_database_migrate_once() {
    let url = postgres::database("concurrent_opens");
    let (a, b, c) = tokio::join!(open(&url), open(&url), open(&url));
    for store in [a, b, c] {
        match store {
            Ok(store) => assert_eq!(store.count_clients().await.expect("count"), 0),
            Err(e) => panic!("concurrent open failed: {e}"),
        }
    }
}

#[tokio::test]
async fn connection_errors_say_what_failed_without_the_password() {
    let url = postgres::database("bad_login");
    let wrong = url.replacen(postgres::PASSWORD, "wrong-password", 1);
    match open(&wrong).await {
        Err(e @ StoreError::Connect { .. }) => {
            let message = e.to_string();
            assert!(
                message.contains("password authentication failed"),
                "{message}"
            );
            assert!(!message.contains("wrong-password"), "{message}");
        }
        other => panic!("expected Connect, got {other:?}"),
    }
    let Some((base, _)) = url.rsplit_once('/') else {
        panic!("no database in {url}")
    };
    match open(&format!("{base}/cbtest_no_such_database")).await {
        Err(e @ StoreError::Connect { .. }) => {
            assert!(e.to_string().contains("does not exist"), "{e}");
            assert!(!e.to_string().contains(postgres::PASSWORD), "{e}");
        }
        other => panic!("expected Connect, got {other:?}"),
    }
}

/// Kills the store's LISTEN connection from outside, as a failover or an
/// idle-connection reaper would: the store reconnects and says Resync, and
/// changes from other instances arrive again afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_listener_reconnects_and_asks_for_a_resync() {
    let url = postgres::database("listener_reconnect");
    let watcher = suite::store(&url).await;
    let writer = suite::store(&url).await;
    let mut rx = watcher.subscribe();

    let mut admin = sqlx::PgConnection::connect(&url).await.expect("connect");
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'certbound-listener'",
    )
    .fetch_all(&mut admin)
    .await
    .expect("terminate");
    assert_eq!(killed, [true, true], "one listener per store");

    let resync = tokio::time::timeout(RECONNECT_BACKOFF_MAX + Duration::from_secs(5), rx.recv())
        .await
        .expect("no Resync after the listener was killed")
        .expect("subscription");
    assert_eq!(resync, Change::Resync);

    writer
        .create_client("a", "A", &json!({}))
        .await
        .expect("create");
    suite::assert_client_change(&suite::next_change(&mut rx).await, "a", Some(1));
}
