//! One module per endpoint group of the guide's "User & Auth" table.

pub mod docs;
pub mod login;
pub mod profile;
pub mod profile_fields;
pub mod profile_request;
pub mod public_users;
pub mod refresh_body;
pub mod register;
pub mod stickers;
pub mod token_blacklist;
pub mod token_refresh;
pub mod user_body;
