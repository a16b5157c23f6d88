//! Resident memory of the test process, which hosts the app under test: how tests show that
//! what a client sends does not grow the server.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

/// This process's resident set size in KiB (0 where /proc is missing).
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// Runs `work` while sampling RSS every few milliseconds; returns its output and the peak
/// growth over the RSS before it started, in KiB.
pub async fn peak_growth_during<T>(work: impl std::future::Future<Output = T>) -> (T, u64) {
    let before = rss_kib();
    let peak = Arc::new(AtomicU64::new(before));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let output = work.await;
    peak.fetch_max(rss_kib(), Ordering::Relaxed);
    sampler.abort();
    (output, peak.load(Ordering::Relaxed).saturating_sub(before))
}
