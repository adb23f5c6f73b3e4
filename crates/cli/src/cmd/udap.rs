//! `certbound udap`: the partner's side of UDAP (HL7 FAST Security), so
//! both ends are one tool. `discover` reads a server's `/.well-known/udap`
//! and verifies its `signed_metadata` to a community anchor, explaining what
//! is wrong; `register` signs a software statement with the partner's
//! certificate and registers (or updates, or cancels); `token` signs an
//! authentication token with the `hl7-b2b` extension and asks for an access
//! token. The certificate and key of `--cert`/`--key` sign, and are
//! presented in the TLS handshake when the server asks for one.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use certbound_oauth::assertion::ASSERTION_TYPE;
use certbound_oauth::keys::X5cSigner;
use certbound_oauth::udap;
use certbound_pki::CertDer;
use certbound_tls::ConnectOptions;
use certbound_tls::https::HttpsRequest;
use clap::{Args, Subcommand};
use http::HeaderValue;
use http::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::cmd::client::{ClientTlsArgs, tls_error};
use crate::cmd::request::exchange;
use crate::cmd::token::Print;
use crate::cmd::{EXIT_FAILED, usage};
use crate::style::{BOLD, GREEN, RED, color_stdout, paint};

#[derive(Debug, Args)]
pub struct UdapArgs {
    #[command(subcommand)]
    command: UdapCommand,
}

#[derive(Debug, Subcommand)]
enum UdapCommand {
    /// Read a server's UDAP metadata and verify its signed_metadata: the
    /// signature, the chain to --anchor, the URI SAN and the endpoints.
    Discover(DiscoverArgs),
    /// Register with a server by software statement (UDAP DCR); again to
    /// update, --cancel to cancel.
    Register(RegisterArgs),
    /// Get an access token with client_credentials and a UDAP
    /// authentication token (with the hl7-b2b extension).
    Token(TokenArgs),
}

#[derive(Debug, Args)]
struct ServerArgs {
    /// The server's base URL (its issuer), https://.
    url: String,
    /// The community's trust anchor(s), PEM: verify the server's
    /// signed_metadata to them (required by discover).
    #[arg(long, value_name = "FILE")]
    anchor: Option<PathBuf>,
    /// The trust community to ask for (?community=).
    #[arg(long, value_name = "URI")]
    community: Option<String>,
    #[command(flatten)]
    tls: ClientTlsArgs,
}

#[derive(Debug, Args)]
struct DiscoverArgs {
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Debug, Args)]
struct RegisterArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// The client's URI (the statement's iss) [default: the URI SAN of --cert].
    #[arg(long, value_name = "URI")]
    iss: Option<String>,
    /// The client's name.
    #[arg(long, value_name = "NAME", default_value = "certbound UDAP client")]
    name: String,
    /// The scopes to register for.
    #[arg(long, value_name = "SCOPE", default_value = "system/*.rs")]
    scope: String,
    /// A contact, mailto: (repeatable; one is required).
    #[arg(long = "contact", value_name = "URI", required = true)]
    contacts: Vec<String>,
    /// Cancel the registration (grant_types: []).
    #[arg(long)]
    cancel: bool,
    /// Print only the client_id.
    #[arg(long)]
    print_client_id: bool,
}

#[derive(Debug, Args)]
struct TokenArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// The client_id the registration gave.
    #[arg(long, value_name = "ID")]
    client_id: String,
    /// The scopes to ask for.
    #[arg(long, value_name = "SCOPE")]
    scope: Option<String>,
    /// hl7-b2b organization_id: the requesting organization, a URI.
    #[arg(long, value_name = "URI")]
    organization_id: Option<String>,
    /// hl7-b2b organization_name.
    #[arg(long, value_name = "NAME")]
    organization_name: Option<String>,
    /// hl7-b2b purpose_of_use (repeatable), e.g. urn:oid:2.16.840.1.113883.5.8#TREAT.
    #[arg(long = "purpose-of-use", value_name = "CODE")]
    purposes: Vec<String>,
    /// hl7-b2b subject_name, when a person is behind the request.
    #[arg(long, value_name = "NAME")]
    subject_name: Option<String>,
    /// What to print on stdout [default: summary]: the response
    /// pretty-printed, the access token alone, or the response on one line.
    #[arg(long, value_enum, value_name = "WHAT")]
    print: Option<Print>,
}

