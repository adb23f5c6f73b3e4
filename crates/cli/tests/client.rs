//! `certbound client add/list/show/remove`: in an SQLite store (`--store`),
//! through a server config (`--config`, with its policy), and through a
//! running `certbound serve` (`--server`, its admin API over TLS); every
//! validation problem reported at once with nothing stored; the admin
//! credentials explained; exit codes 0, 1 and 2.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::path::Path;
use std::process::Command;

use certbound_pki::x5t_s256;
use certbound_testkit::{LeafOptions, TestPki, self_signed, write_private};
use util::process::Server;
use util::{Run, certbound};

const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";
const STORE: &str = "sqlite://registry.db";

/// A directory with a PKI, client certificates and a server config:
/// root.crt; server.crt/key (for 127.0.0.1); partner.crt/key and
/// intruder.crt/key (self-signed clients); issued.crt (a client leaf from the
/// root: neither a CA nor self-signed); admin-token; certbound.toml.
struct Fixture {
    dir: tempfile::TempDir,
    pki: TestPki,
    partner_x5t: String,
}

impl Fixture {
    fn new(issuer_extra: &str) -> Fixture {
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
        pki.root
            .issue(&LeafOptions::client("issued").around_now())
            .write(d, "issued", &[]);
        write_private(&d.join("admin-token"), ADMIN_TOKEN);
        std::fs::write(
            d.join("certbound.toml"),
            format!(
                r#"data_dir = "data"
[issuer]
url = "https://auth.example.test"
{issuer_extra}
[tls.server]
cert = "server.crt"
key = "server.key"
[tls.mtls]
cert = "server.crt"
key = "server.key"
client_auth = "required"
[[listener]]
name = "tls"
bind = "127.0.0.1:0"
tls = "server"
[[listener]]
name = "mtls"
bind = "127.0.0.1:0"
tls = "mtls"
[admin]
token_file = "admin-token"
"#
            ),
        )
        .unwrap();
        Fixture {
            partner_x5t: x5t_s256(&partner.cert),
            dir,
            pki,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, args: &[&str]) -> Run {
        certbound(self.path(), args)
    }

    /// `certbound client ARGS`, with `env` set for the child only.
    fn client_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_certbound"))
            .arg("client")
            .args(args)
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env_remove("CERTBOUND_ADMIN_TOKEN")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        Run {
            cmdline: format!("{env:?} certbound client {}", args.join(" ")),
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn client(&self, args: &[&str]) -> Run {
        self.client_env(args, &[])
    }

    fn serve(&self) -> Server {
        Server::start(
            self.path(),
            &["serve", "--config", "certbound.toml"],
            "issuer:",
        )
    }
}

/// The id `add` printed.
fn id_of(run: &Run) -> String {
    run.stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("id "))
        .unwrap_or_else(|| panic!("no id line in:\n{}", run.stdout))
        .trim()
        .to_string()
}

#[test]
fn registers_lists_shows_and_removes_in_a_store() {
    let f = Fixture::new("");
    // A self-signed client: id defaults to a UUID; the summary names the certificate.
    let run = f.client(&[
        "add",
        "--name",
        "Partner",
        "--trust-store",
        "partner.crt",
        "--store",
        STORE,
    ]);
    run.code(0)
        .stdout_has("registered client")
        .stdout_has("self_signed_tls_client_auth")
        .stdout_has("CN=partner")
        .stdout_has("self-signed, expires ")
        .stdout_has("days left)")
        .stdout_has(&format!("x5t#S256  {}", f.partner_x5t))
        .stdout_has("--cert partner.crt --key partner.key")
        .stdout_has("curl --cert partner.crt")
        .stdout_lacks("warning:");
    let partner = id_of(&run);
    assert_eq!(partner.len(), 36, "a UUID: {partner}");

    // A CA client with a subject constraint, scope and lifetime: no warning.
    f.client(&[
        "add",
        "--name",
        "Acme Payer",
        "--id",
        "acme",
        "--trust-store",
        "root.crt",
        "--subject-dn",
        "CN=issued,O=certbound tests",
        "--scope",
        "read write",
        "--token-lifetime",
        "600",
        "--store",
        STORE,
    ])
    .code(0)
    .stdout_has("id              acme")
    .stdout_has("tls_client_auth")
    .stdout_has("CA, expires")
    .stdout_has("tls_client_auth_subject_dn = CN=issued,O=certbound tests")
    .stdout_has("--client-id acme --cert CLIENT.crt --key CLIENT.key")
    .stdout_lacks("warning:");

    // A CA without a constraint is accepted with the RFC 8705 warning.
    f.client(&[
        "add",
        "--name",
        "Loose",
        "--id",
        "loose",
        "--trust-store",
        "root.crt",
        "--store",
        STORE,
    ])
    .code(0)
    .stdout_has("warning: the trust store holds a CA certificate and no tls_client_auth_subject_dn")
    .stdout_has("every certificate that CA issues can act as this client");

    // A secret client: the hash is stored, never shown.
    std::fs::write(f.path().join("secret"), "s3cret-s3cret-s3cret-s3cret\n").unwrap();
    f.client(&[
        "add",
        "--name",
        "Legacy",
        "--id",
        "legacy",
        "--secret-file",
        "secret",
        "--store",
        STORE,
    ])
    .code(0)
    .stdout_has("client_secret_basic")
    .stdout_has("set (stored as a hash)")
    .stdout_has("curl -u \"legacy:$(cat secret)\"");

    // The id is taken.
    f.client(&[
        "add",
        "--name",
        "Again",
        "--id",
        "acme",
        "--trust-store",
        "root.crt",
        "--subject-dn",
        "CN=x",
        "--store",
        STORE,
    ])
    .code(1)
    .stderr_has("a client `acme` is registered already");

    // list: a table with a warning count; --name filters; --json is the Bundle.
    let table = f.client(&["list", "--store", STORE]);
    table
        .code(0)
        .stdout_has("ID")
        .stdout_has("EARLIEST EXPIRY")
        .stdout_has(&partner)
        .stdout_has("client_secret_basic, client_secret_post");
    let loose = table
        .stdout
        .lines()
        .find(|l| l.starts_with("loose "))
        .unwrap();
    assert!(loose.trim_end().ends_with(" 1"), "one warning: {loose}");
    assert!(loose.contains("days left)"), "{loose}");
    let acme = table
        .stdout
        .lines()
        .find(|l| l.starts_with("acme "))
        .unwrap();
    assert!(acme.trim_end().ends_with(" 0"), "no warning: {acme}");
    f.client(&["list", "--name", "acme payer", "--store", STORE])
        .code(0)
        .stdout_has("acme")
        .stdout_lacks("loose");
    f.client(&["list", "--name", "nobody", "--store", STORE])
        .code(0)
        .stdout_has("no client named 'nobody'");
    let bundle = f.client(&["list", "--json", "--store", STORE]).json();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["total"], 4);
    let entries = bundle["entry"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .all(|e| e["resource"].get("client_secret_hash").is_none())
    );

