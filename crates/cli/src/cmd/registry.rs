//! `certbound client`: manage the registry of client applications (`add`,
//! `list`, `show`, `remove`), either directly in the store (`--store URL`, or
//! `--config FILE` for the store and policy of `certbound serve`) or through
//! a running server's admin API (`--server URL`).
//!
//! Both ways show the same thing: the `ClientApplication` resource as the
//! admin API returns it (no secret hash, server-managed `meta`, `hasSecret`),
//! so `--json` output of one can be posted to the other. Validation is the
//! server's own (`ClientApplication::validate`): every problem is reported at
//! once and nothing is stored (exit 1).

mod check;
mod remote;
mod render;

use certbound_server::admin::public_view;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use certbound_oauth::client::{ClientApplication, ClientStatus, FieldError, Policy, RESOURCE_TYPE};
use certbound_server::admin::MIN_SECRET_LEN;
use certbound_server::config::Config;
use certbound_server::meta::TOKEN_PATH;
use certbound_store::{Store, StoreError};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::cmd::client::{ClientTlsArgs, DEFAULT_TIMEOUT_SECS};
use crate::cmd::usage;
use crate::files;
use crate::style::color_stdout;

use self::remote::Remote;

/// The environment variable `--server` reads the admin token from when
/// `--admin-token-file` is not given.
pub const ADMIN_TOKEN_ENV: &str = "CERTBOUND_ADMIN_TOKEN";

#[derive(Debug, Args)]
pub struct ClientArgs {
    #[command(subcommand)]
    command: ClientCommand,
}

#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// Register a client application: a trust store of PEM certificates (its
    /// self-signed certificate, or the CA that issues its certificates), or a
    /// secret for a client without mTLS.
    Add(Box<AddArgs>),
    /// List the registered clients: auth method, certificates, earliest expiry, warnings.
    List(ListArgs),
    /// Show one client with its trust store decoded.
    Show(ShowArgs),
    /// Remove a client (exit 1 when it is not registered).
    Remove(RemoveArgs),
    /// Switch a client off (status "off"): it gets invalid_client and its
    /// tokens stop being honoured, on every instance within a second.
    Disable(RemoveArgs),
    /// Switch a client on again (status "active").
    Enable(RemoveArgs),
    /// Run `certbound check`'s findings over every registered trust store (or
    /// one client's): exit 1 when a certificate fails.
    Check(check::CheckArgs),
}

/// Where the registry is: a store, a server config, or a running server.
#[derive(Debug, Args)]
struct Target {
    /// The store: sqlite://PATH or postgres://USER:PASSWORD@HOST/DB.
    #[arg(long, value_name = "URL", conflicts_with_all = ["config", "server"])]
    store: Option<String>,
    /// `certbound serve`'s config file: its store and its policy
    /// (require_subject_constraint). With --server, the file of the --tls profile.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// A running server (https://HOST:PORT): work through its admin API.
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// File holding the server's admin token [default: the CERTBOUND_ADMIN_TOKEN
    /// environment variable].
    #[arg(long, value_name = "FILE", requires = "server")]
    admin_token_file: Option<PathBuf>,
    /// CA certificate(s) that verify --server [default: the system's roots].
    #[arg(
        long,
        visible_alias = "cacert",
        value_name = "FILE",
        requires = "server",
        conflicts_with = "tls"
    )]
    ca: Option<PathBuf>,
    /// An admin client certificate to present to --server (with --key).
    #[arg(long, value_name = "FILE", requires_all = ["server", "key"], conflicts_with = "tls")]
    cert: Option<PathBuf>,
    /// Private key of --cert.
    #[arg(long, value_name = "FILE", requires = "cert", conflicts_with = "tls")]
    key: Option<PathBuf>,
    /// Reach --server with the TLS profile [tls.NAME] of --config.
    #[arg(long, value_name = "NAME", requires_all = ["server", "config"])]
    tls: Option<String>,
    /// Seconds allowed for connecting to --server, and again for the handshake.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT_SECS)]
    timeout: u64,
}

