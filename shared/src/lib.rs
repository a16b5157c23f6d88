//! The cross-service contract of CarInfo and the infrastructure both services share.
//!
//! Exactly what ARCHITECTURE.md assigns to this crate: the JWT key ring, the event catalogue
//! and the bus that carries it, the one HTTP error type that renders the guide's bodies, and
//! telemetry. Nothing service-specific lives here.

pub mod auth;
pub mod config;
pub mod db;
pub mod events;
pub mod http;
pub mod ids;
pub mod metrics;
pub mod rate_limit;
pub mod service;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;
