//! The admin API: `/admin/ClientApplication` in the shape FHIR platforms use
//! for this resource, so an existing registration posts unchanged. Create,
//! list (`?name=`), read, replace, delete; every problem in a posted client is
//! reported at once, field by field; warnings (an expired certificate, a CA
//! without a subject constraint) come back with the saved resource.
//!
//! Access needs the admin bearer token, or an admin client certificate
//! presented in the TLS handshake. Missing credentials get 401, wrong ones 403.
//! Every change is recorded in the audit trail and reaches the registry of
//! this instance at once and of other instances through the store.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use certbound_oauth::client::{ClientApplication, FieldError, RESOURCE_TYPE, valid_id};
use certbound_store::{AuditEvent, AuditResult, ClientRecord, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::identity::Connection;
use crate::reply::json_response;
use crate::state::AppState;

/// Largest admin request body.
pub const MAX_ADMIN_BODY: usize = 1024 * 1024;
/// Shortest client secret accepted.
pub const MIN_SECRET_LEN: usize = 16;
/// Realm of the admin challenge.
pub const ADMIN_REALM: &str = "certbound-admin";

/// The admin routes, behind the admin check.
pub fn router(state: Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .route("/ClientApplication", get(list).post(create))
        .route(
            "/ClientApplication/{id}",
            get(read).put(replace).delete(remove),
        )
        .route_layer(middleware::from_fn_with_state(state, require_admin))
}

/// An admin API error: a status and an RFC 6749-style JSON body.
#[derive(Debug)]
pub struct AdminError {
    pub status: StatusCode,
    error: &'static str,
    pub description: String,
    /// The fields at fault, when the document's are.
    pub fields: Vec<FieldError>,
}

impl AdminError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            fields: Vec::new(),
        }
    }

    fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    fn store(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { id } => Self::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no client `{id}`"),
            ),
            StoreError::AlreadyExists { id } => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("a client `{id}` exists already: PUT to replace it"),
            ),
            other => {
                tracing::error!(error = %other, "admin API store failure");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "the store failed; see the server log",
                )
            }
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": self.error, "error_description": self.description});
        if !self.fields.is_empty() {
            body["errors"] = json!(self.fields);
        }
        let mut resp = json_response(self.status, body.to_string());
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"certbound-admin\""),
            );
        }
        resp
    }
}

/// Admit the admin bearer token or an admin client certificate.
async fn require_admin(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(admin) = &state.admin else {
        return AdminError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "the admin API is disabled",
        )
        .into_response();
    };
    let by_cert = request
        .extensions()
        .get::<Connection>()
        .and_then(|c| c.0.tls_thumbprint())
        .is_some_and(|t| {
            admin
                .cert_thumbprints
                .iter()
                .any(|a| certbound_oauth::claims::thumbprints_match(a, t))
        });
    if by_cert {
        return next.run(request).await;
    }
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    match (bearer, &admin.token) {
        (None, _) => AdminError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "admin credentials are required: send Authorization: Bearer <admin token> or an admin client certificate",
        )
        .into_response(),
        (Some(given), Some(token)) if constant_time_eq(given.as_bytes(), token.as_bytes()) => next.run(request).await,
        (Some(_), _) => {
            tracing::warn!(peer = ?request.extensions().get::<Connection>().map(|c| c.0.peer), "admin API: wrong admin token");
            AdminError::new(StatusCode::FORBIDDEN, "forbidden", "the admin token is not valid").into_response()
        }
    }
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    name: Option<String>,
}

async fn list(
    State(state): State<Arc<AppState>>,
    Query(q): Query<ListQuery>,
) -> Result<Response, AdminError> {
    let records = state
        .store
        .list_clients(q.name.as_deref())
        .await
        .map_err(AdminError::store)?;
    let entries: Vec<Value> = records
        .iter()
        .map(|r| json!({"resource": public_view(r, &[])}))
        .collect();
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": entries.len(),
        "entry": entries,
    });
    Ok(json_response(StatusCode::OK, bundle.to_string()))
}

async fn read(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    match state
        .store
        .get_client(&id)
        .await
        .map_err(AdminError::store)?
    {
        Some(r) => Ok(with_etag(
            json_response(StatusCode::OK, public_view(&r, &[]).to_string()),
            &r,
        )),
        None => Err(AdminError::store(StoreError::NotFound { id })),
    }
}

