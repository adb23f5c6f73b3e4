//! The web console over real TLS connections: nothing is served before
//! sign-in, the admin token never reaches a page or cookie, cookies are
//! HttpOnly/Secure/SameSite=Strict, every POST needs the session's CSRF
//! token, every page carries the strict CSP and no inline script or style,
//! hostile names and PEM are escaped, and a client goes through create,
//! check, save, rotate and delete with the token endpoint agreeing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// The server's test harness, shared rather than copied.
#[path = "../../server/tests/common/mod.rs"]
mod common;

use certbound_testkit::{LeafOptions, self_signed};
use common::{ADMIN_TOKEN, Client, Harness, Reply, client_doc, eventually, request};

/// A test server with the console mounted, as `certbound serve` runs it.
async fn console_server(extra: &str) -> Harness {
    Harness::start_mounted(extra, &[], &[certbound_console::MOUNT]).await
}

const FORM: &str = "grant_type=client_credentials&client_id=";
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The `name=value` part of every `Set-Cookie` named `name`, with its attributes.
fn set_cookie<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
}

fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

/// The value of the first hidden `csrf` field in a page.
fn csrf_of(body: &str) -> String {
    let at = body.find("name=\"csrf\" value=\"").expect("no csrf field")
        + "name=\"csrf\" value=\"".len();
    body[at..at + body[at..].find('"').unwrap()].to_string()
}

/// A browser of sorts: one listener, one TLS identity, the session cookie.
struct Browser<'a> {
    h: &'a Harness,
    listener: &'static str,
    identity: Client,
    cookie: Option<String>,
    csrf: String,
}

impl<'a> Browser<'a> {
    fn new(h: &'a Harness) -> Self {
        Self {
            h,
            listener: "tls",
            identity: Client::None,
            cookie: None,
            csrf: String::new(),
        }
    }

    async fn send(&self, method: &str, path: &str, body: &str, extra: &[(&str, &str)]) -> Reply {
        let mut headers: Vec<(&str, &str)> = extra.to_vec();
        if let Some(c) = &self.cookie {
            headers.push(("cookie", c.as_str()));
        }
        let ct = if method == "POST" {
            "application/x-www-form-urlencoded"
        } else {
            ""
        };
        request(
            self.h.addr(self.listener),
            &self.h.pki,
            &self.identity,
            method,
            path,
            ct,
            body,
            &headers,
        )
        .await
        .unwrap()
    }

    async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, "", &[]).await
    }

    /// POST with this session's CSRF token added.
    async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> Reply {
        let mut all = pairs.to_vec();
        all.push(("csrf", &self.csrf));
        self.send("POST", path, &form(&all), &[]).await
    }

    /// Sign in with the admin token through the form.
    async fn sign_in(h: &'a Harness) -> Browser<'a> {
        let mut b = Browser::new(h);
        let page = b.get("/console/signin").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let signin_cookie =
            cookie_pair(set_cookie(&page, "__Secure-certbound-signin").expect("no sign-in cookie"));
        let body = form(&[
            ("csrf", &csrf_of(&page.body)),
            ("token", ADMIN_TOKEN),
            ("next", "/console/clients"),
        ]);
        let reply = b
            .send(
                "POST",
                "/console/signin",
                &body,
                &[("cookie", &signin_cookie)],
            )
            .await;
        assert_eq!(reply.status, 303, "{}", reply.body);
        assert_eq!(reply.headers["location"], "/console/clients");
        b.cookie = Some(cookie_pair(
            set_cookie(&reply, "__Secure-certbound-console").expect("no session cookie"),
        ));
        let clients = b.get("/console/clients").await;
        assert_eq!(clients.status, 200, "{}", clients.body);
        b.csrf = csrf_of(&clients.body);
        b
    }
}

/// The security properties every console page has.
#[track_caller]
fn assert_safe_page(reply: &Reply, what: &str) {
    let h = &reply.headers;
    assert_eq!(h["content-security-policy"], CSP, "{what}");
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
    assert_eq!(h["cache-control"], "no-store", "{what}");
    assert!(
        h["content-type"].to_str().unwrap().starts_with("text/html"),
        "{what}"
    );
    let body = &reply.body;
    assert!(!body.contains(ADMIN_TOKEN), "{what} shows the admin token");
    // Every script has a src; no style element or attribute; no event handler or javascript: URL in any tag.
    for (i, _) in body.match_indices('<') {
        let raw = body[i..i + body[i..].find('>').unwrap_or(body.len() - i)].to_ascii_lowercase();
        // Attribute values are quoted with `"` (which escaping turns into &quot; inside them): drop them.
        let tag: String = raw.split('"').step_by(2).collect::<Vec<_>>().join("\"\"");
        if tag.starts_with("<script") {
            assert!(tag.contains(" src=\""), "{what}: inline script {tag}");
        }
        assert!(!tag.starts_with("<style"), "{what}: inline style element");
        assert!(!tag.contains(" style="), "{what}: style attribute in {tag}");
        assert!(
            !tag.contains("javascript:"),
            "{what}: javascript: URL in {tag}"
        );
        let handler = tag.split_whitespace().any(|attr| {
            attr.starts_with("on")
                && attr.contains('=')
                && attr[2..attr.find('=').unwrap()]
                    .bytes()
                    .all(|b| b.is_ascii_lowercase())
        });
        assert!(!handler, "{what}: event handler attribute in {tag}");
    }
    assert!(
        body.contains("<title>") && body.contains(" — certbound console</title>"),
        "{what}: title"
    );
}

