//! The token endpoint end to end, with real TLS on 127.0.0.1:0: every way a
//! client authenticates, and every way it is refused, each asserting the
//! status, the error code and what the server logged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use certbound_testkit::{Eku, LeafOptions, self_signed};
use common::{Client, Harness, claims, client_doc, pem_of, request};

const FORM: &str = "grant_type=client_credentials&client_id=";

fn body(client_id: &str) -> String {
    format!("{FORM}{client_id}")
}

#[tokio::test]
async fn self_signed_client_gets_a_bound_token() {
    let h = Harness::start("").await;
    let leaf = self_signed(&LeafOptions::client("My Integration Client").around_now());
    h.register(
        "solo",
        client_doc("My Integration Client", &leaf.cert_pem()),
    )
    .await;
    let client = Client::Cert(vec![leaf.cert.clone()], leaf.key_pem.clone());
    let reply = h.token("mtls", &client, &body("solo")).await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.headers["cache-control"], "no-store");
    assert_eq!(reply.headers["pragma"], "no-cache");
    let json = reply.json();
    assert_eq!(json["token_type"], "Bearer");
    assert_eq!(json["expires_in"], 3600);
    let c = claims(json["access_token"].as_str().unwrap());
    assert_eq!(c["client_id"], "solo");
    assert_eq!(c["iss"], "https://localhost");
    assert_eq!(c["cnf"]["x5t#S256"], certbound_pki::x5t_s256(&leaf.cert));
    // The token's header is an RFC 9068 access token.
    let header = json["access_token"]
        .as_str()
        .unwrap()
        .split('.')
        .next()
        .unwrap();
    use base64::Engine;
    let header: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    h.logs.assert_has("token issued");
}