    // show: the trust store decoded; --json is the resource without the hash.
    f.client(&["show", &partner, "--store", STORE])
        .code(0)
        .stdout_has(&format!("client {partner}"))
        .stdout_has("subject")
        .stdout_has("validity  ")
        .stdout_has("SHA-256   ")
        .stdout_has(&f.partner_x5t)
        .stdout_has("version         1, updated ");
    let acme = f
        .client(&["show", "acme", "--json", "--store", STORE])
        .json();
    assert_eq!(acme["resourceType"], "ClientApplication");
    assert_eq!(acme["scope"], "read write");
    assert_eq!(acme["access_token_lifetime"], 600);
    assert_eq!(acme["meta"]["versionId"], "1");
    assert!(
        acme["certificateTrustStore"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    let legacy = f
        .client(&["show", "legacy", "--json", "--store", STORE])
        .json();
    assert_eq!(legacy["hasSecret"], true);
    assert!(legacy.get("client_secret_hash").is_none());
    assert!(
        !f.client(&["show", "legacy", "--store", STORE])
            .stdout
            .contains("pbkdf2")
    );
    f.client(&["show", "nobody", "--store", STORE])
        .code(1)
        .stderr_has("no client `nobody` is registered");

    // remove: once, then not found.
    f.client(&["remove", "loose", "--store", STORE])
        .code(0)
        .stdout_has("removed client loose");
    f.client(&["remove", "loose", "--store", STORE])
        .code(1)
        .stderr_has("no client `loose` is registered");
    assert_eq!(
        f.client(&["list", "--json", "--store", STORE]).json()["total"],
        3
    );
}

#[test]
fn every_validation_problem_is_reported_and_nothing_is_stored() {
    let f = Fixture::new("");
    let d = f.path();
    std::fs::write(
        d.join("bad.pem"),
        format!(
            "{}-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
            f.pki.root.cert_pem()
        ),
    )
    .unwrap();
    std::fs::write(d.join("key.pem"), f.pki.root.key_pem()).unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--trust-store", "bad.pem"],
            &[
                "certificateTrustStore: block 2 (\"CERTIFICATE\", line ",
                "is not valid base64",
            ],
        ),
        (
            &["--trust-store", "key.pem"],
            &["certificateTrustStore: block 1 (line 1) is a \"PRIVATE KEY\""],
        ),
        (
            &["--trust-store", "issued.crt"],
            &[
                "certificateTrustStore: block 1 (line 1) ('issued', issued by 'certbound Test Root CA') is neither a CA nor self-signed",
            ],
        ),
        (
            &[
                "--trust-store",
                "root.crt",
                "--subject-dn",
                "CN=a",
                "--san-dns",
                "a.test",
            ],
            &["tls_client_auth_san_dns: only one subject constraint may be set (RFC 8705 §2.1.2)"],
        ),
        (&[], &["certificateTrustStore: is required"]),
        (
            &["--trust-store", "root.crt", "--san-ip", "not-an-ip"],
            &["tls_client_auth_san_ip: `not-an-ip` is not an IP address"],
        ),
        // Several at once, each on its own line.
        (
            &[
                "--trust-store",
                "issued.crt",
                "--id",
                "bad id!",
                "--token-lifetime",
                "5",
                "--scope",
                "a\"b",
            ],
            &[
                "4 problems",
                "\n  id: must be 1 to 64",
                "\n  certificateTrustStore: block 1",
                "\n  access_token_lifetime: must be between 60 and 86400 seconds, not 5",
                "\n  scope: ",
            ],
        ),
    ];
    for (extra, wants) in cases {
        let mut args = vec!["add", "--name", "x", "--store", STORE];
        args.extend_from_slice(extra);
        let run = f.client(&args);
        run.code(1)
            .stderr_has("the client was not registered")
            .stderr_has("nothing was stored");
        for want in *wants {
            run.stderr_has(want);
        }
    }
    // A secret and a trust store together: accepted, with a warning (FHIR
    // platforms give every client a secret).
    std::fs::write(d.join("secret"), "0123456789abcdef0123").unwrap();
    f.client(&[
        "add",
        "--name",
        "x",
        "--trust-store",
        "partner.crt",
        "--secret-file",
        "secret",
        "--store",
        STORE,
    ])
    .code(0)
    .stdout_has("secret alone");
    assert_eq!(
        f.client(&["list", "--json", "--store", STORE]).json()["total"],
        1
    );
}

