//! Chat's domain values, parsed once at the edge.

pub mod controls;
pub mod message;
pub mod message_text;
pub mod participant;
pub mod room;
pub mod sender_type;
pub mod visitor_token;

pub use controls::{OwnerSettings, RoomControl, VisitorKey, VisitorMarks};
pub use message::{ClientId, Message, MessageId, NewMessage};
pub use message_text::MessageText;
pub use participant::{Participant, Refusal};
pub use room::{NewRoom, Room, RoomAccess, RoomId, VisitorName};
pub use sender_type::SenderType;
pub use visitor_token::{VisitorToken, VisitorTokenHash};
