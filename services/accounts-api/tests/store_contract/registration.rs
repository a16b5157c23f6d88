//! Issuing stickers and registering them: what a registration stores, finds and refuses.

use accounts_api::{
    domain::{Profile, RegistrationConflict},
    store::{Constraint, StoreError},
};
use rstest::rstest;
use shared::{config::Backend, ids::UserId};

use crate::{full_profile, registered, registration, store_on, unique_phone};

#[rstest]
#[tokio::test]
async fn an_issued_sticker_is_an_unregistered_user_with_the_default_profile(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let subject = store_on(backend).await;
    let (a, b) = (UserId::new_random(), UserId::new_random());

    // Act
    subject
        .store
        .insert_stickers(&[a, b])
        .await
        .expect("stickers issued");

    // Assert
    for id in [a, b] {
        let user = subject
            .store
            .find_user(id)
            .await
            .expect("read")
            .expect("found");
        assert_eq!(user.id, id);
        assert!(!user.is_registered);
        assert_eq!(user.phone_number, None);
        assert_eq!(user.password_hash, None);
        assert_eq!(
            user.profile,
            Profile {
                is_profile_public: true,
                ..Profile::default()
            }
        );
        assert_eq!(user.version, 0);
    }
    let unknown = subject.store.find_user(UserId::new_random()).await;
    assert_eq!(unknown.expect("read"), None);
}

#[rstest]
#[tokio::test]
async fn a_batch_with_an_issued_sticker_conflicts_and_issues_none(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let subject = store_on(backend).await;
    let issued = UserId::new_random();
    subject
        .store
        .insert_stickers(&[issued])
        .await
        .expect("issued");
    let fresh = UserId::new_random();

    // Act
    let result = subject.store.insert_stickers(&[fresh, issued]).await;

    // Assert
    assert!(
        matches!(result, Err(StoreError::Conflict(Constraint::UserId))),
        "{result:?}"
    );
    let fresh = subject.store.find_user(fresh).await.expect("read");
    assert_eq!(fresh, None, "the batch is one transaction");
}

#[rstest]
#[tokio::test]
async fn registering_a_sticker_stores_the_owner_and_finds_it_by_id_and_by_phone(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let subject = store_on(backend).await;
    let id = UserId::new_random();
    let phone = unique_phone();
    subject.store.insert_stickers(&[id]).await.expect("issued");
    let new = registration(id, &phone, full_profile());

    // Act
    let user = subject.store.register_user(&new).await.expect("registered");

    // Assert
    assert_eq!(user.id, id);
    assert!(user.is_registered);
    assert_eq!(user.phone_number.as_ref(), Some(&phone));
    assert_eq!(
        user.password_hash.as_deref(),
        Some(new.password_hash.as_str())
    );
    assert_eq!(user.profile, full_profile());
    assert_eq!(user.version, 1);
    let by_id = subject.store.find_user(id).await.expect("read");
    assert_eq!(by_id.as_ref(), Some(&user));
    let by_phone = subject
        .store
        .find_user_by_phone(&phone)
        .await
        .expect("read");
    assert_eq!(by_phone.as_ref(), Some(&user));
    let nobody = subject.store.find_user_by_phone(&unique_phone()).await;
    assert_eq!(nobody.expect("read"), None);
}

#[rstest]
#[tokio::test]
async fn registration_is_refused_for_an_unknown_or_registered_sticker_and_a_taken_phone(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let subject = store_on(backend).await;
    let (taken_id, taken_phone) = registered(subject.store.as_ref(), full_profile()).await;
    let other = UserId::new_random();
    subject
        .store
        .insert_stickers(&[other])
        .await
        .expect("issued");

    // Act
    let unknown = subject
        .store
        .register_user(&registration(
            UserId::new_random(),
            &unique_phone(),
            Profile::default(),
        ))
        .await;
    let again = subject
        .store
        .register_user(&registration(taken_id, &unique_phone(), Profile::default()))
        .await;
    let same_phone = subject
        .store
        .register_user(&registration(other, &taken_phone, Profile::default()))
        .await;

    // Assert
    assert!(
        matches!(
            unknown,
            Err(StoreError::Registration(
                RegistrationConflict::UnknownSticker
            ))
        ),
        "{unknown:?}"
    );
    assert!(
        matches!(
            again,
            Err(StoreError::Registration(
                RegistrationConflict::AlreadyRegistered
            ))
        ),
        "{again:?}"
    );
    assert!(
        matches!(
            same_phone,
            Err(StoreError::Conflict(Constraint::PhoneNumber))
        ),
        "{same_phone:?}"
    );
    let other = subject
        .store
        .find_user(other)
        .await
        .expect("read")
        .expect("found");
    assert!(
        !other.is_registered,
        "a refused registration changes nothing"
    );
    assert_eq!(other.version, 0);
}
