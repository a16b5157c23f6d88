//! `POST /api/chat/start/`: a visitor opens a room with a registered owner; every refusal is
//! the guide's 400 body and creates nothing; one address cannot flood it.

use rstest::rstest;
use serde_json::{json, Value};
use shared::config::Backend;

use crate::helpers::{is_uuid, keys, spawn_app, spawn_app_with, TestOwner};

#[rstest]
#[tokio::test]
async fn start_chat_returns_201_with_exactly_room_id_visitor_token_and_ws_path(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;

    // Act
    let response = app
        .start_chat(&json!({"user_id": owner.id.to_string(), "visitor_name": "Neighbour"}))
        .await;

    // Assert
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(keys(&body), ["room_id", "visitor_token", "ws_path"]);
    assert!(is_uuid(&body["room_id"]), "{body}");
    assert!(is_uuid(&body["visitor_token"]), "{body}");
    assert_eq!(
        body["ws_path"],
        format!("/ws/chat/{}/", body["room_id"].as_str().unwrap())
    );
}

#[rstest]
#[tokio::test]
async fn start_chat_lists_the_room_for_the_owner_with_the_trimmed_visitor_name(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;

    // Act
    let named = app
        .start_chat(&json!({"user_id": owner.id.to_string(), "visitor_name": "  Qo'shni  "}))
        .await;
    let anonymous = app
        .start_chat(&json!({"user_id": owner.id.to_string()}))
        .await;

    // Assert
    let named: Value = named.json().await.unwrap();
    let anonymous: Value = anonymous.json().await.unwrap();
    let rooms = app.rooms_of(&owner).await;
    let name_of = |room: &Value| {
        rooms
            .iter()
            .find(|r| r["id"] == room["room_id"])
            .map(|r| r["visitor_name"].clone())
            .expect("room listed")
    };
    assert_eq!(name_of(&named), "Qo'shni");
    assert_eq!(name_of(&anonymous), "");
}

#[rstest]
#[tokio::test]
async fn start_chat_gives_every_room_its_own_id_and_visitor_token(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;

    // Act
    let first = app.start_chat_with(&owner).await;
    let second = app.start_chat_with(&owner).await;

    // Assert
    assert_ne!(first.room_id, second.room_id);
    assert_ne!(first.visitor_token, second.visitor_token);
    assert_eq!(app.rooms_of(&owner).await.len(), 2);
}

#[rstest]
#[tokio::test]
async fn start_chat_works_for_an_owner_whose_profile_is_hidden(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::stored(&app, true, false).await;

    // Act
    let response = app
        .start_chat(&json!({"user_id": owner.id.to_string()}))
        .await;

    // Assert
    assert_eq!(response.status(), 201);
}

#[rstest]
#[tokio::test]
async fn start_chat_returns_400_user_not_found_for_an_owner_the_gateway_does_not_know(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let stranger = TestOwner::unknown(&app);

    // Act
    let response = app
        .start_chat(&json!({"user_id": stranger.id.to_string()}))
        .await;

    // Assert
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"user_id": ["User not found."]})
    );
    assert!(app.rooms_of(&stranger).await.is_empty());
}

#[rstest]
#[tokio::test]
async fn start_chat_returns_400_user_not_found_for_a_sticker_that_is_not_registered(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let sticker = TestOwner::stored(&app, false, true).await;

    // Act
    let response = app
        .start_chat(&json!({"user_id": sticker.id.to_string()}))
        .await;

    // Assert
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"user_id": ["User not found."]})
    );
    assert!(app.rooms_of(&sticker).await.is_empty());
}

