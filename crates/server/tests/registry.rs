//! The registry follows the store client by client: a change recompiles the
//! client changed and shares every other one with the previous view; a
//! change this instance was not told of (another process on the same SQLite
//! file) is healed by polling the generation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use certbound_testkit::{LeafOptions, self_signed};
use common::{Harness, client_doc, eventually};
use serde_json::json;

/// Waits until the registry has every change the store has made.
async fn settled(h: &Harness) {
    let state = &h.running.state;
    eventually("the registry reaches the store's generation", || async {
        let store = state.store.registry_generation().await.unwrap();
        state.registry.snapshot().generation == store
    })
    .await;
}

#[tokio::test]
async fn a_change_recompiles_only_the_client_changed() {
    let h = Harness::start("").await;
    let leaf = self_signed(&LeafOptions::client("many").around_now());
    // Written straight to the store: the watcher applies them one by one,
    // so once the view reaches the store's generation it has no change left
    // in hand (a reload here could race with an apply already under way).
    let store = &h.running.state.store;
    for i in 0..40 {
        let id = format!("c{i}");
        store
            .create_client(&id, &id, &client_doc(&id, &leaf.cert_pem()))
            .await
            .unwrap();
    }
    settled(&h).await;
    let registry = &h.running.state.registry;
    let before = registry.snapshot();
    assert_eq!(before.len(), 40);
    let compiled = registry.compiled();

    let mut doc = client_doc("c7", &leaf.cert_pem());
    doc["scope"] = json!("claims.read");
    let reply = h
        .admin("PUT", "/admin/ClientApplication/c7", Some(&doc), None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    // Seen at once by this instance (the write path refreshes the client).
    let now = registry.snapshot();
    assert_eq!(
        now.get("c7").unwrap().allowed_scopes,
        Some(vec!["claims.read".to_owned()])
    );
    settled(&h).await;
    let after = registry.snapshot();
    assert_eq!(after.len(), 40);
    assert_eq!(after.get("c7").unwrap().version, 2);
    // The write path's refresh and the announcement's: never the other 39.
    let recompiled = registry.compiled() - compiled;
    assert!(
        recompiled <= 2,
        "{recompiled} clients compiled for one change"
    );
    for i in (0..40).filter(|i| *i != 7) {
        let id = format!("c{i}");
        assert!(
            Arc::ptr_eq(before.get(&id).unwrap(), after.get(&id).unwrap()),
            "{id} was compiled again"
        );
    }

    // Removed: gone from the view at once, and nothing else compiled.
    let compiled = registry.compiled();
    let reply = h
        .admin("DELETE", "/admin/ClientApplication/c8", None, None)
        .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert!(registry.snapshot().get("c8").is_none());
    settled(&h).await;
    assert_eq!(registry.snapshot().len(), 39);
    assert!(registry.compiled() - compiled <= 2);
}

#[tokio::test]
async fn a_change_made_by_another_process_is_picked_up_by_polling() {
    let h = Harness::start("").await;
    let path = h.dir.path().join("data").join("certbound.db");
    let other = certbound_store::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let leaf = self_signed(&LeafOptions::client("elsewhere").around_now());
    other
        .create_client(
            "elsewhere",
            "elsewhere",
            &client_doc("elsewhere", &leaf.cert_pem()),
        )
        .await
        .unwrap();
    let registry = &h.running.state.registry;
    eventually("the client written by another process is seen", || async {
        registry.snapshot().get("elsewhere").is_some()
    })
    .await;
    settled(&h).await;
    other.delete_client("elsewhere").await.unwrap();
    eventually("the client deleted by another process is gone", || async {
        registry.snapshot().get("elsewhere").is_none()
    })
    .await;
}

#[tokio::test]
async fn a_large_registry_loads_on_every_core_and_skips_what_does_not_validate() {
    let h = Harness::start("").await;
    let leaf = self_signed(&LeafOptions::client("large").around_now());
    let store = &h.running.state.store;
    // More than the registry compiles on one thread, and one that fails.
    for i in 0..1100 {
        let id = format!("l{i}");
        store
            .create_client(&id, &id, &client_doc(&id, &leaf.cert_pem()))
            .await
            .unwrap();
    }
    store
        .create_client("broken", "broken", &json!({"name": "broken"}))
        .await
        .unwrap();
    let registry = &h.running.state.registry;
    registry.reload().await.unwrap();
    let view = registry.snapshot();
    assert_eq!(view.len(), 1100);
    assert!(
        view.get("broken").is_none(),
        "an invalid record authenticates nobody"
    );
    assert!((0..1100).all(|i| view.get(&format!("l{i}")).is_some()));
    let serials: std::collections::HashSet<u64> = view.clients().map(|c| c.serial).collect();
    assert_eq!(serials.len(), 1100, "every compilation has its own serial");
}
