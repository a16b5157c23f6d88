//! Unpredictable values for invented phones, methods and paths, without a `rand` dependency:
//! std's `RandomState` is seeded from the OS and rekeyed per instance. Good enough to make
//! values distinct and unguessable by a cache; never use it for secrets.

use std::{
    collections::hash_map::RandomState,
    hash::BuildHasher,
    sync::atomic::{AtomicU64, Ordering},
};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh pseudo-random number.
pub fn next_u64() -> u64 {
    RandomState::new().hash_one(COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// `count` random decimal digits.
pub fn digits(count: usize) -> String {
    let mut out = String::with_capacity(count);
    while out.len() < count {
        let mut x = next_u64();
        // A u64 carries 19 full decimal digits.
        for _ in 0..19.min(count - out.len()) {
            out.push(char::from(b'0' + (x % 10) as u8));
            x /= 10;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_has_the_requested_length_and_only_digits() {
        for n in [0, 1, 7, 19, 20, 1000] {
            let d = digits(n);
            assert_eq!(d.len(), n);
            assert!(d.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn next_u64_does_not_repeat() {
        assert_ne!(next_u64(), next_u64());
    }
}
