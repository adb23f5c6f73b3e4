//! `certbound serve`: `--dev` from nothing, a token through curl and through
//! `certbound token`, the binding checked against openssl's thumbprint,
//! graceful shutdown on SIGTERM and SIGINT, certificates reloaded on SIGHUP,
//! JSON logs, the handshake timeout, and config errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use certbound_testkit::{Leaf, LeafOptions, TestPki};

use util::process::Server;
use util::{certbound, eventually_ok_sync, eventually_within_sync, openssl};

fn shell_words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

fn claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn dev_mode_issues_a_token_bound_to_the_certificate_openssl_sees() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = Server::start(
        d,
        &["serve", "--dev", "--tls-port", "0", "--mtls-port", "0"],
        "Metadata:",
    );
    assert_eq!(
        util::mode(&d.join("certbound-dev/pki/demo-client.key")),
        0o600
    );
    assert_eq!(util::mode(&d.join("certbound-dev/signing-key.pem")), 0o600);

    // The printed curl line works as printed.
    let curl = shell_words(&server.line("curl "));
    let out = Command::new(&curl[0])
        .args(&curl[1..])
        .arg("-sS")
        .current_dir(d)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let response: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(response["token_type"], "Bearer");
    let cnf = claims(response["access_token"].as_str().unwrap())["cnf"]["x5t#S256"]
        .as_str()
        .unwrap()
        .to_string();

    // openssl x509 -outform DER | sha256, base64url without padding.
    openssl(
        d,
        &[
            "x509",
            "-in",
            "certbound-dev/pki/demo-client.crt",
            "-outform",
            "DER",
            "-out",
            "client.der",
        ],
    )
    .code(0);
    openssl(
        d,
        &[
            "dgst",
            "-sha256",
            "-binary",
            "-out",
            "client.sha",
            "client.der",
        ],
    )
    .code(0);
    use base64::Engine;
    let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(std::fs::read(d.join("client.sha")).unwrap());
    assert_eq!(cnf, expected);

    // The printed certbound line works too, and says the token is bound.
    let token = shell_words(&server.line("certbound token"));
    let args: Vec<&str> = token[1..].iter().map(String::as_str).collect();
    certbound(d, &args).code(0).stdout_has(&expected);

    // Without a client certificate the mTLS listener refuses at the handshake.
    let url = curl.last().unwrap().clone();
    let out = Command::new("curl")
        .args([
            "-sS",
            "--cacert",
            "certbound-dev/pki/ca.crt",
            "-d",
            "grant_type=client_credentials",
            "-d",
            "client_id=demo-client",
            &url,
        ])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(!out.status.success());

    assert_eq!(server.terminate(), 0, "SIGTERM shuts down cleanly");

    // A second run reuses the data directory.
    let again = Server::start(
        d,
        &["serve", "--dev", "--tls-port", "0", "--mtls-port", "0"],
        "Metadata:",
    );
    let curl = shell_words(&again.line("curl "));
    let out = Command::new(&curl[0])
        .args(&curl[1..])
        .arg("-sS")
        .current_dir(d)
        .output()
        .unwrap();
    assert!(out.status.success());
    let response: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        claims(response["access_token"].as_str().unwrap())["cnf"]["x5t#S256"],
        expected
    );
}

#[test]
fn config_errors_are_all_reported_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("bad.toml"),
        "[issuer]\ntoken_lifetime = 1\n[tls.server]\ncert = \"missing.crt\"\nkey = \"missing.key\"\n[[listener]]\nbind = \"nowhere\"\ntls = \"server\"\n",
    )
    .unwrap();
    certbound(d, &["serve", "--config", "bad.toml"])
        .code(2)
        .stderr_has("issuer.url")
        .stderr_has("issuer.token_lifetime")
        .stderr_has("tls.server.cert")
        .stderr_has("listener[0].bind");
    std::fs::write(d.join("typo.toml"), "[isuer]\nurl = \"https://a\"\n").unwrap();
    certbound(d, &["serve", "--config", "typo.toml"])
        .code(2)
        .stderr_has("isuer");
    certbound(d, &["serve", "--config", "absent.toml"])
        .code(2)
        .stderr_has("absent.toml");
    certbound(d, &["serve"]).code(2);
}

