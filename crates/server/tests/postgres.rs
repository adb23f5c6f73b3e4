//! Two `serve` instances on one PostgreSQL database, as behind a load
//! balancer: a client added through instance A gets a token from instance B
//! within a second; a token revoked through B is inactive at A within a second.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use certbound_testkit::{LeafOptions, TestPki, self_signed};
use common::{ADMIN_TOKEN, Client, Reply, client_doc, eventually_within, request};

/// A fresh database, and a directory holding the server certificate and
/// the admin token that [`instance`] configs name.
fn prepared(name: &str) -> (String, tempfile::TempDir, TestPki) {
    let db = certbound_testkit::postgres::database(name);
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new();
    pki.root
        .issue(&LeafOptions::server("localhost").around_now())
        .write(dir.path(), "server", &[]);
    certbound_testkit::write_private(&dir.path().join("admin-token"), ADMIN_TOKEN);
    (db, dir, pki)
}

async fn instance(dir: &std::path::Path, name: &str, db: &str) -> certbound_server::Running {
    instance_with(dir, name, db, "").await
}

/// [`instance`] with `extra` TOML appended.
async fn instance_with(
    dir: &std::path::Path,
    name: &str,
    db: &str,
    extra: &str,
) -> certbound_server::Running {
    instance_from(dir, name, db, "", extra).await
}

/// [`instance_with`] with `store` settings in `[store]` besides the URL.
async fn instance_from(
    dir: &std::path::Path,
    name: &str,
    db: &str,
    store: &str,
    extra: &str,
) -> certbound_server::Running {
    let toml = format!(
        r#"
data_dir = "{name}-data"
[store]
url = "{db}"
{store}
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
{extra}
"#
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, toml).unwrap();
    certbound_server::bind(&certbound_server::Config::load(&path).unwrap())
        .await
        .unwrap()
}

/// POST a form to `path` at `addr`, with `client` as the TLS identity.
async fn post_form(
    addr: std::net::SocketAddr,
    pki: &TestPki,
    client: &Client,
    path: &str,
    body: &str,
) -> Result<Reply, String> {
    request(
        addr,
        pki,
        client,
        "POST",
        path,
        "application/x-www-form-urlencoded",
        body,
        &[],
    )
    .await
}

/// Retry `f` until it gives `want`, for at most `limit`; returns the time it took.
async fn within<F, Fut>(limit: Duration, want: u16, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Reply, String>>,
{
    let start = Instant::now();
    eventually_within(&format!("status {want}"), limit, || {
        let reply = f();
        async move {
            let r = reply.await.unwrap();
            if r.status == want {
                Ok(())
            } else {
                Err(format!("still {}: {}", r.status, r.body))
            }
        }
    })
    .await;
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_clients_and_revocations() {
    let (db, dir, pki) = prepared("serve");
    let d = dir.path();
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
        post_form(addr_b, &pki, &client, "/oauth2/token", form)
    })
    .await;
    eprintln!("client visible on B after {took:?}");
    let token = post_form(addr_b, &pki, &client, "/oauth2/token", form)
        .await
        .unwrap()
        .json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    // Tokens signed by B verify at A (shared signing key): active there.
    let introspect = format!("client_id=shared&token={token}");
    let active = post_form(addr_a, &pki, &client, "/oauth2/introspect", &introspect)
        .await
        .unwrap();
    assert_eq!(active.json()["active"], true, "{}", active.body);

    // Revoke through B; A reports it inactive within a second.
    let revoked = post_form(addr_b, &pki, &client, "/oauth2/revoke", &introspect)
        .await
        .unwrap();
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    eventually_within(
        "the token inactive at A",
        Duration::from_secs(1),
        || async {
            let r = post_form(addr_a, &pki, &client, "/oauth2/introspect", &introspect)
                .await
                .unwrap();
            if r.json()["active"] == false {
                Ok(())
            } else {
                Err("still active")
            }
        },
    )
    .await;

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
        post_form(addr_b, &pki, &new_client, "/oauth2/token", form)
    })
    .await;
    let old = post_form(addr_b, &pki, &client, "/oauth2/token", form)
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
        post_form(addr_a, &pki, &new_client, "/oauth2/token", form)
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
        post_form(addr_a, &pki, &second_client, "/oauth2/token", form)
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
        post_form(addr_a, &pki, &third_client, "/oauth2/token", form)
    })
    .await;
    let deleted = post_form(addr_a, &pki, &second_client, "/oauth2/token", form)
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
    let (db, dir, pki) = prepared("replay");
    let d = dir.path();
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
        post_form(addr, pki, &Client::None, "/oauth2/token", &body).await
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

