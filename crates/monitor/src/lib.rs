//! The `migration-monitor` front end. This file is the runner: it reads what the chosen view
//! needs (every page of it), builds the view from the same snapshot code the daemon uses, and
//! prints it as text or JSON, once or every interval (`--watch`) until the shutdown future
//! completes; shutdown also abandons a read in flight. [`flags`] are its flags, [`views`] the
//! views as data, [`text`] and [`format`] their text layout.

mod flags;
mod format;
mod text;
mod views;

use std::future::Future;
use std::io::Write;
use std::pin::pin;
use std::process::ExitCode;

use serde::Serialize;

use flags::View;
pub use flags::{MonitorConfig, MonitorFlags};
use migration_core::failure::Classifier;
use views::{CustomerView, FailedView, InstanceView, Overview, SpaceRow, StuckView};

use migration_core::model::{SpaceKey, Timestamp};
use migration_core::report::Report;
use migration_core::state::history::{History, Point};
use migration_core::state::snapshot::Snapshot;
use migration_core::state::tracker::{RefreshSettings, full_scan};
use migration_core::table::client::{self, ClientError};
use migration_core::table::{ErrorKind, ProgressTable, TableError};

/// The overview of a snapshot as the monitor prints it, for examples and demos.
pub fn overview_text(snapshot: &Snapshot) -> String {
    let opts = text::TextOptions {
        limit: 20,
        color: false,
    };
    let report = Report::new(snapshot, &History::default(), Timestamp::now());
    text::overview(&Overview::of(&report), opts)
}

/// The overview of a report as `migration-monitor --json` prints it.
pub fn overview_json(report: &Report) -> serde_json::Value {
    serde_json::to_value(Overview::of(report)).unwrap_or_default()
}

/// One instance of a report as `migration-monitor --instance ID --json` prints it.
pub fn instance_json(report: &Report, instance_id: &str) -> serde_json::Value {
    serde_json::to_value(InstanceView::of(report, instance_id)).unwrap_or_default()
}

/// How the monitor failed; each is one line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("{}", describe(.0))]
    Table(#[from] TableError),
    #[error("interrupted")]
    Interrupted,
    #[error("no progress record for space {space} of customer {customer}")]
    SpaceNotFound { customer: String, space: String },
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

impl MonitorError {
    /// The process exit code: 2 for configuration the operator must fix, 130 for Ctrl-C, 1 for
    /// everything DynamoDB said.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            MonitorError::Client(_) => ExitCode::from(2),
            MonitorError::Interrupted => ExitCode::from(130),
            _ => ExitCode::FAILURE,
        }
    }
}

/// A DynamoDB failure in words an operator can act on.
fn describe(e: &TableError) -> String {
    match e.kind {
        ErrorKind::TableNotFound => format!(
            "table {} not found (check --dynamodb.table, AWS_REGION and --dynamodb.endpoint-url)",
            e.table
        ),
        ErrorKind::Credentials => format!(
            "AWS credentials missing or rejected for table {} (configure AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY): {}",
            e.table, e.message
        ),
        ErrorKind::AccessDenied => format!(
            "access denied: the AWS identity may not call dynamodb:{} on {} (grant the actions in deploy/iam/policy.json): {}",
            e.operation, e.table, e.message
        ),
        ErrorKind::Network | ErrorKind::Timeout => format!(
            "cannot reach DynamoDB (check --dynamodb.endpoint-url, AWS_REGION and the network): {}",
            e.message
        ),
        ErrorKind::Throttled => format!(
            "DynamoDB throttled the read of {}; try again later: {}",
            e.table, e.message
        ),
        _ => e.to_string(),
    }
}

/// One view, ready to print.
enum Shown {
    Overview(Overview),
    Customer(CustomerView),
    Space(Box<SpaceRow>),
    Instance(InstanceView),
    Failed(FailedView),
    Stuck(StuckView),
}

impl Shown {
    fn text(&self, opts: text::TextOptions) -> String {
        match self {
            Shown::Overview(v) => text::overview(v, opts),
            Shown::Customer(v) => text::customer(v, opts),
            Shown::Space(v) => text::space(v, opts),
            Shown::Instance(v) => text::instance(v, opts),
            Shown::Failed(v) => text::failed(v, opts),
            Shown::Stuck(v) => text::stuck(v, opts),
        }
    }

    fn json(&self, pretty: bool) -> String {
        fn encode<T: Serialize>(v: &T, pretty: bool) -> String {
            let r = if pretty {
                serde_json::to_string_pretty(v)
            } else {
                serde_json::to_string(v)
            };
            r.unwrap_or_else(|e| format!("{{\"error\":\"cannot encode view: {e}\"}}"))
        }
        match self {
            Shown::Overview(v) => encode(v, pretty),
            Shown::Customer(v) => encode(v, pretty),
            Shown::Space(v) => encode(v, pretty),
            Shown::Instance(v) => encode(v, pretty),
            Shown::Failed(v) => encode(v, pretty),
            Shown::Stuck(v) => encode(v, pretty),
        }
    }
}

/// Where and how output goes.
#[derive(Debug, Clone, Copy)]
pub struct Terminal {
    /// Output is a terminal: redraw in place.
    pub interactive: bool,
    /// Colour the status icons (a terminal, and `NO_COLOR` unset).
    pub color: bool,
}

