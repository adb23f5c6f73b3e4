use base64::engine::general_purpose::STANDARD;

use super::*;

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

#[test]
fn form_decoding_follows_html_forms() {
    let form = FormParams::parse(b"a=hello+world&b=caf%C3%A9&c=%26%3D%2B&d=x%2fy").expect("valid");
    assert_eq!(form.single("a"), Ok(Some("hello world")));
    assert_eq!(form.single("b"), Ok(Some("café")));
    assert_eq!(form.single("c"), Ok(Some("&=+")));
    assert_eq!(form.single("d"), Ok(Some("x/y")));
    assert_eq!(form.single("missing"), Ok(None));
    // Names are decoded too, and empty segments skipped.
    let form = FormParams::parse(b"&&client%5Fid=x&").expect("valid");
    assert_eq!(form.single("client_id"), Ok(Some("x")));
}

#[test]
fn bad_escapes_and_bad_utf8_are_errors() {
    assert_eq!(
        FormParams::parse(b"a=1&b=%zz"),
        Err(RequestError::BadPercentEscape { offset: 6 })
    );
    assert_eq!(
        FormParams::parse(b"a=%4"),
        Err(RequestError::BadPercentEscape { offset: 2 })
    );
    assert_eq!(
        FormParams::parse(b"%=1"),
        Err(RequestError::BadPercentEscape { offset: 0 })
    );
    assert!(matches!(
        FormParams::parse(b"scope=%C3%28"),
        Err(RequestError::InvalidUtf8 { what }) if what == "value of scope"
    ));
    assert!(matches!(
        FormParams::parse(b"%FF=1"),
        Err(RequestError::InvalidUtf8 { what }) if what == "parameter name"
    ));
    assert!(matches!(
        FormParams::parse(b"a=\xff"),
        Err(RequestError::InvalidUtf8 { .. })
    ));
}

#[test]
fn empty_values_count_as_omitted() {
    let form = FormParams::parse(b"scope=&scope=read&client_id&client_secret=").expect("valid");
    assert_eq!(form.single("scope"), Ok(Some("read")));
    assert_eq!(form.single("client_id"), Ok(None));
    assert_eq!(form.single("client_secret"), Ok(None));
}

#[test]
fn body_limit_is_enforced() {
    let body = vec![b'a'; MAX_FORM_BODY_LEN + 1];
    assert_eq!(
        FormParams::parse(&body),
        Err(RequestError::BodyTooLarge {
            len: MAX_FORM_BODY_LEN + 1,
            max: MAX_FORM_BODY_LEN
        })
    );
    assert!(FormParams::parse(&vec![b'a'; MAX_FORM_BODY_LEN]).is_ok());
}

#[test]
fn token_request_is_parsed() {
    let req = TokenRequest::parse(
        b"grant_type=client_credentials&client_id=partner-a&scope=read+write+read\
          &resource=https%3A%2F%2Fapi.example&resource=https%3A%2F%2Fb.example&foo=bar&foo=baz",
    )
    .expect("valid");
    assert_eq!(req.grant_type, GrantType::ClientCredentials);
    assert_eq!(req.client_id.as_deref(), Some("partner-a"));
    assert_eq!(req.client_secret, None);
    assert_eq!(
        req.scope,
        ["read", "write"],
        "repeated scope token kept once"
    );
    assert_eq!(req.resource, ["https://api.example", "https://b.example"]);

    let other = TokenRequest::parse(b"grant_type=password").expect("valid form");
    assert_eq!(other.grant_type, GrantType::Other("password".into()));
    assert!(other.scope.is_empty());
}

#[test]
fn token_request_rejects_repeats_and_omissions() {
    assert_eq!(
        TokenRequest::parse(b"scope=read"),
        Err(RequestError::Missing { name: "grant_type" })
    );
    assert_eq!(
        TokenRequest::parse(b"grant_type="),
        Err(RequestError::Missing { name: "grant_type" })
    );
    for name in ["grant_type", "client_id", "client_secret", "scope"] {
        let body = format!("grant_type=client_credentials&{name}=a&{name}=b");
        assert_eq!(
            TokenRequest::parse(body.as_bytes()),
            Err(RequestError::Duplicate { name: name.into() }),
            "{name}"
        );
    }
    let e = OAuthError::from(RequestError::Duplicate {
        name: "scope".into(),
    });
    assert_eq!(e.code, ErrorCode::InvalidRequest);
    assert_eq!(e.status(), 400);
}

#[test]
fn scope_follows_rfc6749_section_3_3() {
    assert_eq!(
        parse_scope("read write:all https://api/x !#$"),
        Ok(vec![
            "read".to_owned(),
            "write:all".to_owned(),
            "https://api/x".to_owned(),
            "!#$".to_owned()
        ])
    );
    for bad in [
        "read  write",
        " read",
        "read ",
        "re\"ad",
        "re\\ad",
        "café",
        "a\tb",
    ] {
        let e = parse_scope(bad).expect_err(bad);
        assert_eq!(e.error_code(), ErrorCode::InvalidScope, "{bad}");
    }
    let e = TokenRequest::parse(b"grant_type=client_credentials&scope=a+%22b%22")
        .expect_err("quote in scope");
    assert_eq!(OAuthError::from(e).code, ErrorCode::InvalidScope);
}