#[tokio::test]
async fn ca_issued_clients_direct_through_an_intermediate_and_with_two_cas() {
    let h = Harness::start("").await;
    let store = format!("{}{}", h.pki.other_root.cert_pem(), h.pki.root.cert_pem());
    let mut doc = client_doc("partner", &store);
    doc["tls_client_auth_subject_dn"] = "CN=partner-7,O=certbound tests".into();
    h.register("partner", doc).await;
    let direct = h
        .pki
        .root
        .issue(&LeafOptions::client("partner-7").around_now());
    let via = h
        .pki
        .intermediate
        .issue(&LeafOptions::client("partner-7").around_now());
    for (listener, client) in [
        (
            "mtls",
            Client::Cert(vec![direct.cert.clone()], direct.key_pem.clone()),
        ),
        (
            "mtls",
            Client::Cert(
                vec![via.cert.clone(), h.pki.intermediate.cert.clone()],
                via.key_pem.clone(),
            ),
        ),
        (
            "mtls-ca",
            Client::Cert(
                vec![via.cert.clone(), h.pki.intermediate.cert.clone()],
                via.key_pem.clone(),
            ),
        ),
    ] {
        let reply = h.token(listener, &client, &body("partner")).await.unwrap();
        assert_eq!(reply.status, 200, "{listener}: {}", reply.body);
    }
    // A certificate of the second CA in the same trust store.
    let other = h.pki.other_root.issue(
        &LeafOptions::client("partner-7")
            .org(Some("certbound tests"))
            .around_now(),
    );
    let reply = h
        .token(
            "mtls",
            &Client::Cert(vec![other.cert.clone()], other.key_pem.clone()),
            &body("partner"),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Assert an `invalid_client` answer and the logged reason.
async fn refused(h: &Harness, client: Client, client_id: &str, logged: &str) {
    // "mtls-opt" asks for a certificate without requiring one, so that the
    // endpoint, not the handshake, turns away a client that sends none.
    let reply = h
        .token("mtls-opt", &client, &body(client_id))
        .await
        .unwrap();
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert_eq!(reply.json()["error"], "invalid_client");
    assert!(reply.headers.contains_key("www-authenticate"));
    assert_eq!(reply.headers["cache-control"], "no-store");
    h.logs.assert_has(logged);
}

#[tokio::test]
async fn every_rejection_is_invalid_client_with_the_precise_reason_logged() {
    let h = Harness::start("").await;
    let mut doc = client_doc("partner", &h.pki.root.cert_pem());
    doc["tls_client_auth_subject_dn"] = "CN=partner-7,O=certbound tests".into();
    h.register("partner", doc).await;
    let solo = self_signed(&LeafOptions::client("solo").around_now());
    h.register("solo", client_doc("solo", &solo.cert_pem()))
        .await;

    refused(&h, Client::None, "partner", "code=\"no_certificate\"").await;
    let unrelated = h
        .pki
        .other_root
        .issue(&LeafOptions::client("partner-7").around_now());
    refused(
        &h,
        Client::Cert(vec![unrelated.cert.clone()], unrelated.key_pem.clone()),
        "partner",
        "unknown CA",
    )
    .await;
    let expired = h
        .pki
        .root
        .issue(&LeafOptions::client("partner-7").ended_days_ago(3, 30));
    refused(
        &h,
        Client::Cert(vec![expired.cert.clone()], expired.key_pem.clone()),
        "partner",
        "expired on",
    )
    .await;
    let early = h
        .pki
        .root
        .issue(&LeafOptions::client("partner-7").ended_days_ago(-60, 30));
    refused(
        &h,
        Client::Cert(vec![early.cert.clone()], early.key_pem.clone()),
        "partner",
        "is not valid until",
    )
    .await;
    let server_eku = h.pki.root.issue(
        &LeafOptions::client("partner-7")
            .eku(Eku::Server)
            .around_now(),
    );
    refused(
        &h,
        Client::Cert(vec![server_eku.cert.clone()], server_eku.key_pem.clone()),
        "partner",
        "does not allow clientAuth",
    )
    .await;
    let other_dn = h
        .pki
        .root
        .issue(&LeafOptions::client("partner-8").around_now());
    refused(
        &h,
        Client::Cert(vec![other_dn.cert.clone()], other_dn.key_pem.clone()),
        "partner",
        "does not match the registered tls_client_auth_subject_dn",
    )
    .await;
    let impostor = self_signed(&LeafOptions::client("solo").around_now());
    refused(
        &h,
        Client::Cert(vec![impostor.cert.clone()], impostor.key_pem.clone()),
        "solo",
        "is not in the client's trust store",
    )
    .await;
    // Client A's valid certificate with client B's client_id.
    let a = h
        .pki
        .root
        .issue(&LeafOptions::client("partner-7").around_now());
    refused(
        &h,
        Client::Cert(vec![a.cert.clone()], a.key_pem.clone()),
        "solo",
        "not_in_trust_store",
    )
    .await;
    refused(
        &h,
        Client::Cert(vec![a.cert.clone()], a.key_pem.clone()),
        "nobody",
        "no client is registered with client_id `nobody`",
    )
    .await;
    // And the valid pairing works on the same server.
    let ok = h
        .token(
            "mtls",
            &Client::Cert(vec![a.cert.clone()], a.key_pem.clone()),
            &body("partner"),
        )
        .await
        .unwrap();
    assert_eq!(ok.status, 200, "{}", ok.body);
    // The audit trail has each failure with its reason.
    let has_both = |events: &[certbound_store::AuditEvent]| {
        events.iter().any(|e| {
            e.reason
                .as_deref()
                .is_some_and(|r| r.starts_with("untrusted_certificate"))
        }) && events
            .iter()
            .any(|e| e.result == certbound_store::AuditResult::Success)
    };
    let events = h
        .audit_until(
            certbound_store::AuditFilter {
                client_id: Some("partner".into()),
                ..Default::default()
            },
            has_both,
        )
        .await;
    assert!(events.iter().any(|e| {
        e.reason
            .as_deref()
            .is_some_and(|r| r.starts_with("untrusted_certificate"))
    }));
    assert!(
        events
            .iter()
            .any(|e| e.result == certbound_store::AuditResult::Success)
    );
}

#[tokio::test]
async fn a_certificate_without_its_private_key_never_gets_past_the_handshake() {
    let h = Harness::start("").await;
    let victim = self_signed(&LeafOptions::client("victim").around_now());
    h.register("victim", client_doc("victim", &victim.cert_pem()))
        .await;
    let attacker = self_signed(&LeafOptions::client("attacker").around_now());
    for listener in ["mtls", "mtls-ca"] {
        let forged = Client::Forged(vec![victim.cert.clone()], attacker.key_pem.clone());
        let result = h.token(listener, &forged, &body("victim")).await;
        assert!(
            result.is_err(),
            "{listener}: forged CertificateVerify accepted: {result:?}"
        );
    }
    h.logs.assert_has("TLS handshake failed");
    h.logs.assert_has("invalid peer certificate");
    // The genuine holder of the key gets through.
    let genuine = Client::Cert(vec![victim.cert.clone()], victim.key_pem.clone());
    assert_eq!(
        h.token("mtls", &genuine, &body("victim"))
            .await
            .unwrap()
            .status,
        200
    );
}

#[tokio::test]
async fn the_client_ca_listener_refuses_foreign_chains_at_the_handshake() {
    let h = Harness::start("").await;
    let foreign = h
        .pki
        .other_root
        .issue(&LeafOptions::client("x").around_now());
    let result = h
        .token(
            "mtls-ca",
            &Client::Cert(vec![foreign.cert.clone()], foreign.key_pem.clone()),
            &body("x"),
        )
        .await;
    assert!(result.is_err(), "{result:?}");
    h.logs.assert_has("TLS handshake failed");
    // Without a certificate at all, a listener with client_auth = "required" refuses too.
    assert!(h.token("mtls-ca", &Client::None, &body("x")).await.is_err());
    assert!(h.token("mtls", &Client::None, &body("x")).await.is_err());
}

#[tokio::test]
async fn malformed_requests_are_invalid_request() {
    let h = Harness::start("").await;
    let leaf = self_signed(&LeafOptions::client("solo").around_now());
    h.register("solo", client_doc("solo", &leaf.cert_pem()))
        .await;
    let client = Client::Cert(vec![leaf.cert.clone()], leaf.key_pem.clone());
    let cases: Vec<(String, u16, &str)> = vec![
        (
            "grant_type=client_credentials".into(),
            400,
            "invalid_request",
        ),
        (
            "grant_type=password&client_id=solo".into(),
            400,
            "unsupported_grant_type",
        ),
        ("client_id=solo".into(), 400, "invalid_request"),
        (
            "grant_type=client_credentials&client_id=solo&client_id=solo".into(),
            400,
            "invalid_request",
        ),
        (
            "grant_type=client_credentials&client_id=%zz".into(),
            400,
            "invalid_request",
        ),
        (
            format!(
                "grant_type=client_credentials&client_id=solo&pad={}",
                "x".repeat(20_000)
            ),
            400,
            "invalid_request",
        ),
    ];
    let mut seen = 0;
    for (form, status, code) in cases {
        let reply = h.token("mtls", &client, &form).await.unwrap();
        assert_eq!(reply.status, status, "{form:.60}: {}", reply.body);
        assert_eq!(reply.json()["error"], code, "{form:.60}");
        // The log says why, with the listener and the error code: one line per refusal.
        let refusals = h.logs.text().matches("token request refused").count();
        assert_eq!(refusals, seen + 1, "{form:.60}: {}", h.logs.text());
        seen = refusals;
        h.logs
            .assert_has("token request refused listener=\"mtls\" peer=\"127.0.0.1:");
        let last = h
            .logs
            .text()
            .lines()
            .rev()
            .find(|l| l.contains("token request refused"))
            .unwrap()
            .to_string();
        assert!(
            last.contains(&format!("error=\"{code}\" description=")),
            "{last}"
        );
    }
    // ...and each is in the audit trail, with the certificate that came with it.
    let events = h
        .audit_until(
            certbound_store::AuditFilter {
                kind: Some("token".into()),
                result: Some(certbound_store::AuditResult::Failure),
                ..Default::default()
            },
            |events| events.len() >= seen,
        )
        .await;
    assert_eq!(events.len(), seen, "{events:#?}");
    let unsupported = events
        .iter()
        .find(|e| {
            e.reason
                .as_deref()
                .is_some_and(|r| r.starts_with("unsupported_grant_type: "))
        })
        .unwrap();
    assert_eq!(unsupported.client_id.as_deref(), Some("solo"));
    assert_eq!(
        unsupported.thumbprint.as_deref(),
        Some(certbound_pki::x5t_s256(&leaf.cert).as_str())
    );
    assert_eq!(unsupported.listener.as_deref(), Some("mtls"));
    // Not a form at all.
    let reply = common::request(
        h.addr("mtls"),
        &h.pki,
        &client,
        "POST",
        "/oauth2/token",
        "application/json",
        "{}",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"], "invalid_request");
    // The server is still up and serving.
    assert_eq!(
        h.token("mtls", &client, &body("solo"))
            .await
            .unwrap()
            .status,
        200
    );
}

#[tokio::test]
async fn scopes_are_granted_within_what_the_client_may_ask() {
    let h = Harness::start("").await;
    let leaf = self_signed(&LeafOptions::client("solo").around_now());
    let mut doc = client_doc("solo", &leaf.cert_pem());
    doc["scope"] = "read write".into();
    h.register("solo", doc).await;
    let client = Client::Cert(vec![leaf.cert.clone()], leaf.key_pem.clone());
    let all = h
        .token("mtls", &client, &body("solo"))
        .await
        .unwrap()
        .json();
    assert_eq!(all["scope"], "read write");
    let some = h
        .token("mtls", &client, &format!("{}&scope=read", body("solo")))
        .await
        .unwrap()
        .json();
    assert_eq!(some["scope"], "read");
    let bad = h
        .token("mtls", &client, &format!("{}&scope=admin", body("solo")))
        .await
        .unwrap();
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["error"], "invalid_scope");
}

#[tokio::test]
async fn secret_clients_without_mtls() {
    let h = Harness::start("").await;
    let hash = certbound_oauth::secret::hash_secret("s3cret-value").unwrap();
    h.register(
        "legacy",
        serde_json::json!({"resourceType": "ClientApplication", "name": "legacy", "client_secret_hash": hash}),
    )
    .await;
    let ok = h
        .token(
            "tls",
            &Client::None,
            "grant_type=client_credentials&client_id=legacy&client_secret=s3cret-value",
        )
        .await
        .unwrap();
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(
        claims(ok.json()["access_token"].as_str().unwrap())
            .get("cnf")
            .is_none(),
        "no certificate, no binding"
    );
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("legacy:s3cret-value")
    );
    let reply = common::request(
        h.addr("tls"),
        &h.pki,
        &Client::None,
        "POST",
        "/oauth2/token",
        "application/x-www-form-urlencoded",
        "grant_type=client_credentials",
        &[("authorization", &basic)],
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let wrong = h
        .token(
            "tls",
            &Client::None,
            "grant_type=client_credentials&client_id=legacy&client_secret=nope",
        )
        .await
        .unwrap();
    assert_eq!(wrong.status, 401);
    h.logs.assert_has("the client secret is wrong");
}

#[tokio::test]
async fn metadata_jwks_and_health() {
    let h = Harness::start("").await;
    let meta = h
        .get("tls", "/.well-known/oauth-authorization-server")
        .await
        .unwrap()
        .json();
    assert_eq!(meta["issuer"], "https://localhost");
    assert_eq!(meta["token_endpoint"], "https://localhost/oauth2/token");
    assert_eq!(meta["tls_client_certificate_bound_access_tokens"], true);
    let methods: Vec<&str> = meta["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    for m in [
        "tls_client_auth",
        "self_signed_tls_client_auth",
        "client_secret_basic",
        "client_secret_post",
    ] {
        assert!(methods.contains(&m), "{m}");
    }
    assert!(
        meta.get("mtls_endpoint_aliases").is_none(),
        "no mTLS listener has a public URL: {meta}"
    );
    // The first mTLS listener with a public URL gives the aliases (RFC 8705 §5),
    // even when it is not the first mTLS listener.
    let aliased = Harness::start(
        "[[listener]]\nname = \"mtls-public\"\nbind = \"127.0.0.1:0\"\ntls = \"mtls\"\npublic_url = \"https://mtls.localhost:9443\"\n",
    )
    .await
    .get("tls", "/.well-known/oauth-authorization-server")
    .await
    .unwrap()
    .json();
    assert_eq!(
        aliased["mtls_endpoint_aliases"]["token_endpoint"],
        "https://mtls.localhost:9443/oauth2/token",
        "{aliased}"
    );
    assert_eq!(aliased["token_endpoint"], "https://localhost/oauth2/token");
    let openid = h
        .get("tls", "/.well-known/openid-configuration")
        .await
        .unwrap()
        .json();
    assert_eq!(openid, meta);
    let jwks = h.get("tls", "/oauth2/jwks").await.unwrap().json();
    assert_eq!(jwks["keys"][0]["kty"], "EC");
    assert!(jwks["keys"][0]["kid"].is_string());
    // No [[udap.community]]: no UDAP discovery, no registration.
    let udap = h.get("tls", "/.well-known/udap").await.unwrap();
    assert_eq!(udap.status, 404, "{}", udap.body);
    assert!(udap.body.contains("does not offer UDAP"), "{}", udap.body);
    let register = request(
        h.addr("tls"),
        &h.pki,
        &Client::None,
        "POST",
        "/oauth2/register",
        "application/json",
        "{}",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(register.status, 404, "{}", register.body);
    let health = h.get("tls", "/healthz").await.unwrap();
    assert_eq!(health.status, 200);
    assert_eq!(h.get("tls", "/nope").await.unwrap().status, 404);
    // A token verifies with the published key.
    let leaf = self_signed(&LeafOptions::client("solo").around_now());
    h.register("solo", client_doc("solo", &leaf.cert_pem()))
        .await;
    let token = h
        .token(
            "mtls",
            &Client::Cert(vec![leaf.cert.clone()], leaf.key_pem.clone()),
            &body("solo"),
        )
        .await
        .unwrap()
        .json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let keys = certbound_oauth::VerifyingKeys::from_jwks_json(jwks.to_string().as_bytes()).unwrap();
    let validation = certbound_oauth::Validation::new("https://localhost");
    let verified = certbound_oauth::verify_access_token(
        &token,
        &keys,
        &validation,
        certbound_oauth::jwt::unix_now(),
    )
    .unwrap();
    assert_eq!(verified.client_id, "solo");
    verified.check_certificate_binding(&leaf.cert).unwrap();
    let _ = pem_of(&leaf.cert);
}

#[tokio::test]
async fn kept_alive_and_resumed_connections_keep_the_identity() {
    let h = Harness::start("").await;
    let leaf = self_signed(&LeafOptions::client("solo").around_now());
    h.register("solo", client_doc("solo", &leaf.cert_pem()))
        .await;
    // Two requests on one connection: the second is served from the per-connection cache.
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(h.pki.root.cert.clone()).unwrap();
    use rustls::pki_types::pem::PemObject;
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).unwrap();
    let config = std::sync::Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(vec![leaf.cert.clone()], key)
            .unwrap(),
    );
    for round in 0..2 {
        let connector = tokio_rustls::TlsConnector::from(config.clone());
        let tcp = tokio::net::TcpStream::connect(h.addr("mtls"))
            .await
            .unwrap();
        let tls = connector
            .connect(
                rustls::pki_types::ServerName::try_from("localhost").unwrap(),
                tcp,
            )
            .await
            .unwrap();
        let resumed = tls.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
        assert_eq!(
            resumed,
            round == 1,
            "the second connection resumes the session"
        );
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .unwrap();
        tokio::spawn(conn);
        for _ in 0..2 {
            let req = hyper::Request::post("/oauth2/token")
                .header("host", "localhost")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(http_body_util::Full::new(hyper::body::Bytes::from(body(
                    "solo",
                ))))
                .unwrap();
            let resp = sender.send_request(req).await.unwrap();
            assert_eq!(resp.status(), 200, "round {round}");
            use http_body_util::BodyExt;
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            let c = claims(json["access_token"].as_str().unwrap());
            assert_eq!(
                c["cnf"]["x5t#S256"],
                certbound_pki::x5t_s256(&leaf.cert),
                "round {round}"
            );
        }
    }
}

/// Connect to `listener` presenting `leaf` (issued directly by the test root),
/// send a token request and read: the server must refuse the certificate with
/// a TLS alert, before any HTTP. Returns the alert the client received.
async fn alert_at_handshake(
    h: &Harness,
    listener: &str,
    leaf: &certbound_testkit::Leaf,
) -> rustls::AlertDescription {
    use rustls::pki_types::pem::PemObject;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(h.pki.root.cert.clone()).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(vec![leaf.cert.clone()], key)
        .unwrap();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let exchange = async {
        let tcp = tokio::net::TcpStream::connect(h.addr(listener)).await?;
        // With TLS 1.3 the client finishes its side of the handshake before
        // the server has judged the certificate: the refusal then arrives as
        // an alert on the first read.
        let mut tls = connector
            .connect(
                rustls::pki_types::ServerName::try_from("localhost").unwrap(),
                tcp,
            )
            .await?;
        let form = body("partner");
        let request = format!(
            "POST /oauth2/token HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{form}",
            form.len()
        );
        tls.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        tls.read_to_end(&mut answer).await.map(|_| answer)
    };
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(10), exchange)
        .await
        .expect("the server neither answered nor closed within 10 s");
    let error = match outcome {
        Ok(answer) => panic!(
            "{listener}: an answer instead of a TLS alert: {:?}",
            String::from_utf8_lossy(&answer)
        ),
        Err(e) => e,
    };
    match error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::AlertReceived(alert)) => *alert,
        _ => panic!("{listener}: not a TLS alert: {error:?}"),
    }
}

