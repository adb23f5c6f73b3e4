//! Introspection (RFC 7662) and revocation (RFC 7009): active tokens, and
//! inactive ones (revoked, foreign, garbage); who may revoke what.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use certbound_testkit::{LeafOptions, self_signed};
use common::{Client, Harness, client_doc, eventually_ok};

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

/// Longest wait for any one request: a hung server fails the test, not the run.
const DEADLINE: std::time::Duration = std::time::Duration::from_secs(20);

/// POST a form to `listener`, with extra headers, within [`DEADLINE`].
async fn call(
    h: &Harness,
    listener: &str,
    client: &Client,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> common::Reply {
    tokio::time::timeout(
        DEADLINE,
        common::request(
            h.addr(listener),
            &h.pki,
            client,
            "POST",
            path,
            "application/x-www-form-urlencoded",
            body,
            headers,
        ),
    )
    .await
    .unwrap_or_else(|_| panic!("POST {path} did not answer within {DEADLINE:?}"))
    .unwrap()
}

/// The `access_token` of a 200 token response.
fn access_token(reply: &common::Reply) -> String {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["access_token"].as_str().unwrap().to_string()
}

/// The JSON object's keys, sorted.
fn keys(json: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = json.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn active_introspection_carries_exactly_the_granted_scope_and_binding() {
    let h = Harness::start("").await;
    let a = self_signed(&LeafOptions::client("a").around_now());
    let o = self_signed(&LeafOptions::client("open").around_now());
    let mut restricted = client_doc("a", &a.cert_pem());
    restricted["scope"] = "read write admin".into();
    h.register("a", restricted).await;
    let mut open = client_doc("open", &o.cert_pem());
    open["access_token_lifetime"] = 60.into();
    h.register("open", open).await;
    let ca = Client::Cert(vec![a.cert.clone()], a.key_pem.clone());
    let co = Client::Cert(vec![o.cert.clone()], o.key_pem.clone());
    let thumb_a = certbound_pki::x5t_s256(&a.cert);
    let thumb_o = certbound_pki::x5t_s256(&o.cert);
    assert_ne!(thumb_a, thumb_o);

    // Two of the three allowed scopes, asked in this order.
    let before = unix_now();
    let issued = call(
        &h,
        "mtls",
        &ca,
        "/oauth2/token",
        "grant_type=client_credentials&client_id=a&scope=write+read",
        &[],
    )
    .await;
    let token = access_token(&issued);
    assert_eq!(issued.json()["scope"], "write read");
    let jwt = common::claims(&token);
    let info = call(
        &h,
        "mtls",
        &ca,
        "/oauth2/introspect",
        &format!("client_id=a&token={token}"),
        &[],
    )
    .await;
    let after = unix_now();
    assert_eq!(info.status, 200, "{}", info.body);
    assert_eq!(info.headers["content-type"], "application/json");
    assert_eq!(info.headers["cache-control"], "no-store");
    let json = info.json();
    assert_eq!(
        keys(&json),
        [
            "active",
            "aud",
            "client_id",
            "cnf",
            "exp",
            "iat",
            "iss",
            "jti",
            "scope",
            "sub",
            "token_type"
        ],
        "{json}"
    );
    assert_eq!(json["active"], true);
    assert_eq!(
        json["scope"], "write read",
        "the granted scopes, not the allowed ones"
    );
    assert_eq!(json["client_id"], "a");
    assert_eq!(json["sub"], "a");
    assert_eq!(json["iss"], "https://localhost");
    assert_eq!(json["aud"], "https://localhost");
    assert_eq!(json["token_type"], "Bearer");
    assert_eq!(json["cnf"], serde_json::json!({"x5t#S256": thumb_a}));
    for claim in ["jti", "exp", "iat", "cnf", "scope"] {
        assert_eq!(json[claim], jwt[claim], "{claim} differs from the token's");
    }
    let (iat, exp) = (json["iat"].as_i64().unwrap(), json["exp"].as_i64().unwrap());
    assert!(
        (before..=after).contains(&iat),
        "iat {iat} not in {before}..={after}"
    );
    assert_eq!(exp - iat, 3600, "the issuer's default lifetime");

    // Asking for no scope grants every allowed one, in the registered order.
    let all = access_token(
        &call(
            &h,
            "mtls",
            &ca,
            "/oauth2/token",
            "grant_type=client_credentials&client_id=a",
            &[],
        )
        .await,
    );
    let json = call(
        &h,
        "mtls",
        &ca,
        "/oauth2/introspect",
        &format!("client_id=a&token={all}"),
        &[],
    )
    .await
    .json();
    assert_eq!(json["scope"], "read write admin");
    // A scope outside the allowed ones gets no token at all.
    let refused = call(
        &h,
        "mtls",
        &ca,
        "/oauth2/token",
        "grant_type=client_credentials&client_id=a&scope=read+delete",
        &[],
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.json()["error"], "invalid_scope");
    assert!(refused.json().get("access_token").is_none());

    // A client without a scope list that asks for none: no `scope` member at
    // all; the binding is to its own certificate; its own lifetime applies.
    let plain = call(
        &h,
        "mtls",
        &co,
        "/oauth2/token",
        "grant_type=client_credentials&client_id=open",
        &[],
    )
    .await;
    let plain_token = access_token(&plain);
    assert_eq!(plain.json()["expires_in"], 60);
    let json = call(
        &h,
        "mtls",
        &ca,
        "/oauth2/introspect",
        &format!("client_id=a&token={plain_token}"),
        &[],
    )
    .await
    .json();
    assert_eq!(json["active"], true, "{json}");
    assert!(json.get("scope").is_none(), "{json}");
    assert_eq!(json["client_id"], "open");
    assert_eq!(json["cnf"]["x5t#S256"], thumb_o);
    assert_eq!(
        json["exp"].as_i64().unwrap() - json["iat"].as_i64().unwrap(),
        60
    );
}

#[tokio::test]
async fn expired_tokens_are_inactive() {
    // Neither a client (access_token_lifetime) nor the issuer
    // ([issuer] token_lifetime) may ask for less than 60 seconds, so the
    // tokens here are signed with the server's own key at chosen times.
    assert_eq!(certbound_oauth::client::MIN_TOKEN_LIFETIME, 60);
    let h = Harness::start("").await;
    let a = self_signed(&LeafOptions::client("a").around_now());
    h.register("a", client_doc("a", &a.cert_pem())).await;
    let ca = Client::Cert(vec![a.cert.clone()], a.key_pem.clone());
    let running = &h.running;
    let thumb = certbound_pki::x5t_s256(&a.cert);
    let scope = vec!["read".to_string()];
    let sign = |now: i64| {
        certbound_oauth::issue(
            running.signing_key(),
            &certbound_oauth::IssueParams {
                issuer: &running.issuer,
                client_id: "a",
                subject: None,
                audience: running.audience(),
                scope: &scope,
                lifetime_secs: 60,
                certificate_thumbprint: Some(&thumb),
                extensions: None,
            },
            now,
        )
        .unwrap()
    };
    let introspect = |token: String| {
        let ca = &ca;
        let h = &h;
        async move {
            let r = call(
                h,
                "mtls",
                ca,
                "/oauth2/introspect",
                &format!("client_id=a&token={token}"),
                &[],
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.headers["cache-control"], "no-store");
            r
        }
    };

    // Signed now: active, so the way these tokens are made is sound.
    let fresh = sign(unix_now());
    let json = introspect(fresh.access_token.clone()).await.json();
    assert_eq!(json["active"], true, "{json}");
    assert_eq!(json["jti"], fresh.claims.jti);
    assert_eq!(json["scope"], "read");

    // Signed an hour ago with a 60 s lifetime: inactive, and nothing else said.
    let stale = sign(unix_now() - 3600);
    assert_eq!(
        introspect(stale.access_token.clone()).await.body,
        r#"{"active":false}"#
    );
    // Revoking it is not an error, and there is nothing to revoke.
    let revoked = call(
        &h,
        "mtls",
        &ca,
        "/oauth2/revoke",
        &format!("client_id=a&token={}", stale.access_token),
        &[],
    )
    .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(revoked.body, "{}");

    // Expiring while we watch: `exp` two seconds ahead, active until then.
    let soon = sign(unix_now() - 58);
    let exp = soon.claims.exp;
    let json = introspect(soon.access_token.clone()).await.json();
    assert_eq!(json["active"], true, "{json}");
    assert_eq!(json["exp"], exp);
    let past_exp = std::time::UNIX_EPOCH
        + std::time::Duration::from_secs(u64::try_from(exp).unwrap())
        + std::time::Duration::from_millis(250);
    let wait = past_exp
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    assert!(wait <= std::time::Duration::from_secs(3), "{wait:?}");
    tokio::time::sleep(wait).await;
    assert_eq!(
        introspect(soon.access_token).await.body,
        r#"{"active":false}"#
    );
}

const SECRET: &str = "s3cret-value-0123";

fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// A token for the secret client `legacy`, asked over plain TLS.
async fn legacy_token(h: &Harness) -> String {
    access_token(
        &call(
            h,
            "tls",
            &Client::None,
            "/oauth2/token",
            &format!("grant_type=client_credentials&client_id=legacy&client_secret={SECRET}"),
            &[],
        )
        .await,
    )
}

async fn register_legacy(h: &Harness) {
    let hash = certbound_oauth::secret::hash_secret(SECRET).unwrap();
    h.register(
        "legacy",
        serde_json::json!({"resourceType": "ClientApplication", "name": "legacy",
                           "client_secret_hash": hash, "scope": "read"}),
    )
    .await;
}

#[tokio::test]
async fn secret_clients_introspect_and_revoke_with_basic_and_post() {
    let h = Harness::start("").await;
    register_legacy(&h).await;
    let good_basic = basic("legacy", SECRET);
    let post = format!("client_id=legacy&client_secret={SECRET}");
    let token = legacy_token(&h).await;
    let jti = common::claims(&token)["jti"].as_str().unwrap().to_string();

    // client_secret_basic and client_secret_post both authenticate the caller.
    let by_basic = call(
        &h,
        "tls",
        &Client::None,
        "/oauth2/introspect",
        &format!("token={token}"),
        &[("authorization", &good_basic)],
    )
    .await;
    let by_post = call(
        &h,
        "tls",
        &Client::None,
        "/oauth2/introspect",
        &format!("{post}&token={token}"),
        &[],
    )
    .await;
    for reply in [&by_basic, &by_post] {
        assert_eq!(reply.status, 200, "{}", reply.body);
        let json = reply.json();
        assert_eq!(json["active"], true, "{json}");
        assert_eq!(json["client_id"], "legacy");
        assert_eq!(json["scope"], "read");
        assert_eq!(json["jti"], jti);
        assert!(
            json.get("cnf").is_none(),
            "no certificate, no binding: {json}"
        );
    }

    // A wrong secret, either way, at either endpoint: 401 invalid_client with
    // a Basic challenge, and not a word about the token.
    let wrong_basic = basic("legacy", "wrong-secret-value");
    let wrong_post = format!("client_id=legacy&client_secret=wrong-secret-value&token={token}");
    let token_only = format!("token={token}");
    for path in ["/oauth2/introspect", "/oauth2/revoke"] {
        for (body, headers) in [
            (&token_only, vec![("authorization", wrong_basic.as_str())]),
            (&wrong_post, vec![]),
        ] {
            let r = call(&h, "tls", &Client::None, path, body, &headers).await;
            assert_eq!(r.status, 401, "{path} {headers:?}: {}", r.body);
            assert_eq!(
                r.headers["www-authenticate"], "Basic realm=\"certbound\"",
                "{path}"
            );
            let json = r.json();
            assert_eq!(json["error"], "invalid_client", "{path}");
            assert!(json.get("active").is_none(), "{path}: {json}");
            assert!(!r.body.contains(&jti), "{path}: {}", r.body);
        }
    }
    h.logs.assert_has("the client secret is wrong");
    // The refused revocations revoked nothing.
    let still = call(
        &h,
        "tls",
        &Client::None,
        "/oauth2/introspect",
        &format!("{post}&token={token}"),
        &[],
    )
    .await;
    assert_eq!(still.json()["active"], true, "{}", still.body);

    // Revoke with Basic; it is inactive when asked with post.
    let revoked = call(
        &h,
        "tls",
        &Client::None,
        "/oauth2/revoke",
        &format!("token={token}"),
        &[("authorization", &good_basic)],
    )
    .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(revoked.body, "{}");
    assert_eq!(
        call(
            &h,
            "tls",
            &Client::None,
            "/oauth2/introspect",
            &format!("{post}&token={token}"),
            &[],
        )
        .await
        .body,
        r#"{"active":false}"#
    );

    // Revoke another with post; it is inactive when asked with Basic.
    let second = legacy_token(&h).await;
    let revoked = call(
        &h,
        "tls",
        &Client::None,
        "/oauth2/revoke",
        &format!("{post}&token={second}"),
        &[],
    )
    .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(revoked.body, "{}");
    assert_eq!(
        call(
            &h,
            "tls",
            &Client::None,
            "/oauth2/introspect",
            &format!("token={second}"),
            &[("authorization", &good_basic)],
        )
        .await
        .body,
        r#"{"active":false}"#
    );
}

#[tokio::test]
async fn another_clients_token_cannot_be_revoked_and_the_refusal_reveals_nothing() {
    let h = Harness::start("").await;
    let a = self_signed(&LeafOptions::client("a").around_now());
    let b = self_signed(&LeafOptions::client("b").around_now());
    let mut doc_a = client_doc("a", &a.cert_pem());
    doc_a["scope"] = "read".into();
    h.register("a", doc_a).await;
    h.register("b", client_doc("b", &b.cert_pem())).await;
    register_legacy(&h).await;
    let ca = Client::Cert(vec![a.cert.clone()], a.key_pem.clone());
    let cb = Client::Cert(vec![b.cert.clone()], b.key_pem.clone());
    let token = access_token(
        &call(
            &h,
            "mtls",
            &ca,
            "/oauth2/token",
            "grant_type=client_credentials&client_id=a",
            &[],
        )
        .await,
    );
    let jwt = common::claims(&token);
    let jti = jwt["jti"].as_str().unwrap().to_string();
    let thumb_a = certbound_pki::x5t_s256(&a.cert);

    // B (by certificate) and legacy (by secret) may not revoke A's token:
    // 400 unauthorized_client (RFC 7009 §2.1), and the answer is the same
    // fixed text whoever owns the token: no owner, jti, scope or binding.
    let by_b = call(
        &h,
        "mtls",
        &cb,
        "/oauth2/revoke",
        &format!("client_id=b&token={token}"),
        &[],
    )
    .await;
    let by_legacy = call(
        &h,
        "tls",
        &Client::None,
        "/oauth2/revoke",
        &format!("token={token}"),
        &[("authorization", &basic("legacy", SECRET))],
    )
    .await;
    for refused in [&by_b, &by_legacy] {
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert_eq!(
            refused.json(),
            serde_json::json!({"error": "unauthorized_client",
                               "error_description": "the token was not issued to this client"})
        );
        assert!(refused.headers.get("www-authenticate").is_none());
        for secret in [jti.as_str(), thumb_a.as_str(), "\"a\"", "read"] {
            assert!(
                !refused.body.contains(secret),
                "{secret} leaked: {}",
                refused.body
            );
        }
    }
    // The refusal is audited with the reason, server side only.
    eventually_ok("the refusals audited", || async {
        let events = h
            .running
            .store()
            .query_audit(&certbound_store::AuditFilter {
                kind: Some("revoke".into()),
                result: Some(certbound_store::AuditResult::Failure),
                ..Default::default()
            })
            .await
            .unwrap();
        let reasons: Vec<(Option<String>, Option<String>)> = events
            .iter()
            .map(|e| (e.client_id.clone(), e.reason.clone()))
            .collect();
        let want = |who: &str| {
            reasons.contains(&(
                Some(who.to_string()),
                Some("token belongs to client a".to_string()),
            ))
        };
        if want("b") && want("legacy") {
            Ok(())
        } else {
            Err(format!("{reasons:?}"))
        }
    })
    .await;
    // The token was not revoked.
    let json = call(
        &h,
        "mtls",
        &ca,
        "/oauth2/introspect",
        &format!("client_id=a&token={token}"),
        &[],
    )
    .await
    .json();
    assert_eq!(json["active"], true, "{json}");

    // Introspection is not owner-only here: any authenticated client (a
    // resource server is one) learns the claims of a live token, as RFC 7662
    // §2.2 allows. This states the behaviour; it is a policy choice.
    let json = call(
        &h,
        "mtls",
        &cb,
        "/oauth2/introspect",
        &format!("client_id=b&token={token}"),
        &[],
    )
    .await
    .json();
    assert_eq!(json["active"], true, "{json}");
    assert_eq!(json["client_id"], "a");
    assert_eq!(json["cnf"]["x5t#S256"], thumb_a);

    // Its owner revokes it; then it is inactive to everyone.
    let revoked = call(
        &h,
        "mtls",
        &ca,
        "/oauth2/revoke",
        &format!("client_id=a&token={token}"),
        &[],
    )
    .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    for (client, id) in [(&ca, "a"), (&cb, "b")] {
        assert_eq!(
            call(
                &h,
                "mtls",
                client,
                "/oauth2/introspect",
                &format!("client_id={id}&token={token}"),
                &[],
            )
            .await
            .body,
            r#"{"active":false}"#,
            "{id}"
        );
    }
}
