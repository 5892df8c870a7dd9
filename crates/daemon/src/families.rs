//! Every metric family the exporter exposes, declared once: name, help, type, labels and where
//! its values come from. The collector fills them; nothing else names a metric.

/// A family's Prometheus type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Gauge,
    Counter,
    Histogram,
}

/// Where a family's values come from, which decides its HELP suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The table, through the snapshot: HELP says which table and how often it is read.
    Table,
    /// The exporter itself.
    Exporter,
}

/// One metric family, declared once.
#[derive(Debug)]
pub(crate) struct Family {
    pub(crate) name: &'static str,
    pub(crate) help: &'static str,
    pub(crate) kind: Kind,
    pub(crate) labels: &'static [&'static str],
    pub(crate) origin: Origin,
}

const BY_STATUS: &[&str] = &["status", "instance_id", "worker_id"];
const BY_WORKER: &[&str] = &["instance_id", "worker_id"];

const fn table(name: &'static str, labels: &'static [&'static str], help: &'static str) -> Family {
    Family {
        name,
        help,
        kind: Kind::Gauge,
        labels,
        origin: Origin::Table,
    }
}

const fn own(
    name: &'static str,
    kind: Kind,
    labels: &'static [&'static str],
    help: &'static str,
) -> Family {
    Family {
        name,
        help,
        kind,
        labels,
        origin: Origin::Exporter,
    }
}

/// `{stuck_after}` in a HELP text is replaced by the configured threshold.
pub(crate) const STUCK_AFTER: &str = "{stuck_after}";

pub(crate) const SPACES: Family =
    table("migration_spaces", BY_STATUS, "Spaces by migration status.");
