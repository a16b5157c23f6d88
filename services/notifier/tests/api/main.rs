//! The notifier through its public interfaces: HTTP, the chat events it consumes, and the
//! push requests it makes to a push service on a local port.

mod helpers;
mod nats_auth;
mod notifications;
mod restarts;
mod ssrf;
mod subscriptions;
mod vapid_key;
