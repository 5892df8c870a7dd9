//! Re-reading the web configuration file: every `--web.config.reload-interval`, a file (or a file
//! it names) that changed is loaded again and applied to new connections and requests; one that
//! does not load keeps the previous configuration and logs one error line. A file is loaded every
//! interval but its warnings are logged only when it is applied, once per change.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::{self, LoadedConfig};
use crate::guard::Live;
use crate::tls;

/// What a reload may not change: whether TLS is on, and HTTP/2 (both fixed at start).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReloadMode {
    pub tls_mode: bool,
    pub http2: bool,
}

/// Re-reads the configuration file every `every`; applies a changed one that loads, keeps the old
/// one and logs one error line for one that does not.
pub(crate) async fn reload_loop(
    path: std::path::PathBuf,
    every: Duration,
    live: Arc<Live>,
    mode: ReloadMode,
    stop: CancellationToken,
) {
    let mut last_error: Option<String> = None;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let p = path.clone();
        let loaded = tokio::task::spawn_blocking(move || config::load_quiet(&p)).await;
        let outcome = match loaded {
            Err(e) => Err(format!("reload task failed: {e}")),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok(new)) => mode.accept(new, &live.config.load()),
        };
        match outcome {
            Ok(None) => last_error = None,
            Ok(Some(new)) => {
                new.log_warnings(&path);
                live.config.store(Arc::new(new));
                last_error = None;
                tracing::info!(file = %path.display(), "web configuration reloaded");
            }
            Err(e) => {
                if last_error.as_deref() != Some(e.as_str()) {
                    tracing::error!(file = %path.display(), error = %e, "web configuration not reloaded; keeping the previous one");
                    last_error = Some(e);
                }
            }
        }
    }
}

impl ReloadMode {
    /// `None` when `new` is what is in force; the file to apply; or why it cannot be.
    fn accept(
        self,
        mut new: LoadedConfig,
        current: &LoadedConfig,
    ) -> Result<Option<LoadedConfig>, String> {
        if new.fingerprint == current.fingerprint {
            return Ok(None);
        }
        if new.tls.is_some() != self.tls_mode {
            return Err(format!(
                "the new file turns TLS {}: that needs a restart",
                if self.tls_mode { "off" } else { "on" }
            ));
        }
        if new.http2 != self.http2 {
            tracing::warn!("http_server_config.http2 changed: applies at the next restart");
        }
        if let Some(tls) = new.tls.as_mut().and_then(Arc::get_mut) {
            tls.alpn_protocols = tls::alpn(self.http2);
        }
        new.http2 = self.http2;
        Ok(Some(new))
    }
}
