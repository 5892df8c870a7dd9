//! exporter-web: the web side of a Prometheus exporter, equal to Go's exporter-toolkit, for any
//! Rust exporter built on axum. It imports no other crate of this workspace.
//!
//! - The `--web.*` flags ([`WebFlags`], flatten them into a clap parser) and their conversion
//!   into [`WebSettings`] (or build [`WebSettings::plain`] yourself), with value parsers in
//!   [`flags`] that refuse a bad value while parsing.
//! - The exporter-toolkit web configuration file (TLS with client certificates and allowed SANs,
//!   basic auth with bcrypt, headers, rate limit, HTTP/2), checked at start with one line naming
//!   the key ([`ConfigError`]) and re-read when it changes; a bad new file keeps the old one.
//! - A server that survives hostile clients as Go's does: every connection accepted (up to a bound
//!   from the file-descriptor limit, where the least recently active idle one makes room), heads
//!   and idleness timed per connection, requests in flight limited (503 with `Retry-After`), head
//!   and body sizes bounded, gzip (left to a handler that marks its response [`ContentCoded`]),
//!   several listen addresses (IPv4 and IPv6), a bounded graceful shutdown, and its own counts ([`HttpStats`]) for the exporter to expose.
//!
//! Another exporter uses it in three lines: parse its flags with `#[command(flatten)] web:
//! WebFlags`, call [`WebFlags::to_settings`] (exit 2 with the error's one line on failure), then
//! `WebServer::bind(settings)?.serve(router, shutdown).await` with its axum [`Router`] and a
//! future that completes on SIGTERM. Binding is separate from serving so that an address in use
//! fails before the exporter does anything else.
//!
//! ```no_run
//! # async fn demo() -> Result<(), exporter_web::WebError> {
//! use exporter_web::{WebServer, WebSettings};
//! let router = axum::Router::new().route("/metrics", axum::routing::get(|| async { "up 1\n" }));
//! let settings = WebSettings::plain(vec!["127.0.0.1:9999".parse().unwrap()]);
//! WebServer::bind(settings)?.serve(router, std::future::pending()).await
//! # }
//! ```
//!
//! [`Router`]: axum::Router

mod activity;
mod client_auth;
mod config;
mod connection;
/// For fuzz properties (this crate's and other exporters'): the CPU time of the calling thread.
#[doc(hidden)]
pub mod cpu_time;
mod error;
mod fd_limit;
pub mod flags;
mod guard;
mod in_flight;
mod registry;
mod reload;
mod server;
mod stats;
mod tls;
mod tls_suites;

use std::future::Future;
use std::path::Path;

pub use error::{ConfigError, escape_breaks};
pub use flags::{WebFlagError, WebFlags, WebSettings};
pub use server::{ContentCoded, WebError, WebServer};
pub use stats::{CloseReason, HttpStats};

/// Binds every listen address of `settings` and serves `router` until `shutdown` completes.
pub async fn serve(
    router: axum::Router,
    settings: WebSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WebError> {
    WebServer::bind(settings)?.serve(router, shutdown).await
}

/// Reads and checks a web configuration file as the server would at start (certificates loaded,
/// hashes parsed); the error is one line naming the key.
pub fn check_config_file(path: &Path) -> Result<(), ConfigError> {
    config::load(path).map(|_| ())
}