#[test]
fn a_config_brings_its_store_and_policy() {
    let f = Fixture::new("require_subject_constraint = true");
    assert!(!f.path().join("data").exists());
    f.client(&[
        "add",
        "--name",
        "Loose",
        "--trust-store",
        "root.crt",
        "--config",
        "certbound.toml",
    ])
    .code(1)
    .stderr_has("tls_client_auth_subject_dn: is required by this server");
    let run = f.client(&[
        "add",
        "--name",
        "Acme",
        "--id",
        "acme",
        "--trust-store",
        "root.crt",
        "--san-dns",
        "client.acme.test",
        "--config",
        "certbound.toml",
    ]);
    run.code(0)
        .stdout_has("tls_client_auth_san_dns = client.acme.test")
        .stdout_has("--token-url https://auth.example.test/oauth2/token");
    assert_eq!(util::mode(&f.path().join("data")), 0o700);
    assert!(f.path().join("data/certbound.db").is_file());
    f.client(&["list", "--config", "certbound.toml"])
        .code(0)
        .stdout_has("acme");
    f.client(&["list", "--store", "sqlite://data/certbound.db"])
        .code(0)
        .stdout_has("acme");
}

#[test]
fn usage_errors_exit_2() {
    let f = Fixture::new("");
    f.client(&["add", "--name", "x", "--trust-store", "partner.crt"])
        .code(2)
        .stderr_has("--store URL")
        .stderr_has("--config FILE")
        .stderr_has("--server URL");
    f.client(&[
        "add",
        "--name",
        "x",
        "--trust-store",
        "absent.crt",
        "--store",
        STORE,
    ])
    .code(2)
    .stderr_has("cannot read the trust store absent.crt");
    std::fs::write(f.path().join("cert.der"), [0x30u8, 0x82, 0xff, 0xfe, 0x80]).unwrap();
    f.client(&[
        "add",
        "--name",
        "x",
        "--trust-store",
        "cert.der",
        "--store",
        STORE,
    ])
    .code(2)
    .stderr_has("openssl x509 -inform DER");
    std::fs::write(f.path().join("short"), "tiny").unwrap();
    f.client(&[
        "add",
        "--name",
        "x",
        "--secret-file",
        "short",
        "--store",
        STORE,
    ])
    .code(2)
    .stderr_has("at least 16");
    f.client(&["list", "--store", "mysql://root@db/x"])
        .code(2)
        .stderr_has("unsupported store URL");
    f.client(&["list", "--store", "sqlite://absent.db"])
        .code(2)
        .stderr_has("there is no store at absent.db");
    assert!(
        !f.path().join("absent.db").exists(),
        "reading never creates a store"
    );
    f.client(&["list", "--config", "absent.toml"])
        .code(2)
        .stderr_has("absent.toml");
    f.client(&["list", "--store", STORE, "--server", "https://127.0.0.1:1"])
        .code(2);
    f.client(&[
        "list",
        "--server",
        "http://127.0.0.1:1",
        "--admin-token-file",
        "admin-token",
    ])
    .code(2)
    .stderr_has("HTTPS only");
    f.client(&[
        "list",
        "--server",
        "https://127.0.0.1:1",
        "--config",
        "certbound.toml",
    ])
    .code(2)
    .stderr_has("pass --tls NAME too");
    f.client(&[
        "list",
        "--server",
        "https://127.0.0.1:1",
        "--admin-token-file",
        "absent",
    ])
    .code(2)
    .stderr_has("cannot read the admin token file absent");
    f.client(&["show", "--store", STORE]).code(2);
    f.run(&["client"]).code(2);
}

