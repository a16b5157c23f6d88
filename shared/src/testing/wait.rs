//! Waiting in tests for what should happen, by polling rather than sleeping a guessed time.

use std::{future::Future, time::Duration};

/// How long a test waits for something that should happen (an event, a frame, a projection).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Polls `probe` until it yields a value, failing the test after [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
