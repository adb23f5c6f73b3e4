//! Metrics and the audit trail record the precise reason of each rejection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use certbound_store::{AuditFilter, AuditResult};
use certbound_testkit::{Eku, LeafOptions, self_signed};
use common::{Client, Harness, client_doc, eventually_ok};

#[tokio::test]
async fn each_rejection_kind_is_counted_and_audited_with_its_reason() {
    let h = Harness::start("").await;
    let mut doc = client_doc("partner", &h.pki.root.cert_pem());
    doc["tls_client_auth_subject_dn"] = "CN=partner,O=certbound tests".into();
    h.register("partner", doc).await;
    let body = "grant_type=client_credentials&client_id=partner";
    let cases = [
        (
            h.pki
                .other_root
                .issue(&LeafOptions::client("partner").around_now()),
            "untrusted_certificate",
        ),
        (
            h.pki
                .root
                .issue(&LeafOptions::client("partner").ended_days_ago(1, 10)),
            "certificate_not_valid",
        ),
        (
            h.pki
                .root
                .issue(&LeafOptions::client("partner").eku(Eku::Server).around_now()),
            "wrong_eku",
        ),
        (
            h.pki
                .root
                .issue(&LeafOptions::client("someone").around_now()),
            "subject_mismatch",
        ),
        (
            h.pki
                .intermediate
                .issue(&LeafOptions::client("partner").around_now()),
            "missing_intermediate",
        ),
    ];
    for (leaf, _) in &cases {
        let r = h
            .token(
                "mtls",
                &Client::Cert(vec![leaf.cert.clone()], leaf.key_pem.clone()),
                body,
            )
            .await
            .unwrap();
        assert_eq!(r.status, 401);
    }
    assert_eq!(
        h.token("mtls-opt", &Client::None, body)
            .await
            .unwrap()
            .status,
        401
    );
    let good = h
        .pki
        .root
        .issue(&LeafOptions::client("partner").around_now());
    assert_eq!(
        h.token(
            "mtls",
            &Client::Cert(vec![good.cert.clone()], good.key_pem.clone()),
            body
        )
        .await
        .unwrap()
        .status,
        200
    );
    // A handshake failure: a forged CertificateVerify.
    let solo = self_signed(&LeafOptions::client("x").around_now());
    assert!(
        h.token(
            "mtls",
            &Client::Forged(vec![good.cert.clone()], solo.key_pem.clone()),
            body
        )
        .await
        .is_err()
    );

    let metrics = h.get("tls", "/metrics").await.unwrap();
    assert_eq!(metrics.status, 200);
    let text = metrics.body;
    for (_, code) in &cases {
        assert!(
            text.contains(&format!(
                "certbound_client_auth_failures_total{{reason=\"{code}\"}} 1"
            )),
            "{code}:\n{text}"
        );
    }
    assert!(
        text.contains("certbound_client_auth_failures_total{reason=\"no_certificate\"} 1"),
        "{text}"
    );
    assert!(
        text.contains(
            "certbound_token_requests_total{method=\"tls_client_auth\",result=\"success\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "certbound_token_requests_total{method=\"tls_client_auth\",result=\"invalid_client\"} 5"
        ),
        "{text}"
    );
    assert!(
        text.contains("certbound_tls_handshake_failures_total{reason=\"bad_signature\"}"),
        "{text}"
    );
    assert!(
        text.contains("certbound_request_duration_seconds_count{endpoint=\"token\"} 7"),
        "{text}"
    );
    assert!(text.contains("certbound_registry_clients 1"), "{text}");

    // The audit trail holds each reason, newest first, filterable.
    let events = h
        .audit_until(
            AuditFilter {
                client_id: Some("partner".into()),
                result: Some(AuditResult::Failure),
                ..Default::default()
            },
            |events| events.len() >= 6,
        )
        .await;
    assert_eq!(events.len(), 6, "{events:#?}");
    for (_, code) in &cases {
        assert!(
            events
                .iter()
                .any(|e| e.reason.as_deref().is_some_and(|r| r.starts_with(code))),
            "{code}"
        );
    }
    let one = events
        .iter()
        .find(|e| {
            e.reason
                .as_deref()
                .is_some_and(|r| r.starts_with("wrong_eku"))
        })
        .unwrap();
    assert_eq!(one.kind, "token");
    assert_eq!(one.method.as_deref(), Some("tls_client_auth"));
    assert!(
        one.thumbprint.is_some()
            && one
                .subject
                .as_deref()
                .is_some_and(|s| s.contains("partner"))
    );
    assert_eq!(one.listener.as_deref(), Some("mtls"));
    assert!(
        one.peer
            .as_deref()
            .is_some_and(|p| p.starts_with("127.0.0.1:"))
    );

    // The forged handshake is an authentication attempt too, audited with its reason.
    let handshakes = h
        .audit_until(
            AuditFilter {
                kind: Some("handshake".into()),
                ..Default::default()
            },
            |events| !events.is_empty(),
        )
        .await;
    assert_eq!(handshakes.len(), 1, "{handshakes:#?}");
    let forged = &handshakes[0];
    assert_eq!(forged.result, AuditResult::Failure);
    assert_eq!(forged.reason.as_deref(), Some("bad_signature"));
    assert_eq!(forged.listener.as_deref(), Some("mtls"));
    assert!(forged.detail.is_some() && forged.peer.is_some());
}

#[tokio::test]
async fn metrics_are_served_only_to_allowed_peers_that_reach_certbound_directly() {
    // A proxied listener: even from loopback, relayed requests do not see metrics.
    let h = Harness::start(
        "[[listener]]\nname = \"proxied\"\nbind = \"127.0.0.1:0\"\nclient_cert_header = { name = \"x-client-cert\", format = \"pem\" }\ntrusted_proxies = [\"127.0.0.1\"]\n",
    )
    .await;
    assert_eq!(h.get("tls", "/metrics").await.unwrap().status, 200);
    let r = common::plain_request(h.addr("proxied"), "GET", "/metrics", "", "", &[])
        .await
        .unwrap();
    assert_eq!(r.status, 403, "{}", r.body);
    drop(h);
    // allow_from without loopback.
    let h = Harness::start("[metrics]\nallow_from = [\"10.0.0.0/8\"]\n").await;
    let r = h.get("tls", "/metrics").await.unwrap();
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"], "access_denied");
}

#[tokio::test]
async fn audit_events_older_than_the_retention_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    let store = certbound_store::open(&url).await.unwrap();
    let now = time::OffsetDateTime::now_utc();
    let mut old = certbound_store::AuditEvent::new("token", AuditResult::Success);
    old.at = now - time::Duration::days(3);
    old.client_id = Some("old".into());
    let mut recent = certbound_store::AuditEvent::new("token", AuditResult::Success);
    recent.at = now - time::Duration::hours(47);
    recent.client_id = Some("recent".into());
    store.append_audit(&[old, recent]).await.unwrap();

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let purger = certbound_server::audit::spawn_purger(
        std::sync::Arc::clone(&store),
        std::time::Duration::from_secs(2 * 86_400),
        stopped,
    );
    let left = eventually_ok("the old event purged", || async {
        let left = store.query_audit(&AuditFilter::default()).await.unwrap();
        if left.len() == 1 {
            Ok(left)
        } else {
            Err(format!("{left:#?}"))
        }
    })
    .await;
    assert_eq!(left.len(), 1, "{left:#?}");
    assert_eq!(left[0].client_id.as_deref(), Some("recent"));
    stop.send(true).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), purger)
        .await
        .expect("the purger stops at shutdown")
        .unwrap();
}

