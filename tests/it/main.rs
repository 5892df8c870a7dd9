//! The one integration-test binary (ripgrep's layout): a module per area, sharing [`harness`]
//! (DynamoDB Local, tables, the exporter and monitor binaries, HTTP, waiting) and its monitoring
//! stack (Prometheus, Alertmanager, a webhook sink). One binary links the crate once and starts
//! one DynamoDB Local for every test.

// A test reads as one scenario from setup to its last assertion: the 80-line limit is for the
// code outside tests (every crate, and the benches, still lint with it).
#![allow(clippy::too_many_lines)]

mod harness;

mod alerting_e2e;
mod alerts;
mod clock_skew;
mod daemon;
mod daemon_faults;
mod daemon_truth;
mod dashboards;
mod deploy;
mod env_fallbacks;
mod eta;
mod exposition;
mod failure_classes;
mod faults;
mod iam_actions;
mod iam_moto;
mod iam_moto_without;
mod incremental;
mod layers;
mod monitor;
mod monitor_errors;
mod replicas;
mod report;
mod simulation;
mod status_index;
mod status_page;
mod table_ops;
mod web;
