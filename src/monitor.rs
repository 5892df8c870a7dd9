//! The `migration-monitor` CLI's runner: reads what the chosen view needs (every page of it),
//! builds the view from the same snapshot code the daemon uses, and prints it as text or JSON,
//! once or every interval (`--watch`) until the shutdown future completes.

use std::future::Future;
use std::io::Write;
use std::pin::pin;

use serde::Serialize;

use crate::config::{MonitorConfig, View};
use crate::error::{ErrorKind, TableError};
use crate::model::{SpaceKey, Timestamp};
use crate::refresh::{RefreshSettings, full_scan};
use crate::table::ProgressTable;
use crate::views::{
    self, CustomerView, FailedView, InstanceView, Overview, SpaceRow, StuckView, Throughput, text,
};

/// How the monitor failed; each is one line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error("{}", describe(.0))]
    Table(#[from] TableError),
    #[error("no progress record for space {space} of customer {customer}")]
    SpaceNotFound { customer: String, space: String },
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
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
            Shown::Overview(v) => text::overview(v),
            Shown::Customer(v) => text::customer(v, opts),
            Shown::Space(v) => text::space(v),
            Shown::Instance(v) => text::instance(v),
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

fn colorize(text: &str) -> String {
    text.replace("✓ ", "\x1b[32m✓\x1b[0m ")
        .replace("⏳ ", "\x1b[33m⏳\x1b[0m ")
        .replace("✗ ", "\x1b[31m✗\x1b[0m ")
}

async fn fetch(table: &ProgressTable, cfg: &MonitorConfig) -> Result<Shown, MonitorError> {
    let settings = RefreshSettings::full_only(cfg.stuck_after, cfg.segments);
    Ok(match &cfg.view {
        View::Overview => {
            Shown::Overview(Overview::from_snapshot(&full_scan(table, &settings).await?))
        }
        View::Instance(id) => Shown::Instance(InstanceView::from_snapshot(
            &full_scan(table, &settings).await?,
            id,
        )),
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
        View::Failed => Shown::Failed(FailedView::new(&table.get_failed_migrations().await?)),
        View::Stuck => {
            let now = Timestamp::now();
            let records = table
                .get_stuck_migrations(now.minus(cfg.stuck_after))
                .await?;
            Shown::Stuck(StuckView::new(&records, cfg.stuck_after, now))
        }
    })
}

/// Shows the configured view once, or until `shutdown` with `--watch`.
pub async fn run(
    table: &ProgressTable,
    cfg: &MonitorConfig,
    term: Terminal,
    out: &mut impl Write,
    shutdown: impl Future<Output = ()>,
) -> Result<(), MonitorError> {
    let opts = text::TextOptions { limit: cfg.limit };
    let Some(interval) = cfg.watch else {
        let shown = fetch(table, cfg).await?;
        let body = if cfg.json {
            shown.json(true) + "\n"
        } else {
            shown.text(opts)
        };
        out.write_all(if term.color { colorize(&body) } else { body }.as_bytes())?;
        return Ok(());
    };
    let mut shutdown = pin!(shutdown);
    let mut previous: Option<Overview> = None;
    loop {
        let result = fetch(table, cfg).await;
        let footer = format!(
            "\nLast updated: {}. Refreshing every {}. Press Ctrl+C to stop.\n",
            views::format::local_datetime(Timestamp::now()),
            humantime::format_duration(interval)
        );
        let body = match result {
            Ok(mut shown) => {
                if let Shown::Overview(v) = &mut shown {
                    v.throughput = previous.as_ref().and_then(|p| Throughput::between(p, v));
                    previous = Some(v.clone());
                }
                if cfg.json {
                    shown.json(false) + "\n"
                } else {
                    shown.text(opts) + &footer
                }
            }
            // A transient failure does not end a watch: say so and try again next interval.
            Err(e) if cfg.json => format!("{}\n", serde_json::json!({ "error": e.to_string() })),
            Err(e) => format!("Refresh failed: {e}\n{footer}"),
        };
        if term.interactive && !cfg.json {
            // Clear the screen and home the cursor: redraw in place.
            out.write_all(b"\x1b[2J\x1b[H")?;
        }
        out.write_all(if term.color { colorize(&body) } else { body }.as_bytes())?;
        out.flush()?;
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = &mut shutdown => return Ok(()),
        }
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

    #[test]
    fn colour_wraps_only_the_status_icons() {
        let out = colorize("  ✓ Completed: 3\n✗ did:key:x\nplain ✓\n");
        assert!(out.contains("\x1b[32m✓\x1b[0m Completed"));
        assert!(out.contains("\x1b[31m✗\x1b[0m did:key:x"));
        assert!(out.ends_with("plain ✓\n"));
    }
}
