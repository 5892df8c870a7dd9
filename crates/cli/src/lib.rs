//! migration-cli: what the two front ends (`migration-exporter`, `migration-monitor`) share on
//! the command line: the DynamoDB connection and read flags, the log flags and log setup
//! ([`logging`]), and the one-line usage error with exit code 2 ([`flags::parse_args`]).
//! Sits above the read path (it builds its client configuration) and below the front ends.

pub mod flags;
pub mod logging;
