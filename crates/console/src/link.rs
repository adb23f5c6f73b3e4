//! `GET /console/signin/link?code=…`: a one-time sign-in link (printed by
//! `serve --dev`, see [`crate::signin_link`]) exchanged for a session, as the
//! admin token on the sign-in form would be. A used or expired code opens
//! nothing and says how to sign in instead.

use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use certbound_store::AuditResult;
use serde::Deserialize;

use super::session::{self, Auth};
use super::{BASE, Console, html, signin};
use certbound_server::Connection;

#[derive(Debug, Default, Deserialize)]
pub(super) struct LinkQuery {
    code: Option<String>,
}

/// GET /signin/link
pub(super) async fn redeem(
    State(c): State<Arc<Console>>,
    Query(q): Query<LinkQuery>,
    request: Request,
) -> Response {
    let conn = request.extensions().get::<Connection>();
    let code = q.code.unwrap_or_default();
    let valid = c
        .state
        .admin()
        .is_some_and(|a| !code.is_empty() && a.sign_in_links.redeem(&code));
    if !valid {
        signin::audit(
            &c,
            conn,
            AuditResult::Failure,
            "console sign-in with a one-time link",
            Some("the link was already used, has expired, or was never issued"),
        );
        return html::error_page(
            StatusCode::FORBIDDEN,
            "Link used or expired",
            "This sign-in link was already used or has expired (a link works once, for 10 minutes). \
             Sign in with the admin token at /console/signin, or restart `certbound serve --dev` for a new link.",
            None,
        );
    }
    let Some((id, _)) = c.sessions.create(Auth::Token) else {
        return super::internal("the random source failed");
    };
    let Some(cookie) = session::session_cookie(&id) else {
        return super::internal("the session cookie could not be made");
    };
    signin::audit(
        &c,
        conn,
        AuditResult::Success,
        "console sign-in with a one-time link",
        None,
    );
    let mut resp = html::redirect(&format!("{BASE}/clients"));
    resp.headers_mut().append(header::SET_COOKIE, cookie);
    resp
}
