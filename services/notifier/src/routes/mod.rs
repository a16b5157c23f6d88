//! One module per endpoint group: the VAPID key, and the owner's push subscriptions.

pub mod subscriptions;
pub mod vapid_key;
