//! `GET /api/chat/rooms/<room_id>/messages/`: a room's history, oldest first, for its owner or
//! its visitor only; it is exactly what was broadcast; long rooms page with `after`/`limit`.

use rstest::rstest;
use serde_json::{json, Value};
use shared::config::Backend;

use crate::helpers::{
    is_uuid, is_wire_timestamp, keys, not_authenticated, not_found, permission_denied, spawn_app,
    Auth, TestOwner,
};

#[rstest]
#[tokio::test]
async fn list_messages_returns_an_empty_list_for_a_new_room(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;

    // Act
    let as_owner = app.history(&chat.room_id, &owner.auth()).await;
    let as_visitor = app.history(&chat.room_id, &chat.visitor()).await;

    // Assert
    assert!(as_owner.is_empty());
    assert!(as_visitor.is_empty());
}

#[rstest]
#[tokio::test]
async fn list_messages_returns_the_history_oldest_first_with_the_guide_fields(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    app.chat(
        &chat.room_id,
        &chat.visitor(),
        &["Salom", "Mashinangizni suring"],
    )
    .await;
    app.chat(&chat.room_id, &owner.auth(), &["Hozir"]).await;

    // Act
    let history = app.history(&chat.room_id, &chat.visitor()).await;

    // Assert
    let contents: Vec<&str> = history
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["Salom", "Mashinangizni suring", "Hozir"]);
    let senders: Vec<&str> = history
        .iter()
        .map(|m| m["sender_type"].as_str().unwrap())
        .collect();
    assert_eq!(senders, ["visitor", "visitor", "owner"]);
    for message in &history {
        assert_eq!(
            keys(message),
            ["content", "created_at", "id", "room_id", "sender_type"]
        );
        assert!(is_uuid(&message["id"]));
        assert_eq!(message["room_id"], chat.room_id.as_str());
        assert!(is_wire_timestamp(&message["created_at"]), "{message}");
    }
    let times: Vec<&str> = history
        .iter()
        .map(|m| m["created_at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}

#[rstest]
#[tokio::test]
async fn history_after_a_websocket_chat_equals_what_was_broadcast(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let mut visitor = app.open_ws(&chat.room_id, &chat.visitor()).await;
    let mut owner_socket = app.open_ws(&chat.room_id, &owner.auth()).await;

    // Act
    let mut broadcast = Vec::new();
    for (i, text) in ["Salom", "Kim bu?", "Qo'shningiz", "Rahmat"]
        .iter()
        .enumerate()
    {
        if i % 2 == 0 {
            visitor.send_message(text).await;
        } else {
            owner_socket.send_message(text).await;
        }
        let at_visitor = visitor.next_json().await;
        let at_owner = owner_socket.next_json().await;
        assert_eq!(at_visitor, at_owner);
        broadcast.push(at_visitor);
    }

    // Assert
    let history = app.history(&chat.room_id, &owner.auth()).await;
    assert_eq!(history.len(), broadcast.len());
    for (stored, live) in history.iter().zip(&broadcast) {
        assert_eq!(stored["id"], live["id"]);
        assert_eq!(stored["room_id"], live["room_id"]);
        assert_eq!(stored["sender_type"], live["sender_type"]);
        assert_eq!(stored["content"], live["message"]);
        assert_eq!(stored["created_at"], live["created_at"]);
    }
    assert_eq!(app.history(&chat.room_id, &chat.visitor()).await, history);
}

#[rstest]
#[tokio::test]
async fn list_messages_returns_401_without_credentials(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;

    // Act
    let response = app.list_messages(&chat.room_id, &Auth::None, &[]).await;
    let blank_visitor = app
        .list_messages(&chat.room_id, &Auth::Visitor(" ".into()), &[])
        .await;

    // Assert
    for response in [response, blank_visitor] {
        assert_eq!(response.status(), 401);
        assert_eq!(response.json::<Value>().await.unwrap(), not_authenticated());
    }
}

#[rstest]
#[tokio::test]
async fn list_messages_returns_401_for_an_invalid_bearer_token(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;

    // Act
    let response = app
        .list_messages(
            &chat.room_id,
            &Auth::Owner(app.refresh_token(owner.id)),
            &[],
        )
        .await;

    // Assert
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "token_not_valid");
    assert_eq!(body["messages"][0]["message"], "Token has wrong type");
}

#[rstest]
#[tokio::test]
async fn list_messages_returns_403_to_another_owner(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let intruder = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    app.chat(&chat.room_id, &chat.visitor(), &["maxfiy"]).await;

    // Act
    let response = app
        .list_messages(&chat.room_id, &intruder.auth(), &[])
        .await;

    // Assert
    assert_eq!(response.status(), 403);
    assert_eq!(response.json::<Value>().await.unwrap(), permission_denied());
}

#[rstest]
#[tokio::test]
async fn list_messages_returns_403_to_the_visitor_of_another_room(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let other = app.start_chat_with(&owner).await;
    app.chat(&chat.room_id, &chat.visitor(), &["maxfiy"]).await;

    // Act
    let response = app
        .list_messages(&chat.room_id, &other.visitor(), &[])
        .await;

    // Assert
    assert_eq!(response.status(), 403);
    assert_eq!(response.json::<Value>().await.unwrap(), permission_denied());
}

#[rstest]
#[case::random_uuid(uuid::Uuid::new_v4().to_string())]
#[case::garbage("' or 1=1 --".to_owned())]
#[case::oversized("x".repeat(4096))]
#[tokio::test]
async fn list_messages_returns_403_for_a_visitor_token_that_is_not_the_rooms(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
    #[case] token: String,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;

    // Act
    let response = app
        .list_messages(&chat.room_id, &Auth::Visitor(token), &[])
        .await;

    // Assert
    assert_eq!(response.status(), 403);
    assert_eq!(response.json::<Value>().await.unwrap(), permission_denied());
}

#[rstest]
#[tokio::test]
async fn list_messages_returns_404_for_an_unknown_room(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let unknown = uuid::Uuid::new_v4().to_string();

    // Act
    let as_owner = app.list_messages(&unknown, &owner.auth(), &[]).await;
    let as_visitor = app.list_messages(&unknown, &chat.visitor(), &[]).await;
    let malformed = app.list_messages("not-a-room", &owner.auth(), &[]).await;

    // Assert
    for response in [as_owner, as_visitor, malformed] {
        assert_eq!(response.status(), 404);
        assert_eq!(response.json::<Value>().await.unwrap(), not_found());
    }
}

#[rstest]
#[tokio::test]
async fn list_messages_pages_with_after_and_limit_and_links_the_next_page(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let sent = app
        .chat(&chat.room_id, &chat.visitor(), &["1", "2", "3", "4", "5"])
        .await;
    let ids: Vec<Value> = sent.iter().map(|m| m["id"].clone()).collect();

    // Act
    let first = app
        .list_messages(&chat.room_id, &chat.visitor(), &[("limit", "2")])
        .await;
    let first_link = first
        .headers()
        .get("link")
        .map(|v| v.to_str().unwrap().to_owned());
    let first: Vec<Value> = first.json().await.unwrap();
    let after = first[1]["id"].as_str().unwrap().to_owned();
    let second = app
        .list_messages(
            &chat.room_id,
            &chat.visitor(),
            &[("after", &after), ("limit", "2")],
        )
        .await;
    let second: Vec<Value> = second.json().await.unwrap();
    let after = second[1]["id"].as_str().unwrap().to_owned();
    let last = app
        .list_messages(
            &chat.room_id,
            &chat.visitor(),
            &[("after", &after), ("limit", "2")],
        )
        .await;
    let last_link = last.headers().get("link").cloned();
    let last: Vec<Value> = last.json().await.unwrap();

    // Assert
    let page_ids = |page: &[Value]| page.iter().map(|m| m["id"].clone()).collect::<Vec<_>>();
    assert_eq!(page_ids(&first), ids[0..2]);
    assert_eq!(page_ids(&second), ids[2..4]);
    assert_eq!(page_ids(&last), ids[4..5]);
    let first_link = first_link.expect("a full page links the next one");
    assert!(first_link.ends_with("; rel=\"next\""), "{first_link}");
    assert!(
        first_link.contains(&format!(
            "/api/chat/rooms/{}/messages/?after={}",
            chat.room_id,
            ids[1].as_str().unwrap()
        )),
        "{first_link}"
    );
    assert!(first_link.contains("limit=2"), "{first_link}");
    assert!(
        !first_link.contains(&chat.visitor_token),
        "links never carry credentials: {first_link}"
    );
    assert!(last_link.is_none(), "a short page is the last one");
}

#[rstest]
#[tokio::test]
async fn list_messages_after_a_message_of_another_room_returns_nothing(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let other = app.start_chat_with(&owner).await;
    app.chat(&chat.room_id, &chat.visitor(), &["mine"]).await;
    let foreign = app
        .chat(&other.room_id, &other.visitor(), &["theirs"])
        .await;

    // Act
    let response = app
        .list_messages(
            &chat.room_id,
            &owner.auth(),
            &[("after", foreign[0]["id"].as_str().unwrap())],
        )
        .await;

    // Assert
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Vec<Value>>().await.unwrap(),
        Vec::<Value>::new()
    );
}

#[rstest]
#[case::after_not_a_uuid(&[("after", "nope")], json!({"after": ["Must be a valid UUID."]}))]
#[case::limit_zero(&[("limit", "0")], json!({"limit": ["Ensure this value is between 1 and 500."]}))]
#[case::limit_too_big(&[("limit", "501")], json!({"limit": ["Ensure this value is between 1 and 500."]}))]
#[case::limit_not_a_number(&[("limit", "many")], json!({"limit": ["A valid integer is required."]}))]
#[tokio::test]
async fn list_messages_returns_400_for_a_malformed_page(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
    #[case] query: &[(&str, &str)],
    #[case] expected: Value,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;

    // Act
    let response = app.list_messages(&chat.room_id, &owner.auth(), query).await;

    // Assert
    assert_eq!(response.status(), 400);
    assert_eq!(response.json::<Value>().await.unwrap(), expected);
}
