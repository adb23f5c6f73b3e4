//! Everything the servers under test need, made fresh in a temporary
//! directory: a test PKI, certbound's config with the bench client registered
//! in its store (and, for the gateway benchmark, a `[[route]]`; for the
//! registry benchmark, a store filled beforehand and no client of its own), and an nginx
//! config that asks for the same client certificate and either answers itself
//! or proxies to the upstream. The servers run as child processes so that the
//! kernel's accounting of their CPU time and memory can be read from /proc,
//! and they are stopped when the benchmark ends, however it ends.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use certbound_oauth::client::{ClientApplication, Policy, RESOURCE_TYPE};
use certbound_testkit::{Ca, Leaf, LeafOptions};

/// The registered client's id, and the CN its certificate carries.
pub const CLIENT_ID: &str = "bench-client";
/// Organization of the bench client's certificate (the testkit's default).
pub const CLIENT_ORG: &str = "certbound tests";
/// How long a server may take to start listening.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stopped server may take to exit before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// The PKI of the run.
#[derive(Debug)]
pub struct Pki {
    pub ca: Ca,
    pub server: Leaf,
    pub client: Leaf,
}

impl Pki {
    /// A root CA, a server certificate for localhost and 127.0.0.1, and a
    /// client certificate the CA issued; all ECDSA P-256, valid around now.
    pub fn new() -> Self {
        let ca = Ca::root("certbound bench Root CA", "certbound bench");
        let server = ca.issue(&LeafOptions::server("localhost").around_now());
        let client = ca.issue(&LeafOptions::client(CLIENT_ID).around_now());
        Self { ca, server, client }
    }

    /// Write `ca.crt`, `server.crt` and `server.key` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::write(dir.join("ca.crt"), self.ca.cert_pem()).context("writing ca.crt")?;
        self.server.write(dir, "server", &[]);
        Ok(())
    }
}

impl Default for Pki {
    fn default() -> Self {
        Self::new()
    }
}

/// Write to `out` a CRL of the client's CA (current for 7 days) listing
/// `serials` made-up serials, none of them the client's.
pub fn write_crl(pki: &Pki, serials: usize, out: &Path) -> Result<()> {
    use certbound_pki::generate::Signer;
    use certbound_pki::generate::crl::RevokedEntry;
    use certbound_pki::revocation::Reason;
    let signer = Signer::new(
        pki.ca.cert.clone().into_owned(),
        pki.ca.key_pem().as_bytes(),
    )
    .map_err(|e| anyhow::anyhow!("the bench CA cannot sign: {e}"))?;
    let now = time::OffsetDateTime::now_utc();
    let entries: Vec<RevokedEntry> = (0..serials as u64)
        .map(|i| {
            // 16-byte positive serials, as CAs make them; the client's is random.
            let mut serial = vec![0x7f, 0xc3, 0x5a];
            serial.extend_from_slice(&[0; 5]);
            serial.extend_from_slice(&i.to_be_bytes());
            RevokedEntry {
                serial,
                revoked_at: now - time::Duration::days(1),
                reason: Reason::KeyCompromise,
            }
        })
        .collect();
    let crl = signer
        .crl(&entries, 1, now - time::Duration::hours(1), 7)
        .map_err(|e| anyhow::anyhow!("making the CRL: {e}"))?;
    std::fs::write(out, crl.pem).context("writing the CRL")?;
    Ok(())
}

/// A child process that is stopped (SIGTERM, then SIGKILL) when dropped.
#[derive(Debug)]
pub struct Server {
    pub name: &'static str,
    pub addr: SocketAddr,
    child: Child,
    /// Where its diagnostics go, shown when it fails.
    pub log: PathBuf,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fail with the server's log when it has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Ok(Some(status)) = self.child.try_wait() {
            bail!(
                "{} exited ({status}); its log {}:\n{}",
                self.name,
                self.log.display(),
                tail(&self.log)
            );
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // Graceful first: nginx's master takes its workers down with it.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last lines of a log file.
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Write certbound's config (with `extra` TOML appended, e.g. `[[route]]`s),
/// register the bench client in its store, start `certbound serve --config`
/// and wait until it says where it listens.
pub async fn start_certbound(bin: &Path, dir: &Path, pki: &Pki, extra: &str) -> Result<Server> {
    start_certbound_on(bin, dir, pki, &sqlite_url(dir)?, extra).await
}

/// The SQLite store [`start_certbound`] starts certbound on in `dir`.
fn sqlite_url(dir: &Path) -> Result<String> {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).context("creating the data directory")?;
    Ok(format!("sqlite://{}", data.join("certbound.db").display()))
}

