//! SMART Backend Services (`private_key_jwt`, RFC 7523) end to end: keys made
//! by openssl, assertions signed by `smart_client.py` (written from the specs,
//! not from certbound), the client's JWKS served over https by the test,
//! tokens asked for with curl. RS384 and ES384 accepted; each kind of bad
//! assertion refused with its reason in the audit; a key rotation picked up by
//! re-fetching the JWKS; a token asked for on an mTLS connection bound to that
//! certificate, which a bound-token route then refuses with another one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use util::openssl_pki::{openssl_ca, openssl_issue, require_python_cryptography};
use util::{certbound, openssl};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const AUD: &str = "https://auth.example.test/oauth2/token";

fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smart_client.py")
}

/// `smart_client.py ARGS` in `d`; its stdout, trimmed.
fn client(d: &Path, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg(script())
        .args(args)
        .current_dir(d)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "smart_client.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `smart_client.py serve-jwks ARGS`, killed when dropped.
fn serve_jwks(d: &Path, args: &[&str]) -> util::python::PythonServer {
    let mut all = vec!["serve-jwks"];
    all.extend_from_slice(args);
    util::python::PythonServer::start(d, "smart_client.py", &all)
}

/// Writes jwks.json with the public JWKs of `keys` (file, kid, alg).
fn write_jwks(d: &Path, file: &str, keys: &[(&str, &str, &str)]) {
    let jwks: Vec<Value> = keys
        .iter()
        .map(|(key, kid, alg)| {
            serde_json::from_str(&client(
                d,
                &["jwk", "--key", key, "--kid", kid, "--alg", alg],
            ))
            .unwrap()
        })
        .collect();
    std::fs::write(
        d.join(file),
        serde_json::json!({ "keys": jwks }).to_string(),
    )
    .unwrap();
}

/// A client assertion of `client_id` signed with `key` as `alg`/`kid`, plus `extra` flags.
fn assertion(d: &Path, client_id: &str, key: &str, alg: &str, kid: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "assert",
        "--key",
        key,
        "--alg",
        alg,
        "--kid",
        kid,
        "--client-id",
        client_id,
    ];
    if !extra.contains(&"--aud") {
        args.extend_from_slice(&["--aud", AUD]);
    }
    args.extend_from_slice(extra);
    client(d, &args)
}

/// POSTs the form to `url` with curl (with the client certificate `cert`,
/// when given); the HTTP status and the JSON body.
fn post(d: &Path, url: &str, form: &[(&str, &str)], cert: Option<&str>) -> (u16, Value) {
    let mut cmd = Command::new("curl");
    cmd.current_dir(d)
        .args(["-sS", "--cacert", "ca.crt", "-w", "\n%{http_code}"]);
    if let Some(cert) = cert {
        cmd.args([
            "--cert",
            &format!("{cert}.crt"),
            "--key",
            &format!("{cert}.key"),
        ]);
    }
    for (k, v) in form {
        cmd.args(["--data-urlencode", &format!("{k}={v}")]);
    }
    let out = cmd.arg(url).output().expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    let status = status
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("curl said {text:?}"));
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn token_form(assertion: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "client_credentials".into()),
        ("client_assertion_type", ASSERTION_TYPE.into()),
        ("client_assertion", assertion.into()),
    ]
}