#[rstest]
#[case::not_a_uuid(json!({"user_id": "not-a-uuid"}), json!({"user_id": ["Must be a valid UUID."]}))]
#[case::a_number(json!({"user_id": 42}), json!({"user_id": ["Must be a valid UUID."]}))]
#[case::empty(json!({"user_id": ""}), json!({"user_id": ["Must be a valid UUID."]}))]
#[case::missing(json!({"visitor_name": "Neighbour"}), json!({"user_id": ["This field is required."]}))]
#[case::empty_body(json!({}), json!({"user_id": ["This field is required."]}))]
#[case::null(json!({"user_id": null}), json!({"user_id": ["This field may not be null."]}))]
#[case::name_too_long(
    json!({"user_id": "0b4e7a0e-5b8a-4b8e-9a3c-1d2e3f4a5b6c", "visitor_name": "x".repeat(101)}),
    json!({"visitor_name": ["Ensure this field has no more than 100 characters."]})
)]
#[case::every_field_at_once(
    json!({"user_id": "nope", "visitor_name": "x".repeat(101)}),
    json!({"user_id": ["Must be a valid UUID."], "visitor_name": ["Ensure this field has no more than 100 characters."]})
)]
#[case::name_with_a_null_character(
    json!({"user_id": "0b4e7a0e-5b8a-4b8e-9a3c-1d2e3f4a5b6c", "visitor_name": "a\u{0}b"}),
    json!({"visitor_name": ["Null characters are not allowed."]})
)]
#[case::name_not_a_string(
    json!({"user_id": "0b4e7a0e-5b8a-4b8e-9a3c-1d2e3f4a5b6c", "visitor_name": {"first": "A"}}),
    json!({"visitor_name": ["Not a valid string."]})
)]
#[tokio::test]
async fn start_chat_returns_400_with_the_field_errors_for_malformed_input(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
    #[case] body: Value,
    #[case] expected: Value,
) {
    // Arrange
    let app = spawn_app(backend).await;

    // Act
    let response = app.start_chat(&body).await;

    // Assert
    assert_eq!(response.status(), 400);
    assert_eq!(response.json::<Value>().await.unwrap(), expected);
}

#[rstest]
#[tokio::test]
async fn start_chat_refuses_an_over_long_visitor_name_and_creates_no_room(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;

    // Act
    let too_long = app
        .start_chat(&json!({"user_id": owner.id.to_string(), "visitor_name": "ы".repeat(101)}))
        .await;
    let longest = app
        .start_chat(&json!({"user_id": owner.id.to_string(), "visitor_name": "ы".repeat(100)}))
        .await;

    // Assert
    assert_eq!(too_long.status(), 400);
    assert_eq!(longest.status(), 201);
    let rooms = app.rooms_of(&owner).await;
    assert_eq!(rooms.len(), 1);
    assert_eq!(rooms[0]["visitor_name"], "ы".repeat(100));
}

#[rstest]
#[tokio::test]
async fn start_chat_returns_400_json_parse_error_for_malformed_json(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;

    // Act
    let response = app
        .request(reqwest::Method::POST, "/api/chat/start/")
        .header("content-type", "application/json")
        .body(r#"{"user_id": "#)
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error - "),
        "{body}"
    );
}

#[rstest]
#[tokio::test]
async fn start_chat_refuses_a_body_over_64_kib_with_413(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let body = json!({"user_id": owner.id.to_string(), "padding": "x".repeat(70 * 1024)});

    // Act
    let response = app.start_chat(&body).await;

    // Assert
    assert_eq!(response.status(), 413);
    assert!(response.json::<Value>().await.unwrap()["detail"].is_string());
    assert!(app.rooms_of(&owner).await.is_empty());
}

#[rstest]
#[tokio::test]
async fn start_chat_without_the_trailing_slash_reaches_the_same_handler(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;

    // Act
    let response = app
        .request(reqwest::Method::POST, "/api/chat/start")
        .json(&json!({"user_id": owner.id.to_string()}))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status(), 201);
    assert_eq!(app.rooms_of(&owner).await.len(), 1);
}

#[rstest]
#[tokio::test]
async fn start_chat_returns_429_with_retry_after_once_an_address_exceeds_its_limit(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app_with(backend, |c| c.chat_starts_per_minute = 3).await;
    let owner = TestOwner::registered(&app).await;
    for _ in 0..3 {
        app.start_chat_with(&owner).await;
    }

    // Act
    let response = app
        .start_chat(&json!({"user_id": owner.id.to_string()}))
        .await;

    // Assert
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=60).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    let body: Value = response.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("Request was throttled."),
        "{body}"
    );
    assert_eq!(app.rooms_of(&owner).await.len(), 3);
}

#[rstest]
#[tokio::test]
async fn start_chat_is_not_throttled_when_rate_limits_are_off(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app_with(backend, |c| {
        c.chat_starts_per_minute = 1;
        c.common.rate_limits = shared::config::RateLimits::Off;
    })
    .await;
    let owner = TestOwner::registered(&app).await;

    // Act
    for _ in 0..3 {
        app.start_chat_with(&owner).await;
    }

    // Assert
    assert_eq!(app.rooms_of(&owner).await.len(), 3);
}