#[tokio::test]
async fn the_client_ca_listener_refuses_expired_early_and_server_only_leaves_at_the_handshake() {
    let h = Harness::start("").await;
    let mut doc = client_doc("partner", &h.pki.root.cert_pem());
    doc["tls_client_auth_subject_dn"] = "CN=partner-7,O=certbound tests".into();
    h.register("partner", doc).await;
    let root = &h.pki.root;
    let cases = [
        (
            "expired",
            root.issue(&LeafOptions::client("partner-7").ended_days_ago(3, 30)),
            rustls::AlertDescription::CertificateExpired,
            "certificate expired: verification time",
        ),
        (
            "not yet valid",
            root.issue(&LeafOptions::client("partner-7").ended_days_ago(-60, 30)),
            rustls::AlertDescription::CertificateExpired,
            "certificate not valid yet: verification time",
        ),
        (
            "serverAuth only",
            root.issue(
                &LeafOptions::client("partner-7")
                    .eku(Eku::Server)
                    .around_now(),
            ),
            rustls::AlertDescription::UnsupportedCertificate,
            "certificate does not allow extended key usage for client authentication",
        ),
    ];
    let mut seen = 0;
    for (what, leaf, alert, reason) in cases {
        // Through the harness client: no HTTP answer of any kind.
        let client = Client::Cert(vec![leaf.cert.clone()], leaf.key_pem.clone());
        let result = h.token("mtls-ca", &client, &body("partner")).await;
        assert!(result.is_err(), "{what}: {result:?}");
        // And on a raw connection: the precise alert, before any HTTP byte.
        assert_eq!(
            alert_at_handshake(&h, "mtls-ca", &leaf).await,
            alert,
            "{what}"
        );
        // Each refusal is logged as a handshake failure, with its reason.
        let text = h.logs.text();
        let failures: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("TLS handshake failed"))
            .collect();
        assert_eq!(failures.len(), seen + 2, "{what}:\n{text}");
        seen = failures.len();
        for line in &failures[failures.len() - 2..] {
            assert!(line.contains("listener=mtls-ca"), "{what}: {line}");
            assert!(line.contains(reason), "{what}: {line}");
        }
    }
    // The endpoint never saw these clients.
    assert!(
        !h.logs.text().contains("token request"),
        "{}",
        h.logs.text()
    );
    assert!(!h.logs.text().contains("client authentication failed"));
}

