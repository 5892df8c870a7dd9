//! One connection from accept to close. Every connection is accepted at once and registered
//! ([`crate::registry`]: at the bound the least recently active one with no request in flight
//! makes room); until its first byte it holds no buffer, and its task sleeps until the deadline of
//! its phase ([`crate::activity`]) or a change of phase. TLS is negotiated within the read-header
//! timeout (counted against the handshake bound), then HTTP/1 or HTTP/2 (by ALPN) through hyper
//! with the head size limit; each request passes the in-flight limit ([`crate::in_flight`]). On
//! shutdown a connection with nothing in flight closes at once; the close is counted by reason.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

use crate::activity::{Activity, Timeouts, Tracked};
use crate::flags::WebSettings;
use crate::guard::{Live, Peer};
use crate::in_flight::{self, Busy, GuardedBody, RequestLimit};
use crate::registry::{Registry, Ticket};
use crate::stats::{CloseReason, HttpStats};

/// The service stack the connections call.
pub(crate) type App =
    BoxCloneSyncService<axum::extract::Request, axum::response::Response, std::convert::Infallible>;

/// The HTTP/1 and HTTP/2 connection builders, with the limits of the settings. Heads are timed
/// by [`Activity`], not by hyper.
pub(crate) struct Protocols {
    h1: auto::Builder<TokioExecutor>,
    h2: auto::Builder<TokioExecutor>,
}

impl Protocols {
    pub(crate) fn new(settings: &WebSettings) -> Protocols {
        let mut h1 = auto::Builder::new(TokioExecutor::new()).http1_only();
        h1.http1()
            .timer(TokioTimer::new())
            .header_read_timeout(None)
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
    pub timeouts: Timeouts,
    pub registry: Arc<Registry>,
    pub limit: RequestLimit,
    pub stats: Arc<HttpStats>,
    /// Stop accepting; connections finish their request and close.
    pub graceful: CancellationToken,
    /// Drop every connection now.
    pub force: CancellationToken,
    pub tracker: TaskTracker,
}

/// One accepted connection: its registration and its phase.
struct Conn {
    ticket: Arc<Ticket>,
    activity: Arc<Activity>,
    peer: SocketAddr,
}

/// Accepts every connection of `listener` as it comes, until shutdown.
pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let accepted = tokio::select! {
            () = shared.graceful.cancelled() => return,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                // Refused (counted) when every open connection has a request in flight.
                let Some(ticket) = shared.registry.admit(shared.tls_mode) else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let conn = Conn {
                    ticket: Arc::new(ticket),
                    activity: Arc::new(Activity::new(Instant::now())),
                    peer,
                };
                shared
                    .tracker
                    .spawn(connection(stream, conn, shared.clone()));
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

async fn connection(stream: TcpStream, conn: Conn, shared: Arc<Shared>) {
    let io = Tracked::new(stream, conn.activity.clone());
    let reason = tokio::select! {
        () = shared.force.cancelled() => CloseReason::Shutdown,
        () = conn.ticket.evicted() => CloseReason::Evicted,
        r = run_connection(io, &conn, &shared) => r,
    };
    conn.ticket.closing(reason);
}

async fn run_connection(io: Tracked<TcpStream>, conn: &Conn, shared: &Arc<Shared>) -> CloseReason {
    if let Err(reason) = first_byte(&io, conn, shared).await {
        return reason;
    }
    if !shared.tls_mode {
        return serve_io(io, false, conn, shared).await;
    }
    match handshake(io, conn, shared).await {
        Ok(stream) => {
            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
            serve_io(stream, h2, conn, shared).await
        }
        Err(reason) => reason,
    }
}

/// Waits, holding no buffer, until the client sends something (or closes), within the
/// read-header timeout.
async fn first_byte(
    io: &Tracked<TcpStream>,
    conn: &Conn,
    shared: &Shared,
) -> Result<(), CloseReason> {
    let Some((at, reason)) = conn.activity.deadline(shared.timeouts) else {
        return Ok(());
    };
    tokio::select! {
        () = shared.graceful.cancelled() => Err(CloseReason::Shutdown),
        () = tokio::time::sleep_until(at) => Err(reason),
        r = io.get_ref().readable() => r.map_err(|_| CloseReason::Error),
    }
}

/// Counts a TLS handshake in flight, and ends it in the registry, however the handshake ends.
struct Handshaking<'a>(&'a Conn, &'a HttpStats);

impl Drop for Handshaking<'_> {
    fn drop(&mut self) {
        self.0.ticket.handshake_done();
        self.1.handshake_ended();
    }
}

async fn handshake(
    io: Tracked<TcpStream>,
    conn: &Conn,
    shared: &Shared,
) -> Result<tokio_rustls::server::TlsStream<Tracked<TcpStream>>, CloseReason> {
    let tls = shared
        .live
        .config
        .load()
        .tls
        .clone()
        .ok_or(CloseReason::Error)?;
    let (at, _) = conn
        .activity
        .deadline(shared.timeouts)
        .ok_or(CloseReason::Error)?;
    shared.stats.handshake_started();
    let _counted = Handshaking(conn, &shared.stats);
    let accept = tokio_rustls::TlsAcceptor::from(tls).accept(io);
    let peer = conn.peer;
    tokio::select! {
        () = shared.graceful.cancelled() => Err(CloseReason::Shutdown),
        () = tokio::time::sleep_until(at) => {
            if let Some(held_back) = shared.live.throttle.admit("tls-timeout") {
                tracing::debug!(remote = %peer, held_back, "TLS handshake not finished within the read-header timeout");
            }
            Err(CloseReason::HeaderTimeout)
        }
        r = accept => match r {
            Ok(stream) => {
                conn.activity.handshake_done();
                Ok(stream)
            }
            Err(e) => {
                if let Some(held_back) = shared.live.throttle.admit("tls") {
                    tracing::warn!(remote = %peer, error = %e, held_back, "TLS handshake failed");
                }
                Err(CloseReason::Error)
            }
        },
    }
}

/// The hyper service of one connection: marks each request with the peer, keeps the connection
/// busy while it is answered, and passes it through the in-flight limit.
fn service(
    conn: &Conn,
    shared: Arc<Shared>,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future: Send,
> + Clone
+ use<> {
    let (ticket, activity, peer) = (conn.ticket.clone(), conn.activity.clone(), conn.peer);
    hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        let mut busy = Busy::new(activity.clone(), ticket.clone());
        let shared = shared.clone();
        async move {
            let Some(slot) = shared.limit.admit().await else {
                return Ok(in_flight::rejected());
            };
            busy.slot = Some(slot);
            req.extensions_mut().insert(Peer(peer));
            let response = shared.app.clone().oneshot(req.map(Body::new)).await?;
            Ok::<_, std::convert::Infallible>(
                response.map(|body| Body::new(GuardedBody { body, _busy: busy })),
            )
        }
    })
}