/// `certbound serve ARGS` with stdout and stderr both captured line by line
/// (util::process::Server drops stderr and only sends SIGTERM); killed when dropped.
struct Serve {
    child: std::process::Child,
    stdout: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

/// A child's stdout and stderr lines, for failure messages.
fn output(stdout: &Mutex<Vec<String>>, stderr: &Mutex<Vec<String>>) -> String {
    format!(
        "\n--- stdout ---\n{}\n--- stderr ---\n{}",
        stdout.lock().unwrap().join("\n"),
        stderr.lock().unwrap().join("\n")
    )
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    /// Start in `dir` and wait for the `issuer:` line, printed after every
    /// `listening:` line.
    fn start(dir: &std::path::Path, args: &[&str]) -> Serve {
        use std::io::BufRead;
        use std::process::Stdio;
        let mut child = Command::new(env!("CARGO_BIN_EXE_certbound"))
            .args(args)
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let serve = Serve {
            child,
            stdout: Default::default(),
            stderr: Default::default(),
        };
        for (stream, lines) in [
            (
                Box::new(out) as Box<dyn std::io::Read + Send>,
                serve.stdout.clone(),
            ),
            (Box::new(err), serve.stderr.clone()),
        ] {
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stream)
                    .lines()
                    .map_while(Result::ok)
                {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let mut serve = serve;
        eventually_ok_sync("serve started", || {
            let (stdout, stderr) = (&serve.stdout, &serve.stderr);
            if stdout
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.starts_with("issuer: "))
            {
                return Ok(());
            }
            if let Some(status) = serve.child.try_wait().unwrap() {
                panic!("serve exited early with {status}{}", output(stdout, stderr));
            }
            Err(output(stdout, stderr))
        });
        serve
    }

    fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    fn dump(&self) -> String {
        output(&self.stdout, &self.stderr)
    }

    /// The address of listener `name`, from its `listening: NAME https://ADDR (KIND)` line.
    fn addr(&self, name: &str) -> String {
        let prefix = format!("listening: {name} ");
        let line = self
            .stdout()
            .into_iter()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line{}", self.dump()));
        let url = line.split_whitespace().nth(2).unwrap().to_string();
        url.split("://").nth(1).unwrap().to_string()
    }

    /// Send `signal` (HUP, INT, TERM) with kill(1).
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Wait for a stderr line holding `needle`, and return it; panics with
    /// the output when none comes.
    fn wait_stderr(&self, needle: &str) -> String {
        eventually_ok_sync(&format!("a stderr line holding {needle:?}"), || {
            self.stderr()
                .into_iter()
                .find(|l| l.contains(needle))
                .ok_or_else(|| self.dump())
        })
    }

    /// The exit code once the process has exited; panics after `within`.
    fn exit_code(&mut self, within: Duration) -> Option<i32> {
        eventually_within_sync("serve exiting", within, || {
            match self.child.try_wait().unwrap() {
                Some(status) => Ok(status.code()),
                None => Err(output(&self.stdout, &self.stderr)),
            }
        })
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

/// A config with one TLS listener `api` on 127.0.0.1:0 serving `server.crt`
/// (CN `cn`, issued by the returned test PKI's root, written as `root.crt`).
fn tls_config(d: &std::path::Path, cn: &str) -> (TestPki, Leaf) {
    let pki = TestPki::new();
    let server = pki.root.issue(&LeafOptions::server(cn).around_now());
    server.write(d, "server", &[]);
    std::fs::write(d.join("root.crt"), pki.root.cert_pem()).unwrap();
    std::fs::write(
        d.join("certbound.toml"),
        r#"
[issuer]
url = "https://localhost"
[tls.server]
cert = "server.crt"
key = "server.key"
[[listener]]
name = "api"
bind = "127.0.0.1:0"
tls = "server"
"#,
    )
    .unwrap();
    (pki, server)
}

/// The leaf certificate a new TLS connection to `addr` is served, verified
/// against `root` for the name `localhost`.
fn served_certificate(
    addr: &str,
    root: &rustls_pki_types::CertificateDer<'static>,
) -> Result<rustls_pki_types::CertificateDer<'static>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root.clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut conn = rustls::ClientConnection::new(
        std::sync::Arc::new(config),
        rustls_pki_types::ServerName::try_from("localhost").unwrap(),
    )
    .unwrap();
    let mut tcp = std::net::TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp)
            .map_err(|e| format!("handshake: {e}"))?;
    }
    conn.peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.clone().into_owned())
        .ok_or_else(|| "no server certificate".to_string())
}

/// Modification time and size of a file: what the certificate file watcher compares.
fn stamp(path: &std::path::Path) -> (std::time::SystemTime, u64) {
    let meta = std::fs::metadata(path).unwrap();
    (meta.modified().unwrap(), meta.len())
}

