//! The client form's page: the fields, the certificate diagnostics beside
//! the trust store (between it and Save on a narrow screen), the one
//! constraint chooser (a type and a value, as RFC 8705 allows at most one),
//! the keys of a `private_key_jwt` client (a JWKS URL or the JWKS), and, for
//! a saved client, the "Try it" lines.

use axum::http::StatusCode;
use axum::response::Response;
use certbound_oauth::client::STATUS_VALUES;
use certbound_store::ClientRecord;
use maud::{Markup, html};

use super::diagnose::{Diagnosis, Problem};
use super::edit::{CONSTRAINTS, ClientForm};
use super::html::{self, Section, url_encode};
use super::session::SessionInfo;
use super::{BASE, Console, panel, try_it};

/// Whether the form is for a new client or an existing one.
pub(super) enum Mode<'a> {
    Create,
    Edit(&'a ClientRecord),
}

/// Everything a render needs besides the form.
pub(super) struct Outcome<'a> {
    pub diagnosis: Option<&'a Diagnosis>,
    /// Problems found while saving (validation, the store), beyond the diagnosis.
    pub save_problems: &'a [Problem],
    /// Whether the operator pressed Save (errors then block with a summary).
    pub attempted: bool,
    /// The message after a save; the "Try it" lines then show open.
    pub flash: Option<&'a str>,
}

/// One field's hint and errors, and the `aria-describedby` that names them.
struct Described {
    markup: Markup,
    ids: Option<String>,
}

fn describe(field: &str, hint: Option<&str>, errors: &[&str]) -> Described {
    let mut ids = Vec::new();
    if hint.is_some() {
        ids.push(format!("f-{field}-hint"));
    }
    if !errors.is_empty() {
        ids.push(format!("f-{field}-error"));
    }
    let markup = html! {
        @if let Some(h) = hint { p.hint id={ "f-" (field) "-hint" } { (h) } }
        @if !errors.is_empty() {
            div.field-error id={ "f-" (field) "-error" } { @for e in errors { p { (e) } } }
        }
    };
    Described {
        markup,
        ids: (!ids.is_empty()).then(|| ids.join(" ")),
    }
}

/// One labelled text input with its hint and errors.
fn input(
    field: &str,
    label: &str,
    value: &str,
    hint: Option<&str>,
    errors: &[&str],
    required: bool,
    maxlength: Option<u32>,
) -> Markup {
    let d = describe(field, hint, errors);
    html! {
        div.field.invalid[!errors.is_empty()] {
            label for={ "f-" (field) } { (label) }
            (d.markup)
            input type="text" id={ "f-" (field) } name=(field) value=(value)
                aria-describedby=[d.ids.as_deref()] aria-invalid=[(!errors.is_empty()).then_some("true")]
                required[required] maxlength=[maxlength] autocomplete="off" spellcheck="false";
        }
    }
}

/// The status select: active, or off or error (refused everywhere, tokens included).
fn status_select(value: &str, errors: &[&str]) -> Markup {
    let d = describe(
        "status",
        Some(
            "Off: the client gets invalid_client and its unexpired tokens are refused, at once on every instance. \
             Active again, they work again. Error (as FHIR platforms mark a broken registration) is refused the same way.",
        ),
        errors,
    );
    let value = if value.is_empty() { "active" } else { value };
    html! {
        div.field.invalid[!errors.is_empty()] {
            label for="f-status" { "Status" }
            (d.markup)
            select id="f-status" name="status" aria-describedby=[d.ids.as_deref()] {
                @for (option, label) in [("active", "Active"), ("off", "Off"), ("error", "Error (refused)")] {
                    option value=(option) selected[option == value] { (label) }
                }
                @if !STATUS_VALUES.contains(&value) {
                    option value=(value) selected { (value) }
                }
            }
        }
    }
}

/// One labelled textarea (PEM, JSON) with its hint and errors.
fn textarea(
    field: &str,
    label: &str,
    value: &str,
    hint: &str,
    errors: &[&str],
    rows: u32,
) -> Markup {
    let d = describe(field, Some(hint), errors);
    html! {
        div.field.invalid[!errors.is_empty()] {
            label for={ "f-" (field) } { (label) }
            (d.markup)
            // The newline after the tag is eaten by the parser: a value that starts
            // with one keeps it.
            textarea id={ "f-" (field) } name=(field) rows=(rows) spellcheck="false"
                autocomplete="off" autocapitalize="off" aria-describedby=[d.ids.as_deref()]
                aria-invalid=[(!errors.is_empty()).then_some("true")] {
                "\n" (value)
            }
        }
    }
}

/// The trust store: a client with keys or a secret may leave it empty.
fn trust_store(form: &ClientForm, errors: &[&str]) -> Markup {
    textarea(
        "certificateTrustStore",
        "Certificate trust store (PEM)",
        &form.trust_store,
        "Paste the client's self-signed certificate, or the CA certificate(s) that issue its certificates, \
         as received: text around the PEM blocks and e-mail quote marks (> ) are ignored. \
         Leave it empty for a client that signs with its own keys (below).",
        errors,
        14,
    )
}

