//! The "Try it" block of a saved client: the `curl` and `certbound token`
//! lines that get a token as this client, like the hints `certbound client
//! add` prints. The URL is the token endpoint of the server's mTLS listener
//! as its metadata publishes it (`mtls_endpoint_aliases`); without an alias,
//! the first listener that asks for client certificates, at its own address.

use std::net::{IpAddr, Ipv4Addr};

use maud::{Markup, html};
use serde_json::Value;

use super::html::shell_word;
use certbound_server::meta::TOKEN_PATH;
use certbound_server::mount::Context;

/// Placeholders the operator replaces with their files.
pub(super) const CLIENT_CERT: &str = "CLIENT.crt";
pub(super) const CLIENT_KEY: &str = "CLIENT.key";
pub(super) const SERVER_CA: &str = "SERVER-CA.crt";
pub(super) const SECRET_FILE: &str = "SECRET-FILE";

/// Where clients ask for tokens, and how the URL was found when the
/// metadata does not say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TokenUrl {
    pub url: String,
    pub note: Option<String>,
}

/// The token endpoint for clients that authenticate by certificate.
pub(super) fn mtls_token_url(state: &Context) -> TokenUrl {
    let meta: Value = serde_json::from_str(state.metadata()).unwrap_or(Value::Null);
    if let Some(alias) = meta["mtls_endpoint_aliases"]["token_endpoint"].as_str() {
        return TokenUrl {
            url: alias.to_string(),
            note: None,
        };
    }
    if let Some((bound, l)) = state.listeners().iter().find(|(b, _)| b.mtls) {
        let mut addr = bound.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        return TokenUrl {
            url: format!("https://{addr}{TOKEN_PATH}"),
            note: Some(format!(
                "This is listener '{}' at its own address: the server's metadata names no mTLS endpoint \
                 because the listener has no public_url. Set public_url to the URL clients reach it at.",
                l.name
            )),
        };
    }
    TokenUrl {
        url: plain_token_url(&meta, state.issuer()),
        note: Some(
            "No listener asks for client certificates: this is the issuer's token endpoint, which must be \
             reached through the proxy that forwards the client certificate."
                .to_string(),
        ),
    }
}

fn plain_token_url(meta: &Value, issuer: &str) -> String {
    meta["token_endpoint"].as_str().map_or_else(
        || format!("{}{TOKEN_PATH}", issuer.trim_end_matches('/')),
        str::to_string,
    )
}

/// The `curl` line for a client that authenticates by certificate.
pub(super) fn curl_line(url: &str, id: &str) -> String {
    format!(
        "curl --cert {CLIENT_CERT} --key {CLIENT_KEY} --cacert {SERVER_CA} -d grant_type=client_credentials -d client_id={} {}",
        shell_word(id),
        shell_word(url)
    )
}

/// The `certbound token` line for a client that authenticates by certificate.
pub(super) fn token_line(url: &str, id: &str) -> String {
    format!(
        "certbound token --token-url {} --client-id {} --cert {CLIENT_CERT} --key {CLIENT_KEY} --ca {SERVER_CA} --claims",
        shell_word(url),
        shell_word(id)
    )
}

/// The block. `secret`: the client authenticates with a secret, not a certificate.
pub(super) fn block(state: &Context, id: &str, secret: bool, open: bool) -> Markup {
    let body = if secret {
        let url = plain_token_url(
            &serde_json::from_str(state.metadata()).unwrap_or(Value::Null),
            state.issuer(),
        );
        let line = format!(
            "curl -u \"{id}:$(cat {SECRET_FILE})\" --cacert {SERVER_CA} -d grant_type=client_credentials {}",
            shell_word(&url)
        );
        html! {
            p {
                "Get a token as this client with its secret (in " code { (SECRET_FILE) } ") and the CA that issued \
                 the server's certificate (" code { (SERVER_CA) } "):"
            }
            pre.command { code #try-curl { (line) } }
        }
    } else {
        let TokenUrl { url, note } = mtls_token_url(state);
        html! {
            p {
                "Get a token as this client from the server's mTLS listener, with a certificate this trust store \
                 accepts (" code { (CLIENT_CERT) } " and its key " code { (CLIENT_KEY) } ") and the CA that issued \
                 the server's certificate (" code { (SERVER_CA) } "):"
            }
            pre.command { code #try-curl { (curl_line(&url, id)) } }
            pre.command { code #try-token { (token_line(&url, id)) } }
            @if let Some(n) = note { p.hint { (n) } }
        }
    };
    html! {
        details.try-it #try-it open[open] {
            summary { h2 { "Try it" } }
            (body)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_name_the_client_and_the_url() {
        let url = "https://mtls.example:8443/oauth2/token";
        assert_eq!(
            curl_line(url, "partner-1"),
            "curl --cert CLIENT.crt --key CLIENT.key --cacert SERVER-CA.crt -d grant_type=client_credentials \
             -d client_id=partner-1 https://mtls.example:8443/oauth2/token"
        );
        assert_eq!(
            token_line(url, "partner-1"),
            "certbound token --token-url https://mtls.example:8443/oauth2/token --client-id partner-1 \
             --cert CLIENT.crt --key CLIENT.key --ca SERVER-CA.crt --claims"
        );
    }
}
