//! What the HTTP side counts about itself: connections open and their bound, connections closed by
//! reason, requests in flight and rejected by the in-flight limit, TLS handshakes in flight. The
//! server updates it with relaxed atomics; an exporter reads it ([`crate::WebServer::stats`]) and
//! exposes it under its own metric names.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Why the server closed a connection, or why the client's connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The client closed it, or the exchange ended normally (`Connection: close`).
    Client,
    /// The TLS handshake or a request head was not finished within the read-header timeout.
    HeaderTimeout,
    /// No byte arrived within the idle timeout after the last response.
    Idle,
    /// Closed to make room for a new connection at the connection bound (the oldest with no
    /// request in flight), or at the TLS handshake bound (the oldest still in its handshake).
    Evicted,
    /// Refused at accept: the bound was reached and every open connection had a request in flight.
    Limit,
    /// The TLS handshake failed, or the connection broke with a protocol error.
    Error,
    /// Closed by the server's shutdown.
    Shutdown,
}

impl CloseReason {
    /// Every reason, in the order of [`CloseReason::index`].
    pub const ALL: [CloseReason; 7] = [
        CloseReason::Client,
        CloseReason::HeaderTimeout,
        CloseReason::Idle,
        CloseReason::Evicted,
        CloseReason::Limit,
        CloseReason::Error,
        CloseReason::Shutdown,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Client => "client",
            CloseReason::HeaderTimeout => "header_timeout",
            CloseReason::Idle => "idle",
            CloseReason::Evicted => "evicted",
            CloseReason::Limit => "limit",
            CloseReason::Error => "error",
            CloseReason::Shutdown => "shutdown",
        }
    }

    /// Position in [`CloseReason::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The HTTP side's counters and gauges, shared by every connection of one server.
#[derive(Debug, Default)]
pub struct HttpStats {
    bound: AtomicUsize,
    open: AtomicUsize,
    accepted: AtomicU64,
    closed: [AtomicU64; CloseReason::ALL.len()],
    requests_in_flight: AtomicUsize,
    requests_rejected: AtomicU64,
    tls_handshakes: AtomicUsize,
}

impl HttpStats {
    /// Connections accepted at most at once (from the file-descriptor limit and
    /// `--web.max-connections`).
    pub fn connections_bound(&self) -> u64 {
        self.bound.load(Ordering::Relaxed) as u64
    }

    /// Connections open now.
    pub fn connections_open(&self) -> u64 {
        self.open.load(Ordering::Relaxed) as u64
    }

    /// Connections accepted so far.
    pub fn connections_accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Connections closed so far for `reason`.
    pub fn connections_closed(&self, reason: CloseReason) -> u64 {
        self.closed[reason.index()].load(Ordering::Relaxed)
    }

    /// Requests being answered now (response bodies included).
    pub fn requests_in_flight(&self) -> u64 {
        self.requests_in_flight.load(Ordering::Relaxed) as u64
    }

    /// Requests answered 503 because the in-flight limit stayed reached.
    pub fn requests_rejected(&self) -> u64 {
        self.requests_rejected.load(Ordering::Relaxed)
    }

    /// TLS handshakes in progress now.
    pub fn tls_handshakes_in_flight(&self) -> u64 {
        self.tls_handshakes.load(Ordering::Relaxed) as u64
    }

    pub(crate) fn set_bound(&self, bound: usize) {
        self.bound.store(bound, Ordering::Relaxed);
    }

    pub(crate) fn opened(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
        self.open.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection that was counted open is gone.
    pub(crate) fn closed(&self, reason: CloseReason) {
        self.open.fetch_sub(1, Ordering::Relaxed);
        self.refused(reason);
    }

    /// A connection closed without having been counted open (refused at accept).
    pub(crate) fn refused(&self, reason: CloseReason) {
        self.closed[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn request_started(&self) {
        self.requests_in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn request_ended(&self) {
        self.requests_in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn request_rejected(&self) {
        self.requests_rejected.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn handshake_started(&self) {
        self.tls_handshakes.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn handshake_ended(&self) {
        self.tls_handshakes.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_index_their_own_position() {
        for (i, r) in CloseReason::ALL.into_iter().enumerate() {
            assert_eq!(r.index(), i, "{}", r.as_str());
        }
    }

    #[test]
    fn open_follows_opened_and_closed() {
        let s = HttpStats::default();
        s.opened();
        s.opened();
        s.closed(CloseReason::Idle);
        s.refused(CloseReason::Limit);
        assert_eq!(s.connections_open(), 1);
        assert_eq!(s.connections_accepted(), 2);
        assert_eq!(s.connections_closed(CloseReason::Idle), 1);
        assert_eq!(s.connections_closed(CloseReason::Limit), 1);
        assert_eq!(s.connections_closed(CloseReason::Client), 0);
    }
}
