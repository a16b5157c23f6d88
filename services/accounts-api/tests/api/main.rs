//! accounts-api's integration tests: the real app on port 0, real Postgres + NATS and SQLite +
//! in-process bus, one module per endpoint group of the guide.
#![expect(
    clippy::expect_used,
    reason = "helpers outside #[test] functions fail the test loudly, as the tests themselves do"
)]

mod asyncapi;
mod cli;
mod connections;
mod events;
mod helpers;
mod hostile_clients;
mod login;
mod nats_auth;
mod openapi;
mod operations;
mod outage;
mod profile;
mod public_profile_cache;
mod public_users;
mod register;
mod sticker_sheet;
mod stickers;
mod token_blacklist;
mod token_refresh;
