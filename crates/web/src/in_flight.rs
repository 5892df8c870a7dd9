//! Requests in flight: the `--web.max-requests` limit (a request beyond it waits up to
//! [`QUEUE_WAIT`] for a slot, then gets `503` with `Retry-After`), and the guards that keep a
//! request counted, and its connection busy (not timed, not evictable), until its response body is
//! written or dropped.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::activity::Activity;
use crate::registry::Ticket;
use crate::stats::HttpStats;

/// How long a request beyond the limit waits for a slot before its 503.
pub(crate) const QUEUE_WAIT: Duration = Duration::from_secs(1);

/// The in-flight limit of one server (none when `--web.max-requests` is 0).
pub(crate) struct RequestLimit {
    slots: Option<Arc<Semaphore>>,
    stats: Arc<HttpStats>,
}

/// A slot of the limit, held until the response body is done.
pub(crate) struct Slot {
    _permit: Option<OwnedSemaphorePermit>,
    stats: Arc<HttpStats>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.stats.request_ended();
    }
}

impl RequestLimit {
    pub(crate) fn new(max_requests: usize, stats: Arc<HttpStats>) -> RequestLimit {
        RequestLimit {
            slots: (max_requests > 0).then(|| Arc::new(Semaphore::new(max_requests))),
            stats,
        }
    }

    /// A slot now, or within [`QUEUE_WAIT`] (first come, first served); `None` (counted) after.
    pub(crate) async fn admit(&self) -> Option<Slot> {
        let permit = match &self.slots {
            None => None,
            Some(slots) => match slots.clone().try_acquire_owned() {
                Ok(p) => Some(p),
                Err(_) => {
                    let waited = tokio::time::timeout(QUEUE_WAIT, slots.clone().acquire_owned());
                    match waited.await {
                        Ok(Ok(p)) => Some(p),
                        _ => {
                            self.stats.request_rejected();
                            return None;
                        }
                    }
                }
            },
        };
        self.stats.request_started();
        Some(Slot {
            _permit: permit,
            stats: self.stats.clone(),
        })
    }
}

/// The answer to a request beyond the limit.
pub(crate) fn rejected() -> Response {
    let mut r = Response::new(Body::from(
        "too many requests in flight (--web.max-requests); retry shortly\n",
    ));
    *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let h = r.headers_mut();
    h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// What a request keeps while in flight: its connection busy, and its slot once it has one.
pub(crate) struct Busy {
    activity: Arc<Activity>,
    ticket: Arc<Ticket>,
    pub(crate) slot: Option<Slot>,
}

impl Busy {
    pub(crate) fn new(activity: Arc<Activity>, ticket: Arc<Ticket>) -> Busy {
        activity.request_started();
        ticket.request_started();
        Busy {
            activity,
            ticket,
            slot: None,
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        // The slot first: a waiting request may take it before this connection is idle again.
        self.slot = None;
        self.ticket.request_ended();
        self.activity.request_ended();
    }
}

/// A response body that keeps its request in flight until it is written or dropped.
pub(crate) struct GuardedBody {
    pub(crate) body: Body,
    pub(crate) _busy: Busy,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn beyond_the_limit_a_request_waits_then_is_rejected_and_counted() {
        let stats = Arc::new(HttpStats::default());
        let limit = RequestLimit::new(1, stats.clone());
        let first = limit.admit().await.expect("a free slot");
        assert_eq!(stats.requests_in_flight(), 1);
        assert!(limit.admit().await.is_none(), "no slot within the wait");
        assert_eq!(stats.requests_rejected(), 1);
        drop(first);
        assert_eq!(stats.requests_in_flight(), 0);
        assert!(limit.admit().await.is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_waiting_gets_the_slot_freed_within_the_wait() {
        let stats = Arc::new(HttpStats::default());
        let limit = Arc::new(RequestLimit::new(1, stats.clone()));
        let first = limit.admit().await.unwrap();
        let waiting = tokio::spawn({
            let limit = limit.clone();
            async move { limit.admit().await.is_some() }
        });
        tokio::time::sleep(QUEUE_WAIT / 2).await;
        drop(first);
        assert!(waiting.await.unwrap());
        assert_eq!(stats.requests_rejected(), 0);
    }

    #[tokio::test]
    async fn zero_means_no_limit() {
        let limit = RequestLimit::new(0, Arc::new(HttpStats::default()));
        let held: Vec<_> = admit_many(&limit, 100).await;
        assert_eq!(held.len(), 100);
    }

    async fn admit_many(limit: &RequestLimit, n: usize) -> Vec<Slot> {
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(limit.admit().await.expect("unlimited"));
        }
        v
    }

    #[test]
    fn the_rejection_says_when_to_retry() {
        let r = rejected();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
    }
}
