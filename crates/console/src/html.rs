//! The page layout every console page shares (title, skip link, navigation,
//! sign-out form) and the responses built from it. Markup comes from
//! [maud]'s `html!` templates, which escape every interpolated value: text
//! can only reach a page as markup through `PreEscaped`, which no console
//! code uses. Pages carry no inline script or style, so the strict
//! Content-Security-Policy holds.

use std::fmt::Write as _;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::BASE;
use super::assets;
use super::session::SessionInfo;

/// Percent-encode `s` for a URL query value or path segment (the template
/// then escapes the URL for its attribute).
pub(super) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The sections of the console, for the navigation bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    Clients,
    Listeners,
    Audit,
    /// Sign-in and error pages outside the navigation.
    None,
}

/// A whole page: the layout around `body`. `session` is `None` on the sign-in page.
pub(super) fn page(
    title: &str,
    section: Section,
    session: Option<&SessionInfo>,
    body: Markup,
) -> Markup {
    let nav = [
        (Section::Clients, "Clients", "/clients"),
        (Section::Listeners, "Listeners", "/listeners"),
        (Section::Audit, "Audit", "/audit"),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — certbound console" }
                link rel="icon" href=(assets::icon_url()) type="image/svg+xml";
                link rel="stylesheet" href=(assets::css_url());
                script src=(assets::js_url()) defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    p.brand { a href={ (BASE) "/clients" } { "certbound console" } }
                    @if let Some(s) = session {
                        nav aria-label="Console" {
                            ul {
                                @for (item, label, path) in nav {
                                    li {
                                        a href={ (BASE) (path) }
                                            aria-current=[(item == section).then_some("page")] { (label) }
                                    }
                                }
                            }
                        }
                        form.signout method="post" action={ (BASE) "/signout" } {
                            span.who { (s.who) } " "
                            input type="hidden" name="csrf" value=(s.csrf);
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" { (body) }
            }
        }
    }
}

/// An HTML response.
pub(super) fn html(status: StatusCode, body: Markup) -> Response {
    let mut resp = (status, body.into_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

/// `303 See Other` to a console path (after a POST, or to the sign-in page).
pub(super) fn redirect(location: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// A page that says what went wrong and what to do.
pub(super) fn error_page(
    status: StatusCode,
    title: &str,
    message: &str,
    session: Option<&SessionInfo>,
) -> Response {
    let body = html! {
        h1 { (title) }
        p { (message) }
        p { a href={ (BASE) "/clients" } { "Back to the clients" } }
    };
    html(status, page(title, Section::None, session, body))
}

/// `s` in `"` quotes when it would not read as one word in a shell.
pub(super) fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._/:=@%+,".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_escape_markup_and_quotes() {
        let hostile = "<script>alert('x') & \"y\"</script>";
        let out = html! { p title=(hostile) { (hostile) } }.into_string();
        assert_eq!(
            out,
            "<p title=\"&lt;script&gt;alert('x') &amp; &quot;y&quot;&lt;/script&gt;\">\
             &lt;script&gt;alert('x') &amp; &quot;y&quot;&lt;/script&gt;</p>"
        );
    }

    #[test]
    fn url_encodes_everything_but_unreserved() {
        assert_eq!(url_encode("a b/c?d=é"), "a%20b%2Fc%3Fd%3D%C3%A9");
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_word("partner-1"), "partner-1");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word("$(x)"), "'$(x)'");
    }
}