#[test]
fn sighup_reloads_the_server_certificate_and_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (pki, old) = tls_config(d, "server-one");
    let old = old.cert;
    let mut serve = Serve::start(d, &["serve", "--config", "certbound.toml"]);
    let addr = serve.addr("api");
    assert_eq!(served_certificate(&addr, &pki.root.cert).unwrap(), old);

    // A new certificate and key (another CN and serial) written in place with
    // the old files' size and modification time: the file watcher cannot tell
    // they changed, so only SIGHUP can bring them in.
    let (crt, key) = (d.join("server.crt"), d.join("server.key"));
    let (crt_stamp, key_stamp) = (stamp(&crt), stamp(&key));
    let new = (0..100)
        .map(|_| {
            pki.root
                .issue(&LeafOptions::server("server-two").around_now())
        })
        .find(|leaf| {
            leaf.cert_pem().len() as u64 == crt_stamp.1 && leaf.key_pem.len() as u64 == key_stamp.1
        })
        .expect("a certificate of the same PEM size within 100 tries");
    assert_ne!(new.cert, old);
    new.write(d, "server", &[]);
    for (path, (modified, _)) in [(&crt, crt_stamp), (&key, key_stamp)] {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(modified)
            .unwrap();
    }
    assert_eq!((stamp(&crt), stamp(&key)), (crt_stamp, key_stamp));
    // Longer than the watcher's 2 s interval: still the old certificate.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        served_certificate(&addr, &pki.root.cert).unwrap(),
        old,
        "reloaded without SIGHUP{}",
        serve.dump()
    );

    serve.signal("HUP");
    eventually_ok_sync("the new certificate served after SIGHUP", || {
        let served = served_certificate(&addr, &pki.root.cert);
        if served.as_ref() == Ok(&new.cert) {
            return Ok(());
        }
        let served = served.map(|c| {
            if c == old {
                "the old certificate"
            } else {
                "an unknown certificate"
            }
        });
        Err(format!("the server serves {served:?}{}", serve.dump()))
    });
    serve.wait_stderr("SIGHUP: reloaded the certificates of listener api");
    assert!(serve.running(), "SIGHUP stopped the server{}", serve.dump());
    assert_eq!(served_certificate(&addr, &pki.root.cert).unwrap(), new.cert);
    serve.signal("TERM");
    assert_eq!(serve.exit_code(Duration::from_secs(15)), Some(0));
}

#[test]
fn sigint_shuts_down_gracefully_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (pki, _) = tls_config(d, "localhost");
    let mut serve = Serve::start(d, &["serve", "--config", "certbound.toml"]);
    let addr = serve.addr("api");
    served_certificate(&addr, &pki.root.cert).unwrap();
    serve.signal("INT");
    assert_eq!(
        serve.exit_code(Duration::from_secs(15)),
        Some(0),
        "SIGINT is a clean shutdown, not death by signal{}",
        serve.dump()
    );
    serve.wait_stderr("shutting down: draining connections");
    // Nothing listens any more.
    assert!(std::net::TcpStream::connect(&addr).is_err());
}

#[test]
fn log_format_json_makes_every_log_line_a_json_object() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tls_config(d, "localhost");
    let mut serve = Serve::start(
        d,
        &[
            "serve",
            "--config",
            "certbound.toml",
            "--log-format",
            "json",
        ],
    );
    let addr = serve.addr("api");
    // A log line at run time too: plain HTTP to the TLS listener.
    {
        use std::io::{Read, Write};
        let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        tcp.write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n")
            .unwrap();
        let _ = tcp.read(&mut [0u8; 256]);
    }
    serve.wait_stderr("TLS handshake failed");
    let lines = serve.stderr();
    let logs: Vec<serde_json::Value> = lines
        .iter()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line:?}"));
            assert!(value.is_object(), "{line}");
            assert!(value["timestamp"].is_string(), "{line}");
            assert!(value["level"].is_string(), "{line}");
            assert!(value["fields"]["message"].is_string(), "{line}");
            value
        })
        .collect();
    let listening = logs
        .iter()
        .find(|v| v["fields"]["message"] == "listening")
        .unwrap_or_else(|| panic!("no \"listening\" message{}", serve.dump()));
    assert_eq!(listening["level"], "INFO");
    assert_eq!(listening["fields"]["listener"], "api");
    assert_eq!(listening["fields"]["tls"], true);
    assert!(
        listening["fields"]["addr"]
            .as_str()
            .is_some_and(|a| a.contains(&addr)),
        "{listening}"
    );
    let failed = logs
        .iter()
        .find(|v| v["fields"]["message"] == "TLS handshake failed")
        .unwrap();
    assert_eq!(failed["fields"]["listener"], "api");
    assert!(
        failed["fields"]["reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "{failed}"
    );
    serve.signal("TERM");
    assert_eq!(serve.exit_code(Duration::from_secs(15)), Some(0));
}

