//! The `migration-exporter` front end: wires the table handle, the refresh loop, the collector
//! and the HTTP server together, all stopped by one shutdown future. [`flags`] are its flags,
//! [`refresh`] the loop that keeps the [`store`] fresh (with a short [`history`] for rates;
//! [`classes_reload`] re-reads the classes file before each refresh),
//! [`collector`] renders `/metrics` and [`page`] caches it per published state (its gzip form
//! built by [`gzip`], the coding chosen by [`accept_encoding`]), [`status_page`] the status page
//! and `/api/status` (its pictures drawn by [`svg`] on the geometry of [`charts`]), [`http`]
//! holds the routes and [`web`] serves them (the web configuration file, TLS, auth and the limits
//! that keep hostile clients from stopping a scrape). If the refresh loop ever ends on its own
//! (a panic), the daemon stops and
//! returns an error so that its supervisor restarts it, rather than serving an ever older
//! snapshot.

mod accept_encoding;
mod charts;
mod classes_reload;
mod collector;
mod exposition;
mod families;
mod flags;
mod gzip;
mod http;
mod http_section;
mod page;
mod refresh;
pub mod status_page;
mod store;
mod svg;

use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use collector::MigrationCollector;
pub use flags::{Config, ExporterFlags};
use http::AppState;
use migration_core::table::ProgressTable;
use migration_core::table::client::{self, ClientError};
use page::MetricsRenderer;
use refresh::Refresher;
use store::SnapshotStore;

/// Why the daemon could not run, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Serve(#[from] exporter_web::WebError),
    #[error(
        "the refresh loop stopped unexpectedly ({0}); exiting so that a supervisor restarts the exporter"
    )]
    RefreshLoopEnded(String),
}

/// Binds every listen address, then runs the exporter until `shutdown` completes.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DaemonError> {
    // Bound first: an address in use is an error at once, before any read of DynamoDB.
    let server = exporter_web::WebServer::bind(config.web.clone())?;
    let client = client::connect(&config.dynamo).await?;
    let table = ProgressTable::new(client, &config.dynamo.table, &config.dynamo.status_index)
        .with_read_budget(config.dynamo.max_read_units_per_second);
    let store = Arc::new(SnapshotStore::new());
    // One settings value, shared by the refresh loop, the collector and the status page.
    let settings = Arc::new(config.refresh.clone());
    let collector = MigrationCollector::new(
        store.clone(),
        table.meter().clone(),
        table.name(),
        settings.clone(),
        server.stats(),
    );
    let state = AppState {
        renderer: Arc::new(MetricsRenderer::new(collector)),
        store: store.clone(),
        telemetry_path: config.telemetry_path.clone(),
        table: config.dynamo.table.clone(),
        settings: settings.clone(),
    };
    let stop = CancellationToken::new();
    let refresher = Refresher::new(
        table,
        settings,
        store,
        config.rules.clone(),
        config.classes_file.clone(),
    );
    let refresh_task = tokio::spawn(refresher.run(stop.clone()));
    let router = http::router(state);
    supervise(refresh_task, stop, shutdown, |until| {
        server.serve(router, until)
    })
    .await
}

/// Serves (through `serve`, given the future that ends serving) until `shutdown` or until the
/// refresh task ends by itself, whichever comes first; then stops the refresh task.
async fn supervise<S, F>(
    mut refresh_task: JoinHandle<()>,
    stop: CancellationToken,
    shutdown: impl Future<Output = ()> + Send + 'static,
    serve: S,
) -> Result<(), DaemonError>
where
    S: FnOnce(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) -> F,
    F: Future<Output = Result<(), exporter_web::WebError>>,
{
    let ended = CancellationToken::new();
    let until = {
        let ended = ended.clone();
        Box::pin(async move {
            tokio::select! {
                () = shutdown => tracing::info!("shutting down"),
                () = ended.cancelled() => {}
            }
        })
    };
    let served = {
        let serving = serve(until);
        tokio::pin!(serving);
        tokio::select! {
            served = &mut serving => served,
            joined = &mut refresh_task => {
                let why = match joined {
                    Ok(()) => "it returned".to_owned(),
                    Err(e) => e.to_string(),
                };
                tracing::error!(error = %why, "refresh loop stopped unexpectedly; exiting");
                ended.cancel();
                // Let in-flight responses finish before reporting.
                let _ = serving.await;
                return Err(DaemonError::RefreshLoopEnded(why));
            }
        }
    };
    stop.cancel();
    let _ = refresh_task.await;
    Ok(served?)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn serve_forever(until: impl Future<Output = ()>) -> Result<(), exporter_web::WebError> {
        until.await;
        Ok(())
    }

    #[tokio::test]
    async fn a_panicking_refresh_loop_stops_the_daemon_with_an_error() {
        let refresh = tokio::spawn(async { panic!("boom") });
        let outcome = tokio::time::timeout(
            Duration::from_secs(5),
            supervise(
                refresh,
                CancellationToken::new(),
                std::future::pending(),
                serve_forever,
            ),
        )
        .await
        .expect("the daemon stops instead of serving a frozen snapshot");
        match outcome {
            Err(DaemonError::RefreshLoopEnded(why)) => assert!(why.contains("panic"), "{why}"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn shutdown_stops_serving_and_the_refresh_loop() {
        let stop = CancellationToken::new();
        let refresh = tokio::spawn({
            let stop = stop.clone();
            async move { stop.cancelled().await }
        });
        let outcome = tokio::time::timeout(
            Duration::from_secs(5),
            supervise(refresh, stop.clone(), async {}, serve_forever),
        )
        .await
        .expect("shutdown completes");
        assert!(outcome.is_ok(), "{outcome:?}");
        assert!(stop.is_cancelled());
    }
}
