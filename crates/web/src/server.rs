//! Listening and serving: binds every listen address (IPv6 sockets IPv6-only, so `[::]` and
//! `0.0.0.0` can share a port), accepts at most `max_connections` at once (others wait in the
//! listen queue), bounds the TLS handshake and the request head by the read-header timeout, limits
//! head and body sizes, gzips responses the client accepts, re-reads the web configuration file,
//! and on shutdown stops accepting, lets open requests finish and closes whatever is left after
//! the shutdown timeout.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;

use crate::config::{self, LoadedConfig};
use crate::flags::WebSettings;
use crate::guard::{self, Live, Peer};

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

/// Bound listeners, ready to serve.
pub struct WebServer {
    listeners: Vec<(SocketAddr, TcpListener)>,
    settings: WebSettings,
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
        Ok(WebServer {
            listeners,
            settings,
        })
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
            None => {
                config::parse(b"", std::path::Path::new(".")).map_err(|_| WebError::NoAddress)?
            }
        };
        let tls_mode = initial.tls.is_some();
        let http2 = initial.http2;
        let live = Arc::new(Live::new(initial));

        let app = ServiceBuilder::new()
            .layer(axum::middleware::from_fn_with_state(
                live.clone(),
                guard::guard,
            ))
            .layer(RequestBodyLimitLayer::new(settings.max_request_bytes))
            // Level 1: a scrape page compresses almost as well, for a fraction of the CPU.
            .layer(CompressionLayer::new().quality(tower_http::CompressionLevel::Fastest))
            .service(router);

        let mut h1 = auto::Builder::new(TokioExecutor::new()).http1_only();
        h1.http1()
            .timer(TokioTimer::new())
            .header_read_timeout(settings.read_header_timeout)
            .max_buf_size(settings.max_header_bytes)
            .keep_alive(true);
        let mut h2 = auto::Builder::new(TokioExecutor::new()).http2_only();
        h2.http2()
            .timer(TokioTimer::new())
            .max_header_list_size(u32::try_from(settings.max_header_bytes).unwrap_or(u32::MAX))
            .max_concurrent_streams(64);

        let shared = Arc::new(Shared {
            live: live.clone(),
            app,
            h1,
            h2,
            tls_mode,
            read_header_timeout: settings.read_header_timeout,
            slots: Arc::new(Semaphore::new(settings.max_connections)),
            graceful: CancellationToken::new(),
            force: CancellationToken::new(),
            tracker: TaskTracker::new(),
        });

        for (_, listener) in self.listeners {
            shared.tracker.spawn(accept_loop(listener, shared.clone()));
        }
        let reload = settings.config_file.clone().map(|path| {
            tokio::spawn(reload_loop(
                path,
                settings.config_reload_interval,
                live.clone(),
                tls_mode,
                http2,
                shared.graceful.clone(),
            ))
        });

        shutdown.await;
        shared.graceful.cancel();
        shared.tracker.close();
        if tokio::time::timeout(settings.shutdown_timeout, shared.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                connections = shared.tracker.len(),
                timeout = ?settings.shutdown_timeout,
                "closing connections still open at the shutdown timeout"
            );
            shared.force.cancel();
            shared.tracker.wait().await;
        }
        if let Some(r) = reload {
            r.abort();
        }
        Ok(())
    }
}

struct Shared<S> {
    live: Arc<Live>,
    app: S,
    h1: auto::Builder<TokioExecutor>,
    h2: auto::Builder<TokioExecutor>,
    tls_mode: bool,
    read_header_timeout: Duration,
    slots: Arc<Semaphore>,
    /// Stop accepting; connections finish their request and close.
    graceful: CancellationToken,
    /// Drop every connection now.
    force: CancellationToken,
    tracker: TaskTracker,
}

