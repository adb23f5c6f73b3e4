//! `certbound sidecar`: plain HTTP in, mTLS and a bound token out, against a
//! real `serve --dev`; the whole chain through the real binaries (`client
//! add`, `serve --config` with a route to an echo upstream, `sidecar --tls
//! NAME --config FILE`), and a certificate that is not registered; usage
//! errors exit 2; SIGTERM stops it cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use certbound_testkit::{LeafOptions, TestPki, self_signed};
use util::process::Server;
use util::{certbound, eventually_ok_sync, eventually_within_sync};

/// GET `path` over plain HTTP/1.1 from `addr` (host:port).
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

#[test]
fn forwards_plain_http_over_mtls_with_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let serve = Server::start(
        d,
        &["serve", "--dev", "--tls-port", "0", "--mtls-port", "0"],
        "Metadata:",
    );
    let mtls = serve.addr("mtls");
    let pki = "certbound-dev/pki";
    let sidecar = Server::start(
        d,
        &[
            "sidecar",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            &format!("https://{mtls}"),
            "--cert",
            &format!("{pki}/demo-client.crt"),
            "--key",
            &format!("{pki}/demo-client.key"),
            "--ca",
            &format!("{pki}/ca.crt"),
            "--token-url",
            &format!("https://{mtls}/oauth2/token"),
            "--client-id",
            "demo-client",
        ],
        "sidecar:",
    );
    let line = sidecar.line("sidecar:");
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let (status, body) = get(&addr, "/healthz");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"status\":\"ok\""), "{body}");
    assert_eq!(sidecar.terminate(), 0);
    drop(serve);
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certbound(
        d,
        &[
            "sidecar",
            "--listen",
            "0.0.0.0:0",
            "--upstream",
            "https://x",
            "--cert",
            "c",
            "--key",
            "k",
        ],
    )
    .code(2)
    .stderr_has("--insecure-listen");
    certbound(d, &["sidecar", "--upstream", "https://x"])
        .code(2)
        .stderr_has("--cert and --key");
    certbound(
        d,
        &[
            "sidecar",
            "--upstream",
            "https://x",
            "--cert",
            "missing.crt",
            "--key",
            "missing.key",
        ],
    )
    .code(2)
    .stderr_has("missing.crt");
    // The partner is called over mTLS only: no plain http:// upstream or token URL.
    let with = |extra: &[&str]| {
        let mut args = vec!["sidecar", "--cert", "c", "--key", "k"];
        args.extend_from_slice(extra);
        certbound(d, &args)
    };
    with(&["--upstream", "http://partner.test"])
        .code(2)
        .stderr_has("must be an https:// URL");
    with(&["--upstream", "https://"]).code(2);
    with(&[
        "--upstream",
        "https://partner.test",
        "--token-url",
        "http://partner.test/oauth2/token",
        "--client-id",
        "me",
    ])
    .code(2)
    .stderr_has("--token-url `http://partner.test/oauth2/token` must be an https:// URL");
    with(&[
        "--upstream",
        "https://partner.test",
        "--token-url",
        "https://partner.test/oauth2/token",
    ])
    .code(2)
    .stderr_has("--client-id");
}

/// An HTTP/1.1 upstream on 127.0.0.1 that answers every request with a JSON
/// echo of it (method, path, lower-cased headers) and records what it saw.
/// One request per connection (it answers `Connection: close`); its thread
/// lives as long as the test process.
struct Echo {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Echo {
    fn start() -> Echo {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let record = Arc::clone(&record);
                std::thread::spawn(move || {
                    let _ = Echo::answer(stream, &record);
                });
            }
        });
        Echo { addr, seen }
    }

    fn answer(stream: TcpStream, record: &Mutex<Vec<serde_json::Value>>) -> std::io::Result<()> {
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or_default().to_string(),
            parts.next().unwrap_or_default().to_string(),
        );
        let mut headers = serde_json::Map::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
                if k == "content-length" {
                    length = v.parse().unwrap_or(0);
                }
                headers.insert(k, v.into());
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let echo = serde_json::json!({
            "method": method,
            "path": path,
            "headers": headers,
            "body": String::from_utf8_lossy(&body),
        });
        record.lock().unwrap().push(echo.clone());
        let text = echo.to_string();
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
            text.len()
        )?;
        stream.flush()
    }

    fn seen(&self) -> Vec<serde_json::Value> {
        self.seen.lock().unwrap().clone()
    }
}