/// The keys of a `private_key_jwt` client (RFC 7523, SMART Backend
/// Services): the URL where it publishes them, or the JWKS itself.
fn keys(form: &ClientForm, uri_errors: &[&str], jwks_errors: &[&str]) -> Markup {
    html! {
        fieldset.keys {
            legend { "Keys for private_key_jwt " span.aside { "(a URL or the JWKS, not both)" } }
            (input("jwks_uri", "JWKS URL", &form.jwks_uri,
                Some("The https URL where the client publishes its public keys, for private_key_jwt \
                      (SMART Backend Services). A client with keys needs no trust store."),
                uri_errors, false, Some(2048)))
            (textarea("jwks", "JWKS (JSON)", &form.jwks,
                "Or its public keys themselves: {\"keys\": [...]}, RSA (2048 bits or more), EC P-256 or P-384, \
                 or Ed25519, without private members such as \"d\".",
                jwks_errors, 8))
        }
    }
}

/// The RFC 8705 §3.4 checkbox: tokens only with a certificate, bound to it.
fn bound_tokens(checked: bool, hrex: bool, errors: &[&str]) -> Markup {
    const FIELD: &str = "tls_client_certificate_bound_access_tokens";
    let hint = if hrex {
        "Tokens are issued only on a connection that presents a client certificate, and are bound to it \
         (RFC 8705 §3.4). This server binds every client's tokens already (HRex)."
    } else {
        "Tokens are issued only on a connection that presents a client certificate, and are bound to it \
         (RFC 8705 §3.4)."
    };
    let d = describe(FIELD, Some(hint), errors);
    html! {
        div.field.check.invalid[!errors.is_empty()] {
            input type="checkbox" id={ "f-" (FIELD) } name=(FIELD) value="true" checked[checked]
                aria-describedby=[d.ids.as_deref()] aria-invalid=[(!errors.is_empty()).then_some("true")];
            " "
            label for={ "f-" (FIELD) } { "Bound tokens only" }
            (d.markup)
        }
    }
}

/// The constraint chooser: which one (or none), and its value.
fn constraint(form: &ClientForm, errors: &[&str]) -> Markup {
    let chosen = CONSTRAINTS
        .iter()
        .find(|(field, _, _)| *field == form.constraint_type);
    let d = describe("constraint_value", None, errors);
    let ids = ["constraints-hint"]
        .into_iter()
        .chain(d.ids.as_deref())
        .collect::<Vec<_>>()
        .join(" ");
    html! {
        fieldset.constraints {
            legend { "Subject constraint " span.aside { "(RFC 8705 §2.1.2; at most one)" } }
            p.hint #constraints-hint {
                "With a CA in the trust store, set one so that only the right certificate from that CA \
                 authenticates as this client."
            }
            div.constraint-row.invalid[!errors.is_empty()] {
                div.field.constraint-type {
                    label for="f-constraint_type" { "Constraint type" }
                    select id="f-constraint_type" name="constraint_type" aria-describedby="constraints-hint" {
                        option value="" selected[chosen.is_none()] { "None" }
                        @for (field, label, example) in CONSTRAINTS {
                            option value=(field) data-example=(example) selected[chosen.is_some_and(|c| c.0 == field)] {
                                (label)
                            }
                        }
                    }
                }
                div.field.constraint-value {
                    label for="f-constraint_value" { "Constraint value" }
                    input type="text" id="f-constraint_value" name="constraint_value" value=(form.constraint_value)
                        placeholder=[chosen.map(|c| c.2)] aria-describedby=(ids)
                        aria-invalid=[(!errors.is_empty()).then_some("true")]
                        autocomplete="off" spellcheck="false";
                }
            }
            (d.markup)
        }
    }
}

