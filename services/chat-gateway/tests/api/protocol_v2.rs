//! `carinfo.v2` room sockets: typing and read frames between them, never to the guide's
//! sockets; a message's `client_id` stored once, on any replica, and echoed to its sender.

use std::time::Duration;

use rstest::rstest;
use serde_json::{json, Value};
use shared::config::Backend;

use crate::helpers::{spawn_app, spawn_cluster, TestOwner};

/// `frame` without its `client_id`.
fn without_client_id(frame: &Value) -> Value {
    let mut frame = frame.clone();
    frame.as_object_mut().map(|o| o.remove("client_id"));
    frame
}

#[rstest]
#[tokio::test]
async fn typing_and_read_reach_v2_sockets_and_never_a_guide_socket(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange: the visitor and the owner on v2 sockets, and the owner on a guide socket too.
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let mut visitor = app.open_v2(&chat.room_id, &chat.visitor(), None).await;
    let mut owner_v2 = app.open_v2(&chat.room_id, &owner.auth(), None).await;
    let mut owner_v1 = app.open_ws(&chat.room_id, &owner.auth()).await;

    // Act & Assert: a burst of typing frames is heard once, by the other v2 socket only.
    for _ in 0..5 {
        visitor.send_json(&json!({ "type": "typing" })).await;
    }
    assert_eq!(
        owner_v2.next_json().await,
        json!({ "type": "typing", "room_id": chat.room_id, "sender_type": "visitor" })
    );
    owner_v2.expect_silence().await;
    owner_v1.expect_silence().await;
    visitor.expect_silence().await;

    // A message with a client id: echoed with it to its sender only.
    let client_id = uuid::Uuid::new_v4().to_string();
    owner_v2
        .send_json(&json!({ "message": "Ha", "client_id": client_id }))
        .await;
    let echo = owner_v2.next_json().await;
    assert_eq!(echo["client_id"], client_id.as_str());
    let plain = without_client_id(&echo);
    assert_eq!(owner_v1.next_json().await, plain);
    assert_eq!(visitor.next_json().await, plain);

    // The visitor reads it: the owner's v2 socket hears it, the guide socket does not.
    visitor
        .send_json(&json!({ "type": "read", "message_id": echo["id"] }))
        .await;
    assert_eq!(
        owner_v2.next_json().await,
        json!({
            "type": "read",
            "room_id": chat.room_id,
            "sender_type": "visitor",
            "message_id": echo["id"],
        })
    );
    owner_v1.expect_silence().await;
    visitor.expect_silence().await;
    let rooms = app.rooms_of(&owner).await;
    assert_eq!(rooms[0]["visitor_last_read_id"], echo["id"]);

    // A guide socket's frames stay the guide's: `type` means nothing to it.
    owner_v1.send_json(&json!({ "type": "typing" })).await;
    assert_eq!(
        owner_v1.next_json().await,
        json!({ "error": "Field \"message\" is required." })
    );
    visitor.expect_silence().await;
}

