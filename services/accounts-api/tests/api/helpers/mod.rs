//! What the tests stand on, one concern per module: `spawn_app(Backend)` runs the real
//! accounts-api on port 0 against a fresh database (Postgres paired with NATS under a random
//! subject prefix, SQLite with the in-process bus) and `TestApp` reaches behind it (`app`);
//! `TestApp` has one method per endpoint (`endpoints`); `fixtures` are the owners and bodies a
//! test starts from; `wait` polls for what should happen. Nothing is shared between tests:
//! every test gets its own database, prefix and throttles (a replica shares its first app's).

mod app;
mod endpoints;
mod fixtures;

pub use app::{next_event, spawn_app, spawn_app_with, spawn_replica_of, TestApp, EVENT_TIMEOUT};
pub use endpoints::{body_json, status_and_json};
pub use fixtures::{bare_owner, registration, spaced, unique_phone, TestOwner, PASSWORD};
pub use shared::testing::eventually;
