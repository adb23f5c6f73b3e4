//! Profiles from TOML: reading only the `tls` table, resolving paths
//! against the config file, and every problem reported at once.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use certbound_testkit::{LeafOptions, TestPki};

use super::*;

const CONFIG: &str = r#"
[server]
listen = "0.0.0.0:8443"

[tls.partner]
cert = "client.crt"
key = "client.key"
ca = "ca/root.crt"
min_version = "1.3"

[tls.plain]
"#;

fn files(dir: &Path) -> TestPki {
    let pki = TestPki::new();
    pki.root
        .issue(&LeafOptions::client("partner"))
        .write(dir, "client", &[]);
    std::fs::create_dir(dir.join("ca")).unwrap();
    std::fs::write(dir.join("ca/root.crt"), pki.root.cert_pem()).unwrap();
    pki
}

#[test]
fn reads_only_the_tls_table_and_resolves_paths_against_the_config_dir() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path());
    let config = dir.path().join("certbound.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let raw = read_tls_table(&config).unwrap();
    assert_eq!(raw.keys().collect::<Vec<_>>(), ["partner", "plain"]);
    assert_eq!(raw["partner"].min_version.as_deref(), Some("1.3"));
    // Resolved from another working directory: paths follow the config file.
    let p = load_profile(&config, "partner").unwrap();
    assert!(p.identity.is_some());
    assert_eq!(p.ca.as_ref().map(Vec::len), Some(1));
    assert_eq!(p.min_version, MinVersion::Tls13);
    assert_eq!(p.client_auth, ClientAuth::Off);
    let plain = load_profile(&config, "plain").unwrap();
    assert!(plain.identity.is_none() && plain.ca.is_none());
    assert_eq!(plain.min_version, DEFAULT_MIN_VERSION);
    assert_eq!(load_profiles(&config).unwrap().len(), 2);
}

#[test]
fn every_problem_is_reported_at_once_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let pki = files(dir.path());
    // A key that belongs to another certificate.
    pki.root
        .issue(&LeafOptions::client("other"))
        .write(dir.path(), "other", &[]);
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        r#"
[tls.bad]
cert = "client.crt"
key = "other.key"
ca = "missing.crt"
min_version = "1.1"
client_auth = "sometimes"
"#,
    )
    .unwrap();
    let err = load_profile(&config, "bad").unwrap_err();
    let ProfileError::Invalid { problems, .. } = &err else {
        panic!("{err}");
    };
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "tls.bad.key",
            "tls.bad.ca",
            "tls.bad.min_version",
            "tls.bad.client_auth"
        ],
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("4 problems"), "{text}");
    assert!(text.contains("does not belong"), "{text}");
    assert!(text.contains("missing.crt"), "{text}");
    assert!(text.contains("\"1.2\" or \"1.3\""), "{text}");
}

#[test]
fn a_client_ca_needs_a_client_auth_mode_that_uses_it() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path());
    let config = dir.path().join("c.toml");
    let with = |mode: &str| {
        std::fs::write(
            &config,
            format!("[tls.p]\ncert = \"client.crt\"\nkey = \"client.key\"\nclient_ca = \"ca/root.crt\"\n{mode}"),
        )
        .unwrap();
        load_profile(&config, "p")
    };
    for mode in [
        "",
        "client_auth = \"off\"\n",
        "client_auth = \"optional_no_ca\"\n",
    ] {
        let err = with(mode).unwrap_err();
        let ProfileError::Invalid { problems, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(problems.len(), 1, "{err}");
        assert_eq!(problems[0].key, "tls.p.client_ca", "{err}");
    }
    for mode in [
        "client_auth = \"optional\"\n",
        "client_auth = \"required\"\n",
    ] {
        let p = with(mode).unwrap();
        assert_eq!(p.client_ca.as_ref().map(Vec::len), Some(1));
    }
}

#[test]
fn types_unknown_keys_and_missing_profiles() {
    let path = Path::new("/etc/certbound.toml");
    let err = parse_tls_table(
        "[tls.a]\ncert = 5\ncertt = \"x\"\n[tls]\nb = \"not a table\"\n",
        path,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("tls.a.cert: must be a string, not integer"),
        "{text}"
    );
    assert!(text.contains("tls.a.certt: unknown key"), "{text}");
    assert!(text.contains("tls.b: must be a table"), "{text}");
    assert!(
        parse_tls_table("[tls.a\n", path)
            .unwrap_err()
            .to_string()
            .contains("not valid TOML")
    );
    assert!(
        parse_tls_table("[other]\nx = 1\n", path)
            .unwrap()
            .is_empty()
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "[tls.one]\n[tls.two]\n").unwrap();
    let err = load_profile(&config, "three").unwrap_err().to_string();
    assert!(
        err.contains("no TLS profile `three`") && err.contains("one, two"),
        "{err}"
    );
    // Half an identity.
    std::fs::write(&config, "[tls.half]\ncert = \"c.crt\"\n").unwrap();
    let err = load_profile(&config, "half").unwrap_err().to_string();
    assert!(err.contains("tls.half.key: missing"), "{err}");
}

#[test]
fn raw_profiles_also_deserialize_with_serde() {
    #[derive(serde::Deserialize)]
    struct Config {
        tls: BTreeMap<String, RawProfile>,
    }
    let c: Config =
        toml::from_str("[tls.p]\nca = \"ca.crt\"\nclient_auth = \"optional_no_ca\"\n").unwrap();
    assert_eq!(c.tls["p"].ca.as_deref(), Some(Path::new("ca.crt")));
    assert!(toml::from_str::<Config>("[tls.p]\nbogus = 1\n").is_err());
}