fn ask(d: &Path, url: &str, form: &[(&'static str, String)], cert: Option<&str>) -> (u16, Value) {
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post(d, url, &form, cert)
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

const CONFIG: &str = r#"data_dir = "data"
[issuer]
url = "https://auth.example.test"
jwks_ca = "ca.crt"
[tls.tls]
cert = "server.crt"
key = "server.key"
client_auth = "off"
[tls.mtls]
cert = "server.crt"
key = "server.key"
client_auth = "required"
[[listener]]
name = "tls"
bind = "127.0.0.1:0"
tls = "tls"
[[listener]]
name = "mtls"
bind = "127.0.0.1:0"
tls = "mtls"
[[route]]
prefix = "/api/"
upstream = "UPSTREAM"
require = "bound-token"
"#;

#[test]
fn smart_backend_services_clients_get_tokens_and_bad_assertions_are_refused() {
    require_python_cryptography();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl_ca(d, "ca");
    openssl_issue(
        d,
        "server",
        "ca",
        "1001",
        &[
            "extendedKeyUsage=serverAuth".into(),
            "subjectAltName=IP:127.0.0.1,DNS:localhost".into(),
        ],
    );
    for (name, serial) in [("ehr", "1002"), ("other", "1003")] {
        openssl_issue(
            d,
            name,
            "ca",
            serial,
            &[
                "basicConstraints=critical,CA:FALSE".into(),
                "keyUsage=critical,digitalSignature".into(),
                "extendedKeyUsage=clientAuth".into(),
            ],
        );
    }
    // The client's keys, as openssl makes them (OpenSSL 3 defaults).
    for (file, args) in [
        (
            "rs.pem",
            ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        ),
        (
            "rs2.pem",
            ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"],
        ),
        (
            "wrong.pem",
            ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        ),
        (
            "es.pem",
            ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        ),
    ] {
        let mut all = vec!["genpkey"];
        all.extend_from_slice(&args);
        all.extend_from_slice(&["-out", file]);
        openssl(d, &all).code(0);
    }
    write_jwks(d, "jwks.json", &[("rs.pem", "rs1", "RS384")]);
    write_jwks(d, "inline.json", &[("es.pem", "es1", "ES384")]);
    let jwks = serve_jwks(
        d,
        &[
            "--cert",
            "server.crt",
            "--key",
            "server.key",
            "--file",
            "jwks.json",
        ],
    );
    std::fs::write(d.join("hello"), "{\"upstream\":\"hi\"}").unwrap();
    let upstream = serve_jwks(d, &["--plain", "--file", "hello"]);
    let jwks_uri = format!("https://127.0.0.1:{}/jwks.json", jwks.port);
    std::fs::write(
        d.join("certbound.toml"),
        CONFIG.replace("UPSTREAM", &format!("http://127.0.0.1:{}", upstream.port)),
    )
    .unwrap();
    let add = |args: &[&str]| {
        let mut all = vec!["client", "add", "--config", "certbound.toml"];
        all.extend_from_slice(args);
        certbound(d, &all).code(0);
    };
    add(&[
        "--name",
        "EHR backend",
        "--id",
        "ehr",
        "--jwks-uri",
        &jwks_uri,
        "--scope",
        "system/*.rs",
    ]);
    add(&[
        "--name",
        "Inline keys",
        "--id",
        "inline",
        "--jwks-file",
        "inline.json",
    ]);
    add(&[
        "--name",
        "Bound",
        "--id",
        "bound",
        "--jwks-file",
        "inline.json",
        "--bound-tokens",
    ]);
    // The registration is refused with a clear message when the keys are bad.
    std::fs::write(d.join("bad.json"), "{\"keys\":[]}").unwrap();
    certbound(
        d,
        &[
            "client",
            "add",
            "--config",
            "certbound.toml",
            "--name",
            "x",
            "--jwks-file",
            "bad.json",
        ],
    )
    .code(1)
    .stderr_has("no usable key");

    let server =
        util::process::Server::start(d, &["serve", "--config", "certbound.toml"], "issuer:");
    let tls = format!("https://{}/oauth2/token", server.addr("tls"));
    let mtls = format!("https://{}/oauth2/token", server.addr("mtls"));

    // Discovery names the method and the algorithms.
    let smart = Command::new("curl")
        .current_dir(d)
        .args(["-sS", "--cacert", "ca.crt"])
        .arg(format!(
            "https://{}/.well-known/smart-configuration",
            server.addr("tls")
        ))
        .output()
        .unwrap();
    let smart: Value = serde_json::from_slice(&smart.stdout).unwrap();
    assert_eq!(
        smart["capabilities"],
        serde_json::json!(["client-confidential-asymmetric"])
    );
    let methods = smart["token_endpoint_auth_methods_supported"].to_string();
    assert!(methods.contains("private_key_jwt"), "{smart}");
    let algs = smart["token_endpoint_auth_signing_alg_values_supported"].to_string();
    assert!(algs.contains("RS384") && algs.contains("ES384"), "{smart}");

    // RS384 by jwks_uri; SMART scopes within the client's allowed ones.
    let a = assertion(d, "ehr", "rs.pem", "RS384", "rs1", &[]);
    let mut form = token_form(&a);
    form.push(("scope", "system/Patient.rs system/Observation.read".into()));
    let (status, body) = ask(d, &tls, &form, None);
    assert_eq!(status, 200, "{body}");
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(claims["client_id"], "ehr");
    assert_eq!(claims["scope"], "system/Patient.rs system/Observation.read");
    assert!(
        claims.get("cnf").is_none(),
        "no certificate, no binding: {claims}"
    );
    // The same assertion again: a replay.
    let (status, body) = ask(d, &tls, &token_form(&a), None);
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // A scope beyond the allowed ones.
    let mut wide = token_form(&assertion(d, "ehr", "rs.pem", "RS384", "rs1", &[]));
    wide.push(("scope", "system/Patient.c".into()));
    let (status, body) = ask(d, &tls, &wide, None);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );

    // ES384 by inline jwks; client_id in the form too.
    let mut form = token_form(&assertion(d, "inline", "es.pem", "ES384", "es1", &[]));
    form.push(("client_id", "inline".into()));
    let (status, body) = ask(d, &tls, &form, None);
    assert_eq!(status, 200, "{body}");

    // Each bad assertion: 401 invalid_client, the reason audited.
    let refused = |a: String| {
        let (status, body) = ask(d, &tls, &token_form(&a), None);
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{a}"
        );
    };
    refused(assertion(
        d,
        "ehr",
        "rs.pem",
        "RS384",
        "rs1",
        &["--aud", "https://elsewhere.example/token"],
    ));
    refused(assertion(
        d,
        "ehr",
        "rs.pem",
        "RS384",
        "rs1",
        &["--exp-in", "-30"],
    ));
    refused(assertion(
        d,
        "ehr",
        "rs.pem",
        "RS384",
        "rs1",
        &["--exp-in", "3600"],
    ));
    refused(assertion(d, "ehr", "wrong.pem", "RS384", "rs1", &[]));
    refused(assertion(
        d,
        "ehr",
        "rs.pem",
        "RS384",
        "rs1",
        &["--header-alg", "none"],
    ));
    refused(assertion(
        d,
        "ehr",
        "rs.pem",
        "RS384",
        "rs1",
        &["--header-alg", "HS256"],
    ));
    refused(assertion(
        d,
        "ehr",
        "rs.pem",
        "RS384",
        "rs1",
        &["--jku", "https://attacker.example/jwks"],
    ));
    let (status, body) = ask(
        d,
        &tls,
        &[
            ("grant_type", "client_credentials".into()),
            (
                "client_assertion",
                assertion(d, "ehr", "rs.pem", "RS384", "rs1", &[]),
            ),
        ],
        None,
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    util::audit_has(
        d,
        "certbound.toml",
        "ehr",
        &[
            "assertion_replayed",
            "assertion_audience",
            "expired",
            "at most 300s",
            "assertion_signature",
            "never none or HMAC",
            "HS256",
            "assertion_jku",
            "assertion_type",
        ],
    );

    // A rotation: the client publishes a new key and signs with it. The cached
    // set lacks it; the server fetches the JWKS again (at most every 10 s).
    let hits = || {
        std::fs::read_to_string(d.join("jwks.json.hits"))
            .unwrap_or_default()
            .lines()
            .count()
    };
    let before = hits();
    write_jwks(
        d,
        "jwks.json",
        &[("rs.pem", "rs1", "RS384"), ("rs2.pem", "rs2", "PS256")],
    );
    util::eventually_ok_sync("a token signed with the new key", || {
        let (status, body) = ask(
            d,
            &tls,
            &token_form(&assertion(d, "ehr", "rs2.pem", "PS256", "rs2", &[])),
            None,
        );
        if status == 200 {
            Ok(())
        } else {
            Err(body.to_string())
        }
    });
    assert!(hits() > before, "the JWKS was fetched again");

    // On an mTLS connection the token is bound to the certificate, whatever the method.
    let (status, body) = ask(
        d,
        &mtls,
        &token_form(&assertion(d, "inline", "es.pem", "ES384", "es1", &[])),
        Some("ehr"),
    );
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    openssl(
        d,
        &[
            "x509", "-in", "ehr.crt", "-outform", "DER", "-out", "ehr.der",
        ],
    )
    .code(0);
    let der = std::fs::read(d.join("ehr.der")).unwrap();
    assert_eq!(
        claims_of(&token)["cnf"]["x5t#S256"].as_str(),
        Some(certbound_oauth::x5t_s256(&der).as_str())
    );
    let api = format!("https://{}/api/hello", server.addr("mtls"));
    let call = |cert: &str| {
        let out = Command::new("curl")
            .current_dir(d)
            .args([
                "-sS",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--cacert",
                "ca.crt",
            ])
            .args([
                "--cert",
                &format!("{cert}.crt"),
                "--key",
                &format!("{cert}.key"),
            ])
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .arg(&api)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(call("ehr"), "200");
    assert_eq!(call("other"), "401");

    // A client registered with tls_client_certificate_bound_access_tokens
    // gets no token without a certificate, and a bound one with it.
    let bound = || token_form(&assertion(d, "bound", "es.pem", "ES384", "es1", &[]));
    let (status, _) = ask(d, &tls, &bound(), None);
    assert_eq!(status, 401);
    util::audit_has(d, "certbound.toml", "bound", &["binding_required"]);
    let (status, body) = ask(d, &mtls, &bound(), Some("other"));
    assert_eq!(status, 200, "{body}");
    assert!(claims_of(body["access_token"].as_str().unwrap())["cnf"].is_object());
}
