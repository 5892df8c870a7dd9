//! A connection's phase and the one deadline it implies, as Go's `net/http` times a connection:
//! a head (or the TLS handshake) must arrive within the read-header timeout, counted from the
//! accept or from its first byte after a response; after a response, the next byte must come
//! within the idle timeout; while a request is in flight, or a response is still being written to a
//! client that reads slowly, nothing is timed. The connection's task sleeps until the deadline and
//! is woken only when the phase changes ([`Activity::changed`]), so an idle or half-sent connection
//! is never polled. [`Tracked`] notes the bytes that start a head, and writes not yet flushed.

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

/// A phase, and whether bytes were written that the transport has not flushed yet.
#[derive(Debug, Clone, Copy)]
struct State {
    phase: Phase,
    /// A response handed to hyper counts as ended, but until its bytes leave hyper's buffer the
    /// connection is still writing: neither idle nor waiting for a head.
    unflushed: bool,
}

/// One connection's phase, shared by its task, its IO and its requests.
pub(crate) struct Activity {
    state: Mutex<State>,
    changed: Notify,
}

impl Activity {
    /// A connection accepted at `now`: its head (or handshake) is timed from now.
    pub(crate) fn new(now: Instant) -> Activity {
        Activity {
            state: Mutex::new(State {
                phase: Phase::Head { since: now },
                unflushed: false,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes arrived: after a response, they start the next head.
    pub(crate) fn bytes_arrived(&self) {
        let mut state = self.lock();
        let phase = &mut state.phase;
        match phase {
            Phase::Idle { .. } => {
                *phase = Phase::Head {
                    since: Instant::now(),
                };
                drop(state);
                self.changed.notify_one();
            }
            Phase::Busy { bytes, .. } => *bytes = true,
            Phase::Head { .. } => {}
        }
    }

    /// The TLS handshake is done: the first head gets a read-header timeout of its own.
    pub(crate) fn handshake_done(&self) {
        *self.lock() = State {
            phase: Phase::Head {
                since: Instant::now(),
            },
            unflushed: false,
        };
    }

    /// The transport took bytes to write.
    pub(crate) fn wrote(&self) {
        self.lock().unflushed = true;
    }

    /// The transport flushed all it was given: what follows a response is timed from now, as Go
    /// times it from the end of the write.
    pub(crate) fn flushed(&self) {
        let mut state = self.lock();
        if !std::mem::replace(&mut state.unflushed, false) {
            return;
        }
        match &mut state.phase {
            Phase::Head { since } | Phase::Idle { since } => *since = Instant::now(),
            Phase::Busy { .. } => {}
        }
        drop(state);
        self.changed.notify_one();
    }

    pub(crate) fn request_started(&self) {
        let mut state = self.lock();
        let phase = &mut state.phase;
        match phase {
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
        let mut state = self.lock();
        let phase = &mut state.phase;
        let Phase::Busy { requests, bytes } = phase else {
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
        drop(state);
        self.changed.notify_one();
    }

    /// Whether no request is in flight and no response is left to write.
    pub(crate) fn is_quiet(&self) -> bool {
        let state = self.lock();
        !state.unflushed && !matches!(state.phase, Phase::Busy { .. })
    }

    /// When the connection is to be closed and why; `None` while a request is in flight or a
    /// response is being written.
    pub(crate) fn deadline(&self, t: Timeouts) -> Option<(Instant, CloseReason)> {
        let state = self.lock();
        if state.unflushed {
            return None;
        }
        match state.phase {
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

    fn note_write(&self, polled: &Poll<std::io::Result<usize>>) {
        if matches!(polled, Poll::Ready(Ok(n)) if *n > 0) {
            self.activity.wrote();
        }
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
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        self.note_write(&polled);
        polled
    }

    /// hyper (and rustls) flush the transport only once their own buffers are written.
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let polled = Pin::new(&mut self.io).poll_flush(cx);
        if matches!(polled, Poll::Ready(Ok(()))) {
            self.activity.flushed();
        }
        polled
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.note_write(&polled);
        polled
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

    /// The deadline of a head whose timeout starts now.
    fn head_timed_from_now() -> Option<(Instant, CloseReason)> {
        Some((Instant::now() + T.read_header, CloseReason::HeaderTimeout))
    }

    /// The deadline of idleness that starts now.
    fn idle_timed_from_now() -> Option<(Instant, CloseReason)> {
        Some((Instant::now() + T.idle, CloseReason::Idle))
    }

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
        assert_eq!(a.deadline(T), head_timed_from_now());
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
    async fn a_response_still_being_written_is_neither_idle_nor_quiet() {
        // After it: idleness, or (pipelined) the next head, timed from the end of the write.
        for pipelined in [false, true] {
            let a = Activity::new(Instant::now());
            a.request_started();
            if pipelined {
                a.bytes_arrived();
            }
            a.wrote();
            a.request_ended();
            assert_eq!(a.deadline(T), None, "its bytes are still in the buffers");
            assert!(!a.is_quiet(), "shutdown waits for it");
            tokio::time::advance(Duration::from_secs(500)).await;
            a.flushed();
            let next = if pipelined {
                head_timed_from_now()
            } else {
                idle_timed_from_now()
            };
            assert_eq!(a.deadline(T), next, "pipelined: {pipelined}");
            assert!(a.is_quiet());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_flush_with_nothing_written_moves_no_deadline() {
        let start = Instant::now();
        let a = Activity::new(start);
        tokio::time::advance(Duration::from_secs(3)).await;
        a.flushed();
        assert_eq!(
            a.deadline(T),
            Some((start + T.read_header, CloseReason::HeaderTimeout))
        );
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
