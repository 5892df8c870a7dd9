//! Flags both binaries share, as typed: the DynamoDB connection ([`DynamoFlags`]), how the table
//! is read and judged ([`ReadFlags`]), how failures are classed ([`ClassesFlags`]) and logging
//! ([`LogFlags`]), with clap value parsers for
//! durations, counts, URLs and addresses so a bad value is refused while parsing. Cross-flag
//! rules become a [`UsageError`]. Either way the binary prints one line naming the flag and the
//! fix, and exits 2 ([`parse_args`]). Each front end converts its flags to the config it runs
//! with in one place (`to_config`).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, ValueEnum};

use crate::logging::{LogConfig, LogFormat};
use exporter_web::escape_breaks;
pub use exporter_web::flags::positive_duration;
use migration_core::failure::Rules;
use migration_core::table::client::DynamoConfig;

fn endpoint_url(value: &str) -> Result<String, String> {
    if value.starts_with("http://") || value.starts_with("https://") {
        Ok(value.to_owned())
    } else {
        Err("an http:// or https:// URL".into())
    }
}

fn read_units(value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err("a number of read units per second above zero, like 100".into()),
    }
}

/// A value parser for text that must not be blank; `expected` says what it should be.
pub fn non_blank(expected: &'static str) -> impl Fn(&str) -> Result<String, String> + Clone {
    move |value: &str| {
        if value.trim().is_empty() {
            Err(expected.into())
        } else {
            Ok(value.to_owned())
        }
    }
}

/// Connection flags shared by every binary.
#[derive(Debug, Clone, Args)]
pub struct DynamoFlags {
    /// DynamoDB table the migration workers write.
    #[arg(
        long = "dynamodb.table",
        env = "MIGRATION_EXPORTER_DYNAMODB_TABLE",
        default_value = "migration-progress",
        value_name = "NAME",
        value_parser = non_blank("a table name")
    )]
    table: String,
    /// Global secondary index on status + updatedAt.
    #[arg(
        long = "dynamodb.status-index",
        env = "MIGRATION_EXPORTER_DYNAMODB_STATUS_INDEX",
        default_value = "status-index",
        value_name = "NAME",
        value_parser = non_blank("an index name")
    )]
    status_index: String,
    /// Pace reads to this many read capacity units per second (from consumed capacity); unlimited by default.
    #[arg(
        long = "dynamodb.max-read-units-per-second",
        env = "MIGRATION_EXPORTER_DYNAMODB_MAX_READ_UNITS_PER_SECOND",
        value_name = "UNITS",
        value_parser = read_units
    )]
    max_read_units_per_second: Option<f64>,
    /// DynamoDB endpoint, e.g. http://127.0.0.1:8000 for DynamoDB Local (AWS_ENDPOINT_URL_DYNAMODB works too).
    #[arg(
        long = "dynamodb.endpoint-url",
        env = "MIGRATION_EXPORTER_DYNAMODB_ENDPOINT_URL",
        value_name = "URL",
        value_parser = endpoint_url
    )]
    endpoint_url: Option<String>,
}

impl DynamoFlags {
    pub fn to_config(&self) -> DynamoConfig {
        DynamoConfig {
            table: self.table.clone(),
            status_index: self.status_index.clone(),
            endpoint_url: self.endpoint_url.clone(),
            max_read_units_per_second: self.max_read_units_per_second,
        }
    }
}

/// How the table is read and judged, shared by every binary.
#[derive(Debug, Clone, Args)]
pub struct ReadFlags {
    /// In-progress spaces not updated for this long count as stuck, e.g. 1h, 90m.
    #[arg(
        long = "stuck-after",
        env = "MIGRATION_EXPORTER_STUCK_AFTER",
        default_value = "1h",
        value_name = "DURATION",
        value_parser = positive_duration
    )]
    pub stuck_after: Duration,
    /// Parallel scan segments.
    #[arg(
        long = "scan.segments",
        env = "MIGRATION_EXPORTER_SCAN_SEGMENTS",
        default_value = "8",
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..=1000)
    )]
    pub scan_segments: u32,
}

/// How failed spaces are classed, shared by every binary so that they agree on each class.
#[derive(Debug, Clone, Args)]
pub struct ClassesFlags {
    /// A YAML file of error classes (regular expressions -> class name and retryable), in place
    /// of the bundled ones; the exporter reloads it when it changes.
    #[arg(
        long = "failures.classes-file",
        env = "MIGRATION_EXPORTER_FAILURES_CLASSES_FILE",
        value_name = "FILE"
    )]
    pub classes_file: Option<PathBuf>,
}

impl ClassesFlags {
    /// The rules to class failures with: the file's, checked now, or the bundled ones.
    pub fn to_rules(&self) -> Result<Rules, UsageError> {
        let Some(path) = &self.classes_file else {
            return Ok(Rules::bundled());
        };
        Rules::load(path).map_err(|e| {
            usage(
                "failures.classes-file",
                &path.display().to_string(),
                e.to_string(),
            )
        })
    }
}

/// Log levels, as the flag spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    fn level(self) -> tracing::Level {
        match self {
            LogLevel::Error => tracing::Level::ERROR,
            LogLevel::Warn => tracing::Level::WARN,
            LogLevel::Info => tracing::Level::INFO,
            LogLevel::Debug => tracing::Level::DEBUG,
            LogLevel::Trace => tracing::Level::TRACE,
        }
    }
}

