//! Log setup for the binaries: logfmt (tracing-logfmt) or JSON lines on stderr, at the configured
//! level for this crate ([`LogConfig`], which the shared log flags fill); every dependency stays at
//! warn unless tracing everything.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
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

/// The crates whose events are logged at the configured level (the binaries' and the layers').
const WORKSPACE_CRATES: [&str; 6] = [
    "migration_exporter",
    "migration_monitor",
    "migration_daemon",
    "migration_cli",
    "migration_core",
    "exporter_web",
];

/// Installs the global subscriber. Call once, at start-up.
pub fn init(cfg: &LogConfig) {
    let level = cfg.level.as_str().to_ascii_lowercase();
    let deps = if cfg.level == tracing::Level::TRACE {
        "trace"
    } else {
        "warn"
    };
    // Every dependency (the AWS SDK and its runtime, the HTTP and TLS stacks) at `deps`, this
    // workspace's crates at the configured level.
    let ours: Vec<String> = WORKSPACE_CRATES
        .iter()
        .map(|c| format!("{c}={level}"))
        .collect();
    let filter = EnvFilter::new(format!("{deps},{}", ours.join(",")));
    let registry = tracing_subscriber::registry().with(filter);
    match cfg.format {
        LogFormat::Logfmt => registry
            .with(
                tracing_logfmt::builder()
                    .with_span_name(false)
                    .with_span_path(false)
                    .layer()
                    .with_writer(std::io::stderr),
            )
            .init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_writer(std::io::stderr),
            )
            .init(),
    }
}
