//! What every request passes before the routes, as the toolkit's handler does: the rate limit
//! (429), basic auth against bcrypt hashes (401 with `WWW-Authenticate`; successful checks cached
//! by a SHA-256 of hash and password, compared in constant time) and the configured response
//! headers. Reads the live configuration, so a reloaded file applies to the next request.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::config::{LoadedConfig, RateLimit};

/// The client's address, put on each request by the connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub SocketAddr);

/// Successful checks kept at most (per process); the cache is cleared when full.
const AUTH_CACHE_ENTRIES: usize = 256;

/// The configuration in force and the state that outlives a reload.
pub(crate) struct Live {
    pub config: ArcSwap<LoadedConfig>,
    bucket: Mutex<TokenBucket>,
    /// user -> SHA-256(hash, 0, password) of passwords that matched.
    verified: Mutex<HashMap<String, Vec<[u8; 32]>>>,
    /// bcrypt runs on blocking threads, at most this many at once.
    bcrypt_slots: Semaphore,
    pub throttle: LogThrottle,
}

impl Live {
    pub fn new(config: LoadedConfig) -> Live {
        Live {
            config: ArcSwap::from_pointee(config),
            bucket: Mutex::new(TokenBucket::default()),
            verified: Mutex::new(HashMap::new()),
            bcrypt_slots: Semaphore::new(2),
            throttle: LogThrottle::default(),
        }
    }

    /// Takes a token from the bucket (Go's `rate.Limiter.Allow`).
    fn allow(&self, limit: Option<RateLimit>) -> bool {
        let Some(limit) = limit else { return true };
        let mut b = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
        b.allow(limit, Instant::now())
    }

    /// Checks the request's basic auth credentials; the reason when refused.
    async fn authorize(
        &self,
        users: &std::collections::BTreeMap<String, String>,
        headers: &HeaderMap,
    ) -> Result<(), (&'static str, Option<String>)> {
        let Some((user, password)) = basic_credentials(headers) else {
            return Err(("no basic auth credentials", None));
        };
        let known = users.get(&user);
        let hash = known.cloned().unwrap_or_else(|| dummy_hash().to_owned());
        let digest = digest(&hash, &password);
        if known.is_some() && self.cached(&user, &digest) {
            return Ok(());
        }
        // Unknown users pay bcrypt too, so timing does not tell which users exist.
        let ok = {
            let _slot = self.bcrypt_slots.acquire().await;
            tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
                .await
                .unwrap_or(false)
        };
        match (known.is_some(), ok) {
            (true, true) => {
                let mut cache = self.verified.lock().unwrap_or_else(|p| p.into_inner());
                if cache.values().map(Vec::len).sum::<usize>() >= AUTH_CACHE_ENTRIES {
                    cache.clear();
                }
                cache.entry(user).or_default().push(digest);
                Ok(())
            }
            (true, false) => Err(("wrong password", Some(user))),
            (false, _) => Err(("unknown user", Some(user))),
        }
    }

    fn cached(&self, user: &str, digest: &[u8; 32]) -> bool {
        let cache = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(user).is_some_and(|seen| {
            // Every entry is compared, each in constant time.
            seen.iter()
                .fold(subtle::Choice::from(0), |acc, d| acc | d.ct_eq(digest))
                .into()
        })
    }
}

fn digest(hash: &str, password: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(hash.as_bytes());
    h.update([0u8]);
    h.update(password.as_bytes());
    h.finalize().into()
}

/// A bcrypt hash no password is known for, checked against for unknown users.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        bcrypt::hash("migration-exporter: no such user", 10)
            .unwrap_or_else(|_| "$2b$10$invalid".to_owned())
    })
}

/// `Authorization: Basic base64(user:password)`.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Go's token bucket: starts full, refills one token per interval up to `burst`.
#[derive(Debug, Default)]
struct TokenBucket {
    tokens: f64,
    last: Option<Instant>,
    limit: Option<RateLimit>,
}