pub(super) fn render(
    c: &Console,
    s: &SessionInfo,
    mode: Mode<'_>,
    form: &ClientForm,
    out: &Outcome<'_>,
    status: StatusCode,
) -> Response {
    let empty = Diagnosis::default();
    let d = out.diagnosis.unwrap_or(&empty);
    let all: Vec<&Problem> = d.errors.iter().chain(out.save_problems).collect();
    // Beside the fields only once Save was pressed: while checking, the panel lists them.
    let beside = out.attempted || !out.save_problems.is_empty();
    let field_errors = |pick: &dyn Fn(&str) -> bool| -> Vec<&str> {
        all.iter()
            .filter(|p| beside && p.certificate.is_none() && pick(p.field))
            .map(|p| p.message.as_str())
            .collect()
    };
    let errors_of = |field: &str| field_errors(&|f| f == field);
    // The FHIR platforms' names of two fields are shown at the same input.
    let jwks_uri_errors = field_errors(&|f| f == "jwks_uri" || f == "jwksUri");
    let lifetime_errors =
        field_errors(&|f| f == "access_token_lifetime" || f == "accessTokenLifetime");
    let constraint_errors =
        field_errors(&|f| f == "constraint_type" || f.starts_with("tls_client_auth_"));
    let (title, action, diagnose_url) = match &mode {
        Mode::Create => (
            "New client".to_string(),
            format!("{BASE}/clients/new"),
            format!("{BASE}/api/diagnose"),
        ),
        Mode::Edit(r) => (
            format!("Client {}", r.name),
            format!("{BASE}/clients/{}", url_encode(&r.id)),
            format!("{BASE}/api/diagnose?client={}", url_encode(&r.id)),
        ),
    };
    let status_text = if out.diagnosis.is_some() {
        d.status()
    } else {
        "No certificate pasted yet.".to_string()
    };
    let panel_body = if out.diagnosis.is_some() {
        panel::body(d)
    } else {
        panel::body(&Diagnosis {
            empty: true,
            ..Diagnosis::default()
        })
    };
    let lifetime_hint = format!(
        "In seconds (or a duration such as 30m or 1h), 60 to 86400. Empty uses the server's default ({} seconds).",
        c.state.token_lifetime()
    );
    let b = html! {
        p.crumbs { a href={ (BASE) "/clients" } { "Clients" } " ›" }
        h1 { (title) }
        @if let Some(msg) = out.flash { div.flash role="status" { (msg) } }
        @if out.attempted && !all.is_empty() {
            div.summary.error.error-summary #error-summary tabindex="-1" role="alert" {
                h2 { "Not saved: " (all.len()) " problem" (if all.len() == 1 { "" } else { "s" }) " to fix" }
                (panel::problem_list(all.iter().copied()))
            }
        }
        @if let Mode::Edit(r) = &mode {
            @if r.document.get("certificateTrustStore").is_some() || r.document.get("client_secret_hash").is_some() {
                (try_it::block(&c.state, &r.id, r.document.get("certificateTrustStore").is_none(), out.flash.is_some()))
            }
        }
        form #client-form .client-form method="post" action=(action) data-diagnose=(diagnose_url) {
            input type="hidden" name="csrf" value=(s.csrf);
            div.form-main {
                @match &mode {
                    Mode::Create => {
                        (input("name", "Name", &form.name, None, &errors_of("name"), true, Some(200)))
                        (input("id", "Client id (optional)", &form.id,
                            Some("1 to 64 letters, digits, '-' and '.'. Left empty, a random id is made. It cannot change later."),
                            &errors_of("id"), false, Some(64)))
                    }
                    Mode::Edit(r) => {
                        input type="hidden" name="version" value=(form.version);
                        dl.facts.meta {
                            dt { "Client id" } dd { code.id { (r.id) } }
                            dt { "Version" }
                            dd { (r.version) ", changed " (panel::date(&certbound_pki::time_fmt::rfc3339(r.updated_at))) }
                        }
                        @for msg in errors_of("version") { p.field-error #f-version { (msg) } }
                        // As admin::kept_secret keeps it on a save without `secret`.
                        @if r.document.get("client_secret_hash").is_some() {
                            @if r.document.get("certificateTrustStore").is_some() {
                                p.note {
                                    "This client also has a secret, which the console keeps unchanged: it can \
                                     authenticate with the secret alone. To require its certificate, remove the \
                                     secret through the admin API (\"secret\": null)."
                                }
                            } @else {
                                p.note {
                                    "This client has a secret, which the console keeps unchanged (also beside keys). \
                                     Pasting a trust store switches it to certificate authentication and drops the secret."
                                }
                            }
                        }
                        (input("name", "Name", &form.name, None, &errors_of("name"), true, Some(200)))
                    }
                }
                (status_select(&form.status, &errors_of("status")))
                (trust_store(form, &errors_of("certificateTrustStore")))
            }
            section.diagnostics aria-labelledby="diag-title" {
                h2 #diag-title { "Certificate diagnostics" }
                p #diag-status .status role="status" { (status_text) }
                div #diagnostics-body { (panel_body) }
            }
            div.form-rest {
                (constraint(form, &constraint_errors))
                (keys(form, &jwks_uri_errors, &errors_of("jwks")))
                (bound_tokens(form.bound_tokens, c.state.policy().hrex,
                    &errors_of("tls_client_certificate_bound_access_tokens")))
                (input("scope", "Scopes", &form.scope,
                    Some("Space-separated scopes the client may ask for. Empty allows any."),
                    &errors_of("scope"), false, None))
                (input("access_token_lifetime", "Token lifetime", &form.lifetime, Some(&lifetime_hint),
                    &lifetime_errors, false, None))
                @for p in out.save_problems.iter().filter(|p| p.field == "resourceType") {
                    p.field-error #f-resourceType { (p.message) }
                }
                div.actions {
                    button.secondary type="submit" name="action" value="check" formnovalidate { "Check certificates" }
                    " "
                    button type="submit" name="action" value="save" { "Save client" }
                }
                @if let Mode::Edit(r) = &mode {
                    p.danger-zone { a href={ (BASE) "/clients/" (url_encode(&r.id)) "/delete" } { "Delete this client…" } }
                }
            }
        }
    };
    html::html(status, html::page(&title, Section::Clients, Some(s), b))
}
