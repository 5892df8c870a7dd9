//! One connection from accept to close: at most `max_connections` at once (others wait in the
//! listen queue), the TLS handshake bounded by the read-header timeout, HTTP/1 or HTTP/2 (by
//! ALPN) through hyper with the head size limit, each request counted in flight until its
//! response body is written; on shutdown a connection with nothing in flight closes at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

use crate::flags::WebSettings;
use crate::guard::{Live, Peer};

/// The service stack the connections call.
pub(crate) type App =
    BoxCloneSyncService<axum::extract::Request, axum::response::Response, std::convert::Infallible>;

/// The HTTP/1 and HTTP/2 connection builders, with the limits of the settings.
pub(crate) struct Protocols {
    h1: auto::Builder<TokioExecutor>,
    h2: auto::Builder<TokioExecutor>,
}

impl Protocols {
    pub(crate) fn new(settings: &WebSettings) -> Protocols {
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
        Protocols { h1, h2 }
    }
}

/// What every connection of one server shares.
pub(crate) struct Shared {
    pub live: Arc<Live>,
    pub app: App,
    pub protocols: Protocols,
    pub tls_mode: bool,
    pub read_header_timeout: Duration,
    pub slots: Arc<Semaphore>,
    /// Stop accepting; connections finish their request and close.
    pub graceful: CancellationToken,
    /// Drop every connection now.
    pub force: CancellationToken,
    pub tracker: TaskTracker,
}

/// Accepts connections of `listener` while a slot is free, until shutdown.
pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
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

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    _permit: OwnedSemaphorePermit,
    shared: Arc<Shared>,
) {
    tokio::select! {
        () = shared.force.cancelled() => {}
        () = run_connection(stream, peer, &shared) => {}
    }
}

async fn run_connection(stream: TcpStream, peer: SocketAddr, shared: &Shared) {
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

/// The requests of one connection: in flight now (response bodies included), and so far.
#[derive(Default)]
struct RequestCounts {
    busy: AtomicUsize,
    served: AtomicUsize,
}

/// The hyper service of one connection: marks each request with the peer and counts it.
fn service(
    app: App,
    peer: SocketAddr,
    counts: Arc<RequestCounts>,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future: Send,
> + Clone {
    hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(Peer(peer));
        counts.served.fetch_add(1, Ordering::Relaxed);
        let guard = Busy::new(counts.clone());
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
    })
}

async fn serve_io<I>(io: I, peer: SocketAddr, h2: bool, shared: &Shared)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let counts = Arc::new(RequestCounts::default());
    let service = service(shared.app.clone(), peer, counts.clone());
    let builder = if h2 {
        &shared.protocols.h2
    } else {
        &shared.protocols.h1
    };
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut watch = Watch::new();
    let result = loop {
        tokio::select! {
            r = conn.as_mut() => break r,
            () = shared.graceful.cancelled(), if !watch.draining => {
                watch.draining = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tick.tick() => match watch.step(&counts, h2, shared.read_header_timeout) {
                Step::Close => return,
                Step::CloseIdle => conn.as_mut().graceful_shutdown(),
                Step::Go => {}
            },
        }
    };
    if let Err(e) = result {
        tracing::debug!(remote = %peer, error = %e, "connection closed with an error");
    }
}

/// What [`Watch::step`] decides.
enum Step {
    Go,
    /// Nothing in flight while draining or closing idle: drop the connection.
    Close,
    /// An idle HTTP/2 connection: GOAWAY.
    CloseIdle,
}

/// A connection's activity, sampled every tick.
struct Watch {
    draining: bool,
    idle_closing: bool,
    idle_since: tokio::time::Instant,
    seen: usize,
}

impl Watch {
    fn new() -> Watch {
        Watch {
            draining: false,
            idle_closing: false,
            idle_since: tokio::time::Instant::now(),
            seen: 0,
        }
    }

    fn step(&mut self, counts: &RequestCounts, h2: bool, read_header_timeout: Duration) -> Step {
        let in_flight = counts.busy.load(Ordering::Acquire);
        let count = counts.served.load(Ordering::Relaxed);
        if in_flight > 0 || count != self.seen {
            self.seen = count;
            self.idle_since = tokio::time::Instant::now();
        }
        // Shutting down: responses being written finish; a connection with none (idle, or a
        // head still arriving) is closed now rather than at the shutdown timeout.
        if (self.draining || self.idle_closing) && in_flight == 0 {
            return Step::Close;
        }
        // HTTP/1 heads are timed by hyper; an HTTP/2 connection idle for as long is closed too
        // (GOAWAY, then dropped, even before the client's preface).
        if h2 && !self.idle_closing && self.idle_since.elapsed() >= read_header_timeout {
            self.idle_closing = true;
            return Step::CloseIdle;
        }
        Step::Go
    }
}

/// RequestCounts a request in flight until dropped (with its response body).
struct Busy(Arc<RequestCounts>);

impl Busy {
    fn new(counts: Arc<RequestCounts>) -> Busy {
        counts.busy.fetch_add(1, Ordering::AcqRel);
        Busy(counts)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
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
