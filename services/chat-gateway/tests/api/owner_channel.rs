//! The owner channel, `/ws/owner/`: refused before the upgrade without an access token, and,
//! across replicas, everything that happens in the owner's rooms (a new room, its messages,
//! typing, reads) reaches it without a poll; what it says about a room is what
//! `GET /api/chat/rooms/` lists.

use rstest::rstest;
use serde_json::{json, Value};
use shared::config::Backend;

use crate::helpers::{spawn_app, spawn_cluster, TestOwner};

#[rstest]
#[tokio::test]
async fn the_owner_channel_refuses_anything_but_an_access_token_before_the_upgrade(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let refresh = app.refresh_token(owner.id);
    let expired = app.expired_token(owner.id);

    // Act
    let mut statuses = Vec::new();
    for base in ["/ws/owner/", "/back/ws/owner/"] {
        for token in ["", "garbage", refresh.as_str(), expired.as_str()] {
            let url = app.owner_channel_url(base, token);
            statuses.push(app.handshake_status(&url).await);
        }
        let without = format!("{}{base}", app.ws_address);
        statuses.push(app.handshake_status(&without).await);
        let valid = app.owner_channel_url(base, &owner.token);
        assert_eq!(app.handshake_status(&valid).await, 101, "{base}");
    }

    // Assert
    assert!(statuses.iter().all(|&s| s == 403), "{statuses:?}");
}

#[rstest]
#[tokio::test]
async fn the_owner_channel_only_listens(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let mut channel = app.open_owner_channel(&owner).await;

    // Act
    channel.send_message("salom").await;

    // Assert
    let reply = channel.next_json().await;
    assert_eq!(
        reply,
        json!({ "error": "This channel only sends; write in a chat's socket." })
    );
    assert!(app.rooms_of(&owner).await.is_empty());
}

/// The room frame's room, after checking the frame's type.
fn room_of(frame: &Value) -> &Value {
    assert_eq!(frame["type"], "room", "{frame}");
    &frame["room"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_channel_hears_rooms_messages_typing_and_reads_from_the_other_replica() {
    // Arrange: the owner's channel on replica B; the visitor will be on replica A.
    let cluster = spawn_cluster(2).await;
    let (a, b) = (&cluster[0], &cluster[1]);
    let owner = TestOwner::registered(a).await;
    let mut channel = b.open_owner_channel(&owner).await;

    // Act & Assert: a new room, without any poll.
    let chat = a.start_chat_with(&owner).await;
    let created = channel.next_json().await;
    let room = room_of(&created);
    assert_eq!(room["id"], chat.room_id.as_str());
    assert!(room["last_message"].is_null());
    assert_eq!(room["unread_count"], 0);

    // The visitor's first message: the room socket's frame, then the room as it is now.
    let mut visitor = a.open_v2(&chat.room_id, &chat.visitor(), None).await;
    let client_id = uuid::Uuid::new_v4().to_string();
    visitor
        .send_json(&json!({ "message": "Salom", "client_id": client_id }))
        .await;
    let mut echo = visitor.next_json().await;
    assert_eq!(echo["client_id"], client_id.as_str());
    echo.as_object_mut().map(|o| o.remove("client_id"));
    assert_eq!(
        channel.next_json().await,
        json!({ "type": "message", "message": echo })
    );
    let changed = channel.next_json().await;
    assert_eq!(room_of(&changed)["unread_count"], 1);
    assert_eq!(room_of(&changed)["last_message"]["id"], echo["id"]);

    // Typing.
    visitor.send_json(&json!({ "type": "typing" })).await;
    assert_eq!(
        channel.next_json().await,
        json!({ "type": "typing", "room_id": chat.room_id, "sender_type": "visitor" })
    );

    // The owner opens the room (read: unread drops to 0) and answers; the visitor reads it.
    let mut owner_socket = b.open_v2(&chat.room_id, &owner.auth(), None).await;
    assert_eq!(room_of(&channel.next_json().await)["unread_count"], 0);
    owner_socket.send_message("Hozir chiqaman").await;
    let answer = owner_socket.next_json().await;
    assert_eq!(visitor.next_json().await, answer);
    assert_eq!(
        channel.next_json().await,
        json!({ "type": "message", "message": answer })
    );
    room_of(&channel.next_json().await);
    visitor
        .send_json(&json!({ "type": "read", "message_id": answer["id"] }))
        .await;
    let read = json!({
        "type": "read",
        "room_id": chat.room_id,
        "sender_type": "visitor",
        "message_id": answer["id"],
    });
    assert_eq!(owner_socket.next_json().await, read);
    assert_eq!(channel.next_json().await, read);
    let seen = channel.next_json().await;
    assert_eq!(room_of(&seen)["visitor_last_read_id"], answer["id"]);

    // What the channel said last is what the list says.
    let listed = b.rooms_of(&owner).await;
    assert_eq!(listed, vec![room_of(&seen).clone()]);
    channel.expect_silence().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_hears_only_their_own_rooms() {
    // Arrange: two owners, each with a channel on replica B.
    let cluster = spawn_cluster(2).await;
    let (a, b) = (&cluster[0], &cluster[1]);
    let owner = TestOwner::registered(a).await;
    let other = TestOwner::registered(a).await;
    let mut channel = b.open_owner_channel(&owner).await;
    let mut others = b.open_owner_channel(&other).await;

    // Act
    let chat = a.start_chat_with(&other).await;
    a.chat(&chat.room_id, &chat.visitor(), &["salom"]).await;

    // Assert
    assert_eq!(
        room_of(&others.next_json().await)["id"],
        chat.room_id.as_str()
    );
    channel.expect_silence().await;
}
