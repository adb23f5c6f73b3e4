//! The client side of RFC 8705 mutual-TLS client authentication: a
//! `client_credentials` request that carries no secret (the client
//! certificate presented in the handshake is the credential), the RFC 6749
//! §5.2 error responses explained, and the check that an access token is
//! bound to the certificate that was presented (`cnf.x5t#S256`).
//!
//! The JWT is decoded, not verified: this is a client checking what it was
//! given, and the signature is for the resource server to check.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use certbound_pki::{CertInfo, x5t_s256};
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use serde::Serialize;
use serde_json::Value;

use crate::error::Error;
use crate::https::HttpsRequest;
use crate::report::Diagnosis;

/// The `client_credentials` form body of RFC 8705 §2: the client id and no secret.
pub fn form_body(client_id: &str, scope: Option<&str>) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "client_credentials");
    form.append_pair("client_id", client_id);
    if let Some(scope) = scope.filter(|s| !s.trim().is_empty()) {
        form.append_pair("scope", scope);
    }
    form.finish()
}

/// The token request, ready to send.
pub fn request(
    token_url: &str,
    client_id: &str,
    scope: Option<&str>,
) -> Result<HttpsRequest, Error> {
    let mut req = HttpsRequest::new("POST", token_url)?;
    req.headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    req.headers
        .insert(ACCEPT, HeaderValue::from_static("application/json"));
    req.body = form_body(client_id, scope).into();
    Ok(req)
}

/// What the client knows when reading the answer.
#[derive(Debug, Clone, Copy)]
pub struct TokenContext<'a> {
    pub client_id: &'a str,
    pub scope: Option<&'a str>,
    /// The client certificate configured.
    pub leaf: Option<&'a CertInfo>,
    /// Whether it was sent in the handshake.
    pub certificate_sent: bool,
}

/// The token endpoint's answer, interpreted.
#[derive(Debug, Clone)]
pub enum TokenOutcome {
    /// A token response (2xx with `access_token`).
    Issued { json: Value },
    /// An RFC 6749 §5.2 error response.
    Refused {
        status: StatusCode,
        json: Value,
        diagnosis: Diagnosis,
    },
    /// Anything else.
    Unexpected {
        status: StatusCode,
        body: String,
        diagnosis: Diagnosis,
    },
}

/// Read the token endpoint's answer.
pub fn interpret(status: StatusCode, body: &[u8], ctx: &TokenContext<'_>) -> TokenOutcome {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let text = String::from_utf8_lossy(body).into_owned();
    match json {
        Some(json) if status.is_success() && json.get("access_token").is_some_and(Value::is_string) => {
            TokenOutcome::Issued { json }
        }
        Some(json) if json.get("error").is_some_and(Value::is_string) => {
            let code = json["error"].as_str().unwrap_or_default().to_string();
            let description = json.get("error_description").and_then(Value::as_str);
            let diagnosis = explain_error(&code, description, ctx);
            TokenOutcome::Refused {
                status,
                json,
                diagnosis,
            }
        }
        _ => TokenOutcome::Unexpected {
            status,
            body: text,
            diagnosis: Diagnosis {
                code: "unexpected_response".into(),
                cause: if status.is_success() {
                    format!("the server answered {status} but not with a token response (JSON with access_token)")
                } else {
                    format!("the server answered {status} without an RFC 6749 error response")
                },
                fix: "check --token-url: it must be the token endpoint (the token_endpoint of the server's metadata)".into(),
            },
        },
    }
}