async fn accept_loop<S>(listener: TcpListener, shared: Arc<Shared<S>>)
where
    S: AppService,
{
    loop {
        let permit = tokio::select! {
            () = shared.graceful.cancelled() => return,
            p = shared.slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let accepted = tokio::select! {
            () = shared.graceful.cancelled() => return,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                shared
                    .tracker
                    .spawn(connection(stream, peer, permit, shared.clone()));
            }
            Err(e) => {
                if let Some(held_back) = shared.live.throttle.admit("accept") {
                    tracing::warn!(error = %e, held_back, "accept failed");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// The service stack the connections call.
pub(crate) trait AppService:
    tower::Service<
        axum::extract::Request,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future: Send,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T> AppService for T where
    T: tower::Service<
            axum::extract::Request,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
            Future: Send,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

async fn connection<S: AppService>(
    stream: TcpStream,
    peer: SocketAddr,
    _permit: OwnedSemaphorePermit,
    shared: Arc<Shared<S>>,
) {
    tokio::select! {
        () = shared.force.cancelled() => {}
        () = run_connection(stream, peer, &shared) => {}
    }
}

async fn run_connection<S: AppService>(stream: TcpStream, peer: SocketAddr, shared: &Shared<S>) {
    if !shared.tls_mode {
        return serve_io(stream, peer, false, shared).await;
    }
    let Some(tls) = shared.live.config.load().tls.clone() else {
        return;
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let accepted = tokio::select! {
        () = shared.graceful.cancelled() => return,
        r = tokio::time::timeout(shared.read_header_timeout, acceptor.accept(stream)) => r,
    };
    match accepted {
        Ok(Ok(stream)) => {
            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
            serve_io(stream, peer, h2, shared).await
        }
        Ok(Err(e)) => {
            if let Some(held_back) = shared.live.throttle.admit("tls") {
                tracing::warn!(remote = %peer, error = %e, held_back, "TLS handshake failed");
            }
        }
        Err(_) => {
            if let Some(held_back) = shared.live.throttle.admit("tls-timeout") {
                tracing::warn!(remote = %peer, held_back, "TLS handshake not finished within the read-header timeout");
            }
        }
    }
}

async fn serve_io<I, S>(io: I, peer: SocketAddr, h2: bool, shared: &Shared<S>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: AppService,
{
    let app = shared.app.clone();
    // Requests of this connection in flight (response bodies included), and requests so far.
    let busy = Arc::new(AtomicUsize::new(0));
    let served = Arc::new(AtomicUsize::new(0));
    let (counter, total) = (busy.clone(), served.clone());
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(Peer(peer));
        total.fetch_add(1, Ordering::Relaxed);
        let guard = Busy::new(counter.clone());
        let call = app.clone().oneshot(req.map(Body::new));
        async move {
            let response = call.await?;
            Ok::<_, std::convert::Infallible>(response.map(|body| {
                Body::new(GuardedBody {
                    body,
                    _guard: guard,
                })
            }))
        }
    });
    let builder = if h2 { &shared.h2 } else { &shared.h1 };
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut draining, mut idle_closing) = (false, false);
    let (mut idle_since, mut seen) = (tokio::time::Instant::now(), 0);
    let result = loop {
        tokio::select! {
            r = conn.as_mut() => break r,
            () = shared.graceful.cancelled(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tick.tick() => {
                let (in_flight, count) = (busy.load(Ordering::Acquire), served.load(Ordering::Relaxed));
                if in_flight > 0 || count != seen {
                    seen = count;
                    idle_since = tokio::time::Instant::now();
                }
                // Shutting down: responses being written finish; a connection with none (idle,
                // or a head still arriving) is closed now rather than at the shutdown timeout.
                if (draining || idle_closing) && in_flight == 0 {
                    return;
                }
                // HTTP/1 heads are timed by hyper; an HTTP/2 connection idle for as long is
                // closed too (GOAWAY, then dropped, even before the client's preface), so idle
                // clients cannot hold every --web.max-connections slot.
                if h2 && !idle_closing && idle_since.elapsed() >= shared.read_header_timeout {
                    idle_closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    };
    if let Err(e) = result {
        tracing::debug!(remote = %peer, error = %e, "connection closed with an error");
    }
}

/// Counts a request in flight until dropped (with its response body).
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn new(counter: Arc<AtomicUsize>) -> Busy {
        counter.fetch_add(1, Ordering::AcqRel);
        Busy(counter)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted as in flight until it is written or dropped.
struct GuardedBody {
    body: Body,
    _guard: Busy,
}

impl http_body::Body for GuardedBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Re-reads the configuration file every `every`; applies a changed one that loads, keeps the old
/// one and logs one error line for one that does not.
async fn reload_loop(
    path: std::path::PathBuf,
    every: Duration,
    live: Arc<Live>,
    tls_mode: bool,
    http2: bool,
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
        let loaded = tokio::task::spawn_blocking(move || config::load(&p)).await;
        let outcome: Result<Option<LoadedConfig>, String> = match loaded {
            Err(e) => Err(format!("reload task failed: {e}")),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok(new)) if new.fingerprint == live.config.load().fingerprint => Ok(None),
            Ok(Ok(new)) if new.tls.is_some() != tls_mode => Err(format!(
                "the new file turns TLS {}: that needs a restart",
                if tls_mode { "off" } else { "on" }
            )),
            Ok(Ok(mut new)) => {
                if new.http2 != http2 {
                    tracing::warn!("http_server_config.http2 changed: applies at the next restart");
                }
                if let Some(tls) = new.tls.as_mut().and_then(Arc::get_mut) {
                    tls.alpn_protocols = if http2 {
                        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
                    } else {
                        vec![b"http/1.1".to_vec()]
                    };
                }
                new.http2 = http2;
                Ok(Some(new))
            }
        };
        match outcome {
            Ok(None) => last_error = None,
            Ok(Some(new)) => {
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
