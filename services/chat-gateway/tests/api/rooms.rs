//! `GET /api/chat/rooms/`: the owner's rooms, only theirs, most recent activity first, with
//! an `ETag` for cheap polling and an unread count that the owner reading resets.

use rstest::rstest;
use serde_json::Value;
use shared::config::Backend;

use crate::helpers::{
    is_uuid, is_wire_timestamp, keys, not_authenticated, spawn_app, Auth, TestOwner,
};

#[rstest]
#[tokio::test]
async fn list_rooms_returns_401_without_credentials(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;

    // Act
    let response = app.list_rooms(&Auth::None).await;

    // Assert
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"api\""
    );
    assert_eq!(response.json::<Value>().await.unwrap(), not_authenticated());
}

#[rstest]
#[case::garbage("not-a-jwt", "Token is invalid")]
#[case::refresh_token("refresh", "Token has wrong type")]
#[case::expired("expired", "Token is expired")]
#[case::other_key("other-key", "Token is invalid")]
#[tokio::test]
async fn list_rooms_returns_401_token_not_valid_for_a_token_that_is_not_a_valid_access_token(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
    #[case] kind: &str,
    #[case] message: &str,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let token = match kind {
        "refresh" => app.refresh_token(owner.id),
        "expired" => app.expired_token(owner.id),
        "other-key" => {
            shared::auth::KeyRing::new(&secrecy::SecretString::from("another key".to_owned()), &[])
                .signer()
                .sign(owner.id, shared::auth::TokenType::Access, 3600)
                .unwrap()
        }
        other => other.to_owned(),
    };

    // Act
    let response = app.list_rooms(&Auth::Owner(token)).await;

    // Assert
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["detail"], "Given token not valid for any token type");
    assert_eq!(body["code"], "token_not_valid");
    assert_eq!(body["messages"][0]["message"], message);
    assert_eq!(body["messages"][0]["token_type"], "access");
}

#[rstest]
#[tokio::test]
async fn list_rooms_returns_an_empty_list_for_an_owner_without_rooms(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;

    // Act
    let rooms = app.rooms_of(&owner).await;

    // Assert
    assert!(rooms.is_empty());
}

#[rstest]
#[tokio::test]
async fn list_rooms_returns_the_guide_fields_for_a_new_room(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;

    // Act
    let rooms = app.rooms_of(&owner).await;

    // Assert
    assert_eq!(rooms.len(), 1);
    let room = &rooms[0];
    assert_eq!(
        keys(room),
        [
            "created_at",
            "id",
            "is_active",
            "is_blocked",
            "last_message",
            "owner_id",
            "unread_count",
            "updated_at",
            "visitor_last_read_id",
            "visitor_name"
        ]
    );
    assert_eq!(room["id"], chat.room_id.as_str());
    assert!(is_uuid(&room["id"]));
    assert_eq!(room["owner_id"], owner.id.to_string());
    assert_eq!(room["visitor_name"], "");
    assert_eq!(room["is_active"], true);
    assert!(is_wire_timestamp(&room["created_at"]), "{room}");
    assert_eq!(room["updated_at"], room["created_at"]);
    assert!(room["last_message"].is_null());
    assert_eq!(room["unread_count"], 0);
    assert!(room["visitor_last_read_id"].is_null());
    assert_eq!(room["is_blocked"], false);
}

#[rstest]
#[tokio::test]
async fn list_rooms_shows_only_the_callers_own_rooms(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let alice = TestOwner::registered(&app).await;
    let bob = TestOwner::registered(&app).await;
    let alices = app.start_chat_with(&alice).await;
    let bobs = app.start_chat_with(&bob).await;

    // Act
    let alice_sees = app.rooms_of(&alice).await;
    let bob_sees = app.rooms_of(&bob).await;

    // Assert
    let ids = |rooms: &[Value]| {
        rooms
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&alice_sees), [alices.room_id]);
    assert_eq!(ids(&bob_sees), [bobs.room_id]);
}

