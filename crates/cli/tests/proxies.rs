//! Behind real TLS-terminating proxies (issue 6): nginx, HAProxy, Caddy and
//! Apache httpd from Debian's packages, started here on loopback, terminate
//! TLS for the real `curl --cert` and forward the client certificate in a
//! header to a plain-HTTP listener of the real `certbound serve`.
//!
//! The proxy configurations and certbound listener blocks are read from
//! docs/behind-a-proxy.md and run with only their ports and file paths
//! changed, so the documented configurations are the tested ones.
//!
//! Through each proxy: a self-signed client and a CA-issued client with a
//! subject DN constraint get tokens whose `cnf.x5t#S256` is the thumbprint
//! `openssl` computes for their certificate; no certificate, an unrelated CA
//! and a DN outside the constraint are `invalid_client`; a header the client
//! forges is stripped by the proxy, never believed; a certificate presented
//! without its private key is refused in the proxy's handshake. Straight to
//! certbound, the same header authenticates from the trusted proxy address
//! and is ignored, counted and refused from any other address.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "util/proxy.rs"]
mod proxy;
mod util;

use std::fmt;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use certbound_pki::forwarded::{HeaderFormat, encode};
use certbound_testkit::{LeafOptions, TestPki, self_signed};
use proxy::{Proxy, rustls_token};
use util::process::Server;

const ADMIN_TOKEN: &str = "proxies-test-admin-token-0123456789";
/// The documentation the configurations come from.
const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/behind-a-proxy.md");
/// The subject DN constraint of the CA-issued client `partner`.
const PARTNER_DN: &str = "CN=partner,O=certbound tests";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Nginx,
    Haproxy,
    /// HAProxy writing the RFC 9440 `Client-Cert` header instead.
    HaproxyRfc9440,
    Caddy,
    Apache,
}