#[derive(Debug, Args)]
struct AddArgs {
    /// The client's name (shown in lists; `list --name` matches it).
    #[arg(long, value_name = "NAME")]
    name: String,
    /// PEM file: the client's self-signed certificate(s) and/or the CA
    /// certificate(s) that issue its certificates.
    #[arg(long, value_name = "FILE")]
    trust_store: Option<PathBuf>,
    /// File holding a secret (at least 16 characters) for a client that
    /// cannot use mTLS; only its hash is stored.
    #[arg(long, value_name = "FILE")]
    secret_file: Option<PathBuf>,
    /// The https URL of the client's JWKS, for `private_key_jwt` (SMART
    /// Backend Services): its assertions are verified with those keys.
    #[arg(long, value_name = "URL", conflicts_with = "jwks_file")]
    jwks_uri: Option<String>,
    /// JSON file of the client's public keys (a JWKS), for `private_key_jwt`.
    #[arg(long, value_name = "FILE")]
    jwks_file: Option<PathBuf>,
    /// Issue tokens only on connections with a client certificate, always
    /// bound to it (RFC 8705 §3.4).
    #[arg(long)]
    bound_tokens: bool,
    /// The client_id [default: a random UUID].
    #[arg(long, value_name = "ID")]
    id: Option<String>,
    /// Only certificates with this subject DN act as the client (RFC 8705 §2.1.2).
    #[arg(long, value_name = "DN")]
    subject_dn: Option<String>,
    /// Only certificates with this DNS SAN act as the client.
    #[arg(long, value_name = "HOST")]
    san_dns: Option<String>,
    /// Only certificates with this URI SAN act as the client.
    #[arg(long, value_name = "URI")]
    san_uri: Option<String>,
    /// Only certificates with this IP address SAN act as the client.
    #[arg(long, value_name = "ADDRESS")]
    san_ip: Option<String>,
    /// Only certificates with this email SAN act as the client.
    #[arg(long, value_name = "EMAIL")]
    san_email: Option<String>,
    /// Scopes the client may ask for, space-separated [default: any].
    #[arg(long, value_name = "SCOPE")]
    scope: Option<String>,
    /// Lifetime of its access tokens in seconds [default: the server's].
    #[arg(long, value_name = "SECONDS")]
    token_lifetime: Option<u64>,
    /// Print the registered resource as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    target: Target,
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Only clients with this name (ignoring case).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Print the FHIR Bundle of the resources, as the admin API returns it.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    target: Target,
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// The client_id.
    id: String,
    /// Print the resource as JSON, as the admin API returns it.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    target: Target,
}

#[derive(Debug, Args)]
struct RemoveArgs {
    /// The client_id.
    id: String,
    #[command(flatten)]
    target: Target,
}

pub fn run(args: ClientArgs) -> Result<ExitCode> {
    match args.command {
        ClientCommand::Add(a) => add(*a),
        ClientCommand::List(a) => list(a),
        ClientCommand::Show(a) => show(a),
        ClientCommand::Remove(a) => remove(a),
        ClientCommand::Disable(a) => set_status(a, ClientStatus::Off),
        ClientCommand::Enable(a) => set_status(a, ClientStatus::Active),
        ClientCommand::Check(a) => check::run(a),
    }
}

