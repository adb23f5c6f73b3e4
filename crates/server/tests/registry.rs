//! The registry is a bounded cache in front of the store: a client is read
//! when first asked for (concurrent askers share one read), an unknown id is
//! remembered, a change drops and re-reads the client changed and no other,
//! and a change this instance was not told of (another process on the same
//! SQLite file) is healed by polling the generation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use certbound_testkit::{LeafOptions, self_signed};
use common::{Client, Harness, client_doc, eventually};
use serde_json::json;

/// Waits until the registry has every change the store has made.
async fn settled(h: &Harness) {
    let running = &h.running;
    eventually("the registry reaches the store's generation", || async {
        let store = running.store().registry_generation().await.unwrap();
        running.registry().generation() == store
    })
    .await;
}

async fn cached(h: &Harness, id: &str) -> Arc<certbound_oauth::client::CompiledClient> {
    h.running.registry().get(id).await.unwrap().unwrap()
}

#[tokio::test]
async fn a_change_recompiles_only_the_client_changed() {
    let h = Harness::start("").await;
    let leaf = self_signed(&LeafOptions::client("many").around_now());
    let store = &h.running.store();
    for i in 0..40 {
        let id = format!("c{i}");
        store
            .create_client(&id, &id, &client_doc(&id, &leaf.cert_pem()))
            .await
            .unwrap();
    }
    settled(&h).await;
    let registry = &h.running.registry();
    // A round whose window a resync of the registry crossed (see
    // `without_resync`) rightly recompiled every client: it is done again.
    let mut round = 0;
    let (before, compiled, fetched) = loop {
        round += 1;
        assert!(
            round <= 10,
            "the registry resynced during every one of 10 rounds"
        );
        let clears = registry.clears();
        let mut before = Vec::new();
        for i in 0..40 {
            before.push(cached(&h, &format!("c{i}")).await);
        }
        let compiled = registry.compiled();
        let fetched = registry.fetched();

        let mut doc = client_doc("c7", &leaf.cert_pem());
        let scope = format!("claims.read{round}");
        doc["scope"] = json!(scope);
        let reply = h
            .admin("PUT", "/admin/ClientApplication/c7", Some(&doc), None)
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        // Seen at once by this instance (the write path refreshes the client).
        assert_eq!(cached(&h, "c7").await.allowed_scopes, Some(vec![scope]));
        settled(&h).await;
        assert_eq!(cached(&h, "c7").await.version, 1 + round);
        if registry.clears() == clears {
            break (before, compiled, fetched);
        }
    };
    // The write path's refresh and the announcement's: never the other 39.
    let recompiled = registry.compiled() - compiled;
    assert!(
        recompiled <= 2,
        "{recompiled} clients compiled for one change"
    );
    for (i, earlier) in before.iter().enumerate().filter(|(i, _)| *i != 7) {
        let id = format!("c{i}");
        assert!(
            Arc::ptr_eq(earlier, &cached(&h, &id).await),
            "{id} was compiled again"
        );
    }
    assert!(registry.fetched() - fetched <= 2, "only c7 was read again");

    // Removed: refused at once, and nothing else compiled.
    let compiled = registry.compiled();
    let reply = h
        .admin("DELETE", "/admin/ClientApplication/c8", None, None)
        .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert!(registry.get("c8").await.unwrap().is_none());
    settled(&h).await;
    assert!(registry.get("c8").await.unwrap().is_none());
    assert!(registry.compiled() - compiled <= 2);
}

/// A server whose registry (`count` clients made straight in the store)
/// does not fit its cache of 256, so clients are read on demand.
async fn larger_than_its_cache(count: usize) -> (Harness, certbound_testkit::Leaf) {
    let h = Harness::start("[store]\nclient_cache = 256\n").await;
    let registry = &h.running.registry();
    assert_eq!(registry.capacity(), 256);
    let leaf = self_signed(&LeafOptions::client("bounded").around_now());
    let store = &h.running.store();
    for i in 0..count {
        let id = format!("b{i}");
        store
            .create_client(&id, &id, &client_doc(&id, &leaf.cert_pem()))
            .await
            .unwrap();
    }
    settled(&h).await;
    // Counted again: the registry no longer fits, so it is emptied and
    // filled on demand from now on.
    registry.resync().await.unwrap();
    assert_eq!(registry.count(), count as u64);
    (h, leaf)
}

