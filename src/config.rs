//! Command-line flags as typed (clap, with environment fallbacks) and the [`Config`] the daemon
//! runs with, converted and validated in one place. Bad flags become a one-line [`UsageError`]
//! naming the flag and the fix; the binary exits 2 on it.

use std::time::Duration;

use clap::{Args, Parser};

use crate::refresh::RefreshSettings;

/// The default listen port: outside 9100-9999, where most exporters' allocated ports are.
pub const DEFAULT_PORT: u16 = 10940;

/// Connection flags shared by every binary.
#[derive(Debug, Clone, Args)]
pub struct DynamoFlags {
    /// DynamoDB table the migration workers write.
    #[arg(
        long = "dynamodb.table",
        env = "MIGRATION_EXPORTER_DYNAMODB_TABLE",
        default_value = "migration-progress",
        value_name = "NAME"
    )]
    pub table: String,
    /// Global secondary index on status + updatedAt.
    #[arg(
        long = "dynamodb.status-index",
        env = "MIGRATION_EXPORTER_DYNAMODB_STATUS_INDEX",
        default_value = "status-index",
        value_name = "NAME"
    )]
    pub status_index: String,
    /// Pace reads to this many read capacity units per second (from consumed capacity); unlimited by default.
    #[arg(
        long = "dynamodb.max-read-units-per-second",
        env = "MIGRATION_EXPORTER_DYNAMODB_MAX_READ_UNITS_PER_SECOND",
        value_name = "UNITS"
    )]
    pub max_read_units_per_second: Option<String>,
    /// DynamoDB endpoint, e.g. http://127.0.0.1:8000 for DynamoDB Local (AWS_ENDPOINT_URL_DYNAMODB works too).
    #[arg(
        long = "dynamodb.endpoint-url",
        env = "MIGRATION_EXPORTER_DYNAMODB_ENDPOINT_URL",
        value_name = "URL"
    )]
    pub endpoint_url: Option<String>,
}

/// How the table is read and judged, shared by every binary.
#[derive(Debug, Clone, Args)]
pub struct ReadFlags {
    /// In-progress spaces not updated for this long count as stuck, e.g. 1h, 90m.
    #[arg(
        long = "stuck-after",
        env = "MIGRATION_EXPORTER_STUCK_AFTER",
        default_value = "1h",
        value_name = "DURATION"
    )]
    pub stuck_after: String,
    /// Parallel scan segments.
    #[arg(
        long = "scan.segments",
        env = "MIGRATION_EXPORTER_SCAN_SEGMENTS",
        default_value = "8",
        value_name = "N"
    )]
    pub scan_segments: String,
}

/// Logging flags shared by every binary.
#[derive(Debug, Clone, Args)]
pub struct LogFlags {
    /// Log level: error, warn, info, debug or trace.
    #[arg(
        long = "log.level",
        env = "MIGRATION_EXPORTER_LOG_LEVEL",
        default_value = "info",
        value_name = "LEVEL"
    )]
    pub level: String,
    /// Log format: logfmt or json.
    #[arg(
        long = "log.format",
        env = "MIGRATION_EXPORTER_LOG_FORMAT",
        default_value = "logfmt",
        value_name = "FORMAT"
    )]
    pub format: String,
}

/// The daemon's flags, as typed.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "migration-exporter",
    version,
    about = "Prometheus exporter for the migration-progress DynamoDB table."
)]
pub struct ExporterFlags {
    #[command(flatten)]
    pub dynamo: DynamoFlags,
    #[command(flatten)]
    pub read: ReadFlags,
    /// The HTTP side: listen addresses, web configuration file, limits (see `crate::web`).
    #[command(flatten)]
    pub web: crate::web::WebFlags,
    /// Path under which to expose metrics.
    #[arg(
        long = "web.telemetry-path",
        env = "MIGRATION_EXPORTER_WEB_TELEMETRY_PATH",
        default_value = "/metrics",
        value_name = "PATH"
    )]
    pub telemetry_path: String,
    /// How often to read the table (start to start), e.g. 30s, 2m.
    #[arg(
        long = "refresh.interval",
        env = "MIGRATION_EXPORTER_REFRESH_INTERVAL",
        default_value = "30s",
        value_name = "DURATION"
    )]
    pub refresh_interval: String,
    /// How often to run a full scan (incremental refreshes of the status index in between).
    #[arg(
        long = "refresh.full-interval",
        env = "MIGRATION_EXPORTER_REFRESH_FULL_INTERVAL",
        default_value = "15m",
        value_name = "DURATION"
    )]
    pub full_interval: String,
    /// How far before the previous refresh an incremental refresh looks (index delay, clock skew).
    #[arg(
        long = "refresh.overlap",
        env = "MIGRATION_EXPORTER_REFRESH_OVERLAP",
        default_value = "2m",
        value_name = "DURATION"
    )]
    pub overlap: String,
    /// How many stuck spaces to name in migration_stuck_space_info (0 for none).
    #[arg(
        long = "metrics.max-space-series",
        env = "MIGRATION_EXPORTER_METRICS_MAX_SPACE_SERIES",
        default_value = "50",
        value_name = "N"
    )]
    pub max_space_series: String,
    #[command(flatten)]
    pub log: LogFlags,
}