#[test]
fn the_audit_retention_is_checked_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    let base = "[issuer]\nurl = \"https://localhost\"\n[[listener]]\nname = \"api\"\nbind = \"127.0.0.1:0\"\n";
    let load = |audit: &str| {
        std::fs::write(&path, format!("{base}{audit}")).unwrap();
        certbound_server::Config::load(&path)
    };
    let days = |c: certbound_server::Config| c.audit_retention.map(|d| d.as_secs() / 86_400);
    assert_eq!(days(load("").unwrap()), Some(90), "the default");
    assert_eq!(
        days(load("[audit]\nretention_days = 7\n").unwrap()),
        Some(7)
    );
    assert_eq!(
        days(load("[audit]\nretention_days = 0\n").unwrap()),
        None,
        "forever"
    );
    let err = load("[audit]\nretention_days = 3651\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("audit.retention_days: 3651 is more than 3650 days"),
        "{err}"
    );
    let err = load("[audit]\nretention = 7\n").unwrap_err().to_string();
    assert!(err.contains("retention"), "{err}");
}

/// Every refused token request is counted once, with the method it
/// attempted as read from its form: an unreadable body and another grant
/// type included.
#[tokio::test]
async fn every_refused_token_request_is_counted_once() {
    let h = Harness::start("").await;
    let addr = h.addr("mtls-opt");
    let plain = common::request(
        addr,
        &h.pki,
        &Client::None,
        "POST",
        "/oauth2/token",
        "text/plain",
        "grant_type=client_credentials",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(plain.status, 400, "{}", plain.body);
    let password = h
        .token(
            "mtls-opt",
            &Client::None,
            "grant_type=password&client_id=someone&client_secret=long-enough-secret",
        )
        .await
        .unwrap();
    assert_eq!(password.status, 400, "{}", password.body);
    assert_eq!(password.json()["error"], "unsupported_grant_type");
    let text = h.get("tls", "/metrics").await.unwrap().body;
    for line in [
        "certbound_token_requests_total{method=\"none\",result=\"invalid_request\"} 1",
        "certbound_token_requests_total{method=\"client_secret_post\",result=\"unsupported_grant_type\"} 1",
    ] {
        assert!(text.contains(line), "{line}:\n{text}");
    }
}
