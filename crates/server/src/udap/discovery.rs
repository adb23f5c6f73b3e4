//! `GET /.well-known/udap` (HL7 FAST Security §2): what UDAP this server
//! supports, unauthenticated, with `signed_metadata` signed by this server's
//! certificate in the community asked for (`?community=`, else the first).
//! 404 when UDAP is not configured; 204 for a community it does not know
//! (§2.4 lets a server answer so).

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use certbound_oauth::Algorithm;
use certbound_oauth::udap::{B2B, VERSION};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Community, Udap};
use crate::reply::json_response;
use crate::state::AppState;

/// The query of a discovery request.
#[derive(Debug, Deserialize)]
pub(crate) struct DiscoveryQuery {
    community: Option<String>,
}

/// The algorithms UDAP JWTs may be signed with here: the guide's table
/// (RS256 required, ES256 recommended, RS384 and ES384 allowed).
pub(crate) const ALGORITHMS: [Algorithm; 4] = [
    Algorithm::Rs256,
    Algorithm::Rs384,
    Algorithm::Es256,
    Algorithm::Es384,
];

/// `GET /.well-known/udap`.
pub(crate) async fn udap(
    State(state): State<Arc<AppState>>,
    query: Result<Query<DiscoveryQuery>, QueryRejection>,
) -> Response {
    let Some(udap) = &state.udap else {
        return json_response(
            StatusCode::NOT_FOUND,
            json!({
                "error": "not_found",
                "error_description": "this server does not offer UDAP (no [[udap.community]] is configured)",
            })
            .to_string(),
        );
    };
    let Ok(Query(query)) = query else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_request", "error_description": "the query string is malformed"})
                .to_string(),
        );
    };
    let community = match query.community.as_deref() {
        None => udap.default_community(),
        Some(name) => udap.community(name),
    };
    let Some(community) = community else {
        // §2.4: no UDAP workflows in a community this server is not part of.
        return StatusCode::NO_CONTENT.into_response();
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match document(udap, community, now) {
        Ok(doc) => json_response(StatusCode::OK, doc.to_string()),
        Err(e) => crate::reply::internal("cannot sign the UDAP metadata", &e).into_response(),
    }
}

/// The discovery document of `community`.
pub(crate) fn document(udap: &Udap, community: &Community, now: i64) -> Result<Value, String> {
    let config = &community.config;
    let algorithms: Vec<&str> = ALGORITHMS.iter().map(|a| a.jws_name()).collect();
    let required: Vec<&str> = if config.b2b_required {
        vec![B2B]
    } else {
        Vec::new()
    };
    let scopes = config
        .scope
        .clone()
        .unwrap_or_else(|| ["system/*.rs", "system/*.read"].map(str::to_owned).to_vec());
    Ok(json!({
        "udap_versions_supported": [VERSION],
        "udap_profiles_supported": ["udap_dcr", "udap_authn", "udap_authz"],
        "udap_authorization_extensions_supported": [B2B],
        "udap_authorization_extensions_required": required,
        "udap_certifications_supported": [],
        "udap_certifications_required": [],
        "grant_types_supported": ["client_credentials"],
        "scopes_supported": scopes,
        "token_endpoint": udap.token_endpoint,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": algorithms,
        "registration_endpoint": udap.registration_endpoint,
        "registration_endpoint_jwt_signing_alg_values_supported": algorithms,
        "signed_metadata": community.signed_metadata(udap, now)?,
    }))
}
