//! Rooms: creating them, authorising access, the owner's inbox and its unread counts.

use chat_gateway::domain::SenderType;
use chat_gateway::{
    domain::{Room, RoomId},
    store::{ChatStore, StoreError},
};
use rstest::rstest;
use shared::{config::Backend, ids::UserId};

use crate::{insert, message, ms, new_room, store_on};

/// The unread count of `owner`'s only room.
async fn unread(store: &dyn ChatStore, owner: UserId) -> i64 {
    store.list_rooms_for_owner(owner).await.expect("listed")[0].unread_count
}

#[rstest]
#[tokio::test]
async fn a_created_room_is_listed_and_authorised_as_it_was_created(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let subject = store_on(backend).await;
    let store = subject.store.as_ref();
    let new = new_room(UserId::new_random(), shared::time::now());

    // Act
    let room = store.create_room(&new).await.expect("created");

    // Assert
    assert_eq!(room.id, new.id);
    assert_eq!(room.owner_id, new.owner_id);
    assert_eq!(room.visitor_name, "Mehmon");
    assert!(room.is_active);
    assert_eq!(room.created_at, new.created_at);
    assert_eq!(room.updated_at, new.created_at);
    assert_eq!(room.last_message, None);
    assert_eq!(room.unread_count, 0);
    let listed = store
        .list_rooms_for_owner(new.owner_id)
        .await
        .expect("listed");
    assert_eq!(listed, vec![room]);
    let access = store
        .find_room_access(new.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(access.id, new.id);
    assert_eq!(access.owner_id, new.owner_id);
    assert_eq!(access.visitor_token_hash, new.visitor_token_hash);
    assert!(access.is_active);
    assert_eq!(access.message_count, 0);
    assert_eq!(access.last_activity, new.created_at);
    let unknown = store
        .find_room_access(RoomId::generate())
        .await
        .expect("read");
    assert!(unknown.is_none());
}

#[rstest]
#[tokio::test]
async fn a_room_id_is_created_once(#[values(Backend::Postgres, Backend::Sqlite)] backend: Backend) {
    // Arrange
    let subject = store_on(backend).await;
    let new = new_room(UserId::new_random(), shared::time::now());
    subject.store.create_room(&new).await.expect("created");

    // Act
    let again = subject.store.create_room(&new).await;

    // Assert
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
}

#[rstest]
#[tokio::test]
async fn the_inbox_moves_a_room_with_a_newer_message_to_the_top(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let subject = store_on(backend).await;
    let store = subject.store.as_ref();
    let owner_id = UserId::new_random();
    // Opened a moment ago: the message, stamped by its commit, is newer than both.
    let start = shared::time::now() - ms(10);
    let older = store
        .create_room(&new_room(owner_id, start))
        .await
        .expect("room");
    let newer = store
        .create_room(&new_room(owner_id, start + ms(1)))
        .await
        .expect("room");
    let others = store
        .create_room(&new_room(UserId::new_random(), start + ms(2)))
        .await
        .expect("another owner's room");
    let before = store.list_rooms_for_owner(owner_id).await.expect("listed");

    // Act
    insert(
        store,
        &[message(older.id, SenderType::Visitor, "salom")],
        owner_id,
    )
    .await;

    // Assert
    let ids = |rooms: &[Room]| rooms.iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(&before), vec![newer.id, older.id]);
    let after = store.list_rooms_for_owner(owner_id).await.expect("listed");
    assert_eq!(ids(&after), vec![older.id, newer.id], "not {}", others.id);
}

#[rstest]
#[tokio::test]
async fn the_owner_writing_or_reading_clears_the_unread_count(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let subject = store_on(backend).await;
    let store = subject.store.as_ref();
    let owner_id = UserId::new_random();
    let start = shared::time::now();
    let room = store
        .create_room(&new_room(owner_id, start))
        .await
        .expect("room");
    let visitor = || message(room.id, SenderType::Visitor, "salom");

    // Act & Assert: counts add up across batches, reset when the owner writes or reads.
    insert(store, &[visitor(), visitor()], owner_id).await;
    assert_eq!(unread(store, owner_id).await, 2);
    insert(store, &[visitor()], owner_id).await;
    assert_eq!(unread(store, owner_id).await, 3);
    let reply = message(room.id, SenderType::Owner, "ha");
    insert(store, &[reply, visitor()], owner_id).await;
    assert_eq!(
        unread(store, owner_id).await,
        1,
        "only what came after the reply"
    );
    store.mark_read_by_owner(room.id).await.expect("read");
    assert_eq!(unread(store, owner_id).await, 0);
    store.mark_read_by_owner(room.id).await.expect("read again");
    assert_eq!(unread(store, owner_id).await, 0);
    let access = store
        .find_room_access(room.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(access.message_count, 5, "reading counts no message");
}