/// The monitor's flags, as typed: the original `migration-monitor.js` flags plus our own.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "migration-monitor",
    version,
    about = "Shows the progress of the migration from the migration-progress DynamoDB table."
)]
pub struct MonitorFlags {
    #[command(flatten)]
    pub dynamo: DynamoFlags,
    #[command(flatten)]
    pub read: ReadFlags,
    /// Show one customer's spaces (a DID such as did:mailto:example.com:user).
    #[arg(long, value_name = "DID", conflicts_with_all = ["instance", "failed", "stuck"])]
    pub customer: Option<String>,
    /// With --customer: show one space in detail (a DID such as did:key:z6Mk...).
    #[arg(long, value_name = "DID")]
    pub space: Option<String>,
    /// Show one instance's progress, grouped by worker.
    #[arg(long, value_name = "ID", conflicts_with_all = ["failed", "stuck"])]
    pub instance: Option<String>,
    /// List failed spaces with their errors.
    #[arg(long, conflicts_with = "stuck")]
    pub failed: bool,
    /// List in-progress spaces not updated for --stuck-after.
    #[arg(long)]
    pub stuck: bool,
    /// Refresh every --interval until Ctrl-C.
    #[arg(long)]
    pub watch: bool,
    /// Refresh interval for --watch, e.g. 30s, 1m.
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    pub interval: String,
    /// Rows to show in long lists; 0 shows all (--json always lists all).
    #[arg(long, default_value = "20", value_name = "N")]
    pub limit: String,
    /// Print the view as JSON (one document per refresh with --watch).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub log: LogFlags,
}

/// Which view the monitor shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    Overview,
    Customer(String),
    Space { customer: String, space: String },
    Instance(String),
    Failed,
    Stuck,
}

/// The monitor's configuration, as used.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    pub dynamo: DynamoConfig,
    pub view: View,
    /// Refresh interval, when watching.
    pub watch: Option<Duration>,
    pub stuck_after: Duration,
    /// Rows of long lists; 0 for all.
    pub limit: usize,
    pub json: bool,
    pub segments: u32,
    pub log: LogConfig,
}

/// Whether `s` looks like a DID: `did:<method>:<id>`, method lower-case alphanumeric.
pub fn is_did(s: &str) -> bool {
    let mut parts = s.splitn(3, ':');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some("did"), Some(method), Some(id))
            if !method.is_empty()
                && method.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && !id.is_empty()
                && !id.chars().any(char::is_whitespace)
    )
}

fn did(flag: &'static str, value: &str) -> Result<String, UsageError> {
    if is_did(value) {
        Ok(value.to_owned())
    } else {
        Err(usage(
            flag,
            value,
            "a DID such as did:mailto:example.com:user or did:key:z6Mk...",
        ))
    }
}

impl MonitorFlags {
    /// Converts and validates every flag.
    pub fn to_config(&self) -> Result<MonitorConfig, UsageError> {
        let view = match (&self.customer, &self.space, &self.instance) {
            (_, Some(space), _) if self.customer.is_none() => {
                return Err(usage(
                    "space",
                    space,
                    "--customer DID as well: a space is looked up by its customer",
                ));
            }
            (Some(c), Some(s), _) => View::Space {
                customer: did("customer", c)?,
                space: did("space", s)?,
            },
            (Some(c), None, _) => View::Customer(did("customer", c)?),
            (None, None, Some(i)) if i.trim().is_empty() => {
                return Err(usage("instance", i, "an instance id such as 1"));
            }
            (None, None, Some(i)) => View::Instance(i.clone()),
            _ if self.failed => View::Failed,
            _ if self.stuck => View::Stuck,
            _ => View::Overview,
        };
        let interval = parse_duration("interval", &self.interval)?;
        Ok(MonitorConfig {
            dynamo: self.dynamo.to_config()?,
            view,
            watch: self.watch.then_some(interval),
            stuck_after: parse_duration("stuck-after", &self.read.stuck_after)?,
            limit: parse_count("limit", &self.limit, 0..=u32::MAX as u64)? as usize,
            json: self.json,
            segments: parse_count("scan.segments", &self.read.scan_segments, 1..=1000)? as u32,
            log: self.log.to_config()?,
        })
    }
}

