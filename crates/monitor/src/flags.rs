//! The monitor's flags, as typed: the original `migration-monitor.js` flags plus our own, and the
//! [`MonitorConfig`] the runner uses, with the chosen [`View`], converted in one place
//! ([`MonitorFlags::to_config`]).

use std::time::Duration;

use clap::Parser;

use migration_cli::flags::{
    ClassesFlags, DynamoFlags, LogFlags, ReadFlags, UsageError, non_blank, positive_duration, usage,
};
use migration_cli::logging::LogConfig;
use migration_core::failure::Rules;
use migration_core::table::client::DynamoConfig;

/// Whether `s` looks like a DID: `did:<method>:<id>`, method lower-case alphanumeric.
fn is_did(s: &str) -> bool {
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

fn did(value: &str) -> Result<String, String> {
    if is_did(value) {
        Ok(value.to_owned())
    } else {
        Err("a DID such as did:mailto:example.com:user or did:key:z6Mk...".into())
    }
}

/// The monitor's flags, as typed.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "migration-monitor",
    version,
    about = "Shows the progress of the migration from the migration-progress DynamoDB table."
)]
pub struct MonitorFlags {
    #[command(flatten)]
    dynamo: DynamoFlags,
    #[command(flatten)]
    read: ReadFlags,
    /// Show one customer's spaces (a DID such as did:mailto:example.com:user).
    #[arg(long, value_name = "DID", value_parser = did, conflicts_with_all = ["instance", "failed", "stuck"])]
    customer: Option<String>,
    /// With --customer: show one space in detail (a DID such as did:key:z6Mk...).
    #[arg(long, value_name = "DID", value_parser = did)]
    space: Option<String>,
    /// Show one instance's progress, grouped by worker.
    #[arg(long, value_name = "ID", value_parser = non_blank("an instance id such as 1"), conflicts_with_all = ["failed", "stuck"])]
    instance: Option<String>,
    /// List failed spaces with their errors, after their error classes.
    #[arg(long, conflicts_with = "stuck")]
    failed: bool,
    /// With --failed: list only the spaces of this error class (as --failed names them).
    #[arg(long = "error-class", value_name = "NAME", requires = "failed")]
    error_class: Option<String>,
    #[command(flatten)]
    classes: ClassesFlags,
    /// List in-progress spaces not updated for --stuck-after.
    #[arg(long)]
    stuck: bool,
    /// Refresh every --interval until Ctrl-C.
    #[arg(long)]
    watch: bool,
    /// Refresh interval for --watch, e.g. 30s, 1m.
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = positive_duration)]
    interval: Duration,
    /// Rows to show in long lists; 0 shows all (--json always lists all).
    #[arg(long, default_value = "20", value_name = "N")]
    limit: u32,
    /// Print the view as JSON (one document per refresh with --watch).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    log: LogFlags,
}

/// Which view the monitor shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum View {
    Overview,
    Customer(String),
    Space {
        customer: String,
        space: String,
    },
    Instance(String),
    /// Failed spaces, of one error class if named.
    Failed(Option<String>),
    Stuck,
}

/// The monitor's configuration, as used.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    pub(crate) dynamo: DynamoConfig,
    pub(crate) view: View,
    /// Refresh interval, when watching.
    pub(crate) watch: Option<Duration>,
    pub(crate) stuck_after: Duration,
    /// Rows of long lists; 0 for all.
    pub(crate) limit: usize,
    pub(crate) json: bool,
    pub(crate) segments: u32,
    /// How failed spaces are classed (the exporter's rules, or the same file it reads).
    pub(crate) rules: Rules,
    pub log: LogConfig,
}

impl MonitorFlags {
    /// Converts the flags; a space without its customer is a [`UsageError`].
    pub fn to_config(&self) -> Result<MonitorConfig, UsageError> {
        let view = match (&self.customer, &self.space, &self.instance) {
            (None, Some(space), _) => {
                return Err(usage(
                    "space",
                    space,
                    "--customer DID as well: a space is looked up by its customer",
                ));
            }
            (Some(c), Some(s), _) => View::Space {
                customer: c.clone(),
                space: s.clone(),
            },
            (Some(c), None, _) => View::Customer(c.clone()),
            (None, None, Some(i)) => View::Instance(i.clone()),
            _ if self.failed => View::Failed(self.error_class.clone()),
            _ if self.stuck => View::Stuck,
            _ => View::Overview,
        };
        Ok(MonitorConfig {
            dynamo: self.dynamo.to_config(),
            view,
            watch: self.watch.then_some(self.interval),
            stuck_after: self.read.stuck_after,
            limit: self.limit as usize,
            json: self.json,
            segments: self.read.scan_segments,
            rules: self.classes.to_rules()?,
            log: self.log.to_config(),
        })
    }
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    fn monitor(args: &[&str]) -> Result<MonitorConfig, String> {
        let mut all = vec!["migration-monitor"];
        all.extend_from_slice(args);
        match MonitorFlags::try_parse_from(all) {
            Ok(f) => f.to_config().map_err(|e| format!("--{}", e.flag)),
            Err(e) => Err(migration_cli::flags::one_line(&e)),
        }
    }

    #[test]
    fn monitor_flags_pick_the_view() {
        assert_eq!(monitor(&[]).unwrap().view, View::Overview);
        assert_eq!(monitor(&["--failed"]).unwrap().view, View::Failed(None));
        assert_eq!(
            monitor(&["--failed", "--error-class", "timeout"])
                .unwrap()
                .view,
            View::Failed(Some("timeout".into()))
        );
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
        for (args, flag) in [
            (&["--space", "did:key:z6Mk"][..], "--space"),
            (&["--customer", "bob@example.com"], "--customer"),
            (
                &["--customer", "did:mailto:a", "--space", "z6Mk"],
                "--space",
            ),
            (&["--limit=-1"], "--limit"),
            (&["--instance", " "], "--instance"),
        ] {
            let e = monitor(args).unwrap_err();
            assert!(e.contains(flag), "{args:?}: {e}");
        }
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
}
