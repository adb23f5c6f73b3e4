//! The web console at `/console`: ClientApplications and their certificate
//! trust stores managed in a browser, with each pasted certificate parsed
//! and checked before it is saved; the listeners; the audit trail.
//!
//! Server-rendered HTML with a small script for live diagnostics; the pages
//! work without it. The HTML comes from maud's `html!` templates: they are
//! Rust code checked by the compiler (a misspelt variable or an unclosed
//! element does not build), every interpolated value is escaped unless
//! wrapped in `PreEscaped` (which the console never does), and there are no
//! template files to ship or load. askama would check templates at compile
//! time too, from separate files; minijinja renders at run time, so a typo
//! shows only when the page is served. Everything is embedded in the binary. The console exists
//! only where the admin API does (404 otherwise) and changes clients through
//! the admin API's validation and store path, audited the same way.
//!
//! Security: sign-in with the admin token or an admin client certificate
//! opens a server-side session (cookie: HttpOnly, Secure, SameSite=Strict);
//! every POST must carry the session's CSRF token; every response sends a
//! strict Content-Security-Policy (no inline script or style), `nosniff`,
//! `no-referrer`, and pages are `no-store`.

#![warn(unreachable_pub)]

mod assets;
mod audit;
mod clients;
pub mod diagnose;
mod edit;
mod edit_view;
mod form;
mod html;
mod link;
mod listeners;
mod panel;
mod session;
mod signin;
mod try_it;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use certbound_store::{AuditResult, StoreError};

use certbound_server::Connection;
use certbound_server::json_response;
use certbound_server::mount::{Context, Mount};
use form::Form;
use session::{Auth, SESSION_COOKIE, SessionInfo, Sessions};

/// Where the console is mounted.
pub const BASE: &str = "/console";

/// The console, as the CLI mounts it on the server's listeners.
pub const MOUNT: Mount = Mount {
    prefix: BASE,
    router,
};

/// The Content-Security-Policy of every console response: only this
/// origin's script, style and images, no inline code, no framing. The
/// script's live diagnostics fetch from this origin (`connect-src 'self'`).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What console handlers share: the application and the sessions.
#[derive(Debug)]
struct Console {
    state: Context,
    sessions: Sessions,
}

/// The console's routes, under [`BASE`].
pub fn router(state: Context) -> Router {
    let console = Arc::new(Console {
        state,
        sessions: Sessions::default(),
    });
    let signed_in = Router::new()
        .route("/", get(root))
        .route("/clients", get(clients::list))
        .route("/clients/new", get(edit::new_form).post(edit::submit_new))
        .route(
            "/clients/{id}",
            get(edit::edit_form).post(edit::submit_edit),
        )
        .route(
            "/clients/{id}/delete",
            get(clients::confirm_delete).post(clients::delete),
        )
        .route("/listeners", get(listeners::page))
        .route("/audit", get(audit::page))
        .route("/api/diagnose", post(edit::diagnose_json))
        .route("/signout", post(signin::sign_out))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&console),
            require_session,
        ));
    let console = Router::new()
        .merge(signed_in)
        .route("/signin", get(signin::form).post(signin::submit))
        .route("/signin/link", get(link::redeem))
        .route("/assets/{file}", get(assets::serve))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(Arc::clone(&console), guard))
        .with_state(console);
    Router::new()
        .nest(BASE, console)
        // `/console/` is where people type it; the nested router only matches `/console`.
        .route(
            "/console/",
            get(|| async { axum::response::Redirect::permanent(BASE) }),
        )
}

async fn root() -> Response {
    html::redirect(&format!("{BASE}/clients"))
}

async fn not_found(request: Request) -> Response {
    let path = request.uri().path();
    let path = if path.starts_with(BASE) {
        path.to_string()
    } else {
        format!("{BASE}{path}")
    };
    html::error_page(
        StatusCode::NOT_FOUND,
        "Not found",
        &format!("The console has no page {path}."),
        request.extensions().get::<SessionInfo>(),
    )
}

