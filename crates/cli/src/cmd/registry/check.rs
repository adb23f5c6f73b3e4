//! `certbound client check [ID] WHERE`: the findings of `certbound check`
//! (dates, EKU, keyUsage, key and signature strength, self-signature) and
//! the registry's own rules over every registered trust store, or one
//! client's, by the code behind the console's live diagnosis. Exit 1 when a
//! certificate fails (an expired one, say), 0 otherwise: a cron job or a CI
//! step that runs it learns before the partner does.

use std::process::ExitCode;

use anyhow::Result;
use certbound_console::diagnose::{Diagnosis, diagnose};
use certbound_oauth::client::{ClientApplication, Policy};
use clap::Args;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{Registry, Target, not_registered};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Only this client_id [default: every registered client].
    id: Option<String>,
    /// Print each client's diagnosis as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    target: Target,
}

/// What checking one client found.
enum Outcome {
    /// No trust store: the client authenticates by secret.
    Secret,
    Checked(Diagnosis),
    /// The stored document cannot be read as a ClientApplication.
    Unreadable(String),
}

impl Outcome {
    fn failed(&self) -> bool {
        match self {
            Outcome::Secret => false,
            Outcome::Checked(d) => !d.errors.is_empty(),
            Outcome::Unreadable(_) => true,
        }
    }
}

pub fn run(args: CheckArgs) -> Result<ExitCode> {
    let registry = Registry::open(&args.target, false)?;
    let policy = registry.policy();
    let resources = match &args.id {
        Some(id) => registry.get(id).map(|r| r.into_iter().collect::<Vec<_>>()),
        None => registry.list(None),
    };
    registry.close();
    let resources = resources?;
    if let (Some(id), true) = (&args.id, resources.is_empty()) {
        return Err(not_registered(id));
    }
    let now = OffsetDateTime::now_utc();
    let checked: Vec<(&Value, Outcome)> = resources
        .iter()
        .map(|r| (r, check_one(r, policy, now)))
        .collect();
    let failed = checked.iter().filter(|(_, o)| o.failed()).count();
    if args.json {
        let out: Vec<Value> = checked.iter().map(|(r, o)| as_json(r, o)).collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for (r, o) in &checked {
            print!("{}", as_text(r, o));
        }
        match (checked.len(), failed) {
            (0, _) => println!("no client is registered: nothing to check"),
            (n, 0) => println!("{n} client{} checked: all pass", plural(n)),
            (n, f) => println!(
                "{n} client{} checked: {f} failed; fix or replace the certificates above \
                 (`certbound client show ID` shows a trust store)",
                plural(n)
            ),
        }
    }
    Ok(if failed > 0 {
        ExitCode::from(crate::cmd::EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Diagnose one resource as the admin API returned it.
fn check_one(resource: &Value, policy: Policy, now: OffsetDateTime) -> Outcome {
    let mut doc = resource.clone();
    let has_secret = doc["hasSecret"] == true;
    if let Some(obj) = doc.as_object_mut() {
        for k in ["meta", "hasSecret", "warnings"] {
            obj.remove(k);
        }
    }
    let mut app: ClientApplication = match serde_json::from_value(doc) {
        Ok(app) => app,
        Err(e) => return Outcome::Unreadable(e.to_string()),
    };
    let has_store = app
        .certificate_trust_store
        .as_deref()
        .is_some_and(|s| !s.trim().is_empty());
    if !has_store && has_secret {
        return Outcome::Secret;
    }
    if has_secret {
        // Shown as `hasSecret` only; any value lets validation see a secret.
        app.client_secret_hash = Some(String::new());
    }
    Outcome::Checked(diagnose(&app, Vec::new(), policy, now))
}

fn title(resource: &Value) -> String {
    let id = resource["id"].as_str().unwrap_or("?");
    let off = if resource["status"] == "off" {
        " [off]"
    } else {
        ""
    };
    match resource["name"].as_str() {
        Some(name) if name != id => format!("{id} ({name}){off}"),
        _ => format!("{id}{off}"),
    }
}

fn as_text(resource: &Value, outcome: &Outcome) -> String {
    let mut out = String::new();
    let title = title(resource);
    match outcome {
        Outcome::Secret => {
            out.push_str(&format!(
                "{title}: no trust store (authenticates by secret): nothing to check\n"
            ));
        }
        Outcome::Unreadable(e) => {
            out.push_str(&format!(
                "{title}: FAIL\n  error: the stored client cannot be read: {e}\n"
            ));
        }
        Outcome::Checked(d) => {
            let n = d.certificates.len();
            let expiry = d
                .certificates
                .iter()
                .min_by_key(|c| c.days_left)
                .map(|c| {
                    let date = c.not_after.get(..10).unwrap_or(&c.not_after);
                    match c.days_left {
                        d if d < 0 => format!(", expired on {date} ({} days ago)", -d),
                        d => format!(", earliest expiry {date} ({d} days left)"),
                    }
                })
                .unwrap_or_default();
            let verdict = if d.errors.is_empty() { "pass" } else { "FAIL" };
            out.push_str(&format!(
                "{title}: {verdict} ({n} certificate{}{expiry})\n",
                plural(n)
            ));
            for e in &d.errors {
                out.push_str(&format!("  error: {}\n", once(&e.message)));
            }
            for w in &d.warnings {
                out.push_str(&format!("  warning: {}\n", once(&w.message)));
            }
        }
    }
    out
}

/// "'a': 'a': text" as "'a': text" (the certificate named twice).
fn once(message: &str) -> &str {
    match message.split_once(": ") {
        Some((head, rest)) if rest.starts_with(&format!("{head}: ")) => rest,
        _ => message,
    }
}

fn as_json(resource: &Value, outcome: &Outcome) -> Value {
    let (result, detail) = match outcome {
        Outcome::Secret => (
            "skipped",
            json!({"reason": "no trust store: the client authenticates by secret"}),
        ),
        Outcome::Unreadable(e) => ("fail", json!({"error": e})),
        Outcome::Checked(d) => (
            if d.errors.is_empty() { "pass" } else { "fail" },
            serde_json::to_value(d).unwrap_or(Value::Null),
        ),
    };
    json!({
        "id": resource["id"],
        "name": resource["name"],
        "status": resource.get("status").cloned().unwrap_or_else(|| "active".into()),
        "result": result,
        "diagnosis": detail,
    })
}
