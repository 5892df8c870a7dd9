//! The exporter's routes (axum): `/metrics` (or the configured path) renders the latest
//! published snapshot without waiting on DynamoDB, `/` is the status page and `/api/status` its
//! JSON (both from the same published snapshot), `/-/healthy` and `/-/ready` answer probes.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http_body::{Frame, SizeHint};

use super::collector::MetricsRenderer;
use super::status_page::{self, StatusReport};
use super::store::SnapshotStore;
use migration_core::model::Timestamp;
use migration_core::state::tracker::RefreshSettings;

/// What the handlers read.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) renderer: Arc<MetricsRenderer>,
    pub(crate) store: Arc<SnapshotStore>,
    pub(crate) telemetry_path: String,
    pub(crate) table: String,
    /// The refresh settings; the status page reloads itself every refresh interval.
    pub(crate) settings: Arc<RefreshSettings>,
}

/// The routes.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(status_page))
        .route("/api/status", get(status_api))
        .route(&state.telemetry_path, get(metrics))
        .route("/-/healthy", get(healthy))
        .route("/-/ready", get(ready))
        .with_state(state)
}

async fn metrics(State(state): State<AppState>) -> Response {
    let body = Chunks(state.renderer.render().into());
    (
        [(header::CONTENT_TYPE, state.renderer.content_type())],
        axum::body::Body::new(body),
    )
        .into_response()
}

/// A body of chunks already in memory (the cached page, then the HTTP lines), sent without
/// copying them together; its exact length still gives a `Content-Length`.
struct Chunks(VecDeque<Bytes>);

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.iter().map(|b| b.len() as u64).sum())
    }
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

async fn status_page(State(state): State<AppState>) -> Html<String> {
    let report = StatusReport::new(&state.store.load(), &state.table, Timestamp::now());
    Html(status_page::render_html(
        &report,
        &state.telemetry_path,
        state.settings.interval,
    ))
}

async fn status_api(State(state): State<AppState>) -> Json<StatusReport> {
    Json(StatusReport::new(
        &state.store.load(),
        &state.table,
        Timestamp::now(),
    ))
}