impl TokenBucket {
    fn allow(&mut self, limit: RateLimit, now: Instant) -> bool {
        if self.limit != Some(limit) {
            *self = TokenBucket {
                tokens: limit.burst as f64,
                last: Some(now),
                limit: Some(limit),
            };
        }
        let elapsed = self.last.map(|l| now - l).unwrap_or_default();
        self.last = Some(now);
        let refill = elapsed.as_secs_f64() / limit.interval.as_secs_f64();
        self.tokens = (self.tokens + refill).min(limit.burst as f64);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// At most one log line per second per kind; the lines held back are counted in the next one.
#[derive(Debug, Default)]
pub(crate) struct LogThrottle {
    last: Mutex<HashMap<&'static str, Instant>>,
    held_back: AtomicU64,
}

impl LogThrottle {
    /// Whether to log a line of `kind` now, and how many were held back before it.
    pub fn admit(&self, kind: &'static str) -> Option<u64> {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        match last.get(kind) {
            Some(t) if now.duration_since(*t) < Duration::from_secs(1) => {
                self.held_back.fetch_add(1, Ordering::Relaxed);
                None
            }
            _ => {
                last.insert(kind, now);
                Some(self.held_back.swap(0, Ordering::Relaxed))
            }
        }
    }
}

/// The middleware: rate limit, basic auth, headers.
pub(crate) async fn guard(State(live): State<Arc<Live>>, req: Request, next: Next) -> Response {
    let config = live.config.load_full();
    let peer = req.extensions().get::<Peer>().map(|p| p.0);
    let mut response = if !live.allow(config.rate_limit) {
        if let Some(held_back) = live.throttle.admit("rate") {
            tracing::warn!(remote = ?peer, held_back, "request refused by rate_limit");
        }
        (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n").into_response()
    } else if config.users.is_empty() {
        next.run(req).await
    } else {
        match live.authorize(&config.users, req.headers()).await {
            Ok(()) => next.run(req).await,
            Err((reason, user)) => {
                if let Some(held_back) = live.throttle.admit("auth") {
                    tracing::warn!(
                        remote = ?peer,
                        user = user.as_deref().unwrap_or(""),
                        reason,
                        path = req.uri().path(),
                        held_back,
                        "basic auth failed"
                    );
                }
                let mut r = Response::new(Body::from("Unauthorized\n"));
                *r.status_mut() = StatusCode::UNAUTHORIZED;
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Basic realm=\"migration-exporter\""),
                );
                r
            }
        }
    };
    for (name, value) in config.headers.iter() {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_starts_full_and_refills() {
        let limit = RateLimit {
            interval: Duration::from_millis(100),
            burst: 2,
        };
        let mut b = TokenBucket::default();
        let t0 = Instant::now();
        assert!(b.allow(limit, t0));
        assert!(b.allow(limit, t0));
        assert!(!b.allow(limit, t0));
        assert!(b.allow(limit, t0 + Duration::from_millis(110)));
        assert!(!b.allow(limit, t0 + Duration::from_millis(120)));
    }

    #[test]
    fn credentials_parse() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            "Basic YWxpY2U6czNjcjN0OndpdGg6Y29sb25z".parse().unwrap(),
        );
        assert_eq!(
            basic_credentials(&h),
            Some(("alice".into(), "s3cr3t:with:colons".into()))
        );
    }

    fn basic(user_password: &str) -> HeaderMap {
        let b64 = base64::engine::general_purpose::STANDARD.encode(user_password);
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            format!("Basic {b64}").parse().unwrap(),
        );
        h
    }

    #[tokio::test]
    async fn successful_checks_are_cached() {
        let hash = bcrypt::hash("pw", 4).unwrap();
        let users = std::collections::BTreeMap::from([("alice".to_owned(), hash.clone())]);
        let live = Live::new(crate::config::parse(b"", std::path::Path::new(".")).unwrap());
        assert!(live.authorize(&users, &basic("alice:pw")).await.is_ok());
        assert!(live.cached("alice", &digest(&hash, "pw")));
        assert!(!live.cached("alice", &digest(&hash, "other")));
        let refused = live.authorize(&users, &basic("alice:nope")).await;
        assert_eq!(refused.unwrap_err().0, "wrong password");
        let refused = live.authorize(&users, &basic("bob:pw")).await;
        assert_eq!(refused.unwrap_err().0, "unknown user");
    }
}