#[test]
fn basic_header_is_decoded_per_rfc6749_2_3_1() {
    assert_eq!(
        parse_basic_authorization(&basic("partner-a", "s3cret")),
        Ok(("partner-a".into(), "s3cret".into()))
    );
    // Both parts are form-urlencoded before base64: ':' and '+' arrive escaped.
    assert_eq!(
        parse_basic_authorization(&basic("urn%3Apartner", "a%2Bb+c")),
        Ok(("urn:partner".into(), "a+b c".into()))
    );
    // The secret may contain ':' unescaped; the first ':' splits.
    assert_eq!(
        parse_basic_authorization(&basic("id", "a:b")),
        Ok(("id".into(), "a:b".into()))
    );
    // Scheme is case-insensitive; missing padding is tolerated.
    let unpadded = format!("bAsIc {}", STANDARD.encode("ab:c").trim_end_matches('='));
    assert_eq!(
        parse_basic_authorization(&unpadded),
        Ok(("ab".into(), "c".into()))
    );
}

#[test]
fn malformed_basic_headers_are_invalid_client() {
    let cases = [
        "Bearer abc".to_owned(),
        "Basic".to_owned(),
        "Basic !!!".to_owned(),
        format!("Basic {}", STANDARD.encode("no-colon")),
        format!("Basic {}", STANDARD.encode(":secret")),
        format!("Basic {}", STANDARD.encode("id:")),
        format!("Basic {}", STANDARD.encode([0xff, b':', b'x'])),
        format!("Basic {}", STANDARD.encode("id%zz:x")),
    ];
    for header in cases {
        let e = parse_basic_authorization(&header).expect_err(&header);
        assert_eq!(e.error_code(), ErrorCode::InvalidClient, "{header}");
        let oauth = OAuthError::from(e);
        assert_eq!(oauth.status(), 401);
        assert_eq!(
            oauth.description.as_deref(),
            Some("Client authentication failed"),
            "the peer is told little"
        );
    }
}

#[test]
fn client_authentication_methods_are_resolved() {
    let resolve = ClientAuthentication::resolve;
    let hdr = basic("a", "s");
    assert_eq!(
        resolve(Some(&hdr), None, None),
        Ok(ClientAuthentication::Basic {
            client_id: "a".into(),
            client_secret: "s".into()
        })
    );
    assert!(resolve(Some(&hdr), Some("a"), None).is_ok_and(|m| m.used_basic()));
    assert_eq!(
        resolve(Some(&hdr), Some("b"), None),
        Err(RequestError::ClientIdMismatch {
            basic: "a".into(),
            body: "b".into()
        })
    );
    assert_eq!(
        resolve(Some(&hdr), None, Some("s")),
        Err(RequestError::MultipleAuthMethods)
    );
    assert_eq!(
        resolve(Some(&hdr), Some("a"), Some("s")).map_err(|e| e.error_code()),
        Err(ErrorCode::InvalidRequest)
    );
    assert_eq!(
        resolve(None, Some("a"), Some("s")),
        Ok(ClientAuthentication::Post {
            client_id: "a".into(),
            client_secret: "s".into()
        })
    );
    assert_eq!(
        resolve(None, Some("a"), None),
        Ok(ClientAuthentication::ClientId {
            client_id: "a".into()
        })
    );
    assert_eq!(resolve(None, None, None), Ok(ClientAuthentication::None));
    assert_eq!(
        resolve(None, None, Some("s")),
        Err(RequestError::SecretWithoutClientId)
    );
}

#[test]
fn client_authentication_from_a_token_request() {
    let req = TokenRequest::parse(b"grant_type=client_credentials&client_id=a&client_secret=s")
        .expect("valid");
    let method = req.client_authentication(None).expect("post");
    assert_eq!(method.client_id(), Some("a"));
    assert!(!method.used_basic());
    assert_eq!(
        req.client_authentication(Some(&basic("a", "s"))),
        Err(RequestError::MultipleAuthMethods)
    );
}

#[test]
fn secrets_do_not_appear_in_debug_output() {
    let m = ClientAuthentication::Basic {
        client_id: "a".into(),
        client_secret: "hunter2".into(),
    };
    let shown = format!("{m:?}");
    assert!(shown.contains("\"a\""));
    assert!(!shown.contains("hunter2"));
}

#[test]
fn introspection_and_revocation_requests() {
    let req = IntrospectionRequest::parse(b"token=eyJ.a.b&token_type_hint=access_token&x=1")
        .expect("valid");
    assert_eq!(req.token, "eyJ.a.b");
    assert_eq!(req.token_type_hint.as_deref(), Some("access_token"));
    assert_eq!(
        req.client_authentication(None),
        Ok(ClientAuthentication::None)
    );
    assert_eq!(
        RevocationRequest::parse(b"token_type_hint=access_token"),
        Err(RequestError::Missing { name: "token" })
    );
    assert_eq!(
        RevocationRequest::parse(b"token=a&token=b"),
        Err(RequestError::Duplicate {
            name: "token".into()
        })
    );
}