/// Run `round` until one runs with no resync of the registry during it (at
/// most 10 times): a resync (which the registry's own poll starts when it
/// judges a change missed, late on a loaded machine) rightly makes a read in
/// progress read again, which a count of reads must not mistake for a
/// failure to share them. What the last round returned, and the reads it made.
async fn without_resync<T, F: std::future::Future<Output = T>>(
    registry: &certbound_server::registry::Registry,
    mut round: impl FnMut() -> F,
) -> (T, u64) {
    for _ in 0..10 {
        let (clears, fetched) = (registry.clears(), registry.fetched());
        let out = round().await;
        if registry.clears() == clears {
            return (out, registry.fetched() - fetched);
        }
    }
    panic!("the registry resynced during every one of 10 rounds");
}

#[tokio::test]
async fn clients_are_read_on_demand_once_and_unknown_ids_are_remembered() {
    let (h, leaf) = larger_than_its_cache(300).await;
    let registry = Arc::clone(h.running.registry());
    // Fifty askers at once for a client not in memory: one read of the store.
    let mut round = 0;
    let (serials, reads) = without_resync(&registry, || {
        round += 1;
        // A client not asked for before, each round.
        let id = format!("b{}", 6 + round);
        let registry = Arc::clone(&registry);
        async move {
            let askers: Vec<_> = (0..50)
                .map(|_| {
                    let (registry, id) = (Arc::clone(&registry), id.clone());
                    tokio::spawn(async move { registry.get(&id).await.unwrap().map(|c| c.serial) })
                })
                .collect();
            let mut serials = std::collections::HashSet::new();
            for asker in askers {
                serials.insert(asker.await.unwrap().unwrap());
            }
            serials
        }
    })
    .await;
    assert_eq!(reads, 1, "one read for fifty askers");
    assert_eq!(serials.len(), 1, "one compilation for fifty askers");

    // An unknown id costs one read, then is answered from memory.
    let mut round = 0;
    let ((), reads) = without_resync(&registry, || {
        round += 1;
        let id = match round {
            1 => "nobody".to_owned(),
            n => format!("nobody-{n}"),
        };
        let registry = Arc::clone(&registry);
        async move {
            for _ in 0..5 {
                assert!(registry.get(&id).await.unwrap().is_none());
            }
        }
    })
    .await;
    assert_eq!(reads, 1);
    // (Remembered, unless a resync made another round: then read again here.)
    assert!(registry.get("nobody").await.unwrap().is_none());
    let fetched = registry.fetched();
    // An id longer than any registered one costs neither a read nor memory.
    let held = registry.cached().len();
    let huge = "x".repeat(64 * 1024);
    assert!(registry.get(&huge).await.unwrap().is_none());
    assert_eq!(registry.fetched(), fetched);
    assert_eq!(registry.cached().len(), held);
    // Registered later (by another instance, say): the announcement drops
    // the remembered refusal, so the new client is honoured.
    let store = &h.running.store();
    store
        .create_client("nobody", "nobody", &client_doc("nobody", &leaf.cert_pem()))
        .await
        .unwrap();
    eventually("the new client is honoured", || async {
        registry.get("nobody").await.unwrap().is_some()
    })
    .await;
    // A change to a client not in memory reads nothing.
    settled(&h).await;
    let fetched = registry.fetched();
    let mut doc = client_doc("b9", &leaf.cert_pem());
    doc["scope"] = json!("claims.read");
    store.update_client("b9", "b9", &doc, None).await.unwrap();
    settled(&h).await;
    assert_eq!(registry.fetched(), fetched);
    assert_eq!(
        registry.get("b9").await.unwrap().unwrap().allowed_scopes,
        Some(vec!["claims.read".to_owned()])
    );
}

