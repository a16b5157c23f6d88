//! Values parsed once into types that cannot be invalid, and the decisions that need no I/O:
//! which addresses are public, what a room's pending notification becomes when it is sent,
//! what the payload says. No HTTP, no SQL.

pub mod address;
mod endpoint;
mod notification;
mod owner_settings;
mod pending_room;
mod subscription;

pub use endpoint::{EndpointError, PushEndpoint};
pub use notification::{preview, Notification, PREVIEW_CHARS};
pub use owner_settings::OwnerSettings;
pub use pending_room::{Dispatch, PendingRoom, Silence};
pub use subscription::{AuthSecret, KeyError, NewSubscription, P256dh, SubscriptionKeys};
