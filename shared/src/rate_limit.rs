//! In-memory rate limiting: token buckets keyed by what is limited (a client address, a phone
//! number, a socket). Each process limits on its own, which is what OWASP's guidance asks of a
//! throttle (slow down guessing) without a shared store on the critical path.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::Mutex,
    time::{Duration, Instant},
};

/// A bucket of `capacity` tokens refilled at `per_second`.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The shape of one limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    /// Burst size.
    pub capacity: f64,
    /// Sustained rate.
    pub per_second: f64,
}

impl Quota {
    /// `count` events per `window`, all of which may come at once.
    pub fn per_window(count: u32, window: Duration) -> Self {
        Self {
            capacity: f64::from(count.max(1)),
            per_second: f64::from(count.max(1)) / window.as_secs_f64().max(0.001),
        }
    }
}

impl Bucket {
    /// A full bucket.
    pub fn full(quota: Quota) -> Self {
        Self {
            tokens: quota.capacity,
            updated: Instant::now(),
        }
    }

    fn refill(&mut self, quota: Quota, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * quota.per_second).min(quota.capacity);
        self.updated = now;
    }

    /// Takes a token, or says how long until one is available.
    pub fn try_take(&mut self, quota: Quota) -> Result<(), Duration> {
        self.refill(quota, Instant::now());
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / quota.per_second,
            ))
        }
    }

    /// Whether a token is available, without taking it.
    pub fn peek(&mut self, quota: Quota) -> Result<(), Duration> {
        self.refill(quota, Instant::now());
        if self.tokens >= 1.0 {
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / quota.per_second,
            ))
        }
    }
}

/// Buckets per key. Full buckets are dropped now and then so memory follows active keys only.
pub struct KeyedLimiter<K> {
    quota: Quota,
    enabled: bool,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// A limiter; when `enabled` is false every call succeeds.
    pub fn new(quota: Quota, enabled: bool) -> Self {
        Self {
            quota,
            enabled,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn with_bucket<T>(&self, key: &K, f: impl FnOnce(&mut Bucket, Quota) -> T) -> T {
        let mut buckets = match self.buckets.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if buckets.len() > 100_000 {
            let now = Instant::now();
            let quota = self.quota;
            buckets.retain(|_, b| {
                b.refill(quota, now);
                b.tokens < quota.capacity
            });
        }
        let bucket = buckets
            .entry(key.clone())
            .or_insert_with(|| Bucket::full(self.quota));
        f(bucket, self.quota)
    }

    /// Takes one token for `key`; `Err(wait)` when the key is over its limit.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        if !self.enabled {
            return Ok(());
        }
        self.with_bucket(key, |b, q| b.try_take(q))
    }

    /// Whether `key` is currently over its limit, without counting an event.
    pub fn is_limited(&self, key: &K) -> Result<(), Duration> {
        if !self.enabled {
            return Ok(());
        }
        self.with_bucket(key, |b, q| b.peek(q))
    }

    /// Forgets `key`, e.g. after a successful login.
    pub fn reset(&self, key: &K) {
        let mut buckets = match self.buckets.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        buckets.remove(key);
    }
}

/// Rounds a wait up to whole seconds for `Retry-After`.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refuses() {
        let limiter = KeyedLimiter::new(Quota::per_window(3, Duration::from_secs(60)), true);
        for _ in 0..3 {
            assert!(limiter.check(&"k").is_ok());
        }
        let wait = limiter.check(&"k").unwrap_err();
        assert!(wait > Duration::from_secs(10));
        assert!(limiter.check(&"other").is_ok());
        limiter.reset(&"k");
        assert!(limiter.check(&"k").is_ok());
    }

    #[test]
    fn a_disabled_limiter_never_refuses() {
        let limiter = KeyedLimiter::new(Quota::per_window(1, Duration::from_secs(60)), false);
        for _ in 0..10 {
            assert!(limiter.check(&1).is_ok());
        }
    }
}
