//! Signing in and out. The admin token is typed into a form, compared in
//! constant time, and exchanged for a session; it is never put in a page or
//! a cookie. The sign-in form itself is protected against cross-site posts by
//! a double-submit token (a cookie and a hidden field). A connection that
//! presents an admin client certificate is signed in without a form.

use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use certbound_store::{AuditEvent, AuditResult};
use maud::html;
use serde::Deserialize;

use super::form::Form;
use super::html::{self, Section};
use super::session::{self, Auth, SESSION_COOKIE, SIGNIN_COOKIE};
use super::{BASE, Console};
use certbound_server::Connection;

/// Largest sign-in form accepted.
const MAX_SIGNIN_BODY: usize = 16 * 1024;

/// Where to go after signing in: a console path, never another site.
pub(super) fn safe_next(next: &str) -> String {
    let ok = next.starts_with(&format!("{BASE}/"))
        && !next.contains("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && !next.starts_with(&format!("{BASE}/signin"));
    if ok {
        next.to_string()
    } else {
        format!("{BASE}/clients")
    }
}

/// Record a sign-in attempt in the audit trail.
pub(super) fn audit(
    c: &Console,
    request_conn: Option<&Connection>,
    result: AuditResult,
    detail: &str,
    reason: Option<&str>,
) {
    let mut event = AuditEvent::new("admin", result);
    if let Some(conn) = request_conn {
        event.peer = Some(conn.0.peer.to_string());
        event.listener = Some(conn.0.listener.to_string());
        event.thumbprint = conn.0.tls_thumbprint().map(str::to_string);
        event.subject = conn.0.tls_thumbprint().and_then(|_| conn.0.subject());
    }
    event.detail = Some(detail.to_string());
    event.reason = reason.map(str::to_string);
    c.state.audit(event);
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct SigninQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

/// GET /signin
pub(super) async fn form(
    State(c): State<Arc<Console>>,
    Query(q): Query<SigninQuery>,
    request: Request,
) -> Response {
    let next = safe_next(q.next.as_deref().unwrap_or(""));
    if super::session_of(&c, &request).is_some() {
        return html::redirect(&next);
    }
    if let Some(resp) = super::certificate_sign_in(&c, &request, &next) {
        return resp;
    }
    let notice = q.signed_out.is_some().then_some("You are signed out.");
    render(&c, &request, &next, notice, None, StatusCode::OK)
}

fn render(
    c: &Console,
    request: &Request,
    next: &str,
    notice: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let Some(token) = session::random_token() else {
        return super::internal("the random source failed");
    };
    let listener = request
        .extensions()
        .get::<Connection>()
        .map(|conn| conn.0.listener.clone());
    let plain = listener.is_some_and(|name| {
        c.state
            .listeners()
            .iter()
            .any(|(b, l)| l.name == *name && !b.tls)
    });
    let token_enabled = c.state.admin().is_some_and(|a| a.token.is_some());
    let b = html! {
        h1 { "Sign in" }
        @if let Some(n) = notice { div.flash role="status" { (n) } }
        @if let Some(e) = error {
            div.summary.error.error-summary #error-summary tabindex="-1" role="alert" { p { (e) } }
        }
        @if plain {
            p.note {
                "This listener speaks plain HTTP. The console's session cookie is " code { "Secure" }
                ", so signing in works only through an HTTPS proxy in front of it, or on a TLS listener."
            }
        }
        @if token_enabled {
            p {
                "Sign in with the admin token: the content of the file named by " code { "[admin] token_file" }
                " (or of the variable named by " code { "token_env" } ") in the server's config. A browser that \
                 presents an admin client certificate is signed in without this form."
            }
            form.signin method="post" action={ (BASE) "/signin" } {
                input type="hidden" name="csrf" value=(token);
                input type="hidden" name="next" value=(next);
                input type="text" name="username" value="admin" autocomplete="username" hidden;
                div.field {
                    label for="f-token" { "Admin token" }
                    input type="password" id="f-token" name="token" required autocomplete="current-password" spellcheck="false";
                }
                div.actions { button type="submit" { "Sign in" } }
            }
        } @else {
            p {
                "This server's console accepts only admin client certificates (" code { "[admin] client_certs" }
                "), and this connection presented none. Open the console on a listener that asks for client \
                 certificates (" code { "client_auth = \"optional\"" } ") with an admin certificate installed in the browser."
            }
        }
    };
    let mut resp = html::html(status, html::page("Sign in", Section::None, None, b));
    if let Some(v) = session::signin_cookie(&token) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// POST /signin
pub(super) async fn submit(State(c): State<Arc<Console>>, request: Request) -> Response {
    let conn = request.extensions().get::<Connection>().cloned();
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_SIGNIN_BODY).await else {
        return html::error_page(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too large",
            "The sign-in form is too large.",
            None,
        );
    };
    let request = Request::from_parts(parts, axum::body::Body::empty());
    let f = Form::parse(&bytes).unwrap_or_default();
    let next = safe_next(f.get("next"));
    let expected_form = session::cookie(request.headers(), SIGNIN_COOKIE);
    let form_ok = super::same_origin(request.headers())
        && expected_form
            .as_deref()
            .is_some_and(|t| !t.is_empty() && session::tokens_match(f.get("csrf"), t));
    if !form_ok {
        return render(
            &c,
            &request,
            &next,
            None,
            Some(
                "The sign-in form expired or did not come from this console. Type the token again.",
            ),
            StatusCode::FORBIDDEN,
        );
    }
    let expected = c.state.admin().and_then(|a| a.token.as_deref());
    let given = f.get("token").trim();
    if !expected.is_some_and(|t| !given.is_empty() && session::tokens_match(given, t)) {
        tracing::warn!(peer = ?conn.as_ref().map(|c| c.0.peer), "console: wrong admin token at sign-in");
        audit(
            &c,
            conn.as_ref(),
            AuditResult::Failure,
            "console sign-in",
            Some("wrong admin token"),
        );
        return render(
            &c,
            &request,
            &next,
            None,
            Some("That is not the admin token."),
            StatusCode::UNAUTHORIZED,
        );
    }
    let Some((id, _)) = c.sessions.create(Auth::Token) else {
        return super::internal("cannot open a session");
    };
    audit(
        &c,
        conn.as_ref(),
        AuditResult::Success,
        "console sign-in with the admin token",
        None,
    );
    let mut resp = html::redirect(&next);
    for v in [
        session::session_cookie(&id),
        session::clear_cookie(SIGNIN_COOKIE, &format!("{BASE}/signin")),
    ]
    .into_iter()
    .flatten()
    {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// POST /signout (CSRF checked by the session layer).
pub(super) async fn sign_out(State(c): State<Arc<Console>>, request: Request) -> Response {
    if let Some(id) = session::cookie(request.headers(), SESSION_COOKIE) {
        c.sessions.remove(&id);
    }
    let mut resp = html::redirect(&format!("{BASE}/signin?signed_out=1"));
    if let Some(v) = session::clear_cookie(SESSION_COOKIE, BASE) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}
