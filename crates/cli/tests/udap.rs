//! UDAP (HL7 FAST Security) end to end: a community PKI made by `certbound
//! pki` (anchor → intermediate → partner leaves with URI SANs; a revoked
//! leaf, listed in a CRL; an expired one; a second community), the server
//! configured with `[[udap.community]]`, and both ends driven: by `certbound
//! udap` and by `udap_client.py`, a client written from the guide with PyJWT
//! and cryptography. Discovery's signed_metadata verifies to the anchor;
//! registration answers 201, then 200 with the same client_id, refuses each
//! bad statement with its RFC 7591 error, and cancels; client_credentials
//! with hl7-b2b gets a bound token carrying the extension, and a replay,
//! another community's chain or a missing hl7-b2b are refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use time::OffsetDateTime;
use util::{audit_has, certbound};

const COMMUNITY: &str = "urn:oid:2.16.840.1.113883.3.7204.1";
const PARTNER: &str = "https://partner.example.org/app";

fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/udap_client.py")
}

/// `udap_client.py ARGS` in `d`: (exit code, stdout).
fn python(d: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new("python3")
        .arg(script())
        .args(args)
        .current_dir(d)
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("Traceback"),
        "udap_client.py {args:?} crashed: {stderr}"
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// `udap_client.py register|token ...`: the HTTP status and the JSON body.
fn python_call(d: &Path, args: &[&str]) -> (u16, Value) {
    let (code, out) = python(d, args);
    assert_eq!(code, 0, "udap_client.py {args:?}: {out}");
    let mut lines = out.lines();
    let status = lines
        .next()
        .and_then(|l| l.strip_prefix("status "))
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("udap_client.py {args:?} printed {out:?}"));
    let body = serde_json::from_str(lines.next().unwrap_or("null")).unwrap_or(Value::Null);
    (status, body)
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn issue(d: &Path, ca: &str, name: &str, uri: &str, extra: &[&str]) {
    let mut args = vec![
        "pki", "issue", "client", "--ca", ca, "--name", name, "--uri", uri, "--out", ".",
    ];
    args.extend_from_slice(extra);
    certbound(d, &args).code(0);
}

/// A leaf of `ca` (a `pki init` directory) that expired a week ago.
fn expired_leaf(d: &Path, ca: &str, name: &str, uri: &str) {
    use certbound_pki::generate::{self, LeafSpec, Signer};
    let cert = std::fs::read(d.join(ca).join("intermediate.crt")).unwrap();
    let cert = certbound_pki::parse_certificates(&cert).unwrap().remove(0);
    let key = std::fs::read(d.join(ca).join("intermediate.key")).unwrap();
    let signer = Signer::new(cert.clone(), &key).unwrap();
    let then = OffsetDateTime::now_utc() - time::Duration::days(10);
    let leaf = generate::leaf(
        &signer,
        &LeafSpec {
            common_name: name.into(),
            uris: vec![uri.into()],
            days: 3,
            ..LeafSpec::default()
        },
        then,
    )
    .unwrap();
    let chain = format!(
        "{}{}",
        leaf.cert_pem,
        generate::pem_encode("CERTIFICATE", &cert)
    );
    std::fs::write(d.join(format!("{name}.crt")), chain).unwrap();
    certbound_testkit::pki::write_private(&d.join(format!("{name}.key")), &leaf.key_pem);
}

const CONFIG: &str = r#"data_dir = "data"
[issuer]
url = "BASE"
[tls.web]
cert = "server.crt"
key = "server.key"
client_auth = "optional"
[[listener]]
name = "web"
bind = "127.0.0.1:PORT"
tls = "web"
[revocation]
crl_files = ["comm.crl"]
[[udap.community]]
name = "COMMUNITY"
anchors = ["comm/ca.crt"]
intermediates = ["comm/intermediate.crt"]
certificate = "as-udap.crt"
key = "as-udap.key"
scope = "system/*.rs"
"#;

#[test]
fn udap_partners_register_and_get_bound_tokens_with_hl7_b2b() {
    util::openssl_pki::require_python_cryptography();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("https://localhost:{port}");
    // The server's TLS certificate, from its own CA.
    certbound(d, &["pki", "init", "--out", "tlsca"]).code(0);
    certbound(
        d,
        &[
            "pki",
            "issue",
            "server",
            "--ca",
            "tlsca",
            "--name",
            "server",
            "--dns",
            "localhost",
            "--out",
            ".",
        ],
    )
    .code(0);
    // The community: root → intermediate → the server's UDAP certificate
    // (RSA, so signed_metadata is RS256) and the partners'.
    certbound(
        d,
        &[
            "pki",
            "init",
            "--out",
            "comm",
            "--intermediate",
            "--cn",
            "Community Root",
        ],
    )
    .code(0);
    issue(d, "comm", "as-udap", &base, &["--key-type", "rsa-2048"]);
    issue(d, "comm", "partner", PARTNER, &["--key-type", "rsa-2048"]);
    issue(d, "comm", "partner-ec", "https://ec.example.org/app", &[]);
    issue(d, "comm", "revoked", "https://revoked.example.org/app", &[]);
    certbound(d, &["pki", "revoke", "--ca", "comm", "revoked.crt"]).code(0);
    certbound(d, &["pki", "crl", "--ca", "comm", "--out", "comm.crl"]).code(0);
    expired_leaf(d, "comm", "expired", "https://expired.example.org/app");
    // Another community, whose member claims the partner's URI.
    certbound(
        d,
        &[
            "pki",
            "init",
            "--out",
            "other",
            "--intermediate",
            "--cn",
            "Other Root",
        ],
    )
    .code(0);
    issue(d, "other", "stranger", PARTNER, &["--key-type", "rsa-2048"]);
    std::fs::write(
        d.join("certbound.toml"),
        CONFIG
            .replace("BASE", &base)
            .replace("PORT", &port.to_string())
            .replace("COMMUNITY", COMMUNITY),
    )
    .unwrap();
    certbound(d, &["config", "check", "certbound.toml"]).code(0);
    let server =
        util::process::Server::start(d, &["serve", "--config", "certbound.toml"], "issuer:");
    let tls = ["--ca", "tlsca/ca.crt"];

    // Discovery: both clients verify signed_metadata to the community anchor.
    let mut args = vec!["udap", "discover", &base, "--anchor", "comm/ca.crt"];
    args.extend_from_slice(&tls);
    certbound(d, &args)
        .code(0)
        .stdout_has("ok: signed_metadata (RS256)");
    let (code, out) = python(
        d,
        &[
            "discover",
            &base,
            "--ca",
            "tlsca/ca.crt",
            "--anchor",
            "comm/ca.crt",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let meta: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(meta["udap_versions_supported"], serde_json::json!(["1"]));
    assert_eq!(
        meta["udap_authorization_extensions_required"],
        serde_json::json!(["hl7-b2b"])
    );
    assert_eq!(meta["token_endpoint"], format!("{base}/oauth2/token"));
    // With another community's anchor the signature is not trusted.
    let mut args = vec!["udap", "discover", &base, "--anchor", "other/ca.crt"];
    args.extend_from_slice(&tls);
    certbound(d, &args).code(1).stderr_has("not trusted");
    let (code, _) = python(
        d,
        &[
            "discover",
            &base,
            "--ca",
            "tlsca/ca.crt",
            "--anchor",
            "other/ca.crt",
        ],
    );
    assert_eq!(code, 1);
    // A community the server is not part of: 204.
    let (code, out) = python(
        d,
        &[
            "discover",
            &base,
            "--ca",
            "tlsca/ca.crt",
            "--anchor",
            "comm/ca.crt",
            "--community",
            "urn:example:unknown",
        ],
    );
    assert_eq!((code, out.trim()), (2, "status 204"));

    // Registration by certbound: 201 and a client_id derived from the URI.
    let register = |cert: &str, extra: &[&str]| {
        let mut args = vec![
            "udap",
            "register",
            &base,
            "--cert",
            format!("{cert}.crt").leak(),
            "--key",
            format!("{cert}.key").leak(),
            "--contact",
            "mailto:ops@partner.example.org",
        ];
        args.extend_from_slice(&tls);
        args.extend_from_slice(extra);
        certbound(d, &args)
    };
    let id = register(
        "partner",
        &["--print-client-id", "--scope", "system/*.rs system/*.cruds"],
    )
    .code(0)
    .stdout
    .trim()
    .to_owned();
    assert!(id.starts_with("udap-"), "{id}");
    let shown = certbound(
        d,
        &[
            "client",
            "show",
            &id,
            "--config",
            "certbound.toml",
            "--json",
        ],
    );
    shown.code(0).stdout_has(COMMUNITY).stdout_has(PARTNER);
    // The community allows system/*.rs only: the rest is not registered.
    assert!(shown.stdout.contains("\"system/*.rs\""), "{}", shown.stdout);
    // The same URI registers again (from Python): 200, the same client_id.
    let ps = |cert: &str, extra: &[&str]| {
        let mut args = vec![
            "register",
            &base,
            "--ca",
            "tlsca/ca.crt",
            "--cert",
            format!("{cert}.crt").leak(),
            "--key",
            format!("{cert}.key").leak(),
        ];
        args.extend_from_slice(extra);
        python_call(d, &args)
    };
    let (status, body) = ps("partner", &["--name", "Partner App v2"]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["client_id"], id.as_str());
    assert_eq!(body["client_name"], "Partner App v2");
    assert_eq!(
        body["grant_types"],
        serde_json::json!(["client_credentials"])
    );
    assert!(body["software_statement"].as_str().is_some());

    // Each bad statement is refused with its RFC 7591 error.
    for (cert, extra, error, text) in [
        (
            "stranger",
            vec![],
            "unapproved_software_statement",
            "not trusted",
        ),
        (
            "revoked",
            vec![],
            "unapproved_software_statement",
            "revoked",
        ),
        (
            "expired",
            vec![],
            "unapproved_software_statement",
            "expired",
        ),
        (
            "partner",
            vec!["--iss", "https://evil.example/app"],
            "invalid_software_statement",
            "not a URI SAN",
        ),
        (
            "partner",
            vec!["--exp-in", "600"],
            "invalid_software_statement",
            "at most 300s",
        ),
        (
            "partner",
            vec!["--omit", "client_name"],
            "invalid_client_metadata",
            "client_name",
        ),
        (
            "partner",
            vec!["--omit", "contacts"],
            "invalid_client_metadata",
            "mailto",
        ),
        (
            "partner",
            vec!["--grant-types", "[\"authorization_code\"]"],
            "invalid_client_metadata",
            "client_credentials",
        ),
        (
            "partner",
            vec!["--scope", "user/*.read"],
            "invalid_client_metadata",
            "scope",
        ),
        (
            "partner",
            vec!["--aud", "https://elsewhere.example/register"],
            "invalid_software_statement",
            "aud",
        ),
    ] {
        let (status, body) = ps(cert, &extra);
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(error)),
            "{cert} {extra:?}: {body}"
        );
        let description = body["error_description"].as_str().unwrap_or_default();
        assert!(
            description.contains(text),
            "{cert} {extra:?}: {description}"
        );
    }
    // A statement signed by a key that is not the certificate's.
    let (status, body) = python_call(
        d,
        &[
            "register",
            &base,
            "--ca",
            "tlsca/ca.crt",
            "--cert",
            "partner.crt",
            "--key",
            "stranger.key",
        ],
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_software_statement")),
        "{body}"
    );
    // A partner whose certificate openssl made (OpenSSL 3 defaults, an EC
    // key in PKCS#8) under the community's intermediate, its x5c holding the
    // leaf alone: the community's `intermediates` completes the chain. It
    // registers and gets a token, ES256 both times.
    util::openssl_pki::openssl_issue(
        d,
        "openssl-partner",
        "comm/intermediate",
        "4242",
        &[
            "basicConstraints=critical,CA:FALSE".into(),
            "keyUsage=critical,digitalSignature".into(),
            "subjectAltName=URI:https://openssl.example.org/app".into(),
        ],
    );
    let (status, body) = ps("openssl-partner", &[]);
    assert_eq!(status, 201, "{body}");
    let openssl_id = body["client_id"].as_str().unwrap().to_owned();
    assert_ne!(openssl_id, id);
    let args = [
        "token",
        &base,
        "--ca",
        "tlsca/ca.crt",
        "--cert",
        "openssl-partner.crt",
        "--key",
        "openssl-partner.key",
        "--client-id",
        &openssl_id,
    ];
    let (status, body) = python_call(d, &args);
    assert_eq!(status, 200, "{body}");

    // A replayed statement.
    let (status, _) = ps("partner-ec", &["--jti", "statement-1"]);
    assert_eq!(status, 201);
    let (status, body) = ps("partner-ec", &["--jti", "statement-1"]);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_software_statement")),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("used before"),
        "{body}"
    );

    // client_credentials with hl7-b2b, by certbound, presenting the
    // certificate in TLS too: a bound token carrying the extension.
    let token = {
        let mut args = vec![
            "udap",
            "token",
            &base,
            "--client-id",
            &id,
            "--cert",
            "partner.crt",
            "--key",
            "partner.key",
            "--organization-id",
            "https://partner.example.org",
            "--organization-name",
            "Partner",
            "--scope",
            "system/Patient.rs",
            "--print",
            "access-token",
        ];
        args.extend_from_slice(&tls);
        certbound(d, &args).code(0).stdout.trim().to_owned()
    };
    let claims = claims_of(&token);
    assert_eq!(claims["client_id"], id.as_str());
    assert_eq!(claims["scope"], "system/Patient.rs");
    assert_eq!(
        claims["extensions"]["hl7-b2b"]["organization_id"],
        "https://partner.example.org"
    );
    assert_eq!(
        claims["extensions"]["hl7-b2b"]["purpose_of_use"],
        serde_json::json!(["urn:oid:2.16.840.1.113883.5.8#TREAT"])
    );
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 3600);
    assert!(
        claims["cnf"]["x5t#S256"].is_string(),
        "bound to the TLS certificate: {claims}"
    );
    // From Python, without a TLS client certificate: not bound.
    let pt = |cert: &str, client: &str, extra: &[&str]| {
        let mut args = vec![
            "token",
            &base,
            "--ca",
            "tlsca/ca.crt",
            "--cert",
            format!("{cert}.crt").leak(),
            "--key",
            format!("{cert}.key").leak(),
            "--client-id",
            client,
        ];
        args.extend_from_slice(extra);
        python_call(d, &args)
    };
    let (status, body) = pt("partner", &id, &["--scope", "system/Observation.rs"]);
    assert_eq!(status, 200, "{body}");
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert!(claims.get("cnf").is_none(), "{claims}");
    assert_eq!(claims["extensions"]["hl7-b2b"]["version"], "1");
    // Refused: no hl7-b2b, a replayed jti, another community's chain, a
    // bad extension, and a member of the community with another URI.
    let (status, body) = pt("partner", &id, &["--no-b2b"]);
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    let (status, _) = pt("partner", &id, &["--jti", "ant-1"]);
    assert_eq!(status, 200);
    let (status, _) = pt("partner", &id, &["--jti", "ant-1"]);
    assert_eq!(status, 401);
    let (status, _) = pt("stranger", &id, &[]);
    assert_eq!(status, 401);
    let (status, _) = pt("partner", &id, &["--org-id", "not a uri"]);
    assert_eq!(status, 401);
    let (status, _) = pt("partner-ec", &id, &[]);
    assert_eq!(status, 401);
    audit_has(
        d,
        "certbound.toml",
        &id,
        &[
            "udap_b2b",
            "assertion_replayed",
            "udap_untrusted",
            "organization_id",
        ],
    );

    // Cancelled: the client is gone, and its tokens are refused.
    register("partner", &["--cancel"])
        .code(0)
        .stderr_has("registration cancelled");
    certbound(d, &["client", "show", &id, "--config", "certbound.toml"]).code(1);
    let (status, _) = pt("partner", &id, &[]);
    assert_eq!(status, 401);
    // Registering again after a cancellation is a new registration.
    let (status, body) = ps("partner", &[]);
    assert_eq!(
        (status, body["client_id"].as_str()),
        (201, Some(id.as_str())),
        "{body}"
    );
    drop(server);
}

