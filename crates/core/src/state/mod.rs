//! The state layer: what the exporter knows of the table between reads. [`spaces`] keeps one
//! compact entry per space with per-worker totals, [`engine`] applies what a refresh read to
//! it, [`tracker`] reads the table for it (full scans and incremental reads of the status
//! index), and [`snapshot`] is the immutable result the front ends render. Imports the table
//! layer below it, nothing above.

pub mod engine;
pub mod history;
pub mod refresh;
pub mod snapshot;
pub mod spaces;
pub mod tracker;

#[cfg(test)]
mod model_check;
