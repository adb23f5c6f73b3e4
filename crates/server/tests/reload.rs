//! Certificates reloaded without a restart: on demand (SIGHUP) and when the
//! files change; a broken set of files keeps the old certificates.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use certbound_testkit::LeafOptions;
use common::{Harness, eventually};
use rustls::pki_types::{CertificateDer, ServerName};

async fn served_cert(h: &Harness) -> Result<CertificateDer<'static>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(h.pki.root.cert.clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(h.addr("tls"))
        .await
        .map_err(|e| e.to_string())?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    Ok(tls.get_ref().1.peer_certificates().unwrap()[0]
        .clone()
        .into_owned())
}

#[tokio::test]
async fn sighup_and_file_changes_reload_and_failures_keep_the_old_certificates() {
    let h = Harness::start("").await;
    let d = h.dir.path();
    let first = served_cert(&h).await.unwrap();

    // New files, reload on demand.
    let second = h
        .pki
        .root
        .issue(&LeafOptions::server("localhost").around_now());
    second.write(d, "server", &[]);
    let outcomes = h.running.reload_tls();
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
    let now = served_cert(&h).await.unwrap();
    assert_ne!(now, first);
    assert_eq!(now, second.cert);

    // A key that does not match: the reload fails and the old certificate stays.
    let stranger = h
        .pki
        .root
        .issue(&LeafOptions::server("localhost").around_now());
    certbound_testkit::write_private(&d.join("server.key"), &stranger.key_pem);
    let outcomes = h.running.reload_tls();
    assert!(outcomes.iter().any(|o| o.result.is_err()), "{outcomes:?}");
    h.logs
        .assert_has("TLS reload failed; keeping the previous certificates");
    assert_eq!(served_cert(&h).await.unwrap(), second.cert);

    // Fix the files: the watcher picks them up without being asked.
    let third = h
        .pki
        .root
        .issue(&LeafOptions::server("localhost").around_now());
    third.write(d, "server", &[]);
    eventually("the file watch reloading the new files", || async {
        served_cert(&h).await.unwrap() == third.cert
    })
    .await;
    h.logs.assert_has("TLS certificates reloaded");
}