/// UDAP across instances: a partner registers through A and gets a token
/// from B within a second (the derived client_id and the registry's
/// per-client notification), registers again through B and keeps its
/// client_id, and an authentication token used at A is refused at B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_udap_partner_registered_at_one_instance_is_served_by_the_other() {
    use certbound_oauth::keys::X5cSigner;
    use certbound_testkit::Ca;
    use serde_json::json;

    const PARTNER: &str = "https://partner.example.org/app";
    let (db, dir, pki) = prepared("udap");
    let d = dir.path();
    // The community: root -> intermediate -> this server's and the partner's.
    let root = Ca::root("Community Root", "Community");
    let inter = root.intermediate("Community CA", "Community");
    let server = inter.issue(
        &LeafOptions::client("as")
            .uri("https://localhost")
            .around_now(),
    );
    let partner = inter.issue(&LeafOptions::client("partner").uri(PARTNER).around_now());
    std::fs::write(d.join("comm-root.pem"), root.cert_pem()).unwrap();
    std::fs::write(d.join("comm-ca.pem"), inter.cert_pem()).unwrap();
    std::fs::write(d.join("as-udap.crt"), server.cert_pem()).unwrap();
    certbound_testkit::write_private(&d.join("as-udap.key"), &server.key_pem);
    let udap = r#"[[udap.community]]
name = "urn:example:community"
anchors = ["comm-root.pem"]
intermediates = ["comm-ca.pem"]
certificate = "as-udap.crt"
key = "as-udap.key"
"#;
    let a = instance_with(d, "a", &db, udap).await;
    let b = instance_with(d, "b", &db, udap).await;
    let (addr_a, addr_b) = (a.addr("tls").unwrap(), b.addr("tls").unwrap());
    let pkcs8 = certbound_pki::key::parse_private_key(partner.key_pem.as_bytes())
        .unwrap()
        .pkcs8_der()
        .unwrap();
    let signer = X5cSigner::new(&pkcs8, &[partner.cert.to_vec()], None).unwrap();
    let now = || time::OffsetDateTime::now_utc().unix_timestamp();
    let statement = |jti: &str| {
        signer
            .sign(&json!({
                "iss": PARTNER, "sub": PARTNER, "aud": "https://localhost/oauth2/register",
                "iat": now(), "exp": now() + 240, "jti": jti,
                "client_name": "Partner", "grant_types": ["client_credentials"],
                "token_endpoint_auth_method": "private_key_jwt", "scope": "system/*.rs",
                "contacts": ["mailto:ops@partner.example.org"],
            }))
            .unwrap()
    };
    let pki = &pki;
    let register = |addr, jti: &'static str| {
        let body = json!({"software_statement": statement(jti), "udap": "1"}).to_string();
        async move {
            request(
                addr,
                pki,
                &Client::None,
                "POST",
                "/oauth2/register",
                "application/json",
                &body,
                &[],
            )
            .await
            .unwrap()
        }
    };
    let created = register(addr_a, "st-1").await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["client_id"].as_str().unwrap().to_owned();
    let form = |jti: &str| {
        let ant = signer
            .sign(&json!({
                "iss": id, "sub": id, "aud": "https://localhost/oauth2/token",
                "iat": now(), "exp": now() + 240, "jti": jti,
                "extensions": {"hl7-b2b": {
                    "version": "1", "organization_id": "https://partner.example.org",
                    "purpose_of_use": ["urn:oid:2.16.840.1.113883.5.8#TREAT"],
                }},
            }))
            .unwrap();
        format!(
            "grant_type=client_credentials&udap=1&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={ant}"
        )
    };
    let token = |addr, body: String| async move {
        post_form(addr, pki, &Client::None, "/oauth2/token", &body).await
    };
    let mut probes = 0;
    within(Duration::from_secs(1), 200, || {
        probes += 1;
        token(addr_b, form(&format!("probe-{probes}")))
    })
    .await;
    let again = register(addr_b, "st-2").await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json()["client_id"], id.as_str());
    let once = form("ant-once");
    assert_eq!(token(addr_a, once.clone()).await.unwrap().status, 200);
    let replay = token(addr_b, once).await.unwrap();
    assert_eq!(replay.status, 401, "{}", replay.body);
    for r in [a, b] {
        r.shutdown();
        r.wait().await;
    }
}

