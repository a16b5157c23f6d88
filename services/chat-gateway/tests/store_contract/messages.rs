//! Committing message batches, each message in its room's order, once per client id, and
//! reading a room's history and read positions back.

use chat_gateway::domain::{ClientId, SenderType};
use chat_gateway::{
    domain::{Message, MessageId, RoomId},
    store::{self, Committed},
};
use rstest::rstest;
use shared::{config::Backend, ids::UserId};

use crate::{commit, conversation, insert, message, ms, new_room, store_on};

#[rstest]
#[tokio::test]
async fn a_committed_batch_moves_each_of_its_rooms_and_their_counts(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange: two rooms of one owner; the batch writes to both.
    let subject = store_on(backend).await;
    let store = subject.store.as_ref();
    let owner_id = UserId::new_random();
    let start = shared::time::now();
    let quiet = store
        .create_room(&new_room(owner_id, start))
        .await
        .expect("room");
    let busy = store
        .create_room(&new_room(owner_id, start + ms(1)))
        .await
        .expect("room");
    let batch = vec![
        message(busy.id, SenderType::Visitor, "salom"),
        message(quiet.id, SenderType::Visitor, "bormisiz"),
        message(busy.id, SenderType::Owner, "ha"),
        message(busy.id, SenderType::Visitor, "mashinangiz"),
        message(busy.id, SenderType::Visitor, "yo'lni to'sib qo'ygan"),
    ];

    // Act
    let stored = insert(store, &batch, owner_id).await;

    // Assert: each message in its room's order, stamped at the commit; unread counts visitor
    // messages since the owner wrote.
    let places: Vec<i64> = stored.iter().map(|m| m.position).collect();
    assert_eq!(places, vec![1, 1, 2, 3, 4]);
    assert!(stored.iter().all(|m| m.created_at >= start));
    // One batch is one moment: both rooms moved to it (their order is then by id).
    let mut rooms = store.list_rooms_for_owner(owner_id).await.expect("listed");
    rooms.sort_by_key(|r| r.id != busy.id);
    let ids: Vec<RoomId> = rooms.iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![busy.id, quiet.id]);
    assert_eq!(rooms[0].updated_at, rooms[1].updated_at);
    assert_eq!(rooms[0].last_message.as_ref(), Some(&stored[4]));
    assert_eq!(rooms[0].unread_count, 2);
    assert_eq!(rooms[0].updated_at, stored[4].created_at);
    assert_eq!(rooms[1].last_message.as_ref(), Some(&stored[1]));
    assert_eq!(rooms[1].unread_count, 1);
    let access = store
        .find_room_access(busy.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(access.message_count, 4);
    assert_eq!(access.last_activity, stored[4].created_at);
    let history = store
        .list_messages(busy.id, None, None)
        .await
        .expect("read");
    let expected: Vec<Message> = [0, 2, 3, 4].iter().map(|&i| stored[i].clone()).collect();
    assert_eq!(history, expected, "the room's own messages, oldest first");
}

#[rstest]
#[tokio::test]
async fn a_preview_keeps_the_first_characters_of_a_long_message(
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
    let long = "ш".repeat(store::PREVIEW_CHARS + 30);
    let sent = message(room.id, SenderType::Visitor, &long);

    // Act
    let stored = insert(store, std::slice::from_ref(&sent), owner_id).await;

    // Assert
    let rooms = store.list_rooms_for_owner(owner_id).await.expect("listed");
    let last = rooms[0].last_message.as_ref().expect("a last message");
    assert_eq!(last.content, "ш".repeat(store::PREVIEW_CHARS));
    assert_eq!((last.id, last.created_at), (sent.id, stored[0].created_at));
    let history = store
        .list_messages(room.id, None, None)
        .await
        .expect("read");
    assert_eq!(history[0].content, long, "the message itself is whole");
}

#[rstest]
#[tokio::test]
async fn history_pages_after_a_message_or_a_place_in_the_room(
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
    let sent = insert(store, &conversation(room.id, 6), owner_id).await;
    let elsewhere = store
        .create_room(&new_room(owner_id, start))
        .await
        .expect("another room");
    let foreign = insert(store, &conversation(elsewhere.id, 1), owner_id).await;

    // Act
    let first_page = store
        .list_messages(room.id, None, Some(2))
        .await
        .expect("read");
    let next_page = store
        .list_messages(room.id, Some(sent[1].id), Some(3))
        .await
        .expect("read");
    let rest = store
        .list_messages(room.id, Some(sent[4].id), None)
        .await
        .expect("read");
    let after_unknown = store
        .list_messages(room.id, Some(MessageId::generate()), None)
        .await
        .expect("read");
    let after_foreign = store
        .list_messages(room.id, Some(foreign[0].id), None)
        .await
        .expect("read");
    let after_place = store
        .list_messages_after(room.id, 2, 2)
        .await
        .expect("read");
    let all_after = store
        .list_messages_after(room.id, 2, 100)
        .await
        .expect("read");

    // Assert
    assert_eq!(first_page, sent[0..2]);
    assert_eq!(next_page, sent[2..5]);
    assert_eq!(rest, sent[5..]);
    assert_eq!(after_unknown, vec![], "an unknown cursor lists nothing");
    assert_eq!(after_foreign, vec![], "another room's message is no cursor");
    assert_eq!(after_place, sent[2..4]);
    assert_eq!(all_after, sent[2..]);
    assert_eq!(
        store.find_message(room.id, sent[3].id).await.expect("read"),
        Some(sent[3].clone())
    );
    assert_eq!(
        store
            .find_message(room.id, foreign[0].id)
            .await
            .expect("read"),
        None,
        "another room's message is not found in this one"
    );
}

