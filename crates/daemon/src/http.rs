//! The exporter's routes (axum): `/metrics` (or the configured path) renders the latest
//! published snapshot without waiting on DynamoDB, gzipped from the page's cache when the client
//! accepts it (the handler chooses the coding, the server's gzip layer leaves it alone), `/` is the status page and `/api/status` its
//! JSON (both from the same published snapshot), `/-/healthy` and `/-/ready` answer probes.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http_body::{Frame, SizeHint};

use super::accept_encoding::negotiate;
use super::page::{Coding, MetricsRenderer};
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

/// The page in the coding the client asked for, with an exact `Content-Length` (kept for `HEAD`,
/// whose body axum drops) and `Vary: Accept-Encoding` in both codings.
async fn metrics(State(state): State<AppState>, request: HeaderMap) -> Response {
    let (coding, chunks) = state.renderer.render(negotiate(&request));
    let mut response = (
        [
            (header::CONTENT_TYPE, state.renderer.content_type()),
            (header::VARY, header::ACCEPT_ENCODING.as_str().to_owned()),
        ],
        axum::body::Body::new(Chunks(chunks.into())),
    )
        .into_response();
    if coding == Coding::Gzip {
        let gzip = HeaderValue::from_static("gzip");
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, gzip);
    }
    response.extensions_mut().insert(exporter_web::ContentCoded);
    response
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

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::{Method, Request};
    use exporter_web::HttpStats;
    use flate2::read::GzDecoder;
    use tower::ServiceExt;

    use super::*;
    use crate::collector::MigrationCollector;
    use migration_core::table::meter::ReadMeter;

    fn state() -> AppState {
        let store = Arc::new(SnapshotStore::new());
        let settings = Arc::new(RefreshSettings::full_only(Duration::from_secs(3600), 1));
        let collector = MigrationCollector::new(
            store.clone(),
            Arc::new(ReadMeter::default()),
            "t",
            settings.clone(),
            Arc::new(HttpStats::default()),
        );
        AppState {
            renderer: Arc::new(MetricsRenderer::new(collector)),
            store,
            telemetry_path: "/metrics".to_owned(),
            table: "t".to_owned(),
            settings,
        }
    }

    /// The status, the named response headers (absent: ""), and the body.
    async fn scrape(method: Method, accept: Option<&str>) -> (u16, [String; 3], Vec<u8>) {
        let mut request = Request::builder().method(method).uri("/metrics");
        if let Some(a) = accept {
            request = request.header(header::ACCEPT_ENCODING, a);
        }
        let response = router(state())
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let headers = response.headers();
        let get = |name| {
            headers
                .get(name)
                .map_or(String::new(), |v| v.to_str().unwrap().to_owned())
        };
        let named = [
            get(header::CONTENT_ENCODING),
            get(header::CONTENT_LENGTH),
            get(header::VARY),
        ];
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, named, body.to_vec())
    }

    #[tokio::test]
    async fn gzip_is_declared_with_its_exact_length_and_decodes_to_the_plain_page() {
        let (status, [coding, length, vary], gz) = scrape(Method::GET, Some("gzip")).await;
        assert_eq!((status, coding.as_str()), (200, "gzip"));
        assert_eq!(length, gz.len().to_string());
        assert_eq!(vary.to_ascii_lowercase(), "accept-encoding");
        let (_, [coding, length, vary], plain) = scrape(Method::GET, None).await;
        assert_eq!(coding, "");
        assert_eq!(length, plain.len().to_string());
        assert_eq!(vary.to_ascii_lowercase(), "accept-encoding");
        let mut decoded = Vec::new();
        GzDecoder::new(gz.as_slice())
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, plain);
    }

    #[tokio::test]
    async fn a_zero_weight_for_gzip_gets_identity() {
        let (_, [coding, _, _], body) = scrape(Method::GET, Some("gzip;q=0, identity")).await;
        assert_eq!(coding, "");
        assert!(body.starts_with(b"# HELP "), "{:?}", &body[..16]);
    }

    #[tokio::test]
    async fn head_declares_what_get_would_send_without_a_body() {
        for accept in [Some("gzip"), None] {
            let (status, head, body) = scrape(Method::HEAD, accept).await;
            let (_, get, get_body) = scrape(Method::GET, accept).await;
            assert_eq!(status, 200);
            assert!(body.is_empty(), "{accept:?}");
            assert_eq!(head, get, "{accept:?}");
            assert_eq!(head[1], get_body.len().to_string(), "{accept:?}");
        }
    }
}
