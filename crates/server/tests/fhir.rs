//! `/fhir/R4/ClientApplication`: a registration as the seed's FHIR platform
//! exports it (its `secret`, `status`, `accessTokenLifetime: "1h"`, `meta`)
//! posts unchanged and behaves as its fields say; updates with `If-Match`,
//! search by name, delete; every error an `OperationOutcome`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use certbound_testkit::{LeafOptions, self_signed};
use common::{Client, Harness, request};
use serde_json::{Value, json};

const FHIR: &str = "/fhir/R4/ClientApplication";

async fn fhir(
    h: &Harness,
    method: &str,
    path: &str,
    body: Option<&Value>,
    extra: &[(&str, &str)],
) -> common::Reply {
    h.admin_with(method, path, body, None, "application/fhir+json", extra)
        .await
}

#[tokio::test]
async fn an_exported_client_application_posts_unchanged_and_behaves_as_its_fields_say() {
    let h = Harness::start("").await;
    let leaf = self_signed(&LeafOptions::client("partner").around_now());
    // As the platform exports it: server fields, a secret, status off.
    let exported = json!({
        "resourceType": "ClientApplication",
        "id": "0b8a7a0e-medplum-export",
        "meta": {"versionId": "7", "lastUpdated": "2026-11-01T10:00:00.000Z", "project": "p-1"},
        "name": "Payer integration",
        "description": "Prior authorization partner",
        "secret": "3f9a0c1e5b7d2a4c6e8f0a1b3c5d7e9f3f9a0c1e5b7d2a4c6e8f0a1b3c5d7e9f",
        "status": "off",
        "accessTokenLifetime": "1h",
        "certificateTrustStore": leaf.cert_pem(),
    });
    let created = fhir(&h, "POST", FHIR, Some(&exported), &[]).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert!(
        created.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/fhir+json")
    );
    assert_eq!(
        created.headers["location"],
        "/fhir/R4/ClientApplication/0b8a7a0e-medplum-export/_history/1"
    );
    let doc = created.json();
    assert_eq!(doc["meta"]["versionId"], "1");
    assert_eq!(doc["description"], "Prior authorization partner");
    assert!(
        doc["warnings"].to_string().contains("secret alone"),
        "{doc}"
    );

    // status "off": refused.
    let id = "0b8a7a0e-medplum-export";
    let cert = Client::Cert(vec![leaf.cert.clone()], leaf.key_pem.clone());
    let form = format!("grant_type=client_credentials&client_id={id}");
    assert_eq!(h.token("mtls", &cert, &form).await.unwrap().status, 401);

    // Switched on with If-Match on the current version: tokens, for one hour.
    let mut active = doc.clone();
    active["status"] = "active".into();
    let stale = fhir(
        &h,
        "PUT",
        &format!("{FHIR}/{id}"),
        Some(&active),
        &[("if-match", "W/\"9\"")],
    )
    .await;
    assert_eq!(stale.status, 412, "{}", stale.body);
    assert_eq!(stale.json()["resourceType"], "OperationOutcome");
    assert_eq!(stale.json()["issue"][0]["code"], "conflict");
    let put = fhir(
        &h,
        "PUT",
        &format!("{FHIR}/{id}"),
        Some(&active),
        &[("if-match", "W/\"1\"")],
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.headers["etag"], "W/\"2\"");
    let token = h.token("mtls", &cert, &form).await.unwrap();
    assert_eq!(token.status, 200, "{}", token.body);
    assert_eq!(token.json()["expires_in"], 3600);
    // The secret it came with works too, as it did there.
    let secret_form = format!(
        "grant_type=client_credentials&client_id={id}&client_secret={}",
        exported["secret"].as_str().unwrap()
    );
    assert_eq!(
        h.token("tls", &Client::None, &secret_form)
            .await
            .unwrap()
            .status,
        200
    );

    // `"secret": null` removes it; the certificate still works.
    let mut no_secret = put.json();
    no_secret["secret"] = Value::Null;
    let dropped = fhir(&h, "PUT", &format!("{FHIR}/{id}"), Some(&no_secret), &[]).await;
    assert_eq!(dropped.status, 200, "{}", dropped.body);
    assert!(
        dropped.json().get("hasSecret").is_none(),
        "{}",
        dropped.body
    );
    assert_eq!(
        h.token("tls", &Client::None, &secret_form)
            .await
            .unwrap()
            .status,
        401
    );
    assert_eq!(h.token("mtls", &cert, &form).await.unwrap().status, 200);

    // status "error": refused again.
    let mut broken = dropped.json();
    broken["status"] = "error".into();
    assert_eq!(
        fhir(&h, "PUT", &format!("{FHIR}/{id}"), Some(&broken), &[])
            .await
            .status,
        200
    );
    assert_eq!(h.token("mtls", &cert, &form).await.unwrap().status, 401);

    // Search by name, read.
    let found = fhir(
        &h,
        "GET",
        &format!("{FHIR}?name=payer%20integration"),
        None,
        &[],
    )
    .await;
    assert_eq!(found.json()["resourceType"], "Bundle");
    assert_eq!(found.json()["total"], 1);
    let read = fhir(&h, "GET", &format!("{FHIR}/{id}"), None, &[]).await;
    assert_eq!(read.json()["accessTokenLifetime"], "1h");

    // Errors: one issue per field, with its expression.
    let bad = json!({"resourceType": "ClientApplication", "name": "", "status": "paused", "accessTokenLifetime": "forever"});
    let refused = fhir(&h, "POST", FHIR, Some(&bad), &[]).await;
    assert_eq!(refused.status, 400);
    let outcome = refused.json();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let expressions = outcome["issue"].to_string();
    for field in [
        "ClientApplication.name",
        "ClientApplication.status",
        "ClientApplication.accessTokenLifetime",
    ] {
        assert!(expressions.contains(field), "{outcome}");
    }
    let missing = fhir(&h, "GET", &format!("{FHIR}/nobody"), None, &[]).await;
    assert_eq!(
        (missing.status, missing.json()["issue"][0]["code"].as_str()),
        (404, Some("not-found"))
    );
    let anonymous = request(
        h.addr("tls"),
        &h.pki,
        &Client::None,
        "GET",
        FHIR,
        "",
        "",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(
        (
            anonymous.status,
            anonymous.json()["issue"][0]["code"].as_str()
        ),
        (401, Some("login"))
    );

    // Delete.
    assert_eq!(
        fhir(&h, "DELETE", &format!("{FHIR}/{id}"), None, &[])
            .await
            .status,
        204
    );
    assert_eq!(
        fhir(&h, "GET", &format!("{FHIR}/{id}"), None, &[])
            .await
            .status,
        404
    );
}
