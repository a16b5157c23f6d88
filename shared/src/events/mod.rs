//! Events: the catalogue (the wire schema other services consume), the bus that carries it
//! (NATS JetStream or in-process), trace propagation, and the transactional outbox relay.

pub mod bus;
pub mod catalog;
pub mod in_process;
pub mod nats;
pub mod outbox;
pub mod trace_context;

pub use bus::{BusError, Delivery, Envelope, EventBus};
pub use in_process::InProcessBus;
pub use nats::{NatsBus, StreamLimits};

use std::sync::Arc;

/// The bus a service uses: NATS JetStream when `nats_url` is set, in-process otherwise.
pub async fn connect_bus(
    nats_url: Option<&str>,
    subject_prefix: &str,
    limits: &StreamLimits,
) -> Result<Arc<dyn EventBus>, BusError> {
    Ok(match nats_url.filter(|u| !u.is_empty()) {
        Some(url) => Arc::new(
            NatsBus::connect(url, subject_prefix)
                .await?
                .with_stream_limits(limits.clone()),
        ),
        None => Arc::new(InProcessBus::new()),
    })
}
