//! Property test of the monitor's command line: random argument vectors made of the real flag
//! names (the views, `--watch`, `--interval`, `--limit`, `--json`, and the shared DynamoDB, read
//! and log flags) in every spelling, with right, wrong and random values, plus stray tokens. The
//! contract (`migration_cli::flags`): a command line parses and converts to a [`MonitorConfig`],
//! with the view its flags ask for, or is refused with
//! one line naming the flag, either by clap (as [`one_line`] prints it) or as a [`UsageError`];
//! help and version are asked for by name. Nothing exits the process, and each command line is
//! handled within a second. `PROPTEST_CASES` raises the case count.

use std::time::{Duration, Instant};

use clap::error::{ContextKind, ContextValue, ErrorKind};
use migration_cli::flags::one_line;
use proptest::collection::vec;
use proptest::prelude::*;

use super::*;

/// The default case count: a few seconds in a debug build.
const CASES: u32 = 1024;

/// What one command line may take at most.
const PER_INPUT: Duration = Duration::from_secs(1);

/// Every flag and values for it, right and wrong (random text is added to each); the switches'
/// values are wrong by definition.
const FLAGS: &[(&str, &[&str])] = &[
    ("customer", DIDS),
    ("space", DIDS),
    ("instance", &["1", "", " ", "i-0abc"]),
    ("failed", &[]),
    ("stuck", &[]),
    ("watch", &[]),
    ("json", &[]),
    ("interval", DURATIONS),
    ("limit", COUNTS),
    ("dynamodb.table", &["t", "", " ", "migration-progress"]),
    ("dynamodb.status-index", &["i", "", "\t"]),
    (
        "dynamodb.max-read-units-per-second",
        &["100", "0", "-1", "NaN", "inf", "1e400", "0.5"],
    ),
    (
        "dynamodb.endpoint-url",
        &["http://127.0.0.1:8000", "https://x", "localhost:8000", ""],
    ),
    ("stuck-after", DURATIONS),
    ("scan.segments", COUNTS),
    ("log.level", &["info", "debug", "INFO", "loud", ""]),
    ("log.format", &["logfmt", "json", "xml", ""]),
];
const DIDS: &[&str] = &[
    "did:mailto:example.com:user",
    "did:key:z6Mkk",
    "did:key:",
    "did::x",
    "did:Key:x",
    "bob@example.com",
    "did:key:a b",
    "",
];
const DURATIONS: &[&str] = &[
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
const COUNTS: &[&str] = &[
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
fn config() -> ProptestConfig {
    // `with_cases` would override PROPTEST_CASES; the environment's value wins when set.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES);
    ProptestConfig::with_cases(cases)
}

/// Random text, with line breaks and long runs.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        1 => "[a-z0-9 .=,:/-]{0,12}",
        1 => "[a-z]{0,3}[\\n\\r\\u{85}\\u{2028}][a-z]{0,3}",
        1 => (0usize..10_000).prop_map(|n| "9".repeat(n)),
    ]
}

/// One flag with a value, in one of clap's spellings, or a bare flag, or a stray token.
fn tokens() -> impl Strategy<Value = Vec<String>> {
    let flag = prop::sample::select(FLAGS);
    let with_value = (flag, any::<prop::sample::Index>(), text(), 0u8..4).prop_map(
        |((name, values), i, random, form)| {
            let value = if form == 3 || values.is_empty() {
                random
            } else {
                values[i.index(values.len())].to_owned()
            };
            match form {
                0 => vec![format!("--{name}={value}")],
                _ => vec![format!("--{name}"), value],
            }
        },
    );
    prop_oneof![
        8 => with_value,
        1 => prop::sample::select(FLAGS).prop_map(|(name, _)| vec![format!("--{name}")]),
        1 => prop::sample::select(vec!["--help", "-h", "--version", "-V", "--", "-", "--bogus", "-x"])
            .prop_map(|t| vec![t.to_owned()]),
        1 => text().prop_map(|t| vec![t]),
    ]
}

fn argv() -> impl Strategy<Value = Vec<String>> {
    vec(tokens(), 0..8).prop_map(|groups| groups.concat())
}

/// Line breaks of every kind: an error must hold none.
const BREAKS: [char; 7] = [
    '\n', '\r', '\u{b}', '\u{c}', '\u{85}', '\u{2028}', '\u{2029}',
];

/// How a line shows text with line breaks or control characters: escaped (`\n`, `\u{2028}`).
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

/// A clap error: help or version only when asked for; otherwise one line that names the argument
/// clap refused (its long name, or the stray token).
fn check_clap_error(args: &[String], e: &clap::Error) -> Result<(), TestCaseError> {
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let asked = args.iter().any(|a| asks_for_help(a));
        prop_assert!(asked, "help or version without asking: {args:?}");
        return Ok(());
    }
    let line = one_line(e);
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

/// The view a parsed command line must yield, read from the flags directly.
fn expected_view(f: &MonitorFlags) -> Option<View> {
    Some(match (&f.customer, &f.space, &f.instance) {
        (None, Some(_), _) => return None,
        (Some(c), Some(s), _) => View::Space {
            customer: c.clone(),
            space: s.clone(),
        },
        (Some(c), None, _) => View::Customer(c.clone()),
        (None, None, Some(i)) => View::Instance(i.clone()),
        _ if f.failed => View::Failed,
        _ if f.stuck => View::Stuck,
        _ => View::Overview,
    })
}

proptest! {
    #![proptest_config(config())]

    /// Any command line of the monitor's flags is a config showing the view its flags ask for,
    /// or one line naming the flag.
    #[test]
    fn any_command_line_is_a_config_or_one_line_naming_the_flag(args in argv()) {
        let start = Instant::now();
        let parsed = MonitorFlags::try_parse_from(
            std::iter::once("migration-monitor".to_owned()).chain(args.iter().cloned()),
        );
        match parsed {
            Ok(flags) => match flags.to_config() {
                Ok(c) => {
                    prop_assert_eq!(Some(c.view), expected_view(&flags));
                    prop_assert_eq!(c.watch.is_some(), flags.watch);
                }
                Err(e) => {
                    let line = e.to_string();
                    prop_assert!(!line.contains(BREAKS), "not one line: {line:?}");
                    prop_assert!(line.contains(&format!("--{}", e.flag)), "{line:?}");
                    prop_assert!(FLAGS.iter().any(|(n, _)| *n == e.flag), "{line:?}");
                    prop_assert_eq!(expected_view(&flags), None);
                }
            },
            Err(e) => check_clap_error(&args, &e)?,
        }
        let took = start.elapsed();
        prop_assert!(took < PER_INPUT, "{args:?} took {took:?}");
    }
}