pub fn run(args: UdapArgs) -> Result<ExitCode> {
    match args.command {
        UdapCommand::Discover(a) => discover(&a.server),
        UdapCommand::Register(a) => register(&a),
        UdapCommand::Token(a) => token(&a),
    }
}

/// The server's metadata, as fetched, and whether its signature was checked.
struct Metadata {
    doc: Map<String, Value>,
    verified: Option<udap::Signed>,
}

impl Metadata {
    fn endpoint(&self, name: &str) -> Result<String> {
        // Values in signed_metadata take precedence (HL7 FAST Security §2.3).
        self.verified
            .as_ref()
            .and_then(|s| s.claims.get(name))
            .or_else(|| self.doc.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("the server's UDAP metadata has no {name}"))
    }
}

fn base_url(url: &str) -> &str {
    let url = url.trim_end_matches('/');
    url.strip_suffix("/.well-known/udap").unwrap_or(url)
}

/// GET /.well-known/udap and, with --anchor, verify signed_metadata.
fn fetch_metadata(server: &ServerArgs, required: bool) -> Result<Metadata> {
    let base = base_url(&server.url);
    let mut url = format!("{base}/.well-known/udap");
    if let Some(c) = &server.community {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("community", c)
            .finish();
        url = format!("{url}?{query}");
    }
    let mut req = HttpsRequest::new("GET", &url).map_err(tls_error)?;
    req.headers
        .insert(ACCEPT, HeaderValue::from_static("application/json"));
    let resp = send(&req, &server.tls)?;
    match resp.status.as_u16() {
        200 => {}
        204 => {
            return Err(anyhow!(
                "{url} answered 204: the server takes part in no community {} (HL7 FAST Security §2.4)",
                server.community.as_deref().unwrap_or("(default)")
            ));
        }
        404 => {
            return Err(anyhow!(
                "{url} answered 404: the server does not offer UDAP"
            ));
        }
        s => {
            return Err(anyhow!(
                "{url} answered {s}: {}",
                String::from_utf8_lossy(&resp.body)
            ));
        }
    }
    let doc: Map<String, Value> = serde_json::from_slice(&resp.body)
        .with_context(|| format!("{url} did not answer a JSON object"))?;
    let anchor = match (&server.anchor, required) {
        (Some(a), _) => a,
        (None, true) => {
            return Err(usage(
                "--anchor FILE is required: the community's trust anchor verifies the server's signed_metadata",
            ));
        }
        (None, false) => {
            eprintln!(
                "warning: the server's signed_metadata is not verified (give --anchor, the community's trust anchor)"
            );
            return Ok(Metadata {
                doc,
                verified: None,
            });
        }
    };
    let anchors =
        certbound_tls::material::load_certificates(anchor, "the anchor file").map_err(tls_error)?;
    let jwt = doc
        .get("signed_metadata")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            anyhow!("the metadata has no signed_metadata (HL7 FAST Security §2.3 requires it)")
        })?;
    let now = OffsetDateTime::now_utc();
    let signed = udap::verify_signed(jwt, &anchor.display().to_string(), &anchors, &[], now, None)
        .map_err(|e| anyhow!("signed_metadata: {e}"))?;
    if signed.alg != certbound_oauth::Algorithm::Rs256 {
        eprintln!(
            "note: signed_metadata is signed {} (HL7 FAST Security §2.3 asks for RS256)",
            signed.alg
        );
    }
    udap::check_metadata(&signed, base, &doc, now.unix_timestamp())
        .map_err(|e| anyhow!("signed_metadata: {e}"))?;
    for (field, want) in [
        ("udap_versions_supported", udap::VERSION),
        ("token_endpoint_auth_methods_supported", "private_key_jwt"),
    ] {
        let has = doc
            .get(field)
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v == want));
        if !has {
            return Err(anyhow!("the metadata's {field} does not list {want:?}"));
        }
    }
    Ok(Metadata {
        doc,
        verified: Some(signed),
    })
}

