//! Property test of the exporter's command line: random argument vectors made of the real flag
//! names (the daemon's, the shared DynamoDB, read and log flags, the `--web.*` flags) in every
//! spelling, with right, wrong and random values, plus stray tokens. The contract
//! (`migration_cli::flags`): a command line parses and converts to a [`Config`], or is refused with
//! one line naming the flag, either by clap (as [`one_line`] prints it) or as a [`UsageError`];
//! help and version are asked for by name. Nothing exits the process, and each command line is
//! handled within a second of this thread's CPU time (a busy machine does not move it).
//! `PROPTEST_CASES` raises the case count.

use exporter_web::cpu_time::thread_cpu_time;
use migration_cli::flags::one_line;
use migration_testkit::command_lines::{
    COUNTS, DURATIONS, FlagTable, PER_INPUT, argv, check_clap_error, check_usage_error, config,
};
use proptest::prelude::*;

use super::*;

/// The default case count: a few seconds in a debug build.
const CASES: u32 = 1024;

/// Every flag and values for it, right and wrong (random text is added to each).
const FLAGS: FlagTable = &[
    (
        "web.telemetry-path",
        &["/metrics", "/", "metrics", "//x", "/a b"],
    ),
    ("refresh.interval", DURATIONS),
    ("refresh.full-interval", DURATIONS),
    ("refresh.overlap", DURATIONS),
    ("metrics.max-space-series", COUNTS),
    ("metrics.max-failed-space-series", COUNTS),
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
    ("web.listen-address", ADDRESSES),
    (
        "web.config.file",
        &["", "/nonexistent/web.yml", "/", "/dev/null"],
    ),
    ("web.config.reload-interval", DURATIONS),
    ("web.read-header-timeout", DURATIONS),
    ("web.idle-timeout", DURATIONS),
    ("web.max-connections", COUNTS),
    ("web.max-requests", COUNTS),
    ("web.max-request-bytes", SIZES),
    ("web.max-header-bytes", SIZES),
    ("web.shutdown-timeout", DURATIONS),
];
const SIZES: &[&str] = &[
    "64KiB",
    "8KiB",
    "8191",
    "0",
    "1MB",
    "18446744073709551615",
    "18446744073709551615KiB",
    "1GiB",
    "",
    "k",
];
/// Literal addresses only: a host name would be looked up in DNS.
const ADDRESSES: &[&str] = &[
    ":10940",
    "127.0.0.1:0",
    "[::1]:1",
    ":99999",
    "1.2.3.4",
    "::1:80",
    "[::1]",
    "",
    ",",
    "127.0.0.1:1,[::1]:2",
    "0.0.0.0:80,0.0.0.0:80",
    "localhost",
];

proptest! {
    #![proptest_config(config(CASES))]

    /// Any command line of the exporter's flags is a config, or one line naming the flag.
    #[test]
    fn any_command_line_is_a_config_or_one_line_naming_the_flag(args in argv(FLAGS)) {
        let start = thread_cpu_time();
        let parsed = ExporterFlags::try_parse_from(
            std::iter::once("migration-exporter".to_owned()).chain(args.iter().cloned()),
        );
        match parsed {
            Ok(flags) => {
                if let Err(e) = flags.to_config() {
                    check_usage_error(&e.to_string(), e.flag, FLAGS)?;
                }
            }
            Err(e) => check_clap_error(&args, &e, &one_line(&e))?,
        }
        let took = thread_cpu_time() - start;
        prop_assert!(took < PER_INPUT, "{args:?} took {took:?}");
    }
}
