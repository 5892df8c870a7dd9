//! The open connections of one server and the two bounds on them. At the connection bound, a new
//! connection makes room by evicting the least recently active connection with no request in
//! flight (an idle keep-alive, a silent or half-sent one); only when every open connection has a
//! request in flight is the new one refused. At the TLS handshake bound, a new TLS connection
//! evicts the oldest connection still in its handshake. Eviction is a signal ([`Ticket::evicted`])
//! that the connection's task answers by closing; the registry forgets the connection at once so
//! that one arrival evicts one connection.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio_util::sync::CancellationToken;

use crate::stats::{CloseReason, HttpStats};

/// One open connection as the registry sees it.
struct OpenConnection {
    /// Requests in flight on it.
    busy: usize,
    /// Its place in `evictable` while it has no request in flight: last activity, then id.
    since: u64,
    handshaking: bool,
    evict: CancellationToken,
}

#[derive(Default)]
struct Inner {
    /// Increases at every accept and every finished request: orders activity.
    clock: u64,
    open: HashMap<u64, OpenConnection>,
    /// `(since, id)` of the connections with no request in flight, least recently active first.
    evictable: BTreeSet<(u64, u64)>,
    /// Ids of the connections still in their TLS handshake, oldest first.
    handshaking: BTreeSet<u64>,
}

impl Inner {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// Forgets `id`; its entry if it was still open.
    fn forget(&mut self, id: u64) -> Option<OpenConnection> {
        let entry = self.open.remove(&id)?;
        self.evictable.remove(&(entry.since, id));
        self.handshaking.remove(&id);
        Some(entry)
    }

    /// Forgets `id` and signals its task; whether it was still open.
    fn evict(&mut self, id: u64) -> bool {
        self.forget(id).map(|e| e.evict.cancel()).is_some()
    }

    fn evict_least_active_idle(&mut self) -> bool {
        match self.evictable.first().copied() {
            Some((_, id)) => self.evict(id),
            None => false,
        }
    }

    fn evict_oldest_handshake(&mut self) -> bool {
        match self.handshaking.first().copied() {
            Some(id) => self.evict(id),
            None => false,
        }
    }
}

/// The open connections of one server.
pub(crate) struct Registry {
    inner: Mutex<Inner>,
    bound: usize,
    handshake_bound: usize,
    stats: Arc<HttpStats>,
}

/// A connection's registration; dropping it unregisters the connection.
pub(crate) struct Ticket {
    id: u64,
    evict: CancellationToken,
    registry: Arc<Registry>,
    /// Why it closes, counted when dropped (unless the registry evicted it).
    reason: Mutex<CloseReason>,
}

impl Registry {
    pub(crate) fn new(bound: usize, handshake_bound: usize, stats: Arc<HttpStats>) -> Registry {
        Registry {
            inner: Mutex::new(Inner::default()),
            bound: bound.max(1),
            handshake_bound: handshake_bound.max(1),
            stats,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a new connection, evicting to make room; `None` (counted as refused) when the
    /// bound is reached and every open connection has a request in flight.
    pub(crate) fn admit(self: &Arc<Self>, tls: bool) -> Option<Ticket> {
        let mut evicted = 0;
        let mut inner = self.lock();
        if inner.open.len() >= self.bound {
            if !inner.evict_least_active_idle() {
                drop(inner);
                self.stats.refused(CloseReason::Limit);
                return None;
            }
            evicted += 1;
        }
        if tls && inner.handshaking.len() >= self.handshake_bound && inner.evict_oldest_handshake()
        {
            evicted += 1;
        }
        let id = inner.tick();
        let evict = CancellationToken::new();
        let entry = OpenConnection {
            busy: 0,
            since: id,
            handshaking: tls,
            evict: evict.clone(),
        };
        inner.open.insert(id, entry);
        inner.evictable.insert((id, id));
        if tls {
            inner.handshaking.insert(id);
        }
        drop(inner);
        for _ in 0..evicted {
            self.stats.closed(CloseReason::Evicted);
        }
        self.stats.opened();
        Some(Ticket {
            id,
            evict,
            registry: self.clone(),
            reason: Mutex::new(CloseReason::Shutdown),
        })
    }

    /// Connections registered now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().open.len()
    }
}

impl Ticket {
    /// Completes when the registry evicted this connection.
    pub(crate) fn evicted(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.evict.cancelled()
    }

    /// Whether the registry evicted this connection.
    #[cfg(test)]
    fn is_evicted(&self) -> bool {
        self.evict.is_cancelled()
    }

    /// The TLS handshake finished (or failed): no longer counted against the handshake bound.
    pub(crate) fn handshake_done(&self) {
        let mut inner = self.registry.lock();
        if let Some(e) = inner.open.get_mut(&self.id)
            && e.handshaking
        {
            e.handshaking = false;
            inner.handshaking.remove(&self.id);
        }
    }

