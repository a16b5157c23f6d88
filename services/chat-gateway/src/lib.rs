//! chat-gateway: rooms, messages, visitor tokens and WebSocket sessions; scales out across
//! replicas through NATS.
//!
//! `router` → `routes` / `ws::upgrade` → `domain` → `writer` (group commit) → `store`; committed
//! messages go to local sockets through the `ws::hub` at once and to other replicas through
//! the outbox and NATS (`fanout`). Owners come from `consumers::account_events`. `shutdown`
//! orders a stop: frames refused, writers drained, then sockets closed.

pub mod app;
pub mod config;
pub mod consumers;
pub mod domain;
pub mod error;
pub mod events;
pub mod fanout;
pub mod limits;
pub mod openapi;
pub mod router;
pub mod routes;
pub mod shutdown;
pub mod state;
pub mod store;
pub mod writer;
pub mod ws;

pub use app::{Application, ChatService};
pub use config::Config;
pub use router::{openapi, router};
