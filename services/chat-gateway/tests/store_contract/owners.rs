//! The owner projection and its small key/value state.

use chat_gateway::store::Owner;
use rstest::rstest;
use shared::{config::Backend, ids::UserId};

use crate::store_on;

fn owner(id: UserId, version: i64, is_registered: bool, is_profile_public: bool) -> Owner {
    Owner {
        id,
        is_registered,
        is_profile_public,
        version,
    }
}

#[rstest]
#[tokio::test]
async fn an_owner_snapshot_is_applied_only_when_it_is_newer(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let subject = store_on(backend).await;
    let store = subject.store.as_ref();
    let id = UserId::new_random();
    store
        .upsert_owner(&owner(id, 2, true, true))
        .await
        .expect("stored");

    // Act
    store
        .upsert_owner(&owner(id, 1, false, false))
        .await
        .expect("older");
    let after_older = store.find_owner(id).await.expect("read");
    store
        .upsert_owner(&owner(id, 2, false, false))
        .await
        .expect("same");
    let after_same = store.find_owner(id).await.expect("read");
    store
        .upsert_owner(&owner(id, 3, true, false))
        .await
        .expect("newer");
    let after_newer = store.find_owner(id).await.expect("read");

    // Assert
    assert_eq!(after_older, Some(owner(id, 2, true, true)));
    assert_eq!(after_same, Some(owner(id, 2, true, true)), "idempotent");
    assert_eq!(after_newer, Some(owner(id, 3, true, false)));
    let unknown = store.find_owner(UserId::new_random()).await.expect("read");
    assert_eq!(unknown, None);
}

#[rstest]
#[tokio::test]
async fn a_projection_value_is_created_once_and_then_kept(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let subject = store_on(backend).await;
    let store = subject.store.as_ref();

    // Act
    let first = store
        .projection_value("consumer", "owners-1")
        .await
        .expect("read");
    let second = store
        .projection_value("consumer", "owners-2")
        .await
        .expect("read");
    let other = store.projection_value("other", "x").await.expect("read");

    // Assert
    assert_eq!(first, "owners-1");
    assert_eq!(second, "owners-1", "the first default stays");
    assert_eq!(other, "x");
}
