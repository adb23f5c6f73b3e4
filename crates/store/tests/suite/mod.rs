//! The store's behaviour, written once and run unchanged against every
//! backend: `tests/sqlite.rs` and `tests/postgres.rs` call [`run_suite!`] with
//! a function that makes a fresh, empty database and returns its URL.
//!
//! Each test opens the store itself through `certbound_store::open`, so the
//! tests that need a second instance or a reopen can open the URL again.

use std::sync::Arc;
use std::time::Duration;

use certbound_store::{
    AuditEvent, AuditFilter, AuditResult, Change, ClientRecord, DEFAULT_AUDIT_LIMIT, NewClient,
    Store, StoreError, open, truncate_to_micros,
};
use serde_json::{Value, json};
use time::macros::datetime;
use time::{OffsetDateTime, UtcOffset};
use tokio::sync::broadcast;

/// How soon a change must reach a subscriber, in this and in another instance.
pub const CHANGE_DEADLINE: Duration = Duration::from_secs(1);

/// Expands to one `#[tokio::test]` per suite function; `$fresh(name)` returns
/// `(guard, url)` for a fresh database, the guard living as long as the test.
macro_rules! run_suite {
    ($fresh:path) => {
        crate::suite::run_suite!(@tests $fresh;
            create_and_get,
            duplicate_id_is_refused,
            bulk_create_is_one_change,
            bulk_create_with_a_taken_id_writes_nothing,
            update_bumps_version,
            update_and_delete_of_unknown_ids,
            list_filters_by_name_and_orders,
            invalid_input_is_refused,
            documents_round_trip_exactly,
            concurrent_creates_all_land,
            revocations_are_idempotent_and_purged,
            audit_filters_and_order,
            audit_batches_are_whole,
            old_audit_events_are_purged,
            changes_reach_own_subscriber,
            concurrent_changes_reach_own_subscriber_in_order,
            changes_reach_another_instance,
            reopening_migrates_idempotently,
            ping_and_location,
            signing_keys_are_recorded_once,
            an_assertion_is_used_once_across_instances,
        );
    };
    (@tests $fresh:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (_guard, url) = $fresh(stringify!($name));
                suite::$name(&url).await;
            }
        )*
    };
}
pub(crate) use run_suite;

pub async fn store(url: &str) -> Arc<dyn Store> {
    match open(url).await {
        Ok(store) => store,
        Err(e) => panic!("cannot open {url}: {e}"),
    }
}

fn doc(id: &str, name: &str) -> Value {
    json!({ "resourceType": "ClientApplication", "id": id, "name": name, "certificateTrustStore": [] })
}

async fn create(store: &dyn Store, id: &str, name: &str) -> ClientRecord {
    match store.create_client(id, name, &doc(id, name)).await {
        Ok(record) => record,
        Err(e) => panic!("create {id}: {e}"),
    }
}

/// The next change announced, waiting at most [`CHANGE_DEADLINE`].
pub async fn next_change(rx: &mut broadcast::Receiver<Change>) -> Change {
    match tokio::time::timeout(CHANGE_DEADLINE, rx.recv()).await {
        Ok(Ok(change)) => change,
        Ok(Err(e)) => panic!("subscription failed: {e}"),
        Err(_) => panic!("no change announced within {CHANGE_DEADLINE:?}"),
    }
}

/// A change announcing a change of the registry that `id` is part of: the
/// client itself (with the generation its write reached), or, from a store
/// that learns of it by polling, the registry as a whole.
#[track_caller]
pub fn assert_client_change(change: &Change, id: &str, generation: Option<i64>) {
    match change {
        Change::Client {
            id: got,
            generation: g,
        } => {
            assert_eq!(&**got, id, "{change:?}");
            if let Some(want) = generation {
                assert_eq!(*g, want, "{change:?}");
            }
        }
        Change::Clients => {}
        other => panic!("expected a change of client {id}, got {other:?}"),
    }
}

fn ids(records: &[ClientRecord]) -> Vec<&str> {
    records.iter().map(|r| r.id.as_str()).collect()
}