/// A flag with a bad value: names the flag and what it expects.
#[derive(Debug, thiserror::Error)]
#[error("invalid value {value:?} for --{flag}: {expected}")]
pub struct UsageError {
    pub flag: &'static str,
    pub value: String,
    pub expected: String,
}

fn usage(flag: &'static str, value: &str, expected: impl Into<String>) -> UsageError {
    UsageError {
        flag,
        value: value.to_owned(),
        expected: expected.into(),
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Logfmt,
    Json,
}

/// Logging as used.
#[derive(Debug, Clone)]
pub struct LogConfig {
    pub level: tracing::Level,
    pub format: LogFormat,
}

/// Where the table is, as used.
#[derive(Debug, Clone)]
pub struct DynamoConfig {
    pub table: String,
    pub status_index: String,
    pub endpoint_url: Option<String>,
    /// Read budget; `None` is unlimited.
    pub max_read_units_per_second: Option<f64>,
}

/// The daemon's configuration, as used.
#[derive(Debug, Clone)]
pub struct Config {
    pub dynamo: DynamoConfig,
    pub web: crate::web::WebSettings,
    pub telemetry_path: String,
    pub refresh: RefreshSettings,
    pub log: LogConfig,
}

/// Parses a positive humantime duration ("30s", "1h30m").
pub fn parse_duration(flag: &'static str, value: &str) -> Result<Duration, UsageError> {
    match humantime::parse_duration(value) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(usage(flag, value, "a duration above zero, like 30s or 5m")),
        Err(e) => Err(usage(
            flag,
            value,
            format!("a duration like 30s, 5m or 1h ({e})"),
        )),
    }
}

fn parse_count(
    flag: &'static str,
    value: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, UsageError> {
    match value.trim().parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(usage(
            flag,
            value,
            format!("a whole number from {} to {}", range.start(), range.end()),
        )),
    }
}

impl DynamoFlags {
    pub fn to_config(&self) -> Result<DynamoConfig, UsageError> {
        if self.table.trim().is_empty() {
            return Err(usage("dynamodb.table", &self.table, "a table name"));
        }
        if self.status_index.trim().is_empty() {
            return Err(usage(
                "dynamodb.status-index",
                &self.status_index,
                "an index name",
            ));
        }
        if let Some(url) = &self.endpoint_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(usage(
                "dynamodb.endpoint-url",
                url,
                "an http:// or https:// URL",
            ));
        }
        let budget = match &self.max_read_units_per_second {
            None => None,
            Some(v) => match v.trim().parse::<f64>() {
                Ok(r) if r.is_finite() && r > 0.0 => Some(r),
                _ => {
                    return Err(usage(
                        "dynamodb.max-read-units-per-second",
                        v,
                        "a number of read units per second above zero, like 100",
                    ));
                }
            },
        };
        Ok(DynamoConfig {
            table: self.table.clone(),
            status_index: self.status_index.clone(),
            endpoint_url: self.endpoint_url.clone(),
            max_read_units_per_second: budget,
        })
    }
}

impl LogFlags {
    pub fn to_config(&self) -> Result<LogConfig, UsageError> {
        let level = self.level.parse::<tracing::Level>().map_err(|_| {
            usage(
                "log.level",
                &self.level,
                "one of error, warn, info, debug, trace",
            )
        })?;
        let format = match self.format.as_str() {
            "logfmt" => LogFormat::Logfmt,
            "json" => LogFormat::Json,
            _ => return Err(usage("log.format", &self.format, "logfmt or json")),
        };
        Ok(LogConfig { level, format })
    }
}