/// Logging flags shared by every binary.
#[derive(Debug, Clone, Args)]
pub struct LogFlags {
    /// Log level.
    #[arg(
        long = "log.level",
        env = "MIGRATION_EXPORTER_LOG_LEVEL",
        default_value = "info",
        value_name = "LEVEL"
    )]
    level: LogLevel,
    /// Log format.
    #[arg(
        long = "log.format",
        env = "MIGRATION_EXPORTER_LOG_FORMAT",
        default_value = "logfmt",
        value_name = "FORMAT"
    )]
    format: LogFormat,
}

impl LogFlags {
    pub fn to_config(&self) -> LogConfig {
        LogConfig {
            level: self.level.level(),
            format: self.format,
        }
    }
}

/// A rule across flags that a value parser cannot check: names the flag and what it expects.
#[derive(Debug, thiserror::Error)]
#[error("invalid value {value:?} for --{flag}: {expected}")]
pub struct UsageError {
    pub flag: &'static str,
    pub value: String,
    pub expected: String,
}

pub fn usage(flag: &'static str, value: &str, expected: impl Into<String>) -> UsageError {
    UsageError {
        flag,
        value: value.to_owned(),
        expected: expected.into(),
    }
}

/// Parses the command line into `F` and converts it with `convert`. Help and version are printed
/// (`Err(0)`); a bad flag is one line on stderr naming it (`Err(2)`). For the binaries' `main`.
pub fn parse_args<F: Parser, C>(
    name: &str,
    convert: impl FnOnce(&F) -> Result<C, UsageError>,
) -> Result<C, std::process::ExitCode> {
    use clap::error::ErrorKind as ClapErrorKind;
    let flags = match F::try_parse() {
        Ok(f) => f,
        Err(e)
            if matches!(
                e.kind(),
                ClapErrorKind::DisplayHelp | ClapErrorKind::DisplayVersion
            ) =>
        {
            let _ = e.print();
            return Err(std::process::ExitCode::SUCCESS);
        }
        Err(e) => {
            eprintln!("{name}: {}", one_line(&e));
            return Err(std::process::ExitCode::from(2));
        }
    };
    convert(&flags).map_err(|e| {
        eprintln!("{name}: {e}");
        std::process::ExitCode::from(2)
    })
}

/// Reduces a clap error to one line that names the flag (help and version pass through whole).
pub fn one_line(err: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    let mut rendered = err.render().to_string();
    // The refused value or argument as typed may hold a line break, which would cut the line
    // before the flag's name: its first occurrence, in the message, is shown escaped.
    for kind in [ContextKind::InvalidValue, ContextKind::InvalidArg] {
        if let Some(ContextValue::String(typed)) = err.get(kind) {
            let shown = escape_breaks(typed);
            if shown != *typed {
                rendered = rendered.replacen(typed.as_str(), &shown, 1);
            }
        }
    }
    let first = rendered
        .lines()
        .next()
        .unwrap_or("error: bad arguments")
        .trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    format!("{first} (see --help)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Parser)]
    struct Shared {
        #[command(flatten)]
        dynamo: DynamoFlags,
        #[command(flatten)]
        read: ReadFlags,
        #[command(flatten)]
        log: LogFlags,
    }

    fn error(args: &[&str]) -> String {
        let mut all = vec!["test"];
        all.extend_from_slice(args);
        one_line(&Shared::try_parse_from(all).unwrap_err())
    }

    #[test]
    fn bad_values_are_refused_while_parsing_with_the_flag_named() {
        for (args, flag) in [
            (&["--stuck-after", "soon"][..], "--stuck-after"),
            (&["--stuck-after", "0s"], "--stuck-after"),
            (&["--scan.segments", "0"], "--scan.segments"),
            (&["--log.format", "xml"], "--log.format"),
            (&["--log.level", "loud"], "--log.level"),
            (&["--dynamodb.table", " "], "--dynamodb.table"),
            (
                &["--dynamodb.endpoint-url", "localhost:8000"],
                "--dynamodb.endpoint-url",
            ),
            (
                &["--dynamodb.max-read-units-per-second", "0"],
                "--dynamodb.max-read-units-per-second",
            ),
            (&["--bogus"], "--bogus"),
        ] {
            let line = error(args);
            assert!(line.contains(flag), "{args:?}: {line}");
            assert!(!line.contains('\n'), "{line}");
        }
        assert!(error(&["--stuck-after", "0s"]).contains("a duration above zero"));
    }

    /// Found by the daemon's flags property test: a value or a stray argument holding a line
    /// break made the error two lines, the first of which did not name the flag.
    #[test]
    fn a_value_with_a_line_break_still_gives_one_line_naming_the_flag() {
        let line = error(&["--stuck-after", "so\non"]);
        assert!(
            line.contains("--stuck-after") && line.contains("so\\non"),
            "{line}"
        );
        let line = error(&["a\u{2028}b"]);
        assert!(line.contains("a\\u{2028}b"), "{line}");
        for line in [line, error(&["--scan.segments=\r\n"])] {
            assert!(!line.contains(['\n', '\r', '\u{2028}']), "{line:?}");
        }
    }

    #[test]
    fn typed_values_arrive_converted() {
        let s = Shared::try_parse_from([
            "test",
            "--stuck-after",
            "90m",
            "--scan.segments",
            "16",
            "--log.level",
            "debug",
            "--log.format",
            "json",
            "--dynamodb.max-read-units-per-second",
            "25.5",
        ])
        .unwrap();
        assert_eq!(s.read.stuck_after, Duration::from_secs(5400));
        assert_eq!(s.read.scan_segments, 16);
        let log = s.log.to_config();
        assert_eq!(log.level, tracing::Level::DEBUG);
        assert_eq!(log.format, LogFormat::Json);
        assert_eq!(s.dynamo.to_config().max_read_units_per_second, Some(25.5));
    }
}
