//! The HTTP side of an exporter, self-contained (it uses no other module of this crate): the
//! `--web.*` flags ([`WebFlags`] → [`WebSettings`]), the exporter-toolkit web configuration file
//! (TLS, basic auth, headers, rate limit, HTTP/2; re-read when it changes) and a server that
//! survives hostile clients (read-header timeout, connection and size limits, bounded shutdown,
//! gzip). Give [`serve`] (or [`WebServer::bind`] then [`WebServer::serve`]) an axum [`Router`].
//!
//! [`Router`]: axum::Router

mod config;
mod flags;
mod guard;
mod server;
mod tls;

#[cfg(feature = "testing")]
pub use config::ConfigError;
#[cfg(feature = "testing")]
pub use flags::WebFlagError;
pub use flags::{WebFlags, WebSettings};
pub use server::{WebError, WebServer};

#[cfg(feature = "testing")]
use std::future::Future;
#[cfg(feature = "testing")]
use std::path::Path;

/// Binds every listen address of `settings` and serves `router` until `shutdown` completes.
#[cfg(feature = "testing")]
pub async fn serve(
    router: axum::Router,
    settings: WebSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WebError> {
    WebServer::bind(settings)?.serve(router, shutdown).await
}

/// Reads and checks a web configuration file as the server would at start (certificates loaded,
/// hashes parsed); the error is one line naming the key.
#[cfg(feature = "testing")]
pub fn check_config_file(path: &Path) -> Result<(), ConfigError> {
    config::load(path).map(|_| ())
}
