//! Changing a registered owner's profile, and the list of public profiles.

use accounts_api::{
    domain::{Profile, ProfilePatch, ProfileUpdate},
    store::{Constraint, StoreError},
};
use rstest::rstest;
use shared::{config::Backend, ids::UserId};

use crate::{full_profile, registered, store_on, unique_phone};

#[rstest]
#[tokio::test]
async fn a_profile_update_changes_only_the_fields_it_names_and_bumps_the_version(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let subject = store_on(backend).await;
    let (id, old_phone) = registered(subject.store.as_ref(), full_profile()).await;
    let new_phone = unique_phone();
    let patch = ProfileUpdate {
        phone_number: Some(new_phone.clone()),
        profile: ProfilePatch {
            full_name: Some("Vali Aliyev".into()),
            instagram: Some(String::new()),
            is_profile_public: Some(false),
            ..ProfilePatch::default()
        },
    };

    // Act
    let user = subject
        .store
        .update_profile(id, &patch)
        .await
        .expect("updated");

    // Assert
    assert_eq!(user.version, 2);
    assert_eq!(user.phone_number.as_ref(), Some(&new_phone));
    assert_eq!(
        user.profile,
        Profile {
            full_name: "Vali Aliyev".into(),
            instagram: String::new(),
            is_profile_public: false,
            ..full_profile()
        }
    );
    let stored = subject.store.find_user(id).await.expect("read");
    assert_eq!(stored.as_ref(), Some(&user));
    let by_new = subject
        .store
        .find_user_by_phone(&new_phone)
        .await
        .expect("read");
    assert_eq!(by_new.map(|u| u.id), Some(id));
    let by_old = subject
        .store
        .find_user_by_phone(&old_phone)
        .await
        .expect("read");
    assert_eq!(by_old, None);
}

#[rstest]
#[tokio::test]
async fn a_profile_update_is_refused_for_an_unregistered_sticker_and_a_taken_phone(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let subject = store_on(backend).await;
    let (id, _) = registered(subject.store.as_ref(), full_profile()).await;
    let (_, taken_phone) = registered(subject.store.as_ref(), full_profile()).await;
    let sticker = UserId::new_random();
    subject
        .store
        .insert_stickers(&[sticker])
        .await
        .expect("issued");
    let rename = ProfileUpdate {
        phone_number: None,
        profile: ProfilePatch {
            full_name: Some("Nobody".into()),
            ..ProfilePatch::default()
        },
    };

    // Act
    let unregistered = subject.store.update_profile(sticker, &rename).await;
    let unknown = subject
        .store
        .update_profile(UserId::new_random(), &rename)
        .await;
    let taken = subject
        .store
        .update_profile(
            id,
            &ProfileUpdate {
                phone_number: Some(taken_phone),
                profile: ProfilePatch::default(),
            },
        )
        .await;

    // Assert
    assert!(
        matches!(unregistered, Err(StoreError::NotFound)),
        "{unregistered:?}"
    );
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
    assert!(
        matches!(taken, Err(StoreError::Conflict(Constraint::PhoneNumber))),
        "{taken:?}"
    );
    let user = subject
        .store
        .find_user(id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(user.version, 1, "a refused update changes nothing");
}

#[rstest]
#[tokio::test]
async fn public_users_are_the_registered_public_ones_oldest_registration_first(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let subject = store_on(backend).await;
    let store = subject.store.as_ref();
    let (first, _) = registered(store, full_profile()).await;
    let (hidden, _) = registered(
        store,
        Profile {
            is_profile_public: false,
            ..full_profile()
        },
    )
    .await;
    let (second, _) = registered(store, full_profile()).await;
    let (made_private, _) = registered(store, full_profile()).await;
    store
        .insert_stickers(&[UserId::new_random()])
        .await
        .expect("an unregistered sticker");
    store
        .update_profile(
            made_private,
            &ProfileUpdate {
                phone_number: None,
                profile: ProfilePatch {
                    is_profile_public: Some(false),
                    ..ProfilePatch::default()
                },
            },
        )
        .await
        .expect("made private");

    // Act
    let listed = store.list_public_users().await.expect("listed");

    // Assert
    let ids: Vec<UserId> = listed.iter().map(|u| u.id).collect();
    assert_eq!(ids, vec![first, second], "not {hidden} nor {made_private}");
    assert_eq!(
        listed[0],
        store.find_user(first).await.expect("read").expect("found")
    );
}
