//! What the tests stand on, one concern per module: `spawn_app(Backend)` runs the real
//! chat-gateway on port 0 against a fresh database (Postgres paired with NATS under a random
//! subject prefix, SQLite with the in-process bus) and `spawn_cluster(2)` two replicas on one
//! database and prefix (`app`); `TestApp` has one method per endpoint (`endpoints`) plus
//! `open_ws` for the socket, whose client is in `ws`; `fixtures` are the owners and chats a
//! test starts from, `jetstream` looks at what the broker stored, `assertions` holds the wire
//! shapes tests compare with, and `wait` how long they wait. Nothing is shared between tests:
//! every test gets its own database, prefix, key and throttles.

mod app;
mod assertions;
mod endpoints;
mod fixtures;
mod jetstream;
mod wait;
mod ws;

pub use app::{
    publish, spawn_app, spawn_app_with, spawn_cluster, spawn_replica, Placement, TestApp,
};
pub use assertions::{
    chat_expired, is_uuid, is_wire_timestamp, keys, not_authenticated, not_found,
    permission_denied, status_and_json, tally,
};
pub use fixtures::{snapshot, Auth, StartedChat, TestOwner};
pub use jetstream::{chat_stream_events, chat_stream_name, nats_msg_id, StoredEvent};
pub use shared::testing::{eventually, PATIENCE};
pub use wait::QUIET;
pub use ws::{Collector, Ending, WsClient, WsSender};
