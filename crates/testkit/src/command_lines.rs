//! Random command lines for the front ends' property tests (the daemon's and the monitor's
//! flags): argument vectors made of a table of real flag names, in every spelling clap takes,
//! with right, wrong and random values, plus stray tokens; and the checks every front end's
//! refusal must pass (help only when asked for, one line naming the flag). exporter-web keeps its
//! own copy for its `--web.*` flags, since it imports no workspace crate.

use std::time::Duration;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError};

/// Flag names (without `--`) with values to try, right and wrong; random text is added to each.
pub type FlagTable = &'static [(&'static str, &'static [&'static str])];

/// What one command line may take at most.
pub const PER_INPUT: Duration = Duration::from_secs(1);

/// Durations, right and wrong.
pub const DURATIONS: &[&str] = &[
    "30s",
    "0s",
    "0",
    "1",
    "-1s",
    "1h30m",
    "soon",
    "",
    "99999999999999999999y",
    "1ns",
    "5 m",
];

/// Counts, right, wrong and out of range.
pub const COUNTS: &[&str] = &[
    "0",
    "1",
    "50",
    "-1",
    "1000",
    "1001",
    "10000",
    "10001",
    "1000000",
    "4294967296",
    "x",
    "",
];

/// Line breaks of every kind: an error must hold none.
pub const BREAKS: [char; 7] = [
    '\n', '\r', '\u{b}', '\u{c}', '\u{85}', '\u{2028}', '\u{2029}',
];

/// `cases` by default; `PROPTEST_CASES` wins when set (`with_cases` alone would override it).
pub fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    Config::with_cases(cases)
}

/// Random text that is not a host name followed by a port (which would mean a DNS lookup).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        1 => "[a-z0-9 .=,:/-]{0,12}",
        1 => "[a-z]{0,3}[\\n\\r\\u{85}\\u{2028}][a-z]{0,3}",
        1 => (0usize..10_000).prop_map(|n| "9".repeat(n)),
    ]
    .prop_filter("no host:port", |s| {
        s.rsplit_once(':')
            .is_none_or(|(_, port)| port.parse::<u16>().is_err())
    })
}

/// One flag of `flags` with a value, in one of clap's spellings, or a bare flag, or a stray token.
fn tokens(flags: FlagTable) -> impl Strategy<Value = Vec<String>> {
    let with_value = (
        prop::sample::select(flags),
        any::<prop::sample::Index>(),
        text(),
        0u8..4,
    )
        .prop_map(|((name, values), i, random, form)| {
            let value = if form == 3 || values.is_empty() {
                random
            } else {
                values[i.index(values.len())].to_owned()
            };
            match form {
                0 => vec![format!("--{name}={value}")],
                _ => vec![format!("--{name}"), value],
            }
        });
    prop_oneof![
        8 => with_value,
        1 => prop::sample::select(flags).prop_map(|(name, _)| vec![format!("--{name}")]),
        1 => prop::sample::select(vec!["--help", "-h", "--version", "-V", "--", "-", "--bogus", "-x"])
            .prop_map(|t| vec![t.to_owned()]),
        1 => text().prop_map(|t| vec![t]),
    ]
}

/// Up to eight tokens of `flags`.
pub fn argv(flags: FlagTable) -> impl Strategy<Value = Vec<String>> {
    vec(tokens(flags), 0..8).prop_map(|groups| groups.concat())
}

/// How a line shows text with line breaks or control characters: escaped (`\n`, `\u{2028}`), as
/// `exporter_web::escape_breaks` does (the test kit uses only the read path, so not that crate).
fn escaped(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || (c.is_whitespace() && c != ' ') {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Whether a token asks for help or version: `--help`, `--version`, or a cluster of short flags
/// holding `h` or `V` (clap acts on `-V` in `"-V "` before refusing the space).
fn asks_for_help(token: &str) -> bool {
    match token.strip_prefix("--") {
        Some(long) => long.starts_with("help") || long.starts_with("version"),
        None => token.starts_with('-') && token.contains(['h', 'V']),
    }
}

/// A clap error for `args`, printed by the front end as `line`: help or version only when asked
/// for; otherwise one line that names the argument clap refused (its long name, or the token).
pub fn check_clap_error(args: &[String], e: &clap::Error, line: &str) -> Result<(), TestCaseError> {
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let asked = args.iter().any(|a| asks_for_help(a));
        prop_assert!(asked, "help or version without asking: {args:?}");
        return Ok(());
    }
    prop_assert!(!line.contains(BREAKS), "not one line: {line:?}");
    if let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) {
        // "--refresh.interval <DURATION>": the flag's name is its first word.
        let name = arg.split(' ').next().unwrap_or(arg);
        prop_assert!(
            line.contains(&escaped(name)),
            "{line:?} does not name {name:?}"
        );
    }
    Ok(())
}

/// A conversion error printed as `line` for `flag`: one line naming `--flag`, a flag of `flags`.
pub fn check_usage_error(line: &str, flag: &str, flags: FlagTable) -> Result<(), TestCaseError> {
    prop_assert!(!line.contains(BREAKS), "not one line: {line:?}");
    prop_assert!(line.contains(&format!("--{flag}")), "{line:?}");
    prop_assert!(flags.iter().any(|(n, _)| *n == flag), "{line:?}");
    Ok(())
}
