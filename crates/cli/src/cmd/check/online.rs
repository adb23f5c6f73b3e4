//! `check --online`: ask the OCSP responder named in the leaf's and each
//! intermediate's AIA, and fetch the CRLs their CRL Distribution Points name
//! (judged like `--crl` files); one `ocsp` line per certificate, one
//! `revocation` line for the fetched CRLs.

use certbound_pki::CertDer;
use certbound_pki::bundle::parse_certificates;
use certbound_pki::check::online::{self, OcspLookup};
use certbound_pki::check::{self, CheckInput, Named, Report};
use certbound_tls::fetch::{self, OcspCheckError};
use time::OffsetDateTime;

/// Ask, for each certificate from the leaf up, and append the lines.
pub(super) fn run(
    report: &mut Report,
    input: &CheckInput<'_>,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let all = |file: Option<Named<'_>>| -> Vec<CertDer> {
        file.and_then(|f| parse_certificates(f.bytes).ok())
            .unwrap_or_default()
    };
    let mut certs = all(Some(input.cert));
    if certs.is_empty() {
        // The parse check has already failed and said why.
        return Ok(());
    }
    let leaf = certs.remove(0);
    let mut intermediates = certs;
    intermediates.extend(all(input.chain));
    let anchors = all(input.ca);
    let targets = online::targets(&leaf, &intermediates, &anchors);
    let mut crl_urls: Vec<String> = Vec::new();
    for url in targets.iter().flat_map(|t| &t.crl_urls) {
        if !crl_urls.contains(url) {
            crl_urls.push(url.clone());
        }
    }
    let (lookups, crls) = crate::cmd::client::block_on(async {
        let mut lookups = Vec::new();
        for t in &targets {
            lookups.push(lookup(t, now).await);
        }
        let mut crls = Vec::new();
        for url in &crl_urls {
            crls.push((
                url.clone(),
                fetch::get_crl(url, fetch::FETCH_TIMEOUT, fetch::MAX_CRL_BYTES).await,
            ));
        }
        (lookups, crls)
    })?;
    let checks = targets
        .iter()
        .zip(&lookups)
        .map(|(t, l)| online::ocsp_check(t, l, now));
    online::add(report, checks);
    let mut fetched = Vec::new();
    for (url, result) in &crls {
        match result {
            Ok(bytes) => fetched.push(Named { name: url, bytes }),
            Err(e) => online::add(report, [online::crl_unavailable(e.to_string())]),
        }
    }
    check::revocation::add(report, input, &fetched);
    Ok(())
}

async fn lookup(target: &online::Target, now: OffsetDateTime) -> OcspLookup {
    if target.ocsp_urls.is_empty() {
        return OcspLookup::NoResponder;
    }
    let Some(issuer) = &target.issuer else {
        return OcspLookup::NoIssuer;
    };
    match fetch::ask_ocsp(&target.cert, issuer, now, fetch::FETCH_TIMEOUT).await {
        Ok(o) => OcspLookup::Answer {
            url: o.url,
            answer: o.answer,
        },
        Err(OcspCheckError::NoResponder) => OcspLookup::NoResponder,
        Err(e @ OcspCheckError::Fetch(_)) => OcspLookup::Unavailable {
            message: e.to_string(),
        },
        Err(e) => OcspLookup::Refused {
            message: e.to_string(),
        },
    }
}
