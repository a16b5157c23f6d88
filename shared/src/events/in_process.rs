//! The in-process bus of the embedded default: a `tokio::sync::broadcast` channel.
//!
//! Nothing is stored, so "durable" consumption is live consumption; the standalone bundle
//! starts its consumers before the relays that feed them, so no event is missed.

use async_trait::async_trait;
use futures::{stream::BoxStream, StreamExt};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

use super::bus::{subject_matches, BusError, Delivery, Envelope, EventBus};

/// A bus that lives inside one process.
#[derive(Clone)]
pub struct InProcessBus {
    sender: broadcast::Sender<Envelope>,
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new()
    }
}

impl InProcessBus {
    /// A bus with room for bursts of events before slow subscribers lag.
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(65_536);
        Self { sender }
    }

    fn matching(&self, filter: &str) -> BoxStream<'static, Envelope> {
        let filter = filter.to_owned();
        BroadcastStream::new(self.sender.subscribe())
            .filter_map(move |item| {
                let keep = match item {
                    Ok(envelope) if subject_matches(&filter, &envelope.subject) => Some(envelope),
                    Ok(_) => None,
                    Err(lagged) => {
                        tracing::warn!(error = %lagged, "in-process subscriber lagged");
                        None
                    }
                };
                futures::future::ready(keep)
            })
            .boxed()
    }
}

#[async_trait]
impl EventBus for InProcessBus {
    async fn publish_batch(&self, events: &[Envelope]) -> Result<(), BusError> {
        for event in events {
            // No receivers is not an error: nobody is interested yet.
            let _ = self.sender.send(event.clone());
        }
        Ok(())
    }

    async fn publish_live(&self, events: &[Envelope]) -> Result<(), BusError> {
        self.publish_batch(events).await
    }

    async fn subscribe(&self, filter: &str) -> Result<BoxStream<'static, Envelope>, BusError> {
        Ok(self.matching(filter))
    }

    async fn consume_durable(
        &self,
        _name: &str,
        filter: &str,
    ) -> Result<BoxStream<'static, Delivery>, BusError> {
        Ok(self
            .matching(filter)
            .map(|envelope| Delivery {
                envelope,
                acker: None,
            })
            .boxed())
    }

    fn is_connected(&self) -> bool {
        true
    }
}