#[test]
fn through_a_running_server() {
    let f = Fixture::new("");
    let server = f.serve();
    let url = format!("https://{}", server.addr("tls"));
    let remote = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&[
            "--server",
            &url,
            "--ca",
            "root.crt",
            "--admin-token-file",
            "admin-token",
        ]);
        f.client(&all)
    };

    let run = remote(&[
        "add",
        "--name",
        "Partner",
        "--id",
        "partner",
        "--trust-store",
        "partner.crt",
    ]);
    run.code(0)
        .stdout_has("registered client partner")
        .stdout_has(&f.partner_x5t)
        .stdout_has("--token-url https://auth.example.test/oauth2/token --client-id partner --cert partner.crt --key partner.key --ca root.crt");

    // The client works at once, on the mTLS listener.
    let token_url = format!("https://{}/oauth2/token", server.addr("mtls"));
    f.run(&[
        "token",
        "--token-url",
        &token_url,
        "--client-id",
        "partner",
        "--cert",
        "partner.crt",
        "--key",
        "partner.key",
        "--ca",
        "root.crt",
        "--claims",
    ])
    .code(0)
    .stdout_has("bound: the token is bound");

    // Warnings come back from the server; validation errors are listed field by field.
    remote(&[
        "add",
        "--name",
        "Loose",
        "--id",
        "loose",
        "--trust-store",
        "root.crt",
    ])
    .code(0)
    .stdout_has("warning: the trust store holds a CA certificate");
    remote(&["add", "--name", "Bad", "--trust-store", "issued.crt", "--subject-dn", "CN=a", "--san-dns", "b"])
        .code(1)
        .stderr_has("the client was not registered: 2 problems")
        .stderr_has("certificateTrustStore: block 1 (line 1) ('issued', issued by 'certbound Test Root CA') is neither a CA nor self-signed")
        .stderr_has("tls_client_auth_san_dns: only one subject constraint");
    remote(&[
        "add",
        "--name",
        "Again",
        "--id",
        "partner",
        "--trust-store",
        "partner.crt",
    ])
    .code(1)
    .stderr_has("exists already");
    std::fs::write(f.path().join("secret"), "0123456789abcdef0123").unwrap();
    remote(&[
        "add",
        "--name",
        "Legacy",
        "--id",
        "legacy",
        "--secret-file",
        "secret",
    ])
    .code(0)
    .stdout_has("set (stored as a hash)");

    remote(&["list"])
        .code(0)
        .stdout_has("partner")
        .stdout_has("loose")
        .stdout_has("legacy");
    let bundle = remote(&["list", "--json", "--name", "partner"]).json();
    assert_eq!(bundle["total"], 1);
    assert_eq!(bundle["entry"][0]["resource"]["id"], "partner");
    remote(&["show", "partner"])
        .code(0)
        .stdout_has("self-signed, expires")
        .stdout_has(&f.partner_x5t);
    let legacy = remote(&["show", "legacy", "--json"]).json();
    assert_eq!(legacy["hasSecret"], true);
    assert!(legacy.get("client_secret_hash").is_none());
    remote(&["show", "nobody"])
        .code(1)
        .stderr_has("no client `nobody` is registered");

    // The server's store and the local view agree.
    remote(&["remove", "loose"]).code(0);
    remote(&["remove", "loose"])
        .code(1)
        .stderr_has("no client `loose` is registered");
    assert_eq!(remote(&["list", "--json"]).json()["total"], 2);

    // Admin credentials: from the environment, wrong (403), missing (usage).
    f.client_env(
        &["list", "--server", &url, "--ca", "root.crt"],
        &[("CERTBOUND_ADMIN_TOKEN", ADMIN_TOKEN)],
    )
    .code(0)
    .stdout_has("partner");
    std::fs::write(f.path().join("wrong-token"), "not-the-admin-token-at-all").unwrap();
    f.client(&[
        "list",
        "--server",
        &url,
        "--ca",
        "root.crt",
        "--admin-token-file",
        "wrong-token",
    ])
    .code(1)
    .stderr_has("refused the admin token (403 forbidden: the admin token is not valid)")
    .stderr_has("[admin] token_file");
    f.client_env(
        &["remove", "partner", "--server", &url, "--ca", "root.crt"],
        &[("CERTBOUND_ADMIN_TOKEN", "wrong-wrong-wrong")],
    )
    .code(1)
    .stderr_has("403");
    f.client(&["list", "--server", &url, "--ca", "root.crt"])
        .code(2)
        .stderr_has("--admin-token-file FILE")
        .stderr_has("CERTBOUND_ADMIN_TOKEN");

    // A server whose certificate the client does not trust: the TLS diagnosis.
    f.client(&[
        "list",
        "--server",
        &url,
        "--ca",
        "partner.crt",
        "--admin-token-file",
        "admin-token",
    ])
    .code(1)
    .stderr_has("Diagnosis:")
    .stderr_has("cannot reach the admin API");
}

