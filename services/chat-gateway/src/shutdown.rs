//! Ordered shutdown of the chat. When the stop token is cancelled (SIGTERM), the listener stops
//! accepting (`shared::http::serve`) and, here, in this order:
//!
//! 1. sessions stop taking frames from their clients;
//! 2. the writers commit every message already handed to them (bounded by [`WRITERS_DRAIN`]);
//! 3. sessions send what is queued for them, the echoes of those commits included, and close
//!    with 1001 (bounded by [`SESSIONS_CLOSE`]);
//! 4. the outbox relay makes its last attempt, so the final commits reach NATS now rather
//!    than when another replica's relay next polls.
//!
//! So a message accepted before the signal is committed, not dropped with the process, and its
//! sender sees the echo before the close: a client never has to guess whether its last message
//! was saved. Closing the sockets first (as a plain cancellation would) cuts the echoes of
//! commits still in flight.

use std::time::Duration;

use tokio_util::{
    sync::CancellationToken,
    task::{task_tracker::TaskTrackerToken, TaskTracker},
};

use crate::writer::MessageWriter;

/// Longest wait for the writers' last commits. Past it (the database hanging) the sockets are
/// closed anyway: the process must exit within the orchestrator's grace period (30 s by
/// default in Kubernetes), and an uncommitted message was never echoed, so its sender retries.
pub const WRITERS_DRAIN: Duration = Duration::from_secs(10);

/// Longest wait for the sessions' farewells; a client that does not read its last frames is
/// not allowed to hold the process.
pub const SESSIONS_CLOSE: Duration = Duration::from_secs(5);

/// The moments of shutdown a session watches.
#[derive(Clone)]
pub struct ShutdownSignals {
    /// Shutdown has begun: take no more frames.
    pub stop: CancellationToken,
    /// Everything accepted is committed: send what is queued, then close with 1001.
    pub close: CancellationToken,
}

/// The shutdown sequence and the sessions it waits for.
pub struct Shutdown {
    signals: ShutdownSignals,
    sessions: TaskTracker,
}

impl Shutdown {
    /// A sequence that begins when `stop` is cancelled.
    pub fn new(stop: CancellationToken) -> Self {
        Self {
            signals: ShutdownSignals {
                stop,
                close: CancellationToken::new(),
            },
            sessions: TaskTracker::new(),
        }
    }

    /// What a session watches.
    pub fn signals(&self) -> ShutdownSignals {
        self.signals.clone()
    }

    /// Cancelled when shutdown begins.
    pub fn stop(&self) -> &CancellationToken {
        &self.signals.stop
    }

    /// Cancelled once the writers are drained and sockets are told to close.
    pub fn sockets_closing(&self) -> &CancellationToken {
        &self.signals.close
    }

    /// Counts a session until the token is dropped. Taken before the upgrade, so a handshake
    /// completing during shutdown is waited for too.
    pub fn session(&self) -> TaskTrackerToken {
        self.sessions.token()
    }

    /// Waits for the stop token, then drains `writer` and closes the sessions; returns once
    /// they are closed or the bounds have passed.
    pub async fn run(&self, writer: &MessageWriter) {
        self.signals.stop.cancelled().await;
        if !writer.drain(WRITERS_DRAIN).await {
            tracing::warn!(
                "message writers still committing after the drain period; closing sockets anyway"
            );
        }
        self.signals.close.cancel();
        self.sessions.close();
        if tokio::time::timeout(SESSIONS_CLOSE, self.sessions.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                sessions = self.sessions.len(),
                "sessions still closing after the grace period"
            );
        }
    }
}