pub(crate) const UPLOADS: Family = table(
    "migration_uploads",
    BY_STATUS,
    "Uploads (sum of totalUploads) of the spaces in each status.",
);
pub(crate) const UPLOADS_COMPLETED: Family = table(
    "migration_uploads_completed",
    BY_STATUS,
    "Uploads migrated (sum of completedUploads) of the spaces in each status.",
);
pub(crate) const SPACES_STUCK: Family = table(
    "migration_spaces_stuck",
    BY_WORKER,
    "In-progress spaces whose updatedAt was older than {stuck_after} when read.",
);
pub(crate) const OLDEST_UPDATE: Family = table(
    "migration_in_progress_oldest_update_timestamp_seconds",
    BY_WORKER,
    "Oldest updatedAt among in-progress spaces, in seconds since the epoch; staleness is time() minus this.",
);
pub(crate) const STUCK_SPACE_INFO: Family = table(
    "migration_stuck_space_info",
    &["space", "instance_id", "worker_id"],
    "A stuck space (oldest first, capped by --metrics.max-space-series); the value is its updatedAt in seconds since the epoch.",
);
pub(crate) const LAST_UPDATE: Family = table(
    "migration_worker_last_update_timestamp_seconds",
    BY_WORKER,
    "Newest updatedAt among all the worker's spaces, whatever their status, in seconds since the epoch: when it last wrote anything.",
);
pub(crate) const FAILED_SPACE_INFO: Family = table(
    "migration_failed_space_info",
    &[
        "space",
        "instance_id",
        "worker_id",
        "error_class",
        "retryable",
    ],
    "A failed space (most recently failed first, capped by --metrics.max-failed-space-series) with the class of its error and whether a retry can help (true, false, unknown); the value is its updatedAt, when it failed, in seconds since the epoch. Read its error with migration-monitor --failed.",
);
pub(crate) const FAILED_BY_CLASS: Family = table(
    "migration_failed_spaces_by_class",
    &["error_class", "retryable"],
    "Failed spaces by the class of their error and whether a retry can help (true, false, unknown): the --metrics.max-error-classes classes with the most, the rest summed in error_class=\"other\"; the sum is every failed space.",
);
pub(crate) const SPACE_DURATION: Family = Family {
    name: "migration_space_duration_seconds",
    help: "How long completed spaces took, from createdAt to the completing updatedAt (each rounded up to the second), by instance: the whole table now, not a rate; spaces leave it when retried or deleted.",
    kind: Kind::Histogram,
    labels: &["instance_id"],
    origin: Origin::Table,
};
pub(crate) const DURATION_UNMEASURED: Family = table(
    "migration_space_duration_unmeasured_spaces",
    &["instance_id", "reason"],
    "Completed spaces whose duration cannot be measured, by reason: missing_timestamp (no readable createdAt or updatedAt), completed_before_created (updatedAt before createdAt).",
);
pub(crate) const ERROR_CLASSES: Family = table(
    "migration_failed_error_classes",
    &[],
    "Distinct error classes among the failed spaces.",
);
pub(crate) const INVALID_SPACES: Family = table(
    "migration_invalid_spaces",
    &["reason"],
    "Spaces whose record has a missing, mistyped or absurd attribute, by reason (a space can have several).",
);
pub(crate) const BUILD_INFO: Family = own(
    "migration_exporter_build_info",
    Kind::Gauge,
    &["version"],
    "The exporter's version; always 1.",
);
pub(crate) const LAST_REFRESH_SUCCESS: Family = own(
    "migration_exporter_last_refresh_success",
    Kind::Gauge,
    &[],
    "Whether the most recent refresh succeeded (1) or failed (0, the previous snapshot is still served).",
);
pub(crate) const LAST_SUCCESS_TIMESTAMP: Family = own(
    "migration_exporter_last_refresh_success_timestamp_seconds",
    Kind::Gauge,
    &[],
    "When the last successful refresh finished, in seconds since the epoch (0 before the first).",
);
pub(crate) const REFRESH_DURATION: Family = own(
    "migration_exporter_refresh_duration_seconds",
    Kind::Gauge,
    &["kind"],
    "How long the last successful refresh of each kind took.",
);
pub(crate) const REFRESHES: Family = own(
    "migration_exporter_refreshes_total",
    Kind::Counter,
    &["kind"],
    "Successful refreshes, by kind.",
);
pub(crate) const ITEMS_READ: Family = own(
    "migration_exporter_items_read_total",
    Kind::Counter,
    &["kind"],
    "Items read from DynamoDB by refreshes, by kind.",
);
pub(crate) const READ_CAPACITY: Family = own(
    "migration_exporter_read_capacity_units_total",
    Kind::Counter,
    &["operation"],
    "DynamoDB read capacity units consumed, as reported by ReturnConsumedCapacity, by operation.",
);
pub(crate) const DYNAMODB_ERRORS: Family = own(
    "migration_exporter_dynamodb_errors_total",
    Kind::Counter,
    &["kind"],
    "DynamoDB attempts answered with a throttling error or a server error, by kind, including those the SDK retried successfully.",
);
pub(crate) const REFRESH_ERRORS: Family = own(
    "migration_exporter_refresh_errors_total",
    Kind::Counter,
    &["kind"],
    "Failed refreshes, by kind of error.",
);
pub(crate) const INVALID_ITEMS: Family = own(
    "migration_exporter_invalid_items_total",
    Kind::Counter,
    &["reason"],
    "Items read that had missing, mistyped or absurd attributes, by reason (an item can have several).",
);
pub(crate) const TRANSITIONS: Family = own(
    "migration_space_transitions_total",
    Kind::Counter,
    &["from", "to"],
    "Status changes of spaces this exporter observed between two reads of a space (first sightings and deletions are none; several changes between two reads count once, from the first status to the last).",
);
pub(crate) const STUCK_AFTER_SECONDS: Family = own(
    "migration_exporter_stuck_after_seconds",
    Kind::Gauge,
    &[],
    "The --stuck-after setting: in-progress spaces not updated for this long are stuck.",
);
pub(crate) const REFRESH_INTERVAL_SECONDS: Family = own(
    "migration_exporter_refresh_interval_seconds",
    Kind::Gauge,
    &[],
    "The --refresh.interval setting: time from the start of one refresh to the start of the next.",
);
pub(crate) const FULL_REFRESH_INTERVAL_SECONDS: Family = own(
    "migration_exporter_full_refresh_interval_seconds",
    Kind::Gauge,
    &[],
    "The --refresh.full-interval setting: time between full scans of the table.",
);
pub(crate) const DRIFT_ITEMS: Family = own(
    "migration_exporter_drift_items_total",
    Kind::Counter,
    &[],
    "Items a full scan found different from the state incremental refreshes kept (missed changes and deletions).",
);
pub(crate) const HTTP_CONNECTIONS_OPEN: Family = own(
    "migration_exporter_http_connections_open",
    Kind::Gauge,
    &[],
    "HTTP connections open now (idle, half-sent and serving).",
);
pub(crate) const HTTP_CONNECTIONS_MAX: Family = own(
    "migration_exporter_http_connections_max",
    Kind::Gauge,
    &[],
    "HTTP connections held at most (from the file-descriptor limit and --web.max-connections); at the bound the least recently active one with no request in flight is closed.",
);
pub(crate) const HTTP_CONNECTIONS_ACCEPTED: Family = own(
    "migration_exporter_http_connections_accepted_total",
    Kind::Counter,
    &[],
    "HTTP connections accepted.",
);
pub(crate) const HTTP_CONNECTIONS_CLOSED: Family = own(
    "migration_exporter_http_connections_closed_total",
    Kind::Counter,
    &["reason"],
    "HTTP connections closed, by reason: client, header_timeout (head or TLS handshake not sent within --web.read-header-timeout), idle (--web.idle-timeout), evicted (to make room at the bound), limit (refused: every connection busy), error, shutdown.",
);
pub(crate) const HTTP_REQUESTS_IN_FLIGHT: Family = own(
    "migration_exporter_http_requests_in_flight",
    Kind::Gauge,
    &[],
    "HTTP requests being answered now (response bodies included).",
);
pub(crate) const HTTP_REQUESTS_REJECTED: Family = own(
    "migration_exporter_http_requests_rejected_total",
    Kind::Counter,
    &[],
    "HTTP requests answered 503 because --web.max-requests were in flight for longer than the wait.",
);
pub(crate) const HTTP_TLS_HANDSHAKES_IN_FLIGHT: Family = own(
    "migration_exporter_http_tls_handshakes_in_flight",
    Kind::Gauge,
    &[],
    "TLS handshakes in progress now.",
);

