//! migration-exporter: watches the `migration-progress` DynamoDB table that the migration workers
//! write, and turns it into Prometheus metrics (daemon) and operator views (CLI).
//!
//! Data flows one way: [`table`] reads items, [`item`] decodes them into [`model`] records,
//! [`aggregate`] folds them into a [`snapshot`], and renderers ([`collector`] for `/metrics`) read
//! the snapshot. [`refresh`] runs the reads in the background; [`server`] and [`daemon`] serve.

pub mod aggregate;
pub mod budget;
pub mod client;
pub mod collector;
pub mod config;
pub mod daemon;
pub mod error;
pub mod interceptor;
pub mod item;
pub mod logging;
pub mod meter;
pub mod model;
pub mod monitor;
pub mod refresh;
pub mod sample;
pub mod server;
pub mod snapshot;
pub mod state;
pub mod table;
pub mod views;
pub mod web;

pub use error::{ErrorKind, TableError};
pub use model::{SpaceKey, SpaceProgress, Status, Timestamp};
