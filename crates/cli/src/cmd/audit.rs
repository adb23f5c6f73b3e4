//! `certbound audit`: read the audit trail the server writes (every
//! authentication attempt, introspection, revocation and admin change, with
//! the precise reason of each refusal), newest first, straight from the
//! store. Text output is one line per event with `key=value` fields that grep
//! and awk can take apart; `--json` prints the events as a JSON array.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use certbound_pki::time_fmt::parse_time;
use certbound_store::{AuditEvent, AuditFilter, AuditResult, DEFAULT_AUDIT_LIMIT};
use clap::Args;
use time::{Duration, OffsetDateTime};

use crate::cmd::client::block_on;
use crate::cmd::registry::{open_store, store_error, store_url};
use crate::cmd::usage;
use crate::style::{GREEN, RED, color_stdout, paint};

/// The kinds of event the server records.
pub const KINDS: [&str; 5] = ["token", "introspect", "revoke", "admin", "handshake"];

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only events about this client_id.
    #[arg(long, value_name = "ID")]
    client: Option<String>,
    /// Only events at or after TIME: an age (30m, 1h, 7d, 2w), RFC 3339
    /// (2026-01-03T10:00:00Z), a date (2026-01-03, midnight UTC) or Unix seconds.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Only granted (success) or refused (fail) events.
    #[arg(long, value_name = "RESULT", value_parser = ["success", "fail"])]
    result: Option<String>,
    /// Only events of this kind.
    #[arg(long, value_name = "KIND", value_parser = KINDS)]
    kind: Option<String>,
    /// At most N events (the newest).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_AUDIT_LIMIT)]
    limit: u32,
    /// Print the events as a JSON array.
    #[arg(long)]
    json: bool,
    /// The store: sqlite://PATH or postgres://USER:PASSWORD@HOST/DB.
    #[arg(long, value_name = "URL", conflicts_with = "config")]
    store: Option<String>,
    /// `certbound serve`'s config file (its [store] url).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub fn run(args: AuditArgs) -> Result<ExitCode> {
    let now = OffsetDateTime::now_utc();
    let since = args
        .since
        .as_deref()
        .map(|s| parse_since(s, now).map_err(usage))
        .transpose()?;
    if args.limit == 0 {
        return Err(usage("--limit must be at least 1"));
    }
    let url = store_url(args.store.as_deref(), args.config.as_deref())?;
    let filter = AuditFilter {
        client_id: args.client.clone(),
        since,
        result: args
            .result
            .as_deref()
            .map(str::parse::<AuditResult>)
            .transpose()
            .map_err(usage)?,
        kind: args.kind.clone(),
        limit: Some(args.limit),
    };
    let events = block_on(async {
        let store = open_store(&url, false).await?;
        let events = store.query_audit(&filter).await.map_err(store_error);
        store.close().await;
        events
    })??;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&events).context("cannot write the events as JSON")?
        );
    } else if events.is_empty() {
        eprintln!("no audit events match");
    } else {
        let color = color_stdout();
        for e in &events {
            println!("{}", line(e, color));
        }
    }
    if events.len() == args.limit as usize {
        eprintln!(
            "note: showing the newest {} events; raise --limit or narrow with --since, --client, --result or --kind to see older ones",
            args.limit
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `--since`: an age such as `30m` (before `now`), or an absolute time.
fn parse_since(s: &str, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    let t = s.trim();
    let age = t.strip_suffix(" ago").unwrap_or(t).trim();
    if let Some(d) = parse_age(age) {
        return now
            .checked_sub(d)
            .ok_or_else(|| format!("`{t}` reaches back before the year -9999: use a shorter age"));
    }
    parse_time(t).map_err(|_| {
        format!(
            "`{t}` is not a time: use an age (30s, 30m, 1h, 7d, 2w), RFC 3339 \
             (2026-01-03T10:00:00Z), a date (2026-01-03) or Unix seconds"
        )
    })
}

/// `30s`, `30m`, `1h`, `7d`, `2w`.
fn parse_age(s: &str) -> Option<Duration> {
    let unit = s.chars().last()?;
    let number = &s[..s.len() - unit.len_utf8()];
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = number.parse().ok()?;
    let seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    n.checked_mul(seconds).map(Duration::seconds)
}

/// One event: time, kind, result, then `key=value` for each field present.
fn line(e: &AuditEvent, color: bool) -> String {
    let at =
        e.at.to_offset(time::UtcOffset::UTC)
            .format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
            ))
            .unwrap_or_else(|_| e.at.unix_timestamp().to_string());
    let result = match e.result {
        AuditResult::Success => paint(color, GREEN, "success"),
        AuditResult::Failure => paint(color, RED, "fail   "),
    };
    let mut out = format!("{at}  {:<10} {result}", e.kind);
    let fields = [
        ("client", &e.client_id),
        ("method", &e.method),
        ("reason", &e.reason),
        ("subject", &e.subject),
        ("peer", &e.peer),
        ("listener", &e.listener),
        ("detail", &e.detail),
    ];
    for (k, v) in fields {
        if let Some(v) = v {
            let _ = write!(out, " {k}={}", quote(v));
        }
    }
    out.trim_end().to_string()
}

/// A value as logfmt writes it: quoted when it holds a space, `"` or `=`.
fn quote(v: &str) -> String {
    if !v.is_empty() && !v.contains([' ', '"', '=', '\\', '\t', '\n']) {
        return v.to_string();
    }
    let escaped = v
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace('\t', "\\t");
    format!("\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn since_forms() {
        let now = datetime!(2026-06-01 12:00 UTC);
        assert_eq!(parse_since("1h", now), Ok(datetime!(2026-06-01 11:00 UTC)));
        assert_eq!(parse_since("30m", now), Ok(datetime!(2026-06-01 11:30 UTC)));
        assert_eq!(parse_since("7d", now), Ok(datetime!(2026-05-25 12:00 UTC)));
        assert_eq!(
            parse_since("2w ago", now),
            Ok(datetime!(2026-05-18 12:00 UTC))
        );
        assert_eq!(
            parse_since("45s", now),
            Ok(datetime!(2026-06-01 11:59:15 UTC))
        );
        assert_eq!(
            parse_since("2026-05-01", now),
            Ok(datetime!(2026-05-01 0:00 UTC))
        );
        assert_eq!(
            parse_since("2026-05-01T10:00:00+02:00", now),
            Ok(datetime!(2026-05-01 8:00 UTC))
        );
        assert_eq!(parse_since("0", now), Ok(datetime!(1970-01-01 0:00 UTC)));
        for bad in ["yesterday", "1y", "h", "-1h", "1.5h", ""] {
            let err = parse_since(bad, now).unwrap_err();
            assert!(err.contains("30m, 1h, 7d"), "{bad}: {err}");
        }
        assert!(parse_since("99999999999999d", now).is_err());
    }

    #[test]
    fn lines_are_logfmt() {
        let mut e = AuditEvent::new("token", AuditResult::Failure);
        e.at = datetime!(2026-06-01 12:00:00.5 UTC);
        e.client_id = Some("partner".into());
        e.reason = Some("not_in_trust_store: the \"x\" cert".into());
        e.peer = Some("127.0.0.1:4000".into());
        assert_eq!(
            line(&e, false),
            r#"2026-06-01T12:00:00.500Z  token      fail    client=partner reason="not_in_trust_store: the \"x\" cert" peer=127.0.0.1:4000"#
        );
    }
}