#[test]
fn a_server_without_the_admin_api_says_so() {
    let f = Fixture::new("");
    let config = std::fs::read_to_string(f.path().join("certbound.toml")).unwrap();
    let without = config.replace("[admin]\ntoken_file = \"admin-token\"\n", "");
    std::fs::write(f.path().join("certbound.toml"), without).unwrap();
    let server = f.serve();
    let url = format!("https://{}", server.addr("tls"));
    f.client(&[
        "list",
        "--server",
        &url,
        "--ca",
        "root.crt",
        "--admin-token-file",
        "admin-token",
    ])
    .code(1)
    .stderr_has("the admin API of")
    .stderr_has("is disabled: add [admin] token_file");
}

#[test]
fn an_admin_client_certificate_is_enough() {
    let f = Fixture::new("");
    let d = f.path();
    self_signed(&LeafOptions::client("admin").around_now()).write(d, "admin", &[]);
    let config = std::fs::read_to_string(d.join("certbound.toml")).unwrap();
    std::fs::write(
        d.join("certbound.toml"),
        config.replace(
            "token_file = \"admin-token\"\n",
            "token_file = \"admin-token\"\nclient_certs = [\"admin.crt\"]\n",
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("client.toml"),
        "[tls.admin]\ncert = \"admin.crt\"\nkey = \"admin.key\"\nca = \"root.crt\"\n",
    )
    .unwrap();
    let server = f.serve();
    // The mTLS listener asks for a certificate; no token is needed then.
    let url = format!("https://{}", server.addr("mtls"));
    f.client(&[
        "add",
        "--name",
        "Partner",
        "--id",
        "partner",
        "--trust-store",
        "partner.crt",
        "--server",
        &url,
        "--ca",
        "root.crt",
        "--cert",
        "admin.crt",
        "--key",
        "admin.key",
    ])
    .code(0)
    .stdout_has("registered client partner");
    f.client(&[
        "list",
        "--server",
        &url,
        "--tls",
        "admin",
        "--config",
        "client.toml",
    ])
    .code(0)
    .stdout_has("partner");
    // Another certificate is not an admin's.
    f.client(&[
        "list",
        "--server",
        &url,
        "--ca",
        "root.crt",
        "--cert",
        "partner.crt",
        "--key",
        "partner.key",
    ])
    .code(1)
    .stderr_has("wants credentials (401 unauthorized");
}

#[test]
fn add_through_a_server_prints_its_mtls_alias() {
    let add = |f: &Fixture, url: &str, id: &str| {
        f.client(&[
            "add",
            "--name",
            "Partner",
            "--id",
            id,
            "--trust-store",
            "partner.crt",
            "--server",
            url,
            "--cacert",
            "root.crt",
            "--admin-token-file",
            "admin-token",
        ])
    };
    // The mTLS listener has a public URL: the metadata names it, and so does `add`.
    let f = Fixture::new("");
    let config = std::fs::read_to_string(f.path().join("certbound.toml")).unwrap();
    let with_alias = config.replace(
        "tls = \"mtls\"\n",
        "tls = \"mtls\"\npublic_url = \"https://mtls.auth.example.test:8443\"\n",
    );
    assert_ne!(config, with_alias);
    std::fs::write(f.path().join("certbound.toml"), with_alias).unwrap();
    let server = f.serve();
    let url = format!("https://{}", server.addr("tls"));
    let meta = f.run(&[
        "request",
        &format!("{url}/.well-known/oauth-authorization-server"),
        "--ca",
        "root.crt",
    ]);
    assert_eq!(
        meta.code(0).json()["mtls_endpoint_aliases"]["token_endpoint"],
        "https://mtls.auth.example.test:8443/oauth2/token"
    );
    add(&f, &url, "partner")
        .code(0)
        .stdout_has(
            "--token-url https://mtls.auth.example.test:8443/oauth2/token --client-id partner",
        )
        .stdout_lacks("https://auth.example.test/oauth2/token");
    // Without one, the issuer's token endpoint.
    let f = Fixture::new("");
    let server = f.serve();
    add(&f, &format!("https://{}", server.addr("tls")), "partner")
        .code(0)
        .stdout_has("--token-url https://auth.example.test/oauth2/token --client-id partner")
        .stdout_lacks("mtls.auth.example.test");
}