/// A `certbound` child process with stdout and stderr collected line by
/// line; killed and reaped when dropped, on panic too.
struct Proc {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

/// A child's stdout and stderr lines, for failure messages.
fn output(stdout: &Mutex<Vec<String>>, stderr: &Mutex<Vec<String>>) -> String {
    format!(
        "\n--- stdout ---\n{}\n--- stderr ---\n{}",
        stdout.lock().unwrap().join("\n"),
        stderr.lock().unwrap().join("\n")
    )
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// Start `certbound ARGS` in `dir`; wait for a stdout line starting with `ready`.
    fn start(dir: &Path, args: &[&str], ready: &str) -> Proc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_certbound"))
            .args(args)
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        // From here on the guard kills and reaps the child.
        let mut proc = Proc {
            child,
            stdout: Arc::default(),
            stderr: Arc::default(),
        };
        for (stream, lines) in [
            (
                Box::new(out) as Box<dyn Read + Send>,
                Arc::clone(&proc.stdout),
            ),
            (Box::new(err), Arc::clone(&proc.stderr)),
        ] {
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let what = format!("a {ready:?} line from certbound {}", args.join(" "));
        eventually_ok_sync(&what, || {
            let (stdout, stderr) = (&proc.stdout, &proc.stderr);
            if stdout.lock().unwrap().iter().any(|l| l.starts_with(ready)) {
                return Ok(());
            }
            if let Some(status) = proc.child.try_wait().unwrap() {
                panic!(
                    "certbound {} exited early with {status}{}",
                    args.join(" "),
                    output(stdout, stderr)
                );
            }
            Err(output(stdout, stderr))
        });
        proc
    }

    fn line(&self, prefix: &str) -> Option<String> {
        self.stdout
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.starts_with(prefix))
            .cloned()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    fn dump(&self) -> String {
        output(&self.stdout, &self.stderr)
    }

    /// Wait for a stderr line holding `needle`; panics with the output when
    /// none comes.
    fn wait_stderr(&self, needle: &str) {
        eventually_ok_sync(&format!("{needle:?} on stderr"), || {
            if self.stderr().contains(needle) {
                Ok(())
            } else {
                Err(self.dump())
            }
        });
    }

    /// The address after `https://` or `http://` in the stdout line starting with `prefix`.
    fn url_addr(&self, prefix: &str) -> String {
        let line = self
            .line(prefix)
            .unwrap_or_else(|| panic!("no {prefix:?} line{}", self.dump()));
        line.split("://")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    }

    /// SIGTERM, then the exit code: within 15 s (the 10 s drain timeout and
    /// a margin).
    fn terminate(mut self) -> Option<i32> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        eventually_within_sync(
            "stopping after SIGTERM",
            Duration::from_secs(15),
            || match self.child.try_wait().unwrap() {
                Some(status) => Ok(status.code()),
                None => Err(output(&self.stdout, &self.stderr)),
            },
        )
    }
}

/// An HTTP/1.1 answer read to the end of the connection.
struct Answer {
    status: u16,
    /// The header lines, lower-cased names.
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

/// GET `path` over plain HTTP/1.1 from `addr`, with extra header lines; a
/// chunked body is decoded.
fn call(addr: &str, path: &str, extra: &str) -> Answer {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        let mut out = String::new();
        let mut rest = body;
        loop {
            let (size, after) = rest.split_once("\r\n").unwrap();
            let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
            if size == 0 {
                break;
            }
            out.push_str(&after[..size]);
            rest = &after[size + 2..];
        }
        out
    } else {
        body.to_string()
    };
    Answer {
        status,
        headers,
        body,
    }
}