pub async fn create_and_get(url: &str) {
    let store = store(url).await;
    let before = truncate_to_micros(OffsetDateTime::now_utc());
    let created = create(&*store, "app-1", "App One").await;
    let after = OffsetDateTime::now_utc();
    assert_eq!(created.id, "app-1");
    assert_eq!(created.name, "App One");
    assert_eq!(created.document, doc("app-1", "App One"));
    assert_eq!(created.version, 1);
    assert_eq!(created.created_at, created.updated_at);
    assert!(before <= created.created_at && created.created_at <= after);
    assert_eq!(created.created_at.offset(), UtcOffset::UTC);

    let got = store.get_client("app-1").await.expect("get");
    assert_eq!(got.as_ref(), Some(&created));
    assert_eq!(store.get_client("app-2").await.expect("get").as_ref(), None);
    assert_eq!(store.get_client("APP-1").await.expect("get").as_ref(), None);
    assert_eq!(store.count_clients().await.expect("count"), 1);
    assert_eq!(store.registry_generation().await.expect("generation"), 1);
}

pub async fn duplicate_id_is_refused(url: &str) {
    let store = store(url).await;
    let first = create(&*store, "app-1", "First").await;
    let err = store
        .create_client("app-1", "Second", &doc("app-1", "Second"))
        .await
        .expect_err("duplicate id");
    match &err {
        StoreError::AlreadyExists { id } => assert_eq!(id, "app-1"),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    assert!(err.to_string().contains("app-1"), "{err}");
    // Nothing was written: the first record and the generation are unchanged.
    assert_eq!(store.get_client("app-1").await.expect("get"), Some(first));
    assert_eq!(store.count_clients().await.expect("count"), 1);
    assert_eq!(store.registry_generation().await.expect("generation"), 1);
}

fn new_clients(ids: &[&str]) -> Vec<NewClient> {
    ids.iter()
        .map(|id| NewClient {
            id: (*id).to_owned(),
            name: format!("Name of {id}"),
            document: doc(id, &format!("Name of {id}")),
        })
        .collect()
}

pub async fn bulk_create_is_one_change(url: &str) {
    let store = store(url).await;
    let other = self::store(url).await;
    let mut own = store.subscribe();
    let mut from_other = other.subscribe();
    create(&*store, "app-0", "Name of app-0").await;
    assert_client_change(&next_change(&mut own).await, "app-0", Some(1));
    assert_client_change(&next_change(&mut from_other).await, "app-0", Some(1));

    let clients = new_clients(&["app-1", "app-2", "app-3"]);
    let before = truncate_to_micros(OffsetDateTime::now_utc());
    assert_eq!(store.create_clients(&clients).await.expect("create"), 3);
    for client in &clients {
        let got = store
            .get_client(&client.id)
            .await
            .expect("get")
            .unwrap_or_else(|| panic!("{} was not created", client.id));
        assert_eq!(
            (&got.name, &got.document, got.version),
            (&client.name, &client.document, 1)
        );
        assert_eq!(got.created_at, got.updated_at);
        assert!(got.created_at >= before);
    }
    let listed = store.list_clients(None).await.expect("list");
    assert_eq!(ids(&listed), ["app-0", "app-1", "app-2", "app-3"]);
    // One generation for the whole call, announced as a full reload, here
    // and to another instance.
    assert_eq!(store.registry_generation().await.expect("generation"), 2);
    assert_eq!(next_change(&mut own).await, Change::Clients);
    assert_eq!(next_change(&mut from_other).await, Change::Clients);
    assert!(own.try_recv().is_err(), "one announcement per call");

    // Nothing to create: nothing written, nothing announced.
    assert_eq!(store.create_clients(&[]).await.expect("create"), 0);
    assert_eq!(store.registry_generation().await.expect("generation"), 2);
    assert!(own.try_recv().is_err());

    // Enough clients for several INSERTs (more than either backend puts in one).
    let many: Vec<String> = (0..5000).map(|i| format!("bulk-{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_eq!(
        store
            .create_clients(&new_clients(&many))
            .await
            .expect("create"),
        5000
    );
    assert_eq!(store.count_clients().await.expect("count"), 5004);
    assert_eq!(store.registry_generation().await.expect("generation"), 3);
    let last = store.get_client("bulk-4999").await.expect("get");
    assert_eq!(last.map(|c| c.version), Some(1));
}

pub async fn bulk_create_with_a_taken_id_writes_nothing(url: &str) {
    let store = store(url).await;
    create(&*store, "taken", "Taken").await;
    let mut rx = store.subscribe();
    let refused = |result: Result<u64, StoreError>, want: &str| match result {
        Err(StoreError::AlreadyExists { id }) => assert_eq!(id, want),
        other => panic!("expected AlreadyExists for {want}, got {other:?}"),
    };
    refused(
        store
            .create_clients(&new_clients(&["new-1", "taken", "new-2"]))
            .await,
        "taken",
    );
    // Given twice in one call: the second would find the id taken.
    refused(
        store
            .create_clients(&new_clients(&["new-1", "new-2", "new-1"]))
            .await,
        "new-1",
    );
    // Taken in the last of several INSERTs: the earlier ones are undone too.
    let mut many: Vec<String> = (0..5000).map(|i| format!("bulk-{i}")).collect();
    many.push("taken".to_owned());
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    refused(store.create_clients(&new_clients(&many)).await, "taken");
    // Invalid input is refused before anything is written.
    assert!(matches!(
        store.create_clients(&new_clients(&["new-1", ""])).await,
        Err(StoreError::InvalidInput { .. })
    ));

    assert_eq!(
        ids(&store.list_clients(None).await.expect("list")),
        ["taken"]
    );
    assert_eq!(store.registry_generation().await.expect("generation"), 1);
    assert!(rx.try_recv().is_err(), "a refused call announces nothing");
}

pub async fn update_bumps_version(url: &str) {
    let store = store(url).await;
    let created = create(&*store, "app-1", "Old").await;
    let new_doc = json!({ "id": "app-1", "name": "New", "extra": [1, 2, 3] });
    let updated = store
        .update_client("app-1", "New", &new_doc, None)
        .await
        .expect("update");
    assert_eq!(updated.version, 2);
    assert_eq!(updated.name, "New");
    assert_eq!(updated.document, new_doc);
    assert_eq!(updated.created_at, created.created_at);
    assert!(updated.updated_at >= created.updated_at);
    assert_eq!(store.get_client("app-1").await.expect("get"), Some(updated));

    let again = store
        .update_client("app-1", "Newer", &new_doc, None)
        .await
        .expect("update");
    assert_eq!(again.version, 3);
    assert_eq!(store.registry_generation().await.expect("generation"), 3);

    // With the version it read, an update applies only over that version.
    let based = store
        .update_client("app-1", "Based", &new_doc, Some(3))
        .await
        .expect("update at version 3");
    assert_eq!(based.version, 4);
    match store
        .update_client("app-1", "Stale", &json!({"stale": true}), Some(3))
        .await
    {
        Err(StoreError::VersionMismatch {
            id,
            expected,
            current,
        }) => assert_eq!((id.as_str(), expected, current), ("app-1", 3, 4)),
        other => panic!("expected VersionMismatch, got {other:?}"),
    }
    // Nothing was written: the stored client is the one of version 4.
    assert_eq!(store.get_client("app-1").await.expect("get"), Some(based));
    assert_eq!(store.registry_generation().await.expect("generation"), 4);
    match store.update_client("nope", "x", &json!({}), Some(1)).await {
        Err(StoreError::NotFound { id }) => assert_eq!(id, "nope"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    store
        .update_client("app-1", "Newer", &new_doc, None)
        .await
        .expect("update without a version");
    // Found by the new name only.
    assert!(
        store
            .list_clients(Some("Old"))
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        ids(&store.list_clients(Some("newer")).await.expect("list")),
        ["app-1"]
    );
}

pub async fn update_and_delete_of_unknown_ids(url: &str) {
    let store = store(url).await;
    create(&*store, "app-1", "One").await;
    match store.update_client("nope", "x", &json!({}), None).await {
        Err(StoreError::NotFound { id }) => assert_eq!(id, "nope"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(!store.delete_client("nope").await.expect("delete"));
    assert_eq!(store.registry_generation().await.expect("generation"), 1);

    assert!(store.delete_client("app-1").await.expect("delete"));
    assert!(!store.delete_client("app-1").await.expect("delete twice"));
    assert_eq!(store.get_client("app-1").await.expect("get"), None);
    assert_eq!(store.count_clients().await.expect("count"), 0);
    assert_eq!(store.registry_generation().await.expect("generation"), 2);
    match store.update_client("app-1", "One", &json!({}), None).await {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("expected NotFound after delete, got {other:?}"),
    }
    // The id is free again.
    assert_eq!(create(&*store, "app-1", "Reborn").await.version, 1);
}

pub async fn list_filters_by_name_and_orders(url: &str) {
    let store = store(url).await;
    assert!(store.list_clients(None).await.expect("list").is_empty());
    for (id, name) in [
        ("c", "Beta"),
        ("b", "alpha"),
        ("a", "Beta"),
        ("d", "Alpha"),
        ("e", "Äpfel"),
        ("f", "Alphabet"),
    ] {
        create(&*store, id, name).await;
    }
    // Bytewise by name, then id: upper case before lower case, on both backends.
    let all = store.list_clients(None).await.expect("list");
    assert_eq!(ids(&all), ["d", "f", "a", "c", "b", "e"]);
    // Exact name, ignoring case; not a prefix match.
    let alphas = store.list_clients(Some("ALPHA")).await.expect("list");
    assert_eq!(ids(&alphas), ["d", "b"]);
    let betas = store.list_clients(Some("beta")).await.expect("list");
    assert_eq!(ids(&betas), ["a", "c"]);
    let apfel = store.list_clients(Some("äPFEL")).await.expect("list");
    assert_eq!(ids(&apfel), ["e"]);
    assert!(
        store
            .list_clients(Some("alph"))
            .await
            .expect("list")
            .is_empty()
    );
    assert!(store.list_clients(Some("")).await.expect("list").is_empty());
    assert_eq!(store.count_clients().await.expect("count"), 6);
}

pub async fn invalid_input_is_refused(url: &str) {
    let store = store(url).await;
    for (id, name) in [("", "x"), ("a\0b", "x"), ("ok", "bad\0name")] {
        match store.create_client(id, name, &json!({})).await {
            Err(StoreError::InvalidInput { .. }) => {}
            other => panic!("expected InvalidInput for {id:?}/{name:?}, got {other:?}"),
        }
    }
    create(&*store, "ok", "fine").await;
    match store.update_client("ok", "bad\0", &json!({}), None).await {
        Err(StoreError::InvalidInput { field, .. }) => assert_eq!(field, "client name"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    // Lookups of what cannot be stored find nothing.
    assert_eq!(store.get_client("a\0b").await.expect("get"), None);
    assert!(!store.delete_client("a\0b").await.expect("delete"));
    assert!(
        store
            .list_clients(Some("a\0"))
            .await
            .expect("list")
            .is_empty()
    );
    assert!(!store.is_revoked("j\0").await.expect("is_revoked"));
    let far = datetime!(2100-01-01 0:00 UTC);
    assert!(matches!(
        store.revoke("", "ok", far).await,
        Err(StoreError::InvalidInput { .. })
    ));
    assert!(matches!(
        store.revoke("j\0", "ok", far).await,
        Err(StoreError::InvalidInput { .. })
    ));
    assert_eq!(store.count_clients().await.expect("count"), 1);
    assert_eq!(store.registry_generation().await.expect("generation"), 1);
}

/// A PEM bundle of `n` fake certificates, 64-column base64 lines.
fn big_pem(n: usize) -> String {
    let line: String = "MIIBkTCB+wIJAKHBfpegPjMCMA0GCSqGSIb3DQEBCwUAMBExDzANBgNVBAMMBnVu"
        .chars()
        .take(64)
        .collect();
    let mut pem = String::new();
    for i in 0..n {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        for _ in 0..24 {
            pem.push_str(&line);
            pem.push('\n');
        }
        pem.push_str(&format!("{i:064}\n"));
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    pem
}

pub async fn documents_round_trip_exactly(url: &str) {
    let store = store(url).await;
    let pem = big_pem(150);
    assert!(pem.len() > 250_000);
    let document = json!({
        "resourceType": "ClientApplication",
        "id": "ünï-🚀",
        "name": "Ελληνικά 日本語 עברית \u{202e}rtl",
        "certificateTrustStore": [pem, "-----BEGIN CERTIFICATE-----\r\nCRLF\r\n-----END CERTIFICATE-----\r\n"],
        "escapes": "quote \" backslash \\ tab \t newline \n nul \u{0} bell \u{7} del \u{7f}",
        "combining": "e\u{301} vs \u{e9}",
        "astral": "𝄞 👩‍👩‍👧 \u{10ffff}",
        "numbers": [0, -1, i64::MIN, i64::MAX, u64::MAX, 0.1, -2.5e-300, 1.7976931348623157e308],
        "nested": { "": "empty key", "a": { "b": { "c": [null, true, false, [], {}] } } },
        "emptyString": "",
    });
    let created = store
        .create_client("ünï-🚀", "Ελληνικά", &document)
        .await
        .expect("create");
    assert_eq!(created.document, document);
    let got = store
        .get_client("ünï-🚀")
        .await
        .expect("get")
        .expect("present");
    assert_eq!(got.document, document);
    assert_eq!(got.id, "ünï-🚀");
    assert_eq!(got.document["certificateTrustStore"][0], json!(pem));
    let listed = store.list_clients(Some("ελληνικά")).await.expect("list");
    assert_eq!(ids(&listed), ["ünï-🚀"]);
    assert_eq!(listed[0].document, document);

    // Non-object documents are kept too: the store does not interpret them.
    for other in [json!([1, "two"]), json!("just a string"), json!(null)] {
        let updated = store
            .update_client("ünï-🚀", "Ελληνικά", &other, None)
            .await
            .expect("update");
        assert_eq!(updated.document, other);
        let got = store
            .get_client("ünï-🚀")
            .await
            .expect("get")
            .expect("present");
        assert_eq!(got.document, other);
    }
}

pub async fn concurrent_creates_all_land(url: &str) {
    let store = store(url).await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let id = format!("app-{i:02}");
                store
                    .create_client(&id, &format!("App {i:02}"), &doc(&id, "x"))
                    .await
                    .map(|r| r.id)
            })
        })
        .collect();
    for task in tasks {
        match task.await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("a concurrent create failed: {e}"),
            Err(e) => panic!("a create task panicked: {e}"),
        }
    }
    assert_eq!(store.count_clients().await.expect("count"), 50);
    let all = store.list_clients(None).await.expect("list");
    let expected: Vec<String> = (0..50).map(|i| format!("app-{i:02}")).collect();
    assert_eq!(
        ids(&all),
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(store.registry_generation().await.expect("generation"), 50);
}

pub async fn revocations_are_idempotent_and_purged(url: &str) {
    let store = store(url).await;
    let now = datetime!(2026-06-01 12:00:00.5 UTC);
    let past = now - time::Duration::minutes(5);
    let future = datetime!(2026-06-01 15:00:00.123456789 +02:00); // 13:00 UTC
    assert_eq!(store.revocation_generation().await.expect("gen"), 0);
    assert!(
        store
            .revoke("jti-live", "app-1", future)
            .await
            .expect("revoke")
    );
    assert!(
        !store
            .revoke("jti-live", "app-1", future)
            .await
            .expect("again")
    );
    assert!(
        !store
            .revoke("jti-live", "app-2", past)
            .await
            .expect("again, other data")
    );
    assert!(
        store
            .revoke("jti-dead", "app-1", past)
            .await
            .expect("revoke")
    );
    assert!(
        store
            .revoke("jti-edge", "app-1", now)
            .await
            .expect("revoke")
    );
    assert_eq!(store.revocation_generation().await.expect("gen"), 3);
    // Revocations are not registry changes.
    assert_eq!(store.registry_generation().await.expect("gen"), 0);

    assert!(store.is_revoked("jti-live").await.expect("is_revoked"));
    assert!(
        store
            .is_revoked("jti-dead")
            .await
            .expect("expired still counts")
    );
    assert!(!store.is_revoked("jti-other").await.expect("is_revoked"));
    assert!(!store.is_revoked("JTI-LIVE").await.expect("case matters"));

    // Active means expiring strictly after `now`; the first expiry is kept.
    let active = store.active_revocations(now).await.expect("active");
    assert_eq!(
        active,
        vec![("jti-live".to_owned(), truncate_to_micros(future))]
    );
    assert_eq!(active[0].1.offset(), UtcOffset::UTC);
    assert_eq!(
        store.active_revocations(past).await.expect("active").len(),
        2
    );

    assert_eq!(store.purge_expired(now).await.expect("purge"), 2);
    assert_eq!(store.purge_expired(now).await.expect("purge again"), 0);
    assert!(!store.is_revoked("jti-dead").await.expect("is_revoked"));
    assert!(!store.is_revoked("jti-edge").await.expect("is_revoked"));
    assert!(store.is_revoked("jti-live").await.expect("is_revoked"));
    assert_eq!(
        store.active_revocations(now).await.expect("active").len(),
        1
    );
}

fn event(at: OffsetDateTime, kind: &str, client: Option<&str>, result: AuditResult) -> AuditEvent {
    AuditEvent {
        at,
        kind: kind.to_owned(),
        client_id: client.map(str::to_owned),
        result,
        ..AuditEvent::new(kind, result)
    }
}

pub async fn audit_filters_and_order(url: &str) {
    let store = store(url).await;
    let t0 = datetime!(2026-03-01 08:00:00.000001 UTC);
    let at = |s: i64| t0 + time::Duration::seconds(s);
    let mut full = event(at(3), "token", Some("app-1"), AuditResult::Failure);
    full.method = Some("tls_client_auth".into());
    full.reason = Some("certificate not in trust store".into());
    full.thumbprint = Some("q2KUXxtZrHYeW9g1X0oVjJk7Z6kQm3fCkVQ0Yk6bQvA".into());
    full.subject = Some("CN=évil\0app,O=Ünïcode".into());
    full.peer = Some("127.0.0.1:50000".into());
    full.listener = Some("mtls".into());
    full.detail = Some("{\"chain\":2}".into());
    let events = vec![
        event(at(1), "token", Some("app-1"), AuditResult::Success),
        event(at(2), "introspect", Some("app-2"), AuditResult::Success),
        full.clone(),
        event(at(4), "handshake", None, AuditResult::Failure),
        event(at(4), "admin", Some("app-2"), AuditResult::Success),
        event(at(5), "revoke", Some("app-1"), AuditResult::Success),
    ];
    store.append_audit(&events).await.expect("append");
    store.append_audit(&[]).await.expect("append nothing");

    let all = store
        .query_audit(&AuditFilter::default())
        .await
        .expect("query");
    let kinds: Vec<&str> = all.iter().map(|e| e.kind.as_str()).collect();
    // Newest first; same instant: last appended first.
    assert_eq!(
        kinds,
        [
            "revoke",
            "admin",
            "handshake",
            "token",
            "introspect",
            "token"
        ]
    );
    // Every field round-trips; NUL in text is stored as U+FFFD.
    let mut expected = full.clone();
    expected.subject = Some("CN=évil\u{FFFD}app,O=Ünïcode".into());
    assert_eq!(all[3], expected);
    assert_eq!(all[5], events[0]);

    let only = |filter: AuditFilter| {
        let store = store.clone();
        async move {
            store
                .query_audit(&filter)
                .await
                .expect("query")
                .into_iter()
                .map(|e| (e.kind, e.at))
                .collect::<Vec<_>>()
        }
    };
    let app1 = only(AuditFilter {
        client_id: Some("app-1".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(
        app1,
        [
            ("revoke".into(), at(5)),
            ("token".into(), at(3)),
            ("token".into(), at(1))
        ]
    );
    let failures = only(AuditFilter {
        result: Some(AuditResult::Failure),
        ..Default::default()
    })
    .await;
    assert_eq!(
        failures,
        [("handshake".into(), at(4)), ("token".into(), at(3))]
    );
    let since = only(AuditFilter {
        since: Some(at(4)),
        ..Default::default()
    })
    .await;
    assert_eq!(since.len(), 3, "since is inclusive: {since:?}");
    let tokens = only(AuditFilter {
        kind: Some("token".into()),
        limit: Some(1),
        ..Default::default()
    })
    .await;
    assert_eq!(tokens, [("token".into(), at(3))]);
    let combined = only(AuditFilter {
        client_id: Some("app-1".into()),
        since: Some(at(2)),
        result: Some(AuditResult::Success),
        kind: Some("revoke".into()),
        limit: Some(10),
    })
    .await;
    assert_eq!(combined, [("revoke".into(), at(5))]);
    let none = only(AuditFilter {
        client_id: Some("nobody".into()),
        ..Default::default()
    })
    .await;
    assert!(none.is_empty());
    let zero = only(AuditFilter {
        limit: Some(0),
        ..Default::default()
    })
    .await;
    assert!(zero.is_empty());
}

pub async fn old_audit_events_are_purged(url: &str) {
    let store = store(url).await;
    let t0 = datetime!(2026-03-01 08:00:00.000001 UTC);
    let at = |s: i64| t0 + time::Duration::seconds(s);
    let events: Vec<AuditEvent> = (0..5)
        .map(|i| event(at(i), "token", Some("app-1"), AuditResult::Success))
        .collect();
    store.append_audit(&events).await.expect("append");
    // Strictly before the cut-off: the event at the cut-off itself stays.
    assert_eq!(store.purge_audit(at(2)).await.expect("purge"), 2);
    let left = store
        .query_audit(&AuditFilter::default())
        .await
        .expect("query");
    assert_eq!(
        left.iter().map(|e| e.at).collect::<Vec<_>>(),
        [at(4), at(3), at(2)]
    );
    assert_eq!(store.purge_audit(at(2)).await.expect("purge again"), 0);
    assert_eq!(store.purge_audit(at(100)).await.expect("purge all"), 3);
    assert!(
        store
            .query_audit(&AuditFilter::default())
            .await
            .expect("query")
            .is_empty()
    );
}

pub async fn audit_batches_are_whole(url: &str) {
    let store = store(url).await;
    let t0 = datetime!(2026-03-01 00:00 UTC);
    let events: Vec<AuditEvent> = (0..1234)
        .map(|i| {
            let mut e = event(
                t0 + time::Duration::milliseconds(i),
                "token",
                Some("bulk"),
                AuditResult::Success,
            );
            e.detail = Some(format!("event {i}"));
            e
        })
        .collect();
    store.append_audit(&events).await.expect("append");
    let default = store
        .query_audit(&AuditFilter::default())
        .await
        .expect("query");
    assert_eq!(default.len(), DEFAULT_AUDIT_LIMIT as usize);
    assert_eq!(default[0].detail.as_deref(), Some("event 1233"));
    let all = store
        .query_audit(&AuditFilter {
            limit: Some(5000),
            ..Default::default()
        })
        .await
        .expect("query");
    assert_eq!(all.len(), 1234);
    assert_eq!(all.last(), events.first());
}

pub async fn changes_reach_own_subscriber(url: &str) {
    let store = store(url).await;
    let mut rx = store.subscribe();
    create(&*store, "app-1", "One").await;
    let own = |change: Change, generation: i64| {
        assert_eq!(
            change,
            Change::Client {
                id: "app-1".into(),
                generation
            },
            "a store tells its own subscribers which client changed"
        );
    };
    own(next_change(&mut rx).await, 1);
    store
        .revoke("jti-1", "app-1", datetime!(2100-01-01 0:00 UTC))
        .await
        .expect("revoke");
    assert_eq!(next_change(&mut rx).await, Change::Revocations);

    // Refused or no-op writes and audit appends announce nothing: the next
    // announcement is the one of the next real change.
    let _ = store.create_client("app-1", "dup", &json!({})).await;
    assert!(!store.delete_client("nope").await.expect("delete"));
    store
        .revoke("jti-1", "app-1", datetime!(2100-01-01 0:00 UTC))
        .await
        .expect("revoke");
    store
        .append_audit(&[AuditEvent::new("admin", AuditResult::Success)])
        .await
        .expect("append");
    store
        .purge_expired(datetime!(2200-01-01 0:00 UTC))
        .await
        .expect("purge");
    store
        .update_client("app-1", "Uno", &json!({}), None)
        .await
        .expect("update");
    own(next_change(&mut rx).await, 2);
    assert!(store.delete_client("app-1").await.expect("delete"));
    own(next_change(&mut rx).await, 3);
    assert!(rx.try_recv().is_err(), "one announcement per change");
}

/// Commits of one process that race each other reach its subscribers one
/// by one, in generation order (a subscriber that sees a gap reloads
/// everything), and never as another process's change (which a poll that
/// reads a commit before it is announced could take it for).
pub async fn concurrent_changes_reach_own_subscriber_in_order(url: &str) {
    const WRITERS: usize = 40;
    let store = store(url).await;
    let mut rx = store.subscribe();
    let start = store.registry_generation().await.expect("generation");
    let mut writers = tokio::task::JoinSet::new();
    for i in 0..WRITERS {
        let store = Arc::clone(&store);
        writers.spawn(async move {
            let id = format!("app-{i}");
            create(&*store, &id, &id).await;
        });
    }
    while let Some(done) = writers.join_next().await {
        done.expect("a writer panicked");
    }
    let mut generations = Vec::new();
    for _ in 0..WRITERS {
        match next_change(&mut rx).await {
            Change::Client { generation, .. } => generations.push(generation),
            other => panic!("after {generations:?}: expected a client's change, got {other:?}"),
        }
    }
    let expected: Vec<i64> = (start + 1..).take(WRITERS).collect();
    assert_eq!(
        generations, expected,
        "one announcement per commit, in order"
    );
}

pub async fn changes_reach_another_instance(url: &str) {
    let a = store(url).await;
    let b = store(url).await;
    let mut from_a = a.subscribe();
    let mut from_b = b.subscribe();

    create(&*a, "app-1", "One").await;
    assert_client_change(&next_change(&mut from_b).await, "app-1", Some(1));
    assert!(b.get_client("app-1").await.expect("get").is_some());
    assert_client_change(&next_change(&mut from_a).await, "app-1", Some(1));

    b.revoke("jti-1", "app-1", datetime!(2100-01-01 0:00 UTC))
        .await
        .expect("revoke");
    assert_eq!(next_change(&mut from_a).await, Change::Revocations);
    assert!(a.is_revoked("jti-1").await.expect("is_revoked"));
    assert_eq!(next_change(&mut from_b).await, Change::Revocations);

    b.update_client("app-1", "Uno", &json!({}), None)
        .await
        .expect("update");
    assert_client_change(&next_change(&mut from_a).await, "app-1", Some(2));
    assert_eq!(a.registry_generation().await.expect("gen"), 2);
    assert_eq!(
        a.registry_generation().await.expect("gen"),
        b.registry_generation().await.expect("gen")
    );
}

pub async fn reopening_migrates_idempotently(url: &str) {
    let first = store(url).await;
    create(&*first, "app-1", "One").await;
    first
        .revoke("jti-1", "app-1", datetime!(2100-01-01 0:00 UTC))
        .await
        .expect("revoke");
    first.close().await;
    assert!(first.ping().await.is_err(), "a closed store refuses work");
    drop(first);

    let second = store(url).await;
    assert_eq!(second.count_clients().await.expect("count"), 1);
    assert!(second.is_revoked("jti-1").await.expect("is_revoked"));
    assert_eq!(second.registry_generation().await.expect("gen"), 1);
    assert_eq!(second.revocation_generation().await.expect("gen"), 1);
    // A third open while the second is live is fine too.
    let third = store(url).await;
    assert_eq!(third.count_clients().await.expect("count"), 1);
    create(&*third, "app-2", "Two").await;
    assert_eq!(second.count_clients().await.expect("count"), 2);
}

pub async fn signing_keys_are_recorded_once(url: &str) {
    let store = store(url).await;
    assert!(store.signing_keys().await.expect("signing keys").is_empty());
    store
        .record_signing_key("kid-one")
        .await
        .expect("signing keys");
    store
        .record_signing_key("kid-one")
        .await
        .expect("signing keys");
    store
        .record_signing_key("kid-two")
        .await
        .expect("signing keys");
    let mut kids = store.signing_keys().await.expect("signing keys");
    kids.sort();
    assert_eq!(kids, ["kid-one", "kid-two"]);
    assert!(store.record_signing_key("").await.is_err());
    store.close().await;
}

pub async fn an_assertion_is_used_once_across_instances(url: &str) {
    let (one, two) = (store(url).await, store(url).await);
    let later = time::OffsetDateTime::now_utc() + time::Duration::minutes(5);
    assert!(one.use_assertion("app", "jti-1", later).await.expect("use"));
    // A replay, to this instance or another on the same database.
    assert!(!one.use_assertion("app", "jti-1", later).await.expect("use"));
    assert!(!two.use_assertion("app", "jti-1", later).await.expect("use"));
    // The same jti of another client is another assertion.
    assert!(
        two.use_assertion("other", "jti-1", later)
            .await
            .expect("use")
    );
    // An expired entry is deleted, so its jti may come again.
    let past = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    assert!(one.use_assertion("app", "jti-2", past).await.expect("use"));
    assert!(one.use_assertion("app", "jti-2", later).await.expect("use"));
    assert!(one.use_assertion("app", "nul\0", later).await.is_err());
    // A batch, one transaction: a jti twice in it is new once.
    let used = |jti: &str| certbound_store::AssertionUse {
        client_id: "app".into(),
        jti: jti.into(),
        expires_at: later,
    };
    let batch = [used("b-1"), used("b-1"), used("jti-1"), used("b-2")];
    assert_eq!(
        two.use_assertions(&batch).await.expect("batch"),
        [true, false, false, true]
    );
    // A bad entry refuses the whole batch, and nothing of it is stored.
    assert!(
        two.use_assertions(&[used("b-3"), used("nul\0")])
            .await
            .is_err()
    );
    assert!(one.use_assertion("app", "b-3", later).await.expect("use"));
    one.close().await;
    two.close().await;
}

pub async fn ping_and_location(url: &str) {
    let store = store(url).await;
    store.ping().await.expect("ping");
    let location = store.location();
    assert!(!location.is_empty());
    if let Some(password) = password_of(url) {
        assert!(!location.contains(password), "{location}");
        assert!(
            !format!("{store:?}").contains(password),
            "Debug leaks the password"
        );
    }
}

/// The password in a `scheme://user:password@host/...` URL.
fn password_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let userinfo = rest.split_once('@')?.0;
    userinfo.split_once(':').map(|(_, p)| p)
}