/// Anyone can send a `client_id`: a flood of made-up ids costs reads of the
/// store (16 at a time), but never takes a registered client's place in the
/// cache, nor stops a registry that fits from being held whole.
#[tokio::test]
async fn made_up_ids_never_evict_a_client_nor_unmake_a_whole_registry() {
    // 1,280 places: five a shard, so 1,500 unknown ids would overflow most
    // shards if they were held with the clients.
    let h = Harness::start("[store]\nclient_cache = 1280\n").await;
    let registry = Arc::clone(h.running.registry());
    let leaf = self_signed(&LeafOptions::client("real").around_now());
    let store = &h.running.store();
    let ids: Vec<String> = (0..3).map(|i| format!("real-{i}")).collect();
    for id in &ids {
        store
            .create_client(id, id, &client_doc(id, &leaf.cert_pem()))
            .await
            .unwrap();
    }
    settled(&h).await;
    eventually("the registry is held whole", || async {
        registry.is_whole()
    })
    .await;
    for id in &ids {
        assert!(registry.get(id).await.unwrap().is_some());
    }
    let flood = tokio::task::JoinSet::from_iter((0..1500).map(|i| {
        let registry = Arc::clone(&registry);
        async move { registry.get(&format!("made-up-{i}")).await.unwrap() }
    }));
    for answer in flood.join_all().await {
        assert!(answer.is_none());
    }
    assert!(registry.is_whole(), "the flood unmade the whole registry");
    let fetched = registry.fetched();
    for id in &ids {
        assert!(registry.get(id).await.unwrap().is_some());
    }
    assert_eq!(
        registry.fetched(),
        fetched,
        "a client was evicted and read again"
    );
    assert_eq!(registry.count(), 3);
    // A token for one of them is issued as before.
    let as_real = Client::Cert(vec![leaf.cert.clone()], leaf.key_pem.clone());
    let reply = h
        .token(
            "mtls",
            &as_real,
            "grant_type=client_credentials&client_id=real-0",
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn the_cache_holds_at_most_its_capacity_and_still_answers_every_client() {
    let (h, leaf) = larger_than_its_cache(600).await;
    let registry = &h.running.registry();
    for round in 0..2 {
        for i in 0..600 {
            let id = format!("b{i}");
            let client = registry.get(&id).await.unwrap();
            assert_eq!(client.map(|c| c.id.clone()), Some(id), "round {round}");
        }
        let held = registry.cached().len();
        assert!(held <= 256, "{held} clients held, capacity 256");
    }
    // A token for a client long evicted is still issued.
    let as_b0 = Client::Cert(vec![leaf.cert.clone()], leaf.key_pem.clone());
    let reply = h
        .token("mtls", &as_b0, "grant_type=client_credentials&client_id=b0")
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
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
    let registry = &h.running.registry();
    eventually("the client written by another process is seen", || async {
        registry.get("elsewhere").await.unwrap().is_some()
    })
    .await;
    settled(&h).await;
    other.delete_client("elsewhere").await.unwrap();
    eventually("the client deleted by another process is gone", || async {
        registry.get("elsewhere").await.unwrap().is_none()
    })
    .await;
}

#[tokio::test]
async fn a_registry_that_fits_is_read_in_on_every_core_skipping_what_does_not_validate() {
    let h = Harness::start("").await;
    let leaf = self_signed(&LeafOptions::client("large").around_now());
    let store = &h.running.store();
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
    // A shard that hears a change while the store is read is not read in.
    settled(&h).await;
    let registry = &h.running.registry();
    assert_eq!(registry.warm().await.unwrap(), 1100);
    let held = registry.cached();
    assert_eq!(held.len(), 1100);
    let fetched = registry.fetched();
    assert!(
        registry.get("broken").await.unwrap().is_none(),
        "an invalid record authenticates nobody"
    );
    for i in 0..1100 {
        assert!(registry.get(&format!("l{i}")).await.unwrap().is_some());
    }
    assert_eq!(
        registry.fetched(),
        fetched,
        "a registry that fits answers from memory, `broken` included"
    );
    let serials: std::collections::HashSet<u64> = held.iter().map(|c| c.serial).collect();
    assert_eq!(serials.len(), 1100, "every compilation has its own serial");
}
