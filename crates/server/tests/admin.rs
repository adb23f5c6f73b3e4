//! The admin API: create, read, list, replace (rotating a trust store without
//! a restart), delete; every validation error; missing and wrong credentials;
//! oversized headers and bodies; the audit trail of changes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use certbound_testkit::{LeafOptions, self_signed};
use common::{ADMIN_TOKEN, Client, Harness, client_doc};
use serde_json::json;

const FORM: &str = "grant_type=client_credentials&client_id=";

#[tokio::test]
async fn create_read_list_rotate_and_delete() {
    let h = Harness::start("").await;
    let first = self_signed(&LeafOptions::client("partner").around_now());
    let created = h
        .admin(
            "POST",
            "/admin/ClientApplication",
            Some(&client_doc("Partner", &first.cert_pem())),
            None,
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let doc = created.json();
    let id = doc["id"].as_str().unwrap().to_string();
    assert_eq!(
        created.headers["location"],
        format!("/admin/ClientApplication/{id}")
    );
    assert_eq!(doc["resourceType"], "ClientApplication");
    assert_eq!(doc["meta"]["versionId"], "1");
    assert!(doc.get("client_secret_hash").is_none());

    // The client works at once.
    let as_first = Client::Cert(vec![first.cert.clone()], first.key_pem.clone());
    assert_eq!(
        h.token("mtls", &as_first, &format!("{FORM}{id}"))
            .await
            .unwrap()
            .status,
        200
    );

    assert_eq!(
        h.admin("GET", &format!("/admin/ClientApplication/{id}"), None, None)
            .await
            .json()["name"],
        "Partner"
    );
    let list = h
        .admin("GET", "/admin/ClientApplication?name=partner", None, None)
        .await
        .json();
    assert_eq!(list["resourceType"], "Bundle");
    assert_eq!(list["total"], 1);
    assert_eq!(
        h.admin("GET", "/admin/ClientApplication?name=nobody", None, None)
            .await
            .json()["total"],
        0
    );

    // Rotate: the new certificate works, the old one stops, no restart.
    let second = self_signed(&LeafOptions::client("partner").around_now());
    let mut updated = doc.clone();
    updated["certificateTrustStore"] = second.cert_pem().into();
    let put = h
        .admin(
            "PUT",
            &format!("/admin/ClientApplication/{id}"),
            Some(&updated),
            None,
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.json()["meta"]["versionId"], "2");
    let as_second = Client::Cert(vec![second.cert.clone()], second.key_pem.clone());
    assert_eq!(
        h.token("mtls", &as_second, &format!("{FORM}{id}"))
            .await
            .unwrap()
            .status,
        200
    );
    assert_eq!(
        h.token("mtls", &as_first, &format!("{FORM}{id}"))
            .await
            .unwrap()
            .status,
        401
    );

    let del = h
        .admin(
            "DELETE",
            &format!("/admin/ClientApplication/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(del.status, 204);
    assert_eq!(
        h.token("mtls", &as_second, &format!("{FORM}{id}"))
            .await
            .unwrap()
            .status,
        401
    );
    assert_eq!(
        h.admin(
            "DELETE",
            &format!("/admin/ClientApplication/{id}"),
            None,
            None
        )
        .await
        .status,
        404
    );
    assert_eq!(
        h.admin("GET", &format!("/admin/ClientApplication/{id}"), None, None)
            .await
            .status,
        404
    );
    assert_eq!(
        h.admin(
            "PUT",
            &format!("/admin/ClientApplication/{id}"),
            Some(&updated),
            None
        )
        .await
        .status,
        404
    );

    // Each change is in the audit trail.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let events = h
        .running
        .state
        .store
        .query_audit(&certbound_store::AuditFilter {
            kind: Some("admin".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let details: Vec<String> = events.iter().filter_map(|e| e.detail.clone()).collect();
    for want in ["created client", "replaced client", "deleted client"] {
        assert!(
            details.iter().any(|d| d.starts_with(want)),
            "{want} not in {details:?}"
        );
    }
}

#[tokio::test]
async fn ids_conflicts_and_mismatches() {
    let h = Harness::start("").await;
    let leaf = self_signed(&LeafOptions::client("x").around_now());
    let mut doc = client_doc("X", &leaf.cert_pem());
    doc["id"] = "partner-x".into();
    assert_eq!(
        h.admin("POST", "/admin/ClientApplication", Some(&doc), None)
            .await
            .status,
        201
    );
    let dup = h
        .admin("POST", "/admin/ClientApplication", Some(&doc), None)
        .await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.json()["error"], "conflict");
    let mismatch = h
        .admin("PUT", "/admin/ClientApplication/other", Some(&doc), None)
        .await;
    assert_eq!(mismatch.status, 400, "{}", mismatch.body);
    doc["id"] = "bad id!".into();
    let bad = h
        .admin("POST", "/admin/ClientApplication", Some(&doc), None)
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["errors"][0]["field"], "id");
}

#[tokio::test]
async fn every_validation_error_names_the_field() {
    let h = Harness::start("").await;
    let leaf = h.pki.root.issue(&LeafOptions::client("leaf").around_now());
    let cases = vec![
        (
            json!({"resourceType": "ClientApplication", "certificateTrustStore": h.pki.root.cert_pem()}),
            "name",
            "is required",
        ),
        (
            client_doc(
                "x",
                "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
            ),
            "certificateTrustStore",
            "block 1",
        ),
        (
            client_doc("x", &leaf.cert_pem()),
            "certificateTrustStore",
            "neither a CA nor self-signed",
        ),
        (
            client_doc("x", &h.pki.root.key_pem()),
            "certificateTrustStore",
            "PRIVATE KEY",
        ),
        (
            json!({"resourceType": "Patient", "name": "x", "certificateTrustStore": h.pki.root.cert_pem()}),
            "resourceType",
            "ClientApplication",
        ),
        (
            json!({"resourceType": "ClientApplication", "name": "x", "certificateTrustStore": h.pki.root.cert_pem(),
                   "tls_client_auth_subject_dn": "CN=a", "tls_client_auth_san_dns": "a.test"}),
            "tls_client_auth_san_dns",
            "only one",
        ),
        (
            json!({"resourceType": "ClientApplication", "name": "x"}),
            "certificateTrustStore",
            "is required",
        ),
    ];
    for (doc, field, text) in cases {
        let r = h
            .admin("POST", "/admin/ClientApplication", Some(&doc), None)
            .await;
        assert_eq!(r.status, 400, "{field}: {}", r.body);
        let json = r.json();
        assert_eq!(json["error"], "invalid_request");
        let errors = json["errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e["field"] == field && e["message"].as_str().unwrap().contains(text)),
            "{field}/{text} not in {errors:?}"
        );
    }
    // Not JSON, not an object, a secret hash set by hand, a short secret.
    for (body, text) in [
        ("{not json".to_string(), "not JSON"),
        ("[1,2]".to_string(), "JSON object"),
        (
            json!({"name": "x", "client_secret_hash": "x"}).to_string(),
            "client_secret_hash",
        ),
        (
            json!({"name": "x", "secret": "short"}).to_string(),
            "at least",
        ),
    ] {
        let auth = format!("Bearer {ADMIN_TOKEN}");
        let r = common::request(
            h.addr("tls"),
            &h.pki,
            &Client::None,
            "POST",
            "/admin/ClientApplication",
            "application/json",
            &body,
            &[("authorization", &auth)],
        )
        .await
        .unwrap();
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(
            r.json()["error_description"]
                .as_str()
                .unwrap()
                .contains(text),
            "{body}: {}",
            r.body
        );
    }
    // Nothing half-written: the registry is still empty.
    assert_eq!(
        h.admin("GET", "/admin/ClientApplication", None, None)
            .await
            .json()["total"],
        0
    );
}

#[tokio::test]
async fn warnings_do_not_block_saving() {
    let h = Harness::start("").await;
    let expired = self_signed(&LeafOptions::client("old").ended_days_ago(2, 30));
    let r = h
        .admin(
            "POST",
            "/admin/ClientApplication",
            Some(&client_doc("old", &expired.cert_pem())),
            None,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(
        r.json()["warnings"][0]
            .as_str()
            .unwrap()
            .contains("expired on")
    );
    let ca = h
        .admin(
            "POST",
            "/admin/ClientApplication",
            Some(&client_doc("ca", &h.pki.root.cert_pem())),
            None,
        )
        .await;
    assert_eq!(ca.status, 201);
    assert!(
        ca.json()["warnings"][0]
            .as_str()
            .unwrap()
            .contains("every certificate that CA issues")
    );
    // Stored documents carry no warnings.
    let id = ca.json()["id"].as_str().unwrap().to_string();
    assert!(
        h.admin("GET", &format!("/admin/ClientApplication/{id}"), None, None)
            .await
            .json()
            .get("warnings")
            .is_none()
    );
}

#[tokio::test]
async fn missing_wrong_and_certificate_credentials() {
    let h = Harness::start("").await;
    let none = h
        .admin("GET", "/admin/ClientApplication", None, Some(""))
        .await;
    assert_eq!(none.status, 401);
    assert!(
        none.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    assert_eq!(none.json()["error"], "unauthorized");
    let wrong = h
        .admin(
            "GET",
            "/admin/ClientApplication",
            None,
            Some("not-the-token-at-all"),
        )
        .await;
    assert_eq!(wrong.status, 403);
    h.logs.assert_has("wrong admin token");
    // An admin certificate over TLS is enough.
    let by_cert = common::request(
        h.addr("mtls"),
        &h.pki,
        &h.admin_client(),
        "GET",
        "/admin/ClientApplication",
        "",
        "",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(by_cert.status, 200, "{}", by_cert.body);
    // Any other certificate is not.
    let other = self_signed(&LeafOptions::client("admin").around_now());
    let r = common::request(
        h.addr("mtls"),
        &h.pki,
        &Client::Cert(vec![other.cert.clone()], other.key_pem.clone()),
        "GET",
        "/admin/ClientApplication",
        "",
        "",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn oversized_bodies_and_headers_are_refused_and_the_server_stays_up() {
    let h = Harness::start("").await;
    let huge = json!({"resourceType": "ClientApplication", "name": "x", "certificateTrustStore": "A".repeat(2 * 1024 * 1024)});
    let r = h
        .admin("POST", "/admin/ClientApplication", Some(&huge), None)
        .await;
    assert_eq!(r.status, 413, "{}", &r.body[..r.body.len().min(200)]);
    assert_eq!(r.json()["error"], "invalid_request");
    let big_header = "x".repeat(128 * 1024);
    let r = common::request(
        h.addr("tls"),
        &h.pki,
        &Client::None,
        "GET",
        "/admin/ClientApplication",
        "",
        "",
        &[("x-big", &big_header)],
    )
    .await;
    match r {
        Ok(reply) => assert_eq!(reply.status, 431, "{}", reply.body),
        Err(e) => assert!(e.contains("request") || e.contains("connection"), "{e}"),
    }
    assert_eq!(
        h.admin("GET", "/admin/ClientApplication", None, None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn secret_clients_keep_their_secret_across_a_round_trip() {
    let h = Harness::start("").await;
    let created = h
        .admin(
            "POST",
            "/admin/ClientApplication",
            Some(&json!({"resourceType": "ClientApplication", "id": "legacy", "name": "legacy", "secret": "a-long-enough-secret"})),
            None,
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let doc = created.json();
    assert_eq!(doc["hasSecret"], true);
    assert!(doc.get("secret").is_none() && doc.get("client_secret_hash").is_none());
    let login = "grant_type=client_credentials&client_id=legacy&client_secret=a-long-enough-secret";
    assert_eq!(
        h.token("tls", &Client::None, login).await.unwrap().status,
        200
    );
    // PUT of what GET returned keeps the secret.
    let mut got = h
        .admin("GET", "/admin/ClientApplication/legacy", None, None)
        .await
        .json();
    got["name"] = "legacy renamed".into();
    assert_eq!(
        h.admin("PUT", "/admin/ClientApplication/legacy", Some(&got), None)
            .await
            .status,
        200
    );
    assert_eq!(
        h.token("tls", &Client::None, login).await.unwrap().status,
        200
    );
}

#[tokio::test]
async fn disabled_admin_api_is_not_found() {
    let h = Harness::start("").await;
    drop(h);
    // A config without [admin]: built by hand from the base without that table.
    let dir = tempfile::tempdir().unwrap();
    let pki = certbound_testkit::TestPki::new();
    pki.root
        .issue(&LeafOptions::server("localhost").around_now())
        .write(dir.path(), "server", &[]);
    let toml = "data_dir = \"data\"\n[issuer]\nurl = \"https://localhost\"\n[tls.tls]\ncert = \"server.crt\"\nkey = \"server.key\"\n[[listener]]\nname = \"tls\"\nbind = \"127.0.0.1:0\"\ntls = \"tls\"\n";
    std::fs::write(dir.path().join("c.toml"), toml).unwrap();
    let config = certbound_server::Config::load(&dir.path().join("c.toml")).unwrap();
    let running = certbound_server::bind(&config).await.unwrap();
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let r = common::request(
        running.addr("tls").unwrap(),
        &pki,
        &Client::None,
        "GET",
        "/admin/ClientApplication",
        "",
        "",
        &[("authorization", &auth)],
    )
    .await
    .unwrap();
    assert_eq!(r.status, 404);
}
