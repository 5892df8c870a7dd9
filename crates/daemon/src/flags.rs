//! The exporter's flags, as typed (clap, with environment fallbacks), and the [`Config`] the
//! daemon runs with, converted in one place ([`ExporterFlags::to_config`]).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use exporter_web::{WebFlags, WebSettings};
use migration_cli::flags::{
    ClassesFlags, DynamoFlags, LogFlags, ReadFlags, UsageError, positive_duration, usage,
};
use migration_cli::logging::LogConfig;
use migration_core::failure::Rules;
use migration_core::state::tracker::RefreshSettings;
use migration_core::table::client::DynamoConfig;

/// The daemon's flags, as typed.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "migration-exporter",
    version,
    about = "Prometheus exporter for the migration-progress DynamoDB table."
)]
pub struct ExporterFlags {
    #[command(flatten)]
    dynamo: DynamoFlags,
    #[command(flatten)]
    read: ReadFlags,
    /// The HTTP side: listen addresses, web configuration file, limits.
    #[command(flatten)]
    web: WebFlags,
    /// Path under which to expose metrics.
    #[arg(
        long = "web.telemetry-path",
        env = "MIGRATION_EXPORTER_WEB_TELEMETRY_PATH",
        default_value = "/metrics",
        value_name = "PATH"
    )]
    telemetry_path: String,
    /// How often to read the table (start to start), e.g. 30s, 2m.
    #[arg(
        long = "refresh.interval",
        env = "MIGRATION_EXPORTER_REFRESH_INTERVAL",
        default_value = "30s",
        value_name = "DURATION",
        value_parser = positive_duration
    )]
    refresh_interval: Duration,
    /// How often to run a full scan (incremental refreshes of the status index in between).
    #[arg(
        long = "refresh.full-interval",
        env = "MIGRATION_EXPORTER_REFRESH_FULL_INTERVAL",
        default_value = "15m",
        value_name = "DURATION",
        value_parser = positive_duration
    )]
    full_interval: Duration,
    /// How far before the previous refresh an incremental refresh looks (index delay, clock skew).
    #[arg(
        long = "refresh.overlap",
        env = "MIGRATION_EXPORTER_REFRESH_OVERLAP",
        default_value = "2m",
        value_name = "DURATION",
        value_parser = positive_duration
    )]
    overlap: Duration,
    /// How many stuck spaces to name in migration_stuck_space_info (0 for none).
    #[arg(
        long = "metrics.max-space-series",
        env = "MIGRATION_EXPORTER_METRICS_MAX_SPACE_SERIES",
        default_value = "50",
        value_name = "N",
        value_parser = clap::value_parser!(u16).range(0..=10_000)
    )]
    max_space_series: u16,
    /// How many recently failed spaces to name in migration_failed_space_info (0 for none).
    #[arg(
        long = "metrics.max-failed-space-series",
        env = "MIGRATION_EXPORTER_METRICS_MAX_FAILED_SPACE_SERIES",
        default_value = "50",
        value_name = "N",
        value_parser = clap::value_parser!(u16).range(0..=10_000)
    )]
    max_failed_space_series: u16,
    /// How many error classes to name in migration_failed_spaces_by_class; the rest are summed
    /// in error_class="other".
    #[arg(
        long = "metrics.max-error-classes",
        env = "MIGRATION_EXPORTER_METRICS_MAX_ERROR_CLASSES",
        default_value = "20",
        value_name = "N",
        value_parser = clap::value_parser!(u16).range(1..=1_000)
    )]
    max_error_classes: u16,
    /// Upper bounds of migration_space_duration_seconds, comma-separated durations, increasing
    /// (e.g. 10m,1h,6h,1d,7d).
    #[arg(
        long = "metrics.duration-buckets",
        env = "MIGRATION_EXPORTER_METRICS_DURATION_BUCKETS",
        default_value = "1m,5m,15m,30m,1h,2h,4h,8h,12h,1d,2d,4d,7d,14d",
        value_name = "DURATIONS",
        value_parser = duration_buckets
    )]
    duration_buckets: DurationBuckets,
    #[command(flatten)]
    classes: ClassesFlags,
    #[command(flatten)]
    log: LogFlags,
}

/// Histogram bounds in whole seconds, increasing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DurationBuckets(Vec<u32>);

/// At most this many duration buckets (each instance exposes one series per bucket).
const MAX_DURATION_BUCKETS: usize = 40;

/// Parses `1m,5m,1h`: whole seconds, at least one second, increasing, at most 40.
fn duration_buckets(value: &str) -> Result<DurationBuckets, String> {
    let mut out: Vec<u32> = Vec::new();
    for part in value.split(',').map(str::trim) {
        let d = humantime::parse_duration(part)
            .map_err(|e| format!("{part:?} is not a duration like 5m ({e})"))?;
        if d.subsec_nanos() != 0 || d.as_secs() == 0 || d.as_secs() > u64::from(u32::MAX / 2) {
            return Err(format!(
                "{part:?}: bounds are whole seconds, from 1s to 60 years"
            ));
        }
        let secs = d.as_secs() as u32;
        if out.last().is_some_and(|last| *last >= secs) {
            return Err(format!("{part:?}: bounds must increase"));
        }
        out.push(secs);
    }
    if out.len() > MAX_DURATION_BUCKETS {
        return Err(format!(
            "{} bounds; at most {MAX_DURATION_BUCKETS}",
            out.len()
        ));
    }
    Ok(DurationBuckets(out))
}

