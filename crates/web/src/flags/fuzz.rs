//! Property test of the `--web.*` flags on their own ([`WebFlags`] flattened into a small clap
//! parser, as the module's tests do): random argument vectors of the real flag names in every
//! spelling, with right, wrong and random values (the vendored exporter-toolkit web configuration
//! files among them), plus stray tokens. The contract: [`WebSettings`], or a [`WebFlagError`] that
//! is one line naming the flag, or a clap error naming the refused argument; each within a second of CPU time,
//! and nothing exits the process. `PROPTEST_CASES` raises the case count.

use std::time::Duration;

use crate::cpu_time::thread_cpu_time;

use clap::Parser;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use proptest::collection::vec;
use proptest::prelude::*;

use super::*;

/// The default case count: a few seconds in a debug build.
const CASES: u32 = 1024;

/// What one command line may take at most.
const PER_INPUT: Duration = Duration::from_secs(1);

/// Every flag and values for it, right and wrong (random text is added to each).
const FLAGS: &[(&str, &[&str])] = &[
    ("web.listen-address", ADDRESSES),
    ("web.config.file", CONFIG_FILES),
    ("web.config.reload-interval", DURATIONS),
    ("web.read-header-timeout", DURATIONS),
    ("web.idle-timeout", DURATIONS),
    ("web.max-connections", COUNTS),
    ("web.max-requests", COUNTS),
    ("web.max-request-bytes", SIZES),
    ("web.max-header-bytes", SIZES),
    ("web.shutdown-timeout", DURATIONS),
];
/// Files of the vendored test data (relative to it; [`config_file`] makes them absolute), good and
/// bad, and paths that are no file.
const CONFIG_FILES: &[&str] = &[
    "web_config_empty.yml",
    "web_config_junk.yml",
    "web_config_junk_key.yml",
    "web_config_users.good.yml",
    "web_config_users_noTLS.good.yml",
    "web_config_headers.good.yml",
    "web_config_noAuth.good.yml",
    "web_config_noAuth_tlsInline.good.yml",
    "web_config_noAuth_certPath_invalid.bad.yml",
    "web_config_auth_user_list_invalid.bad.yml",
    "web_config_rate_limiter_one_second.yaml",
    "server.crt",
    "missing.yml",
    "",
    "/",
    "/dev/null",
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

/// A configuration-file value made absolute under the vendored test data (the test's working
/// directory is the crate's).
fn config_file(v: &str) -> String {
    if v.is_empty() || v.starts_with('/') {
        v.to_owned()
    } else {
        format!("{}/tests/toolkit-testdata/{v}", env!("CARGO_MANIFEST_DIR"))
    }
}

fn config() -> ProptestConfig {
    // `with_cases` would override PROPTEST_CASES; the environment's value wins when set.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES);
    ProptestConfig::with_cases(cases)
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

/// One flag with a value, in one of clap's spellings, or a bare flag, or a stray token.
fn tokens() -> impl Strategy<Value = Vec<String>> {
    let flag = prop::sample::select(FLAGS);
    let with_value = (flag, any::<prop::sample::Index>(), text(), 0u8..4).prop_map(
        |((name, values), i, random, form)| {
            let value = if form == 3 || values.is_empty() {
                random
            } else {
                let v = values[i.index(values.len())];
                if name == "web.config.file" {
                    config_file(v)
                } else {
                    v.to_owned()
                }
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
        1 => prop::sample::select(vec!["--help", "-h", "--version", "--", "-", "--bogus", "-x"])
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

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    web: WebFlags,
}

/// A clap error: help only when asked for; otherwise it names the argument it refused, a real
/// flag or one of the tokens given (the binaries print it through `migration_cli`'s one line).
fn check_clap_error(args: &[String], e: &clap::Error) -> Result<(), TestCaseError> {
    if e.kind() == ErrorKind::DisplayHelp {
        // `--help`, or a cluster of short flags holding `h` (clap acts on it before refusing
        // the rest of the cluster).
        let asked = args.iter().any(|a| match a.strip_prefix("--") {
            Some(long) => long.starts_with("help"),
            None => a.starts_with('-') && a.contains('h'),
        });
        prop_assert!(asked, "help without asking: {args:?}");
        return Ok(());
    }
    if let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) {
        // "--web.idle-timeout <DURATION>": the flag's name is its first word.
        let name = arg.split(' ').next().unwrap_or(arg);
        let known = FLAGS.iter().any(|(n, _)| name == format!("--{n}"));
        let given = args.iter().any(|a| a.starts_with(name) || a == arg);
        prop_assert!(
            known || given,
            "{arg:?} is neither a flag nor given: {args:?}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// Any command line of the web flags is settings, or an error naming the flag.
    #[test]
    fn any_web_command_line_is_settings_or_an_error_naming_the_flag(args in argv()) {
        let start = thread_cpu_time();
        match Cli::try_parse_from(std::iter::once("x".to_owned()).chain(args.iter().cloned())) {
            Ok(cli) => match cli.web.to_settings() {
                Ok(s) => prop_assert!(!s.listen_addresses.is_empty()),
                Err(e) => {
                    let line = e.to_string();
                    prop_assert!(!line.contains(BREAKS), "not one line: {line:?}");
                    prop_assert!(line.contains(&format!("--{}", e.flag)), "{line:?}");
                    prop_assert!(FLAGS.iter().any(|(n, _)| *n == e.flag), "{line:?}");
                }
            },
            Err(e) => check_clap_error(&args, &e)?,
        }
        let took = thread_cpu_time() - start;
        prop_assert!(took < PER_INPUT, "{args:?} took {took:?}");
    }
}