impl Terminal {
    /// Detects stdout and `NO_COLOR`.
    pub fn detect() -> Terminal {
        use std::io::IsTerminal;
        Terminal::new(
            std::io::stdout().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        )
    }

    /// Output on a terminal or not, and the value of `NO_COLOR` (set and non-empty disables
    /// colour, as no-color.org says).
    pub fn new(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> Terminal {
        let no_color = no_color.is_some_and(|v| !v.is_empty());
        Terminal {
            interactive: is_terminal,
            color: is_terminal && !no_color,
        }
    }
}

/// Reads what the view needs; the overview and instance views also add their snapshot to
/// `history`, over which the report computes the rate (`--watch`).
async fn fetch(
    table: &ProgressTable,
    cfg: &MonitorConfig,
    history: &mut History,
) -> Result<Shown, MonitorError> {
    let settings = RefreshSettings::full_only(cfg.stuck_after, cfg.segments);
    let mut report = async || -> Result<Report, MonitorError> {
        let snapshot = full_scan(table, &settings).await?;
        history.push(Point::of(&snapshot));
        Ok(Report::new(&snapshot, history, Timestamp::now()))
    };
    Ok(match &cfg.view {
        View::Overview => Shown::Overview(Overview::of(&report().await?)),
        View::Instance(id) => Shown::Instance(InstanceView::of(&report().await?, id)),
        View::Customer(c) => {
            Shown::Customer(CustomerView::new(c, &table.get_customer_spaces(c).await?))
        }
        View::Space { customer, space } => {
            let key = SpaceKey::new(customer.clone(), space.clone());
            match table.get_space_progress(&key).await? {
                Some(p) => Shown::Space(Box::new(SpaceRow::from(&p))),
                None => {
                    return Err(MonitorError::SpaceNotFound {
                        customer: customer.clone(),
                        space: space.clone(),
                    });
                }
            }
        }
        View::Failed(class) => Shown::Failed(FailedView::new(
            &table.get_failed_migrations().await?,
            &Classifier::new(cfg.rules.clone()),
            class.as_deref(),
        )),
        View::Stuck => {
            let now = Timestamp::now();
            let records = table
                .get_stuck_migrations(now.minus(cfg.stuck_after))
                .await?;
            Shown::Stuck(StuckView::new(&records, cfg.stuck_after, now))
        }
    })
}

/// Connects with the configured client and shows the configured view once, or until
/// `shutdown` with `--watch`.
pub async fn run(
    cfg: &MonitorConfig,
    term: Terminal,
    out: &mut impl Write,
    shutdown: impl Future<Output = ()>,
) -> Result<(), MonitorError> {
    let client = client::connect(&cfg.dynamo).await?;
    let table = ProgressTable::new(client, &cfg.dynamo.table, &cfg.dynamo.status_index)
        .with_read_budget(cfg.dynamo.max_read_units_per_second);
    show(&table, cfg, term, out, shutdown).await
}

/// Shows the view on `table` until done or `shutdown`, which also abandons a read in flight.
async fn show(
    table: &ProgressTable,
    cfg: &MonitorConfig,
    term: Terminal,
    out: &mut impl Write,
    shutdown: impl Future<Output = ()>,
) -> Result<(), MonitorError> {
    let opts = text::TextOptions {
        limit: cfg.limit,
        color: term.color,
    };
    let mut shutdown = pin!(shutdown);
    let mut history = History::default();
    let Some(interval) = cfg.watch else {
        let shown = tokio::select! {
            shown = fetch(table, cfg, &mut history) => shown?,
            () = &mut shutdown => return Err(MonitorError::Interrupted),
        };
        let body = if cfg.json {
            shown.json(true) + "\n"
        } else {
            shown.text(opts)
        };
        out.write_all(body.as_bytes())?;
        return Ok(());
    };
    loop {
        let result = tokio::select! {
            r = fetch(table, cfg, &mut history) => r,
            () = &mut shutdown => return Ok(()),
        };
        let body = watch_body(result, cfg, opts, interval);
        if term.interactive && !cfg.json {
            // Clear the screen and home the cursor: redraw in place.
            out.write_all(b"\x1b[2J\x1b[H")?;
        }
        out.write_all(body.as_bytes())?;
        out.flush()?;
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = &mut shutdown => return Ok(()),
        }
    }
}

/// What one `--watch` refresh prints. A transient failure does not end a watch: it says so
/// and tries again next interval.
fn watch_body(
    result: Result<Shown, MonitorError>,
    cfg: &MonitorConfig,
    opts: text::TextOptions,
    interval: std::time::Duration,
) -> String {
    let footer = format!(
        "\nLast updated: {}. Refreshing every {}. Press Ctrl+C to stop.\n",
        format::local_datetime(Timestamp::now()),
        humantime::format_duration(interval)
    );
    match result {
        Ok(shown) if cfg.json => shown.json(false) + "\n",
        Ok(shown) => shown.text(opts) + &footer,
        Err(e) if cfg.json => format!("{}\n", serde_json::json!({ "error": e.to_string() })),
        Err(e) => format!("Refresh failed: {e}\n{footer}"),
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(Terminal::new(true, None).color);
        assert!(!Terminal::new(true, Some(OsStr::new("1"))).color);
        assert!(
            Terminal::new(true, Some(OsStr::new(""))).color,
            "empty NO_COLOR is unset"
        );
        let piped = Terminal::new(false, None);
        assert!(
            !piped.color && !piped.interactive,
            "no colour or cursor movement when piped"
        );
    }
}
