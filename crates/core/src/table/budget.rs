//! A read budget: paces DynamoDB reads to a number of read capacity units per second, using the
//! consumed capacity each response reports (a token bucket that may go negative, since the cost
//! of a page is known only after it is read). Keeps a refresh from taking the capacity the
//! migration's workers need.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The bucket's arithmetic, separate from the clock so it can be tested exactly.
#[derive(Debug, Clone)]
pub struct Bucket {
    rate: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// A full bucket (one second of reads) at `now`.
    pub fn new(rate: f64, now: Instant) -> Self {
        Bucket {
            rate,
            tokens: rate,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        self.at = now;
    }

    /// Takes `units` consumed by a response.
    pub fn spend(&mut self, units: f64, now: Instant) {
        self.refill(now);
        self.tokens -= units;
    }

    /// How long to wait before the next request may go.
    pub fn delay(&mut self, now: Instant) -> Duration {
        self.refill(now);
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

/// A shared read budget of `rate` units per second.
#[derive(Debug)]
pub struct ReadBudget {
    bucket: Mutex<Bucket>,
}

impl ReadBudget {
    pub fn new(units_per_second: f64) -> Self {
        ReadBudget {
            bucket: Mutex::new(Bucket::new(units_per_second, Instant::now())),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Bucket) -> T) -> T {
        let mut guard = self
            .bucket
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    /// Waits until the budget allows another request.
    pub async fn wait(&self) {
        loop {
            let delay = self.with(|b| b.delay(Instant::now()));
            if delay.is_zero() {
                return;
            }
            tokio::time::sleep(delay).await;
        }
    }

    /// Accounts for a response's consumed capacity.
    pub fn spend(&self, units: f64) {
        self.with(|b| b.spend(units, Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_lets_a_second_of_reads_through() {
        let t0 = Instant::now();
        let mut b = Bucket::new(100.0, t0);
        b.spend(60.0, t0);
        assert_eq!(b.delay(t0), Duration::ZERO);
    }

    #[test]
    fn overspending_waits_for_the_deficit_at_the_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(100.0, t0);
        b.spend(250.0, t0);
        assert_eq!(b.delay(t0), Duration::from_millis(1500));
        // Half a second later a second is left.
        assert_eq!(
            b.delay(t0 + Duration::from_millis(500)),
            Duration::from_secs(1)
        );
        assert_eq!(b.delay(t0 + Duration::from_millis(1500)), Duration::ZERO);
    }

    #[test]
    fn idle_time_does_not_bank_more_than_a_second() {
        let t0 = Instant::now();
        let mut b = Bucket::new(10.0, t0);
        let later = t0 + Duration::from_secs(60);
        b.spend(15.0, later);
        assert_eq!(b.delay(later), Duration::from_millis(500));
    }
}
