//! The event-bus abstraction both services hold as `Arc<dyn EventBus>`.

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use uuid::Uuid;

/// Header naming the replica that published an event, so it can skip its own fan-out echo.
pub const ORIGIN_HEADER: &str = "CarInfo-Origin";
/// W3C trace context header.
pub const TRACEPARENT_HEADER: &str = "traceparent";

/// One event on the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// The event id; JetStream de-duplicates on it (`Nats-Msg-Id`).
    pub id: Uuid,
    /// The logical subject, without any deployment prefix.
    pub subject: String,
    /// JSON payload, see [`super::catalog`].
    pub payload: Bytes,
    /// `traceparent`, the origin replica, ...
    pub headers: Vec<(String, String)>,
}

impl Envelope {
    /// The value of one header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Failures of the bus; the caller retries (the outbox keeps the event meanwhile).
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The broker cannot be reached or did not acknowledge in time.
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
    /// The broker refused the request.
    #[error("event bus error: {0}")]
    Other(String),
    /// The broker answered, and refused these events of a batch (by index, with its reason);
    /// it stored every other one. Sending them again would be refused again.
    #[error("event bus refused {} event(s)", .0.len())]
    Refused(Vec<(usize, String)>),
}

/// Acknowledges a durable delivery once it has been applied.
#[async_trait]
pub trait Ack: Send + Sync {
    /// Marks the delivery processed.
    async fn ack(self: Box<Self>);
}

/// A delivery from a durable consumer: apply it, then `ack`.
pub struct Delivery {
    /// The event.
    pub envelope: Envelope,
    /// `None` where the bus has no acknowledgements (in-process).
    pub acker: Option<Box<dyn Ack>>,
}

impl Delivery {
    /// Acknowledges the delivery.
    pub async fn ack(self) {
        if let Some(acker) = self.acker {
            acker.ack().await;
        }
    }
}

/// Publish/subscribe with at-least-once durable consumption.
#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// Publishes events, in order, and waits until the broker has stored every one.
    async fn publish_batch(&self, events: &[Envelope]) -> Result<(), BusError>;

    /// Hands events to whoever subscribes to their subjects right now (core NATS), returning
    /// once the broker has them: nothing is stored or acknowledged by a consumer, and a
    /// subscriber that is not connected misses them. For copies whose durable original goes
    /// through [`Self::publish_batch`].
    async fn publish_live(&self, events: &[Envelope]) -> Result<(), BusError>;

    /// Live events on subjects matching `filter` (NATS wildcards), from now on.
    async fn subscribe(&self, filter: &str) -> Result<BoxStream<'static, Envelope>, BusError>;

    /// Returns once the broker has processed everything this process sent before, the
    /// subscriptions included: from then on they receive whatever anyone publishes. `probe`
    /// is a subject this service may publish to and nobody subscribes to.
    async fn sync(&self, _probe: &str) -> Result<(), BusError> {
        Ok(())
    }

    /// Every stored event matching `filter` that durable consumer `name` has not
    /// acknowledged yet, then live ones. Survives broker restarts.
    async fn consume_durable(
        &self,
        name: &str,
        filter: &str,
    ) -> Result<BoxStream<'static, Delivery>, BusError>;

    /// Whether the broker is reachable right now (for `/readyz`).
    fn is_connected(&self) -> bool;

    /// Moves every time the connection to the broker is (re-)established; live subscriptions
    /// may have missed events in between. `None` for a bus that cannot disconnect.
    fn reconnections(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }
}

/// Resolves once `reconnections` (from [`EventBus::reconnections`]) moves: `true`, or `false`
/// when the bus is gone. Never resolves for a bus that cannot disconnect.
pub async fn reconnected(reconnections: &mut Option<tokio::sync::watch::Receiver<u64>>) -> bool {
    match reconnections.as_mut() {
        Some(watch) => watch.changed().await.is_ok(),
        None => std::future::pending().await,
    }
}

/// NATS subject matching: `*` matches one token, `>` the rest.
pub fn subject_matches(filter: &str, subject: &str) -> bool {
    let mut filter_tokens = filter.split('.');
    let mut subject_tokens = subject.split('.');
    loop {
        match (filter_tokens.next(), subject_tokens.next()) {
            (Some(">"), Some(_)) => return true,
            (Some("*"), Some(_)) => {}
            (Some(f), Some(s)) if f == s => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::subject_matches;

    #[test]
    fn wildcards_match_like_nats() {
        assert!(subject_matches(
            "chat.rooms.*.messages",
            "chat.rooms.r1.messages"
        ));
        assert!(subject_matches("accounts.>", "accounts.users.u1.updated"));
        assert!(!subject_matches("accounts.>", "accounts"));
        assert!(!subject_matches(
            "chat.rooms.*.messages",
            "chat.rooms.r1.created"
        ));
        assert!(subject_matches("a.b", "a.b"));
        assert!(!subject_matches("a.b", "a.b.c"));
    }
}
