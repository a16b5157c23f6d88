//! Domain → event: the account events a change produces.

use shared::events::{
    catalog::{AccountEvent, UserSnapshot},
    outbox::OutboxEvent,
};

use crate::domain::User;

/// The owner as consumers may know them. A hidden profile's name and car stay in accounts-api:
/// the events are kept in a stream other services read, and what consumers need of a hidden
/// profile (is it registered, is it public, which version) is not personal.
fn snapshot(user: &User) -> UserSnapshot {
    let public = user.profile.is_profile_public;
    let shown = |value: &String| if public { value.clone() } else { String::new() };
    UserSnapshot {
        id: user.id,
        is_registered: user.is_registered,
        is_profile_public: public,
        full_name: shown(&user.profile.full_name),
        car_model: shown(&user.profile.car_model),
        car_plate_number: shown(&user.profile.car_plate_number),
        version: user.version,
    }
}

/// `accounts.users.<id>.registered`.
pub fn user_registered(user: &User) -> OutboxEvent {
    AccountEvent::UserRegistered(snapshot(user)).to_outbox(shared::time::now())
}

/// `accounts.users.<id>.updated`.
pub fn user_updated(user: &User) -> OutboxEvent {
    AccountEvent::UserUpdated(snapshot(user)).to_outbox(shared::time::now())
}
