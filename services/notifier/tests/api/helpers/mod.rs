//! What the tests stand on, one concern per module: `spawn_app(Backend)` runs the real
//! notifier on port 0 against a fresh database (Postgres paired with NATS under a random
//! subject prefix, SQLite with the in-process bus) and `TestApp` has one method per endpoint
//! (`app`); `events` builds chat events as chat-gateway publishes them; `push_service` is a
//! push service on a local port that records what it is sent and answers as told;
//! `interop` opens those requests with an implementation from PyPI, not ours.

mod app;
mod events;
mod interop;
mod push_service;

pub use app::{spawn_app, spawn_app_with, spawn_notifier, Placement, TestApp};
pub use events::{owner_message, room_created, settings_changed, visitor_message};
pub use interop::{open, Subscriber};
pub use push_service::{PushService, Received, Reply};
pub use shared::testing::{eventually, PATIENCE};

/// How long a test waits to be sure nothing more arrives.
pub const QUIET: std::time::Duration = std::time::Duration::from_millis(1500);