async fn create(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, AdminError> {
    let actor = actor(&request);
    let doc = read_json(request.into_body()).await?;
    let (app, warnings) = prepare(&state, doc, None, None).await?;
    let id = app.id.clone().unwrap_or_default();
    let document =
        serde_json::to_value(&app).map_err(|e| AdminError::bad_request(e.to_string()))?;
    let record = state
        .store
        .create_client(&id, &app.name, &document)
        .await
        .map_err(AdminError::store)?;
    changed(&state, &actor, format!("created client {id}")).await;
    let mut resp = with_etag(
        json_response(
            StatusCode::CREATED,
            public_view(&record, &warnings).to_string(),
        ),
        &record,
    );
    if let Ok(loc) = HeaderValue::from_str(&format!("/admin/ClientApplication/{id}")) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

async fn replace(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, AdminError> {
    let actor = actor(&request);
    let if_match = if_match(request.headers())?;
    let doc = read_json(request.into_body()).await?;
    if let Some(body_id) = doc.get("id").and_then(Value::as_str).filter(|b| *b != id) {
        return Err(AdminError::bad_request(format!(
            "the body's id `{body_id}` differs from the URL's `{id}`"
        )));
    }
    let existing = state
        .store
        .get_client(&id)
        .await
        .map_err(AdminError::store)?
        .ok_or_else(|| AdminError::store(StoreError::NotFound { id: id.clone() }))?;
    if let Some(expected) = if_match.filter(|v| *v != existing.version) {
        return Err(precondition_failed(&id, expected, existing.version));
    }
    let (app, warnings) = prepare(&state, doc, Some(&id), Some(&existing)).await?;
    let document =
        serde_json::to_value(&app).map_err(|e| AdminError::bad_request(e.to_string()))?;
    // Written only over the version read above (whose secret it may keep):
    // a change in between is a conflict, never silently overwritten.
    let record = match state
        .store
        .update_client(&id, &app.name, &document, Some(existing.version))
        .await
    {
        Ok(record) => record,
        Err(StoreError::VersionMismatch {
            expected, current, ..
        }) => {
            return Err(match if_match {
                Some(_) => precondition_failed(&id, expected, current),
                None => AdminError::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    format!(
                        "client `{id}` changed while this request was processed (now version {current}): send it again"
                    ),
                ),
            });
        }
        Err(e) => return Err(AdminError::store(e)),
    };
    changed(&state, &actor, format!("replaced client {id}")).await;
    Ok(with_etag(
        json_response(StatusCode::OK, public_view(&record, &warnings).to_string()),
        &record,
    ))
}

/// The version an `If-Match` header names (`W/"3"`, `"3"`), when there is
/// one: a PUT then replaces only that version.
fn if_match(headers: &axum::http::HeaderMap) -> Result<Option<i64>, AdminError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(str::trim)
        .map(|v| v.strip_prefix("W/").unwrap_or(v))
        .and_then(|v| v.strip_prefix('"')?.strip_suffix('"'))
        .and_then(|v| v.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| {
            AdminError::bad_request(
                "If-Match must name one version as an entity tag, e.g. W/\"3\" (the ETag a GET returned)",
            )
        })
}

fn precondition_failed(id: &str, expected: i64, current: i64) -> AdminError {
    AdminError::new(
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
        format!(
            "client `{id}` is at version {current}, not {expected} (If-Match): someone changed it; GET it again and reapply your change"
        ),
    )
}

/// The record's version as a weak entity tag, the FHIR way.
fn with_etag(mut resp: Response, record: &ClientRecord) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("W/\"{}\"", record.version)) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

async fn remove(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, AdminError> {
    let actor = actor(&request);
    if !state
        .store
        .delete_client(&id)
        .await
        .map_err(AdminError::store)?
    {
        return Err(AdminError::store(StoreError::NotFound { id }));
    }
    changed(&state, &actor, format!("deleted client {id}")).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Who made an admin call, for the audit record.
pub(crate) struct Actor {
    peer: Option<String>,
    listener: Option<String>,
    thumbprint: Option<String>,
}

pub(crate) fn actor(request: &Request) -> Actor {
    let conn = request.extensions().get::<Connection>();
    Actor {
        peer: conn.map(|c| c.0.peer.to_string()),
        listener: conn.map(|c| c.0.listener.to_string()),
        thumbprint: conn.and_then(|c| c.0.thumbprint.clone()),
    }
}

/// Record an admin change and make this instance see it at once (the
/// client named last in `detail` is read again).
pub(crate) async fn changed(state: &AppState, actor: &Actor, detail: String) {
    let mut event = AuditEvent::new("admin", AuditResult::Success);
    event.peer = actor.peer.clone();
    event.listener = actor.listener.clone();
    event.thumbprint = actor.thumbprint.clone();
    let id = detail.rsplit(' ').next().unwrap_or_default().to_owned();
    event.client_id = Some(id.clone());
    event.detail = Some(detail);
    state.audit.record(event);
    if let Err(e) = state.registry.refresh(&id).await {
        tracing::warn!(error = %e, "registry refresh after an admin change failed; the watcher will retry");
    }
}

/// A JSON document in which no object names a key twice. serde_json keeps
/// the last of repeated keys; a body such as `{"scope":"a","scope":"b"}`
/// means different things to different parsers, so it is refused.
struct UniqueKeys(Value);

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueKeysVisitor).map(UniqueKeys)
    }
}

struct UniqueKeysVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueKeysVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueKeys(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let UniqueKeys(value) = map.next_value()?;
            if object.insert(key.clone(), value).is_some() {
                return Err(serde::de::Error::custom(format!(
                    "the key \"{key}\" appears twice in one object"
                )));
            }
        }
        Ok(Value::Object(object))
    }
}