/// The whole chain through the real binaries: `client add --config`
/// registers `partner`; `serve --config` has an mTLS listener and a
/// bound-token `[[route]]` for `/api/` to an echo upstream; `sidecar --tls
/// partner --config client.toml` (a client profile with cert, key and ca)
/// fetches a token with that certificate and attaches it. A plain HTTP
/// request to the sidecar reaches the echo with `x-client-id` and the token.
/// A sidecar whose profile holds an unregistered certificate gets no token:
/// the route's 401 comes back to the application as it is.
#[test]
fn tls_profile_through_serve_and_a_route_to_the_upstream() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = TestPki::new();
    std::fs::write(d.join("root.crt"), pki.root.cert_pem()).unwrap();
    pki.root
        .issue(&LeafOptions::server("localhost").around_now())
        .write(d, "server", &[]);
    let partner = self_signed(&LeafOptions::client("partner").around_now());
    partner.write(d, "partner", &[]);
    self_signed(&LeafOptions::client("intruder").around_now()).write(d, "intruder", &[]);
    let echo = Echo::start();
    std::fs::write(
        d.join("certbound.toml"),
        format!(
            r#"data_dir = "data"
[issuer]
url = "https://localhost"
[tls.server]
cert = "server.crt"
key = "server.key"
client_auth = "required"
[[listener]]
name = "mtls"
bind = "127.0.0.1:0"
tls = "server"
[[route]]
prefix = "/api/"
upstream = "http://{}"
"#,
            echo.addr
        ),
    )
    .unwrap();
    // The sidecar's own config: client profiles only.
    std::fs::write(
        d.join("client.toml"),
        r#"[tls.partner]
cert = "partner.crt"
key = "partner.key"
ca = "root.crt"
[tls.intruder]
cert = "intruder.crt"
key = "intruder.key"
ca = "root.crt"
"#,
    )
    .unwrap();
    certbound(
        d,
        &[
            "client",
            "add",
            "--name",
            "Partner",
            "--id",
            "partner",
            "--trust-store",
            "partner.crt",
            "--config",
            "certbound.toml",
        ],
    )
    .code(0)
    .stdout_has("registered client partner");

    let serve = Proc::start(d, &["serve", "--config", "certbound.toml"], "issuer: ");
    let mtls = serve.url_addr("listening: mtls ");
    let sidecar_args = |profile: &'static str| {
        [
            "sidecar",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            &format!("https://{mtls}"),
            "--tls",
            profile,
            "--config",
            "client.toml",
            "--token-url",
            &format!("https://{mtls}/oauth2/token"),
            "--client-id",
            "partner",
        ]
        .map(str::to_string)
    };
    let args = sidecar_args("partner");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let sidecar = Proc::start(d, &args, "sidecar: ");
    assert_eq!(
        sidecar.line("sidecar: ").unwrap(),
        format!(
            "sidecar: http://{} → https://{mtls}",
            sidecar.url_addr("sidecar: ")
        )
    );
    let addr = sidecar.url_addr("sidecar: ");
    assert!(
        addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"),
        "{addr}"
    );

    let r = call(&addr, "/api/orders?id=7", "");
    assert_eq!(
        r.status,
        200,
        "{}{}{}",
        r.body,
        sidecar.dump(),
        serve.dump()
    );
    let echoed = r.json();
    assert_eq!(echoed["method"], "GET");
    assert_eq!(echoed["path"], "/api/orders?id=7");
    assert_eq!(echoed["headers"]["x-client-id"], "partner");
    assert_eq!(
        echoed["headers"]["x-client-cert-thumbprint"],
        certbound_pki::x5t_s256(&partner.cert).as_str()
    );
    let token = echoed["headers"]["authorization"]
        .as_str()
        .and_then(|a| a.strip_prefix("Bearer "))
        .unwrap_or_else(|| panic!("no Bearer token upstream: {echoed}"));
    let claims = {
        use base64::Engine;
        let payload = token.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
    };
    assert_eq!(claims["client_id"], "partner");
    assert_eq!(claims["iss"], "https://localhost");
    assert_eq!(
        claims["cnf"]["x5t#S256"],
        certbound_pki::x5t_s256(&partner.cert).as_str()
    );
    assert_eq!(echo.seen(), vec![echoed.clone()]);
    sidecar.wait_stderr("access token obtained");
    assert_eq!(sidecar.terminate(), Some(0));

    // A profile whose certificate is not registered: the token endpoint
    // refuses it, the sidecar still starts, and a request finds no token:
    // the sidecar answers 503 with what the token endpoint said and sends
    // nothing upstream (the app's own Authorization never goes anywhere).
    let args = sidecar_args("intruder");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let intruder = Proc::start(d, &args, "sidecar: ");
    intruder.wait_stderr(
        "cannot obtain the first access token; retrying in the background error=the token endpoint refused (401 Unauthorized): invalid_client",
    );
    let addr = intruder.url_addr("sidecar: ");
    let r = call(
        &addr,
        "/api/orders?id=8",
        "Authorization: Bearer from-the-app\r\n",
    );
    assert_eq!(r.status, 503, "{}{}", r.body, intruder.dump());
    let body = r.json();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(body["token_endpoint"]["status"], 401, "{body}");
    assert_eq!(body["token_endpoint"]["error"], "invalid_client", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("the request was not forwarded"),
        "{body}"
    );
    assert_eq!(echo.seen().len(), 1, "{:?}", echo.seen());
    assert_eq!(intruder.terminate(), Some(0));
    drop(serve);
}

