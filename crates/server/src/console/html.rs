//! HTML building without a template engine: one escaping helper, [`esc`],
//! used for every interpolated value, and the page layout every console page
//! shares (title, skip link, navigation, sign-out form). Pages carry no inline
//! script or style, so the strict Content-Security-Policy holds.

use std::fmt::{self, Write as _};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::BASE;
use super::assets;
use super::session::SessionInfo;

/// Text made safe for HTML element content and quoted attribute values.
#[derive(Debug, Clone, Copy)]
pub struct Esc<'a>(pub &'a str);

/// Escape `s` for HTML: `&`, `<`, `>`, `"` and `'`.
pub fn esc(s: &str) -> Esc<'_> {
    Esc(s)
}

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..at])?;
            f.write_str(match rest.as_bytes()[at] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[at + 1..];
        }
        f.write_str(rest)
    }
}

/// Percent-encode `s` for a URL query value or path segment.
pub fn url_encode(s: &str) -> String {
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
pub enum Section {
    Clients,
    Listeners,
    Audit,
    /// Sign-in and error pages outside the navigation.
    None,
}

/// A whole page: the layout around `body`. `session` is `None` on the sign-in page.
pub fn page(title: &str, section: Section, session: Option<&SessionInfo>, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 2048);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} — certbound console</title>\n\
         <link rel=\"icon\" href=\"{}\" type=\"image/svg+xml\">\n\
         <link rel=\"stylesheet\" href=\"{}\">\n<script src=\"{}\" defer></script>\n</head>\n<body>\n\
         <a class=\"skip\" href=\"#main\">Skip to content</a>\n<header class=\"top\">\n\
         <p class=\"brand\"><a href=\"{BASE}/clients\">certbound console</a></p>\n",
        esc(title),
        esc(&assets::icon_url()),
        esc(&assets::css_url()),
        esc(&assets::js_url()),
    );
    if let Some(s) = session {
        out.push_str("<nav aria-label=\"Console\">\n<ul>\n");
        for (item, label, path) in [
            (Section::Clients, "Clients", "/clients"),
            (Section::Listeners, "Listeners", "/listeners"),
            (Section::Audit, "Audit", "/audit"),
        ] {
            let current = if item == section {
                " aria-current=\"page\""
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "<li><a href=\"{BASE}{path}\"{current}>{label}</a></li>"
            );
        }
        let _ = write!(
            out,
            "</ul>\n</nav>\n<form class=\"signout\" method=\"post\" action=\"{BASE}/signout\">\
             <span class=\"who\">{}</span> \
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\" class=\"link\">Sign out</button></form>\n",
            esc(&s.who),
            esc(&s.csrf),
        );
    }
    let _ = write!(
        out,
        "</header>\n<main id=\"main\" tabindex=\"-1\">\n{body}\n</main>\n</body>\n</html>\n"
    );
    out
}

/// An HTML response.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

/// `303 See Other` to a console path (after a POST, or to the sign-in page).
pub fn redirect(location: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// A page that says what went wrong and what to do.
pub fn error_page(
    status: StatusCode,
    title: &str,
    message: &str,
    session: Option<&SessionInfo>,
) -> Response {
    let body = format!(
        "<h1>{}</h1>\n<p>{}</p>\n<p><a href=\"{BASE}/clients\">Back to the clients</a></p>",
        esc(title),
        esc(message)
    );
    html(status, page(title, Section::None, session, &body))
}

/// A `<ul>` of messages, or nothing when there are none.
pub fn list(class: &str, items: &[String]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let mut out = format!("<ul class=\"{}\">", esc(class));
    for i in items {
        let _ = write!(out, "<li>{}</li>", esc(i));
    }
    out.push_str("</ul>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert('x') & \"y\"</script>").to_string(),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(esc("plain").to_string(), "plain");
        assert_eq!(esc("é<").to_string(), "é&lt;");
    }

    #[test]
    fn url_encodes_everything_but_unreserved() {
        assert_eq!(url_encode("a b/c?d=é"), "a%20b%2Fc%3Fd%3D%C3%A9");
    }
}