#[rstest]
#[tokio::test]
async fn bad_v2_frames_are_refused_to_their_sender_and_change_nothing(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange: a message in another room of the same owner.
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let elsewhere = app.start_chat_with(&owner).await;
    let foreign = app
        .chat(&elsewhere.room_id, &elsewhere.visitor(), &["boshqa"])
        .await;
    let mut visitor = app.open_v2(&chat.room_id, &chat.visitor(), None).await;

    // Act
    let frames = [
        json!({ "type": "read", "message_id": foreign[0]["id"] }),
        json!({ "type": "read", "message_id": "not-a-uuid" }),
        json!({ "type": "read" }),
        json!({ "type": "dance" }),
        json!({ "message": "salom", "client_id": "not-a-uuid" }),
        json!({ "message": "salom", "client_id": 7 }),
    ];
    let mut replies = Vec::new();
    for frame in &frames {
        // Reads are taken at most five times a second.
        tokio::time::sleep(Duration::from_millis(250)).await;
        visitor.send_json(frame).await;
        replies.push(visitor.next_json().await["error"].clone());
    }

    // Assert
    assert_eq!(
        replies,
        [
            "No such message in this chat.",
            "Field \"message_id\" must be a UUID.",
            "Field \"message_id\" must be a UUID.",
            "Unknown frame type.",
            "Field \"client_id\" must be a UUID.",
            "Field \"client_id\" must be a UUID.",
        ]
    );
    assert!(app.history(&chat.room_id, &chat.visitor()).await.is_empty());
    let rooms = app.rooms_of(&owner).await;
    assert!(rooms.iter().all(|r| r["visitor_last_read_id"].is_null()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resend_with_the_same_client_id_is_stored_once_on_any_replica() {
    // Arrange: the visitor on replica A, the owner on replica B.
    let cluster = spawn_cluster(2).await;
    let (a, b) = (&cluster[0], &cluster[1]);
    let owner = TestOwner::registered(a).await;
    let chat = a.start_chat_with(&owner).await;
    let mut owner_socket = b.open_ws(&chat.room_id, &owner.auth()).await;
    let mut visitor = a.open_v2(&chat.room_id, &chat.visitor(), None).await;
    let client_id = uuid::Uuid::new_v4().to_string();
    let frame = json!({ "message": "Mashinangiz", "client_id": client_id });
    visitor.send_json(&frame).await;
    let original = visitor.next_json().await;
    assert_eq!(original["client_id"], client_id.as_str());
    assert_eq!(owner_socket.next_json().await, without_client_id(&original));

    // Act: the acknowledgement "was lost": the same frame again, on the same socket, then
    // from a v2 socket and a guide socket on the other replica.
    visitor.send_json(&frame).await;
    let again = visitor.next_json().await;
    visitor.close().await;
    let mut elsewhere = b.open_v2(&chat.room_id, &chat.visitor(), None).await;
    elsewhere.send_json(&frame).await;
    let from_b = elsewhere.next_json().await;
    let mut guide = b.open_ws(&chat.room_id, &chat.visitor()).await;
    guide.send_json(&frame).await;
    let from_guide = guide.next_json().await;

    // Assert: the original each time, stored and broadcast once.
    assert_eq!(again, original);
    assert_eq!(from_b, original);
    assert_eq!(from_guide, without_client_id(&original));
    owner_socket.expect_silence().await;
    elsewhere.expect_silence().await;
    let history = b.history(&chat.room_id, &owner.auth()).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["id"], original["id"]);
}

#[rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sides_writing_with_client_ids_at_once_have_every_message_stored(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let first = app.chat(&chat.room_id, &chat.visitor(), &["salom"]).await;
    let visitor = app.open_v2(&chat.room_id, &chat.visitor(), None).await;
    let owner_socket = app.open_v2(&chat.room_id, &owner.auth(), None).await;

    // Act: each side sends 20 messages with client ids, and read frames in between, without
    // waiting for echoes.
    let write = |mut socket: crate::helpers::WsClient, side: &'static str| {
        let read = json!({ "type": "read", "message_id": first[0]["id"] });
        async move {
            for i in 0..20 {
                let client_id = uuid::Uuid::new_v4().to_string();
                socket
                    .send_json(&json!({ "message": format!("{side}{i}"), "client_id": client_id }))
                    .await;
                socket.send_json(&read).await;
            }
            let mut frames = Vec::new();
            while frames
                .iter()
                .filter(|f: &&Value| f.get("id").is_some())
                .count()
                < 40
            {
                frames.push(socket.next_json().await);
            }
            frames
        }
    };
    let (at_visitor, at_owner) = tokio::join!(write(visitor, "v"), write(owner_socket, "o"));

    // Assert: no message refused (reads beyond five a second are), one order on both sockets
    // and in the history.
    let refused: Vec<&Value> = at_visitor
        .iter()
        .chain(&at_owner)
        .filter(|f| {
            f.get("error")
                .is_some_and(|e| e != "Too many read frames; slow down.")
        })
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
    let messages = |frames: &[Value]| -> Vec<Value> {
        frames
            .iter()
            .filter(|f| f.get("id").is_some())
            .cloned()
            .collect()
    };
    let (at_visitor, at_owner) = (messages(&at_visitor), messages(&at_owner));
    let history = app.history(&chat.room_id, &chat.visitor()).await;
    let history = history[1..].to_vec();
    let ids = |frames: &[Value]| -> Vec<Value> { frames.iter().map(|f| f["id"].clone()).collect() };
    assert_eq!(ids(&at_visitor), ids(&history));
    assert_eq!(ids(&at_owner), ids(&history));
}

#[rstest]
#[tokio::test]
async fn the_visitor_sees_seen_only_when_the_owner_marks_read(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange: the visitor wrote before the owner opened the room.
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let mut visitor = app.open_v2(&chat.room_id, &chat.visitor(), None).await;
    visitor.send_message("Salom").await;
    let sent = visitor.next_json().await;

    // Act: the owner opens the room (the guide's read mark), then marks it read.
    let mut owner_socket = app.open_v2(&chat.room_id, &owner.auth(), None).await;
    let opened = app.rooms_of(&owner).await;
    visitor.expect_silence().await;
    owner_socket
        .send_json(&json!({ "type": "read", "message_id": sent["id"] }))
        .await;

    // Assert
    assert_eq!(opened[0]["unread_count"], 0);
    assert_eq!(
        visitor.next_json().await,
        json!({
            "type": "read",
            "room_id": chat.room_id,
            "sender_type": "owner",
            "message_id": sent["id"],
        })
    );
    owner_socket.expect_silence().await;
}
