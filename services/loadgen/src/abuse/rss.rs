//! Server memory across a burst: RSS before, the peak sampled every 20 ms, and after. The
//! sampler runs on a blocking thread so that a runtime saturated by the burst it measures
//! cannot skip the samples that matter.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::proc_stats;

const EVERY: Duration = Duration::from_millis(20);

/// A running sampler; [`RssSampler::finish`] stops it and reports.
pub struct RssSampler {
    pid: Option<String>,
    before: Option<u64>,
    stop: Arc<AtomicBool>,
    peak: JoinHandle<Option<u64>>,
}

impl RssSampler {
    /// Reads RSS now and starts sampling. Without a pid every figure is null.
    pub fn start(pid: Option<&str>) -> Self {
        let pid = pid.map(str::to_owned);
        let before = pid.as_deref().and_then(proc_stats::rss_kib);
        let stop = Arc::new(AtomicBool::new(false));
        let (sampled_pid, sampled_stop) = (pid.clone(), stop.clone());
        let peak = tokio::task::spawn_blocking(move || {
            let mut peak = None;
            while !sampled_stop.load(Ordering::Relaxed) {
                peak = peak.max(sampled_pid.as_deref().and_then(proc_stats::rss_kib));
                std::thread::sleep(EVERY);
            }
            peak
        });
        Self {
            pid,
            before,
            stop,
            peak,
        }
    }

    /// Stops sampling and reports before, peak, after and the growths, in KiB.
    pub async fn finish(self) -> Value {
        self.stop.store(true, Ordering::Relaxed);
        let after = self.pid.as_deref().and_then(proc_stats::rss_kib);
        let sampled = self.peak.await.ok().flatten();
        let peak = sampled.max(after).max(self.before);
        json!({
            "rss_before_kib": self.before,
            "rss_peak_kib": peak,
            "rss_after_kib": after,
            "rss_peak_growth_kib": growth(self.before, peak),
            "rss_growth_kib": growth(self.before, after),
        })
    }
}

/// `to - from`, which may be negative when the allocator returns memory.
fn growth(from: Option<u64>, to: Option<u64>) -> Option<i64> {
    Some(i64::try_from(to?).ok()? - i64::try_from(from?).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn samples_this_process_and_reports_null_without_a_pid() {
        let own = RssSampler::start(Some("self")).finish().await;
        assert!(own["rss_peak_kib"].as_u64().is_some_and(|kib| kib > 0));
        let none = RssSampler::start(None).finish().await;
        assert!(none["rss_peak_growth_kib"].is_null());
    }

    #[test]
    fn growth_may_be_negative() {
        assert_eq!(growth(Some(10), Some(4)), Some(-6));
        assert_eq!(growth(None, Some(4)), None);
    }
}