#[tokio::test]
async fn the_client_ca_listener_leaves_the_subject_dn_to_the_token_endpoint() {
    let h = Harness::start("").await;
    let mut doc = client_doc("partner", &h.pki.root.cert_pem());
    doc["tls_client_auth_subject_dn"] = "CN=partner-7,O=certbound tests".into();
    h.register("partner", doc).await;

    // A valid clientAuth leaf of the same CA with another DN passes the handshake
    // and is turned away by the endpoint.
    let other = h
        .pki
        .root
        .issue(&LeafOptions::client("partner-8").around_now());
    let reply = h
        .token(
            "mtls-ca",
            &Client::Cert(vec![other.cert.clone()], other.key_pem.clone()),
            &body("partner"),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert_eq!(
        reply.json(),
        serde_json::json!({
            "error": "invalid_client",
            "error_description": "Client authentication failed",
        }),
        "the peer learns nothing of the reason"
    );
    assert!(reply.headers.contains_key("www-authenticate"));
    assert_eq!(reply.headers["cache-control"], "no-store");
    assert!(
        !h.logs.text().contains("TLS handshake failed"),
        "{}",
        h.logs.text()
    );
    let text = h.logs.text();
    let line = text
        .lines()
        .find(|l| l.contains("client authentication failed"))
        .unwrap_or_else(|| panic!("no authentication failure logged:\n{text}"));
    assert!(line.contains("code=\"subject_mismatch\""), "{line}");
    assert!(line.contains("partner-8"), "{line}");
    assert!(
        line.contains("does not match the registered tls_client_auth_subject_dn"),
        "{line}"
    );
    assert!(line.contains("client_id=\"partner\""), "{line}");
    assert!(line.contains("mtls-ca"), "{line}");

    // The right DN on the same listener gets a token bound to its certificate.
    let right = h
        .pki
        .root
        .issue(&LeafOptions::client("partner-7").around_now());
    let reply = h
        .token(
            "mtls-ca",
            &Client::Cert(vec![right.cert.clone()], right.key_pem.clone()),
            &body("partner"),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let json = reply.json();
    assert_eq!(json["token_type"], "Bearer");
    let c = claims(json["access_token"].as_str().unwrap());
    assert_eq!(c["client_id"], "partner");
    assert_eq!(c["cnf"]["x5t#S256"], certbound_pki::x5t_s256(&right.cert));
    h.logs.assert_has("token issued");
}
