//! One module per endpoint group of the guide's "Chat REST Endpoints" table.

pub mod chat_start;
pub mod credentials;
pub mod messages;
pub mod room_controls;
pub mod rooms;
pub mod settings;