/// Serves requests until the client closes, a deadline passes or shutdown; why it ended.
async fn serve_io<I>(io: I, h2: bool, conn: &Conn, shared: &Arc<Shared>) -> CloseReason
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service(conn, shared.clone());
    let builder = if h2 {
        &shared.protocols.h2
    } else {
        &shared.protocols.h1
    };
    let served = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(served);
    let sleep = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(sleep);
    let mut draining = false;
    loop {
        if draining && conn.activity.is_quiet() {
            return CloseReason::Shutdown;
        }
        let deadline = conn.activity.deadline(shared.timeouts);
        if let Some((at, reason)) = deadline {
            if at <= Instant::now() {
                return reason;
            }
            sleep.as_mut().reset(at);
        }
        tokio::select! {
            r = served.as_mut() => return ended(r, conn.peer),
            () = shared.graceful.cancelled(), if !draining => {
                draining = true;
                served.as_mut().graceful_shutdown();
            }
            () = &mut sleep, if deadline.is_some() => {}
            () = conn.activity.changed() => {}
        }
    }
}

/// Why a connection hyper finished serving ended.
fn ended(r: Result<(), Box<dyn std::error::Error + Send + Sync>>, peer: SocketAddr) -> CloseReason {
    match r {
        Ok(()) => CloseReason::Client,
        Err(e) => {
            tracing::debug!(remote = %peer, error = %e, "connection closed with an error");
            let incomplete = e
                .downcast_ref::<hyper::Error>()
                .is_some_and(|h| h.is_incomplete_message() || h.is_canceled());
            if incomplete {
                CloseReason::Client
            } else {
                CloseReason::Error
            }
        }
    }
}