/// Cause and fix for an RFC 6749 §5.2 error code.
pub fn explain_error(code: &str, description: Option<&str>, ctx: &TokenContext<'_>) -> Diagnosis {
    let said = description
        .map(|d| format!(" (the server says: {d})"))
        .unwrap_or_default();
    let id = ctx.client_id;
    let (cause, fix) = match code {
        "invalid_client" if !ctx.certificate_sent => (
            format!(
                "the server did not authenticate client '{id}'{said}: no client certificate was sent{}",
                if ctx.leaf.is_some() { " because the server did not ask for one" } else { "" }
            ),
            if ctx.leaf.is_some() {
                "use the server's mTLS endpoint (one that requests client certificates)".into()
            } else {
                "pass --cert and --key (or --tls NAME --config FILE): RFC 8705 authenticates the client by its certificate".into()
            },
        ),
        "invalid_client" => {
            let cert = ctx
                .leaf
                .map(|l| {
                    format!(
                        " The certificate presented: subject '{}', issuer '{}', x5t#S256 {}.",
                        l.subject, l.issuer, l.x5t_s256
                    )
                })
                .unwrap_or_default();
            (
                format!(
                    "the server did not accept the certificate for client_id '{id}'{said}.{cert}"
                ),
                match ctx.leaf {
                    Some(l) if l.self_signed => format!(
                        "client '{id}''s certificateTrustStore must hold this exact self-signed certificate (x5t#S256 {}): one made again since, even with the same name and key, does not match; the server's audit trail names the precise cause (`certbound audit --client {id} --result fail`)",
                        l.x5t_s256
                    ),
                    Some(l) => format!(
                        "client '{id}''s certificateTrustStore must hold the CA that issued this certificate ('{}') or a CA above it, with the intermediates after the leaf in the certificate file; the certificate needs EKU clientAuth (or none), and must match the client's subject constraint if it has one; the server's audit trail names the precise cause (`certbound audit --client {id} --result fail`)",
                        l.issuer_display_name()
                    ),
                    None => format!(
                        "check client '{id}' on the server: its certificateTrustStore must hold this certificate (self-signed) or the CA that issued it; the server's audit trail names the precise cause (`certbound audit --client {id} --result fail`)"
                    ),
                },
            )
        }
        "invalid_request" => (
            format!("the server found the token request malformed{said}"),
            "check --client-id and --scope; with RFC 8705 the client_id goes in the form body and no secret is sent".into(),
        ),
        "unauthorized_client" => (
            format!("client '{id}' may not use the client_credentials grant{said}"),
            format!("allow the client_credentials grant for '{id}' on the server"),
        ),
        "unsupported_grant_type" => (
            format!("the server does not offer client_credentials at this endpoint{said}"),
            "check --token-url against the server's metadata (grant_types_supported)".into(),
        ),
        "invalid_scope" => (
            format!(
                "the scope {} is not allowed for client '{id}'{said}",
                ctx.scope.map_or_else(|| "requested".to_string(), |s| format!("'{s}'"))
            ),
            "ask for a scope the client is registered for, or leave out --scope".into(),
        ),
        "invalid_grant" => (
            format!("the server refused the grant{said}"),
            "check the client's registration on the server".into(),
        ),
        "access_denied" => (
            format!("the server denied access to client '{id}'{said}"),
            "ask the server's operator why the client is refused".into(),
        ),
        "server_error" | "temporarily_unavailable" => (
            format!("the token endpoint failed ({code}){said}"),
            "retry later; the server's log says more".into(),
        ),
        other => (
            format!("the server refused the request with error '{other}'{said}"),
            "see the server's documentation for this error code".into(),
        ),
    };
    Diagnosis {
        code: code.to_string(),
        cause,
        fix,
    }
}

/// A JWT's header and claims, decoded but not verified.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub header: Value,
    pub claims: Value,
}

/// Decode a compact JWS without checking its signature.
pub fn decode_jwt(token: &str) -> Result<Decoded, String> {
    let parts: Vec<&str> = token.trim().split('.').collect();
    match parts.len() {
        3 => {}
        5 => return Err("the access token is encrypted (JWE): only the resource server can read its claims".into()),
        _ => return Err("the access token is not a JWT (an opaque token): its claims are available only through the server's introspection endpoint".into()),
    }
    let part = |i: usize, what: &str| -> Result<Value, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(parts[i].trim_end_matches('='))
            .map_err(|e| format!("the JWT {what} is not base64url: {e}"))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("the JWT {what} is not JSON: {e}"))
    };
    Ok(Decoded {
        header: part(0, "header")?,
        claims: part(1, "payload")?,
    })
}

/// Whether a token is bound to the certificate presented (RFC 8705 §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Binding {
    /// `cnf.x5t#S256` is the thumbprint of the certificate presented.
    Bound { thumbprint: String },
    /// It names another certificate.
    Mismatch { token: String, certificate: String },
    /// The token has no `cnf.x5t#S256`.
    Unbound,
    /// No certificate was presented to compare with.
    NoCertificate { token: Option<String> },
}