/// The daemon's configuration, as used.
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) dynamo: DynamoConfig,
    pub(crate) web: WebSettings,
    pub(crate) telemetry_path: String,
    pub(crate) refresh: RefreshSettings,
    /// The error-class rules, checked at start, and the file they came from (reloaded when
    /// it changes), if not the bundled ones.
    pub(crate) rules: Rules,
    pub(crate) classes_file: Option<PathBuf>,
    pub log: LogConfig,
}

impl Config {
    /// The table read.
    pub fn table(&self) -> &str {
        &self.dynamo.table
    }
}

impl ExporterFlags {
    /// Converts the flags; what no value parser can check is a [`UsageError`].
    pub fn to_config(&self) -> Result<Config, UsageError> {
        if !self.telemetry_path.starts_with('/') || self.telemetry_path.len() < 2 {
            return Err(usage(
                "web.telemetry-path",
                &self.telemetry_path,
                "a path starting with /, like /metrics",
            ));
        }
        Ok(Config {
            dynamo: self.dynamo.to_config(),
            web: self.web.to_settings().map_err(|e| UsageError {
                flag: e.flag,
                value: e.value,
                expected: e.reason,
            })?,
            telemetry_path: self.telemetry_path.clone(),
            refresh: RefreshSettings {
                interval: self.refresh_interval,
                full_interval: self.full_interval,
                overlap: self.overlap,
                stuck_after: self.read.stuck_after,
                segments: self.read.scan_segments,
                max_stuck_spaces: usize::from(self.max_space_series),
                max_failed_spaces: usize::from(self.max_failed_space_series),
                max_error_classes: usize::from(self.max_error_classes),
                duration_buckets: self.duration_buckets.0.clone(),
            },
            rules: self.classes.to_rules()?,
            classes_file: self.classes.classes_file.clone(),
            log: self.log.to_config(),
        })
    }
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;
    use migration_cli::logging::LogFormat;

    fn flags(args: &[&str]) -> Result<ExporterFlags, clap::Error> {
        let mut all = vec!["migration-exporter"];
        all.extend_from_slice(args);
        ExporterFlags::try_parse_from(all)
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = flags(&[]).unwrap().to_config().unwrap();
        assert_eq!(c.dynamo.table, "migration-progress");
        assert_eq!(c.dynamo.status_index, "status-index");
        assert_eq!(c.web.listen_addresses.len(), 1);
        assert_eq!(c.web.listen_addresses[0].port(), 10940);
        assert_eq!(c.telemetry_path, "/metrics");
        assert_eq!(c.refresh.interval, Duration::from_secs(30));
        assert_eq!(c.refresh.full_interval, Duration::from_secs(900));
        assert_eq!(c.refresh.stuck_after, Duration::from_secs(3600));
        assert_eq!(c.refresh.max_stuck_spaces, 50);
        assert_eq!(c.refresh.max_failed_spaces, 50);
        assert_eq!(c.refresh.max_error_classes, 20);
        assert_eq!(
            c.refresh.duration_buckets,
            migration_core::state::spaces::DEFAULT_BOUNDS
        );
        let c = flags(&["--metrics.duration-buckets", "10m, 1h,1d"])
            .unwrap()
            .to_config()
            .unwrap();
        assert_eq!(c.refresh.duration_buckets, [600, 3600, 86_400]);
        assert!(c.classes_file.is_none());
        assert_eq!(c.rules.rules().len(), Rules::bundled().rules().len());
        assert_eq!(c.log.format, LogFormat::Logfmt);
    }

    #[test]
    fn bad_values_name_the_flag() {
        for (args, flag) in [
            (&["--refresh.interval", "soon"][..], "--refresh.interval"),
            (&["--refresh.overlap", "0s"], "--refresh.overlap"),
            (&["--web.listen-address", "nowhere"], "--web.listen-address"),
            (
                &["--web.read-header-timeout", "0s"],
                "--web.read-header-timeout",
            ),
            (
                &["--metrics.max-space-series", "10001"],
                "--metrics.max-space-series",
            ),
            (
                &["--metrics.max-failed-space-series", "many"],
                "--metrics.max-failed-space-series",
            ),
            (
                &["--metrics.max-error-classes", "0"],
                "--metrics.max-error-classes",
            ),
            (
                &["--metrics.duration-buckets", "1h,10m"],
                "--metrics.duration-buckets",
            ),
            (
                &["--metrics.duration-buckets", "1.5s"],
                "--metrics.duration-buckets",
            ),
            (
                &["--metrics.duration-buckets", ""],
                "--metrics.duration-buckets",
            ),
        ] {
            let line = migration_cli::flags::one_line(&flags(args).unwrap_err());
            assert!(line.contains(flag), "{args:?}: {line}");
        }
        let e = flags(&["--web.telemetry-path", "metrics"])
            .unwrap()
            .to_config()
            .unwrap_err();
        assert_eq!(e.flag, "web.telemetry-path");
        let e = flags(&["--failures.classes-file", "/nonexistent/classes.yml"])
            .unwrap()
            .to_config()
            .unwrap_err();
        assert_eq!(e.flag, "failures.classes-file");
        let e = flags(&["--web.config.file", "/nonexistent/web.yml"])
            .unwrap()
            .to_config()
            .unwrap_err();
        assert_eq!(e.flag, "web.config.file");
    }
}
