//! The in-process server the limit and shutdown tests run against: `exporter_web` serving a small
//! router (a plain answer, an echo, a large page, the same page marked as coded by its handler, a
//! slow streamed response) on loopback, and raw
//! HTTP/1 exchanges with it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use exporter_web::{self as web, WebServer, WebSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub(super) fn test_router() -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { "ok" }).post(|body: String| async move { body }),
        )
        .route("/big", get(|| async { "metric_line 1\n".repeat(10_000) }))
        .route(
            "/coded",
            get(|| async {
                let mut page = "metric_line 1\n".repeat(10_000).into_response();
                page.extensions_mut().insert(web::ContentCoded);
                page
            }),
        )
        .route(
            "/slow",
            get(|| async {
                // 20 chunks of 1 KiB, one every 100 ms: a 2 s response.
                let chunks = futures_util::stream::unfold(0u32, |i| async move {
                    if i == 20 {
                        return None;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Some((Ok::<_, std::io::Error>(vec![b'x'; 1024]), i + 1))
                });
                axum::body::Body::from_stream(chunks)
            }),
        )
}

pub(super) struct Running {
    pub(super) addrs: Vec<SocketAddr>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<Result<(), web::WebError>>,
}

impl Running {
    pub(super) fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }
    /// Triggers shutdown; returns how long `serve` took to return.
    pub(super) async fn shutdown(mut self) -> Duration {
        let started = Instant::now();
        let _ = self.stop.take().unwrap().send(());
        self.done.await.unwrap().unwrap();
        started.elapsed()
    }
}

pub(super) fn settings(tune: impl FnOnce(&mut WebSettings)) -> WebSettings {
    let mut s = WebSettings::plain(vec!["127.0.0.1:0".parse().unwrap()]);
    tune(&mut s);
    s
}

pub(super) fn run(settings: WebSettings) -> Running {
    let server = WebServer::bind(settings).unwrap();
    let addrs = server.local_addrs();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(server.serve(test_router(), async move {
        let _ = rx.await;
    }));
    Running {
        addrs,
        stop: Some(tx),
        done,
    }
}

/// Sends `raw` and reads until the server closes (or `within`): the bytes read.
pub(super) async fn exchange(addr: SocketAddr, raw: &[u8], within: Duration) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(raw).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(within, s.read_to_end(&mut out)).await;
    out
}

pub(super) fn status(raw: &[u8]) -> u16 {
    String::from_utf8_lossy(raw)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

pub(super) const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

/// Reads one `ok` response from a keep-alive connection.
pub(super) async fn keep_alive_get(s: &mut TcpStream, within: Duration) -> bool {
    if s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .is_err()
    {
        return false;
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let read = async {
        while !got.ends_with(b"\r\n\r\nok") {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        true
    };
    tokio::time::timeout(within, read).await.unwrap_or(false)
}
