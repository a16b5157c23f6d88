//! Committing message batches and reading a room's history back.

use chat_gateway::domain::SenderType;
use chat_gateway::{
    domain::{Message, MessageId, RoomId},
    store,
};
use rstest::rstest;
use shared::{config::Backend, ids::UserId};

use crate::{conversation, insert, message, ms, new_room, store_on};

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
        message(busy.id, SenderType::Visitor, "salom", start + ms(10)),
        message(quiet.id, SenderType::Visitor, "bormisiz", start + ms(11)),
        message(busy.id, SenderType::Owner, "ha", start + ms(12)),
        message(busy.id, SenderType::Visitor, "mashinangiz", start + ms(13)),
        message(
            busy.id,
            SenderType::Visitor,
            "yo'lni to'sib qo'ygan",
            start + ms(14),
        ),
    ];

    // Act
    insert(store, &batch, owner_id).await;

    // Assert: newest activity first; unread counts visitor messages since the owner wrote.
    let rooms = store.list_rooms_for_owner(owner_id).await.expect("listed");
    let ids: Vec<RoomId> = rooms.iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![busy.id, quiet.id]);
    assert_eq!(rooms[0].last_message.as_ref(), Some(&batch[4]));
    assert_eq!(rooms[0].unread_count, 2);
    assert_eq!(rooms[0].updated_at, batch[4].created_at);
    assert_eq!(rooms[1].last_message.as_ref(), Some(&batch[1]));
    assert_eq!(rooms[1].unread_count, 1);
    let access = store
        .find_room_access(busy.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(access.message_count, 4);
    assert_eq!(access.last_activity, batch[4].created_at);
    let history = store
        .list_messages(busy.id, None, None)
        .await
        .expect("read");
    let expected: Vec<Message> = [0, 2, 3, 4].iter().map(|&i| batch[i].clone()).collect();
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
    let sent = message(room.id, SenderType::Visitor, &long, start + ms(1));

    // Act
    insert(store, std::slice::from_ref(&sent), owner_id).await;

    // Assert
    let rooms = store.list_rooms_for_owner(owner_id).await.expect("listed");
    let last = rooms[0].last_message.as_ref().expect("a last message");
    assert_eq!(last.content, "ш".repeat(store::PREVIEW_CHARS));
    assert_eq!((last.id, last.created_at), (sent.id, sent.created_at));
    let history = store
        .list_messages(room.id, None, None)
        .await
        .expect("read");
    assert_eq!(history[0].content, long, "the message itself is whole");
}

#[rstest]
#[tokio::test]
async fn history_pages_after_a_message_and_recent_messages_are_the_latest_oldest_first(
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
    let sent = conversation(room.id, start + ms(1), 6);
    insert(store, &sent, owner_id).await;
    let elsewhere = store
        .create_room(&new_room(owner_id, start))
        .await
        .expect("another room");
    let foreign = conversation(elsewhere.id, start + ms(2), 1);
    insert(store, &foreign, owner_id).await;

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
    let recent = store.list_recent_messages(room.id, 4).await.expect("read");
    let all_recent = store
        .list_recent_messages(room.id, 100)
        .await
        .expect("read");

    // Assert
    assert_eq!(first_page, sent[0..2]);
    assert_eq!(next_page, sent[2..5]);
    assert_eq!(rest, sent[5..]);
    assert_eq!(after_unknown, vec![], "an unknown cursor lists nothing");
    assert_eq!(after_foreign, vec![], "another room's message is no cursor");
    assert_eq!(recent, sent[2..]);
    assert_eq!(all_recent, sent);
}
