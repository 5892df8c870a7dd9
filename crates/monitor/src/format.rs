//! Text formatting of the monitor's views (numbers come from `migration_core::format`): percentages, local
//! date-times as the original monitor printed them (`10/31/2025, 3:15:23 PM`), status icons.

use chrono::{DateTime, Local, TimeZone};

use migration_core::model::{Status, Timestamp};

/// `part` of `whole` with one decimal, `0.0` when `whole` is zero.
/// A string from the table made safe for a terminal: control characters (escape sequences,
/// carriage returns, bells, line breaks) are written as `\u{1b}` and the like, so that no
/// space, id or error text can move the cursor, recolour or rewrite the screen.
pub(crate) fn plain(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Control characters, and the bidirectional overrides that reorder what a terminal shows.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

pub(crate) fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0.0".to_owned();
    }
    format!("{:.1}", part as f64 * 100.0 / whole as f64)
}

/// A local date-time as JavaScript's `toLocaleString('en-US')` writes it.
pub(crate) fn local_datetime(t: Timestamp) -> String {
    match Local.timestamp_millis_opt(t.as_millis()).single() {
        Some(dt) => en_us(&dt),
        None => t.to_iso(),
    }
}

fn en_us<Tz: TimeZone>(dt: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    dt.format("%-m/%-d/%Y, %-I:%M:%S %p").to_string()
}

/// The icon the original monitor shows before a status (pending's emoji is followed by an
/// extra space in the original's layout, which [`status_prefix`] keeps).
fn icon(status: Status) -> &'static str {
    match status {
        Status::Completed => "✓",
        Status::InProgress => "⏳",
        Status::Pending => "⏸️",
        Status::Failed => "✗",
        Status::Unknown => "?",
    }
}

/// The ANSI colour of a status's icon on a terminal, if it has one.
fn color(status: Status) -> Option<&'static str> {
    match status {
        Status::Completed => Some("32"),
        Status::InProgress => Some("33"),
        Status::Failed => Some("31"),
        Status::Pending | Status::Unknown => None,
    }
}

/// Icon plus the separating space(s): `"⏸️  "` for pending, `"✓ "` otherwise; with `colored`,
/// the icon (only the icon) in its status's colour.
pub(crate) fn status_prefix(status: Status, colored: bool) -> String {
    let gap = if status == Status::Pending { "  " } else { " " };
    match color(status) {
        Some(code) if colored => format!("\x1b[{code}m{}\x1b[0m{gap}", icon(status)),
        _ => format!("{}{gap}", icon(status)),
    }
}

/// A duration in whole minutes, rounded down.
pub(crate) fn minutes(ms: i64) -> i64 {
    ms.max(0) / 60_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_strings_cannot_drive_the_terminal() {
        assert_eq!(plain("did:key:z6Mk"), "did:key:z6Mk");
        assert_eq!(plain("a\x1b[2Jb\r\nc"), "a\\u{1b}[2Jb\\u{d}\\u{a}c");
        assert_eq!(plain("x\u{202e}y"), "x\\u{202e}y");
    }

    #[test]
    fn percent_has_one_decimal_and_survives_zero() {
        assert_eq!(percent(45_123, 80_304), "56.2");
        assert_eq!(percent(1, 0), "0.0");
    }

    #[test]
    fn datetime_is_written_like_javascript_en_us() {
        let t = Timestamp::parse_iso("2025-10-31T15:15:23.000Z").unwrap();
        let utc = chrono::Utc.timestamp_millis_opt(t.as_millis()).unwrap();
        assert_eq!(en_us(&utc), "10/31/2025, 3:15:23 PM");
        let morning = Timestamp::parse_iso("2025-01-02T00:05:09.000Z").unwrap();
        let utc = chrono::Utc
            .timestamp_millis_opt(morning.as_millis())
            .unwrap();
        assert_eq!(en_us(&utc), "1/2/2025, 12:05:09 AM");
    }

    #[test]
    fn colour_wraps_only_the_icons_of_coloured_statuses() {
        assert_eq!(status_prefix(Status::Completed, true), "\x1b[32m✓\x1b[0m ");
        assert_eq!(status_prefix(Status::Failed, true), "\x1b[31m✗\x1b[0m ");
        assert_eq!(status_prefix(Status::Pending, true), "⏸️  ");
        assert_eq!(status_prefix(Status::InProgress, false), "⏳ ");
    }
}
