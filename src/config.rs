//! Command-line flags as typed (clap, with environment fallbacks) and the [`Config`] the daemon
//! runs with, converted and validated in one place. Bad flags become a one-line [`UsageError`]
//! naming the flag and the fix; the binary exits 2 on it.

use std::net::{SocketAddr, ToSocketAddrs};
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
    /// DynamoDB endpoint, e.g. http://127.0.0.1:8000 for DynamoDB Local (AWS_ENDPOINT_URL_DYNAMODB works too).
    #[arg(
        long = "dynamodb.endpoint-url",
        env = "MIGRATION_EXPORTER_DYNAMODB_ENDPOINT_URL",
        value_name = "URL"
    )]
    pub endpoint_url: Option<String>,
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
    /// Address to serve metrics on; ":PORT" listens on all interfaces.
    #[arg(
        long = "web.listen-address",
        env = "MIGRATION_EXPORTER_WEB_LISTEN_ADDRESS",
        default_value = ":10940",
        value_name = "ADDR"
    )]
    pub listen_address: String,
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
}

/// The daemon's configuration, as used.
#[derive(Debug, Clone)]
pub struct Config {
    pub dynamo: DynamoConfig,
    pub listen_address: SocketAddr,
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

fn parse_listen_address(value: &str) -> Result<SocketAddr, UsageError> {
    let full = if value.starts_with(':') {
        format!("0.0.0.0{value}")
    } else {
        value.to_owned()
    };
    full.to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| {
            usage(
                "web.listen-address",
                value,
                "HOST:PORT or :PORT, like :10940 or 127.0.0.1:10940",
            )
        })
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
        Ok(DynamoConfig {
            table: self.table.clone(),
            status_index: self.status_index.clone(),
            endpoint_url: self.endpoint_url.clone(),
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
            listen_address: parse_listen_address(&self.listen_address)?,
            telemetry_path: self.telemetry_path.clone(),
            refresh: RefreshSettings {
                interval: parse_duration("refresh.interval", &self.refresh_interval)?,
                stuck_after: parse_duration("stuck-after", &self.stuck_after)?,
                segments: parse_count("scan.segments", &self.scan_segments, 1..=1000)? as u32,
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
        assert_eq!(c.listen_address.port(), DEFAULT_PORT);
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
        assert_eq!(
            flags(&["--web.listen-address", "nowhere"])
                .to_config()
                .unwrap_err()
                .flag,
            "web.listen-address"
        );
        assert_eq!(
            flags(&["--log.format", "xml"])
                .to_config()
                .unwrap_err()
                .flag,
            "log.format"
        );
    }

    #[test]
    fn unknown_flag_error_is_one_line() {
        let e = ExporterFlags::try_parse_from(["migration-exporter", "--bogus"]).unwrap_err();
        let line = one_line(&e);
        assert!(!line.contains('\n'));
        assert!(line.contains("--bogus"), "{line}");
    }
}