/// Two instances whose registry (300 clients) outgrows their cache (256):
/// each reads a client on its first request, a client removed through A is
/// refused by B (which held it) within a second, and a change written to
/// the database behind both instances' backs (no `NOTIFY`, as a lost
/// notification) is honoured once the generation poll finds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_larger_than_their_cache_follow_changes_and_heal_a_lost_notification() {
    let (db, dir, pki) = prepared("lazy");
    let d = dir.path();
    let leaf = self_signed(&LeafOptions::client("lazy").around_now());
    let store = certbound_store::open(&db).await.unwrap();
    let clients: Vec<certbound_store::NewClient> = (0..300)
        .map(|i| {
            let id = format!("l{i}");
            certbound_store::NewClient {
                document: client_doc(&id, &leaf.cert_pem()),
                name: id.clone(),
                id,
            }
        })
        .collect();
    assert_eq!(store.create_clients(&clients).await.unwrap(), 300);
    store.close().await;

    let a = instance(d, "a", &db).await;
    let b = instance_from(d, "b", &db, "client_cache = 256", "").await;
    assert!(!b.registry().is_whole(), "300 clients do not fit in 256");
    let (addr_a, addr_b) = (a.addr("tls").unwrap(), b.addr("tls").unwrap());
    let client = Client::Cert(vec![leaf.cert.clone()], leaf.key_pem.clone());
    let token = |addr, id: &'static str| {
        let client = &client;
        let pki = &pki;
        async move {
            let form = format!("grant_type=client_credentials&client_id={id}");
            post_form(addr, pki, client, "/oauth2/token", &form).await
        }
    };
    let fetched = b.registry().fetched();
    for id in ["l1", "l2", "l1"] {
        let r = token(addr_b, id).await.unwrap();
        assert_eq!(r.status, 200, "{id}: {}", r.body);
    }
    assert_eq!(b.registry().fetched() - fetched, 2, "l1 and l2, once each");

    // Removed through A: B, which holds it, refuses it within a second.
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let del = request(
        addr_a,
        &pki,
        &Client::None,
        "DELETE",
        "/admin/ClientApplication/l1",
        "",
        "",
        &[("authorization", &auth)],
    )
    .await
    .unwrap();
    assert_eq!(del.status, 204, "{}", del.body);
    let took = within(Duration::from_secs(1), 401, || token(addr_b, "l1")).await;
    eprintln!("removal honoured by B after {took:?}");

    // Switched off behind both instances' backs: no notification names it;
    // the generation poll finds the store ahead and B starts over.
    certbound_testkit::postgres::execute(
        &db,
        "UPDATE clients SET document = jsonb_set(document::jsonb, '{status}', '\"off\"')::json, \
         version = version + 1 WHERE id = 'l2'; \
         UPDATE meta SET registry_generation = registry_generation + 1",
    );
    // Found at the second poll that sees the store ahead (2 s apart): 10 s
    // leaves room for a busy machine.
    let limit = certbound_server::registry::POLL_INTERVAL * 5;
    let took = within(limit, 401, || token(addr_b, "l2")).await;
    eprintln!("unannounced change honoured by B after {took:?}");
    // A, which holds the registry whole, heals too.
    within(limit, 401, || token(addr_a, "l2")).await;
    assert_eq!(token(addr_b, "l3").await.unwrap().status, 200);

    for r in [a, b] {
        r.shutdown();
        r.wait().await;
    }
}