/// [`start_certbound`] on the store at `store_url` (a PostgreSQL database, say).
pub async fn start_certbound_on(
    bin: &Path,
    dir: &Path,
    pki: &Pki,
    store_url: &str,
    extra: &str,
) -> Result<Server> {
    register_client(store_url, pki).await?;
    spawn_certbound(bin, dir, store_url, extra, START_TIMEOUT)
}

/// Write certbound's config in `dir` (the store at `store_url`, with `extra`
/// TOML appended; `dir` holds `server.crt` and `server.key`), start
/// `certbound serve --config` and wait up to `timeout` until it says where
/// it listens. Registers no client: the store holds whatever it holds.
pub fn spawn_certbound(
    bin: &Path,
    dir: &Path,
    store_url: &str,
    extra: &str,
    timeout: Duration,
) -> Result<Server> {
    std::fs::create_dir_all(dir.join("data")).context("creating the data directory")?;
    let config = dir.join("certbound.toml");
    std::fs::write(
        &config,
        format!(
            r#"# Written by the benchmark: one mTLS listener that asks every client for a
# certificate and leaves trust to the token endpoint and routes (no client_ca).
data_dir = "data"
[store]
url = "{store_url}"
[issuer]
url = "https://localhost"
[tls.bench]
cert = "server.crt"
key = "server.key"
client_auth = "required"
[[listener]]
name = "bench"
bind = "127.0.0.1:0"
tls = "bench"
{extra}"#
        ),
    )
    .context("writing certbound.toml")?;
    let log = dir.join("certbound.log");
    let mut child = Command::new(bin)
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).context("creating certbound.log")?)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let stdout = child.stdout.take().context("certbound's stdout")?;
    let mut server = Server {
        name: "certbound",
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        child,
        log,
    };
    // `serve` prints `listening: bench https://ADDR (mTLS)` once bound.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let addr = line
                .strip_prefix("listening: bench https://")
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|a| a.parse::<SocketAddr>().ok());
            if let Some(addr) = addr {
                let _ = tx.send(addr);
            }
        }
    });
    let deadline = Instant::now() + timeout;
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(addr) => {
                server.addr = addr;
                return Ok(server);
            }
            Err(_) if Instant::now() < deadline => server.check_alive()?,
            Err(_) => bail!(
                "certbound did not report a listener within {}s; its log:\n{}",
                timeout.as_secs(),
                tail(&server.log)
            ),
        }
    }
}

/// Register the bench client the way `serve --dev` registers its demo client:
/// the CA as its trust store, constrained to the client's subject DN.
async fn register_client(store_url: &str, pki: &Pki) -> Result<()> {
    let store = certbound_store::open(store_url)
        .await
        .context("opening the store")?;
    let client = ClientApplication {
        resource_type: RESOURCE_TYPE.into(),
        id: Some(CLIENT_ID.into()),
        name: "bench client".into(),
        certificate_trust_store: Some(pki.ca.cert_pem()),
        tls_client_auth_subject_dn: Some(format!("CN={CLIENT_ID},O={CLIENT_ORG}")),
        ..ClientApplication::default()
    };
    let doc = serde_json::to_value(&client).context("serializing the client")?;
    store
        .create_client(CLIENT_ID, &client.name, &doc)
        .await
        .context("registering the bench client")?;
    store.close().await;
    Ok(())
}

/// Register, in the store that [`start_certbound`] starts certbound on in
/// `dir` (call it first), a second client that authenticates by
/// `private_key_jwt` alone: its public keys inline (`jwks`), no trust store.
/// On the bench's mTLS connections its tokens are still bound to the
/// certificate presented.
pub async fn register_jwt_client(
    dir: &Path,
    client_id: &str,
    jwks: serde_json::Value,
) -> Result<()> {
    let client = ClientApplication {
        resource_type: RESOURCE_TYPE.into(),
        id: Some(client_id.into()),
        name: "bench private_key_jwt client".into(),
        jwks: Some(jwks),
        ..ClientApplication::default()
    };
    client
        .validate(Policy::default(), time::OffsetDateTime::now_utc())
        .context("the private_key_jwt bench client")?;
    let store = certbound_store::open(&sqlite_url(dir)?)
        .await
        .context("opening the store")?;
    let doc = serde_json::to_value(&client).context("serializing the client")?;
    store
        .create_client(client_id, &client.name, &doc)
        .await
        .context("registering the private_key_jwt bench client")?;
    store.close().await;
    Ok(())
}