/// A TCP listener on 127.0.0.1 that counts the connections made to it (and
/// closes them): an upstream that must never be reached.
struct Untouched {
    addr: SocketAddr,
    count: Arc<Mutex<usize>>,
}

impl Untouched {
    fn start() -> Untouched {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let count = Arc::new(Mutex::new(0));
        let seen = Arc::clone(&count);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                *seen.lock().unwrap() += 1;
                drop(stream);
            }
        });
        Untouched { addr, count }
    }

    fn connections(&self) -> usize {
        *self.count.lock().unwrap()
    }
}

/// With `--token-url`, a request that finds no token is answered 503 with
/// the token endpoint's answer, and nothing is sent upstream; the same
/// request without `--token-url` is forwarded (the accept case beside it).
#[test]
fn without_a_token_nothing_is_sent_upstream_and_the_app_is_told_why() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let serve = Server::start(
        d,
        &["serve", "--dev", "--tls-port", "0", "--mtls-port", "0"],
        "Metadata:",
    );
    let mtls = serve.addr("mtls");
    let pki = "certbound-dev/pki";
    let upstream = Untouched::start();
    let base = [
        "sidecar".to_string(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--upstream".into(),
        format!("https://{}", upstream.addr),
        "--cert".into(),
        format!("{pki}/demo-client.crt"),
        "--key".into(),
        format!("{pki}/demo-client.key"),
        "--ca".into(),
        format!("{pki}/ca.crt"),
    ];
    // The token endpoint refuses: no client `nobody` is registered.
    let mut args = base.to_vec();
    args.extend([
        "--token-url".into(),
        format!("https://{mtls}/oauth2/token"),
        "--client-id".into(),
        "nobody".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let sidecar = Proc::start(d, &args, "sidecar: ");
    let addr = sidecar.url_addr("sidecar: ");
    for attempt in 0..3 {
        let r = call(&addr, "/orders", "Authorization: Bearer from-the-app\r\n");
        assert_eq!(
            r.status,
            503,
            "attempt {attempt}: {}{}",
            r.body,
            sidecar.dump()
        );
        assert_eq!(r.header("retry-after"), Some("1"), "{:?}", r.headers);
        let body = r.json();
        assert_eq!(body["error"], "temporarily_unavailable", "{body}");
        assert_eq!(
            body["token_endpoint"]["url"],
            format!("https://{mtls}/oauth2/token")
        );
        assert_eq!(body["token_endpoint"]["status"], 401, "{body}");
        assert_eq!(body["token_endpoint"]["error"], "invalid_client", "{body}");
        let description = body["error_description"].as_str().unwrap();
        assert!(
            description.contains("no valid access token") && description.contains("invalid_client"),
            "{body}"
        );
    }
    assert_eq!(upstream.connections(), 0, "nothing may reach the upstream");
    drop(sidecar);

    // Without --token-url the sidecar forwards (here to a listener that
    // closes the connection: a 502, but the upstream was reached).
    let args: Vec<&str> = base.iter().map(String::as_str).collect();
    let plain = Proc::start(d, &args, "sidecar: ");
    let r = call(&plain.url_addr("sidecar: "), "/orders", "");
    assert_eq!(r.status, 502, "{}{}", r.body, plain.dump());
    assert!(upstream.connections() >= 1);
    drop(serve);
}
