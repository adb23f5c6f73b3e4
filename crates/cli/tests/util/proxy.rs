//! A real reverse proxy (nginx, HAProxy, Caddy, Apache httpd) as a child
//! process of a test: run in the foreground in its own process group, its
//! output sent to a log file, ready once its TLS port accepts connections, and
//! stopped with its whole process group (workers included) when dropped, even
//! when the test panics. And a TLS client that can sign its handshake with a
//! key that is not its certificate's, to check that the proxy refuses it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use certbound_testkit::wait::poll_until_sync;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::CertifiedKey;

/// How long a proxy may take to start listening.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a proxy may take to exit after SIGTERM before it gets SIGKILL.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts at starting a proxy when the port picked was taken meanwhile.
pub const START_ATTEMPTS: usize = 3;

/// Panic unless `program` is installed, naming the Debian package to install.
#[track_caller]
pub fn require(program: &str, package: &str) {
    assert!(
        Path::new(program).is_file(),
        "{program} is not installed: run `apt-get install -y {package}` \
         (scripts/test.sh installs it), then run the tests again"
    );
}

/// A free TCP port on 127.0.0.1: bound by the OS, then released for the proxy.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap().port()
}

/// A running proxy, stopped when dropped.
pub struct Proxy {
    pub name: &'static str,
    pub port: u16,
    /// Where the proxy's stdout and stderr go (its error log may be elsewhere).
    pub log: PathBuf,
    child: Child,
}

impl Proxy {
    /// Start the proxy `name` on a free port and wait until it listens on it.
    /// `build(port)` writes the config for that port and returns the command
    /// to run. When the proxy exits before listening because the port was
    /// taken meanwhile, another port is tried.
    pub fn start(name: &'static str, dir: &Path, mut build: impl FnMut(u16) -> Command) -> Proxy {
        let mut last = String::new();
        for attempt in 1..=START_ATTEMPTS {
            let port = free_port();
            let log = dir.join(format!("{}-{attempt}.log", name.replace(' ', "-")));
            let out = std::fs::File::create(&log).unwrap();
            let mut command = build(port);
            let cmdline = format!("{command:?}");
            let child = command
                .current_dir(dir)
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("{name}: cannot run {cmdline}: {e}"));
            let mut proxy = Proxy {
                name,
                port,
                log,
                child,
            };
            match proxy.wait_listening() {
                Ok(()) => return proxy,
                Err(why) => {
                    last = format!("{name}: {why}\n$ {cmdline}\n{}", proxy.output());
                    drop(proxy);
                    if !last.to_lowercase().contains("in use") {
                        break;
                    }
                }
            }
        }
        panic!("{last}");
    }

    /// Poll 127.0.0.1:port until it accepts, the child exits, or [`START_TIMEOUT`] passes.
    fn wait_listening(&mut self) -> Result<(), String> {
        let port = self.port;
        poll_until_sync(START_TIMEOUT, || {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(Err(format!(
                    "exited with {status} before listening on 127.0.0.1:{port}"
                )));
            }
            TcpStream::connect_timeout(
                &(Ipv4Addr::LOCALHOST, port).into(),
                Duration::from_millis(200),
            )
            .is_ok()
            .then_some(Ok(()))
        })
        .unwrap_or_else(|| {
            Err(format!(
                "not listening on 127.0.0.1:{port} within {START_TIMEOUT:?}"
            ))
        })
    }

    /// What the proxy printed so far (its error log goes there too), for failure messages.
    pub fn output(&self) -> String {
        format!(
            "--- {} output ({}) ---\n{}",
            self.name,
            self.log.display(),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        )
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // The child leads its own process group: signal the group so that
        // worker processes (nginx, Apache) go too.
        let group = format!("-{}", self.child.id());
        let signal = |sig: &str| {
            let _ = Command::new("kill")
                .args([sig, "--", &group])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        };
        signal("-TERM");
        poll_until_sync(STOP_TIMEOUT, || {
            matches!(self.child.try_wait(), Ok(Some(_))).then_some(())
        });
        // Whatever is left of the group (a worker that outlived its master).
        signal("-KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client certificate resolver that always presents one certificate.
#[derive(Debug)]
struct FixedCert(Arc<CertifiedKey>);

impl rustls::client::ResolvesClientCert for FixedCert {
    fn resolve(
        &self,
        _hints: &[&[u8]],
        _schemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// A token request with rustls over TLS to 127.0.0.1:`port`, presenting the
/// certificate in `cert_file` and signing the handshake (CertificateVerify)
/// with the key in `key_file`, whether or not it is that certificate's (curl
/// refuses a key that does not match). The response's status line, or why the
/// connection failed.
pub fn rustls_token(
    dir: &Path,
    port: u16,
    client_id: &str,
    cert_file: &str,
    key_file: &str,
) -> Result<String, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(dir.join("root.crt")).unwrap())
        .unwrap();
    let cert = CertificateDer::from_pem_file(dir.join(cert_file)).unwrap();
    let signer = provider
        .key_provider
        .load_private_key(PrivateKeyDer::from_pem_file(dir.join(key_file)).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_cert_resolver(Arc::new(FixedCert(Arc::new(CertifiedKey::new(
            vec![cert],
            signer,
        )))));
    let conn =
        rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap())
            .unwrap();
    let tcp =
        TcpStream::connect((Ipv4Addr::LOCALHOST, port)).map_err(|e| format!("connect: {e}"))?;
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let body = format!("grant_type=client_credentials&client_id={client_id}");
    let request = format!(
        "POST /oauth2/token HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut response = Vec::new();
    let outcome = tls
        .write_all(request.as_bytes())
        .and_then(|()| tls.read_to_end(&mut response).map(drop));
    // A response counts even when the server closed without close_notify.
    match String::from_utf8_lossy(&response).lines().next() {
        Some(status) if status.starts_with("HTTP/") => Ok(status.to_string()),
        _ => Err(outcome.err().map_or_else(
            || "closed without a response".to_string(),
            |e| e.to_string(),
        )),
    }
}
