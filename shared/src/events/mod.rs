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
pub use nats::NatsBus;
