//! What a chain built to make path building explode costs the server: a ring
//! of same-name CA certificates cross-signed in a circle, sent with a leaf
//! for a client whose trust store holds a CA. rustls-webpki would try every
//! order of them (140–240 ms of CPU per request before the screening); the
//! server refuses them before any path search. Measured from /proc: the
//! process's CPU time, which includes the test's own client handshakes, so
//! the bound is conservative.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use certbound_testkit::LeafOptions;
use common::{Client, Harness, client_doc};

/// CPU time (user + system) this process has used, in milliseconds.
fn cpu_ms() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name (which is in parentheses): state is the
    // 3rd field; utime and stime are the 14th and 15th.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // The kernel's USER_HZ is 100 on Linux.
    ticks * 10
}

const ROUNDS: u64 = 20;

#[tokio::test]
async fn a_ring_of_same_name_cas_costs_little_and_is_refused() {
    let h = Harness::start("").await;
    h.register("partner", client_doc("partner", &h.pki.root.cert_pem()))
        .await;
    let form = "grant_type=client_credentials&client_id=partner";
    for n in [12, 51] {
        let (leaf, ring) = certbound_testkit::same_name_ring(n);
        let mut chain = vec![leaf.cert.clone()];
        chain.extend(ring);
        let attacker = Client::Cert(chain, leaf.key_pem.clone());
        let before = cpu_ms();
        for _ in 0..ROUNDS {
            let reply = h.token("mtls", &attacker, form).await.unwrap();
            assert_eq!(reply.status, 401, "{}", reply.body);
            assert!(reply.body.contains("invalid_client"), "{}", reply.body);
        }
        let per_request = (cpu_ms() - before) / ROUNDS;
        assert!(
            per_request < 25,
            "a ring of {n} cost {per_request} ms of CPU per request"
        );
    }
    h.logs.assert_has("at most 8 are considered");
    // Three with one name: refused for what it is.
    let (leaf, ring) = certbound_testkit::same_name_ring(3);
    let mut chain = vec![leaf.cert.clone()];
    chain.extend(ring);
    let reply = h
        .token("mtls", &Client::Cert(chain, leaf.key_pem.clone()), form)
        .await
        .unwrap();
    assert_eq!(reply.status, 401, "{}", reply.body);
    h.logs.assert_has("at most 2 may share a name");
    // The legitimate partner, with its intermediate sent twice: served.
    let good = h
        .pki
        .intermediate
        .issue(&LeafOptions::client("partner").around_now());
    let chain = vec![
        good.cert.clone(),
        h.pki.intermediate.cert.clone(),
        h.pki.intermediate.cert.clone(),
    ];
    let reply = h
        .token("mtls", &Client::Cert(chain, good.key_pem.clone()), form)
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
}
