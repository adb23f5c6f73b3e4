//! The checker with a stand-in responder: what passes, what refuses, what
//! the policy decides, and what the cache saves.

use std::sync::atomic::{AtomicUsize, Ordering};

use certbound_pki::chain::Usage;
use certbound_pki::generate::{self, CaSpec, LeafSpec, Signer};
use certbound_pki::ocsp::Signer as AnswerSigner;

use super::*;
use crate::online_revocation::{Outcome, Sources};
use certbound_pki::ocsp::Reason;
use certbound_pki::revocation::Unavailable;
use std::time::Duration;

/// The sources with only an OCSP checker asking with `ask` on.
struct Checker(Sources);

fn sources(ask: Ask, unavailable: Unavailable, max_entries: usize) -> Checker {
    Checker(Sources {
        crl: None,
        ocsp: Some(OcspChecker::with_ask(ask, max_entries)),
        unavailable,
    })
}

impl Checker {
    async fn check_chain(
        &self,
        chain: &[CertDer],
        anchors: &[CertDer],
    ) -> Result<Vec<Outcome>, Refusal> {
        let (outcomes, result) = self.0.check_chain(chain, anchors).await;
        result.map(|()| outcomes.into_iter().map(|(_, o)| o).collect())
    }

    fn ocsp(&self) -> &OcspChecker {
        self.0.ocsp.as_deref().expect("on")
    }
}

struct Pki {
    ca: CertDer,
    leaf: CertDer,
    plain: CertDer,
}

fn pki() -> Pki {
    let now = OffsetDateTime::now_utc();
    let ca = generate::root_ca(
        &CaSpec {
            common_name: "OCSP Server CA".into(),
            organization: None,
            key_type: Default::default(),
            days: 30,
        },
        now,
    )
    .expect("a root");
    let signer = Signer::new(ca.cert_der.clone(), ca.key_pem.as_bytes()).expect("a signer");
    let spec = |ocsp: bool| LeafSpec {
        common_name: "partner".into(),
        usage: Usage::Client,
        days: 10,
        ocsp_urls: if ocsp {
            vec!["http://127.0.0.1:9/".into()]
        } else {
            Vec::new()
        },
        ..Default::default()
    };
    Pki {
        leaf: generate::leaf(&signer, &spec(true), now)
            .expect("a leaf")
            .cert_der,
        plain: generate::leaf(&signer, &spec(false), now)
            .expect("a leaf")
            .cert_der,
        ca: ca.cert_der,
    }
}

fn answer(status: OcspStatus, life: time::Duration) -> OcspAnswer {
    let now = OffsetDateTime::now_utc();
    OcspAnswer {
        status,
        this_update: now,
        valid_until: now + life,
        produced_at: now,
        signer: AnswerSigner::Issuer,
    }
}

/// A stand-in responder answering `asked` and counting the calls.
fn stand_in(asked: Asked) -> (Ask, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let ask: Ask = Arc::new(move |_, _| {
        counter.fetch_add(1, Ordering::SeqCst);
        let asked = asked.clone();
        Box::pin(async move { asked }) as AskFuture
    });
    (ask, calls)
}

fn good() -> Asked {
    let next = OffsetDateTime::now_utc() + time::Duration::hours(1);
    Ok((
        "http://127.0.0.1:9/".into(),
        answer(
            OcspStatus::Good { next_update: next },
            time::Duration::hours(1),
        ),
    ))
}

