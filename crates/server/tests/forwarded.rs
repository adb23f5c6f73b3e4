//! Behind a TLS-terminating proxy: the forwarded client certificate, in every
//! format, authenticates only from a trusted proxy; from anyone else it is
//! ignored (spoofing never authenticates), counted and logged; a malformed
//! header is `invalid_client`, never a 500.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use certbound_pki::forwarded::{HeaderFormat, encode, encode_rfc9440_chain};
use certbound_testkit::{LeafOptions, self_signed};
use common::{Client, Harness, Reply, claims, client_doc, echo_upstream, plain_request};

fn header_name(format: HeaderFormat) -> &'static str {
    format.default_header_name().unwrap_or("x-client-cert")
}

/// Two plain-HTTP listeners per format: one trusting 127.0.0.1, one trusting
/// only an address the tests never come from.
fn listeners() -> String {
    let mut toml = String::new();
    for f in HeaderFormat::ALL {
        for (suffix, trusted) in [("trusted", "127.0.0.1/32"), ("untrusted", "192.0.2.7/32")] {
            toml.push_str(&format!(
                "[[listener]]\nname = \"{f}-{suffix}\"\nbind = \"127.0.0.1:0\"\nclient_cert_header = {{ name = \"{}\", format = \"{f}\" }}\ntrusted_proxies = [\"{trusted}\", \"10.0.0.0/8\"]\n",
                header_name(f)
            ));
        }
    }
    // A TLS listener with a header: which identity wins depends on the peer.
    toml.push_str(
        "[[listener]]\nname = \"tls-proxied\"\nbind = \"127.0.0.1:0\"\ntls = \"mtls-opt\"\nclient_cert_header = { name = \"x-client-cert\", format = \"pem\" }\ntrusted_proxies = [\"127.0.0.1\"]\n",
    );
    toml
}

const FORM: &str = "grant_type=client_credentials&client_id=solo";

