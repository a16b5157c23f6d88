//! In-memory rate limiting: token buckets keyed by what is limited (a client address, a phone
//! number, a room's participant). Each process limits on its own, which is what OWASP's
//! guidance asks of a throttle (slow down guessing) without a shared store on the critical path.
//!
//! Keys are whatever a client sent, so the table never stores them: it stores a 64-bit keyed
//! hash (a per-process random SipHash key, so collisions cannot be aimed at) and holds at most
//! `max_keys` buckets. A table of `max_keys` buckets is about `max_keys * 48` bytes, whatever
//! clients send.

use std::{
    collections::{hash_map::RandomState, HashMap},
    hash::{BuildHasher, Hash},
    marker::PhantomData,
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

    fn wait(&self, quota: Quota) -> Duration {
        Duration::from_secs_f64((1.0 - self.tokens).max(0.0) / quota.per_second)
    }

    /// Takes a token, or says how long until one is available.
    pub fn try_take(&mut self, quota: Quota) -> Result<(), Duration> {
        self.refill(quota, Instant::now());
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(self.wait(quota))
        }
    }
}

/// Buckets per key, at most `max_keys` of them.
pub struct KeyedLimiter<K> {
    quota: Quota,
    enabled: bool,
    max_keys: usize,
    hasher: RandomState,
    buckets: Mutex<HashMap<u64, Bucket>>,
    key: PhantomData<fn(&K)>,
}

/// Buckets a limiter holds unless told otherwise (about 5 MB).
pub const DEFAULT_MAX_KEYS: usize = 100_000;

impl<K: Hash> KeyedLimiter<K> {
    /// A limiter; when `enabled` is false every call succeeds.
    pub fn new(quota: Quota, enabled: bool) -> Self {
        Self::bounded(quota, enabled, DEFAULT_MAX_KEYS)
    }

    /// A limiter holding at most `max_keys` buckets.
    pub fn bounded(quota: Quota, enabled: bool, max_keys: usize) -> Self {
        Self {
            quota,
            enabled,
            max_keys: max_keys.max(1),
            hasher: RandomState::new(),
            buckets: Mutex::new(HashMap::new()),
            key: PhantomData,
        }
    }

    fn buckets(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Bucket>> {
        match self.buckets.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Makes room for one more bucket. Refilled buckets carry no information and go first;
    /// if every bucket is still draining (a flood from very many keys), half of them are
    /// forgotten at random: memory stays bounded, and the keys that lose their count are ones
    /// a flood of other keys pushed out, not ones a client can choose.
    fn make_room(&self, buckets: &mut HashMap<u64, Bucket>) {
        if buckets.len() < self.max_keys {
            return;
        }
        let now = Instant::now();
        let quota = self.quota;
        buckets.retain(|_, b| {
            b.refill(quota, now);
            b.tokens < quota.capacity
        });
        if buckets.len() >= self.max_keys {
            let mut keep = false;
            buckets.retain(|_, _| {
                keep = !keep;
                keep
            });
            metrics::counter!("rate_limit_evictions_total").increment(1);
        }
    }

    /// Takes one token for `key`; `Err(wait)` when the key is over its limit.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        if !self.enabled {
            return Ok(());
        }
        let hash = self.hasher.hash_one(key);
        let mut buckets = self.buckets();
        if !buckets.contains_key(&hash) {
            self.make_room(&mut buckets);
        }
        buckets
            .entry(hash)
            .or_insert_with(|| Bucket::full(self.quota))
            .try_take(self.quota)
    }

    /// Whether `key` is currently over its limit, without counting an event or storing a key.
    pub fn is_limited(&self, key: &K) -> Result<(), Duration> {
        if !self.enabled {
            return Ok(());
        }
        let hash = self.hasher.hash_one(key);
        let mut buckets = self.buckets();
        match buckets.get_mut(&hash) {
            Some(bucket) => {
                bucket.refill(self.quota, Instant::now());
                if bucket.tokens >= 1.0 {
                    Ok(())
                } else {
                    Err(bucket.wait(self.quota))
                }
            }
            None => Ok(()),
        }
    }

    /// Gives back a token taken by [`Self::check`] for an event that turned out not to count
    /// (a successful login, a request that was refused for another reason).
    pub fn refund(&self, key: &K) {
        if !self.enabled {
            return;
        }
        let hash = self.hasher.hash_one(key);
        if let Some(bucket) = self.buckets().get_mut(&hash) {
            bucket.tokens = (bucket.tokens + 1.0).min(self.quota.capacity);
        }
    }

    /// Forgets `key`.
    pub fn reset(&self, key: &K) {
        let hash = self.hasher.hash_one(key);
        self.buckets().remove(&hash);
    }

    /// Buckets held now.
    pub fn len(&self) -> usize {
        self.buckets().len()
    }

    /// Whether no bucket is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        limiter.refund(&"k");
        assert!(limiter.check(&"k").is_ok());
        assert!(limiter.check(&"k").is_err());
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

    #[test]
    fn looking_up_a_key_stores_nothing() {
        let limiter = KeyedLimiter::new(Quota::per_window(1, Duration::from_secs(60)), true);
        for i in 0..1000 {
            assert!(limiter.is_limited(&i).is_ok());
        }
        assert!(limiter.is_empty());
    }

    #[test]
    fn the_table_never_exceeds_its_bound() {
        let limiter =
            KeyedLimiter::bounded(Quota::per_window(5, Duration::from_secs(900)), true, 1000);
        for i in 0..50_000 {
            let _ = limiter.check(&format!("{i:060}"));
            assert!(limiter.len() <= 1000);
        }
    }
}
