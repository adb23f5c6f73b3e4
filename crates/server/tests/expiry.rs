//! Expiry watch: `/metrics` carries the seconds left of every certificate
//! certbound relies on (listener certificates and client CAs, each client's
//! trust store, route CAs), kept current when the registry changes; the log
//! warns once per certificate within 30 and 7 days of expiry.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use certbound_pki::x5t_s256;
use certbound_testkit::{LeafOptions, self_signed};
use common::{Harness, client_doc, echo_upstream, eventually, eventually_ok};
use time::OffsetDateTime;

const GAUGE: &str = "certbound_certificate_expiry_seconds";

/// The value of the gauge line whose labels hold every one of `labels`.
fn value(text: &str, labels: &[&str]) -> Option<i64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{GAUGE}{{")))
        .find(|l| labels.iter().all(|want| l.contains(want)))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn every_certificate_relied_on_has_its_seconds_left() {
    let upstream = echo_upstream().await;
    let h = Harness::start(&format!(
        r#"
[[route]]
prefix = "/api/"
upstream = "http://{upstream}"
require = "client-cert"
client_ca = "root.crt"
"#
    ))
    .await;
    let now = OffsetDateTime::now_utc();
    // 200 days left: no warning; 3 days ago: expired; 5 days left: inside 7.
    let long = self_signed(&LeafOptions::client("long-lived").validity(
        now - time::Duration::hours(1),
        now + time::Duration::days(200),
    ));
    let expired = self_signed(&LeafOptions::client("lapsed").ended_days_ago(3, 30));
    let soon = self_signed(&LeafOptions::client("soon").ended_days_ago(-5, 30));
    h.register("long", client_doc("long", &long.cert_pem()))
        .await;
    h.register("lapsed", client_doc("lapsed", &expired.cert_pem()))
        .await;
    h.register("soon", client_doc("soon", &soon.cert_pem()))
        .await;

    let gauge = || async {
        let r = h.get("tls", "/metrics").await.unwrap();
        assert_eq!(r.status, 200);
        r.body
    };
    let has = |label: String| async move {
        eventually_ok(&format!("{label} in the gauge"), || async {
            let text = gauge().await;
            if text.contains(&label) {
                Ok(text)
            } else {
                Err(text)
            }
        })
        .await
    };
    let text = has(format!("x5t_s256=\"{}\"", x5t_s256(&soon.cert))).await;
    assert!(text.contains(&format!("# TYPE {GAUGE} gauge")), "{text}");
    let day = 86_400;
    let between = |v: Option<i64>, lo: i64, hi: i64| {
        let v = v.unwrap_or_else(|| panic!("no such line in:\n{text}"));
        assert!((lo..=hi).contains(&v), "{v} not in {lo}..={hi}:\n{text}");
    };
    // Listener certificates (the harness's are valid for 30 days) and client CAs.
    between(
        value(
            &text,
            &[
                "source=\"listener\"",
                "listener=\"mtls\"",
                "role=\"certificate\"",
            ],
        ),
        29 * day,
        30 * day,
    );
    between(
        value(
            &text,
            &[
                "listener=\"mtls-ca\"",
                "role=\"client_ca\"",
                "certbound Test Root CA",
            ],
        ),
        300 * day,
        100 * 365 * day,
    );
    // Each client's trust store, by client_id and x5t#S256.
    let client = |id: &str, cert| {
        let id = format!("client_id=\"{id}\"");
        let x5t = format!("x5t_s256=\"{}\"", x5t_s256(cert));
        value(
            &text,
            &["source=\"client\"", &id, "role=\"trust_store\"", &x5t],
        )
    };
    between(client("long", &long.cert), 199 * day, 200 * day);
    between(
        client("lapsed", &expired.cert),
        -3 * day - 60,
        -3 * day + 60,
    );
    between(client("soon", &soon.cert), 5 * day - 60, 5 * day + 60);
    // The route's client CA.
    between(
        value(
            &text,
            &["source=\"route\"", "route=\"/api/\"", "role=\"client_ca\""],
        ),
        300 * day,
        100 * 365 * day,
    );

    // Warnings: the expired and the 5-day certificates, and the 30-day ones, not the 200-day one.
    h.logs
        .assert_has("certificate 'CN=lapsed, O=certbound tests' expired on");
    h.logs
        .assert_has("certificate 'CN=soon, O=certbound tests' expires on");
    h.logs.assert_has("threshold_days=7");
    h.logs.assert_has("threshold_days=30");
    h.logs.assert_has("used_by=\"client soon (trust_store)\"");
    assert!(
        !h.logs.text().contains("CN=long-lived"),
        "{}",
        h.logs.text()
    );

    // A registry change shows at once in the gauge; the warnings are not repeated.
    let later = self_signed(&LeafOptions::client("later").ended_days_ago(-2, 30));
    h.register("later", client_doc("later", &later.cert_pem()))
        .await;
    has(format!("x5t_s256=\"{}\"", x5t_s256(&later.cert))).await;
    h.logs
        .assert_has("certificate 'CN=later, O=certbound tests' expires on");
    let logs = h.logs.text();
    assert_eq!(
        logs.matches("certificate 'CN=soon, O=certbound tests' expires on")
            .count(),
        1,
        "{logs}"
    );
    assert_eq!(
        logs.matches("CN=lapsed, O=certbound tests' expired on")
            .count(),
        1
    );
    // A removed client's certificates leave the gauge.
    h.running.store().delete_client("lapsed").await.unwrap();
    h.running.registry().refresh("lapsed").await.unwrap();
    eventually("lapsed gone from the gauge", || async {
        !gauge().await.contains("client_id=\"lapsed\"")
    })
    .await;
}