#[test]
fn a_connection_that_never_starts_the_handshake_is_closed_after_10_s() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (pki, _) = tls_config(d, "localhost");
    let mut serve = Serve::start(d, &["serve", "--config", "certbound.toml"]);
    let addr = serve.addr("api");
    let mut idle = std::net::TcpStream::connect(&addr).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let start = Instant::now();
    let read = idle.read(&mut [0u8; 64]);
    let elapsed = start.elapsed();
    match &read {
        Ok(0) => {}
        Err(e) => assert!(
            !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "still open after {elapsed:?}: {e}"
        ),
        Ok(n) => panic!("the server sent {n} bytes to a silent client"),
    }
    assert!(
        elapsed >= Duration::from_secs(9) && elapsed < Duration::from_secs(15),
        "closed after {elapsed:?}, not at the 10 s handshake timeout"
    );
    serve.wait_stderr("TLS handshake timed out after 10s");
    // The listener still serves.
    served_certificate(&addr, &pki.root.cert).unwrap();
    assert!(serve.running());
}

/// A config with a TLS listener `api` and an mTLS listener `mtls` (with
/// `mtls_extra` in its section), for the metadata's mTLS alias.
fn two_listener_config(d: &std::path::Path, mtls_extra: &str) {
    tls_config(d, "localhost");
    let mut config = std::fs::read_to_string(d.join("certbound.toml")).unwrap();
    config.push_str(&format!(
        r#"
[tls.mtls]
cert = "server.crt"
key = "server.key"
client_auth = "required"
[[listener]]
name = "mtls"
bind = "127.0.0.1:0"
tls = "mtls"
{mtls_extra}
"#
    ));
    std::fs::write(d.join("certbound.toml"), config).unwrap();
}

const NO_ALIAS_WARNING: &str = "no mTLS listener has a public_url";

#[test]
fn serve_warns_when_mtls_clients_would_be_sent_to_a_listener_without_client_auth() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_listener_config(d, "");
    let serve = Serve::start(d, &["serve", "--config", "certbound.toml"]);
    let line = serve.wait_stderr(NO_ALIAS_WARNING);
    assert!(line.contains("WARN"), "{line}");
    assert!(
        line.contains("clients are sent to https://localhost/oauth2/token"),
        "{line}"
    );
    assert!(line.contains("listener 'api'"), "{line}");
    assert!(line.contains("set public_url on listener 'mtls'"), "{line}");
}

#[test]
fn serve_does_not_warn_when_the_mtls_listener_has_a_public_url() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_listener_config(d, "public_url = \"https://mtls.localhost:8443\"");
    let serve = Serve::start(d, &["serve", "--config", "certbound.toml"]);
    // A log line after start: once it is read, any start-up warning is too.
    {
        use std::io::{Read, Write};
        let mut tcp = std::net::TcpStream::connect(serve.addr("api")).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        tcp.write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n")
            .unwrap();
        let _ = tcp.read(&mut [0u8; 256]);
    }
    serve.wait_stderr("TLS handshake failed");
    assert!(
        !serve.stderr().iter().any(|l| l.contains(NO_ALIAS_WARNING)),
        "{}",
        serve.dump()
    );
}