/// Every family this exporter can expose, described once at start (and checked for duplicates
/// and naming by a test).
pub(crate) const FAMILIES: &[&Family] = &[
    &SPACES,
    &UPLOADS,
    &UPLOADS_COMPLETED,
    &SPACES_STUCK,
    &OLDEST_UPDATE,
    &STUCK_SPACE_INFO,
    &LAST_UPDATE,
    &FAILED_SPACE_INFO,
    &FAILED_BY_CLASS,
    &ERROR_CLASSES,
    &SPACE_DURATION,
    &DURATION_UNMEASURED,
    &INVALID_SPACES,
    &BUILD_INFO,
    &LAST_REFRESH_SUCCESS,
    &LAST_SUCCESS_TIMESTAMP,
    &REFRESH_DURATION,
    &REFRESHES,
    &ITEMS_READ,
    &READ_CAPACITY,
    &DYNAMODB_ERRORS,
    &REFRESH_ERRORS,
    &INVALID_ITEMS,
    &DRIFT_ITEMS,
    &TRANSITIONS,
    &STUCK_AFTER_SECONDS,
    &REFRESH_INTERVAL_SECONDS,
    &FULL_REFRESH_INTERVAL_SECONDS,
    &HTTP_CONNECTIONS_OPEN,
    &HTTP_CONNECTIONS_MAX,
    &HTTP_CONNECTIONS_ACCEPTED,
    &HTTP_CONNECTIONS_CLOSED,
    &HTTP_REQUESTS_IN_FLIGHT,
    &HTTP_REQUESTS_REJECTED,
    &HTTP_TLS_HANDSHAKES_IN_FLIGHT,
];