/// A JWKS file: JSON, an object; the keys themselves are checked on registration.
fn read_jwks(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the JWKS file {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not JSON; expected a JWKS ({{\"keys\": [...]}}) with the client's public keys",
            path.display()
        )
    })?;
    Ok(value)
}

fn add(args: AddArgs) -> Result<ExitCode> {
    let trust_store = args
        .trust_store
        .as_deref()
        .map(read_trust_store)
        .transpose()?;
    let secret = args.secret_file.as_deref().map(read_secret).transpose()?;
    let jwks = args.jwks_file.as_deref().map(read_jwks).transpose()?;
    let app = ClientApplication {
        resource_type: RESOURCE_TYPE.to_string(),
        id: Some(
            args.id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        ),
        name: args.name.clone(),
        certificate_trust_store: trust_store,
        tls_client_auth_subject_dn: args.subject_dn.clone(),
        tls_client_auth_san_dns: args.san_dns.clone(),
        tls_client_auth_san_uri: args.san_uri.clone(),
        tls_client_auth_san_ip: args.san_ip.clone(),
        tls_client_auth_san_email: args.san_email.clone(),
        scope: args.scope.clone(),
        access_token_lifetime: args.token_lifetime,
        jwks,
        jwks_uri: args.jwks_uri.clone(),
        tls_client_certificate_bound_access_tokens: args.bound_tokens.then_some(true),
        ..ClientApplication::default()
    };
    let registry = Registry::open(&args.target, true)?;
    let resource = registry.add(app, secret);
    // Where to get a token: asked only of a registration that went through.
    let (token_url, server_ca) = match (&resource, args.json) {
        (Ok(_), false) => (registry.token_url(), registry.server_ca()),
        _ => (None, None),
    };
    registry.close();
    let resource = resource?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&resource)?);
        return Ok(ExitCode::SUCCESS);
    }
    let hints = render::Hints {
        token_url,
        server_ca,
        trust_store: args.trust_store.as_deref(),
        secret_file: args.secret_file.as_deref(),
    };
    print!(
        "{}",
        render::added(&resource, &hints, OffsetDateTime::now_utc(), color_stdout())
    );
    Ok(ExitCode::SUCCESS)
}

