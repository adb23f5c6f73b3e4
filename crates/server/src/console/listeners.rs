//! The Listeners page: each listener's address, TLS profile, client
//! certificate mode, forwarded-certificate header and trusted proxies, and
//! its server certificate with its expiry and the findings of `certbound
//! check --usage server`. The certificate is read from its file again, so a
//! reload since start-up is reflected.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use certbound_pki::CertDer;
use certbound_pki::chain::Usage;
use certbound_pki::check::{self, CheckInput, DEFAULT_WARN_DAYS, Named, Status};
use certbound_pki::inspect::CertInfo;
use certbound_tls::profile::ClientAuth;
use time::OffsetDateTime;

use super::html::{self, Section, esc};
use super::session::SessionInfo;
use super::{Console, panel};
use crate::config::ListenerConfig;

fn client_auth_text(mode: ClientAuth, has_ca: bool) -> &'static str {
    match (mode, has_ca) {
        (ClientAuth::Off, _) => "off: no client certificate is asked for",
        (ClientAuth::Optional, true) => "optional: a certificate sent must chain to the client CA",
        (ClientAuth::Optional, false) => {
            "optional: any certificate is accepted at the handshake (key possession proven); each client's trust store decides"
        }
        (ClientAuth::Required, true) => "required: a certificate chaining to the client CA",
        (ClientAuth::Required, false) => {
            "required: any certificate is accepted at the handshake (key possession proven); each client's trust store decides"
        }
        (ClientAuth::OptionalNoCa, _) => {
            "optional_no_ca: any certificate is accepted at the handshake (key possession proven); each client's trust store decides"
        }
    }
}

/// The certificate the listener serves: from its file now, else as loaded at start-up.
async fn server_chain(l: &ListenerConfig) -> (Option<CertDer>, Option<String>) {
    let loaded = l
        .tls
        .as_ref()
        .and_then(|p| p.identity.as_ref())
        .and_then(|i| i.chain.first().cloned());
    let Some(path) = l
        .tls_source
        .as_ref()
        .and_then(|s| s.raw.cert.as_ref().map(|c| s.base.join(c)))
    else {
        return (loaded, None);
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => match certbound_pki::parse_certificates(&bytes) {
            Ok(mut certs) if !certs.is_empty() => (Some(certs.swap_remove(0)), None),
            Ok(_) => (
                loaded,
                Some(format!(
                    "{} holds no certificate now; showing the one loaded at start-up",
                    path.display()
                )),
            ),
            Err(e) => (
                loaded,
                Some(format!(
                    "{} cannot be read now ({e}); showing the one loaded at start-up",
                    path.display()
                )),
            ),
        },
        Err(e) => (
            loaded,
            Some(format!(
                "{} cannot be read now ({e}); showing the one loaded at start-up",
                path.display()
            )),
        ),
    }
}

