//! The HTTP side's lines of `/metrics` (connections, requests in flight, closes by reason), the
//! one part of the page that moves between refreshes. They are written at every scrape straight
//! as text after the cached page: the HELP and TYPE lines are built once from the declared
//! families, so a scrape writes only a dozen numbers and never touches the protobuf families.

use std::fmt::Write as _;
use std::sync::Arc;

use exporter_web::{CloseReason, HttpStats};

use super::families::*;

/// The HELP and TYPE lines of the HTTP families, built once, and the counts they show.
pub(crate) struct HttpSection {
    stats: Arc<HttpStats>,
    heads: Vec<String>,
}

/// The HTTP families in the order they are written.
const ORDER: [&Family; 7] = [
    &HTTP_CONNECTIONS_ACCEPTED,
    &HTTP_CONNECTIONS_CLOSED,
    &HTTP_CONNECTIONS_MAX,
    &HTTP_CONNECTIONS_OPEN,
    &HTTP_REQUESTS_IN_FLIGHT,
    &HTTP_REQUESTS_REJECTED,
    &HTTP_TLS_HANDSHAKES_IN_FLIGHT,
];

/// `# HELP` and `# TYPE` of `f`, escaped as the text format asks.
fn head(f: &Family) -> String {
    let help = f.help.replace('\\', "\\\\").replace('\n', "\\n");
    let kind = match f.kind {
        Kind::Gauge => "gauge",
        Kind::Counter => "counter",
        Kind::Histogram => "histogram",
    };
    format!("# HELP {} {help}\n# TYPE {} {kind}\n", f.name, f.name)
}

impl HttpSection {
    pub(crate) fn new(stats: Arc<HttpStats>) -> HttpSection {
        HttpSection {
            stats,
            heads: ORDER.iter().map(|f| head(f)).collect(),
        }
    }

    /// The values of the families of [`ORDER`], as (label value, value) lines each.
    fn values(&self, family: usize) -> Vec<(Option<&'static str>, u64)> {
        let s = &self.stats;
        let one = |v| vec![(None, v)];
        match family {
            0 => one(s.connections_accepted()),
            1 => CloseReason::ALL
                .iter()
                .map(|r| (Some(r.as_str()), s.connections_closed(*r)))
                .collect(),
            2 => one(s.connections_bound()),
            3 => one(s.connections_open()),
            4 => one(s.requests_in_flight()),
            5 => one(s.requests_rejected()),
            _ => one(s.tls_handshakes_in_flight()),
        }
    }

    /// Appends the section to `out`.
    pub(crate) fn write(&self, out: &mut String) {
        for (i, f) in ORDER.iter().enumerate() {
            out.push_str(&self.heads[i]);
            for (label, v) in self.values(i) {
                let _ = match (label, f.labels.first()) {
                    (Some(l), Some(name)) => writeln!(out, "{}{{{name}=\"{l}\"}} {v}", f.name),
                    _ => writeln!(out, "{} {v}", f.name),
                };
            }
        }
    }
}