#[test]
fn a_community_certificate_must_name_the_issuer_url() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certbound(d, &["pki", "init", "--out", "tlsca"]).code(0);
    certbound(
        d,
        &[
            "pki",
            "issue",
            "server",
            "--ca",
            "tlsca",
            "--name",
            "server",
            "--dns",
            "localhost",
            "--out",
            ".",
        ],
    )
    .code(0);
    certbound(d, &["pki", "init", "--out", "comm", "--intermediate"]).code(0);
    issue(d, "comm", "as-udap", "https://other.example.com", &[]);
    std::fs::write(d.join("comm.crl"), "").unwrap();
    let config = CONFIG
        .replace("BASE", "https://auth.example.com")
        .replace("PORT", "0")
        .replace("COMMUNITY", COMMUNITY)
        .replace("[revocation]\ncrl_files = [\"comm.crl\"]\n", "");
    std::fs::write(d.join("certbound.toml"), &config).unwrap();
    certbound(d, &["config", "check", "certbound.toml"])
        .code(2)
        .stderr_has("udap.community[0].certificate")
        .stderr_has("not the issuer URL `https://auth.example.com`");
    // Without [issuer] url UDAP cannot say who it is.
    let config = config.replace("url = \"https://auth.example.com\"\n", "");
    std::fs::write(d.join("certbound.toml"), &config).unwrap();
    certbound(d, &["config", "check", "certbound.toml"])
        .code(2)
        .stderr_has("issuer.url");
}
