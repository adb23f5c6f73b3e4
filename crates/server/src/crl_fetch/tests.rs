//! The fetcher with a stand-in distribution point: what passes, what
//! refuses, which CRLs are not believed, what the cache saves, and how it
//! goes with OCSP.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use certbound_pki::chain::Usage;
use certbound_pki::check::online;
use certbound_pki::generate::crl::RevokedEntry;
use certbound_pki::generate::{self, CaSpec, LeafSpec, Signer};
use certbound_pki::inspect::CertInfo;
use certbound_pki::revocation::{Reason, Unavailable};

use super::*;
use crate::online_revocation::{Outcome, Source, Sources};

const URL: &str = "http://127.0.0.1:9/ca.crl";

struct Pki {
    ca: CertDer,
    signer: Signer,
    /// A CA with the same name and another key.
    twin: Signer,
    /// A CA with another name.
    other: Signer,
    kept: CertDer,
    gone: CertDer,
}

fn new_ca(name: &str) -> (CertDer, Signer) {
    let now = OffsetDateTime::now_utc();
    let spec = CaSpec {
        common_name: name.into(),
        organization: None,
        key_type: Default::default(),
        days: 30,
    };
    let made = generate::root_ca(&spec, now).expect("a root");
    let signer = Signer::new(made.cert_der.clone(), made.key_pem.as_bytes()).expect("a signer");
    (made.cert_der, signer)
}

fn pki() -> Pki {
    let (ca, signer) = new_ca("CRL Test CA");
    let leaf = |name: &str| {
        let spec = LeafSpec {
            common_name: name.into(),
            usage: Usage::Client,
            days: 10,
            crl_urls: vec![URL.into()],
            ocsp_urls: vec!["http://127.0.0.1:9/ocsp".into()],
            ..Default::default()
        };
        generate::leaf(&signer, &spec, OffsetDateTime::now_utc())
            .expect("a leaf")
            .cert_der
    };
    Pki {
        kept: leaf("kept"),
        gone: leaf("gone"),
        twin: new_ca("CRL Test CA").1,
        other: new_ca("Another CA").1,
        ca,
        signer,
    }
}

fn serial(cert: &CertDer) -> Vec<u8> {
    let info = CertInfo::from_der(cert).expect("parses");
    info.serial
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).expect("hex"))
        .collect()
}

/// A CRL by `signer` listing `gone` (keyCompromise), made an hour ago and
/// current for `days` (0: already stale).
fn crl(signer: &Signer, revoked: &[&CertDer], days: u32) -> Vec<u8> {
    let made = OffsetDateTime::now_utc() - time::Duration::hours(1);
    let entries: Vec<RevokedEntry> = revoked
        .iter()
        .map(|c| RevokedEntry {
            serial: serial(c),
            revoked_at: made,
            reason: Reason::KeyCompromise,
        })
        .collect();
    let made = if days == 0 {
        made - time::Duration::days(2)
    } else {
        made
    };
    signer
        .crl(&entries, 1, made, days.max(1))
        .expect("a CRL")
        .der
}

/// A stand-in distribution point serving `bytes` (or failing) and counting the calls.
fn stand_in(bytes: Result<Vec<u8>, String>) -> (Get, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let get: Get = Arc::new(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        let bytes = bytes.clone();
        Box::pin(async move { bytes }) as GetFuture
    });
    (get, calls)
}

fn target(p: &Pki, leaf: &CertDer) -> Target {
    online::targets(leaf, &[], std::slice::from_ref(&p.ca))
        .into_iter()
        .next()
        .expect("the leaf")
}

#[tokio::test]
async fn listed_refuses_unlisted_passes_and_the_crl_is_fetched_once() {
    let p = pki();
    let (get, calls) = stand_in(Ok(crl(&p.signer, &[&p.gone], 7)));
    let fetcher = CrlFetcher::with_get(get, 4);
    assert_eq!(fetcher.verdict(&target(&p, &p.kept)).await, Verdict::Good);
    match fetcher.verdict(&target(&p, &p.gone)).await {
        Verdict::Refused(r) => {
            let text = r.to_string();
            assert_eq!(r.code(), "certificate_revoked");
            assert!(
                text.contains("CN=gone")
                    && text.contains("keyCompromise")
                    && text.contains("the CRL at http://127.0.0.1:9/ca.crl"),
                "{text}"
            );
        }
        other => panic!("revoked expected, got {other:?}"),
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "one fetch for both");
    assert_eq!(fetcher.crls().len(), 1);
}

