//! Events: the catalogue (the wire schema other services consume), the bus that carries it
//! (NATS JetStream or in-process), trace propagation, and the transactional outbox relay.

pub mod applying;
pub mod bus;
pub mod catalog;
pub mod in_process;
pub mod nats;
pub mod nats_auth;
pub mod outbox;
pub mod trace_context;

pub use bus::{BusError, Delivery, Envelope, EventBus};
pub use in_process::InProcessBus;
pub use nats::{NatsBus, StreamLimits};
pub use nats_auth::NatsAuth;

use std::sync::Arc;

/// The bus a service uses: NATS JetStream when `nats_url` is set (as the user in `auth`),
/// in-process otherwise.
pub async fn connect_bus(
    nats_url: Option<&str>,
    subject_prefix: &str,
    limits: &StreamLimits,
    auth: &NatsAuth,
) -> Result<Arc<dyn EventBus>, BusError> {
    Ok(match nats_url.filter(|u| !u.is_empty()) {
        Some(url) => Arc::new(
            NatsBus::connect_with_auth(url, subject_prefix, auth)
                .await?
                .with_stream_limits(limits.clone()),
        ),
        None => Arc::new(InProcessBus::new()),
    })
}
