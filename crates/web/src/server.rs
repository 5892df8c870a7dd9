//! Listening and serving: binds every listen address (IPv6 sockets IPv6-only, so `[::]` and
//! `0.0.0.0` can share a port), builds the layers every request passes (guard, body limit, gzip
//! unless the handler chose the coding: [`ContentCoded`]),
//! starts the accept loops ([`crate::connection`]) and the reload of the web configuration file
//! ([`crate::reload`]), and on shutdown stops accepting, lets open requests finish and closes
//! whatever is left after the shutdown timeout.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::util::BoxCloneSyncService;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate};
use tower_http::limit::RequestBodyLimitLayer;

use crate::activity::Timeouts;
use crate::config;
use crate::connection::{App, Protocols, Shared, accept_loop};
use crate::fd_limit;
use crate::flags::WebSettings;
use crate::guard::{self, Live};
use crate::in_flight::RequestLimit;
use crate::registry::Registry;
use crate::reload::{self, ReloadMode};
use crate::stats::HttpStats;

/// Why the HTTP side could not run.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("no --web.listen-address to listen on")]
    NoAddress,
}

/// Put in a response's extensions by a handler that chose the response's content coding itself
/// from the request's `Accept-Encoding` (identity included, with its `Vary`): the server's gzip
/// layer then leaves the response as it is, instead of compressing it again at every request.
#[derive(Debug, Clone, Copy, Default)]
pub struct ContentCoded;

/// The gzip layer's condition: what it compresses by default, unless [`ContentCoded`].
#[derive(Debug, Clone, Copy)]
struct NotContentCoded;

impl Predicate for NotContentCoded {
    fn should_compress<B: http_body::Body>(&self, response: &axum::http::Response<B>) -> bool {
        response.extensions().get::<ContentCoded>().is_none()
    }
}

/// Bound listeners, ready to serve.
pub struct WebServer {
    listeners: Vec<(SocketAddr, TcpListener)>,
    settings: WebSettings,
    /// Connections accepted at most at once.
    bound: usize,
    stats: Arc<HttpStats>,
}

fn bind_one(address: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    if address.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

impl WebServer {
    /// Binds every listen address and logs one `listening` line for each. Needs a tokio runtime.
    pub fn bind(settings: WebSettings) -> Result<WebServer, WebError> {
        if settings.listen_addresses.is_empty() {
            return Err(WebError::NoAddress);
        }
        let mut listeners = Vec::new();
        for &address in &settings.listen_addresses {
            let listener =
                bind_one(address).map_err(|source| WebError::Bind { address, source })?;
            let local = listener
                .local_addr()
                .map_err(|source| WebError::Bind { address, source })?;
            listeners.push((local, listener));
        }
        for (local, _) in &listeners {
            tracing::info!(
                address = %local,
                tls = settings.tls(),
                config_file = settings
                    .config_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                "listening"
            );
        }
        let bound = connection_bound(&settings);
        let stats = Arc::new(HttpStats::default());
        stats.set_bound(bound);
        Ok(WebServer {
            listeners,
            settings,
            bound,
            stats,
        })
    }

    /// The server's own counts (connections, requests in flight, closes by reason), for an
    /// exporter to expose; they move once [`WebServer::serve`] runs.
    pub fn stats(&self) -> Arc<HttpStats> {
        self.stats.clone()
    }

    /// The bound addresses (the real port where 0 was asked for).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners.iter().map(|(a, _)| *a).collect()
    }

    /// Serves `router` until `shutdown` completes, then drains within the shutdown timeout.
    pub async fn serve(
        self,
        router: Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), WebError> {
        let settings = self.settings;
        let initial = match settings.initial.clone() {
            Some(c) => c,
            None => config::parse(b"", Path::new(".")).map_err(|_| WebError::NoAddress)?,
        };
        let (tls_mode, http2) = (initial.tls.is_some(), initial.http2);
        let live = Arc::new(Live::new(initial));
        let shared = Arc::new(Shared {
            live: live.clone(),
            app: app_stack(router, &live, &settings),
            protocols: Protocols::new(&settings),
            tls_mode,
            timeouts: Timeouts {
                read_header: settings.read_header_timeout,
                idle: settings.idle_timeout,
            },
            registry: Arc::new(Registry::new(
                self.bound,
                settings.max_tls_handshakes,
                self.stats.clone(),
            )),
            limit: RequestLimit::new(settings.max_requests, self.stats.clone()),
            stats: self.stats.clone(),
            graceful: CancellationToken::new(),
            force: CancellationToken::new(),
            tracker: TaskTracker::new(),
        });
        for (_, listener) in self.listeners {
            shared.tracker.spawn(accept_loop(listener, shared.clone()));
        }
        let reload = settings.config_file.clone().map(|path| {
            tokio::spawn(reload::reload_loop(
                path,
                settings.config_reload_interval,
                live,
                ReloadMode { tls_mode, http2 },
                shared.graceful.clone(),
            ))
        });
        shutdown.await;
        drain(&shared, settings.shutdown_timeout).await;
        if let Some(r) = reload {
            r.abort();
        }
        Ok(())
    }
}

/// Raises the file-descriptor limit and derives the connection bound from it (lowered by
/// `--web.max-connections`), logged once.
fn connection_bound(settings: &WebSettings) -> usize {
    let limit = fd_limit::raise();
    let bound = fd_limit::connection_bound(limit.soft, settings.max_connections);
    tracing::info!(
        fd_limit = limit.soft,
        fd_limit_was = limit.was,
        max_connections = bound,
        max_requests = settings.max_requests,
        "connections accepted up to a bound from the file-descriptor limit; at the bound the least recently active with no request in flight is closed"
    );
    if let Some(asked) = settings.max_connections.filter(|m| *m > bound) {
        tracing::warn!(
            asked,
            bound,
            "--web.max-connections is above what the file-descriptor limit allows; using the bound"
        );
    }
    bound
}

/// The layers every request passes before the routes: the guard (rate limit, basic auth,
/// headers), the body limit and gzip.
fn app_stack(router: Router, live: &Arc<Live>, settings: &WebSettings) -> App {
    let stack = ServiceBuilder::new()
        .layer(axum::middleware::from_fn_with_state(
            live.clone(),
            guard::guard,
        ))
        .layer(RequestBodyLimitLayer::new(settings.max_request_bytes))
        // Level 1: a scrape page compresses almost as well, for a fraction of the CPU.
        .layer(
            CompressionLayer::new()
                .quality(tower_http::CompressionLevel::Fastest)
                .compress_when(DefaultPredicate::new().and(NotContentCoded)),
        )
        .service(router)
        .map_response(|r| r.map(Body::new));
    BoxCloneSyncService::new(stack)
}

/// Stops accepting, lets connections finish what they are writing, and after `timeout` drops
/// whatever is left.
async fn drain(shared: &Shared, timeout: Duration) {
    shared.graceful.cancel();
    shared.tracker.close();
    if tokio::time::timeout(timeout, shared.tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            connections = shared.tracker.len(),
            ?timeout,
            "closing connections still open at the shutdown timeout"
        );
        shared.force.cancel();
        shared.tracker.wait().await;
    }
}
