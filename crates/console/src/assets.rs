//! The console's stylesheet and script, embedded in the binary: no build
//! step, no files to deploy. Their URLs carry a digest of their content, so
//! browsers may cache them for good and still see a new version at once.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::BASE;

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");
const ICON: &str = include_str!("assets/favicon.svg");

/// FNV-1a over the files: enough to tell versions apart.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let hash = CSS
        .bytes()
        .chain(JS.bytes())
        .chain(ICON.bytes())
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{hash:016x}")
});

pub(super) fn css_url() -> String {
    format!("{BASE}/assets/console.css?v={}", *VERSION)
}

pub(super) fn icon_url() -> String {
    format!("{BASE}/assets/favicon.svg?v={}", *VERSION)
}

pub(super) fn js_url() -> String {
    format!("{BASE}/assets/console.js?v={}", *VERSION)
}

/// GET /assets/{file}: public, no session needed.
pub(super) async fn serve(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        "favicon.svg" => (ICON, "image/svg+xml"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let mut resp = body.into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    resp
}