#[rstest]
#[tokio::test]
async fn a_client_id_is_stored_once_and_a_resend_gets_the_original(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange: a message with a client id, committed.
    let subject = store_on(backend).await;
    let store = subject.store.as_ref();
    let owner_id = UserId::new_random();
    let room = store
        .create_room(&new_room(owner_id, shared::time::now()))
        .await
        .expect("room");
    let client_id = Some(ClientId(uuid::Uuid::new_v4()));
    let mut first = message(room.id, SenderType::Visitor, "salom");
    first.client_id = client_id;
    let original = insert(store, &[first], owner_id).await.remove(0);

    // Act: the same client id again, alone and twice within a batch with another message;
    // and the same client id in another room.
    let mut again = message(room.id, SenderType::Visitor, "salom");
    again.client_id = client_id;
    let alone = commit(store, std::slice::from_ref(&again), owner_id).await;
    let other = message(room.id, SenderType::Visitor, "yana");
    let mut twice = message(room.id, SenderType::Visitor, "salom");
    twice.client_id = client_id;
    let mixed = commit(store, &[twice.clone(), other, twice], owner_id).await;
    let elsewhere = store
        .create_room(&new_room(owner_id, shared::time::now()))
        .await
        .expect("room");
    let mut foreign = message(elsewhere.id, SenderType::Visitor, "salom");
    foreign.client_id = client_id;
    let in_other_room = commit(store, &[foreign], owner_id).await;

    // Assert
    assert_eq!(alone, vec![Committed::Duplicate(original.clone())]);
    assert_eq!(mixed[0], Committed::Duplicate(original.clone()));
    assert_eq!(mixed[2], Committed::Duplicate(original.clone()));
    assert!(matches!(&mixed[1], Committed::Stored(m) if m.position == 2));
    assert!(matches!(&in_other_room[0], Committed::Stored(_)));
    let history = store
        .list_messages(room.id, None, None)
        .await
        .expect("read");
    assert_eq!(history.len(), 2, "stored once: {history:?}");
    let access = store
        .find_room_access(room.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(access.message_count, 2);
}

#[rstest]
#[tokio::test]
async fn concurrent_commits_into_one_room_take_consecutive_places_in_time_order(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let subject = store_on(backend).await;
    let store = subject.store.clone();
    let owner_id = UserId::new_random();
    let room = store
        .create_room(&new_room(owner_id, shared::time::now()))
        .await
        .expect("room");

    // Act: four writers commit into the room at once.
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..10 {
                    let batch = conversation(room.id, 3)
                        .into_iter()
                        .map(|mut m| {
                            m.content = format!("{w}/{i}");
                            m
                        })
                        .collect::<Vec<_>>();
                    insert(store.as_ref(), &batch, owner_id).await;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }

    // Assert
    let history = store
        .list_messages(room.id, None, None)
        .await
        .expect("read");
    let places: Vec<i64> = history.iter().map(|m| m.position).collect();
    assert_eq!(places, (1..=120).collect::<Vec<i64>>());
    assert!(
        history
            .windows(2)
            .all(|w| w[0].created_at <= w[1].created_at),
        "times follow the order"
    );
    let paged = store
        .list_messages(room.id, Some(history[59].id), None)
        .await
        .expect("read");
    assert_eq!(paged, history[60..]);
}

#[rstest]
#[tokio::test]
async fn read_positions_move_forward_only_and_bound_the_unread_count(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange: four visitor messages.
    let subject = store_on(backend).await;
    let store = subject.store.as_ref();
    let owner_id = UserId::new_random();
    let room = store
        .create_room(&new_room(owner_id, shared::time::now()))
        .await
        .expect("room");
    let visitor = || message(room.id, SenderType::Visitor, "salom");
    let sent = insert(
        store,
        &[visitor(), visitor(), visitor(), visitor()],
        owner_id,
    )
    .await;

    // Act & Assert: the visitor reads the third, then (late) the first.
    let read = store
        .mark_read(room.id, SenderType::Visitor, &sent[2])
        .await
        .expect("read")
        .expect("moved");
    assert_eq!(read.visitor_last_read_id, Some(sent[2].id));
    let back = store
        .mark_read(room.id, SenderType::Visitor, &sent[0])
        .await
        .expect("read");
    assert_eq!(back, None, "a read position never moves back");

    // The owner reads the second: two are left unread; then the first: nothing changes.
    let owner_read = store
        .mark_read(room.id, SenderType::Owner, &sent[1])
        .await
        .expect("read")
        .expect("moved");
    assert_eq!(owner_read.unread_count, 2);
    assert_eq!(
        store
            .mark_read(room.id, SenderType::Owner, &sent[0])
            .await
            .expect("read"),
        None
    );
    let rooms = store.list_rooms_for_owner(owner_id).await.expect("listed");
    assert_eq!(rooms[0].unread_count, 2);
    assert_eq!(rooms[0].visitor_last_read_id, Some(sent[2].id));
    let all_read = store
        .mark_read_by_owner(room.id)
        .await
        .expect("read")
        .expect("changed");
    assert_eq!(all_read.unread_count, 0);
}
