//! Introspection (RFC 7662) and revocation (RFC 7009): active tokens, and
//! inactive ones (revoked, foreign, garbage); who may revoke what.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use certbound_testkit::{LeafOptions, self_signed};
use common::{Client, Harness, client_doc};

async fn post(h: &Harness, client: &Client, path: &str, body: &str) -> common::Reply {
    common::request(
        h.addr("mtls"),
        &h.pki,
        client,
        "POST",
        path,
        "application/x-www-form-urlencoded",
        body,
        &[],
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn introspect_then_revoke_then_introspect() {
    let h = Harness::start("").await;
    let a = self_signed(&LeafOptions::client("a").around_now());
    let b = self_signed(&LeafOptions::client("b").around_now());
    h.register("a", client_doc("a", &a.cert_pem())).await;
    h.register("b", client_doc("b", &b.cert_pem())).await;
    let ca = Client::Cert(vec![a.cert.clone()], a.key_pem.clone());
    let cb = Client::Cert(vec![b.cert.clone()], b.key_pem.clone());
    let token = h
        .token("mtls", &ca, "grant_type=client_credentials&client_id=a")
        .await
        .unwrap()
        .json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let info = post(
        &h,
        &cb,
        "/oauth2/introspect",
        &format!("client_id=b&token={token}"),
    )
    .await;
    assert_eq!(info.status, 200, "{}", info.body);
    assert_eq!(info.headers["cache-control"], "no-store");
    let json = info.json();
    assert_eq!(json["active"], true);
    assert_eq!(json["client_id"], "a");
    assert_eq!(json["token_type"], "Bearer");
    assert_eq!(json["iss"], "https://localhost");
    assert_eq!(json["cnf"]["x5t#S256"], certbound_pki::x5t_s256(&a.cert));
    for field in ["sub", "exp", "iat"] {
        assert!(!json[field].is_null(), "{field}");
    }

    // B may not revoke A's token.
    let refused = post(
        &h,
        &cb,
        "/oauth2/revoke",
        &format!("client_id=b&token={token}"),
    )
    .await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["error"], "unauthorized_client");
    // A may.
    let revoked = post(
        &h,
        &ca,
        "/oauth2/revoke",
        &format!("client_id=a&token={token}"),
    )
    .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let after = post(
        &h,
        &cb,
        "/oauth2/introspect",
        &format!("client_id=b&token={token}"),
    )
    .await;
    assert_eq!(after.body, r#"{"active":false}"#);

    // Garbage and foreign tokens are simply inactive; revoking them is not an error.
    let foreign = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.AAAA";
    for t in ["garbage", foreign] {
        assert_eq!(
            post(
                &h,
                &cb,
                "/oauth2/introspect",
                &format!("client_id=b&token={t}")
            )
            .await
            .body,
            r#"{"active":false}"#
        );
        assert_eq!(
            post(&h, &cb, "/oauth2/revoke", &format!("client_id=b&token={t}"))
                .await
                .status,
            200
        );
    }
}

#[tokio::test]
async fn callers_must_authenticate() {
    let h = Harness::start("").await;
    let a = self_signed(&LeafOptions::client("a").around_now());
    h.register("a", client_doc("a", &a.cert_pem())).await;
    let stranger = self_signed(&LeafOptions::client("a").around_now());
    let cs = Client::Cert(vec![stranger.cert.clone()], stranger.key_pem.clone());
    let r = post(&h, &cs, "/oauth2/introspect", "client_id=a&token=x").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "invalid_client");
    let ca = Client::Cert(vec![a.cert.clone()], a.key_pem.clone());
    let r = post(&h, &ca, "/oauth2/introspect", "client_id=a").await;
    assert_eq!(r.status, 400, "token is required");
    let meta = h
        .get("tls", "/.well-known/oauth-authorization-server")
        .await
        .unwrap()
        .json();
    assert_eq!(
        meta["introspection_endpoint"],
        "https://localhost/oauth2/introspect"
    );
    assert_eq!(
        meta["revocation_endpoint"],
        "https://localhost/oauth2/revoke"
    );
}
