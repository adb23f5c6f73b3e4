//! The whole integration on loopback: a plain HTTP client → `sidecar` →
//! `serve` (token endpoint and a bound-token route) → an echo upstream that
//! sees the forwarded identity. Token renewal after a 401, certificate reload,
//! and an unreachable upstream diagnosed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use certbound_server::sidecar::{Credentials, SidecarConfig, TokenSettings};
use certbound_testkit::{LeafOptions, self_signed};
use common::{Client, Harness, client_doc, echo_upstream, plain_request, request};

async fn via_sidecar(addr: std::net::SocketAddr, path: &str) -> common::Reply {
    plain_request(
        addr,
        "POST",
        path,
        "text/plain",
        "from a legacy app",
        &[("authorization", "Bearer forged-by-app")],
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn legacy_app_to_partner_through_the_sidecar() {
    let upstream = echo_upstream().await;
    let h = Harness::start(&format!(
        "[[route]]\nprefix = \"/api/\"\nupstream = \"http://{upstream}\"\nscopes = [\"read\"]\n"
    ))
    .await;
    let d = h.dir.path();
    let leaf = self_signed(&LeafOptions::client("partner").around_now());
    leaf.write(d, "partner", &[]);
    let mut doc = client_doc("partner", &leaf.cert_pem());
    doc["scope"] = "read".into();
    h.register("partner", doc.clone()).await;
    let mtls = h.addr("mtls");
    let config = SidecarConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        upstream: format!("https://{mtls}").parse().unwrap(),
        credentials: Credentials::Files {
            cert: d.join("partner.crt"),
            key: d.join("partner.key"),
            ca: Some(d.join("root.crt")),
        },
        token: Some(TokenSettings {
            url: format!("https://{mtls}/oauth2/token").parse().unwrap(),
            client_id: "partner".into(),
            scope: None,
        }),
        connect_timeout: Duration::from_secs(5),
    };
    let sidecar = certbound_server::sidecar::start(config.clone())
        .await
        .unwrap();

    // Plain HTTP in; the upstream sees the identity and the sidecar's token, not the app's.
    let r = via_sidecar(sidecar.addr, "/api/orders?id=7").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let echo = r.json();
    assert_eq!(echo["headers"]["x-client-id"], "partner");
    assert_eq!(echo["path"], "/api/orders?id=7");
    assert_eq!(echo["body"], "from a legacy app");
    let first_token = echo["headers"]["authorization"]
        .as_str()
        .unwrap()
        .trim_start_matches("Bearer ")
        .to_string();
    assert_ne!(first_token, "forged-by-app");

    // A body longer than the sidecar holds for a replay streams through whole.
    let large = "0123456789abcdef".repeat(16 * 1024);
    let r = plain_request(
        sidecar.addr,
        "POST",
        "/api/upload",
        "text/plain",
        &large,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["body"].as_str().unwrap().len(), large.len());
    assert_eq!(r.json()["body"], large.as_str());

    // Revoke the sidecar's token: the route answers 401, the sidecar renews and retries once.
    let partner = Client::Cert(vec![leaf.cert.clone()], leaf.key_pem.clone());
    let revoke = format!("client_id=partner&token={first_token}");
    let rr = request(
        mtls,
        &h.pki,
        &partner,
        "POST",
        "/oauth2/revoke",
        "application/x-www-form-urlencoded",
        &revoke,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(rr.status, 200);
    let r = via_sidecar(sidecar.addr, "/api/again").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let second_token = r.json()["headers"]["authorization"]
        .as_str()
        .unwrap()
        .trim_start_matches("Bearer ")
        .to_string();
    assert_ne!(second_token, first_token);
    h.logs
        .assert_has("renewing the access token and retrying once");

    // Rotate the certificate: new files, the registration follows; the sidecar reloads by itself.
    let rotated = self_signed(&LeafOptions::client("partner").around_now());
    doc["certificateTrustStore"] = rotated.cert_pem().into();
    h.running
        .state
        .store
        .update_client("partner", "partner", &doc)
        .await
        .unwrap();
    h.running.state.registry.reload().await.unwrap();
    rotated.write(d, "partner", &[]);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = via_sidecar(sidecar.addr, "/api/rotated").await;
        if r.status == 200
            && r.json()["headers"]["x-client-cert-thumbprint"]
                == certbound_pki::x5t_s256(&rotated.cert)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the sidecar did not switch to the new certificate: {} {}",
            r.status,
            r.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    h.logs.assert_has("client certificate reloaded");
    sidecar.shutdown();
    sidecar.wait().await;

    // An upstream where nothing listens: 502 with the connect diagnosis.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let down = certbound_server::sidecar::start(SidecarConfig {
        upstream: format!("https://{closed}").parse().unwrap(),
        token: None,
        ..config
    })
    .await
    .unwrap();
    let r = via_sidecar(down.addr, "/x").await;
    assert_eq!(r.status, 502);
    assert!(r.body.to_lowercase().contains("refused"), "{}", r.body);
    h.logs.assert_has("upstream request failed");
}
