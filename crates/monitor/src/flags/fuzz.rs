//! Property test of the monitor's command line: random argument vectors made of the real flag
//! names (the views, `--watch`, `--interval`, `--limit`, `--json`, and the shared DynamoDB, read
//! and log flags) in every spelling, with right, wrong and random values, plus stray tokens. The
//! contract (`migration_cli::flags`): a command line parses and converts to a [`MonitorConfig`],
//! with the view its flags ask for, or is refused with
//! one line naming the flag, either by clap (as [`one_line`] prints it) or as a [`UsageError`];
//! help and version are asked for by name. Nothing exits the process, and each command line is
//! handled within a second. `PROPTEST_CASES` raises the case count.

use std::time::Instant;

use migration_cli::flags::one_line;
use migration_testkit::command_lines::{
    COUNTS, DURATIONS, FlagTable, PER_INPUT, argv, check_clap_error, check_usage_error, config,
};
use proptest::prelude::*;

use super::*;

/// The default case count: a few seconds in a debug build.
const CASES: u32 = 1024;

/// Every flag and values for it, right and wrong (random text is added to each); the switches'
/// values are wrong by definition.
const FLAGS: FlagTable = &[
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
        _ if f.failed => View::Failed(f.error_class.clone()),
        _ if f.stuck => View::Stuck,
        _ => View::Overview,
    })
}

proptest! {
    #![proptest_config(config(CASES))]

    /// Any command line of the monitor's flags is a config showing the view its flags ask for,
    /// or one line naming the flag.
    #[test]
    fn any_command_line_is_a_config_or_one_line_naming_the_flag(args in argv(FLAGS)) {
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
                    check_usage_error(&e.to_string(), e.flag, FLAGS)?;
                    prop_assert_eq!(expected_view(&flags), None);
                }
            },
            Err(e) => check_clap_error(&args, &e, &one_line(&e))?,
        }
        let took = start.elapsed();
        prop_assert!(took < PER_INPUT, "{args:?} took {took:?}");
    }
}
