//! migration-core: the read path of the `migration-progress` table, from the items DynamoDB
//! returns to the figures a person reads. No front end, no HTTP, no writes.
//!
//! Layers, each importing only from those above it in this list:
//! - [`model`]: the record as typed values (status, timestamps, keys, invalid reasons). No I/O.
//! - [`failure`]: error classes: the masking normaliser, the classes file and the classifier.
//!   No I/O but reading the classes file.
//! - [`table`]: the table handle and its paged reads, item decoding, the status-index check,
//!   typed errors, client construction, read metering and pacing.
//! - [`state`]: what is known of the table between reads: per-space state, the refresh tracker
//!   (full scans and incremental reads of the status index), the immutable snapshot, and a short
//!   history of snapshots for rates.
//! - [`report`]: the report model: every figure a person reads (counts, progress, roll-ups, rate
//!   and ETA, stuck and failed lists), computed once from a snapshot and its history; the front
//!   ends only format it. [`format`] holds the number and duration formatting they share.

pub mod failure;
pub mod format;
pub mod model;
pub mod report;
pub mod state;
pub mod table;

#[cfg(test)]
mod proptest_cases;