fn send(req: &HttpsRequest, tls: &ClientTlsArgs) -> Result<certbound_tls::https::HttpsResponse> {
    let mut opts = ConnectOptions::new(tls.load()?);
    opts.timeout = tls.timeout()?;
    exchange(req, &mut opts, false)?
        .ok_or_else(|| anyhow!("the TLS connection failed (report above)"))
}

fn discover(server: &ServerArgs) -> Result<ExitCode> {
    let meta = fetch_metadata(server, true)?;
    let color = color_stdout();
    let list = |name: &str| {
        meta.doc
            .get(name)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    println!("{}", paint(color, BOLD, "UDAP metadata"));
    for name in ["token_endpoint", "registration_endpoint"] {
        println!("  {name}: {}", meta.endpoint(name)?);
    }
    for name in [
        "udap_profiles_supported",
        "udap_authorization_extensions_supported",
        "udap_authorization_extensions_required",
        "grant_types_supported",
        "token_endpoint_auth_signing_alg_values_supported",
        "scopes_supported",
    ] {
        println!("  {name}: {}", list(name));
    }
    if let Some(signed) = &meta.verified {
        println!(
            "{} signed_metadata ({}) by {} ({}), chain verified to the anchor, iss = {}",
            paint(color, GREEN, "ok:"),
            signed.alg,
            signed.leaf.subject,
            signed.uris.join(", "),
            base_url(&server.url)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The signing identity of --cert/--key: a signer with the chain.
fn signer(tls: &ClientTlsArgs) -> Result<(X5cSigner, Vec<CertDer>)> {
    let identity = tls
        .load()?
        .identity
        .ok_or_else(|| usage("--cert and --key are required: the certificate that signs (its URI SAN is the client's identity)"))?;
    let chain: Vec<Vec<u8>> = identity.chain.iter().map(|c| c.to_vec()).collect();
    let signer = X5cSigner::new(identity.key.secret_der(), &chain, None)
        .map_err(|e| anyhow!("{}: {e}", identity.key_path.display()))?;
    Ok((signer, identity.chain))
}

fn register(args: &RegisterArgs) -> Result<ExitCode> {
    let meta = fetch_metadata(&args.server, false)?;
    let endpoint = meta.endpoint("registration_endpoint")?;
    let (signer, chain) = signer(&args.server.tls)?;
    let iss = match &args.iss {
        Some(i) => i.clone(),
        None => {
            let info = chain
                .first()
                .and_then(|c| certbound_pki::CertInfo::from_der(c).ok())
                .ok_or_else(|| anyhow!("--cert holds no readable certificate"))?;
            let uris = info.uris();
            match uris.as_slice() {
                [one] => one.clone(),
                [] => {
                    return Err(usage(
                        "the certificate has no URI SAN: UDAP identifies a client by one (make it with --uri), or give --iss",
                    ));
                }
                _ => {
                    return Err(usage(format!(
                        "the certificate has several URI SANs ({}): choose one with --iss",
                        uris.join(", ")
                    )));
                }
            }
        }
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let grant_types: Vec<&str> = if args.cancel {
        Vec::new()
    } else {
        vec!["client_credentials"]
    };
    let mut claims = json!({
        "iss": iss, "sub": iss, "aud": endpoint,
        "iat": now, "exp": now + 240,
        "jti": uuid::Uuid::new_v4().to_string(),
        "client_name": args.name,
        "grant_types": grant_types,
        "token_endpoint_auth_method": "private_key_jwt",
        "contacts": args.contacts,
    });
    if !args.cancel {
        claims["scope"] = json!(args.scope);
    }
    let statement = signer.sign(&claims).map_err(|e| anyhow!(e))?;
    let mut req = HttpsRequest::new("POST", &endpoint).map_err(tls_error)?;
    req.headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    req.headers
        .insert(ACCEPT, HeaderValue::from_static("application/json"));
    req.body = json!({"software_statement": statement, "udap": udap::VERSION})
        .to_string()
        .into();
    let resp = send(&req, &args.server.tls)?;
    let body: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    let color = color_stdout();
    if !resp.status.is_success() {
        println!("{}", serde_json::to_string_pretty(&body)?);
        eprintln!(
            "{} the server answered {}: {}",
            paint(color, RED, "refused:"),
            resp.status.as_u16(),
            body["error_description"]
                .as_str()
                .unwrap_or("(no description)")
        );
        return Ok(ExitCode::from(EXIT_FAILED));
    }
    if args.print_client_id {
        println!("{}", body["client_id"].as_str().unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}", serde_json::to_string_pretty(&body)?);
    let what = match (args.cancel, resp.status.as_u16()) {
        (true, _) => "registration cancelled",
        (false, 201) => "registered",
        _ => "registration updated",
    };
    eprintln!(
        "{} {what}: client_id {}",
        paint(color, GREEN, "ok:"),
        body["client_id"].as_str().unwrap_or("?")
    );
    Ok(ExitCode::SUCCESS)
}

fn token(args: &TokenArgs) -> Result<ExitCode> {
    let meta = fetch_metadata(&args.server, false)?;
    let endpoint = meta.endpoint("token_endpoint")?;
    let (signer, _) = signer(&args.server.tls)?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut claims = json!({
        "iss": args.client_id, "sub": args.client_id, "aud": endpoint,
        "iat": now, "exp": now + 240,
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    if let Some(org) = &args.organization_id {
        let purposes = if args.purposes.is_empty() {
            vec!["urn:oid:2.16.840.1.113883.5.8#TREAT".to_owned()]
        } else {
            args.purposes.clone()
        };
        let mut b2b = json!({
            "version": "1",
            "organization_id": org,
            "purpose_of_use": purposes,
        });
        if let Some(name) = &args.organization_name {
            b2b["organization_name"] = json!(name);
        }
        if let Some(name) = &args.subject_name {
            b2b["subject_name"] = json!(name);
        }
        claims["extensions"] = json!({ udap::B2B: b2b });
    } else {
        eprintln!(
            "note: no --organization-id, so no hl7-b2b extension is sent (servers that require it refuse the request)"
        );
    }
    let assertion = signer.sign(&claims).map_err(|e| anyhow!(e))?;
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "client_credentials");
    if let Some(scope) = &args.scope {
        form.append_pair("scope", scope);
    }
    form.append_pair("client_assertion_type", ASSERTION_TYPE);
    form.append_pair("client_assertion", &assertion);
    form.append_pair("udap", udap::VERSION);
    let mut req = HttpsRequest::new("POST", &endpoint).map_err(tls_error)?;
    req.headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    req.headers
        .insert(ACCEPT, HeaderValue::from_static("application/json"));
    req.body = form.finish().into();
    let resp = send(&req, &args.server.tls)?;
    let body: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    if !resp.status.is_success() || body.get("access_token").is_none() {
        println!("{}", serde_json::to_string_pretty(&body)?);
        eprintln!(
            "{} the server answered {}: {}",
            paint(color_stdout(), RED, "refused:"),
            resp.status.as_u16(),
            body["error_description"]
                .as_str()
                .unwrap_or("(no description; the server's audit trail has the reason)")
        );
        return Ok(ExitCode::from(EXIT_FAILED));
    }
    match args.print.unwrap_or(Print::Summary) {
        Print::AccessToken => println!("{}", body["access_token"].as_str().unwrap_or_default()),
        Print::Json => println!("{}", serde_json::to_string(&body)?),
        Print::Summary => println!("{}", serde_json::to_string_pretty(&body)?),
    }
    Ok(ExitCode::SUCCESS)
}