impl ExporterFlags {
    /// Converts and validates every flag.
    pub fn to_config(&self) -> Result<Config, UsageError> {
        if !self.telemetry_path.starts_with('/') || self.telemetry_path.len() < 2 {
            return Err(usage(
                "web.telemetry-path",
                &self.telemetry_path,
                "a path starting with /, like /metrics",
            ));
        }
        Ok(Config {
            dynamo: self.dynamo.to_config()?,
            web: self.web.to_settings().map_err(|e| UsageError {
                flag: e.flag,
                value: e.value,
                expected: e.reason,
            })?,
            telemetry_path: self.telemetry_path.clone(),
            refresh: RefreshSettings {
                interval: parse_duration("refresh.interval", &self.refresh_interval)?,
                full_interval: parse_duration("refresh.full-interval", &self.full_interval)?,
                overlap: parse_duration("refresh.overlap", &self.overlap)?,
                stuck_after: parse_duration("stuck-after", &self.read.stuck_after)?,
                segments: parse_count("scan.segments", &self.read.scan_segments, 1..=1000)? as u32,
                max_stuck_spaces: parse_count(
                    "metrics.max-space-series",
                    &self.max_space_series,
                    0..=10_000,
                )? as usize,
            },
            log: self.log.to_config()?,
        })
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
    let rendered = err.render().to_string();
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

    fn flags(args: &[&str]) -> ExporterFlags {
        let mut all = vec!["migration-exporter"];
        all.extend_from_slice(args);
        ExporterFlags::try_parse_from(all).unwrap()
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = flags(&[]).to_config().unwrap();
        assert_eq!(c.dynamo.table, "migration-progress");
        assert_eq!(c.dynamo.status_index, "status-index");
        assert_eq!(c.web.listen_addresses.len(), 1);
        assert_eq!(c.web.listen_addresses[0].port(), DEFAULT_PORT);
        assert_eq!(c.telemetry_path, "/metrics");
        assert_eq!(c.refresh.interval, Duration::from_secs(30));
        assert_eq!(c.refresh.stuck_after, Duration::from_secs(3600));
        assert_eq!(c.refresh.max_stuck_spaces, 50);
        assert_eq!(c.log.format, LogFormat::Logfmt);
    }

    #[test]
    fn bad_duration_names_the_flag() {
        let e = flags(&["--refresh.interval", "soon"])
            .to_config()
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid value \"soon\" for --refresh.interval: a duration"),
            "{e}"
        );
        let e = flags(&["--stuck-after", "0s"]).to_config().unwrap_err();
        assert_eq!(e.flag, "stuck-after");
    }

    #[test]
    fn bad_segments_and_address_name_the_flag() {
        assert_eq!(
            flags(&["--scan.segments", "0"])
                .to_config()
                .unwrap_err()
                .flag,
            "scan.segments"
        );
        let e =
            ExporterFlags::try_parse_from(["x", "--web.listen-address", "nowhere"]).unwrap_err();
        assert!(one_line(&e).contains("--web.listen-address"), "{e}");
        assert_eq!(
            flags(&["--web.config.file", "/nonexistent/web.yml"])
                .to_config()
                .unwrap_err()
                .flag,
            "web.config.file"
        );
        assert_eq!(
            flags(&["--log.format", "xml"])
                .to_config()
                .unwrap_err()
                .flag,
            "log.format"
        );
    }

    fn monitor(args: &[&str]) -> Result<MonitorConfig, UsageError> {
        let mut all = vec!["migration-monitor"];
        all.extend_from_slice(args);
        MonitorFlags::try_parse_from(all).unwrap().to_config()
    }

    #[test]
    fn monitor_flags_pick_the_view() {
        assert_eq!(monitor(&[]).unwrap().view, View::Overview);
        assert_eq!(monitor(&["--failed"]).unwrap().view, View::Failed);
        assert_eq!(monitor(&["--stuck"]).unwrap().view, View::Stuck);
        assert_eq!(
            monitor(&["--instance", "3"]).unwrap().view,
            View::Instance("3".into())
        );
        assert_eq!(
            monitor(&[
                "--customer",
                "did:mailto:a.com:b",
                "--space",
                "did:key:z6Mk"
            ])
            .unwrap()
            .view,
            View::Space {
                customer: "did:mailto:a.com:b".into(),
                space: "did:key:z6Mk".into()
            }
        );
        let c = monitor(&["--watch", "--interval", "5s"]).unwrap();
        assert_eq!(c.watch, Some(Duration::from_secs(5)));
        assert_eq!(c.limit, 20);
    }

    #[test]
    fn space_without_customer_and_bad_dids_are_usage_errors() {
        assert_eq!(
            monitor(&["--space", "did:key:z6Mk"]).unwrap_err().flag,
            "space"
        );
        assert_eq!(
            monitor(&["--customer", "bob@example.com"])
                .unwrap_err()
                .flag,
            "customer"
        );
        assert_eq!(
            monitor(&["--customer", "did:mailto:a", "--space", "z6Mk"])
                .unwrap_err()
                .flag,
            "space"
        );
        assert_eq!(monitor(&["--limit=-1"]).unwrap_err().flag, "limit");
    }

    #[test]
    fn dids_need_a_method_and_an_id() {
        assert!(is_did("did:mailto:example.com:user"));
        assert!(is_did("did:key:z6MkkABC"));
        assert!(!is_did("did:key:"));
        assert!(!is_did("did::x"));
        assert!(!is_did("mailto:example.com"));
        assert!(!is_did("did:Key:x"));
    }

    #[test]
    fn unknown_flag_error_is_one_line() {
        let e = ExporterFlags::try_parse_from(["migration-exporter", "--bogus"]).unwrap_err();
        let line = one_line(&e);
        assert!(!line.contains('\n'));
        assert!(line.contains("--bogus"), "{line}");
    }
}
