//! The client form's page: the fields, the certificate diagnostics beside
//! the trust store (between it and Save on a narrow screen), the one
//! constraint chooser (a type and a value, as RFC 8705 allows at most one),
//! and, for a saved client, the "Try it" lines.

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

/// The status select: active, or off (refused everywhere, tokens included).
fn status_select(value: &str, errors: &[&str]) -> Markup {
    let d = describe(
        "status",
        Some(
            "Off: the client gets invalid_client and its unexpired tokens are refused, at once on every instance. \
             Active again, they work again.",
        ),
        errors,
    );
    let value = if value.is_empty() { "active" } else { value };
    html! {
        div.field.invalid[!errors.is_empty()] {
            label for="f-status" { "Status" }
            (d.markup)
            select id="f-status" name="status" aria-describedby=[d.ids.as_deref()] {
                @for (option, label) in [("active", "Active"), ("off", "Off")] {
                    option value=(option) selected[option == value] { (label) }
                }
                @if !STATUS_VALUES.contains(&value) {
                    option value=(value) selected { (value) }
                }
            }
        }
    }
}

fn textarea(form: &ClientForm, errors: &[&str]) -> Markup {
    let d = describe(
        "certificateTrustStore",
        Some(
            "Paste the client's self-signed certificate, or the CA certificate(s) that issue its certificates, \
             as received: text around the PEM blocks and e-mail quote marks (> ) are ignored.",
        ),
        errors,
    );
    html! {
        div.field.invalid[!errors.is_empty()] {
            label for="f-certificateTrustStore" { "Certificate trust store (PEM)" }
            (d.markup)
            // The newline after the tag is eaten by the parser: a store that starts
            // with one keeps it.
            textarea id="f-certificateTrustStore" name="certificateTrustStore" rows="14" spellcheck="false"
                autocomplete="off" autocapitalize="off" aria-describedby=[d.ids.as_deref()]
                aria-invalid=[(!errors.is_empty()).then_some("true")] {
                "\n" (form.trust_store)
            }
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
        "In seconds, 60 to 86400. Empty uses the server's default ({} seconds).",
        c.state.token_lifetime
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
                        @if r.document.get("client_secret_hash").is_some() {
                            p.note {
                                "This client authenticates with a secret, which the console keeps unchanged. \
                                 Pasting a trust store switches it to certificate authentication and drops the secret."
                            }
                        }
                        (input("name", "Name", &form.name, None, &errors_of("name"), true, Some(200)))
                    }
                }
                (status_select(&form.status, &errors_of("status")))
                (textarea(form, &errors_of("certificateTrustStore")))
            }
            section.diagnostics aria-labelledby="diag-title" {
                h2 #diag-title { "Certificate diagnostics" }
                p #diag-status .status role="status" { (status_text) }
                div #diagnostics-body { (panel_body) }
            }
            div.form-rest {
                (constraint(form, &constraint_errors))
                (input("scope", "Scopes", &form.scope,
                    Some("Space-separated scopes the client may ask for. Empty allows any."),
                    &errors_of("scope"), false, None))
                (input("access_token_lifetime", "Token lifetime", &form.lifetime, Some(&lifetime_hint),
                    &errors_of("access_token_lifetime"), false, None))
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
