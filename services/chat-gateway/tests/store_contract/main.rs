//! The store contract: every domain method of `ChatStore`, run once on Postgres and once on
//! SQLite through `store::SCHEMA.connect`, as the app gets its store. The two backends are two
//! codebases of SQL; these cases are what makes them one store. Each case names its backend
//! (`backend_1_Backend__Postgres`), so a failure says which one drifted.

#![expect(
    clippy::expect_used,
    reason = "the helpers here fail the test by panicking, as the tests do"
)]

mod messages;
mod owners;
mod rooms;

use chat_gateway::domain::SenderType;
use chat_gateway::{
    domain::{
        Message, MessageText, NewMessage, NewRoom, RoomId, VisitorKey, VisitorMarks, VisitorName,
        VisitorToken,
    },
    store::{self, ChatStore, Committed, PendingMessage},
};
use chrono::{DateTime, Duration, Utc};
use shared::{config::Backend, http::ClientKey, ids::UserId, testing::StoreUnderTest};

/// A store on a fresh database of `backend`, migrated by `store::SCHEMA`.
type Subject = StoreUnderTest<dyn ChatStore>;

async fn store_on(backend: Backend) -> Subject {
    StoreUnderTest::on(&store::SCHEMA, backend).await
}

/// A room of `owner_id` opened at `created_at` by a visitor with a fresh token.
fn new_room(owner_id: UserId, created_at: DateTime<Utc>) -> NewRoom {
    NewRoom {
        id: RoomId::generate(),
        owner_id,
        visitor_name: VisitorName::parse("Mehmon").expect("a valid name"),
        visitor_token_hash: VisitorToken::generate().hash(),
        visitor_marks: VisitorMarks::of(
            VisitorKey::parse(&uuid::Uuid::new_v4().to_string()).as_ref(),
            ClientKey::from(std::net::IpAddr::from([192, 0, 2, 1])),
            b"store contract",
        ),
        created_at,
    }
}

/// A new message of `room`.
fn message(room: RoomId, sender: SenderType, text: &str) -> NewMessage {
    NewMessage::new(
        room,
        sender,
        MessageText::parse(text).expect("a valid text"),
        None,
    )
}

/// `message` as the writer commits it.
fn pending(message: &NewMessage, owner_id: UserId) -> PendingMessage {
    PendingMessage {
        message: message.clone(),
        owner_id,
        traceparent: None,
    }
}

/// `n` messages in `room`, alternating from the visitor.
fn conversation(room: RoomId, n: i64) -> Vec<NewMessage> {
    (0..n)
        .map(|i| {
            let sender = if i % 2 == 0 {
                SenderType::Visitor
            } else {
                SenderType::Owner
            };
            message(room, sender, &format!("xabar {i}"))
        })
        .collect()
}

/// `n` milliseconds.
fn ms(n: i64) -> Duration {
    Duration::milliseconds(n)
}

/// Commits `messages` as one batch of the writer; what the store made of each.
async fn commit(
    store: &dyn ChatStore,
    messages: &[NewMessage],
    owner_id: UserId,
) -> Vec<Committed> {
    let batch: Vec<PendingMessage> = messages.iter().map(|m| pending(m, owner_id)).collect();
    store
        .insert_messages(&batch)
        .await
        .expect("committed")
        .messages
}

/// Commits `messages`, none sent before, as one batch; the messages as stored.
async fn insert(store: &dyn ChatStore, messages: &[NewMessage], owner_id: UserId) -> Vec<Message> {
    commit(store, messages, owner_id)
        .await
        .into_iter()
        .map(|c| match c {
            Committed::Stored(message) => message,
            Committed::Duplicate(message) => panic!("{} was stored before", message.id),
            Committed::RoomClosed => panic!("the room is closed"),
        })
        .collect()
}