/// 404 when the admin API is disabled; security headers on every answer.
async fn guard(State(c): State<Arc<Console>>, request: Request, next: Next) -> Response {
    if c.state.admin().is_none() {
        return certbound_server::not_found();
    }
    let mut resp = next.run(request).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// The `x5t#S256` of the connection's certificate when it is an admin
/// certificate presented in certbound's own TLS handshake.
fn admin_certificate(c: &Console, request: &Request) -> Option<String> {
    let admin = c.state.admin()?;
    let thumbprint = request
        .extensions()
        .get::<Connection>()?
        .0
        .tls_thumbprint()?;
    admin
        .cert_thumbprints
        .iter()
        .any(|a| certbound_oauth::claims::thumbprints_match(a, thumbprint))
        .then(|| thumbprint.to_string())
}

/// The live session the request's cookie names, if this connection may use it.
fn session_of(c: &Console, request: &Request) -> Option<SessionInfo> {
    let id = session::cookie(request.headers(), SESSION_COOKIE)?;
    let thumbprint = request
        .extensions()
        .get::<Connection>()
        .and_then(|conn| conn.0.tls_thumbprint());
    c.sessions.get(&id, thumbprint)
}

/// Open a session for a connection that presents an admin certificate: its
/// `Set-Cookie` and what pages need.
fn certificate_session(c: &Console, request: &Request) -> Option<(HeaderValue, SessionInfo)> {
    let thumbprint = admin_certificate(c, request)?;
    let (id, info) = c.sessions.create(Auth::Cert { thumbprint })?;
    signin::audit(
        c,
        request.extensions().get::<Connection>(),
        AuditResult::Success,
        "console sign-in with an admin certificate",
        None,
    );
    Some((session::session_cookie(&id)?, info))
}

/// Sign in a connection that presents an admin certificate, then go to `next`.
fn certificate_sign_in(c: &Console, request: &Request, next: &str) -> Option<Response> {
    let (cookie, _) = certificate_session(c, request)?;
    let mut resp = html::redirect(next);
    resp.headers_mut().append(header::SET_COOKIE, cookie);
    Some(resp)
}

/// Whether the browser says the request comes from this origin (Fetch
/// Metadata); requests without the header (older browsers, scripts) rely on
/// the CSRF token alone.
fn same_origin(headers: &HeaderMap) -> bool {
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        None => true,
        Some(site) => matches!(site, "same-origin" | "none"),
    }
}

/// Admit a signed-in request; check the CSRF token of every POST.
async fn require_session(State(c): State<Arc<Console>>, request: Request, next: Next) -> Response {
    let is_read = matches!(*request.method(), Method::GET | Method::HEAD);
    let mut set_cookie = None;
    let session = match (session_of(&c, &request), is_read) {
        (Some(s), _) => s,
        // An admin certificate signs in on the spot.
        (None, true) => match certificate_session(&c, &request) {
            Some((cookie, s)) => {
                set_cookie = Some(cookie);
                s
            }
            None => {
                let next = format!(
                    "{BASE}/signin?next={}",
                    html::url_encode(&console_path(&request))
                );
                return html::redirect(&next);
            }
        },
        (None, false) if console_path(&request).starts_with(&format!("{BASE}/api/")) => {
            return json_response(
                StatusCode::UNAUTHORIZED,
                r#"{"error":"unauthorized","error_description":"sign in to the console first"}"#
                    .into(),
            );
        }
        (None, false) => {
            return html::error_page(
                StatusCode::UNAUTHORIZED,
                "Signed out",
                "Your session has ended, so nothing was changed. Sign in again and repeat the change.",
                None,
            );
        }
    };
    let mut request = request;
    if !is_read {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, certbound_server::admin::MAX_ADMIN_BODY).await
        else {
            return html::error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too large",
                &format!(
                    "The form is larger than {} bytes.",
                    certbound_server::admin::MAX_ADMIN_BODY
                ),
                Some(&session),
            );
        };
        let form = Form::parse(&bytes).unwrap_or_default();
        let given = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| form.get("csrf"));
        if !same_origin(&parts.headers)
            || given.is_empty()
            || !session::tokens_match(given, &session.csrf)
        {
            tracing::warn!(path = %parts.uri.path(), "console: POST refused: missing or wrong CSRF token");
            return html::error_page(
                StatusCode::FORBIDDEN,
                "Refused",
                "This form did not come from your console session (its security token is missing or stale), so nothing \
                 was changed. Reload the page and try again.",
                Some(&session),
            );
        }
        request = Request::from_parts(parts, Body::from(bytes));
        request.extensions_mut().insert(form);
    }
    request.extensions_mut().insert(session);
    let mut resp = next.run(request).await;
    if let Some(cookie) = set_cookie {
        resp.headers_mut().append(header::SET_COOKIE, cookie);
    }
    resp
}

/// The request's path and query under the console (nesting strips the prefix).
fn console_path(request: &Request) -> String {
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    if path.starts_with(BASE) {
        path.to_string()
    } else {
        format!("{BASE}{path}")
    }
}

/// A generic 500 page; the cause goes to the log.
fn internal(cause: &str) -> Response {
    tracing::error!(cause, "console failure");
    html::error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Server error",
        "Something went wrong on the server; its log says what.",
        None,
    )
}

fn store_failed(e: &StoreError, s: &SessionInfo) -> Response {
    tracing::error!(error = %e, "console: store failure");
    html::error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Store unavailable",
        "The store failed; the server log says why. Nothing was changed.",
        Some(s),
    )
}

fn no_client(id: &str, s: &SessionInfo) -> Response {
    html::error_page(
        StatusCode::NOT_FOUND,
        "No such client",
        &format!("There is no client with the id `{id}` (it may have been deleted)."),
        Some(s),
    )
}
