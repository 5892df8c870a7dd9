//! The HTTP side of the daemon (axum): `/metrics` (or the configured path) renders the latest
//! published snapshot without waiting on DynamoDB, `/` is a landing page, `/-/healthy` and
//! `/-/ready` answer probes. Shutdown is a future passed in; in-flight requests finish.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::collector::MetricsRenderer;
use crate::snapshot::SnapshotStore;

/// What the handlers read.
#[derive(Clone)]
pub struct AppState {
    pub renderer: Arc<MetricsRenderer>,
    pub store: Arc<SnapshotStore>,
    pub telemetry_path: String,
    pub table: String,
}

/// The routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(landing))
        .route(&state.telemetry_path, get(metrics))
        .route("/-/healthy", get(healthy))
        .route("/-/ready", get(ready))
        .with_state(state)
}

/// Serves on `web`'s listeners until `shutdown` completes, then lets in-flight requests finish
/// (within the web shutdown timeout).
pub async fn serve(
    web: crate::web::WebServer,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), crate::web::WebError> {
    web.serve(router(state), shutdown).await
}

async fn metrics(State(state): State<AppState>) -> Response {
    let body = state.renderer.render();
    (
        [(header::CONTENT_TYPE, state.renderer.content_type())],
        body,
    )
        .into_response()
}

async fn healthy() -> &'static str {
    "Healthy.\n"
}

async fn ready(State(state): State<AppState>) -> Response {
    if state.store.is_ready() {
        (StatusCode::OK, "Ready.\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Not ready: no successful refresh of the table yet.\n",
        )
            .into_response()
    }
}

async fn landing(State(state): State<AppState>) -> Html<String> {
    let published = state.store.load();
    let status = match (&published.snapshot, published.health.last_refresh_ok) {
        (None, _) => "waiting for the first successful read of the table".to_owned(),
        (Some(s), ok) => format!(
            "{} spaces as of {}{}",
            s.items,
            s.taken_at.to_iso(),
            if ok {
                ""
            } else {
                " (the latest refresh failed: this data is stale)"
            }
        ),
    };
    let path = escape(&state.telemetry_path);
    Html(format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>migration-exporter</title></head>\n<body>\n<h1>migration-exporter {version}</h1>\n<p>Prometheus exporter for DynamoDB table <code>{table}</code>: {status}.</p>\n<ul>\n<li><a href=\"{path}\">Metrics</a></li>\n<li><a href=\"/-/healthy\">Health</a></li>\n<li><a href=\"/-/ready\">Readiness</a></li>\n</ul>\n</body></html>\n",
        version = env!("CARGO_PKG_VERSION"),
        table = escape(&state.table),
        status = escape(&status),
    ))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