impl Kind {
    /// The name failure messages use.
    fn name(self) -> &'static str {
        match self {
            Kind::Nginx => "nginx",
            Kind::Haproxy => "HAProxy",
            Kind::HaproxyRfc9440 => "HAProxy (RFC 9440)",
            Kind::Caddy => "Caddy",
            Kind::Apache => "Apache httpd",
        }
    }

    fn program(self) -> (&'static str, &'static str) {
        match self {
            Kind::Nginx => ("/usr/sbin/nginx", "nginx-light"),
            Kind::Haproxy | Kind::HaproxyRfc9440 => ("/usr/sbin/haproxy", "haproxy"),
            Kind::Caddy => ("/usr/bin/caddy", "caddy"),
            Kind::Apache => ("/usr/sbin/apache2", "apache2"),
        }
    }

    /// The heading of the proxy's section in the documentation, and the
    /// language of its configuration blocks.
    fn section(self) -> (&'static str, &'static str) {
        match self {
            Kind::Nginx => ("nginx", "nginx"),
            Kind::Haproxy | Kind::HaproxyRfc9440 => ("HAProxy", "haproxy"),
            Kind::Caddy => ("Caddy", "caddyfile"),
            Kind::Apache => ("Apache httpd", "apache"),
        }
    }

    /// Which `toml` block of the section holds the listener.
    fn listener_block(self) -> usize {
        usize::from(self == Kind::HaproxyRfc9440)
    }

    /// The header as the proxy writes it, and its certbound format.
    fn header(self) -> (&'static str, HeaderFormat) {
        match self {
            Kind::Nginx => ("X-Client-Cert", HeaderFormat::Nginx),
            Kind::Haproxy | Kind::Caddy => ("X-Client-Cert", HeaderFormat::Base64Der),
            Kind::HaproxyRfc9440 => ("Client-Cert", HeaderFormat::Rfc9440),
            Kind::Apache => ("X-Client-Cert", HeaderFormat::Pem),
        }
    }

    /// The proxy's site configuration from the documentation, for `port`,
    /// the files in `dir` and the certbound listener at `upstream`.
    fn site(self, dir: &str, port: u16, upstream: &str) -> String {
        let (section, lang) = self.section();
        let blocks = doc_blocks(section, lang);
        let site = match self {
            Kind::HaproxyRfc9440 => rfc9440_variant(&blocks[0], &blocks[1]),
            _ => blocks[0].clone(),
        };
        let port = port.to_string();
        let listen = match self {
            Kind::Nginx => ("listen 443 ssl;", format!("listen 127.0.0.1:{port} ssl;")),
            Kind::Haproxy | Kind::HaproxyRfc9440 => {
                ("bind :443 ", format!("bind 127.0.0.1:{port} "))
            }
            Kind::Caddy => ("auth.example.com {", format!("https://localhost:{port} {{")),
            Kind::Apache => ("<VirtualHost *:443>", format!("<VirtualHost *:{port}>")),
        };
        let tls_dir = match self {
            Kind::Nginx => "/etc/nginx/tls/",
            Kind::Haproxy | Kind::HaproxyRfc9440 => "/etc/haproxy/tls/",
            Kind::Caddy => "/etc/caddy/tls/",
            Kind::Apache => "/etc/apache2/tls/",
        };
        substitute(
            self,
            &site,
            &[
                (listen.0, listen.1.as_str()),
                (tls_dir, &format!("{dir}/")),
                ("127.0.0.1:8080", upstream),
            ],
        )
    }

    /// Write the whole configuration (the documented site plus process
    /// settings: foreground, files in `dir`, logs to stderr) and return the
    /// command that runs the proxy in the foreground.
    fn command(self, dir: &Path, port: u16, upstream: &str) -> Command {
        let d = dir.to_str().unwrap();
        let site = self.site(d, port, upstream);
        let (program, _) = self.program();
        let mut command = Command::new(program);
        match self {
            Kind::Nginx => {
                let conf = format!(
                    "pid {d}/nginx.pid;\nerror_log stderr notice;\nevents {{}}\nhttp {{\n    \
                     access_log off;\n    client_body_temp_path {d}/nginx-client-body;\n    \
                     proxy_temp_path {d}/nginx-proxy;\n    fastcgi_temp_path {d}/nginx-fastcgi;\n    \
                     uwsgi_temp_path {d}/nginx-uwsgi;\n    scgi_temp_path {d}/nginx-scgi;\n\n{site}\n}}\n"
                );
                std::fs::write(dir.join("nginx.conf"), conf).unwrap();
                command.args(["-p", &format!("{d}/"), "-c", &format!("{d}/nginx.conf")]);
                command.args(["-e", "stderr", "-g", "daemon off;"]);
            }
            Kind::Haproxy | Kind::HaproxyRfc9440 => {
                std::fs::write(
                    dir.join("haproxy.cfg"),
                    format!("global\n    pidfile {d}/haproxy.pid\n\n{site}"),
                )
                .unwrap();
                command.args(["-db", "-f", &format!("{d}/haproxy.cfg")]);
            }
            Kind::Caddy => {
                let global = format!(
                    "{{\n\tadmin off\n\tauto_https disable_redirects\n\tstorage file_system {d}/caddy-data\n\t\
                     default_bind 127.0.0.1\n\tservers {{\n\t\tprotocols h1 h2\n\t}}\n}}\n\n"
                );
                std::fs::write(dir.join("Caddyfile"), format!("{global}{site}")).unwrap();
                command.args([
                    "run",
                    "--adapter",
                    "caddyfile",
                    "--config",
                    &format!("{d}/Caddyfile"),
                ]);
                command.env("HOME", d);
                command.env("XDG_DATA_HOME", format!("{d}/caddy-data"));
                command.env("XDG_CONFIG_HOME", format!("{d}/caddy-config"));
            }
            Kind::Apache => {
                let modules = [
                    "mpm_event",
                    "authz_core",
                    "ssl",
                    "headers",
                    "proxy",
                    "proxy_http",
                ]
                .map(|m| format!("LoadModule {m}_module /usr/lib/apache2/modules/mod_{m}.so\n"))
                .concat();
                let conf = format!(
                    "ServerRoot {d}\nDefaultRuntimeDir {d}\nPidFile {d}/apache2.pid\nErrorLog /dev/stderr\n\
                     ServerName localhost\nListen 127.0.0.1:{port}\nUser nobody\nGroup nogroup\n{modules}\n{site}"
                );
                std::fs::write(dir.join("apache2.conf"), conf).unwrap();
                command.args(["-f", &format!("{d}/apache2.conf"), "-DFOREGROUND"]);
            }
        }
        command
    }
}

