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
    domain::{Message, MessageText, NewRoom, RoomId, VisitorName, VisitorToken},
    store::{self, ChatStore, PendingMessage},
};
use chrono::{DateTime, Duration, Utc};
use shared::{config::Backend, ids::UserId, testing::StoreUnderTest};

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
        created_at,
    }
}

/// A message of `room` at `at`: explicit times, so the order under test does not hang on
/// two messages falling into one microsecond.
fn message(room: RoomId, sender: SenderType, text: &str, at: DateTime<Utc>) -> Message {
    Message {
        created_at: at,
        ..Message::new(
            room,
            sender,
            MessageText::parse(text).expect("a valid text"),
        )
    }
}

/// `message` as the writer commits it.
fn pending(message: &Message, owner_id: UserId) -> PendingMessage {
    PendingMessage {
        message: message.clone(),
        owner_id,
        traceparent: None,
    }
}

/// `n` messages in `room` from `start`, one millisecond apart, alternating from the visitor.
fn conversation(room: RoomId, start: DateTime<Utc>, n: i64) -> Vec<Message> {
    (0..n)
        .map(|i| {
            let sender = if i % 2 == 0 {
                SenderType::Visitor
            } else {
                SenderType::Owner
            };
            message(room, sender, &format!("xabar {i}"), start + ms(i))
        })
        .collect()
}

/// `n` milliseconds.
fn ms(n: i64) -> Duration {
    Duration::milliseconds(n)
}

/// Commits `messages` as one batch of the writer.
async fn insert(store: &dyn ChatStore, messages: &[Message], owner_id: UserId) {
    let batch: Vec<PendingMessage> = messages.iter().map(|m| pending(m, owner_id)).collect();
    store.insert_messages(&batch).await.expect("committed");
}