#[tokio::test]
async fn good_passes_and_is_cached_until_next_update() {
    let p = pki();
    let (ask, calls) = stand_in(good());
    let checker = sources(ask, Unavailable::Fail, 10);
    let chain = std::slice::from_ref(&p.leaf);
    assert_eq!(
        checker
            .check_chain(chain, std::slice::from_ref(&p.ca))
            .await,
        Ok(vec![Outcome::Good])
    );
    assert_eq!(
        checker
            .check_chain(chain, std::slice::from_ref(&p.ca))
            .await,
        Ok(vec![Outcome::Good])
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the second check used the cache"
    );
    // A certificate without AIA is not asked about.
    assert_eq!(
        checker
            .check_chain(std::slice::from_ref(&p.plain), std::slice::from_ref(&p.ca))
            .await,
        Ok(vec![])
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn revoked_and_unknown_refuse_whatever_the_policy() {
    let p = pki();
    let at = OffsetDateTime::now_utc() - time::Duration::days(2);
    let revoked = Ok((
        "http://127.0.0.1:9/".to_string(),
        answer(
            OcspStatus::Revoked {
                at,
                reason: Some(Reason::KeyCompromise),
            },
            time::Duration::hours(1),
        ),
    ));
    let (ask, _) = stand_in(revoked);
    let checker = sources(ask, Unavailable::Allow, 10);
    let err = checker
        .check_chain(std::slice::from_ref(&p.leaf), std::slice::from_ref(&p.ca))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "certificate_revoked");
    let text = err.to_string();
    assert!(
        text.contains("CN=partner") && text.contains("keyCompromise"),
        "{text}"
    );

    let unknown = Ok((
        "http://127.0.0.1:9/".to_string(),
        answer(OcspStatus::Unknown, time::Duration::hours(1)),
    ));
    let (ask, _) = stand_in(unknown);
    let checker = sources(ask, Unavailable::Allow, 10);
    let err = checker
        .check_chain(std::slice::from_ref(&p.leaf), std::slice::from_ref(&p.ca))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "certificate_status_unknown");
}

#[tokio::test]
async fn no_answer_follows_the_policy_and_is_remembered_briefly() {
    let p = pki();
    let down: Asked = Err("the OCSP responder http://127.0.0.1:9/ cannot be reached".into());
    let (ask_fail, calls) = stand_in(down.clone());
    let fail = sources(ask_fail, Unavailable::Fail, 10);
    let err = fail
        .check_chain(std::slice::from_ref(&p.leaf), std::slice::from_ref(&p.ca))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "revocation_unavailable");
    assert!(err.to_string().contains("cannot be reached"), "{err}");
    let _ = fail
        .check_chain(std::slice::from_ref(&p.leaf), std::slice::from_ref(&p.ca))
        .await;
    assert_eq!(calls.load(Ordering::SeqCst), 1, "a failure is remembered");

    let (ask_allow, _) = stand_in(down);
    let allow = sources(ask_allow, Unavailable::Allow, 10);
    assert_eq!(
        allow
            .check_chain(std::slice::from_ref(&p.leaf), std::slice::from_ref(&p.ca))
            .await,
        Ok(vec![Outcome::Unavailable])
    );
    // Without its issuer nobody can be asked: unavailable as well.
    let (ask_good, calls) = stand_in(good());
    let fail = sources(ask_good, Unavailable::Fail, 10);
    let err = fail
        .check_chain(std::slice::from_ref(&p.leaf), &[])
        .await
        .unwrap_err();
    assert_eq!(err.code(), "revocation_unavailable");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_cached_answer_serves_while_it_is_refreshed() {
    let p = pki();
    // An answer valid for a minute.
    let short = Ok((
        "http://127.0.0.1:9/".to_string(),
        answer(
            OcspStatus::Good {
                next_update: OffsetDateTime::now_utc() + time::Duration::minutes(1),
            },
            time::Duration::minutes(1),
        ),
    ));
    let (ask, calls) = stand_in(short);
    let checker = sources(ask, Unavailable::Fail, 10);
    assert!(
        checker
            .check_chain(std::slice::from_ref(&p.leaf), std::slice::from_ref(&p.ca))
            .await
            .is_ok()
    );
    // Due for refresh (as when most of its life has passed): served from
    // the cache, a refresh starts.
    checker.ocsp().cache.make_due();
    assert_eq!(
        checker
            .check_chain(std::slice::from_ref(&p.leaf), std::slice::from_ref(&p.ca))
            .await,
        Ok(vec![Outcome::Good])
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while calls.load(Ordering::SeqCst) < 2 && std::time::Instant::now() < deadline {
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "refreshed in the background"
    );
}
