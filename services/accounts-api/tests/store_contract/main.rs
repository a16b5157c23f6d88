//! The store contract: every domain method of `AccountStore`, run once on Postgres and once
//! on SQLite through `store::SCHEMA.connect`, as the app gets its store. The two backends are two
//! codebases of SQL; these cases are what makes them one store. Each case names its backend
//! (`backend_1_Backend__Postgres`), so a failure says which one drifted.

#![expect(
    clippy::expect_used,
    reason = "the helpers here fail the test by panicking, as the tests do"
)]

mod profiles;
mod refresh_tokens;
mod registration;

use accounts_api::{
    domain::{PhoneNumber, Profile},
    store::{self, AccountStore, NewRegistration},
};
use rand::Rng;
use shared::{config::Backend, ids::UserId, testing::StoreUnderTest};

/// A store on a fresh database of `backend`, migrated by `store::SCHEMA`.
type Subject = StoreUnderTest<dyn AccountStore>;

async fn store_on(backend: Backend) -> Subject {
    StoreUnderTest::on(&store::SCHEMA, backend).await
}

/// A login phone no other case uses: `+99890` and seven random digits.
fn unique_phone() -> PhoneNumber {
    let raw = format!("+99890{:07}", rand::thread_rng().gen_range(0..10_000_000));
    PhoneNumber::parse(&raw).expect("a valid phone number")
}

/// Every profile field set, so that a column mapped to the wrong field shows.
fn full_profile() -> Profile {
    Profile {
        full_name: "Ali Valiyev".into(),
        phone_number_2: "+998901112233".into(),
        car_model: "Cobalt".into(),
        car_plate_number: "01A123BC".into(),
        instagram: "ali.v".into(),
        telegram: "@aliv".into(),
        whatsapp: "+998901112234".into(),
        is_profile_public: true,
    }
}

/// The registration of sticker `user_id` with `phone`; the hash is never checked here.
fn registration(user_id: UserId, phone: &PhoneNumber, profile: Profile) -> NewRegistration {
    NewRegistration {
        user_id,
        phone_number: phone.clone(),
        password_hash: format!("$argon2id$v=19$m=1024,t=1,p=1$fake${user_id}"),
        profile,
    }
}

/// A sticker issued and registered with `profile`.
async fn registered(store: &dyn AccountStore, profile: Profile) -> (UserId, PhoneNumber) {
    let id = UserId::new_random();
    let phone = unique_phone();
    store.insert_stickers(&[id]).await.expect("sticker issued");
    store
        .register_user(&registration(id, &phone, profile))
        .await
        .expect("registered");
    (id, phone)
}