/// `curl -sS ARGS` in `dir` (with the dev CA): (HTTP status, headers, body).
fn curl_dev(d: &std::path::Path, args: &[&str]) -> (u16, String, String) {
    let out = Command::new("curl")
        .args(["-sS", "-D", "-", "--cacert", "certbound-dev/pki/ca.crt"])
        .args(args)
        .current_dir(d)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (mut head, mut body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    // With -L, the last response's head.
    while body.starts_with("HTTP/") {
        (head, body) = body.split_once("\r\n\r\n").unwrap_or((body, ""));
    }
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    (status, head.to_ascii_lowercase(), body.to_string())
}

#[test]
fn dev_mode_serves_the_console_with_a_one_time_sign_in_link() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let args = ["serve", "--dev", "--tls-port", "0", "--mtls-port", "0"];
    let server = Server::start(d, &args, "Metadata:");
    let issuer = server.line("issuer:").replace("issuer: ", "");
    assert_eq!(
        server.line("console:"),
        format!("console: {issuer}/console")
    );
    let link_line = server.line("sign in (one-time link");
    let link = link_line.split_whitespace().last().unwrap().to_string();
    assert!(
        link.starts_with(&format!("{issuer}/console/signin/link?code=")),
        "{link_line}"
    );
    let token_file = d.join("certbound-dev/admin-token");
    assert_eq!(util::mode(&token_file), 0o600);
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_string();
    assert!(token.len() >= 32, "{token}");

    // The link opens a session once.
    let (status, head, _) = curl_dev(d, &[&link]);
    assert_eq!(status, 303, "{head}");
    assert!(head.contains("location: /console/clients"), "{head}");
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    assert!(
        cookie.starts_with("__secure-certbound-console="),
        "{cookie}"
    );
    let (again, _, body) = curl_dev(d, &[&link]);
    assert_eq!(again, 403, "a used link must not open a second session");
    assert!(body.contains("already used or has expired"), "{body}");
    let (forged, _, _) = curl_dev(
        d,
        &[&format!("{issuer}/console/signin/link?code=forged-code")],
    );
    assert_eq!(forged, 403);

    // The admin API takes the generated token; a wrong one is refused.
    let (ok, _, body) = curl_dev(
        d,
        &[
            "-H",
            &format!("Authorization: Bearer {token}"),
            &format!("{issuer}/admin/ClientApplication"),
        ],
    );
    assert_eq!(ok, 200, "{body}");
    assert!(body.contains("demo-client"), "{body}");
    let (refused, _, _) = curl_dev(
        d,
        &[
            "-H",
            "Authorization: Bearer wrong-token-wrong-token",
            &format!("{issuer}/admin/ClientApplication"),
        ],
    );
    assert_eq!(refused, 403);

    // `/` names the documents and the console, in HTML and in JSON.
    let (status, head, page) = curl_dev(d, &[&format!("{issuer}/")]);
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/html"), "{head}");
    for href in [
        "/.well-known/oauth-authorization-server",
        "/oauth2/jwks",
        "/healthz",
        "/console",
    ] {
        assert!(page.contains(&format!("href=\"{href}\"")), "{href}: {page}");
    }
    let (_, head, json) = curl_dev(
        d,
        &["-H", "Accept: application/json", &format!("{issuer}/")],
    );
    assert!(head.contains("content-type: application/json"), "{head}");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["console"], format!("{issuer}/console"));
    assert_eq!(json["jwks"], format!("{issuer}/oauth2/jwks"));
    assert_eq!(
        json["metadata"],
        format!("{issuer}/.well-known/oauth-authorization-server")
    );
    assert_eq!(json["health"], format!("{issuer}/healthz"));
    drop(server);

    // The next start reuses the token and prints a new link.
    let server = Server::start(d, &args, "Metadata:");
    assert_eq!(
        std::fs::read_to_string(&token_file).unwrap().trim(),
        token,
        "the admin token must survive a restart"
    );
    let second = server.line("sign in (one-time link");
    assert_ne!(second.split_whitespace().last().unwrap(), link);
}

#[test]
fn the_session_from_a_sign_in_link_opens_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = Server::start(
        d,
        &["serve", "--dev", "--tls-port", "0", "--mtls-port", "0"],
        "Metadata:",
    );
    let issuer = server.line("issuer:").replace("issuer: ", "");
    let link = server
        .line("sign in (one-time link")
        .split_whitespace()
        .last()
        .unwrap()
        .to_string();
    let jar = d.join("cookies.txt");
    let jar = jar.to_str().unwrap();
    // Follow the redirect with the cookie the link set.
    let (status, _, page) = curl_dev(d, &["-L", "-c", jar, "-b", jar, &link]);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("demo-client"), "the client list: {page}");
    // Without the cookie: sent to the sign-in form.
    let (status, head, _) = curl_dev(d, &[&format!("{issuer}/console/clients")]);
    assert_eq!(status, 303);
    assert!(head.contains("location: /console/signin"), "{head}");
}

#[test]
fn serve_without_config_or_dev_names_both() {
    let dir = tempfile::tempdir().unwrap();
    certbound(dir.path(), &["serve"])
        .code(2)
        .stderr_has("--config FILE")
        .stderr_has("--dev")
        .stderr_has("certbound init DIR");
}

#[test]
fn a_busy_port_is_reported_once_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let run = certbound(
        d,
        &["serve", "--dev", "--tls-port", &port, "--mtls-port", "0"],
    );
    run.code(1)
        .stderr_has(&format!(
            "cannot listen on 127.0.0.1:{port} (listener `tls`)"
        ))
        .stderr_has("stop it or choose another port");
    assert_eq!(
        run.stderr.matches("in use").count(),
        1,
        "the OS error once: {}",
        run.stderr
    );
}
