//! Chat's domain values, parsed once at the edge.

pub mod message;
pub mod message_text;
pub mod room;
pub mod visitor_token;

pub use message::{Message, MessageId};
pub use message_text::MessageText;
pub use room::{NewRoom, Room, RoomAccess, RoomId, VisitorName};
pub use shared::events::catalog::SenderType;
pub use visitor_token::{VisitorToken, VisitorTokenHash};
