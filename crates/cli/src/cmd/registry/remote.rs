//! `certbound client ... --server URL`: the registry through a running
//! server's admin API (`/admin/ClientApplication`), over the same HTTPS
//! client as `certbound request`, so a TLS failure comes with its diagnosis.
//! The admin API's answers are turned into messages that say what to do:
//! 403 names the token to check, a disabled API names the config to change,
//! a 400 lists every field error.

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use certbound_oauth::client::{ClientApplication, ClientStatus};
use certbound_server::meta::METADATA_PATH;
use certbound_tls::ConnectOptions;
use certbound_tls::https::HttpsRequest;
use serde_json::Value;

use crate::cmd::client::{ClientTlsArgs, tls_error};
use crate::cmd::request::exchange;

use super::{ADMIN_TOKEN_ENV, invalid};

/// Where the admin API lives on a server.
pub const ADMIN_PATH: &str = "/admin/ClientApplication";

/// A running server's admin API.
#[derive(Debug)]
pub struct Remote {
    /// `https://HOST:PORT`, without a trailing slash.
    base: String,
    tls: ClientTlsArgs,
    token: Option<String>,
}

/// One answer of the admin API.
struct Reply {
    url: String,
    status: u16,
    json: Value,
}

impl Remote {
    pub fn new(server: &str, tls: ClientTlsArgs, token: Option<String>) -> Result<Self> {
        let base = server.trim().trim_end_matches('/').to_string();
        // Refuse a bad URL (http://, no host) before anything else happens.
        HttpsRequest::new("GET", &format!("{base}{ADMIN_PATH}")).map_err(tls_error)?;
        tls.timeout()?;
        Ok(Self { base, tls, token })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn ca(&self) -> Option<PathBuf> {
        self.tls.ca.clone()
    }

    /// POST a new client; the created resource (with `warnings` when any).
    pub fn add(&self, app: &ClientApplication, secret: Option<&str>) -> Result<Value> {
        let mut doc = serde_json::to_value(app)?;
        if let (Some(secret), Some(obj)) = (secret, doc.as_object_mut()) {
            obj.insert("secret".into(), secret.into());
        }
        let reply = self.call("POST", "", Some(&doc))?;
        match reply.status {
            201 => Ok(reply.json),
            _ => Err(reply.error()),
        }
    }

    /// The resources of the search Bundle.
    pub fn list(&self, name: Option<&str>) -> Result<Vec<Value>> {
        let query = name
            .map(|n| format!("?name={}", encode(n)))
            .unwrap_or_default();
        let reply = self.call("GET", &query, None)?;
        if reply.status != 200 {
            return Err(reply.error());
        }
        let entries = reply.json["entry"].as_array().ok_or_else(|| {
            anyhow!(
                "{} answered without a Bundle `entry` list: is it a certbound server?",
                reply.url
            )
        })?;
        Ok(entries.iter().map(|e| e["resource"].clone()).collect())
    }

    /// One client; `None` when it is not registered.
    pub fn get(&self, id: &str) -> Result<Option<Value>> {
        let reply = self.call("GET", &format!("/{}", encode(id)), None)?;
        match reply.status {
            200 => Ok(Some(reply.json)),
            404 if reply.is_not_found() => Ok(None),
            _ => Err(reply.error()),
        }
    }

    /// Delete a client; `false` when it was not registered.
    pub fn remove(&self, id: &str) -> Result<bool> {
        let reply = self.call("DELETE", &format!("/{}", encode(id)), None)?;
        match reply.status {
            200 | 204 => Ok(true),
            404 if reply.is_not_found() => Ok(false),
            _ => Err(reply.error()),
        }
    }

    /// Set a client's status: GET it, change `status`, PUT it back over the
    /// version read (If-Match). `None` when it is not registered, `Some(false)`
    /// when it had that status already.
    pub fn set_status(&self, id: &str, status: ClientStatus) -> Result<Option<bool>> {
        let Some(mut doc) = self.get(id)? else {
            return Ok(None);
        };
        let current = match doc.get("status") {
            None | Some(Value::Null) => Some(ClientStatus::Active),
            Some(v) => v.as_str().and_then(ClientStatus::parse),
        };
        if current == Some(status) {
            return Ok(Some(false));
        }
        let version = doc["meta"]["versionId"].as_str().unwrap_or("").to_string();
        doc["status"] = status.as_str().into();
        let path = format!("/{}", encode(id));
        let url = format!("{}{ADMIN_PATH}{path}", self.base);
        let reply = self.send_with(
            "PUT",
            url,
            Some(&doc),
            true,
            (!version.is_empty()).then(|| format!("If-Match: W/\"{version}\"")),
        )?;
        match reply.status {
            200 => Ok(Some(true)),
            404 if reply.is_not_found() => Ok(None),
            412 => Err(anyhow!(
                "client `{id}` changed while its status was being set: run the command again"
            )),
            _ => Err(reply.error()),
        }
    }

    /// The token endpoint the server publishes in its metadata (the mTLS
    /// alias when it has one); `None` when the metadata cannot be read.
    pub fn token_endpoint(&self) -> Option<String> {
        let url = format!("{}{METADATA_PATH}", self.base);
        let reply = self.send("GET", url, None, false).ok()?;
        let meta = &reply.json;
        (reply.status == 200)
            .then(|| {
                meta["mtls_endpoint_aliases"]["token_endpoint"]
                    .as_str()
                    .or_else(|| meta["token_endpoint"].as_str())
                    .map(str::to_string)
            })
            .flatten()
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Reply> {
        self.send(
            method,
            format!("{}{ADMIN_PATH}{path}", self.base),
            body,
            true,
        )
    }

    fn send(&self, method: &str, url: String, body: Option<&Value>, admin: bool) -> Result<Reply> {
        self.send_with(method, url, body, admin, None)
    }

    fn send_with(
        &self,
        method: &str,
        url: String,
        body: Option<&Value>,
        admin: bool,
        extra_header: Option<String>,
    ) -> Result<Reply> {
        let mut req = HttpsRequest::new(method, &url).map_err(tls_error)?;
        if let Some(line) = extra_header {
            req.header_line(&line).map_err(tls_error)?;
        }
        req.header_line("Accept: application/json")
            .map_err(tls_error)?;
        if let Some(token) = self.token.as_ref().filter(|_| admin) {
            req.header_line(&format!("Authorization: Bearer {token}"))
                .map_err(|_| {
                    crate::cmd::usage(
                        "the admin token holds characters that cannot go in an HTTP header: \
                         check the token file or CERTBOUND_ADMIN_TOKEN",
                    )
                })?;
        }
        if let Some(body) = body {
            req.header_line("Content-Type: application/json")
                .map_err(tls_error)?;
            req.body = serde_json::to_vec(body)?.into();
        }
        let mut opts = ConnectOptions::new(self.tls.load()?);
        opts.timeout = self.tls.timeout()?;
        let Some(resp) = exchange(&req, &mut opts, false)? else {
            return Err(anyhow!(
                "cannot reach the admin API at {url}: the TLS connection failed (the report \
                 above says why)"
            ));
        };
        let status = resp.status.as_u16();
        let json = if resp.body.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(&resp.body).map_err(|_| {
                anyhow!(
                    "{url} answered {status} with a body that is not JSON: is {} a certbound \
                     server with the admin API?",
                    self.base
                )
            })?
        };
        Ok(Reply { url, status, json })
    }
}

impl Reply {
    fn description(&self) -> &str {
        self.json["error_description"].as_str().unwrap_or("")
    }

