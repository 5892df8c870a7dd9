//! The one integration-test binary (ripgrep's layout): a module per area, sharing [`harness`]
//! (DynamoDB Local, tables, the exporter and monitor binaries, HTTP, waiting) and its monitoring
//! stack (Prometheus, Alertmanager, a webhook sink). One binary links the crate once and starts
//! one DynamoDB Local for every test.

mod harness;

mod alerting_e2e;
mod alerts;
mod daemon;
mod daemon_faults;
mod daemon_truth;
mod dashboards;
mod deploy;
mod exposition;
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
mod status_page;
mod table_ops;
mod web;