#[tokio::test]
async fn nothing_is_served_before_sign_in() {
    let h = console_server("").await;
    let b = Browser::new(&h);
    for path in [
        "/console",
        "/console/clients",
        "/console/clients?q=x",
        "/console/clients/new",
        "/console/clients/some-id",
        "/console/clients/some-id/delete",
        "/console/listeners",
        "/console/audit",
    ] {
        let r = b.get(path).await;
        assert_eq!(r.status, 303, "{path}: {}", r.body);
        let location = r.headers["location"].to_str().unwrap();
        assert!(
            location.starts_with("/console/signin?next=%2Fconsole"),
            "{path} → {location}"
        );
        assert!(!r.body.contains("<table"), "{path}");
    }
    for path in [
        "/console/clients/new",
        "/console/clients/x",
        "/console/clients/x/delete",
        "/console/signout",
    ] {
        let r = b.send("POST", path, "name=x&csrf=guess", &[]).await;
        assert_eq!(r.status, 401, "{path}: {}", r.body);
    }
    let api = b
        .send(
            "POST",
            "/console/api/diagnose",
            "certificateTrustStore=x",
            &[],
        )
        .await;
    assert_eq!(api.status, 401);
    assert_eq!(api.json()["error"], "unauthorized");
    // A made-up session cookie is no session.
    let mut forged = Browser::new(&h);
    forged.cookie =
        Some("__Secure-certbound-console=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into());
    assert_eq!(forged.get("/console/clients").await.status, 303);
    // The sign-in page and the assets are public.
    let signin = b.get("/console/signin").await;
    assert_eq!(signin.status, 200);
    assert_safe_page(&signin, "sign-in page");
    assert!(
        signin
            .body
            .contains("<label for=\"f-token\">Admin token</label>")
    );
    let css = b.get("/console/assets/console.css").await;
    assert_eq!(css.status, 200);
    assert!(
        css.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert_eq!(css.headers["content-security-policy"], CSP);
    let js = b.get("/console/assets/console.js").await;
    assert!(
        js.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(b.get("/console/assets/other.js").await.status, 404);
}

#[tokio::test]
async fn sign_in_cookie_attributes_and_token_secrecy() {
    let h = console_server("").await;
    let b = Browser::new(&h);
    let page = b.get("/console/signin").await;
    let signin_cookie = set_cookie(&page, "__Secure-certbound-signin").unwrap();
    for attr in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/console/signin",
    ] {
        assert!(signin_cookie.contains(attr), "{signin_cookie}");
    }
    let pair = cookie_pair(signin_cookie);
    let csrf = csrf_of(&page.body);

    // A wrong token: refused, no session, and the attempt is audited.
    let wrong = b
        .send(
            "POST",
            "/console/signin",
            &form(&[("csrf", &csrf), ("token", "not-the-token-at-all")]),
            &[("cookie", &pair)],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("That is not the admin token."));
    assert!(!wrong.body.contains("not-the-token-at-all"));
    assert!(set_cookie(&wrong, "__Secure-certbound-console").is_none());
    // The right token without the form's cookie (a cross-site post): refused.
    let forged = b
        .send(
            "POST",
            "/console/signin",
            &form(&[("csrf", &csrf), ("token", ADMIN_TOKEN)]),
            &[],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert!(set_cookie(&forged, "__Secure-certbound-console").is_none());
    // An off-site `next` is not followed.
    let body = form(&[
        ("csrf", &csrf),
        ("token", ADMIN_TOKEN),
        ("next", "https://evil.example/"),
    ]);
    let ok = b
        .send("POST", "/console/signin", &body, &[("cookie", &pair)])
        .await;
    assert_eq!(ok.status, 303);
    assert_eq!(ok.headers["location"], "/console/clients");
    let session = set_cookie(&ok, "__Secure-certbound-console").unwrap();
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/console"] {
        assert!(session.contains(attr), "{session}");
    }
    assert!(!session.contains(ADMIN_TOKEN));
    let id = cookie_pair(session).split_once('=').unwrap().1.to_string();
    assert_eq!(id.len(), 43, "256 bits, base64url: {id}");

    // Every page, signed in: the security headers, no inline code, never the token.
    let b = Browser::sign_in(&h).await;
    let leaf = self_signed(&LeafOptions::client("partner").around_now());
    let created = h
        .admin(
            "POST",
            "/admin/ClientApplication",
            Some(&client_doc("Partner", &leaf.cert_pem())),
            None,
        )
        .await;
    let id = created.json()["id"].as_str().unwrap().to_string();
    for path in [
        "/console/clients".to_string(),
        "/console/clients?q=part".to_string(),
        "/console/clients/new".to_string(),
        format!("/console/clients/{id}"),
        format!("/console/clients/{id}/delete"),
        "/console/listeners".to_string(),
        "/console/audit".to_string(),
        "/console/audit?result=fail&kind=admin".to_string(),
        "/console/nowhere".to_string(),
    ] {
        let r = b.get(&path).await;
        assert!(
            r.status == 200 || path.ends_with("nowhere"),
            "{path}: {} {}",
            r.status,
            r.body
        );
        assert_safe_page(&r, &path);
    }
    // The failed sign-in is in the audit trail, with its reason.
    eventually("the failed sign-in in the audit trail", || async {
        b.get("/console/audit?kind=admin&result=fail")
            .await
            .body
            .contains("wrong admin token")
    })
    .await;

    // Signing out ends the session on the server.
    let out = b.post("/console/signout", &[]).await;
    assert_eq!(out.status, 303);
    assert!(
        set_cookie(&out, "__Secure-certbound-console")
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(b.get("/console/clients").await.status, 303);
}

#[tokio::test]
async fn every_post_needs_the_csrf_token() {
    let h = console_server("").await;
    let b = Browser::sign_in(&h).await;
    let leaf = self_signed(&LeafOptions::client("partner").around_now());
    let pem = leaf.cert_pem();
    let fields = [
        ("name", "Partner"),
        ("certificateTrustStore", pem.as_str()),
        ("action", "save"),
    ];
    let no_token = b
        .send("POST", "/console/clients/new", &form(&fields), &[])
        .await;
    assert_eq!(no_token.status, 403, "{}", no_token.body);
    let mut wrong = fields.to_vec();
    wrong.push(("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assert_eq!(
        b.send("POST", "/console/clients/new", &form(&wrong), &[])
            .await
            .status,
        403
    );
    // The right token from another site (Fetch Metadata) is refused too.
    let mut right = fields.to_vec();
    right.push(("csrf", b.csrf.as_str()));
    let cross = b
        .send(
            "POST",
            "/console/clients/new",
            &form(&right),
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(cross.status, 403);
    assert_eq!(
        h.running.store().count_clients().await.unwrap(),
        0,
        "nothing was created"
    );
    // Another session's token does not do either.
    let other = Browser::sign_in(&h).await;
    let mut others = fields.to_vec();
    others.push(("csrf", other.csrf.as_str()));
    assert_eq!(
        b.send("POST", "/console/clients/new", &form(&others), &[])
            .await
            .status,
        403
    );

    // With it: created.
    let ok = b.post("/console/clients/new", &fields).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let id = ok.headers["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/console/clients/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    // Delete, sign-out and the JSON endpoint check it as well.
    let del = format!("/console/clients/{id}/delete");
    assert_eq!(b.send("POST", &del, "", &[]).await.status, 403);
    assert!(h.running.store().get_client(&id).await.unwrap().is_some());
    assert_eq!(
        b.send("POST", "/console/signout", "", &[]).await.status,
        403
    );
    assert_eq!(
        b.send(
            "POST",
            "/console/api/diagnose",
            "certificateTrustStore=x",
            &[]
        )
        .await
        .status,
        403
    );
    let via_header = b
        .send(
            "POST",
            "/console/api/diagnose",
            "certificateTrustStore=x",
            &[("x-csrf-token", b.csrf.as_str())],
        )
        .await;
    assert_eq!(via_header.status, 200);
    assert_eq!(b.post(&del, &[]).await.status, 303);
    assert!(h.running.store().get_client(&id).await.unwrap().is_none());
}

#[tokio::test]
async fn hostile_names_and_pem_are_escaped() {
    let h = console_server("").await;
    let b = Browser::sign_in(&h).await;
    let hostile = "<script>alert(1)</script>\"'&<img src=x onerror=alert(2)>";
    let leaf = self_signed(&LeafOptions::client("<b>cn</b><script>alert(3)</script>").around_now());
    let pem = format!(
        "{hostile}\n{}\n</textarea><script>alert(4)</script>",
        leaf.cert_pem()
    );
    let created = h
        .admin(
            "POST",
            "/admin/ClientApplication",
            Some(&client_doc(hostile, &pem)),
            None,
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_string();
    for path in [
        "/console/clients".to_string(),
        format!("/console/clients?q={}", urlencode("<script>")),
        format!("/console/clients/{id}"),
        format!("/console/clients/{id}/delete"),
    ] {
        let r = b.get(&path).await;
        assert_eq!(r.status, 200, "{path}");
        assert_safe_page(&r, &path);
        for raw in [
            "<script>alert",
            "<img src=x",
            "<b>cn</b>",
            "</textarea><script>",
        ] {
            assert!(!r.body.contains(raw), "{path} holds raw {raw}");
        }
    }
    let edit = b.get(&format!("/console/clients/{id}")).await;
    // In text and in (always double-quoted) attribute values alike.
    let escaped =
        "&lt;script&gt;alert(1)&lt;/script&gt;&quot;'&amp;&lt;img src=x onerror=alert(2)&gt;";
    assert!(edit.body.contains(&format!("<h1>Client {escaped}</h1>")));
    assert!(
        edit.body
            .contains(&format!("name=\"name\" value=\"{escaped}\"")),
        "{}",
        edit.body
    );
    assert!(
        edit.body
            .contains("CN=&lt;b&gt;cn&lt;/b&gt;&lt;script&gt;alert(3)&lt;/script&gt;"),
        "{}",
        edit.body
    );
    // The JSON endpoint's HTML fragment is escaped the same way.
    let json = b
        .post(
            "/console/api/diagnose",
            &[("name", hostile), ("certificateTrustStore", &pem)],
        )
        .await;
    assert_eq!(json.status, 200);
    let v = json.json();
    let fragment = v["html"].as_str().unwrap();
    assert!(
        !fragment.contains("<script>") && !fragment.contains("<b>cn</b>"),
        "{fragment}"
    );
    assert!(
        v["diagnosis"]["certificates"][0]["subject"]
            .as_str()
            .unwrap()
            .contains("<b>cn</b>")
    );
}

#[tokio::test]
async fn create_check_rotate_and_delete_a_client() {
    let h = console_server("").await;
    let b = Browser::sign_in(&h).await;
    let first = self_signed(&LeafOptions::client("partner-one").around_now());
    let second = self_signed(&LeafOptions::client("partner-two").around_now());
    let expired = self_signed(&LeafOptions::client("old-partner").ended_days_ago(41, 365));

    // Check shows each certificate parsed, without saving.
    let first_pem = first.cert_pem();
    let check = b
        .post(
            "/console/clients/new",
            &[
                ("name", "Partner"),
                ("certificateTrustStore", &first_pem),
                ("action", "check"),
            ],
        )
        .await;
    assert_eq!(check.status, 200);
    for want in [
        "Certificate 1: partner-one",
        "self-signed",
        "CN=partner-one",
        "TLS Web Client Authentication",
        "ECDSA P-256",
        "days left",
    ] {
        assert!(check.body.contains(want), "check lacks {want}");
    }
    assert!(
        check.body.contains(
            &certbound_pki::CertInfo::from_der(&first.cert)
                .unwrap()
                .sha256_fingerprint
        )
    );
    assert_eq!(h.running.store().count_clients().await.unwrap(), 0);

    // An expired certificate blocks saving, with the reason.
    let expired_pem = expired.cert_pem();
    let refused = b
        .post(
            "/console/clients/new",
            &[
                ("name", "Old"),
                ("certificateTrustStore", &expired_pem),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("Not saved"));
    assert!(refused.body.contains("expired on"), "{}", refused.body);
    assert!(refused.body.contains("41 days ago"));
    assert_eq!(h.running.store().count_clients().await.unwrap(), 0);

    // A CA without a subject constraint: a warning, saving allowed.
    let ca_pem = h.pki.root.cert_pem();
    let warned = b
        .post(
            "/console/api/diagnose",
            &[("name", "CA"), ("certificateTrustStore", &ca_pem)],
        )
        .await
        .json();
    assert_eq!(warned["can_save"], true);
    assert!(
        warned["diagnosis"]["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("no tls_client_auth_subject_dn")
    );
    assert_eq!(warned["diagnosis"]["certificates"][0]["kind"], "ca");
    // Bad fields are reported beside them.
    let bad = b
        .post(
            "/console/clients/new",
            &[
                ("name", "X"),
                ("certificateTrustStore", &first_pem),
                ("access_token_lifetime", "soon"),
                ("scope", "a  b"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("is not a whole number of seconds"));

    // Save; the client authenticates at once.
    let saved = b
        .post(
            "/console/clients/new",
            &[
                ("name", "Partner"),
                ("id", "partner-1"),
                ("certificateTrustStore", &first_pem),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(
        saved.headers["location"],
        "/console/clients/partner-1?saved=created"
    );
    let as_first = Client::Cert(vec![first.cert.clone()], first.key_pem.clone());
    let as_second = Client::Cert(vec![second.cert.clone()], second.key_pem.clone());
    assert_eq!(
        h.token("mtls", &as_first, &format!("{FORM}partner-1"))
            .await
            .unwrap()
            .status,
        200
    );
    let page = b.get("/console/clients/partner-1?saved=created").await;
    assert!(page.body.contains("Client created."));
    let list = b.get("/console/clients").await.body;
    assert!(
        list.contains("self_signed_tls_client_auth") && list.contains("partner-1"),
        "{list}"
    );
    // The same id again is refused beside the field.
    let dup = b
        .post(
            "/console/clients/new",
            &[
                ("name", "P"),
                ("id", "partner-1"),
                ("certificateTrustStore", &first_pem),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(dup.status, 409);
    assert!(dup.body.contains("exists already"));

    // Rotate: the new certificate works, the old one stops.
    let second_pem = second.cert_pem();
    let version = csrf_version(&page.body);
    let rotated = b
        .post(
            "/console/clients/partner-1",
            &[
                ("name", "Partner"),
                ("certificateTrustStore", &second_pem),
                ("version", &version),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(rotated.status, 303, "{}", rotated.body);
    assert_eq!(
        h.token("mtls", &as_second, &format!("{FORM}partner-1"))
            .await
            .unwrap()
            .status,
        200
    );
    assert_eq!(
        h.token("mtls", &as_first, &format!("{FORM}partner-1"))
            .await
            .unwrap()
            .status,
        401
    );
    // A save from a stale form is refused, and goes through when repeated.
    let stale = b
        .post(
            "/console/clients/partner-1",
            &[
                ("name", "Renamed"),
                ("certificateTrustStore", &second_pem),
                ("version", &version),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(stale.status, 409);
    assert!(stale.body.contains("someone changed this client"));
    let again = csrf_version(&stale.body);
    let fine = b
        .post(
            "/console/clients/partner-1",
            &[
                ("name", "Renamed"),
                ("certificateTrustStore", &second_pem),
                ("version", &again),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(fine.status, 303);

    // The refusal of the old certificate is on the Audit page with its reason.
    // Other refusals of this client (the stale save) may be written first:
    // wait for the token refusal itself, with the old certificate's subject.
    eventually("the refusal in the audit trail", || async {
        let body = b
            .get("/console/audit?client=partner-1&result=fail")
            .await
            .body;
        body.contains("refused") && body.contains("CN=partner-one")
    })
    .await;
    let audit = b.get("/console/audit?client=partner-1&result=fail").await;
    assert!(audit.body.contains("refused"), "{}", audit.body);
    assert!(audit.body.contains("CN=partner-one"));
    assert!(!audit.body.contains("<span class=\"badge pass\">success"));

    // Delete asks first, then deletes.
    let confirm = b.get("/console/clients/partner-1/delete").await;
    assert!(confirm.body.contains("Delete client Renamed?"));
    assert!(
        confirm
            .body
            .contains("<button class=\"danger\" type=\"submit\">Delete client</button>")
    );
    assert!(
        h.running
            .store()
            .get_client("partner-1")
            .await
            .unwrap()
            .is_some()
    );
    let deleted = b.post("/console/clients/partner-1/delete", &[]).await;
    assert_eq!(deleted.status, 303);
    assert_eq!(
        h.token("mtls", &as_second, &format!("{FORM}partner-1"))
            .await
            .unwrap()
            .status,
        401
    );
    assert_eq!(b.get("/console/clients/partner-1").await.status, 404);

    // Each change is audited as the admin API's are.
    let filter = certbound_store::AuditFilter {
        kind: Some("admin".into()),
        ..Default::default()
    };
    for want in [
        "created client partner-1",
        "replaced client partner-1",
        "deleted client partner-1",
    ] {
        eventually(want, || async {
            let events = h.running.store().query_audit(&filter).await.unwrap();
            events.iter().any(|e| e.detail.as_deref() == Some(want))
        })
        .await;
    }
}

/// The hidden `version` field of an edit page.
fn csrf_version(body: &str) -> String {
    let key = "name=\"version\" value=\"";
    let at = body.find(key).expect("no version field") + key.len();
    body[at..at + body[at..].find('"').unwrap()].to_string()
}

#[tokio::test]
async fn an_admin_certificate_signs_in_and_stays_bound_to_it() {
    let h = console_server("").await;
    let mut b = Browser::new(&h);
    b.listener = "mtls-opt";
    b.identity = h.admin_client();
    // The first request is served, and opens a session.
    let first = b.get("/console/listeners").await;
    assert_eq!(first.status, 200, "{}", first.body);
    b.cookie = Some(cookie_pair(
        set_cookie(&first, "__Secure-certbound-console").unwrap(),
    ));
    // The sign-in page sends it on.
    let signin = b.get("/console/signin?next=%2Fconsole%2Faudit").await;
    assert_eq!(signin.status, 303);
    assert_eq!(signin.headers["location"], "/console/audit");
    let page = b.get("/console/listeners").await;
    assert!(
        set_cookie(&page, "__Secure-certbound-console").is_none(),
        "one session is enough"
    );
    assert_eq!(page.status, 200);
    assert_safe_page(&page, "listeners");
    assert!(page.body.contains("Signed in with an admin certificate"));
    for want in [
        "mtls-opt",
        "mtls-ca",
        "<code>mtls</code>",
        "required: a certificate chaining to the client CA",
        "Valid until",
        "days left",
    ] {
        assert!(page.body.contains(want), "listeners page lacks {want}");
    }
    // The same cookie without the certificate is no session.
    b.identity = Client::None;
    assert_eq!(b.get("/console/listeners").await.status, 303);
    // Another certificate does not sign in.
    b.cookie = None;
    let other = self_signed(&LeafOptions::client("not-admin").around_now());
    b.identity = Client::Cert(vec![other.cert.clone()], other.key_pem.clone());
    let r = b.get("/console/clients").await;
    assert!(
        r.headers["location"]
            .to_str()
            .unwrap()
            .starts_with("/console/signin")
    );
    assert!(set_cookie(&r, "__Secure-certbound-console").is_none());
}

#[tokio::test]
async fn the_console_is_absent_without_the_admin_api() {
    let dir = tempfile::tempdir().unwrap();
    let pki = certbound_testkit::TestPki::new();
    let config = common::tls_only_config(dir.path(), &pki, "");
    let running = certbound_server::bind_with(&config, &[certbound_console::MOUNT], None)
        .await
        .unwrap();
    let addr = running.addr("tls").unwrap();
    for path in [
        "/console",
        "/console/signin",
        "/console/clients",
        "/console/assets/console.css",
    ] {
        let r = request(addr, &pki, &Client::None, "GET", path, "", "", &[])
            .await
            .unwrap();
        assert_eq!(r.status, 404, "{path}");
    }
    running.shutdown();
    running.wait().await;
}

#[tokio::test]
async fn console_with_a_trailing_slash_redirects() {
    let h = console_server("").await;
    let r = h.get("tls", "/console/").await.unwrap();
    assert_eq!(r.status, 308);
    assert_eq!(r.headers["location"], "/console");
}

/// HTML-escape `s` the way the console's templates (maud) do: `&`, `<`, `>`,
/// `"`. A `'` is left as is: every attribute value is in double quotes.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Valid from an hour ago for a year: far from the 30-day expiry warning,
/// so the only findings are the ones a test is about.
fn for_a_year(opts: LeafOptions) -> LeafOptions {
    let now = time::OffsetDateTime::now_utc();
    opts.validity(
        now - time::Duration::hours(1),
        now + time::Duration::days(365),
    )
}

/// What one pasted trust store should be diagnosed as, and that saving it is refused.
struct Blocked<'a> {
    /// The client name and id the save attempt uses.
    id: &'a str,
    pem: String,
    /// The certificate's `kind` in the diagnosis.
    kind: &'a str,
    /// The finding on the certificate that blocks saving: its check id, message and hint.
    check: &'a str,
    finding: String,
    hint: Option<&'a str>,
    /// The error in the summary (the finding, named after its certificate when it does not name it).
    error: String,
    /// The status line.
    status: &'a str,
}

impl Blocked<'_> {
    /// Diagnose through the JSON endpoint the page's script calls, then try to save.
    async fn assert(&self, b: &Browser<'_>) {
        let id = self.id;
        let reply = b
            .post(
                "/console/api/diagnose",
                &[("name", id), ("certificateTrustStore", &self.pem)],
            )
            .await;
        assert_eq!(reply.status, 200, "{id}: {}", reply.body);
        let v = reply.json();
        assert_eq!(v["can_save"], false, "{id}: {v}");
        assert_eq!(
            v["status"], self.status,
            "{id}: {}",
            v["diagnosis"]["errors"]
        );
        let d = &v["diagnosis"];
        assert_eq!(
            d["errors"],
            serde_json::json!([{
                "field": "certificateTrustStore",
                "certificate": 1,
                "message": self.error,
            }]),
            "{id}"
        );
        assert_eq!(d["certificates"].as_array().unwrap().len(), 1, "{id}");
        let cert = &d["certificates"][0];
        assert_eq!(cert["kind"], self.kind, "{id}");
        let mut want = serde_json::json!({
            "severity": "error",
            "check": self.check,
            "message": self.finding,
        });
        if let Some(h) = self.hint {
            want["hint"] = h.into();
        }
        let findings = cert["findings"].as_array().unwrap();
        assert!(findings.contains(&want), "{id}: {want} not in {findings:?}");
        let errors: Vec<_> = findings
            .iter()
            .filter(|f| f["severity"] == "error")
            .collect();
        assert_eq!(errors, [&want], "{id}: exactly one error finding");
        // The panel's HTML lists it under "Saving is blocked", escaped.
        let html = v["html"].as_str().unwrap();
        assert!(html.contains("<h3>Saving is blocked</h3>"), "{id}: {html}");
        assert!(
            html.contains(&format!(
                "<li><a href=\"#cert-1\">Certificate 1</a>: {}</li>",
                esc(&self.error)
            )),
            "{id}: {html}"
        );
        assert!(
            html.contains(&format!(
                "<li class=\"finding error\"><span class=\"sev\">Error</span> <span class=\"check\">{}</span> <span class=\"msg\">{}</span>",
                self.check,
                esc(&self.finding)
            )),
            "{id}: {html}"
        );

        // Save is refused with the same error, and nothing is stored.
        let saved = b
            .post(
                "/console/clients/new",
                &[
                    ("name", id),
                    ("id", id),
                    ("certificateTrustStore", &self.pem),
                    ("action", "save"),
                ],
            )
            .await;
        assert_eq!(saved.status, 422, "{id}: {}", saved.body);
        assert!(saved.headers.get("location").is_none(), "{id}");
        assert!(
            saved.body.contains("<h2>Not saved: 1 problem to fix</h2>"),
            "{id}: {}",
            saved.body
        );
        assert!(
            saved.body.contains(&format!(
                "<li><a href=\"#cert-1\">Certificate 1</a>: {}</li>",
                esc(&self.error)
            )),
            "{id}: {}",
            saved.body
        );
        assert!(
            saved.body.contains(&format!(
                "<p class=\"status\" id=\"diag-status\" role=\"status\">{}</p>",
                esc(self.status)
            )),
            "{id}"
        );
        assert!(
            b.h.running.store().get_client(id).await.unwrap().is_none(),
            "{id} was stored"
        );
        let list = b.get("/console/clients").await;
        assert_eq!(list.status, 200);
        assert!(!list.body.contains(id), "{id} is listed:\n{}", list.body);
    }
}

#[tokio::test]
async fn pasted_pem_findings_block_saving() {
    let h = console_server("").await;
    let b = Browser::sign_in(&h).await;
    // One good client first, so the client list is not simply empty.
    let good = self_signed(&for_a_year(LeafOptions::client("good-partner")));
    let good_pem = good.cert_pem();
    let ok = b
        .post(
            "/console/clients/new",
            &[
                ("name", "Good partner"),
                ("id", "good-partner"),
                ("certificateTrustStore", &good_pem),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let good_check = b
        .post(
            "/console/api/diagnose",
            &[("name", "Good"), ("certificateTrustStore", &good_pem)],
        )
        .await
        .json();
    assert_eq!(good_check["can_save"], true, "{good_check}");
    assert_eq!(
        good_check["status"],
        "1 certificate: no errors, no warnings."
    );

    // A leaf issued by a CA: neither a CA nor self-signed.
    let leaf = h
        .pki
        .root
        .issue(&for_a_year(LeafOptions::client("issued-leaf")));
    let neither = "block 1 (line 1) ('issued-leaf', issued by 'certbound Test Root CA') is neither a CA nor self-signed: \
                   put the CA certificate that issued it in the trust store instead (or the client's own self-signed certificate)";
    Blocked {
        id: "issued-leaf",
        pem: leaf.cert_pem(),
        kind: "leaf",
        check: "trust-store",
        finding: neither.to_string(),
        hint: None,
        error: neither.to_string(),
        status: "1 certificate: 1 error, no warnings — saving is blocked.",
    }
    .assert(&b)
    .await;

    // Self-signed, but for servers only: no clientAuth EKU.
    let server_only = self_signed(&for_a_year(
        LeafOptions::client("server-only").eku(certbound_testkit::Eku::Server),
    ));
    let eku = "not usable as a client certificate: it has EKU TLS Web Server Authentication (serverAuth), \
               without TLS Web Client Authentication (clientAuth)";
    Blocked {
        id: "server-only",
        pem: server_only.cert_pem(),
        kind: "self-signed",
        check: "purpose",
        finding: eku.to_string(),
        hint: Some("issue a new one with `certbound pki issue client`"),
        error: format!("'server-only': {eku}"),
        status: "1 certificate: 1 error, no warnings — saving is blocked.",
    }
    .assert(&b)
    .await;

    // A CA (so the trust store would take it, with keyCertSign as RFC 5280
    // wants) with an RSA-1024 key.
    let weak_opts = LeafOptions {
        is_ca: true,
        key_usages: vec![rcgen::KeyUsagePurpose::KeyCertSign],
        ..for_a_year(LeafOptions::client("weak-rsa-ca"))
    };
    let weak = h
        .pki
        .root
        .issue_for_spki(&weak_opts, &certbound_testkit::rsa_spki(1024));
    let weak_info = certbound_pki::CertInfo::from_der(&weak.cert).unwrap();
    assert_eq!(weak_info.key.to_string(), "RSA 1024 bits");
    let strength = "'weak-rsa-ca' has an RSA key of 1024 bits (at least 2048 needed)";
    Blocked {
        id: "weak-rsa-ca",
        pem: weak.cert_pem(),
        kind: "ca",
        check: "strength",
        finding: strength.to_string(),
        hint: Some(
            "re-issue with an ECDSA P-256 or RSA 2048+ key and a SHA-256 signature (`certbound pki` does)",
        ),
        // The message names the certificate already: not prefixed again.
        error: strength.to_string(),
        // The other finding: a CA without a subject constraint (a warning).
        status: "1 certificate: 1 error, 1 warning — saving is blocked.",
    }
    .assert(&b)
    .await;

    // Only the good client was stored.
    assert_eq!(h.running.store().count_clients().await.unwrap(), 1);
    let list = b.get("/console/clients").await.body;
    assert!(list.contains("good-partner"), "{list}");
}

#[tokio::test]
async fn the_listeners_page_shows_the_forwarded_header_and_trusted_proxies() {
    let h = console_server(
        r#"
[[listener]]
name = "behind-proxy"
bind = "127.0.0.1:0"
public_url = "https://api.example/?a=1&b=2"
client_cert_header = { name = "x-client-cert", format = "nginx" }
trusted_proxies = ["10.0.0.0/8", "192.168.1.7"]
[[listener]]
name = "behind-proxy-tls"
bind = "127.0.0.1:0"
tls = "mtls-opt"
client_cert_header = { format = "rfc9440" }
trusted_proxies = ["fd00::/8"]
"#,
    )
    .await;
    let b = Browser::sign_in(&h).await;
    let page = b.get("/console/listeners").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_safe_page(&page, "listeners");
    // Each listener's section, by its heading.
    let section = |name: &str| -> String {
        let heading = format!("\">{name}</h2>");
        let at = page
            .body
            .find(&heading)
            .unwrap_or_else(|| panic!("no section for {name}:\n{}", page.body));
        let start = page.body[..at].rfind("<section").unwrap();
        let end = at + page.body[at..].find("</section>").unwrap();
        page.body[start..end].to_string()
    };
    let plain = section("behind-proxy");
    let addr = h.addr("behind-proxy");
    for want in [
        format!("<dt>Address</dt><dd><code>http://{addr}</code></dd>"),
        "<dt>Public URL</dt><dd><code>https://api.example/?a=1&amp;b=2</code></dd>".to_string(),
        "<dt>TLS profile</dt><dd>none: plain HTTP, for use behind a TLS-terminating proxy</dd>"
            .to_string(),
        "<dt>Forwarded certificate header</dt><dd><code>x-client-cert</code> (nginx format)</dd>"
            .to_string(),
        "<dt>Trusted proxies</dt><dd>10.0.0.0/8, 192.168.1.7/32</dd>".to_string(),
    ] {
        assert!(plain.contains(&want), "lacks {want}:\n{plain}");
    }
    assert!(!plain.contains("?a=1&b=2"), "unescaped URL:\n{plain}");
    assert!(!plain.contains("Server certificate"), "{plain}");
    let tls = section("behind-proxy-tls");
    for want in [
        format!(
            "<dt>Address</dt><dd><code>https://{}</code></dd>",
            h.addr("behind-proxy-tls")
        ),
        "<dt>TLS profile</dt><dd><code>mtls-opt</code>".to_string(),
        "<dt>Forwarded certificate header</dt><dd><code>client-cert</code> (rfc9440 format), chain in <code>client-cert-chain</code></dd>"
            .to_string(),
        "<dt>Trusted proxies</dt><dd>fd00::/8</dd>".to_string(),
        "<dt>Server certificate</dt>".to_string(),
    ] {
        assert!(tls.contains(&want), "lacks {want}:\n{tls}");
    }
    // A listener without the header says so.
    let direct = section("mtls");
    assert!(
        direct.contains("<dt>Forwarded certificate header</dt><dd>none</dd>"),
        "{direct}"
    );
    assert!(!direct.contains("Trusted proxies"), "{direct}");
}

#[tokio::test]
async fn the_edit_page_switches_a_client_off_and_on() {
    let h = console_server("").await;
    let leaf = self_signed(&LeafOptions::client("partner").around_now());
    let pem = leaf.cert_pem();
    h.register("partner", client_doc("Partner", &pem)).await;
    let partner = Client::Cert(vec![leaf.cert.clone()], leaf.key_pem.clone());
    let token = || async {
        h.token("mtls", &partner, &format!("{FORM}partner"))
            .await
            .unwrap()
            .status
    };
    assert_eq!(token().await, 200);
    let b = Browser::sign_in(&h).await;
    let page = b.get("/console/clients/partner").await.body;
    assert!(
        page.contains(
            "<option value=\"active\" selected>Active</option><option value=\"off\">Off</option>\
             <option value=\"error\">Error (refused)</option>"
        ),
        "{page}"
    );
    let save = |status: &'static str, version: String| {
        let (b, pem) = (&b, &pem);
        async move {
            b.post(
                "/console/clients/partner",
                &[
                    ("name", "Partner"),
                    ("certificateTrustStore", pem),
                    ("status", status),
                    ("version", &version),
                    ("action", "save"),
                ],
            )
            .await
        }
    };
    // A value the select does not offer is a named error, nothing saved.
    let bad = save("disabled", csrf_version(&page)).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(
        bad.body.contains("<a href=\"#f-status\">Status</a>: must be &quot;active&quot;, &quot;off&quot; or &quot;error&quot;, not &quot;disabled&quot;"),
        "{}",
        bad.body
    );
    assert_eq!(token().await, 200);

    let saved = save("off", csrf_version(&page)).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(token().await, 401);
    let page = b.get("/console/clients/partner").await.body;
    assert!(
        page.contains("<option value=\"off\" selected>Off</option>"),
        "{page}"
    );
    let list = b.get("/console/clients").await.body;
    assert!(list.contains("switched off (status"), "{list}");

    let saved = save("active", csrf_version(&page)).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(token().await, 200);
    assert!(
        !b.get("/console/clients")
            .await
            .body
            .contains("switched off")
    );
}

#[tokio::test]
async fn a_hostile_client_name_is_inert_on_every_page() {
    let h = console_server("").await;
    let b = Browser::sign_in(&h).await;
    let hostile = "</title><script>alert(1)</script>\"' onmouseover=\"alert(2)";
    let leaf = self_signed(&LeafOptions::client("quoted").around_now());
    let created = h
        .admin(
            "POST",
            "/admin/ClientApplication",
            Some(&client_doc(hostile, &leaf.cert_pem())),
            None,
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_string();
    let escaped =
        "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;&quot;' onmouseover=&quot;alert(2)";
    for (path, title) in [
        ("/console/clients".to_string(), None),
        (format!("/console/clients?q={}", urlencode(hostile)), None),
        (
            format!("/console/clients/{id}"),
            Some(format!("Client {escaped}")),
        ),
        (
            format!("/console/clients/{id}/delete"),
            Some(format!("Delete client {escaped}?")),
        ),
        (
            format!("/console/audit?client={}", urlencode(hostile)),
            None,
        ),
    ] {
        let r = b.get(&path).await;
        assert_eq!(r.status, 200, "{path}");
        assert_safe_page(&r, &path);
        assert_eq!(r.body.matches("</title>").count(), 1, "{path}");
        assert_eq!(
            r.body.matches("<script").count(),
            1,
            "{path}: only the console's own script"
        );
        assert!(!r.body.contains("onmouseover=\"alert"), "{path}");
        assert!(r.body.contains(escaped), "{path}: {}", r.body);
        if let Some(t) = title {
            assert!(
                r.body
                    .contains(&format!("<title>{t} — certbound console</title>")),
                "{path}"
            );
        }
    }
    // A refusal with the same text comes back escaped, as does a sign-in `next`.
    let signin = request(
        h.addr("tls"),
        &h.pki,
        &Client::None,
        "GET",
        &format!(
            "/console/signin?next={}",
            urlencode(&format!("/console/{hostile}"))
        ),
        "",
        "",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(signin.body.matches("<script").count(), 1, "{}", signin.body);
}

/// A PEM block as an e-mail reply quotes it.
fn quoted(pem: &str, prefix: &str) -> String {
    let lines: String = pem.lines().map(|l| format!("{prefix}{l}\n")).collect();
    format!("On Monday, Partner Inc wrote:\n> Here is our certificate:\n{lines}> \n> Regards\n")
}

#[tokio::test]
async fn pem_quoted_from_an_email_is_accepted() {
    let h = console_server("").await;
    let b = Browser::sign_in(&h).await;
    let leaf = self_signed(&LeafOptions::client("mailed").around_now());
    let mail = quoted(&leaf.cert_pem(), "> ");
    let check = b
        .post(
            "/console/api/diagnose",
            &[("name", "Mailed"), ("certificateTrustStore", &mail)],
        )
        .await
        .json();
    assert_eq!(
        check["status"], "1 certificate: no errors, no warnings.",
        "{check}"
    );
    let saved = b
        .post(
            "/console/clients/new",
            &[
                ("name", "Mailed"),
                ("id", "mailed"),
                ("certificateTrustStore", &mail),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let as_leaf = Client::Cert(vec![leaf.cert.clone()], leaf.key_pem.clone());
    assert_eq!(
        h.token("mtls", &as_leaf, &format!("{FORM}mailed"))
            .await
            .unwrap()
            .status,
        200
    );
    // The admin API reads it the same way ("> > " nested quotes too).
    let other = self_signed(&LeafOptions::client("mailed-twice").around_now());
    let created = h
        .admin(
            "POST",
            "/admin/ClientApplication",
            Some(&client_doc("Twice", &quoted(&other.cert_pem(), "> > "))),
            None,
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);

    // A quote mark inside the base64 is not a quote: refused, with the block named.
    let broken = mail.replacen("> MII", "> M>II", 1);
    assert_ne!(broken, mail);
    let refused = b
        .post(
            "/console/clients/new",
            &[
                ("name", "Broken"),
                ("id", "broken"),
                ("certificateTrustStore", &broken),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("block 1 (&quot;CERTIFICATE&quot;, line 3) is not valid base64"),
        "{}",
        refused.body
    );
    assert!(
        h.running
            .store()
            .get_client("broken")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn one_constraint_chooser_and_the_try_it_lines() {
    let h = console_server("").await;
    let b = Browser::sign_in(&h).await;
    let ca = h.pki.root.cert_pem();
    // The form has one chooser: a type select and one value input.
    let new = b.get("/console/clients/new").await.body;
    assert!(new.contains("<select id=\"f-constraint_type\" name=\"constraint_type\""));
    assert_eq!(new.matches("name=\"constraint_value\"").count(), 1);
    assert!(!new.contains("name=\"tls_client_auth_san_dns\""), "{new}");

    // A value without its type is refused beside the chooser.
    let untyped = b
        .post(
            "/console/clients/new",
            &[
                ("name", "CA client"),
                ("certificateTrustStore", &ca),
                ("constraint_value", "CN=partner"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(untyped.status, 422, "{}", untyped.body);
    assert!(untyped.body.contains("<a href=\"#f-constraint_value\">Subject constraint</a>: a constraint value is set without its type"));

    let saved = b
        .post(
            "/console/clients/new",
            &[
                ("name", "CA client"),
                ("id", "ca-client"),
                ("certificateTrustStore", &ca),
                ("constraint_type", "tls_client_auth_san_dns"),
                ("constraint_value", "client.partner.example"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let stored = h
        .running
        .store()
        .get_client("ca-client")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.document["tls_client_auth_san_dns"],
        "client.partner.example"
    );
    for other in [
        "tls_client_auth_subject_dn",
        "tls_client_auth_san_uri",
        "tls_client_auth_san_ip",
        "tls_client_auth_san_email",
    ] {
        assert!(stored.document.get(other).is_none(), "{other}");
    }

    // After saving: the chooser shows the stored one, and "Try it" names this
    // client and the first listener that asks for client certificates.
    let page = b.get("/console/clients/ca-client?saved=created").await.body;
    assert!(page.contains("<option value=\"tls_client_auth_san_dns\" data-example=\"client.partner.example\" selected>SAN DNS name</option>"), "{page}");
    assert!(page.contains("value=\"client.partner.example\""));
    assert!(
        page.contains("<details class=\"try-it\" id=\"try-it\" open>"),
        "{page}"
    );
    let url = format!("https://{}/oauth2/token", h.addr("mtls-opt"));
    assert!(page.contains(&format!(
        "curl --cert CLIENT.crt --key CLIENT.key --cacert SERVER-CA.crt -d grant_type=client_credentials -d client_id=ca-client {url}"
    )), "{page}");
    assert!(page.contains(&format!(
        "certbound token --token-url {url} --client-id ca-client --cert CLIENT.crt --key CLIENT.key --ca SERVER-CA.crt --claims"
    )));
    assert!(page.contains("listener 'mtls-opt' at its own address"));
    // Opened later, the lines are there but folded.
    let later = b.get("/console/clients/ca-client").await.body;
    assert!(
        later.contains("<details class=\"try-it\" id=\"try-it\">"),
        "{later}"
    );

    // Changing the type moves the value to the other field; None removes it.
    let version = csrf_version(&page);
    let moved = b
        .post(
            "/console/clients/ca-client",
            &[
                ("name", "CA client"),
                ("certificateTrustStore", &ca),
                ("constraint_type", "tls_client_auth_subject_dn"),
                ("constraint_value", "CN=partner,O=Example"),
                ("version", &version),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(moved.status, 303, "{}", moved.body);
    let stored = h
        .running
        .store()
        .get_client("ca-client")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.document["tls_client_auth_subject_dn"],
        "CN=partner,O=Example"
    );
    assert!(stored.document.get("tls_client_auth_san_dns").is_none());
}

#[tokio::test]
async fn the_audit_table_gives_times_with_their_zone() {
    let h = console_server("").await;
    let b = Browser::sign_in(&h).await;
    // The sign-in itself is an admin event.
    eventually("the sign-in in the audit trail", || async {
        b.get("/console/audit?kind=admin")
            .await
            .body
            .contains("console sign-in")
    })
    .await;
    let page = b.get("/console/audit?kind=admin").await.body;
    for col in [
        "Time", "Kind", "Client", "Result", "Reason", "Subject", "Peer",
    ] {
        assert!(
            page.contains(&format!("<th scope=\"col\">{col}</th>")),
            "{col}"
        );
    }
    assert!(page.contains(" UTC</time>"), "{page}");
    assert!(page.contains("<option value=\"admin\" selected>admin</option>"));
    assert!(
        page.contains("<td data-label=\"Reason\" title=\"console sign-in with the admin token\">"),
        "{page}"
    );
}

/// The text of the element with `id` in a page, up to its first `</div>`.
fn element<'a>(body: &'a str, id: &str) -> &'a str {
    let at = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in:\n{body}"));
    &body[at..at + body[at..].find("</div>").unwrap()]
}

/// A `private_key_jwt` client (SMART Backend Services) registered on the
/// console: by JWKS URL or with the JWKS itself, no trust store; a JWKS that
/// is not JSON and an http:// URL are refused beside their fields.
#[tokio::test]
async fn a_private_key_jwt_client_is_registered_with_its_keys() {
    let h = console_server("").await;
    let b = Browser::sign_in(&h).await;
    let page = b.get("/console/clients/new").await;
    assert_safe_page(&page, "the new client page");
    for want in [
        "<label for=\"f-jwks_uri\">JWKS URL</label>",
        "<label for=\"f-jwks\">JWKS (JSON)</label>",
        "aria-describedby=\"f-jwks_uri-hint\"",
        "aria-describedby=\"f-jwks-hint\"",
        "<label for=\"f-tls_client_certificate_bound_access_tokens\">Bound tokens only</label>",
        "Leave it empty for a client that signs with its own keys",
    ] {
        assert!(page.body.contains(want), "the form lacks {want}");
    }

    // A JWKS URL alone: saved, no trust store needed.
    let url = "https://smart.example/.well-known/jwks.json";
    let check = b
        .post(
            "/console/api/diagnose",
            &[("name", "SMART by URL"), ("jwks_uri", url)],
        )
        .await
        .json();
    assert_eq!(check["can_save"], true, "{check}");
    assert_eq!(
        check["status"],
        "No certificate: the client authenticates with its keys (private_key_jwt)."
    );
    let saved = b
        .post(
            "/console/clients/new",
            &[
                ("name", "SMART by URL"),
                ("id", "smart-url"),
                ("jwks_uri", url),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let stored = h
        .running
        .store()
        .get_client("smart-url")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.document["jwks_uri"], url, "{}", stored.document);
    assert!(stored.document.get("certificateTrustStore").is_none());
    let edit = b.get("/console/clients/smart-url?saved=created").await;
    assert!(
        edit.body
            .contains(&format!("name=\"jwks_uri\" value=\"{url}\"")),
        "{}",
        edit.body
    );
    let list = b.get("/console/clients").await.body;
    assert!(
        list.contains("<td data-label=\"Authentication\">private_key_jwt</td>"),
        "{list}"
    );

    // A JWKS that is not JSON: not saved, the problem beside the JWKS field.
    let bad = b
        .post(
            "/console/clients/new",
            &[
                ("name", "Broken keys"),
                ("id", "broken-keys"),
                ("jwks", "{\"keys\": [{\"kty\": \"EC\""),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(element(&bad.body, "f-jwks-error").contains("is not JSON"));
    assert!(
        bad.body
            .contains("aria-describedby=\"f-jwks-hint f-jwks-error\" aria-invalid=\"true\""),
        "{}",
        bad.body
    );
    assert!(
        bad.body
            .contains("<a href=\"#f-jwks\">JWKS (JSON)</a>: is not JSON")
    );
    // Nothing blames the empty trust store: the client has (unreadable) keys.
    assert!(!bad.body.contains("id=\"f-certificateTrustStore-error\""));
    // The text comes back as typed, to be fixed.
    assert!(
        bad.body
            .contains("{&quot;keys&quot;: [{&quot;kty&quot;: &quot;EC&quot;")
    );

    // An http:// URL: refused with the model's message, beside the URL field.
    let http = b
        .post(
            "/console/clients/new",
            &[
                ("name", "Plain http"),
                ("id", "plain-http"),
                ("jwks_uri", "http://smart.example/jwks.json"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(http.status, 422, "{}", http.body);
    assert!(
        element(&http.body, "f-jwks_uri-error").contains(
            "&quot;http://smart.example/jwks.json&quot; is not an https:// URL without a fragment"
        ),
        "{}",
        http.body
    );
    for id in ["broken-keys", "plain-http"] {
        assert!(h.running.store().get_client(id).await.unwrap().is_none());
    }

    // The JWKS itself: saved, and an assertion signed with the key gets a token.
    let key = certbound_testkit::client_key::ClientKey::es384("k1");
    let jwks = serde_json::to_string_pretty(&key.jwks()).unwrap();
    let saved = b
        .post(
            "/console/clients/new",
            &[
                ("name", "SMART inline"),
                ("id", "smart-inline"),
                ("jwks", &jwks),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let assertion = |jti: &str| {
        format!(
            "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={}",
            key.assertion("smart-inline", "https://localhost/oauth2/token", jti)
        )
    };
    let token = h
        .token("tls", &Client::None, &assertion("one"))
        .await
        .unwrap();
    assert_eq!(token.status, 200, "{}", token.body);

    // Bound tokens only: then not without a certificate.
    let page = b.get("/console/clients/smart-inline").await;
    assert!(
        page.body.contains("&quot;kid&quot;: &quot;k1&quot;"),
        "{}",
        page.body
    );
    let bound = b
        .post(
            "/console/clients/smart-inline",
            &[
                ("name", "SMART inline"),
                ("jwks", &jwks),
                ("tls_client_certificate_bound_access_tokens", "true"),
                ("version", &csrf_version(&page.body)),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(bound.status, 303, "{}", bound.body);
    let stored = h
        .running
        .store()
        .get_client("smart-inline")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.document["tls_client_certificate_bound_access_tokens"],
        true
    );
    let page = b.get("/console/clients/smart-inline").await.body;
    assert!(
        page.contains("name=\"tls_client_certificate_bound_access_tokens\" value=\"true\" checked"),
        "{page}"
    );
    let refused = h
        .token("tls", &Client::None, &assertion("two"))
        .await
        .unwrap();
    assert_eq!(refused.status, 401, "{}", refused.body);
    let leaf = self_signed(&LeafOptions::client("smart-tls").around_now());
    let with_cert = Client::Cert(vec![leaf.cert.clone()], leaf.key_pem.clone());
    let bound = h
        .token("mtls-opt", &with_cert, &assertion("three"))
        .await
        .unwrap();
    assert_eq!(bound.status, 200, "{}", bound.body);
}

/// A secret beside a trust store (as FHIR platforms register clients) is
/// kept when the console saves the client, as admin::prepare keeps it for a
/// PUT without `secret`; a secret-only client that gets a trust store drops it.
#[tokio::test]
async fn the_console_keeps_a_secret_as_the_admin_api_does() {
    let h = console_server("").await;
    let leaf = self_signed(&LeafOptions::client("partner").around_now());
    let pem = leaf.cert_pem();
    let hash = certbound_oauth::secret::hash_secret("a-secret-of-some-length").unwrap();
    let mut both = client_doc("Both", &pem);
    both["client_secret_hash"] = hash.clone().into();
    h.register("both", both).await;
    h.register(
        "secret-only",
        serde_json::json!({
            "resourceType": "ClientApplication", "name": "Secret only", "client_secret_hash": hash,
        }),
    )
    .await;
    let b = Browser::sign_in(&h).await;
    let stored_secret = |id: &'static str| {
        let h = &h;
        async move {
            h.running
                .store()
                .get_client(id)
                .await
                .unwrap()
                .unwrap()
                .document
                .get("client_secret_hash")
                .is_some()
        }
    };
    for (id, name, note) in [
        ("both", "Both", "This client also has a secret"),
        ("secret-only", "Secret only", "drops the secret"),
    ] {
        let page = b.get(&format!("/console/clients/{id}")).await.body;
        assert!(page.contains(note), "{page}");
        let saved = b
            .post(
                &format!("/console/clients/{id}"),
                &[
                    ("name", name),
                    ("certificateTrustStore", &pem),
                    ("version", &csrf_version(&page)),
                    ("action", "save"),
                ],
            )
            .await;
        assert_eq!(saved.status, 303, "{}", saved.body);
    }
    assert!(stored_secret("both").await);
    assert!(!stored_secret("secret-only").await);
    let list = b.get("/console/clients").await.body;
    assert!(
        list.contains("self_signed_tls_client_auth, client_secret_basic, client_secret_post"),
        "{list}"
    );
}
