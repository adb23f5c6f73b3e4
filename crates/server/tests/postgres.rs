//! Two `serve` instances on one PostgreSQL database, as behind a load
//! balancer: a client added through instance A gets a token from instance B
//! within a second; a token revoked through B is inactive at A within a second.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use certbound_testkit::{LeafOptions, TestPki, self_signed};
use common::{ADMIN_TOKEN, Client, Reply, client_doc, request};

async fn instance(dir: &std::path::Path, name: &str, db: &str) -> certbound_server::Running {
    let toml = format!(
        r#"
data_dir = "{name}-data"
[store]
url = "{db}"
[issuer]
url = "https://localhost"
signing_key = "../shared-signing-key.pem"
[tls.tls]
cert = "server.crt"
key = "server.key"
client_auth = "optional"
[[listener]]
name = "tls"
bind = "127.0.0.1:0"
tls = "tls"
[admin]
token_file = "admin-token"
"#
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, toml).unwrap();
    certbound_server::bind(&certbound_server::Config::load(&path).unwrap())
        .await
        .unwrap()
}

/// Retry `f` until it gives `want`, for at most `limit`; returns the time it took.
async fn within<F, Fut>(limit: Duration, want: u16, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Reply, String>>,
{
    let start = Instant::now();
    loop {
        let r = f().await.unwrap();
        if r.status == want {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "still {} after {limit:?}: {}",
            r.status,
            r.body
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_clients_and_revocations() {
    let db = certbound_testkit::postgres::database("serve");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = TestPki::new();
    pki.root
        .issue(&LeafOptions::server("localhost").around_now())
        .write(d, "server", &[]);
    certbound_testkit::write_private(&d.join("admin-token"), ADMIN_TOKEN);
    let a = instance(d, "a", &db).await;
    let b = instance(d, "b", &db).await;
    let (addr_a, addr_b) = (a.addr("tls").unwrap(), b.addr("tls").unwrap());

    // Add a client through A.
    let leaf = self_signed(&LeafOptions::client("shared").around_now());
    let mut doc = client_doc("shared", &leaf.cert_pem());
    doc["id"] = "shared".into();
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let created = request(
        addr_a,
        &pki,
        &Client::None,
        "POST",
        "/admin/ClientApplication",
        "application/json",
        &doc.to_string(),
        &[("authorization", &auth)],
    )
    .await
    .unwrap();
    assert_eq!(created.status, 201, "{}", created.body);

    // B issues it a token within a second.
    let client = Client::Cert(vec![leaf.cert.clone()], leaf.key_pem.clone());
    let form = "grant_type=client_credentials&client_id=shared";
    let took = within(Duration::from_secs(1), 200, || {
        request(
            addr_b,
            &pki,
            &client,
            "POST",
            "/oauth2/token",
            "application/x-www-form-urlencoded",
            form,
            &[],
        )
    })
    .await;
    eprintln!("client visible on B after {took:?}");
    let token = request(
        addr_b,
        &pki,
        &client,
        "POST",
        "/oauth2/token",
        "application/x-www-form-urlencoded",
        form,
        &[],
    )
    .await
    .unwrap()
    .json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    // Tokens signed by B verify at A (shared signing key): active there.
    let introspect = format!("client_id=shared&token={token}");
    let active = request(
        addr_a,
        &pki,
        &client,
        "POST",
        "/oauth2/introspect",
        "application/x-www-form-urlencoded",
        &introspect,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(active.json()["active"], true, "{}", active.body);

    // Revoke through B; A reports it inactive within a second.
    let revoked = request(
        addr_b,
        &pki,
        &client,
        "POST",
        "/oauth2/revoke",
        "application/x-www-form-urlencoded",
        &introspect,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let start = Instant::now();
    loop {
        let r = request(
            addr_a,
            &pki,
            &client,
            "POST",
            "/oauth2/introspect",
            "application/x-www-form-urlencoded",
            &introspect,
            &[],
        )
        .await
        .unwrap();
        if r.json()["active"] == false {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "still active at A after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Change it through A (a new certificate in its trust store): within a
    // second B issues to the new certificate and refuses the old one.
    let rotated = self_signed(&LeafOptions::client("shared").around_now());
    doc["certificateTrustStore"] = rotated.cert_pem().into();
    let put = request(
        addr_a,
        &pki,
        &Client::None,
        "PUT",
        "/admin/ClientApplication/shared",
        "application/json",
        &doc.to_string(),
        &[("authorization", &auth)],
    )
    .await
    .unwrap();
    assert_eq!(put.status, 200, "{}", put.body);
    let new_client = Client::Cert(vec![rotated.cert.clone()], rotated.key_pem.clone());
    within(Duration::from_secs(1), 200, || {
        request(
            addr_b,
            &pki,
            &new_client,
            "POST",
            "/oauth2/token",
            "application/x-www-form-urlencoded",
            form,
            &[],
        )
    })
    .await;
    let old = request(
        addr_b,
        &pki,
        &client,
        "POST",
        "/oauth2/token",
        "application/x-www-form-urlencoded",
        form,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(old.status, 401, "{}", old.body);

    // Delete through B; A stops issuing within a second.
    let del = request(
        addr_b,
        &pki,
        &Client::None,
        "DELETE",
        "/admin/ClientApplication/shared",
        "",
        "",
        &[("authorization", &auth)],
    )
    .await
    .unwrap();
    assert_eq!(del.status, 204);
    within(Duration::from_secs(1), 401, || {
        request(
            addr_a,
            &pki,
            &new_client,
            "POST",
            "/oauth2/token",
            "application/x-www-form-urlencoded",
            form,
            &[],
        )
    })
    .await;

    // Registered again (version 1), changed (version 2, a new certificate)
    // and honoured by A; then deleted and registered once more at once
    // through B with a third certificate (version 1 again). A honours the
    // third and never again the deleted second, however its reads of the
    // store interleave with B's writes.
    let admin = |method: &'static str, path: &'static str, body: String| {
        let auth = auth.clone();
        let pki = &pki;
        async move {
            request(
                addr_b,
                pki,
                &Client::None,
                method,
                path,
                "application/json",
                &body,
                &[("authorization", &auth)],
            )
            .await
            .unwrap()
        }
    };
    let post = admin("POST", "/admin/ClientApplication", doc.to_string()).await;
    assert_eq!(post.status, 201, "{}", post.body);
    let second = self_signed(&LeafOptions::client("shared").around_now());
    doc["certificateTrustStore"] = second.cert_pem().into();
    let put = admin("PUT", "/admin/ClientApplication/shared", doc.to_string()).await;
    assert_eq!(put.status, 200, "{}", put.body);
    let second_client = Client::Cert(vec![second.cert.clone()], second.key_pem.clone());
    within(Duration::from_secs(1), 200, || {
        request(
            addr_a,
            &pki,
            &second_client,
            "POST",
            "/oauth2/token",
            "application/x-www-form-urlencoded",
            form,
            &[],
        )
    })
    .await;
    let third = self_signed(&LeafOptions::client("shared").around_now());
    doc["certificateTrustStore"] = third.cert_pem().into();
    let del = admin("DELETE", "/admin/ClientApplication/shared", String::new()).await;
    assert_eq!(del.status, 204, "{}", del.body);
    let post = admin("POST", "/admin/ClientApplication", doc.to_string()).await;
    assert_eq!(post.status, 201, "{}", post.body);
    let third_client = Client::Cert(vec![third.cert.clone()], third.key_pem.clone());
    within(Duration::from_secs(1), 200, || {
        request(
            addr_a,
            &pki,
            &third_client,
            "POST",
            "/oauth2/token",
            "application/x-www-form-urlencoded",
            form,
            &[],
        )
    })
    .await;
    let deleted = request(
        addr_a,
        &pki,
        &second_client,
        "POST",
        "/oauth2/token",
        "application/x-www-form-urlencoded",
        form,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(deleted.status, 401, "{}", deleted.body);

    for r in [a, b] {
        r.shutdown();
        r.wait().await;
    }
}

/// A `private_key_jwt` assertion used at A is refused at B: the `jti` is
/// recorded in the shared store, not in one instance's memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assertion_replayed_to_another_instance_is_refused() {
    let db = certbound_testkit::postgres::database("replay");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = TestPki::new();
    pki.root
        .issue(&LeafOptions::server("localhost").around_now())
        .write(d, "server", &[]);
    certbound_testkit::write_private(&d.join("admin-token"), ADMIN_TOKEN);
    let a = instance(d, "a", &db).await;
    let b = instance(d, "b", &db).await;
    let (addr_a, addr_b) = (a.addr("tls").unwrap(), b.addr("tls").unwrap());
    let key = certbound_testkit::client_key::ClientKey::es384("k1");
    let doc = serde_json::json!({
        "resourceType": "ClientApplication", "id": "smart", "name": "SMART backend",
        "jwks": key.jwks(),
    });
    let created = request(
        addr_a,
        &pki,
        &Client::None,
        "POST",
        "/admin/ClientApplication",
        "application/json",
        &doc.to_string(),
        &[("authorization", &format!("Bearer {ADMIN_TOKEN}"))],
    )
    .await
    .unwrap();
    assert_eq!(created.status, 201, "{}", created.body);
    let form = |jti: &str| {
        format!(
            "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={}",
            key.assertion("smart", "https://localhost/oauth2/token", jti)
        )
    };
    let pki = &pki;
    let post = |addr, body: String| async move {
        request(
            addr,
            pki,
            &Client::None,
            "POST",
            "/oauth2/token",
            "application/x-www-form-urlencoded",
            &body,
            &[],
        )
        .await
    };
    // B knows the client within a second; then one assertion, twice.
    let mut probes = 0;
    within(Duration::from_secs(1), 200, || {
        probes += 1;
        post(addr_b, form(&format!("probe-{probes}")))
    })
    .await;
    let once = form("only-once");
    assert_eq!(post(addr_a, once.clone()).await.unwrap().status, 200);
    let replay = post(addr_b, once).await.unwrap();
    assert_eq!(replay.status, 401, "{}", replay.body);
    assert_eq!(replay.json()["error"], "invalid_client");
}