    /// A 404 that means "no such client" (not "the admin API is disabled").
    fn is_not_found(&self) -> bool {
        self.json["error"] == "not_found" && !self.description().contains("disabled")
    }

    /// What an error answer means, and what to do about it.
    fn error(&self) -> anyhow::Error {
        let (status, description) = (self.status, self.description());
        match status {
            400 => match self.json["errors"].as_array() {
                Some(errors) if !errors.is_empty() => invalid(
                    &errors
                        .iter()
                        .map(|e| {
                            (
                                e["field"].as_str().unwrap_or("?").to_string(),
                                e["message"].as_str().unwrap_or("").to_string(),
                            )
                        })
                        .collect::<Vec<_>>(),
                ),
                _ => anyhow!(
                    "the client was not registered: the admin API answered 400: {description}"
                ),
            },
            401 => anyhow!(
                "the admin API at {} wants credentials (401 unauthorized: {description}): pass \
                 --admin-token-file FILE or set {ADMIN_TOKEN_ENV}, or present an admin client \
                 certificate with --cert and --key",
                self.url
            ),
            403 => anyhow!(
                "the admin API at {} refused the admin token (403 forbidden: {description}): \
                 the token in --admin-token-file or {ADMIN_TOKEN_ENV} must equal the one the \
                 server reads from its [admin] token_file or token_env",
                self.url
            ),
            404 if description.contains("disabled") => anyhow!(
                "the admin API of {} is disabled: add [admin] token_file (or token_env, or \
                 client_certs) to the server's config and restart it, or work on its store \
                 directly with --config or --store",
                self.url
            ),
            409 => anyhow!(
                "{description}: choose another --id, or remove the registered client first with \
                 `certbound client remove`"
            ),
            _ => anyhow!(
                "the admin API at {} answered {status} {}: {}",
                self.url,
                self.json["error"].as_str().unwrap_or("(no error code)"),
                if description.is_empty() {
                    "see the server's log"
                } else {
                    description
                }
            ),
        }
    }
}

/// Percent-encode everything but RFC 3986 unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_query_and_path_parts() {
        assert_eq!(encode("partner-1.a"), "partner-1.a");
        assert_eq!(encode("Acme Payer/Ä"), "Acme%20Payer%2F%C3%84");
    }
}