#[tokio::test]
async fn every_format_authenticates_from_a_trusted_proxy_only() {
    let h = Harness::start(&listeners()).await;
    let solo = self_signed(&LeafOptions::client("solo").around_now());
    h.register("solo", client_doc("solo", &solo.cert_pem()))
        .await;
    let chain = vec![solo.cert.clone()];
    for f in HeaderFormat::ALL {
        let value = encode(f, &chain);
        let headers = [(header_name(f), value.as_str())];
        let trusted = h.addr(&format!("{f}-trusted"));
        let r = plain_request(
            trusted,
            "POST",
            "/oauth2/token",
            "application/x-www-form-urlencoded",
            FORM,
            &headers,
        )
        .await
        .unwrap();
        assert_eq!(r.status, 200, "{f}: {}", r.body);
        let c = claims(r.json()["access_token"].as_str().unwrap());
        assert_eq!(
            c["cnf"]["x5t#S256"],
            certbound_pki::x5t_s256(&solo.cert),
            "{f}"
        );

        // Spoofing: the same valid public certificate, straight from an untrusted peer.
        let untrusted = h.addr(&format!("{f}-untrusted"));
        let r = plain_request(
            untrusted,
            "POST",
            "/oauth2/token",
            "application/x-www-form-urlencoded",
            FORM,
            &headers,
        )
        .await
        .unwrap();
        assert_eq!(r.status, 401, "{f}: spoofed header accepted: {}", r.body);
        assert_eq!(r.json()["error"], "invalid_client");
    }
    h.logs.assert_has("not a trusted proxy: ignored");
    let metrics = h.get("tls", "/metrics").await.unwrap().body;
    assert!(
        metrics.contains(
            "certbound_forwarded_cert_header_ignored_total{listener=\"aws-alb-untrusted\"} 1"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn rfc9440_chain_header_carries_the_intermediate() {
    let h = Harness::start(&listeners()).await;
    let mut doc = client_doc("partner", &h.pki.root.cert_pem());
    doc["tls_client_auth_subject_dn"] = "CN=partner,O=certbound tests".into();
    h.register("partner", doc).await;
    let leaf = h
        .pki
        .intermediate
        .issue(&LeafOptions::client("partner").around_now());
    let cert = encode(HeaderFormat::Rfc9440, std::slice::from_ref(&leaf.cert));
    let chain = encode_rfc9440_chain(&[leaf.cert.clone(), h.pki.intermediate.cert.clone()]);
    let form = "grant_type=client_credentials&client_id=partner";
    let addr = h.addr("rfc9440-trusted");
    let only_leaf = plain_request(
        addr,
        "POST",
        "/oauth2/token",
        "application/x-www-form-urlencoded",
        form,
        &[("client-cert", &cert)],
    )
    .await
    .unwrap();
    assert_eq!(only_leaf.status, 401, "the intermediate is missing");
    let with_chain = plain_request(
        addr,
        "POST",
        "/oauth2/token",
        "application/x-www-form-urlencoded",
        form,
        &[("client-cert", &cert), ("client-cert-chain", &chain)],
    )
    .await
    .unwrap();
    assert_eq!(with_chain.status, 200, "{}", with_chain.body);
}

#[tokio::test]
async fn malformed_and_duplicated_headers_are_invalid_client_and_no_certificate_is_no_certificate()
{
    let h = Harness::start(&listeners()).await;
    let solo = self_signed(&LeafOptions::client("solo").around_now());
    h.register("solo", client_doc("solo", &solo.cert_pem()))
        .await;
    let addr = h.addr("nginx-trusted");
    for bad in [
        "%zz",
        "-----BEGIN CERTIFICATE-----%0AAAAA%0A-----END CERTIFICATE-----%0A",
        "not a cert",
    ] {
        let r = plain_request(
            addr,
            "POST",
            "/oauth2/token",
            "application/x-www-form-urlencoded",
            FORM,
            &[("x-client-cert", bad)],
        )
        .await
        .unwrap();
        assert_eq!(r.status, 401, "{bad}: {}", r.body);
        assert_eq!(r.json()["error"], "invalid_client");
    }
    h.logs.assert_has("malformed forwarded client certificate");
    h.logs.assert_has("malformed_certificate");
    let good = encode(HeaderFormat::Nginx, std::slice::from_ref(&solo.cert));
    let r = plain_request(
        addr,
        "POST",
        "/oauth2/token",
        "application/x-www-form-urlencoded",
        FORM,
        &[("x-client-cert", &good), ("x-client-cert", &good)],
    )
    .await
    .unwrap();
    assert_eq!(r.status, 401, "a duplicated header is refused");
    h.logs.assert_has("appears 2 times");
    // The empty value and Apache's marker mean "no certificate".
    for none in ["", "(null)"] {
        let r = plain_request(
            h.addr("pem-trusted"),
            "POST",
            "/oauth2/token",
            "application/x-www-form-urlencoded",
            FORM,
            &[("x-client-cert", none)],
        )
        .await
        .unwrap();
        assert_eq!(r.status, 401);
    }
    h.logs.assert_has("no client certificate was presented");
    // The server is still up.
    let r = plain_request(
        addr,
        "POST",
        "/oauth2/token",
        "application/x-www-form-urlencoded",
        FORM,
        &[("x-client-cert", &good)],
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn on_a_tls_listener_the_trusted_proxy_header_wins_over_the_connection_certificate() {
    let h = Harness::start(&listeners()).await;
    let solo = self_signed(&LeafOptions::client("solo").around_now());
    h.register("solo", client_doc("solo", &solo.cert_pem()))
        .await;
    let proxy_cert = self_signed(&LeafOptions::client("proxy").around_now());
    let as_proxy = Client::Cert(vec![proxy_cert.cert.clone()], proxy_cert.key_pem.clone());
    let header = encode(HeaderFormat::Pem, std::slice::from_ref(&solo.cert));
    // 127.0.0.1 is trusted on this listener: the header is the identity.
    let r = common::request(
        h.addr("tls-proxied"),
        &h.pki,
        &as_proxy,
        "POST",
        "/oauth2/token",
        "application/x-www-form-urlencoded",
        FORM,
        &[("x-client-cert", &header)],
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        claims(r.json()["access_token"].as_str().unwrap())["cnf"]["x5t#S256"],
        certbound_pki::x5t_s256(&solo.cert)
    );
    // Without the header, the proxy's own TLS certificate is not taken for a client's.
    let as_solo_via_tls = Client::Cert(vec![solo.cert.clone()], solo.key_pem.clone());
    let r = common::request(
        h.addr("tls-proxied"),
        &h.pki,
        &as_solo_via_tls,
        "POST",
        "/oauth2/token",
        "application/x-www-form-urlencoded",
        FORM,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(
        r.status, 401,
        "from a trusted proxy, only the header identifies the client"
    );
}

/// A TLS listener whose header is believed from 10.0.0.0/8 only: the tests,
/// on 127.0.0.1, are not a trusted proxy there.
const TLS_PROXY_ELSEWHERE: &str = "[[listener]]\nname = \"tls-proxy-elsewhere\"\nbind = \"127.0.0.1:0\"\ntls = \"mtls-opt\"\nclient_cert_header = { name = \"x-client-cert\", format = \"pem\" }\ntrusted_proxies = [\"10.0.0.0/8\"]\n";

/// A token request for "solo" over TLS as `tls`, with `header` as the
/// forwarded certificate when given.
async fn token_via(
    h: &Harness,
    addr: std::net::SocketAddr,
    tls: &Client,
    header: Option<&str>,
) -> Reply {
    let headers: Vec<(&str, &str)> = header.map(|v| ("x-client-cert", v)).into_iter().collect();
    common::request(
        addr,
        &h.pki,
        tls,
        "POST",
        "/oauth2/token",
        "application/x-www-form-urlencoded",
        FORM,
        &headers,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn on_a_tls_listener_an_untrusted_peer_is_its_tls_certificate_and_its_header_is_ignored() {
    let h = Harness::start(&format!("{}{TLS_PROXY_ELSEWHERE}", listeners())).await;
    let solo = self_signed(&LeafOptions::client("solo").around_now());
    h.register("solo", client_doc("solo", &solo.cert_pem()))
        .await;
    let other = self_signed(&LeafOptions::client("other").around_now());
    let as_solo = Client::Cert(vec![solo.cert.clone()], solo.key_pem.clone());
    let as_other = Client::Cert(vec![other.cert.clone()], other.key_pem.clone());
    let solo_header = encode(HeaderFormat::Pem, std::slice::from_ref(&solo.cert));
    let other_header = encode(HeaderFormat::Pem, std::slice::from_ref(&other.cert));
    let addr = h.addr("tls-proxy-elsewhere");
    let bound_to = |r: &Reply| {
        assert_eq!(r.status, 200, "{}", r.body);
        claims(r.json()["access_token"].as_str().unwrap())["cnf"]["x5t#S256"].clone()
    };
    let solo_tp = certbound_pki::x5t_s256(&solo.cert);

    // The TLS certificate alone.
    let r = token_via(&h, addr, &as_solo, None).await;
    assert_eq!(bound_to(&r), solo_tp);
    // The TLS certificate wins over another certificate in the header.
    let r = token_via(&h, addr, &as_solo, Some(&other_header)).await;
    assert_eq!(bound_to(&r), solo_tp, "the header was believed");
    // Spoofing: solo's certificate in the header, another one on the connection.
    let r = token_via(&h, addr, &as_other, Some(&solo_header)).await;
    assert_eq!(r.status, 401, "spoofed header accepted: {}", r.body);
    assert_eq!(r.json()["error"], "invalid_client");
    // Spoofing without any TLS certificate.
    let r = token_via(&h, addr, &Client::None, Some(&solo_header)).await;
    assert_eq!(r.status, 401, "spoofed header accepted: {}", r.body);
    assert_eq!(r.json()["error"], "invalid_client");

    h.logs.assert_has("not a trusted proxy: ignored");
    let metrics = h.get("tls", "/metrics").await.unwrap().body;
    assert!(
        metrics.contains(
            "certbound_forwarded_cert_header_ignored_total{listener=\"tls-proxy-elsewhere\"} 3"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn through_a_trusted_proxy_a_route_binds_the_token_to_the_header_certificate_and_strips_it() {
    let upstream = echo_upstream().await;
    let route = format!("[[route]]\nprefix = \"/api/\"\nupstream = \"http://{upstream}\"\n");
    let h = Harness::start(&format!("{}{route}", listeners())).await;
    let a = self_signed(&LeafOptions::client("solo").around_now());
    h.register("solo", client_doc("solo", &a.cert_pem())).await;
    let b = self_signed(&LeafOptions::client("solo-b").around_now());
    let a_header = encode(HeaderFormat::Pem, std::slice::from_ref(&a.cert));
    let b_header = encode(HeaderFormat::Pem, std::slice::from_ref(&b.cert));
    let cert_header = header_name(HeaderFormat::Pem);
    assert_eq!(cert_header, "x-client-cert");
    let a_tp = certbound_pki::x5t_s256(&a.cert);

    // A token bound to certificate A, through the trusted proxy.
    let trusted = h.addr("pem-trusted");
    let r = plain_request(
        trusted,
        "POST",
        "/oauth2/token",
        "application/x-www-form-urlencoded",
        FORM,
        &[(cert_header, &a_header)],
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(claims(&token)["cnf"]["x5t#S256"], a_tp);
    let auth = format!("Bearer {token}");
    let spoofed = [
        ("x-client-id", "admin"),
        ("x-client-cert-subject", "CN=admin"),
        ("x-client-cert-thumbprint", "forged"),
        ("client-cert", ":AAAA:"),
        ("client-cert-chain", ":AAAA:"),
    ];

    // The proxy forwards A: admitted; the upstream sees certbound's identity
    // headers only, never the forwarded-certificate header nor spoofed copies.
    let mut headers = vec![(cert_header, a_header.as_str()), ("authorization", &auth)];
    headers.extend(spoofed);
    let r = plain_request(trusted, "GET", "/api/items", "", "", &headers)
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let echo = r.json();
    let seen = echo["headers"].as_object().unwrap();
    assert_eq!(echo["path"], "/api/items");
    assert!(
        !seen.contains_key(cert_header),
        "the forwarded-certificate header reached the upstream: {echo}"
    );
    assert_eq!(seen["x-client-id"], "solo");
    assert_eq!(seen["x-client-cert-thumbprint"], a_tp);
    let subject = seen["x-client-cert-subject"].as_str().unwrap();
    assert!(
        subject.contains("CN=solo") && !subject.contains("admin"),
        "{subject}"
    );
    assert_eq!(
        seen["client-cert"],
        encode(HeaderFormat::Rfc9440, std::slice::from_ref(&a.cert))
    );
    assert!(
        !seen.contains_key("client-cert-chain"),
        "a spoofed chain reached the upstream: {echo}"
    );
    assert_eq!(seen["x-forwarded-for"], "127.0.0.1");
    assert_eq!(seen["authorization"], auth.as_str());

    // The proxy forwards B: the token is bound to another certificate.
    let reason = "the token is bound to another certificate than the one presented";
    let challenge = format!("Bearer error=\"invalid_token\", error_description=\"{reason}\"");
    let r = plain_request(
        trusted,
        "GET",
        "/api/items",
        "",
        "",
        &[(cert_header, &b_header), ("authorization", &auth)],
    )
    .await
    .unwrap();
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.headers["www-authenticate"], challenge.as_str());
    assert_eq!(
        r.json(),
        serde_json::json!({"error": "invalid_token", "error_description": reason})
    );
    // The proxy forwards no certificate.
    let r = plain_request(
        trusted,
        "GET",
        "/api/items",
        "",
        "",
        &[("authorization", &auth)],
    )
    .await
    .unwrap();
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(
        r.json()["error_description"],
        "the token is bound to a certificate: present it (mTLS)"
    );
    // A from an untrusted peer is ignored: no certificate, so no binding.
    let r = plain_request(
        h.addr("pem-untrusted"),
        "GET",
        "/api/items",
        "",
        "",
        &[(cert_header, &a_header), ("authorization", &auth)],
    )
    .await
    .unwrap();
    assert_eq!(r.status, 401, "spoofed header accepted: {}", r.body);
    assert_eq!(
        r.json()["error_description"],
        "the token is bound to a certificate: present it (mTLS)"
    );

    // On the TLS listener trusting 127.0.0.1 the header wins over the
    // connection's certificate, both ways.
    let tls = h.addr("tls-proxied");
    let as_a = Client::Cert(vec![a.cert.clone()], a.key_pem.clone());
    let as_b = Client::Cert(vec![b.cert.clone()], b.key_pem.clone());
    let r = common::request(
        tls,
        &h.pki,
        &as_b,
        "GET",
        "/api/items",
        "",
        "",
        &[("x-client-cert", &a_header), ("authorization", &auth)],
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let echo = r.json();
    assert!(
        !echo["headers"]
            .as_object()
            .unwrap()
            .contains_key("x-client-cert"),
        "{echo}"
    );
    assert_eq!(echo["headers"]["x-client-cert-thumbprint"], a_tp);
    let r = common::request(
        tls,
        &h.pki,
        &as_a,
        "GET",
        "/api/items",
        "",
        "",
        &[("x-client-cert", &b_header), ("authorization", &auth)],
    )
    .await
    .unwrap();
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.headers["www-authenticate"], challenge.as_str());
}

#[tokio::test]
async fn config_refuses_a_header_without_trusted_proxies() {
    let raw: certbound_server::config::RawConfig = toml::from_str(
        "[issuer]\nurl = \"https://a\"\n[[listener]]\nbind = \"127.0.0.1:0\"\nclient_cert_header = { format = \"aws-alb\" }\n[[listener]]\nbind = \"127.0.0.1:0\"\nclient_cert_header = { format = \"nginx\" }\ntrusted_proxies = [\"10.0.0.0/40\"]\n[[listener]]\nbind = \"127.0.0.1:0\"\nclient_cert_header = { format = \"aws-lc-alb\" }\ntrusted_proxies = [\"10.0.0.1\"]\n",
    )
    .unwrap();
    let problems = raw.validate(std::path::Path::new("/tmp")).unwrap_err();
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let joined = text.join("\n");
    assert!(
        joined.contains("listener[0].trusted_proxies: missing"),
        "{joined}"
    );
    assert!(
        joined.contains("listener[1].client_cert_header.name: missing"),
        "{joined}"
    );
    assert!(
        joined.contains("listener[1].trusted_proxies[0]"),
        "{joined}"
    );
    assert!(
        joined.contains("listener[2].client_cert_header.format"),
        "{joined}"
    );
}