#[tokio::test]
async fn a_crl_of_another_key_or_name_or_a_stale_one_is_no_answer() {
    let p = pki();
    for (bytes, expected) in [
        (crl(&p.twin, &[], 7), "did not sign it"),
        (crl(&p.other, &[], 7), "not of 'CRL Test CA'"),
        (crl(&p.signer, &[], 0), "past its nextUpdate"),
        (b"not a CRL".to_vec(), "holds no X509 CRL"),
    ] {
        let (get, _) = stand_in(Ok(bytes));
        let fetcher = CrlFetcher::with_get(get, 4);
        match fetcher.verdict(&target(&p, &p.kept)).await {
            Verdict::Unavailable(why) => assert!(why.contains(expected), "{why}"),
            other => panic!("unavailable ({expected}) expected, got {other:?}"),
        }
    }
    // A stale CRL still refuses what it lists.
    let (get, _) = stand_in(Ok(crl(&p.signer, &[&p.gone], 0)));
    let fetcher = CrlFetcher::with_get(get, 4);
    assert!(matches!(
        fetcher.verdict(&target(&p, &p.gone)).await,
        Verdict::Refused(_)
    ));
}

#[tokio::test]
async fn unreachable_follows_the_policy_and_a_good_crl_vouches_when_ocsp_is_down() {
    let p = pki();
    let (get, calls) = stand_in(Err("http://127.0.0.1:9/ca.crl cannot be reached".into()));
    let ocsp_down: crate::ocsp::Ask = Arc::new(|_, _| {
        Box::pin(async { Err("the OCSP responder cannot be reached".to_string()) })
    });
    let sources = |get: Get, unavailable| Sources {
        crl: Some(CrlFetcher::with_get(get, 4)),
        ocsp: Some(crate::ocsp::OcspChecker::with_ask(
            Arc::clone(&ocsp_down),
            4,
        )),
        unavailable,
    };
    let chain = std::slice::from_ref(&p.kept);
    let anchors = std::slice::from_ref(&p.ca);
    let fail = sources(get.clone(), Unavailable::Fail);
    let (outcomes, result) = fail.check_chain(chain, anchors).await;
    let refusal = result.unwrap_err();
    assert_eq!(refusal.code(), "revocation_unavailable");
    let text = refusal.to_string();
    assert!(
        text.contains("cannot be reached") && text.contains("OCSP"),
        "both sources named: {text}"
    );
    assert_eq!(
        outcomes,
        vec![
            (Source::CrlDp, Outcome::Unavailable),
            (Source::Ocsp, Outcome::Unavailable)
        ]
    );
    let _ = fail.check_chain(chain, anchors).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1, "a failure is remembered");

    let allow = sources(get, Unavailable::Allow);
    assert!(allow.check_chain(chain, anchors).await.1.is_ok());

    // A current CRL vouches for the certificate while OCSP is down.
    let (get, _) = stand_in(Ok(crl(&p.signer, &[&p.gone], 7)));
    let fail = sources(get, Unavailable::Fail);
    let (outcomes, result) = fail.check_chain(chain, anchors).await;
    assert_eq!(result, Ok(()));
    assert_eq!(
        outcomes,
        vec![
            (Source::CrlDp, Outcome::Good),
            (Source::Ocsp, Outcome::Unavailable)
        ]
    );
    let gone = std::slice::from_ref(&p.gone);
    assert_eq!(
        fail.check_chain(gone, anchors).await.1.unwrap_err().code(),
        "certificate_revoked"
    );
}

#[tokio::test]
async fn a_refresh_replaces_the_crl_in_the_background() {
    let p = pki();
    let served = Arc::new(Mutex::new(crl(&p.signer, &[], 7)));
    let source = Arc::clone(&served);
    let get: Get = Arc::new(move |_| {
        let bytes = source.lock().unwrap().clone();
        Box::pin(async move { Ok(bytes) }) as GetFuture
    });
    let fetcher = CrlFetcher::with_get(get, 4);
    assert_eq!(fetcher.verdict(&target(&p, &p.gone)).await, Verdict::Good);
    // The CA revokes; once the cached CRL is due, the next check starts a
    // refresh and is served the old CRL; a later one sees the new.
    *served.lock().unwrap() = crl(&p.signer, &[&p.gone], 7);
    fetcher.cache.make_due();
    assert_eq!(fetcher.verdict(&target(&p, &p.gone)).await, Verdict::Good);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if matches!(
            fetcher.verdict(&target(&p, &p.gone)).await,
            Verdict::Refused(_)
        ) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the refreshed CRL is used"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
