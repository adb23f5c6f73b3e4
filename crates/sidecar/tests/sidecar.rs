//! The whole integration on loopback: a plain HTTP client → `sidecar` →
//! `serve` (token endpoint and a bound-token route) → an echo upstream that
//! sees the forwarded identity. Token renewal after a 401 and at 80% of the
//! advertised lifetime, certificate reload, and an unreachable upstream
//! diagnosed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../server/tests/common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use certbound_sidecar::{Credentials, REFRESH_AT, SidecarConfig, TokenSettings};
use certbound_testkit::{LeafOptions, self_signed};
use common::{
    Client, Harness, claims, client_doc, echo_upstream, eventually_ok, eventually_within,
    plain_request, request,
};

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
            key_password: Default::default(),
        },
        token: Some(TokenSettings {
            url: format!("https://{mtls}/oauth2/token").parse().unwrap(),
            client_id: "partner".into(),
            scope: None,
        }),
        connect_timeout: Duration::from_secs(5),
    };
    let sidecar = certbound_sidecar::start(config.clone()).await.unwrap();

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
        .store()
        .update_client("partner", "partner", &doc, None)
        .await
        .unwrap();
    h.running.registry().refresh("partner").await.unwrap();
    rotated.write(d, "partner", &[]);
    eventually_ok("the sidecar switching to the new certificate", || async {
        let r = via_sidecar(sidecar.addr, "/api/rotated").await;
        if r.status == 200
            && r.json()["headers"]["x-client-cert-thumbprint"]
                == certbound_pki::x5t_s256(&rotated.cert)
        {
            Ok(())
        } else {
            Err(format!("{} {}", r.status, r.body))
        }
    })
    .await;
    h.logs.assert_has("client certificate reloaded");
    sidecar.shutdown();
    sidecar.wait().await;

    // An upstream where nothing listens: 502 with the connect diagnosis.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let down = certbound_sidecar::start(SidecarConfig {
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

/// The bearer token the echo upstream saw.
fn bearer_seen(reply: &common::Reply) -> String {
    reply.json()["headers"]["authorization"]
        .as_str()
        .unwrap_or_else(|| panic!("the upstream saw no Authorization: {}", reply.body))
        .strip_prefix("Bearer ")
        .unwrap_or_else(|| panic!("not a Bearer token: {}", reply.body))
        .to_string()
}

/// One POST over mTLS as `tls` (client config) to `addr`, HTTP/1.1.
async fn post_over_mtls(
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<(u16, Vec<u8>), String> {
    use http_body_util::{BodyExt, Full};
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| format!("http: {e}"))?;
    tokio::spawn(conn);
    let request = hyper::Request::post(path)
        .header("host", "localhost")
        .header("content-type", content_type)
        .body(Full::new(hyper::body::Bytes::from(body)))
        .unwrap();
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    Ok((status, body.to_vec()))
}

/// An HTTPS token endpoint in front of the server's own, to advertise a
/// lifetime shorter than the server allows (60 s at least, so the sidecar
/// would first renew after 48 s): each request is sent on unchanged to the
/// real `/oauth2/token` at `mtls`, over mTLS with the certificate
/// `client.crt`/`client.key` in `dir` (so the token is a real one, bound to
/// that certificate and valid for its full lifetime), and the answer comes
/// back with `expires_in` replaced by `advertised`. Serves `server.crt` (for
/// localhost and 127.0.0.1, from the harness's root). Returns its address and
/// the number of tokens it handed out.
async fn short_lived_token_relay(
    dir: &Path,
    client: &str,
    mtls: SocketAddr,
    advertised: u64,
) -> (SocketAddr, Arc<AtomicUsize>) {
    use http_body_util::{BodyExt, Full};
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.crt"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let onward = certbound_tls::ClientTls {
        identity: Some(
            certbound_tls::Identity::load(
                &dir.join(format!("{client}.crt")),
                &dir.join(format!("{client}.key")),
            )
            .unwrap(),
        ),
        ca: Some(
            certbound_tls::material::load_certificates(&dir.join("root.crt"), "the CA file")
                .unwrap(),
        ),
        ..certbound_tls::ClientTls::default()
    }
    .build()
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let issued = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&issued);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, onward, count) =
                (acceptor.clone(), Arc::clone(&onward), Arc::clone(&count));
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let (onward, count) = (Arc::clone(&onward), Arc::clone(&count));
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await.unwrap().to_bytes().to_vec();
                            let content_type = parts
                                .headers
                                .get("content-type")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_string();
                            let (status, body) =
                                post_over_mtls(mtls, onward, parts.uri.path(), &content_type, body)
                                    .await
                                    .unwrap();
                            let mut json: serde_json::Value =
                                serde_json::from_slice(&body).unwrap();
                            if status == 200 {
                                json["expires_in"] = advertised.into();
                                count.fetch_add(1, Ordering::SeqCst);
                            }
                            let response = hyper::Response::builder()
                                .status(status)
                                .header("content-type", "application/json")
                                .body(Full::new(hyper::body::Bytes::from(json.to_string())))
                                .unwrap();
                            Ok::<_, std::convert::Infallible>(response)
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, issued)
}

