//! Dates as users read them, and durations in words ("41 days ago").

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `2026-01-03T00:00:00Z`, the form certbound prints and accepts.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// `2026-01-03`, for messages.
pub fn date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// Whole days from `now` to `then` (negative when `then` is past), rounded toward zero.
pub fn days_between(now: OffsetDateTime, then: OffsetDateTime) -> i64 {
    (then - now).whole_days()
}

/// "in 12 days", "today", "41 days ago", "in 3 hours".
pub fn relative(now: OffsetDateTime, then: OffsetDateTime) -> String {
    let d = then - now;
    let (future, abs) = if d.is_negative() {
        (false, -d)
    } else {
        (true, d)
    };
    let text = if abs.whole_days() >= 2 {
        format!("{} days", abs.whole_days())
    } else if abs.whole_hours() >= 2 {
        format!("{} hours", abs.whole_hours())
    } else if abs.whole_minutes() >= 2 {
        format!("{} minutes", abs.whole_minutes())
    } else {
        return "just now".to_string();
    };
    if future {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

/// Parse a time given on the command line: RFC 3339 (`2026-01-03T10:00:00Z`),
/// a date (`2026-01-03`, midnight UTC), or seconds since the Unix epoch.
pub fn parse_time(s: &str) -> Result<OffsetDateTime, String> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    if let Ok(secs) = s.parse::<i64>() {
        return OffsetDateTime::from_unix_timestamp(secs).map_err(|e| e.to_string());
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = time::Date::parse(s, &fmt) {
        return Ok(d.midnight().assume_utc());
    }
    Err(format!(
        "`{s}` is not a time: use RFC 3339 (2026-01-03T10:00:00Z), a date (2026-01-03) or Unix seconds"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(
            parse_time("2026-01-03").unwrap(),
            datetime!(2026-01-03 0:00 UTC)
        );
        assert_eq!(
            parse_time("2026-01-03T10:00:00Z").unwrap(),
            datetime!(2026-01-03 10:00 UTC)
        );
        assert_eq!(parse_time("0").unwrap(), datetime!(1970-01-01 0:00 UTC));
        assert!(parse_time("yesterday").unwrap_err().contains("RFC 3339"));
    }

    #[test]
    fn relative_words() {
        let now = datetime!(2026-02-13 0:00 UTC);
        assert_eq!(relative(now, datetime!(2026-01-03 0:00 UTC)), "41 days ago");
        assert_eq!(relative(now, datetime!(2026-02-25 0:00 UTC)), "in 12 days");
        assert_eq!(relative(now, datetime!(2026-02-13 5:00 UTC)), "in 5 hours");
        assert_eq!(rfc3339(now), "2026-02-13T00:00:00Z");
        assert_eq!(date(now), "2026-02-13");
    }
}
