//! The admin API: create, read, list, replace (rotating a trust store without
//! a restart), delete; every validation error; missing and wrong credentials;
//! oversized headers and bodies; the audit trail of changes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use certbound_testkit::{LeafOptions, self_signed};
use common::{ADMIN_TOKEN, Client, Harness, client_doc, request};
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
    const WANTED: [&str; 3] = ["created client", "replaced client", "deleted client"];
    let all_there = |events: &[certbound_store::AuditEvent]| {
        WANTED.iter().all(|want| {
            events
                .iter()
                .filter_map(|e| e.detail.as_deref())
                .any(|d| d.starts_with(want))
        })
    };
    let events = h
        .audit_until(
            certbound_store::AuditFilter {
                kind: Some("admin".into()),
                ..Default::default()
            },
            all_there,
        )
        .await;
    let details: Vec<String> = events.iter().filter_map(|e| e.detail.clone()).collect();
    for want in WANTED {
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
        let r = request(
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
    let r = request(
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
    let r = request(
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
    let r = request(
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

/// Longest wait for any one request: a hung server fails the test, not the run.
const DEADLINE: std::time::Duration = std::time::Duration::from_secs(20);

/// POST a ClientApplication to the admin API of the server at `addr`.
async fn post_client(
    addr: std::net::SocketAddr,
    pki: &certbound_testkit::TestPki,
    token: Option<&str>,
    doc: &serde_json::Value,
) -> common::Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    tokio::time::timeout(
        DEADLINE,
        common::request(
            addr,
            pki,
            &Client::None,
            "POST",
            "/admin/ClientApplication",
            "application/json",
            &doc.to_string(),
            &headers,
        ),
    )
    .await
    .expect("the admin API answers in time")
    .unwrap()
}

/// A 400 whose `errors` name `field` with a message containing `text`, and
/// whose description names the field too.
#[track_caller]
fn assert_field_error(r: &common::Reply, field: &str, text: &str) {
    assert_eq!(r.status, 400, "{field}: {}", r.body);
    let json = r.json();
    assert_eq!(json["error"], "invalid_request", "{json}");
    let errors = json["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no `errors` array for {field}: {json}"));
    assert!(
        errors
            .iter()
            .any(|e| e["field"] == field && e["message"].as_str().unwrap().contains(text)),
        "{field}/{text} not in {errors:?}"
    );
    assert!(
        json["error_description"]
            .as_str()
            .unwrap()
            .contains(&format!("{field}: ")),
        "{json}"
    );
}

/// A server from `BASE_CONFIG` with `edit` applied, in a directory laid out as
/// the harness lays it out (the harness's `[admin]` and `[issuer]` tables
/// cannot be extended by appending TOML).
struct Custom {
    running: certbound_server::Running,
    pki: certbound_testkit::TestPki,
    _dir: tempfile::TempDir,
}

fn write_custom(
    edit: impl FnOnce(&str) -> String,
) -> (
    tempfile::TempDir,
    certbound_testkit::TestPki,
    std::path::PathBuf,
) {
    let dir = tempfile::tempdir().unwrap();
    let pki = certbound_testkit::TestPki::new();
    pki.root
        .issue(&LeafOptions::server("localhost").around_now())
        .write(dir.path(), "server", &[]);
    std::fs::write(dir.path().join("root.crt"), pki.root.cert_pem()).unwrap();
    certbound_testkit::write_private(&dir.path().join("admin-token"), ADMIN_TOKEN);
    self_signed(&LeafOptions::client("admin").around_now()).write(dir.path(), "admin", &[]);
    let config = edit(common::BASE_CONFIG);
    assert_ne!(config, common::BASE_CONFIG, "the edit changed nothing");
    let path = dir.path().join("certbound.toml");
    std::fs::write(&path, config).unwrap();
    (dir, pki, path)
}

async fn start_custom(edit: impl FnOnce(&str) -> String) -> Custom {
    let (dir, pki, path) = write_custom(edit);
    let config = certbound_server::Config::load(&path).unwrap();
    let running = certbound_server::bind(&config).await.unwrap();
    Custom {
        running,
        pki,
        _dir: dir,
    }
}

/// A variable nobody else sets: the admin token of [`admin_token_from_the_environment`].
const TOKEN_VAR: &str = "CERTBOUND_TEST_ADMIN_TOKEN_ENV_5C1E0A";
const ENV_TOKEN: &str = "env-admin-token-fedcba9876543210";

fn with_token_env(base: &str) -> String {
    base.replace(
        "token_file = \"admin-token\"\n",
        &format!("token_env = \"{TOKEN_VAR}\"\n"),
    )
}

/// `[admin] token_env`. The workspace forbids `unsafe`, so the variable
/// cannot be set in this process (`std::env::set_var` is unsafe in edition
/// 2024): validation reads it through `Config::load_with_env`, which the
/// test gives the variable.
#[tokio::test]
async fn admin_token_from_the_environment() {
    let (dir, pki, path) = write_custom(with_token_env);
    // Unset: the config is refused, naming the key and the variable.
    let err = certbound_server::Config::load_with_env(&path, &|_| None).unwrap_err();
    match &err {
        certbound_server::config::ConfigError::Invalid { problems, .. } => assert!(
            problems.iter().any(|p| p.key == "admin.token_env"
                && p.reason == format!("the environment variable {TOKEN_VAR} is not set")),
            "{err}"
        ),
        other => panic!("{other}"),
    }
    // Set, with trailing whitespace as `echo` into a secret store leaves it: trimmed.
    let env = |name: &str| (name == TOKEN_VAR).then(|| format!("{ENV_TOKEN}\n"));
    let config = certbound_server::Config::load_with_env(&path, &env).unwrap();
    let s = Custom {
        running: certbound_server::bind(&config).await.unwrap(),
        pki,
        _dir: dir,
    };
    let addr = s.running.addr("tls").unwrap();
    let get = |token: Option<&'static str>| {
        let pki = &s.pki;
        async move {
            let auth = token.map(|t| format!("Bearer {t}"));
            let headers: Vec<(&str, &str)> =
                auth.iter().map(|a| ("authorization", a.as_str())).collect();
            tokio::time::timeout(
                DEADLINE,
                common::request(
                    addr,
                    pki,
                    &Client::None,
                    "GET",
                    "/admin/ClientApplication",
                    "",
                    "",
                    &headers,
                ),
            )
            .await
            .expect("the admin API answers in time")
            .unwrap()
        }
    };
    // The variable's value (trimmed) is the admin token.
    let ok = get(Some(ENV_TOKEN)).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["total"], 0);
    let leaf = self_signed(&LeafOptions::client("env").around_now());
    let created = post_client(
        addr,
        &s.pki,
        Some(ENV_TOKEN),
        &client_doc("env", &leaf.cert_pem()),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    // Another token (the harness's file token, not configured here) is
    // refused: 403 forbidden, as for any wrong admin token.
    for wrong in [
        ADMIN_TOKEN,
        "env-admin-token-fedcba987654321",
        "env-admin-token-fedcba9876543210x",
    ] {
        let r = get(Some(wrong)).await;
        assert_eq!(r.status, 403, "{wrong}: {}", r.body);
        assert_eq!(r.json()["error"], "forbidden");
        let r = post_client(
            addr,
            &s.pki,
            Some(wrong),
            &client_doc("no", &leaf.cert_pem()),
        )
        .await;
        assert_eq!(r.status, 403, "{wrong}: {}", r.body);
    }
    // No token: 401 with the Bearer challenge.
    let none = get(None).await;
    assert_eq!(none.status, 401, "{}", none.body);
    assert_eq!(
        none.headers["www-authenticate"],
        "Bearer realm=\"certbound-admin\""
    );
    assert_eq!(none.json()["error"], "unauthorized");
    // Only the one client was created.
    assert_eq!(get(Some(ENV_TOKEN)).await.json()["total"], 1);
}

#[tokio::test]
async fn each_field_is_validated_and_named_through_the_api() {
    use certbound_oauth::client::MAX_TRUST_STORE_LEN;
    let h = Harness::start("").await;
    let addr = h.addr("tls");
    let leaf = self_signed(&LeafOptions::client("leaf").around_now());
    let root = h.pki.root.cert_pem();
    let with = |store: &str, field: &str, value: serde_json::Value| {
        let mut doc = client_doc("x", store);
        doc[field] = value;
        doc
    };
    let leaf_pem = leaf.cert_pem();
    let max_id = "a".repeat(64);
    // A trust store of exactly the limit: comment text before the certificate
    // (text outside PEM blocks is ignored) pads it.
    let store_of = |len: usize| {
        let cert = root.trim();
        let store = format!("{}\n{cert}", "x".repeat(len - cert.len() - 1));
        assert_eq!(store.len(), len);
        store
    };
    let too_large = format!("is larger than {MAX_TRUST_STORE_LEN} bytes");
    let rejected: Vec<(serde_json::Value, &str, &str)> = vec![
        (
            with(&leaf_pem, "id", "bad/id".into()),
            "id",
            "1 to 64 characters",
        ),
        (
            with(&leaf_pem, "id", "under_score".into()),
            "id",
            "1 to 64 characters",
        ),
        (
            with(&leaf_pem, "id", "é".into()),
            "id",
            "1 to 64 characters",
        ),
        (
            with(&leaf_pem, "id", "a".repeat(65).into()),
            "id",
            "1 to 64 characters",
        ),
        (with(&leaf_pem, "id", "".into()), "id", "1 to 64 characters"),
        (
            with(&leaf_pem, "scope", "read  write".into()),
            "scope",
            "single spaces",
        ),
        (
            with(&leaf_pem, "scope", " read".into()),
            "scope",
            "single spaces",
        ),
        (
            with(&leaf_pem, "scope", "read\"".into()),
            "scope",
            "is not allowed in a scope token",
        ),
        (
            with(&leaf_pem, "scope", "café".into()),
            "scope",
            "is not allowed in a scope token",
        ),
        (
            with(&leaf_pem, "access_token_lifetime", 0.into()),
            "access_token_lifetime",
            "must be between 60 and 86400 seconds, not 0",
        ),
        (
            with(&leaf_pem, "access_token_lifetime", 59.into()),
            "access_token_lifetime",
            "not 59",
        ),
        (
            with(&leaf_pem, "access_token_lifetime", 86_401.into()),
            "access_token_lifetime",
            "not 86401",
        ),
        (
            with(&root, "tls_client_auth_subject_dn", "no equals sign".into()),
            "tls_client_auth_subject_dn",
            "is not an attribute",
        ),
        (
            with(&root, "tls_client_auth_subject_dn", "XYZ=partner".into()),
            "tls_client_auth_subject_dn",
            "unknown attribute type `XYZ`",
        ),
        (
            with(&root, "tls_client_auth_subject_dn", "CN=a\\".into()),
            "tls_client_auth_subject_dn",
            "escape",
        ),
        (
            with(&root, "tls_client_auth_san_ip", "not-an-ip".into()),
            "tls_client_auth_san_ip",
            "`not-an-ip` is not an IP address",
        ),
        (
            with(&root, "tls_client_auth_san_ip", "256.1.1.1".into()),
            "tls_client_auth_san_ip",
            "is not an IP address",
        ),
        (
            with(&root, "tls_client_auth_san_ip", "10.0.0.0/8".into()),
            "tls_client_auth_san_ip",
            "is not an IP address",
        ),
        (
            client_doc("x", &store_of(MAX_TRUST_STORE_LEN + 1)),
            "certificateTrustStore",
            &too_large,
        ),
    ];
    let accepted: Vec<serde_json::Value> = vec![
        with(&leaf_pem, "id", "Partner-7.v2".into()),
        with(&leaf_pem, "id", max_id.into()),
        with(&leaf_pem, "scope", "read write system/Patient.read".into()),
        with(&leaf_pem, "access_token_lifetime", 60.into()),
        with(&leaf_pem, "access_token_lifetime", 86_400.into()),
        // null is absent: the issuer's lifetime applies.
        with(&leaf_pem, "access_token_lifetime", serde_json::Value::Null),
        with(
            &root,
            "tls_client_auth_subject_dn",
            "CN=partner-7, O=Payer Inc".into(),
        ),
        with(
            &root,
            "tls_client_auth_subject_dn",
            "/CN=partner-7/O=Payer Inc".into(),
        ),
        with(&root, "tls_client_auth_san_ip", "127.0.0.1".into()),
        with(&root, "tls_client_auth_san_ip", "::1".into()),
        client_doc("x", &store_of(MAX_TRUST_STORE_LEN)),
    ];
    for (doc, field, text) in &rejected {
        let r = post_client(addr, &h.pki, Some(ADMIN_TOKEN), doc).await;
        assert_field_error(&r, field, text);
    }
    assert_eq!(
        h.admin("GET", "/admin/ClientApplication", None, None)
            .await
            .json()["total"],
        0,
        "nothing refused was stored"
    );
    for doc in &accepted {
        let r = post_client(addr, &h.pki, Some(ADMIN_TOKEN), doc).await;
        assert_eq!(r.status, 201, "{doc}: {}", r.body);
    }
    assert_eq!(
        h.admin("GET", "/admin/ClientApplication", None, None)
            .await
            .json()["total"],
        accepted.len()
    );
}

/// A field of the wrong JSON type is named like every other validation
/// error, and all such fields at once.
#[tokio::test]
async fn fields_of_the_wrong_type_are_named() {
    let h = Harness::start("").await;
    let leaf = self_signed(&LeafOptions::client("leaf").around_now());
    for (value, shown) in [
        (json!(-1), "not -1"),
        (json!("3600"), "not a string"),
        (json!(1.5), "not 1.5"),
        (json!(true), "not a boolean"),
    ] {
        let mut doc = client_doc("x", &leaf.cert_pem());
        doc["access_token_lifetime"] = value.clone();
        let r = post_client(h.addr("tls"), &h.pki, Some(ADMIN_TOKEN), &doc).await;
        assert_field_error(
            &r,
            "access_token_lifetime",
            &format!("must be a whole number of seconds (60 to 86400), {shown}"),
        );
    }
    let mut doc = client_doc("x", &leaf.cert_pem());
    doc["scope"] = json!(["read", "write"]);
    doc["name"] = json!(null);
    doc["tls_client_auth_san_dns"] = json!(7);
    let r = post_client(h.addr("tls"), &h.pki, Some(ADMIN_TOKEN), &doc).await;
    assert_field_error(&r, "scope", "must be a string, not an array");
    assert_field_error(&r, "name", "must be a string, not null");
    assert_field_error(
        &r,
        "tls_client_auth_san_dns",
        "must be a string, not a number",
    );
    assert_eq!(
        r.json()["errors"].as_array().unwrap().len(),
        3,
        "{}",
        r.body
    );
}

#[tokio::test]
async fn require_subject_constraint_refuses_a_bare_ca() {
    let s = start_custom(|base| {
        base.replace(
            "url = \"https://localhost\"\n",
            "url = \"https://localhost\"\nrequire_subject_constraint = true\n",
        )
    })
    .await;
    let addr = s.running.addr("tls").unwrap();
    let root = s.pki.root.cert_pem();
    // A CA with no subject constraint: refused, naming the field.
    let bare = post_client(addr, &s.pki, Some(ADMIN_TOKEN), &client_doc("bare", &root)).await;
    assert_field_error(
        &bare,
        "tls_client_auth_subject_dn",
        "is required by this server",
    );
    // The same CA with a subject DN or a SAN constraint: accepted, no warning.
    for (field, value) in [
        ("tls_client_auth_subject_dn", "CN=partner-7, O=Payer Inc"),
        ("tls_client_auth_san_dns", "partner-7.example.com"),
    ] {
        let mut doc = client_doc("constrained", &root);
        doc[field] = value.into();
        let r = post_client(addr, &s.pki, Some(ADMIN_TOKEN), &doc).await;
        assert_eq!(r.status, 201, "{field}: {}", r.body);
        assert!(r.json().get("warnings").is_none(), "{}", r.body);
    }
    // A self-signed leaf authenticates only itself: no constraint needed.
    let leaf = self_signed(&LeafOptions::client("leaf").around_now());
    let r = post_client(
        addr,
        &s.pki,
        Some(ADMIN_TOKEN),
        &client_doc("leaf", &leaf.cert_pem()),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Without the setting, the bare CA is saved with a warning instead.
    let h = Harness::start("").await;
    let r = post_client(
        h.addr("tls"),
        &h.pki,
        Some(ADMIN_TOKEN),
        &client_doc("bare", &h.pki.root.cert_pem()),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(
        r.json()["warnings"][0]
            .as_str()
            .unwrap()
            .contains("no tls_client_auth_subject_dn or tls_client_auth_san_* constraint is set"),
        "{}",
        r.body
    );
}

/// PUT with `If-Match` replaces only the version it names (FHIR's
/// version-aware update); without it, the version the server read.
#[tokio::test]
async fn if_match_guards_against_lost_updates() {
    let h = Harness::start("").await;
    let leaf = self_signed(&LeafOptions::client("leaf").around_now());
    let mut doc = client_doc("versioned", &leaf.cert_pem());
    doc["id"] = "versioned".into();
    let created = h
        .admin("POST", "/admin/ClientApplication", Some(&doc), None)
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.headers["etag"], "W/\"1\"");
    let read = h
        .admin("GET", "/admin/ClientApplication/versioned", None, None)
        .await;
    assert_eq!(read.headers["etag"], "W/\"1\"");
    assert_eq!(read.json()["meta"]["versionId"], "1");

    let put = |if_match: &'static str, name: &'static str| {
        let mut doc = doc.clone();
        doc["name"] = name.into();
        let auth = format!("Bearer {ADMIN_TOKEN}");
        let (addr, pki) = (h.addr("tls"), &h.pki);
        async move {
            let mut headers = vec![("authorization", auth.as_str())];
            if !if_match.is_empty() {
                headers.push(("if-match", if_match));
            }
            request(
                addr,
                pki,
                &Client::None,
                "PUT",
                "/admin/ClientApplication/versioned",
                "application/json",
                &doc.to_string(),
                &headers,
            )
            .await
            .unwrap()
        }
    };
    // The version read: applied, and the new version's tag comes back.
    let first = put("W/\"1\"", "first").await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.headers["etag"], "W/\"2\"");
    // A second writer who also read version 1: refused, nothing written.
    let stale = put("W/\"1\"", "stale").await;
    assert_eq!(stale.status, 412, "{}", stale.body);
    assert_eq!(stale.json()["error"], "precondition_failed");
    assert!(
        stale.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("is at version 2, not 1"),
        "{}",
        stale.body
    );
    let now = h
        .admin("GET", "/admin/ClientApplication/versioned", None, None)
        .await;
    assert_eq!(now.json()["name"], "first");
    assert_eq!(now.headers["etag"], "W/\"2\"");
    // A strong tag names the version too; a tag that names none is a 400.
    assert_eq!(put("\"2\"", "second").await.status, 200);
    let garbled = put("yesterday", "garbled").await;
    assert_eq!(garbled.status, 400, "{}", garbled.body);
    assert!(garbled.body.contains("If-Match"), "{}", garbled.body);
    // Without If-Match, last writer wins.
    let plain = put("", "plain").await;
    assert_eq!(plain.status, 200, "{}", plain.body);
    assert_eq!(plain.headers["etag"], "W/\"4\"");
}

/// `.` and `..` cannot be ids (a URL path cannot name them), and a body that
/// names a key twice is refused: parsers disagree on which one counts.
#[tokio::test]
async fn dot_ids_and_repeated_keys_are_refused_and_nothing_is_stored() {
    let h = Harness::start("").await;
    let leaf = self_signed(&LeafOptions::client("partner").around_now());
    for id in [".", ".."] {
        let mut doc = client_doc("partner", &common::pem_of(&leaf.cert));
        doc["id"] = serde_json::json!(id);
        let r = h
            .admin("POST", "/admin/ClientApplication", Some(&doc), None)
            .await;
        assert_eq!(r.status, 400, "{id}: {}", r.body);
        assert!(r.body.contains("not '.' or '..'"), "{}", r.body);
    }
    let pem = serde_json::to_string(&common::pem_of(&leaf.cert)).unwrap();
    let twice = format!(
        r#"{{"resourceType":"ClientApplication","name":"partner","certificateTrustStore":{pem},"scope":"read","scope":"admin"}}"#
    );
    let auth = format!("Bearer {}", ADMIN_TOKEN);
    let r = request(
        h.addr("tls"),
        &h.pki,
        &Client::None,
        "POST",
        "/admin/ClientApplication",
        "application/json",
        &twice,
        &[("authorization", auth.as_str())],
    )
    .await
    .unwrap();
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("\\\"scope\\\" appears twice"), "{}", r.body);
    // The same body with the key once is accepted.
    let once = twice.replace(r#","scope":"admin""#, "");
    let r = request(
        h.addr("tls"),
        &h.pki,
        &Client::None,
        "POST",
        "/admin/ClientApplication",
        "application/json",
        &once,
        &[("authorization", auth.as_str())],
    )
    .await
    .unwrap();
    assert_eq!(r.status, 201, "{}", r.body);
    let list = h.admin("GET", "/admin/ClientApplication", None, None).await;
    assert_eq!(list.json()["total"], 1, "{}", list.body);
}