async fn read_json(body: Body) -> Result<Value, AdminError> {
    let bytes = axum::body::to_bytes(body, MAX_ADMIN_BODY)
        .await
        .map_err(|_| {
            AdminError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                format!("the body is larger than {MAX_ADMIN_BODY} bytes"),
            )
        })?;
    let value = serde_json::from_slice::<UniqueKeys>(&bytes)
        .map_err(|e| AdminError::bad_request(format!("the body is not JSON: {e}")))?
        .0;
    if !value.is_object() {
        return Err(AdminError::bad_request(
            "the body must be a JSON object (a ClientApplication)",
        ));
    }
    Ok(value)
}

/// Turn a posted document into a validated client ready to store.
pub(crate) async fn prepare(
    state: &AppState,
    mut doc: Value,
    path_id: Option<&str>,
    existing: Option<&ClientRecord>,
) -> Result<(ClientApplication, Vec<String>), AdminError> {
    let obj = doc
        .as_object_mut()
        .ok_or_else(|| AdminError::bad_request("the body must be a JSON object"))?;
    // Server-managed fields are never taken from the client.
    obj.remove("warnings");
    obj.remove("meta");
    obj.remove("hasSecret");
    if obj.contains_key("client_secret_hash") {
        return Err(AdminError::bad_request(
            "client_secret_hash cannot be set: send `secret` and the server stores its hash",
        ));
    }
    // `"secret": null` removes a stored secret; leaving it out keeps it.
    let drop_secret = matches!(obj.get("secret"), Some(Value::Null));
    let secret = match obj.remove("secret") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() >= MIN_SECRET_LEN => Some(s),
        Some(_) => {
            return Err(AdminError::bad_request(format!(
                "secret must be a string of at least {MIN_SECRET_LEN} characters"
            )));
        }
    };
    let wrong_types = ClientApplication::type_errors(obj);
    if !wrong_types.is_empty() {
        let mut err = AdminError::bad_request(
            wrong_types
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; "),
        );
        err.fields = wrong_types;
        return Err(err);
    }
    let mut app: ClientApplication = serde_json::from_value(doc)
        .map_err(|e| AdminError::bad_request(format!("not a ClientApplication: {e}")))?;
    match (path_id, &app.id) {
        (Some(p), Some(body)) if p != body => {
            return Err(AdminError::bad_request(format!(
                "the body's id `{body}` differs from the URL's `{p}`"
            )));
        }
        (Some(p), _) => app.id = Some(p.to_string()),
        (None, None) => app.id = Some(uuid::Uuid::new_v4().to_string()),
        (None, Some(_)) => {}
    }
    if let Some(id) = &app.id {
        if !valid_id(id) {
            return Err(field_error(
                "id",
                "must be 1 to 64 characters of A-Z, a-z, 0-9, '-' and '.', and not '.' or '..'",
            ));
        }
    }
    app.client_secret_hash = match secret {
        Some(s) => Some(
            tokio::task::spawn_blocking(move || certbound_oauth::secret::hash_secret(&s))
                .await
                .map_err(|e| AdminError::bad_request(e.to_string()))?
                .map_err(|e| AdminError::bad_request(e.to_string()))?,
        ),
        None if drop_secret => None,
        None => kept_secret(app.certificate_trust_store.is_some(), existing),
    };
    let validated = app
        .validate(state.policy, OffsetDateTime::now_utc())
        .map_err(|e| {
            let mut err = AdminError::bad_request(e.to_string());
            err.fields = e.0;
            err
        })?;
    Ok((app, validated.warnings))
}

/// The stored secret hash a change that sends no secret keeps: a PUT of what
/// GET returned keeps it, except when a trust store replaces it (a switch
/// from secret to mTLS: the stored client had no trust store, the new one has).
pub fn kept_secret(has_trust_store: bool, existing: Option<&ClientRecord>) -> Option<String> {
    existing
        .filter(|r| !has_trust_store || r.document.get("certificateTrustStore").is_some())
        .and_then(|r| r.document.get("client_secret_hash"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn field_error(field: &'static str, message: &str) -> AdminError {
    let mut err = AdminError::bad_request(format!("{field}: {message}"));
    err.fields = vec![FieldError {
        field,
        message: message.to_string(),
    }];
    err
}

/// The resource as the API shows it: no secret hash, server-managed `meta`,
/// and the warnings of this change when there are any. (`certbound client`
/// shows stored records the same way.)
pub fn public_view(record: &ClientRecord, warnings: &[String]) -> Value {
    let mut doc = record.document.clone();
    if let Some(obj) = doc.as_object_mut() {
        let has_secret = obj.remove("client_secret_hash").is_some();
        obj.insert("resourceType".into(), RESOURCE_TYPE.into());
        obj.insert("id".into(), record.id.clone().into());
        obj.insert(
            "meta".into(),
            json!({
                "versionId": record.version.to_string(),
                "lastUpdated": certbound_pki::time_fmt::rfc3339(record.updated_at),
            }),
        );
        if has_secret {
            obj.insert("hasSecret".into(), true.into());
        }
        if !warnings.is_empty() {
            obj.insert("warnings".into(), json!(warnings));
        }
    }
    doc
}