/// The HAProxy configuration writing RFC 9440 `Client-Cert`: the documented
/// one with its two `X-Client-Cert` lines replaced by the documented variant.
fn rfc9440_variant(main: &str, variant: &str) -> String {
    let mut out = Vec::new();
    let mut replaced = 0;
    for line in main.lines() {
        if line.contains("X-Client-Cert") {
            if replaced == 0 {
                out.extend(variant.lines().filter(|l| !l.trim_start().starts_with('#')));
            }
            replaced += 1;
        } else {
            out.push(line);
        }
    }
    assert_eq!(
        replaced, 2,
        "HAProxy: the documented config should set X-Client-Cert in two lines:\n{main}"
    );
    out.join("\n") + "\n"
}

/// A fenced block of the documentation.
struct Fenced {
    /// The `## ` heading it is under.
    section: String,
    /// Its language tag (empty for none).
    lang: String,
    text: String,
}

/// Every fenced block of the documentation, in order.
fn doc_fences() -> Vec<Fenced> {
    let doc = std::fs::read_to_string(DOC).unwrap();
    let mut fences = Vec::new();
    let mut section = String::new();
    let mut open: Option<Fenced> = None;
    for line in doc.lines() {
        let fence = line.trim_start().strip_prefix("```");
        match (open.take(), fence) {
            (None, Some(lang)) => {
                open = Some(Fenced {
                    section: section.clone(),
                    lang: lang.trim().to_string(),
                    text: String::new(),
                });
            }
            (None, None) => {
                if let Some(heading) = line.strip_prefix("## ") {
                    section = heading.to_string();
                }
            }
            (Some(block), Some("")) => fences.push(block),
            (Some(mut block), _) => {
                block.text.push_str(line);
                block.text.push('\n');
                open = Some(block);
            }
        }
    }
    fences
}

/// The blocks in `lang` of the section `## heading` of the documentation.
fn doc_blocks(heading: &str, lang: &str) -> Vec<String> {
    let blocks: Vec<String> = doc_fences()
        .into_iter()
        .filter(|f| f.section == heading && f.lang == lang)
        .map(|f| f.text)
        .collect();
    assert!(
        !blocks.is_empty(),
        "the section \"## {heading}\" of {DOC} has no ```{lang} block"
    );
    blocks
}

/// Replace each `(from, to)` in `text`, insisting that `from` occurs.
fn substitute(kind: Kind, text: &str, pairs: &[(&str, &str)]) -> String {
    let mut text = text.to_string();
    for (from, to) in pairs {
        assert!(
            text.contains(from),
            "{}: the documented config lacks {from:?}, which the test replaces:\n{text}",
            kind.name()
        );
        text = text.replace(from, to);
    }
    text
}

/// One run of `curl`.
struct Reply {
    cmdline: String,
    status: u16,
    body: String,
    stderr: String,
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\n$ {}\nHTTP status: {}\n--- body ---\n{}\n--- curl stderr ---\n{}",
            self.cmdline, self.status, self.body, self.stderr
        )
    }
}

impl Reply {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("the body is not JSON ({e}){self}"))
    }
}

