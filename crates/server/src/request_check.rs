//! What every request must satisfy before anything routes it: a path with one
//! meaning, and a body framed one way.
//!
//! The path: certbound decides who may reach a path (its own endpoints, a
//! route's rules) and then forwards that path to an upstream, which may read
//! it differently — resolve `..`, decode `%2e` or `%2f`, take `\` for `/`,
//! merge `//`, drop `;params` as Tomcat does. `/api/../scoped/x` would be
//! admitted under `/api/`'s rules and served as `/scoped/x`. So a path that
//! another reader could resolve to another path is refused (400): a `.` or
//! `..` segment (also percent-encoded, also before a `;`), an encoded slash or
//! backslash, a backslash, an empty segment (`//`), an encoded NUL, a broken
//! escape. What remains is normalized as RFC 3986 §6.2.2 allows — escapes of
//! unreserved characters decoded (`%61` is `a`), other escapes in upper case —
//! and the request carries the normalized path from here on: routing, the
//! route's rules and the upstream all see the same one. Clients resolve dot
//! segments before sending (RFC 3986 §5.2.4), so only crafted requests are
//! refused.
//!
//! The body: hyper accepts any `Transfer-Encoding` whose last coding is
//! `chunked` (`gzip, chunked`, `chunked, chunked`, `identity, chunked`), and
//! decodes only the chunking. certbound neither decodes other codings nor
//! forwards the header (it frames bodies itself), so anything but a single
//! `chunked` is refused (400) rather than passed on meaning something else.

use std::borrow::Cow;

use axum::http::uri::PathAndQuery;
use axum::http::{Request, StatusCode, Uri};
use axum::response::Response;

use crate::reply::json_response;

/// Why a request is refused before routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    #[error(
        "the path holds a `.` or `..` segment (perhaps percent-encoded): send the path with dot segments resolved"
    )]
    DotSegment,
    #[error(
        "the path holds an encoded slash or backslash (%2F, %5C): encode the characters of a segment otherwise"
    )]
    EncodedSlash,
    #[error("the path holds a backslash: use `/` between segments, %5C is refused too")]
    Backslash,
    #[error("the path holds an empty segment (`//`): remove the extra slash")]
    EmptySegment,
    #[error("the path holds an encoded NUL (%00)")]
    Nul,
    #[error("the path holds a `%` not followed by two hex digits: write `%` as %25")]
    BadEscape,
    #[error("Transfer-Encoding must be `chunked` alone: other transfer codings are not accepted")]
    TransferEncoding,
}

impl Refusal {
    /// A short name for logs.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Refusal::DotSegment => "dot_segment",
            Refusal::EncodedSlash => "encoded_slash",
            Refusal::Backslash => "backslash",
            Refusal::EmptySegment => "empty_segment",
            Refusal::Nul => "encoded_nul",
            Refusal::BadEscape => "bad_escape",
            Refusal::TransferEncoding => "transfer_encoding",
        }
    }

    /// The 400 the client gets.
    pub(crate) fn response(self) -> Response {
        json_response(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": "invalid_request", "error_description": self.to_string()})
                .to_string(),
        )
    }
}

/// Check `request` and give it its normalized path; the refusal otherwise.
pub(crate) fn check<B>(request: &mut Request<B>) -> Result<(), Refusal> {
    check_transfer_encoding(request.headers())?;
    let path = request.uri().path();
    if let Cow::Owned(normalized) = normalize(path)? {
        let rebuilt = match request.uri().query() {
            Some(q) => format!("{normalized}?{q}"),
            None => normalized,
        };
        // Made only of the characters of a valid path, the query untouched: it parses.
        let Ok(path_and_query) = rebuilt.parse::<PathAndQuery>() else {
            return Err(Refusal::BadEscape);
        };
        let mut parts = request.uri().clone().into_parts();
        parts.path_and_query = Some(path_and_query);
        *request.uri_mut() = Uri::from_parts(parts).map_err(|_| Refusal::BadEscape)?;
    }
    Ok(())
}

/// One `Transfer-Encoding` line whose value is `chunked`, or none.
fn check_transfer_encoding(headers: &axum::http::HeaderMap) -> Result<(), Refusal> {
    if certbound_tls::http::single_chunked(headers) {
        Ok(())
    } else {
        Err(Refusal::TransferEncoding)
    }
}

