//! notifier: Web Push notifications to owners, fed by the chat events.
//!
//! `router` → `routes` → `domain` → `store` for the owners' subscriptions; `consumer` turns
//! `chat.>` events into pending notifications (at least once, de-duplicated by event id),
//! `dispatcher` turns due ones into deliveries and sends them through `push` (VAPID,
//! payload encryption, the guard on where endpoints lead).

pub mod app;
pub mod config;
pub mod consumer;
pub mod dispatcher;
pub mod domain;
pub mod error;
pub mod openapi;
pub mod push;
pub mod router;
pub mod routes;
pub mod state;
pub mod store;

pub use app::{Application, NotifierService};
pub use config::Config;
pub use router::{openapi, router};
