//! Wires the exporter together: client, table, refresh loop, collector and HTTP server, all
//! stopped by one shutdown future. The binary only parses flags and calls [`run`].

use std::future::Future;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::client;
use crate::collector::{MetricsRenderer, MigrationCollector};
use crate::config::Config;
use crate::refresh::Refresher;
use crate::server::{self, AppState};
use crate::snapshot::SnapshotStore;
use crate::table::ProgressTable;

/// Why the daemon could not run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Client(#[from] client::ClientError),
    #[error("HTTP server failed: {0}")]
    Serve(#[from] crate::web::WebError),
}

/// Runs the exporter on `web`'s listeners until `shutdown` completes.
pub async fn run(
    config: Config,
    web: crate::web::WebServer,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DaemonError> {
    let client = client::connect(&config.dynamo).await?;
    let table = ProgressTable::new(client, &config.dynamo.table, &config.dynamo.status_index)
        .with_read_budget(config.dynamo.max_read_units_per_second);
    let store = Arc::new(SnapshotStore::new());
    let collector = MigrationCollector::new(
        store.clone(),
        table.meter().clone(),
        table.name(),
        config.refresh.interval,
    );
    let state = AppState {
        renderer: Arc::new(MetricsRenderer::new(collector)),
        store: store.clone(),
        telemetry_path: config.telemetry_path.clone(),
        table: config.dynamo.table.clone(),
    };

    let stop = CancellationToken::new();
    let refresher = Refresher::new(table, config.refresh.clone(), store);
    let refresh_task = tokio::spawn(refresher.run(stop.clone()));

    let stop_server = stop.clone();
    let served = server::serve(web, state, async move {
        tokio::select! {
            () = shutdown => {}
            () = stop_server.cancelled() => {}
        }
        tracing::info!("shutting down");
    })
    .await;
    stop.cancel();
    let _ = refresh_task.await;
    served.map_err(DaemonError::from)
}