/// Whether a byte is an RFC 3986 unreserved character.
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// The path in normal form (borrowed when it already is), or why it has none.
/// A path that is not absolute (`*`) is left as it is.
pub(crate) fn normalize(path: &str) -> Result<Cow<'_, str>, Refusal> {
    if !path.starts_with('/') {
        return Ok(Cow::Borrowed(path));
    }
    // Most paths: no escape, no backslash, and no segment that starts with `.`, `/` or `;`.
    let bytes = path.as_bytes();
    let suspect = bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            || b == b'\\'
            || (b == b'/' && matches!(bytes.get(i + 1), Some(b'.' | b'/' | b';')))
    });
    if !suspect {
        return Ok(Cow::Borrowed(path));
    }
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => return Err(Refusal::Backslash),
            b'%' => {
                let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
                let (Some(hi), Some(lo)) = (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) else {
                    return Err(Refusal::BadEscape);
                };
                let decoded = (hi * 16 + lo) as u8;
                match decoded {
                    b'/' | b'\\' => return Err(Refusal::EncodedSlash),
                    0 => return Err(Refusal::Nul),
                    b if unreserved(b) => out.push(b as char),
                    b => out.push_str(&format!("%{b:02X}")),
                }
                i += 3;
            }
            b => {
                out.push(b as char);
                i += 1;
            }
        }
    }
    let segments: Vec<&str> = out[1..].split('/').collect();
    for (n, segment) in segments.iter().enumerate() {
        if segment.is_empty() && n + 1 == segments.len() {
            break; // a trailing slash
        }
        // Tomcat and others drop `;params` before resolving dot segments.
        let name = segment.split(';').next().unwrap_or_default();
        match name {
            "." | ".." => return Err(Refusal::DotSegment),
            "" => return Err(Refusal::EmptySegment),
            _ => {}
        }
    }
    if out == path {
        return Ok(Cow::Borrowed(path));
    }
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_one_meaning_pass_and_are_normalized() {
        for path in [
            "/",
            "/api/items",
            "/api/items/",
            "/api/.well-known",
            "/api/..x",
            "/api/x..",
            "/a;b=c/d",
            "/api/%20x",
            "*",
        ] {
            assert_eq!(normalize(path), Ok(Cow::Borrowed(path)), "{path}");
        }
        assert_eq!(normalize("/%61pi/x").unwrap(), "/api/x");
        assert_eq!(normalize("/api/%7e%2D").unwrap(), "/api/~-");
        assert_eq!(normalize("/api/%3a%3A").unwrap(), "/api/%3A%3A");
        assert_eq!(normalize("/api/%2e%2ex").unwrap(), "/api/..x");
    }

    #[test]
    fn paths_another_reader_could_resolve_elsewhere_are_refused() {
        for (path, refusal) in [
            ("/api/../scoped/x", Refusal::DotSegment),
            ("/api/..", Refusal::DotSegment),
            ("/api/./x", Refusal::DotSegment),
            ("/api/./../scoped", Refusal::DotSegment),
            ("/api/%2e%2e/scoped/x", Refusal::DotSegment),
            ("/api/%2E%2e/scoped/x", Refusal::DotSegment),
            ("/api/.%2e/scoped/x", Refusal::DotSegment),
            ("/api/%2e/x", Refusal::DotSegment),
            ("/api/..;/scoped/x", Refusal::DotSegment),
            ("/api/..;x=1/scoped", Refusal::DotSegment),
            ("/..", Refusal::DotSegment),
            ("/api/%2fscoped", Refusal::EncodedSlash),
            ("/api%2F..%2Fscoped", Refusal::EncodedSlash),
            ("/api/%5c..%5cscoped", Refusal::EncodedSlash),
            ("/api\\..\\scoped", Refusal::Backslash),
            ("//scoped/x", Refusal::EmptySegment),
            ("/api//x", Refusal::EmptySegment),
            ("/api/;/x", Refusal::EmptySegment),
            ("/api/%00", Refusal::Nul),
            ("/api/%", Refusal::BadEscape),
            ("/api/%2", Refusal::BadEscape),
            ("/api/%zz", Refusal::BadEscape),
        ] {
            assert_eq!(normalize(path), Err(refusal), "{path}");
        }
    }

    #[test]
    fn check_rewrites_the_uri_and_keeps_the_query() {
        let mut request = Request::get("/%61pi/x?a=%2e%2e/b").body(()).unwrap();
        check(&mut request).unwrap();
        assert_eq!(request.uri(), "/api/x?a=%2e%2e/b");
        let mut request = Request::get("https://h/%61pi").body(()).unwrap();
        check(&mut request).unwrap();
        assert_eq!(request.uri(), "https://h/api");
    }

    #[test]
    fn only_a_single_chunked_transfer_encoding_passes() {
        for (values, ok) in [
            (&[][..], true),
            (&["chunked"][..], true),
            (&["Chunked "][..], true),
            (&["gzip, chunked"][..], false),
            (&["chunked, chunked"][..], false),
            (&["identity, chunked"][..], false),
            (&["gzip", "chunked"][..], false),
        ] {
            let mut builder = Request::post("/");
            for v in values {
                builder = builder.header("transfer-encoding", *v);
            }
            let mut request = builder.body(()).unwrap();
            assert_eq!(check(&mut request).is_ok(), ok, "{values:?}");
        }
    }
}
