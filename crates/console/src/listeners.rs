//! The Listeners page: each listener's address, TLS profile, client
//! certificate mode, forwarded-certificate header and trusted proxies, and
//! its server certificate with its expiry and the findings of `certbound
//! check --usage server`. The certificate is read from its file again, so a
//! reload since start-up is reflected.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use certbound_pki::CertDer;
use certbound_pki::chain::Usage;
use certbound_pki::check::{self, CheckInput, DEFAULT_WARN_DAYS, Named, Status};
use certbound_pki::inspect::CertInfo;
use certbound_tls::profile::ClientAuth;
use maud::{Markup, html};
use time::OffsetDateTime;

use super::html::{self, Section};
use super::session::SessionInfo;
use super::{Console, panel};
use certbound_server::config::ListenerConfig;

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
    let mut sections = Vec::new();
    for (i, (bound, l)) in c.state.listeners().iter().enumerate() {
        let server = if l.tls.is_some() {
            Some(server_chain(l).await)
        } else {
            None
        };
        sections.push(listener(i, bound, l, server, now));
    }
    let b = html! {
        h1 { "Listeners" }
        p {
            "Every listener of this server as configured. Server certificates are read from their files \
             again for this page, so a reload since start-up shows here."
        }
        @for section in sections { (section) }
    };
    html::html(
        StatusCode::OK,
        html::page("Listeners", Section::Listeners, Some(&s), b),
    )
}

fn listener(
    i: usize,
    bound: &certbound_server::Bound,
    l: &ListenerConfig,
    server: Option<(Option<CertDer>, Option<String>)>,
    now: OffsetDateTime,
) -> Markup {
    let scheme = if bound.tls { "https" } else { "http" };
    html! {
        section.listener aria-labelledby={ "listener-" (i) } {
            h2 id={ "listener-" (i) } { (l.name) }
            dl.facts {
                dt { "Address" } dd { code { (scheme) "://" (bound.addr.to_string()) } }
                @if let Some(url) = &l.public_url { dt { "Public URL" } dd { code { (url) } } }
                @match &l.tls {
                    None => {
                        dt { "TLS profile" } dd { "none: plain HTTP, for use behind a TLS-terminating proxy" }
                        dt { "Client certificates" } dd { "only from a forwarded-certificate header" }
                    }
                    Some(p) => {
                        @let cas = p.client_ca.as_deref().unwrap_or_default();
                        dt { "TLS profile" } dd { code { (p.name) } ", TLS " (p.min_version.to_string()) " or later" }
                        dt { "Client certificates" } dd { (client_auth_text(p.client_auth, !cas.is_empty())) }
                        @if !cas.is_empty() {
                            @let names: Vec<String> = cas
                                .iter()
                                .filter_map(|c| CertInfo::from_der(c).ok())
                                .map(|i| format!("'{}'", i.display_name()))
                                .collect();
                            dt { "Client CA" } dd { (names.join(", ")) }
                        }
                    }
                }
                @match &l.forwarded {
                    None => { dt { "Forwarded certificate header" } dd { "none" } }
                    Some(f) => {
                        @let proxies: Vec<String> = f.trusted.iter().map(ToString::to_string).collect();
                        dt { "Forwarded certificate header" }
                        dd {
                            code { (f.header.as_str()) } " (" (f.format.to_string()) " format)"
                            @if let Some(h) = &f.chain_header { ", chain in " code { (h.as_str()) } }
                        }
                        dt { "Trusted proxies" }
                        dd {
                            @if proxies.is_empty() { "none: the header is never believed" } @else { (proxies.join(", ")) }
                        }
                    }
                }
                @if let Some((cert, note)) = server {
                    dt { "Server certificate" }
                    dd {
                        @match cert.as_ref().and_then(|c| CertInfo::from_der(c).ok().map(|i| (c, i))) {
                            None => "none",
                            Some((der, info)) => (server_cert(der, &info, now)),
                        }
                        @if let Some(n) = note { p.note { (n) } }
                    }
                }
            }
        }
    }
}

fn server_cert(der: &CertDer, info: &CertInfo, now: OffsetDateTime) -> Markup {
    let days = certbound_pki::time_fmt::days_between(now, info.not_after);
    let sans: Vec<String> = info
        .subject_alt_names
        .iter()
        .map(ToString::to_string)
        .collect();
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
    html! {
        (info.subject) " " span.aside { "issued by " (info.issuer) } br;
        "SANs: " (if sans.is_empty() { "none".to_string() } else { sans.join(", ") }) br;
        "Valid until " (panel::date(&certbound_pki::time_fmt::rfc3339(info.not_after))) " "
        span class={ "days " (panel::days_class(days, i64::from(DEFAULT_WARN_DAYS))) } { "(" (panel::days_left(days)) ")" }
        @if !problems.is_empty() {
            ul.findings {
                @for p in problems {
                    @let (class, word) = if p.status == Status::Fail { ("error", "Error") } else { ("warning", "Warning") };
                    li class={ "finding " (class) } {
                        span.sev { (word) } " " span.check { (p.id) } " " span.msg { (p.message) }
                    }
                }
            }
        }
    }
}
