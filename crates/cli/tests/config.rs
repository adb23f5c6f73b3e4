//! `certbound config check`: a valid file's resolved listeners and profiles
//! (exit 0); every problem of an invalid one, TOML's own snippet for a
//! syntax error, and the defined profiles for a missing one (exit 2).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use util::certbound;

#[test]
fn a_valid_config_prints_its_listeners_and_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certbound(d, &["init", "deploy", "--hostname", "auth.example.test"]).code(0);
    certbound(d, &["config", "check", "deploy/certbound.toml"])
        .code(0)
        .stdout_has("deploy/certbound.toml: valid")
        .stdout_has("issuer: https://auth.example.test:8443")
        .stdout_has("0.0.0.0:8443")
        .stdout_has("TLS, profile server, no client certificate")
        .stdout_has("0.0.0.0:9443")
        .stdout_has("TLS, profile mtls, client certificate required")
        .stdout_has("public_url https://auth.example.test:9443")
        .stdout_has("certificate 'auth.example.test' expires")
        .stdout_has("console at https://auth.example.test:8443/console");
    // Nothing was started or created.
    assert!(!d.join("deploy/data").exists());
}

#[test]
fn every_problem_is_reported_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("bad.toml"),
        "[issuer]\ntoken_lifetime = 1\n[tls.server]\ncert = \"missing.crt\"\nkey = \"missing.key\"\n\
         [[listener]]\nbind = \"nowhere\"\ntls = \"server\"\n[[listener]]\nbind = \"127.0.0.1:9443\"\ntls = \"srv\"\n\
         [[route]]\nprefix = \"/api/\"\nupstream = \"https://partner.example\"\nupstream_tls = \"partner\"\n\
         [[route]]\nprefix = \"/in/\"\nupstream = \"https://partner.example\"\nupstream_tls = \"server\"\n",
    )
    .unwrap();
    certbound(d, &["config", "check", "bad.toml"])
        .code(2)
        .stderr_has("problems:")
        .stderr_has("issuer.url")
        .stderr_has("issuer.token_lifetime")
        .stderr_has("tls.server.cert")
        .stderr_has("listener[0].bind")
        // A missing profile names the ones the file defines.
        .stderr_has(
            "listener[1].tls: there is no [tls.srv] profile; the file defines [tls.server]",
        )
        .stderr_has(
            "route[0].upstream_tls: there is no [tls.partner] profile; the file defines [tls.server]",
        )
        // [tls.server] is defined but broken: its own problem says why, once.
        .stderr_lacks("route[1].upstream_tls");
}

#[test]
fn a_syntax_error_shows_tomls_snippet() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("syntax.toml"),
        "[issuer]\nurl = \"https://a.example\"\n\n[[listener]]\nbind = 127.0.0.1:8443\n",
    )
    .unwrap();
    let run = certbound(d, &["config", "check", "syntax.toml"]);
    run.code(2).stderr_has("syntax.toml is not valid:");
    // TOML's own message: the line, the text and a caret, on lines of their own.
    assert!(
        run.stderr.contains("bind = 127.0.0.1:8443\n") && run.stderr.contains('^'),
        "{}",
        run.stderr
    );
    assert!(run.stderr.lines().count() >= 4, "{}", run.stderr);
}

#[test]
fn a_missing_file_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    certbound(dir.path(), &["config", "check", "absent.toml"])
        .code(2)
        .stderr_has("absent.toml");
}
