//! A connection's phase and the one deadline it implies, as Go's `net/http` times a connection:
//! a head (or the TLS handshake) must arrive within the read-header timeout, counted from the
//! accept or from its first byte after a response; after a response, the next byte must come
//! within the idle timeout; while a request is in flight nothing is timed. The connection's task
//! sleeps until the deadline and is woken only when the phase changes ([`Activity::changed`]), so an
//! idle or half-sent connection is never polled. [`Tracked`] notes the bytes that start a head.

use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::stats::CloseReason;

/// The two timeouts of a connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub read_header: Duration,
    pub idle: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for (the rest of) a head, or the TLS handshake, since `since`.
    Head { since: Instant },
    /// Requests in flight; whether bytes of a next request arrived meanwhile (pipelined).
    Busy { requests: usize, bytes: bool },
    /// The last response was written at `since`; nothing arrived after it.
    Idle { since: Instant },
}

/// One connection's phase, shared by its task, its IO and its requests.
pub(crate) struct Activity {
    phase: Mutex<Phase>,
    changed: Notify,
}

impl Activity {
    /// A connection accepted at `now`: its head (or handshake) is timed from now.
    pub(crate) fn new(now: Instant) -> Activity {
        Activity {
            phase: Mutex::new(Phase::Head { since: now }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes arrived: after a response, they start the next head.
    pub(crate) fn bytes_arrived(&self) {
        let mut phase = self.lock();
        match &mut *phase {
            Phase::Idle { .. } => {
                *phase = Phase::Head {
                    since: Instant::now(),
                };
                drop(phase);
                self.changed.notify_one();
            }
            Phase::Busy { bytes, .. } => *bytes = true,
            Phase::Head { .. } => {}
        }
    }

    /// The TLS handshake is done: the first head gets a read-header timeout of its own.
    pub(crate) fn handshake_done(&self) {
        *self.lock() = Phase::Head {
            since: Instant::now(),
        };
    }

    pub(crate) fn request_started(&self) {
        let mut phase = self.lock();
        match &mut *phase {
            Phase::Busy { requests, .. } => *requests += 1,
            _ => {
                *phase = Phase::Busy {
                    requests: 1,
                    bytes: false,
                }
            }
        }
    }

    /// A response was written (or dropped): once none is left, the next head or idleness is
    /// timed from now.
    pub(crate) fn request_ended(&self) {
        let mut phase = self.lock();
        let Phase::Busy { requests, bytes } = &mut *phase else {
            return;
        };
        *requests -= 1;
        if *requests > 0 {
            return;
        }
        let since = Instant::now();
        *phase = if *bytes {
            Phase::Head { since }
        } else {
            Phase::Idle { since }
        };
        drop(phase);
        self.changed.notify_one();
    }

    /// Whether no request is in flight.
    pub(crate) fn is_quiet(&self) -> bool {
        !matches!(*self.lock(), Phase::Busy { .. })
    }

    /// When the connection is to be closed and why; `None` while a request is in flight.
    pub(crate) fn deadline(&self, t: Timeouts) -> Option<(Instant, CloseReason)> {
        match *self.lock() {
            Phase::Head { since } => Some((since + t.read_header, CloseReason::HeaderTimeout)),
            Phase::Idle { since } => Some((since + t.idle, CloseReason::Idle)),
            Phase::Busy { .. } => None,
        }
    }

    /// Completes when the phase changed in a way that moves the deadline.
    pub(crate) async fn changed(&self) {
        self.changed.notified().await;
    }
}

/// A connection's transport, noting to its [`Activity`] when bytes arrive.
pub(crate) struct Tracked<I> {
    io: I,
    activity: std::sync::Arc<Activity>,
}

impl<I> Tracked<I> {
    pub(crate) fn new(io: I, activity: std::sync::Arc<Activity>) -> Tracked<I> {
        Tracked { io, activity }
    }

    pub(crate) fn get_ref(&self) -> &I {
        &self.io
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Tracked<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_arrived();
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Tracked<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timeouts = Timeouts {
        read_header: Duration::from_secs(10),
        idle: Duration::from_secs(120),
    };

    #[tokio::test(start_paused = true)]
    async fn a_new_connection_must_send_its_head_within_the_read_header_timeout() {
        let start = Instant::now();
        let a = Activity::new(start);
        a.bytes_arrived();
        assert_eq!(
            a.deadline(T),
            Some((start + T.read_header, CloseReason::HeaderTimeout)),
            "bytes of the first head do not extend it"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_response_the_idle_timeout_runs_until_the_next_byte() {
        let a = Activity::new(Instant::now());
        a.request_started();
        assert_eq!(a.deadline(T), None, "nothing is timed in flight");
        assert!(!a.is_quiet());
        tokio::time::advance(Duration::from_secs(30)).await;
        a.request_ended();
        let idle_from = Instant::now();
        assert_eq!(a.deadline(T), Some((idle_from + T.idle, CloseReason::Idle)));
        tokio::time::advance(Duration::from_secs(5)).await;
        a.bytes_arrived();
        assert_eq!(
            a.deadline(T),
            Some((Instant::now() + T.read_header, CloseReason::HeaderTimeout))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_pipelined_head_is_timed_as_a_head_not_as_idleness() {
        let a = Activity::new(Instant::now());
        a.request_started();
        a.request_started();
        a.bytes_arrived();
        a.request_ended();
        assert_eq!(a.deadline(T), None, "one request is still in flight");
        a.request_ended();
        assert_eq!(
            a.deadline(T).map(|(_, r)| r),
            Some(CloseReason::HeaderTimeout)
        );
        assert!(a.is_quiet());
    }

    #[tokio::test(start_paused = true)]
    async fn the_task_is_woken_when_the_deadline_moves() {
        let a = std::sync::Arc::new(Activity::new(Instant::now()));
        a.request_started();
        a.request_ended();
        // The wake is kept for a task that starts waiting later.
        tokio::time::timeout(Duration::from_millis(1), a.changed())
            .await
            .expect("woken");
    }
}
