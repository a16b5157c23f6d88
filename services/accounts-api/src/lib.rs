//! accounts-api: stickers, registration, argon2 passwords, JWT issue and refresh, profiles.
//!
//! A library with a thin binary, so tests and the standalone bundle build the same app:
//! `router` → `routes` (handlers) → `domain` (parsed values) → `store` (one trait, two backends),
//! with events leaving through the transactional outbox.

pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod login_throttle;
pub mod openapi;
pub mod profile_cache;
pub mod router;
pub mod routes;
pub mod sessions;
pub mod state;
pub mod sticker_sheet;
pub mod store;

pub use app::{AccountsService, Application};
pub use config::Config;
pub use router::{openapi, router};