/// GET /listeners
pub(super) async fn page(State(c): State<Arc<Console>>, request: Request) -> Response {
    let Some(s) = request.extensions().get::<SessionInfo>().cloned() else {
        return super::internal("no session on a signed-in route");
    };
    let now = OffsetDateTime::now_utc();
    let mut b = String::from(
        "<h1>Listeners</h1><p>Every listener of this server as configured. Server certificates are read from their files \
         again for this page, so a reload since start-up shows here.</p>",
    );
    for (i, (bound, l)) in c.state.listeners.iter().enumerate() {
        let scheme = if bound.tls { "https" } else { "http" };
        let _ = write!(
            b,
            "<section class=\"listener\" aria-labelledby=\"listener-{i}\"><h2 id=\"listener-{i}\">{}</h2><dl class=\"facts\">\
             <dt>Address</dt><dd><code>{scheme}://{}</code></dd>",
            esc(&l.name),
            esc(&bound.addr.to_string()),
        );
        if let Some(url) = &l.public_url {
            let _ = write!(b, "<dt>Public URL</dt><dd><code>{}</code></dd>", esc(url));
        }
        match &l.tls {
            None => b.push_str(
                "<dt>TLS profile</dt><dd>none: plain HTTP, for use behind a TLS-terminating proxy</dd>\
                 <dt>Client certificates</dt><dd>only from a forwarded-certificate header</dd>",
            ),
            Some(p) => {
                let cas = p.client_ca.as_deref().unwrap_or_default();
                let _ = write!(
                    b,
                    "<dt>TLS profile</dt><dd><code>{}</code>, TLS {} or later</dd><dt>Client certificates</dt><dd>{}</dd>",
                    esc(&p.name),
                    esc(&p.min_version.to_string()),
                    esc(client_auth_text(p.client_auth, !cas.is_empty())),
                );
                if !cas.is_empty() {
                    let names: Vec<String> = cas
                        .iter()
                        .filter_map(|c| CertInfo::from_der(c).ok())
                        .map(|i| format!("'{}'", i.display_name()))
                        .collect();
                    let _ = write!(b, "<dt>Client CA</dt><dd>{}</dd>", esc(&names.join(", ")));
                }
            }
        }
        match &l.forwarded {
            None => b.push_str("<dt>Forwarded certificate header</dt><dd>none</dd>"),
            Some(f) => {
                let chain = f
                    .chain_header
                    .as_ref()
                    .map(|h| format!(", chain in <code>{}</code>", esc(h.as_str())))
                    .unwrap_or_default();
                let proxies: Vec<String> = f.trusted.iter().map(ToString::to_string).collect();
                let _ = write!(
                    b,
                    "<dt>Forwarded certificate header</dt><dd><code>{}</code> ({} format){chain}</dd>\
                     <dt>Trusted proxies</dt><dd>{}</dd>",
                    esc(f.header.as_str()),
                    esc(&f.format.to_string()),
                    if proxies.is_empty() {
                        "none: the header is never believed".to_string()
                    } else {
                        esc(&proxies.join(", ")).to_string()
                    },
                );
            }
        }
        if l.tls.is_some() {
            let (cert, note) = server_chain(l).await;
            b.push_str("<dt>Server certificate</dt><dd>");
            match cert
                .as_ref()
                .and_then(|c| CertInfo::from_der(c).ok().map(|i| (c, i)))
            {
                None => b.push_str("none"),
                Some((der, info)) => server_cert(&mut b, der, &info, now),
            }
            if let Some(n) = note {
                let _ = write!(b, "<p class=\"note\">{}</p>", esc(&n));
            }
            b.push_str("</dd>");
        }
        b.push_str("</dl></section>");
    }
    html::html(
        StatusCode::OK,
        html::page("Listeners", Section::Listeners, Some(&s), &b),
    )
}

fn server_cert(b: &mut String, der: &CertDer, info: &CertInfo, now: OffsetDateTime) {
    let days = certbound_pki::time_fmt::days_between(now, info.not_after);
    let class = if days < 0 {
        "error"
    } else if days < i64::from(DEFAULT_WARN_DAYS) {
        "warning"
    } else {
        "pass"
    };
    let sans: Vec<String> = info
        .subject_alt_names
        .iter()
        .map(ToString::to_string)
        .collect();
    let _ = write!(
        b,
        "{} <span class=\"aside\">issued by {}</span><br>SANs: {}<br>Valid until {} <span class=\"days {class}\">({})</span>",
        esc(&info.subject),
        esc(&info.issuer),
        esc(&if sans.is_empty() {
            "none".to_string()
        } else {
            sans.join(", ")
        }),
        panel::date(&certbound_pki::time_fmt::rfc3339(info.not_after)),
        esc(&panel::days_left(days)),
    );
    let report = check::run(&CheckInput {
        cert: Named {
            name: "the server certificate",
            bytes: der,
        },
        key: None,
        ca: None,
        chain: None,
        usage: Usage::Server,
        host: None,
        now,
        warn_days: DEFAULT_WARN_DAYS,
        nearby: &[],
    });
    let problems: Vec<_> = report
        .checks
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::Warn))
        .collect();
    if !problems.is_empty() {
        b.push_str("<ul class=\"findings\">");
        for p in problems {
            let (class, word) = if p.status == Status::Fail {
                ("error", "Error")
            } else {
                ("warning", "Warning")
            };
            let _ = write!(
                b,
                "<li class=\"finding {class}\"><span class=\"sev\">{word}</span> <span class=\"check\">{}</span> <span class=\"msg\">{}</span></li>",
                esc(p.id),
                esc(&p.message)
            );
        }
        b.push_str("</ul>");
    }
}
