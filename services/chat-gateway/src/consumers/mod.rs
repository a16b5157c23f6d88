//! Consumers of other services' events.

pub mod account_events;
