//! `/fhir/R4/ClientApplication`: the admin API as a FHIR R4 REST endpoint,
//! for teams whose tooling speaks FHIR to the platform they come from.
//!
//! The same handlers, the same authorization (the admin token or an admin
//! client certificate) and the same validation serve both; this layer only
//! speaks FHIR on the way out: `application/fhir+json`, `Location` as
//! `[base]/ClientApplication/[id]/_history/[vid]`, and every error as an
//! `OperationOutcome` whose issues name the failing field (`expression`).
//! Create (`POST`), read, update (`PUT`, `If-Match: W/"vid"`), delete and
//! search by name (`GET ?name=`) are supported; `meta.versionId` and the
//! `ETag` carry the version.

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::state::AppState;

/// Where the endpoint is mounted.
pub(crate) const BASE: &str = "/fhir/R4";
/// The FHIR JSON media type.
pub(crate) const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";
/// Largest error body rewritten (admin errors are a few hundred bytes).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The FHIR routes: the admin routes with FHIR responses.
pub(crate) fn router(state: Arc<AppState>) -> Router<Arc<AppState>> {
    crate::admin::router(state).layer(axum::middleware::map_response(to_fhir))
}

async fn to_fhir(response: Response) -> Response {
    let status = response.status();
    let (mut parts, body) = response.into_parts();
    if let Some(location) = parts
        .headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
    {
        let version = parts
            .headers
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("W/\"")?.strip_suffix('"'))
            .map(str::to_owned);
        let rewritten = location.strip_prefix("/admin").map(|rest| match &version {
            Some(v) => format!("{BASE}{rest}/_history/{v}"),
            None => format!("{BASE}{rest}"),
        });
        if let Some(value) = rewritten.and_then(|l| HeaderValue::from_str(&l).ok()) {
            parts.headers.insert(header::LOCATION, value);
        }
    }
    if status == StatusCode::NO_CONTENT {
        return Response::from_parts(parts, body);
    }
    if status.is_success() {
        parts
            .headers
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
        return Response::from_parts(parts, body);
    }
    let bytes = axum::body::to_bytes(body, MAX_ERROR_BODY)
        .await
        .unwrap_or_default();
    let error: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let outcome = operation_outcome(status, &error);
    let mut response = (status, outcome.to_string()).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    response
}

/// An admin error body (`error`, `error_description`, `errors[]` of
/// `{field, message}`) as a FHIR `OperationOutcome`: one issue per field, or
/// one for the whole request.
fn operation_outcome(status: StatusCode, error: &Value) -> Value {
    let code = match status {
        StatusCode::UNAUTHORIZED => "login",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::CONFLICT | StatusCode::PRECONDITION_FAILED => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "too-long",
        StatusCode::METHOD_NOT_ALLOWED => "not-supported",
        s if s.is_server_error() => "exception",
        _ => "invalid",
    };
    let description = error
        .get("error_description")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("the request failed")
                .to_owned()
        });
    let fields = error
        .get("errors")
        .and_then(Value::as_array)
        .filter(|f| !f.is_empty());
    let issues: Vec<Value> = match fields {
        Some(fields) => fields
            .iter()
            .map(|f| {
                json!({
                    "severity": "error",
                    "code": code,
                    "diagnostics": f.get("message").and_then(Value::as_str).unwrap_or_default(),
                    "expression": [format!(
                        "ClientApplication.{}",
                        f.get("field").and_then(Value::as_str).unwrap_or_default()
                    )],
                })
            })
            .collect(),
        None => vec![json!({"severity": "error", "code": code, "diagnostics": description})],
    };
    json!({"resourceType": "OperationOutcome", "issue": issues})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_become_one_issue_each() {
        let error = json!({
            "error": "invalid_request",
            "error_description": "name: is required; status: must be ...",
            "errors": [
                {"field": "name", "message": "is required"},
                {"field": "status", "message": "must be \"active\", \"off\" or \"error\""},
            ],
        });
        let outcome = operation_outcome(StatusCode::BAD_REQUEST, &error);
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        assert_eq!(outcome["issue"].as_array().map(Vec::len), Some(2));
        assert_eq!(outcome["issue"][1]["code"], "invalid");
        assert_eq!(
            outcome["issue"][1]["expression"][0],
            "ClientApplication.status"
        );
    }

    #[test]
    fn other_errors_keep_their_description() {
        let error = json!({"error": "not_found", "error_description": "no client `x`"});
        let outcome = operation_outcome(StatusCode::NOT_FOUND, &error);
        assert_eq!(outcome["issue"][0]["code"], "not-found");
        assert_eq!(outcome["issue"][0]["diagnostics"], "no client `x`");
        let empty = operation_outcome(StatusCode::METHOD_NOT_ALLOWED, &Value::Null);
        assert_eq!(empty["issue"][0]["code"], "not-supported");
        assert_eq!(empty["issue"][0]["diagnostics"], "Method Not Allowed");
    }
}