/// A free port on 127.0.0.1: bound to port 0, learned, released.
fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Write an nginx config that verifies client certificates against the CA
/// (`ssl_verify_client on`) and answers a fixed JSON body, then start nginx in
/// the foreground with everything it writes kept in `dir`.
pub fn start_nginx(bin: &Path, dir: &Path, workers: usize) -> Result<Server> {
    let comment = "# Written by bench-token: TLS with a required, verified client certificate,\n\
                   # and a fixed 200 answer: what nginx costs for the handshake alone.";
    let location = r#"location / {
            default_type application/json;
            return 200 '{"ok":true}';
        }"#;
    spawn_nginx(bin, dir, "nginx", workers, comment, "", location)
}

/// What nginx passes the upstream about the client, besides the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forwarding {
    /// Nothing: the request as it came.
    Nothing,
    /// The client's identity, as certbound's route passes it: the
    /// certificate (`Client-Cert`, here nginx's `$ssl_client_escaped_cert`,
    /// the URL-encoded PEM, as the seed guide's nginx config forwards it),
    /// its subject and fingerprint, and `X-Forwarded-For`.
    Identity,
}

/// Write an nginx config for an mTLS reverse proxy to `upstream` (verified
/// client certificate, `proxy_pass` over kept-alive HTTP/1.1 upstream
/// connections), then start nginx like [`start_nginx`]. Its files are named
/// after `name`, so that several can run from one directory.
pub fn start_nginx_proxy(
    bin: &Path,
    dir: &Path,
    name: &'static str,
    workers: usize,
    upstream: SocketAddr,
    forwarding: Forwarding,
) -> Result<Server> {
    let comment = "# Written by bench-gateway: an mTLS reverse proxy (required, verified client\n\
                   # certificate) to the bench upstream over kept-alive HTTP/1.1 connections.";
    let http = format!(
        r#"upstream bench_upstream {{
        server {upstream};
        keepalive 64;
        keepalive_requests 1000000;
    }}"#
    );
    let identity = match forwarding {
        Forwarding::Nothing => "",
        Forwarding::Identity => {
            r#"
            proxy_set_header Client-Cert $ssl_client_escaped_cert;
            proxy_set_header X-Client-Cert-Subject $ssl_client_s_dn;
            proxy_set_header X-Client-Cert-Thumbprint $ssl_client_fingerprint;
            proxy_set_header X-Forwarded-For $remote_addr;"#
        }
    };
    let location = format!(
        r#"location / {{
            proxy_pass http://bench_upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection "";{identity}
        }}"#
    );
    spawn_nginx(bin, dir, name, workers, comment, &http, &location)
}

/// The config both nginx setups share, with `http` inside the http block and
/// `location` inside the TLS server; nginx started in the foreground, its
/// files in `dir` named after `name`.
fn spawn_nginx(
    bin: &Path,
    dir: &Path,
    name: &'static str,
    workers: usize,
    comment: &str,
    http: &str,
    location: &str,
) -> Result<Server> {
    let port = free_port()?;
    let d = dir.display();
    let conf = dir.join(format!("{name}.conf"));
    let tmp = format!("{name}-tmp");
    std::fs::create_dir_all(dir.join(&tmp)).with_context(|| format!("creating {tmp}"))?;
    std::fs::write(
        &conf,
        format!(
            r#"{comment}
worker_processes {workers};
pid {d}/{name}.pid;
error_log {d}/{name}-error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    client_body_temp_path {d}/{tmp}/body;
    proxy_temp_path {d}/{tmp}/proxy;
    fastcgi_temp_path {d}/{tmp}/fastcgi;
    uwsgi_temp_path {d}/{tmp}/uwsgi;
    scgi_temp_path {d}/{tmp}/scgi;
    {http}
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {d}/server.crt;
        ssl_certificate_key {d}/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_client_certificate {d}/ca.crt;
        ssl_verify_client on;
        {location}
    }}
}}
"#
        ),
    )
    .with_context(|| format!("writing {}", conf.display()))?;
    let log = dir.join(format!("{name}-error.log"));
    let child = Command::new(bin)
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(&log)
        .arg("-c")
        .arg(&conf)
        .args(["-g", "daemon off;"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(
            std::fs::File::create(dir.join(format!("{name}-stderr.log")))
                .with_context(|| format!("creating {name}-stderr.log"))?,
        )
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    Ok(Server {
        name,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        child,
        log,
    })
}

/// nginx's version line, e.g. `nginx/1.22.1`.
pub fn nginx_version(bin: &Path) -> String {
    Command::new(bin)
        .arg("-v")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
        .and_then(|s| s.strip_prefix("nginx version: ").map(str::to_string))
        .unwrap_or_else(|| "nginx".into())
}

/// `nginx` from PATH, else Debian's /usr/sbin/nginx.
pub fn find_nginx() -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("nginx"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"))
}
