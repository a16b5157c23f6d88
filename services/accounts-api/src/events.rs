//! Domain → event: the account events a change produces.

use shared::events::{
    catalog::{AccountEvent, UserSnapshot},
    outbox::OutboxEvent,
};

use crate::domain::User;

fn snapshot(user: &User) -> UserSnapshot {
    UserSnapshot {
        id: user.id,
        is_registered: user.is_registered,
        is_profile_public: user.profile.is_profile_public,
        full_name: user.profile.full_name.clone(),
        car_model: user.profile.car_model.clone(),
        car_plate_number: user.profile.car_plate_number.clone(),
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