/// The sidecar renews its token by itself at [`REFRESH_AT`] (80%) of the
/// `expires_in` it was given, before the token runs out: the upstream sees a
/// new valid token and no request meets a 401. The server's shortest token
/// lifetime is 60 s (`[issuer] token_lifetime` and a client's
/// `access_token_lifetime` both refuse less), which would take 48 s to reach
/// the renewal; a relay in front of the token endpoint advertises 6 s instead
/// (renewal due at 4.8 s) while the tokens stay the server's own.
#[tokio::test]
async fn the_token_is_renewed_at_80_percent_of_its_lifetime_without_a_401() {
    const ADVERTISED: u64 = 6;
    assert_eq!(REFRESH_AT, 0.8);
    let renew_due = Duration::from_secs_f64(ADVERTISED as f64 * REFRESH_AT);
    let upstream = echo_upstream().await;
    let h = Harness::start(&format!(
        "[[route]]\nprefix = \"/api/\"\nupstream = \"http://{upstream}\"\n"
    ))
    .await;
    let d = h.dir.path();
    let leaf = self_signed(&LeafOptions::client("partner").around_now());
    leaf.write(d, "partner", &[]);
    h.register("partner", client_doc("partner", &leaf.cert_pem()))
        .await;
    let mtls = h.addr("mtls");
    let (relay, issued) = short_lived_token_relay(d, "partner", mtls, ADVERTISED).await;
    let sidecar = certbound_sidecar::start(SidecarConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        upstream: format!("https://{mtls}").parse().unwrap(),
        credentials: Credentials::Files {
            cert: d.join("partner.crt"),
            key: d.join("partner.key"),
            ca: Some(d.join("root.crt")),
            key_password: Default::default(),
        },
        token: Some(TokenSettings {
            url: format!("https://{relay}/oauth2/token").parse().unwrap(),
            client_id: "partner".into(),
            scope: None,
        }),
        connect_timeout: Duration::from_secs(5),
    })
    .await
    .unwrap();
    // The first token was fetched before start returned: its renewal is due
    // at most `renew_due` from here.
    let started = Instant::now();
    assert_eq!(issued.load(Ordering::SeqCst), 1, "{}", h.logs.text());

    let r = via_sidecar(sidecar.addr, "/api/first").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["headers"]["x-client-id"], "partner");
    let first = bearer_seen(&r);

    // Halfway through the lifetime: still the same token.
    tokio::time::sleep_until((started + renew_due / 2).into()).await;
    let r = via_sidecar(sidecar.addr, "/api/halfway").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(bearer_seen(&r), first, "renewed before 80% of the lifetime");
    assert_eq!(issued.load(Ordering::SeqCst), 1);

    // Past 80% and before 100%: a new token, fetched by the renewal task.
    // Nothing to see before 80%; from there, wait for it until the
    // advertised lifetime runs out.
    tokio::time::sleep_until((started + renew_due).into()).await;
    let lifetime_left =
        (started + Duration::from_secs(ADVERTISED)).saturating_duration_since(Instant::now());
    let r = eventually_within("the renewed token upstream", lifetime_left, || async {
        let r = via_sidecar(sidecar.addr, "/api/renewed").await;
        assert_eq!(r.status, 200, "{}", r.body);
        if bearer_seen(&r) == first {
            Err("the first token still")
        } else {
            Ok(r)
        }
    })
    .await;
    let elapsed = started.elapsed();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["headers"]["x-client-id"], "partner");
    assert_eq!(r.json()["path"], "/api/renewed");
    let second = bearer_seen(&r);
    assert_ne!(
        second, first,
        "the token was not renewed at 80% of its lifetime"
    );
    assert!(
        elapsed < Duration::from_secs(ADVERTISED),
        "the check ran after the advertised lifetime ({elapsed:?}): it proves nothing about renewing early"
    );
    assert_eq!(
        issued.load(Ordering::SeqCst),
        2,
        "exactly one renewal: no 401 made the sidecar fetch another"
    );
    // A token of the server's, bound to the sidecar's certificate and current.
    let c = claims(&second);
    assert_eq!(c["client_id"], "partner");
    assert_eq!(
        c["cnf"]["x5t#S256"],
        certbound_pki::x5t_s256(&leaf.cert).as_str()
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(c["exp"].as_u64().unwrap() > now, "{c}");
    assert_ne!(c["jti"], claims(&first)["jti"]);

    // No request went through the 401 path.
    let logs = h.logs.text();
    assert!(!logs.contains("upstream answered 401"), "{logs}");
    assert!(!logs.contains("retrying once"), "{logs}");
    assert!(!logs.contains("token renewal failed"), "{logs}");
    assert_eq!(logs.matches("access token obtained").count(), 2, "{logs}");
    sidecar.shutdown();
    sidecar.wait().await;
}