fn list(args: ListArgs) -> Result<ExitCode> {
    let registry = Registry::open(&args.target, false)?;
    let resources = registry.list(args.name.as_deref());
    registry.close();
    let resources = resources?;
    if args.json {
        let bundle = json!({
            "resourceType": "Bundle",
            "type": "searchset",
            "total": resources.len(),
            "entry": resources.iter().map(|r| json!({"resource": r})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&bundle)?);
    } else {
        print!(
            "{}",
            render::table(&resources, OffsetDateTime::now_utc(), args.name.as_deref())
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn show(args: ShowArgs) -> Result<ExitCode> {
    let registry = Registry::open(&args.target, false)?;
    let resource = registry.get(&args.id);
    registry.close();
    let Some(resource) = resource? else {
        return Err(not_registered(&args.id));
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&resource)?);
    } else {
        print!(
            "{}",
            render::resource(&resource, OffsetDateTime::now_utc(), color_stdout())
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn remove(args: RemoveArgs) -> Result<ExitCode> {
    let registry = Registry::open(&args.target, false)?;
    let removed = registry.remove(&args.id);
    registry.close();
    if !removed? {
        return Err(not_registered(&args.id));
    }
    println!("removed client {}", args.id);
    Ok(ExitCode::SUCCESS)
}

/// `client disable` / `client enable`: set the status, keep every other field.
fn set_status(args: RemoveArgs, status: ClientStatus) -> Result<ExitCode> {
    let registry = Registry::open(&args.target, false)?;
    let changed = registry.set_status(&args.id, status);
    registry.close();
    let id = &args.id;
    match changed? {
        None => return Err(not_registered(id)),
        Some(false) => println!("client {id} is {status} already"),
        Some(true) if status == ClientStatus::Off => println!(
            "client {id} is off: it gets invalid_client and its tokens are refused, on every \
             instance within a second; `certbound client enable {id}` lets it in again"
        ),
        Some(true) => println!("client {id} is active again: its unexpired tokens work again"),
    }
    Ok(ExitCode::SUCCESS)
}

fn not_registered(id: &str) -> anyhow::Error {
    anyhow!("no client `{id}` is registered; `certbound client list` shows the registered ids")
}

/// Read the trust store as PEM text; DER is refused with the command that converts it.
fn read_trust_store(path: &Path) -> Result<String> {
    let bytes = files::read_input(path, "the trust store")?;
    String::from_utf8(bytes).map_err(|_| {
        usage(format!(
            "the trust store {0} is not PEM text (it looks like DER): convert it with \
             `openssl x509 -inform DER -in {0} -out {0}.pem` and pass the .pem file",
            path.display()
        ))
    })
}

/// Read a client secret: the file's text without surrounding white space.
fn read_secret(path: &Path) -> Result<String> {
    let bytes = files::read_input(path, "the secret file")?;
    let secret = String::from_utf8(bytes)
        .map_err(|_| usage(format!("the secret file {} is not text", path.display())))?
        .trim()
        .to_string();
    if secret.chars().count() < MIN_SECRET_LEN {
        return Err(usage(format!(
            "the secret in {} is {} characters long; use at least {MIN_SECRET_LEN}, e.g. \
             `openssl rand -hex 32 > {}`",
            path.display(),
            secret.chars().count(),
            path.display()
        )));
    }
    Ok(secret)
}

/// The message for a client that failed validation: every field, one a line.
pub fn invalid(fields: &[(String, String)]) -> anyhow::Error {
    let mut msg = format!(
        "the client was not registered: {} problem{} (nothing was stored):",
        fields.len(),
        if fields.len() == 1 { "" } else { "s" }
    );
    for (field, message) in fields {
        msg.push_str(&format!("\n  {field}: {message}"));
    }
    anyhow!(msg)
}

/// The registry the command works on.
#[derive(Debug)]
enum Registry {
    Local(Local),
    Remote(Remote),
}

/// A store opened by this process, with its own runtime.
#[derive(Debug)]
struct Local {
    runtime: tokio::runtime::Runtime,
    store: Arc<dyn Store>,
    policy: Policy,
    /// The token endpoint named by --config, when there is one.
    token_url: Option<String>,
}

impl Registry {
    /// Open what `target` names. `create` allows a new SQLite file (for `add`).
    fn open(target: &Target, create: bool) -> Result<Registry> {
        if let Some(server) = &target.server {
            if target.config.is_some() && target.tls.is_none() {
                return Err(usage(
                    "with --server, --config only names the file of a --tls profile: pass \
                     --tls NAME too, or drop --server to work on the config's store directly",
                ));
            }
            let tls = ClientTlsArgs {
                cert: target.cert.clone(),
                key: target.key.clone(),
                key_password_file: None,
                ca: target.ca.clone(),
                tls: target.tls.clone(),
                config: target.config.clone(),
                timeout: target.timeout,
            };
            let token = admin_token(target.admin_token_file.as_deref())?;
            let has_identity = target.cert.is_some() || target.tls.is_some();
            if token.is_none() && !has_identity {
                return Err(usage(format!(
                    "the admin API needs the admin token: pass --admin-token-file FILE (the file \
                     the server's [admin] token_file names) or set the environment variable \
                     {ADMIN_TOKEN_ENV}; or present an admin client certificate with --cert and --key"
                )));
            }
            return Ok(Registry::Remote(Remote::new(server, tls, token)?));
        }
        let (url, config) = match (&target.store, &target.config) {
            (Some(url), None) => (url.clone(), None),
            (None, Some(path)) => {
                let config = Config::load(path).map_err(|e| usage(e.to_string()))?;
                (config.store_url.clone(), Some(config))
            }
            _ => {
                return Err(usage(
                    "say where the registry is: --store URL (sqlite://PATH or postgres://...), \
                     --config FILE (certbound serve's config), or --server URL (a running \
                     server's admin API)",
                ));
            }
        };
        if let (true, Some(c)) = (create, &config) {
            // `add` before the first `serve`: make the data directory the server would.
            if sqlite_path(&url).is_some_and(|p| p.parent() == Some(c.data_dir.as_path())) {
                files::ensure_dir(&c.data_dir)?;
            }
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let store = runtime.block_on(open_store(&url, create))?;
        Ok(Registry::Local(Local {
            runtime,
            store,
            policy: Policy {
                require_constraints: config
                    .as_ref()
                    .is_some_and(|c| c.issuer.require_subject_constraint),
                hrex: config.as_ref().is_some_and(|c| c.issuer.hrex),
            },
            token_url: config.as_ref().map(config_token_url),
        }))
    }

    fn close(self) {
        if let Registry::Local(local) = self {
            local.runtime.block_on(local.store.close());
        }
    }

    /// Validate and store a new client; the resource as the admin API shows it.
    fn add(&self, mut app: ClientApplication, secret: Option<String>) -> Result<Value> {
        let local = match self {
            Registry::Remote(r) => return r.add(&app, secret.as_deref()),
            Registry::Local(l) => l,
        };
        if let Some(secret) = secret {
            app.client_secret_hash = Some(
                certbound_oauth::secret::hash_secret(&secret)
                    .context("cannot hash the client secret")?,
            );
        }
        let validated = app
            .validate(local.policy, OffsetDateTime::now_utc())
            .map_err(|e| invalid(&field_list(&e.0)))?;
        let id = app.id.clone().unwrap_or_default();
        let document = serde_json::to_value(&app).context("cannot encode the client as JSON")?;
        let record = local
            .runtime
            .block_on(local.store.create_client(&id, &app.name, &document))
            .map_err(|e| match e {
                StoreError::AlreadyExists { id } => anyhow!(
                    "a client `{id}` is registered already: choose another --id, or remove it \
                     first with `certbound client remove {id}`"
                ),
                other => store_error(other),
            })?;
        Ok(public_view(&record, &validated.warnings))
    }

    fn list(&self, name: Option<&str>) -> Result<Vec<Value>> {
        match self {
            Registry::Remote(r) => r.list(name),
            Registry::Local(l) => Ok(l
                .runtime
                .block_on(l.store.list_clients(name))
                .map_err(store_error)?
                .iter()
                .map(|r| public_view(r, &[]))
                .collect()),
        }
    }

    fn get(&self, id: &str) -> Result<Option<Value>> {
        match self {
            Registry::Remote(r) => r.get(id),
            Registry::Local(l) => Ok(l
                .runtime
                .block_on(l.store.get_client(id))
                .map_err(store_error)?
                .map(|r| public_view(&r, &[]))),
        }
    }

    fn remove(&self, id: &str) -> Result<bool> {
        match self {
            Registry::Remote(r) => r.remove(id),
            Registry::Local(l) => l
                .runtime
                .block_on(l.store.delete_client(id))
                .map_err(store_error),
        }
    }

    /// Set the status of client `id`: `None` when it is not registered,
    /// `Some(false)` when it had that status already.
    fn set_status(&self, id: &str, status: ClientStatus) -> Result<Option<bool>> {
        let local = match self {
            Registry::Remote(r) => return r.set_status(id, status),
            Registry::Local(l) => l,
        };
        let Some(record) = local
            .runtime
            .block_on(local.store.get_client(id))
            .map_err(store_error)?
        else {
            return Ok(None);
        };
        let mut document = record.document.clone();
        let current = match document.get("status") {
            None | Some(Value::Null) => Some(ClientStatus::Active),
            Some(v) => v.as_str().and_then(ClientStatus::parse),
        };
        if current == Some(status) {
            return Ok(Some(false));
        }
        if let Some(obj) = document.as_object_mut() {
            obj.insert("status".into(), status.as_str().into());
        }
        let mut app: ClientApplication =
            serde_json::from_value(document.clone()).context("cannot read the stored client")?;
        app.id = Some(id.to_string());
        app.validate(local.policy, OffsetDateTime::now_utc())
            .map_err(|e| invalid(&field_list(&e.0)))?;
        local
            .runtime
            .block_on(
                local
                    .store
                    .update_client(id, &record.name, &document, Some(record.version)),
            )
            .map_err(|e| match e {
                StoreError::VersionMismatch { current, .. } => anyhow!(
                    "client `{id}` changed while its status was being set (now version \
                     {current}): run the command again"
                ),
                other => store_error(other),
            })?;
        Ok(Some(true))
    }

    /// The policy clients are validated with: the config's, else the default
    /// (a server's own policy is not published).
    fn policy(&self) -> Policy {
        match self {
            Registry::Remote(_) => Policy::default(),
            Registry::Local(l) => l.policy,
        }
    }

    /// The token endpoint clients should call, when known.
    fn token_url(&self) -> Option<String> {
        match self {
            Registry::Remote(r) => Some(
                r.token_endpoint()
                    .unwrap_or_else(|| format!("{}{TOKEN_PATH}", r.base())),
            ),
            Registry::Local(l) => l.token_url.clone(),
        }
    }

    /// The CA file that verifies the server, when the command was given one.
    fn server_ca(&self) -> Option<PathBuf> {
        match self {
            Registry::Remote(r) => r.ca(),
            Registry::Local(_) => None,
        }
    }
}

/// The admin token from `--admin-token-file`, else from the environment.
fn admin_token(file: Option<&Path>) -> Result<Option<String>> {
    if let Some(path) = file {
        let bytes = files::read_input(path, "the admin token file")?;
        let token = String::from_utf8_lossy(&bytes).trim().to_string();
        if token.is_empty() {
            return Err(usage(format!(
                "the admin token file {} is empty: it should hold the token the server's \
                 [admin] token_file holds",
                path.display()
            )));
        }
        return Ok(Some(token));
    }
    Ok(std::env::var(ADMIN_TOKEN_ENV)
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty()))
}

/// The token endpoint of a config: the mTLS listener's public URL, else the issuer's.
fn config_token_url(config: &Config) -> String {
    let mtls = config.listeners.iter().find_map(|l| {
        let asks = l
            .tls
            .as_ref()
            .is_some_and(|p| p.client_auth != certbound_tls::profile::ClientAuth::Off);
        l.public_url.as_deref().filter(|_| asks)
    });
    let base = mtls.unwrap_or(&config.issuer.url).trim_end_matches('/');
    format!("{base}{TOKEN_PATH}")
}

/// The file of an `sqlite:` URL (not `sqlite::memory:`).
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let path = rest.strip_prefix("//").unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Open the store at `url`. Unless `create`, a missing SQLite file is a
/// usage error rather than a new empty database.
pub async fn open_store(url: &str, create: bool) -> Result<Arc<dyn Store>> {
    if let (false, Some(path)) = (create, sqlite_path(url)) {
        if !path.exists() {
            return Err(usage(format!(
                "there is no store at {}: check --store or the config's [store] url (the server \
                 creates the file on its first start, `certbound client add` too)",
                path.display()
            )));
        }
    }
    certbound_store::open(url).await.map_err(store_error)
}

/// The store's errors: exit 2 when the URL or its directory is at fault.
pub fn store_error(e: StoreError) -> anyhow::Error {
    match e {
        StoreError::UnsupportedUrl { .. }
        | StoreError::InvalidUrl { .. }
        | StoreError::MissingDirectory { .. } => usage(e.to_string()),
        other => anyhow::Error::new(other),
    }
}

/// Load `--store` or `--config` into a store URL (for `certbound audit`).
pub fn store_url(store: Option<&str>, config: Option<&Path>) -> Result<String> {
    match (store, config) {
        (Some(url), None) => Ok(url.to_string()),
        (None, Some(path)) => Ok(Config::load(path)
            .map_err(|e| usage(e.to_string()))?
            .store_url),
        _ => Err(usage(
            "say where the store is: --store URL (sqlite://PATH or postgres://...) or --config \
             FILE (certbound serve's config)",
        )),
    }
}

fn field_list(errors: &[FieldError]) -> Vec<(String, String)> {
    errors
        .iter()
        .map(|e| (e.field.to_string(), e.message.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths() {
        assert_eq!(
            sqlite_path("sqlite://a/b.db"),
            Some(PathBuf::from("a/b.db"))
        );
        assert_eq!(
            sqlite_path("sqlite:///a/b.db"),
            Some(PathBuf::from("/a/b.db"))
        );
        assert_eq!(sqlite_path("sqlite:b.db"), Some(PathBuf::from("b.db")));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://h/db"), None);
    }
}