    /// A request started: the connection cannot be evicted until its requests finish.
    pub(crate) fn request_started(&self) {
        let mut inner = self.registry.lock();
        let Some(e) = inner.open.get_mut(&self.id) else {
            return;
        };
        e.busy += 1;
        if e.busy == 1 {
            let key = (e.since, self.id);
            inner.evictable.remove(&key);
        }
    }

    /// A request finished (its response written or dropped): evictable again once none is left,
    /// as the most recently active.
    pub(crate) fn request_ended(&self) {
        let mut inner = self.registry.lock();
        let now = inner.tick();
        let Some(e) = inner.open.get_mut(&self.id) else {
            return;
        };
        e.busy = e.busy.saturating_sub(1);
        if e.busy == 0 {
            e.since = now;
            inner.evictable.insert((now, self.id));
        }
    }

    /// Says why the connection closes; counted when the ticket is dropped (an evicted one was
    /// counted already). Without it, the close is counted as the shutdown's.
    pub(crate) fn closing(&self, reason: CloseReason) {
        *self.reason.lock().unwrap_or_else(PoisonError::into_inner) = reason;
    }
}

impl Drop for Ticket {
    /// Unregisters, counting the reason given to [`Ticket::closing`].
    fn drop(&mut self) {
        let still_open = self.registry.lock().forget(self.id).is_some();
        if still_open {
            let reason = *self.reason.lock().unwrap_or_else(PoisonError::into_inner);
            self.registry.stats.closed(reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(bound: usize, handshakes: usize) -> (Arc<Registry>, Arc<HttpStats>) {
        let stats = Arc::new(HttpStats::default());
        (
            Arc::new(Registry::new(bound, handshakes, stats.clone())),
            stats,
        )
    }

    #[test]
    fn at_the_bound_the_least_recently_active_idle_connection_is_evicted() {
        let (r, stats) = registry(3, 10);
        let a = r.admit(false).unwrap();
        let b = r.admit(false).unwrap();
        let c = r.admit(false).unwrap();
        // `a` served a request since: it is now the most recently active.
        a.request_started();
        a.request_ended();
        let d = r.admit(false).unwrap();
        assert!(b.is_evicted(), "the least recently active goes first");
        assert!(!a.is_evicted() && !c.is_evicted() && !d.is_evicted());
        assert_eq!(r.len(), 3);
        assert_eq!(stats.connections_closed(CloseReason::Evicted), 1);
        assert_eq!(stats.connections_open(), 3);
    }

    #[test]
    fn a_connection_with_a_request_in_flight_is_never_evicted() {
        let (r, stats) = registry(2, 10);
        let a = r.admit(false).unwrap();
        let b = r.admit(false).unwrap();
        a.request_started();
        b.request_started();
        assert!(r.admit(false).is_none(), "all busy: the new one is refused");
        assert_eq!(stats.connections_closed(CloseReason::Limit), 1);
        b.request_ended();
        let c = r.admit(false).unwrap();
        assert!(b.is_evicted() && !a.is_evicted());
        drop(c);
    }

    #[test]
    fn the_handshake_bound_evicts_the_oldest_handshake() {
        let (r, _) = registry(100, 2);
        let plain = r.admit(false).unwrap();
        let t1 = r.admit(true).unwrap();
        let t2 = r.admit(true).unwrap();
        t2.handshake_done();
        let t3 = r.admit(true).unwrap();
        let t4 = r.admit(true).unwrap();
        assert!(!plain.is_evicted() && !t2.is_evicted() && !t3.is_evicted());
        assert!(t1.is_evicted(), "t1 was the oldest still in its handshake");
        assert!(!t4.is_evicted());
    }

    #[test]
    fn closing_counts_the_reason_once_and_eviction_is_not_counted_twice() {
        let (r, stats) = registry(1, 10);
        let a = r.admit(false).unwrap();
        let b = r.admit(false).unwrap();
        assert!(a.is_evicted());
        a.closing(CloseReason::Idle);
        drop(a);
        b.closing(CloseReason::HeaderTimeout);
        drop(b);
        assert_eq!(stats.connections_closed(CloseReason::Evicted), 1);
        assert_eq!(stats.connections_closed(CloseReason::Idle), 0);
        assert_eq!(stats.connections_closed(CloseReason::HeaderTimeout), 1);
        assert_eq!(stats.connections_open(), 0);
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn a_dropped_ticket_unregisters_as_shutdown() {
        let (r, stats) = registry(4, 4);
        drop(r.admit(true).unwrap());
        assert_eq!(r.len(), 0);
        assert_eq!(stats.connections_closed(CloseReason::Shutdown), 1);
    }
}