#[rstest]
#[tokio::test]
async fn list_rooms_orders_by_most_recent_activity_and_a_message_moves_its_room_first(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let first = app.start_chat_with(&owner).await;
    let second = app.start_chat_with(&owner).await;
    let third = app.start_chat_with(&owner).await;
    let order = |rooms: &[Value]| {
        rooms
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        order(&app.rooms_of(&owner).await),
        [
            third.room_id.clone(),
            second.room_id.clone(),
            first.room_id.clone()
        ]
    );

    // Act
    let sent = app
        .chat(
            &first.room_id,
            &first.visitor(),
            &["Mashinangiz yo'lni to'sib qo'ygan"],
        )
        .await;

    // Assert
    let rooms = app.rooms_of(&owner).await;
    assert_eq!(
        order(&rooms),
        [first.room_id.clone(), third.room_id, second.room_id]
    );
    let moved = &rooms[0];
    assert_eq!(moved["updated_at"], sent[0]["created_at"]);
    assert!(moved["updated_at"].as_str().unwrap() > moved["created_at"].as_str().unwrap());
    assert_eq!(moved["last_message"]["id"], sent[0]["id"]);
    assert_eq!(
        moved["last_message"]["content"],
        "Mashinangiz yo'lni to'sib qo'ygan"
    );
    assert_eq!(moved["last_message"]["sender_type"], "visitor");
}

#[rstest]
#[tokio::test]
async fn list_rooms_previews_at_most_120_characters_of_the_last_message(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let long = "ж".repeat(500);

    // Act
    app.chat(&chat.room_id, &chat.visitor(), &[&long]).await;

    // Assert
    let rooms = app.rooms_of(&owner).await;
    assert_eq!(rooms[0]["last_message"]["content"], "ж".repeat(120));
    let history = app.history(&chat.room_id, &chat.visitor()).await;
    assert_eq!(history[0]["content"], long);
}

#[rstest]
#[tokio::test]
async fn list_rooms_answers_304_to_a_matching_etag_until_something_changes(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let first = app.list_rooms(&owner.auth()).await;
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();

    // Act
    let unchanged = app
        .list_rooms_if_none_match(&owner.auth(), Some(&etag))
        .await;
    app.chat(&chat.room_id, &chat.visitor(), &["Salom"]).await;
    let changed = app
        .list_rooms_if_none_match(&owner.auth(), Some(&etag))
        .await;

    // Assert
    assert_eq!(unchanged.status(), 304);
    assert_eq!(unchanged.headers()["etag"], etag.as_str());
    assert!(unchanged.bytes().await.unwrap().is_empty());
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"], etag.as_str());
    let rooms: Vec<Value> = changed.json().await.unwrap();
    assert_eq!(rooms[0]["last_message"]["content"], "Salom");
}

#[rstest]
#[tokio::test]
async fn list_rooms_does_not_answer_304_to_another_owners_etag(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let alice = TestOwner::registered(&app).await;
    let bob = TestOwner::registered(&app).await;
    app.start_chat_with(&alice).await;
    let alices = app.list_rooms(&alice.auth()).await;
    let etag = alices.headers()["etag"].to_str().unwrap().to_owned();

    // Act
    let bobs = app.list_rooms_if_none_match(&bob.auth(), Some(&etag)).await;

    // Assert
    assert_eq!(bobs.status(), 200);
    assert_eq!(bobs.json::<Vec<Value>>().await.unwrap().len(), 0);
}

#[rstest]
#[tokio::test]
async fn unread_count_counts_visitor_messages_and_resets_when_the_owner_reads_the_history(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let unread = |rooms: Vec<Value>| rooms[0]["unread_count"].as_i64().unwrap();

    // Act / Assert: visitor messages count.
    app.chat(&chat.room_id, &chat.visitor(), &["bir", "ikki", "uch"])
        .await;
    assert_eq!(unread(app.rooms_of(&owner).await), 3);

    // The visitor reading their own history changes nothing.
    app.history(&chat.room_id, &chat.visitor()).await;
    assert_eq!(unread(app.rooms_of(&owner).await), 3);

    // The owner reading it resets the count.
    app.history(&chat.room_id, &owner.auth()).await;
    assert_eq!(unread(app.rooms_of(&owner).await), 0);

    // New visitor messages count again.
    app.chat(&chat.room_id, &chat.visitor(), &["to'rt"]).await;
    assert_eq!(unread(app.rooms_of(&owner).await), 1);
}

#[rstest]
#[tokio::test]
async fn unread_count_restarts_after_the_owner_answers(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    app.chat(&chat.room_id, &chat.visitor(), &["bir", "ikki"])
        .await;

    // Act
    app.chat(&chat.room_id, &owner.auth(), &["Hozir chiqaman"])
        .await;
    app.chat(&chat.room_id, &chat.visitor(), &["rahmat"]).await;

    // Assert
    let rooms = app.rooms_of(&owner).await;
    assert_eq!(rooms[0]["unread_count"], 1);
    assert_eq!(rooms[0]["last_message"]["content"], "rahmat");
}
