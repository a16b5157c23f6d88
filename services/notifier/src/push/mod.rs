//! Talking to push services: the VAPID key, the guard on where endpoints lead, and the
//! sender of one encrypted, signed push request.

pub mod guard;
pub mod sender;
pub mod vapid;

pub use guard::{EndpointGuard, Refusal};
pub use sender::{Outcome, PushSender};
pub use vapid::VapidKey;