impl Binding {
    pub fn ok(&self) -> bool {
        matches!(self, Binding::Bound { .. })
    }

    /// The verdict in one sentence.
    pub fn message(&self) -> String {
        match self {
            Binding::Bound { thumbprint } => format!(
                "the token is bound to the certificate presented: cnf.x5t#S256 = {thumbprint}"
            ),
            Binding::Mismatch { token, certificate } => format!(
                "the token is NOT bound to the certificate presented: cnf.x5t#S256 is {token}, but the certificate's thumbprint is {certificate}; a resource server will refuse this token on this connection"
            ),
            Binding::Unbound => "the token is not certificate-bound: it has no cnf.x5t#S256 claim (RFC 8705 §3.1), so anyone holding it can use it".into(),
            Binding::NoCertificate { token } => format!(
                "no client certificate was presented, so the binding cannot be checked{}",
                token.as_ref().map(|t| format!(" (the token names {t})")).unwrap_or_default()
            ),
        }
    }
}

/// Compare `cnf.x5t#S256` of the claims with the presented leaf.
pub fn check_binding(claims: &Value, presented_leaf: Option<&[u8]>) -> Binding {
    let token = claims
        .get("cnf")
        .and_then(|c| c.get("x5t#S256"))
        .and_then(Value::as_str)
        .map(str::to_string);
    match (token, presented_leaf) {
        (token, None) => Binding::NoCertificate { token },
        (None, Some(_)) => Binding::Unbound,
        (Some(token), Some(leaf)) => {
            let certificate = x5t_s256(leaf);
            if token == certificate {
                Binding::Bound {
                    thumbprint: certificate,
                }
            } else {
                Binding::Mismatch { token, certificate }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_has_no_secret() {
        assert_eq!(
            form_body("partner one", Some("read write")),
            "grant_type=client_credentials&client_id=partner+one&scope=read+write"
        );
        assert_eq!(
            form_body("a&b", None),
            "grant_type=client_credentials&client_id=a%26b"
        );
    }

    fn jwt(claims: &Value) -> String {
        let enc = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
        format!(
            "{}.{}.sig",
            enc(&serde_json::json!({"alg": "ES256"})),
            enc(claims)
        )
    }

    #[test]
    fn binding_is_checked_plainly_either_way() {
        let leaf = b"certificate DER";
        let good = serde_json::json!({"sub": "c", "cnf": {"x5t#S256": x5t_s256(leaf)}});
        let d = decode_jwt(&jwt(&good)).unwrap();
        assert_eq!(d.header["alg"], "ES256");
        let b = check_binding(&d.claims, Some(leaf));
        assert!(b.ok(), "{b:?}");
        assert!(b.message().contains("is bound"));
        let b = check_binding(&d.claims, Some(b"another"));
        assert!(matches!(b, Binding::Mismatch { .. }));
        assert!(b.message().contains("NOT bound"));
        let b = check_binding(&serde_json::json!({"sub": "c"}), Some(leaf));
        assert_eq!(b, Binding::Unbound);
        assert!(
            decode_jwt("opaque-token")
                .unwrap_err()
                .contains("not a JWT")
        );
        assert!(decode_jwt("a.b.c.d.e").unwrap_err().contains("JWE"));
        assert!(decode_jwt("!!.e30.x").unwrap_err().contains("base64url"));
    }

    #[test]
    fn error_responses_are_explained() {
        let ctx = TokenContext {
            client_id: "partner",
            scope: None,
            leaf: None,
            certificate_sent: true,
        };
        let body = br#"{"error":"invalid_client","error_description":"no trust store matched"}"#;
        match interpret(StatusCode::UNAUTHORIZED, body, &ctx) {
            TokenOutcome::Refused { diagnosis, .. } => {
                assert_eq!(diagnosis.code, "invalid_client");
                assert!(diagnosis.cause.contains("did not accept the certificate"));
                assert!(diagnosis.fix.contains("certificateTrustStore"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            interpret(
                StatusCode::OK,
                br#"{"access_token":"x","token_type":"Bearer"}"#,
                &ctx
            ),
            TokenOutcome::Issued { .. }
        ));
        assert!(matches!(
            interpret(StatusCode::BAD_GATEWAY, b"<html>", &ctx),
            TokenOutcome::Unexpected { .. }
        ));
    }
}
