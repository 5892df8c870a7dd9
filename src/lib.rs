//! migration-exporter: watches the `migration-progress` DynamoDB table that the migration workers
//! write, and turns it into Prometheus metrics (the `migration-exporter` daemon) and operator
//! views (the `migration-monitor` CLI).
//!
//! Three layers and two front ends; each imports only from layers below it:
//! - [`model`]: the record as typed values (status, timestamps, keys, invalid reasons). No I/O.
//! - `table`: everything that talks to DynamoDB: the table handle and its paged reads, item
//!   decoding, the status-index check, typed errors, client construction, read metering and
//!   pacing. Knows nothing of the layers above.
//! - `state`: what is known of the table between reads: per-space state, the refresh tracker
//!   (full scans and incremental reads of the status index), and the immutable snapshot.
//! - [`exporter`]: the daemon: refresh loop, published store and health, `/metrics` collector,
//!   HTTP server, its flags.
//! - [`monitor`]: the CLI: runner, views, text and JSON rendering, its flags.
//!
//! [`flags`] holds the flag groups both front ends share, [`logging`] the log setup, `format`
//! the number formatting both front ends print. The layers
//! below the front ends are public only with the `testing` feature, which tests, examples and
//! benches enable; so are the workers' writes and the generated sample migration.

pub mod exporter;
pub mod flags;
mod format;
pub mod logging;
pub mod monitor;

#[cfg(feature = "testing")]
pub mod model;
#[cfg(not(feature = "testing"))]
pub(crate) mod model;

#[cfg(feature = "testing")]
pub mod state;
#[cfg(not(feature = "testing"))]
pub(crate) mod state;

#[cfg(feature = "testing")]
pub mod table;
#[cfg(not(feature = "testing"))]
pub(crate) mod table;
