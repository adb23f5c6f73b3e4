use super::*;

fn parse(text: &str) -> Result<Config, Vec<Problem>> {
    let raw: RawConfig = toml::from_str(text).unwrap();
    raw.validate(Path::new("/etc/certbound"))
}

#[test]
fn minimal_config_gets_defaults() {
    let c = parse(
        r#"
        [issuer]
        url = "https://auth.example.com/"
        [[listener]]
        bind = "127.0.0.1:8080"
        "#,
    )
    .unwrap();
    assert_eq!(c.issuer.url, "https://auth.example.com");
    assert_eq!(c.issuer.audience, ["https://auth.example.com"]);
    assert_eq!(c.issuer.token_lifetime, DEFAULT_TOKEN_LIFETIME);
    assert_eq!(c.data_dir, Path::new("/etc/certbound/certbound-data"));
    assert_eq!(
        c.store_url,
        "sqlite:///etc/certbound/certbound-data/certbound.db"
    );
    assert_eq!(
        c.issuer.signing_key,
        Path::new("/etc/certbound/certbound-data/signing-key.pem")
    );
    assert_eq!(c.listeners[0].name, "listener-0");
    assert!(c.listeners[0].tls.is_none());
    assert_eq!(c.client_cache, crate::registry::DEFAULT_CACHE);
}

#[test]
fn every_problem_is_reported_with_its_key() {
    let problems = parse(
        r#"
        [store]
        url = "mysql://x"
        client_cache = 0
        [issuer]
        token_lifetime = 5
        algorithm = "RS256"
        [[listener]]
        bind = "localhost"
        tls = "missing"
        [[listener]]
        name = "second"
        [log]
        format = "xml"
        "#,
    )
    .unwrap_err();
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    for want in [
        "store.url",
        "store.client_cache",
        "issuer.url",
        "issuer.token_lifetime",
        "issuer.algorithm",
        "listener[0].bind",
        "listener[0].tls",
        "listener[1].bind",
        "log.format",
    ] {
        assert!(keys.contains(&want), "{want} missing from {keys:?}");
    }
}

#[test]
fn unknown_keys_are_refused() {
    let err = toml::from_str::<RawConfig>("[issuer]\nurll = \"x\"").unwrap_err();
    assert!(err.to_string().contains("urll"), "{err}");
}

#[test]
fn relative_sqlite_url_is_in_the_data_dir_and_postgres_is_kept() {
    let c = parse("data_dir = \"/var/lib/cb\"\n[store]\nurl = \"sqlite://x.db\"\n[issuer]\nurl = \"https://a\"\n[[listener]]\nbind = \"[::1]:0\"").unwrap();
    assert_eq!(c.store_url, "sqlite:///var/lib/cb/x.db");
    let c = parse("[store]\nurl = \"postgres://u:p@h/db\"\n[issuer]\nurl = \"https://a\"\n[[listener]]\nbind = \"[::1]:0\"").unwrap();
    assert_eq!(c.store_url, "postgres://u:p@h/db");
}