/// Run the real `curl` in `dir`; the HTTP status comes from `-w`.
fn curl(dir: &Path, args: &[&str]) -> Reply {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "-w", "\n%{http_code}"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run curl: {e} (apt-get install -y curl)"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = stdout.rsplit_once('\n').unwrap_or(("", &stdout));
    Reply {
        cmdline: std::iter::once("curl")
            .chain(args.iter().copied())
            .map(|a| {
                if a.contains([' ', '"', '{', '}']) {
                    format!("'{a}'")
                } else {
                    a.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
        status: status.trim().parse().unwrap_or(0),
        body: body.to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `x5t#S256` of a PEM certificate file, computed by `openssl`, not by certbound.
fn openssl_x5t(dir: &Path, cert: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl x509 -in {cert} -outform DER | openssl dgst -sha256 -binary"
        ))
        .current_dir(dir)
        .output()
        .unwrap();
    assert_eq!(
        out.stdout.len(),
        32,
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    URL_SAFE_NO_PAD.encode(&out.stdout)
}

/// The claims of a JWT (its signature is certbound's business, tested elsewhere).
fn claims(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap_or_else(|e| panic!("not a JWT ({e}): {token}"));
    serde_json::from_slice(&bytes).unwrap()
}

/// A temporary directory with the PKI, a `certbound serve` behind the proxy, and the proxy.
struct Setup {
    kind: Kind,
    /// The certbound listener the proxy forwards to: its name and address.
    listener: String,
    upstream: String,
    /// certbound's direct listener, for `/metrics`.
    internal: String,
    /// The spoofed header value: the registered self-signed client's public
    /// certificate, encoded as the proxy would.
    forged: String,
    // Dropped in this order: the proxy, certbound, then their directory.
    proxy: Proxy,
    _certbound: Server,
    dir: tempfile::TempDir,
}

impl Setup {
    fn start(kind: Kind) -> Setup {
        let (program, package) = kind.program();
        proxy::require(program, package);
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let pki = TestPki::new();
        let server = pki
            .root
            .issue(&LeafOptions::server("localhost").around_now());
        server.write(d, "server", &[]);
        std::fs::write(d.join("server.pem"), server.cert_pem() + &server.key_pem).unwrap();
        std::fs::write(d.join("root.crt"), pki.root.cert_pem()).unwrap();
        std::fs::write(d.join("client-cas.pem"), pki.root.cert_pem()).unwrap();

        // The registered clients, and certificates that must not pass for them.
        let solo = self_signed(&LeafOptions::client("solo").around_now());
        solo.write(d, "solo", &[]);
        pki.root
            .issue(&LeafOptions::client("partner").around_now())
            .write(d, "partner", &[]);
        pki.root
            .issue(&LeafOptions::client("intruder").around_now())
            .write(d, "intruder", &[]);
        // Same subject as `partner`, from an unrelated CA.
        pki.other_root
            .issue(&LeafOptions::client("partner").around_now())
            .write(d, "stranger", &[]);

        let (section, _) = kind.section();
        let listener = &doc_blocks(section, "toml")[kind.listener_block()];
        let listener = substitute(
            kind,
            listener,
            &[("bind = \"127.0.0.1:8080\"", "bind = \"127.0.0.1:0\"")],
        );
        let name = listener
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .and_then(|l| l.strip_suffix('"'))
            .unwrap_or_else(|| {
                panic!(
                    "{}: the documented listener has no name:\n{listener}",
                    kind.name()
                )
            })
            .to_string();
        certbound_testkit::write_private(&d.join("admin-token"), ADMIN_TOKEN);
        std::fs::write(
            d.join("certbound.toml"),
            // "internal": a direct listener for /metrics, which proxied listeners never serve.
            format!(
                "[issuer]\nurl = \"https://localhost\"\n[admin]\ntoken_file = \"admin-token\"\n\n{listener}\n\n[[listener]]\nname = \"internal\"\nbind = \"127.0.0.1:0\"\n"
            ),
        )
        .unwrap();
        let certbound = Server::start(d, &["serve", "--config", "certbound.toml"], "issuer:");
        let upstream = certbound.addr(&name);
        let internal = certbound.addr("internal");

        let setup_proxy = Proxy::start(kind.name(), d, |port| kind.command(d, port, &upstream));
        let forged = encode(kind.header().1, std::slice::from_ref(&solo.cert));
        let setup = Setup {
            kind,
            dir,
            listener: name,
            upstream,
            internal,
            forged,
            proxy: setup_proxy,
            _certbound: certbound,
        };
        setup.register("solo", &solo.cert_pem(), None);
        setup.register("partner", &pki.root.cert_pem(), Some(PARTNER_DN));
        setup
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Register a client through the admin API.
    fn register(&self, id: &str, trust_store: &str, subject_dn: Option<&str>) {
        let mut doc = serde_json::json!({
            "resourceType": "ClientApplication", "id": id, "name": id, "certificateTrustStore": trust_store,
        });
        if let Some(dn) = subject_dn {
            doc["tls_client_auth_subject_dn"] = dn.into();
        }
        let r = curl(
            self.dir(),
            &[
                "-H",
                &format!("Authorization: Bearer {ADMIN_TOKEN}"),
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                &doc.to_string(),
                &format!("http://{}/admin/ClientApplication", self.upstream),
            ],
        );
        assert_eq!(r.status, 201, "{}: registering {id}{r}", self.kind.name());
    }

    /// A token request through the proxy as `client_id`, presenting the
    /// certificate `cert` (`NAME.crt` with `NAME.key`) if any, with extra headers.
    fn token(&self, client_id: &str, cert: Option<&str>, headers: &[String]) -> Reply {
        let port = self.proxy.port;
        let resolve = format!("localhost:{port}:127.0.0.1");
        let url = format!("https://localhost:{port}/oauth2/token");
        let client_id = format!("client_id={client_id}");
        let (cert_file, key_file) = cert
            .map(|c| (format!("{c}.crt"), format!("{c}.key")))
            .unzip();
        let mut args = vec!["--resolve", &resolve, "--cacert", "root.crt"];
        if let (Some(c), Some(k)) = (&cert_file, &key_file) {
            args.extend(["--cert", c, "--key", k]);
        }
        for h in headers {
            args.extend(["-H", h]);
        }
        args.extend([
            "-d",
            "grant_type=client_credentials",
            "-d",
            &client_id,
            &url,
        ]);
        curl(self.dir(), &args)
    }

    /// The forged header line: the self-signed client's public certificate.
    fn forged_header(&self) -> String {
        format!("{}: {}", self.kind.header().0, self.forged)
    }

    /// Assert a token bound to the certificate file `cert`.crt.
    #[track_caller]
    fn assert_bound(&self, r: &Reply, cert: &str, what: &str) {
        let proxy = self.kind.name();
        assert_eq!(
            r.status,
            200,
            "{proxy}: {what}: no token{r}\n{}",
            self.proxy.output()
        );
        let token = r.json()["access_token"].as_str().map(str::to_string);
        let token = token.unwrap_or_else(|| panic!("{proxy}: {what}: no access_token{r}"));
        let bound = claims(&token)["cnf"]["x5t#S256"].clone();
        let want = openssl_x5t(self.dir(), &format!("{cert}.crt"));
        assert_eq!(
            bound,
            serde_json::Value::from(want),
            "{proxy}: {what}: cnf.x5t#S256 is not the thumbprint of {cert}.crt{r}"
        );
    }

    #[track_caller]
    fn assert_invalid_client(&self, r: &Reply, what: &str) {
        let proxy = self.kind.name();
        assert_eq!(
            r.status,
            401,
            "{proxy}: {what}: expected 401 invalid_client{r}\n{}",
            self.proxy.output()
        );
        assert_eq!(r.json()["error"], "invalid_client", "{proxy}: {what}{r}");
    }

    /// certbound's count of ignored forwarded headers on the listener, from `/metrics`.
    fn ignored_count(&self) -> u64 {
        let r = curl(self.dir(), &[&format!("http://{}/metrics", self.internal)]);
        assert_eq!(r.status, 200, "{}: GET /metrics{r}", self.kind.name());
        let prefix = format!(
            "certbound_forwarded_cert_header_ignored_total{{listener=\"{}\"}} ",
            self.listener
        );
        r.body
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map_or(0, |n| n.trim().parse().unwrap())
    }
}

/// Every check of issue 6 through one proxy.
fn interop(kind: Kind) {
    let started = Instant::now();
    let s = Setup::start(kind);
    let ready = started.elapsed();

    // Accepted: a self-signed client, and a CA-issued client within its DN constraint.
    s.assert_bound(
        &s.token("solo", Some("solo"), &[]),
        "solo",
        "self-signed client",
    );
    s.assert_bound(
        &s.token("partner", Some("partner"), &[]),
        "partner",
        "CA-issued client with a subject DN constraint",
    );

    // Refused: no certificate; an unrelated CA (same subject DN); a DN outside the constraint;
    // a certificate that is not the self-signed client's.
    s.assert_invalid_client(&s.token("solo", None, &[]), "no client certificate");
    s.assert_invalid_client(
        &s.token("partner", Some("stranger"), &[]),
        "certificate from an unrelated CA",
    );
    s.assert_invalid_client(
        &s.token("partner", Some("intruder"), &[]),
        "subject DN outside the constraint",
    );
    s.assert_invalid_client(
        &s.token("solo", Some("partner"), &[]),
        "another client's certificate",
    );

    // Proof of possession is the proxy's: a registered certificate presented
    // with a signature by another key is refused in the proxy's handshake.
    let own_key = rustls_token(s.dir(), s.proxy.port, "solo", "solo.crt", "solo.key");
    assert!(
        own_key
            .as_ref()
            .is_ok_and(|status| status.contains(" 200 ")),
        "{}: rustls with the certificate's own key: {own_key:?}",
        kind.name()
    );
    match rustls_token(s.dir(), s.proxy.port, "solo", "solo.crt", "partner.key") {
        Err(refused) => eprintln!(
            "{}: handshake without the key refused: {refused}",
            kind.name()
        ),
        Ok(status) => panic!(
            "{}: a client certificate presented without its private key got through the handshake: {status}\n{}",
            kind.name(),
            s.proxy.output()
        ),
    }

    // Spoofing through the proxy: the client's own copy of the header never arrives.
    let forged = [s.forged_header()];
    s.assert_invalid_client(
        &s.token("solo", None, &forged),
        "forged header with a registered client's public certificate and no client certificate (the proxy must strip it)",
    );
    s.assert_invalid_client(
        &s.token("solo", Some("stranger"), &forged),
        "forged header next to another client certificate (the proxy must replace it)",
    );
    s.assert_bound(
        &s.token(
            "partner",
            Some("partner"),
            &[format!("{}: {}", kind.header().0, "garbage")],
        ),
        "partner",
        "a forged malformed header is replaced by the proxy's",
    );
    assert_eq!(
        s.ignored_count(),
        0,
        "{}: requests from the trusted proxy counted as ignored headers",
        kind.name()
    );

    // Straight to certbound: the forged header authenticates from the trusted
    // proxy address, and from any other address is ignored, counted and refused.
    let direct = |from: &str| {
        let url = format!("http://{}/oauth2/token", s.upstream);
        let header = s.forged_header();
        curl(
            s.dir(),
            &[
                "--interface",
                from,
                "-H",
                &header,
                "-d",
                "grant_type=client_credentials",
                "-d",
                "client_id=solo",
                &url,
            ],
        )
    };
    s.assert_bound(
        &direct("127.0.0.1"),
        "solo",
        "the header straight from 127.0.0.1 (a trusted proxy address)",
    );
    s.assert_invalid_client(
        &direct("127.0.0.2"),
        "the header straight from 127.0.0.2 (not in trusted_proxies)",
    );
    assert_eq!(
        s.ignored_count(),
        1,
        "{}: the ignored header is counted",
        kind.name()
    );

    eprintln!(
        "{}: ready in {ready:?}, all checks in {:?}",
        kind.name(),
        started.elapsed()
    );
}

#[test]
fn nginx_forwards_the_client_certificate() {
    interop(Kind::Nginx);
}

#[test]
fn haproxy_forwards_the_client_certificate() {
    interop(Kind::Haproxy);
}

#[test]
fn haproxy_forwards_the_client_certificate_as_rfc9440() {
    interop(Kind::HaproxyRfc9440);
}

#[test]
fn caddy_forwards_the_client_certificate() {
    interop(Kind::Caddy);
}

#[test]
fn apache_forwards_the_client_certificate() {
    interop(Kind::Apache);
}

/// Every certbound listener on the page, tested through a proxy or not, is a
/// configuration `certbound serve` accepts.
#[test]
fn every_documented_listener_is_valid_config() {
    let dir = tempfile::tempdir().unwrap();
    let blocks: Vec<Fenced> = doc_fences()
        .into_iter()
        .filter(|f| f.lang == "toml")
        .collect();
    assert!(
        blocks.len() >= 10,
        "{DOC} should have a listener for each proxy"
    );
    for (i, block) in blocks.iter().enumerate() {
        assert!(
            block.text.contains("[[listener]]"),
            "a ```toml block under \"## {}\" is not a listener:\n{}",
            block.section,
            block.text
        );
        let path = dir.path().join(format!("listener-{i}.toml"));
        std::fs::write(
            &path,
            format!(
                "[issuer]\nurl = \"https://auth.example.com\"\n\n{}",
                block.text
            ),
        )
        .unwrap();
        if let Err(e) = certbound_server::config::Config::load(&path) {
            panic!(
                "the listener under \"## {}\" is not valid: {e}\n{}",
                block.section, block.text
            );
        }
    }
}
