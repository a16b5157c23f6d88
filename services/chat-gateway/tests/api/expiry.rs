//! What expires on the gateway: an owner's socket with the access token it was opened with
//! (closed 1008 `token expired`), and a visitor token with its room's inactivity
//! (`VISITOR_TOKEN_IDLE_DAYS`: 403 at the handshake and on the history). The owner's access to
//! an idle room is never affected.

use std::time::{Duration, Instant};

use rstest::rstest;
use shared::config::Backend;

use crate::helpers::{
    chat_expired, permission_denied, spawn_app, spawn_app_with, status_and_json, Auth, Ending,
    TestOwner,
};

#[rstest]
#[tokio::test]
async fn an_owner_socket_is_closed_with_1008_when_its_access_token_expires(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let short_lived = Auth::Owner(app.short_lived_token(owner.id, 2));
    let mut visitor = app.open_ws(&chat.room_id, &chat.visitor()).await;
    let mut owner_socket = app.open_ws(&chat.room_id, &short_lived).await;
    let opened = Instant::now();
    owner_socket.send_message("on my way").await;
    assert_eq!(owner_socket.next_json().await["message"], "on my way");
    assert_eq!(visitor.next_json().await["message"], "on my way");

    // Act
    let (frames, ending) = owner_socket.read_to_end(Duration::from_secs(10)).await;

    // Assert
    assert!(frames.is_empty(), "{frames:?}");
    match ending {
        Ending::Closed(Some((code, reason))) => {
            assert_eq!((code, reason.as_str()), (1008, "token expired"));
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    assert!(
        opened.elapsed() >= Duration::from_millis(500),
        "closed before the token expired: {:?}",
        opened.elapsed()
    );
    visitor.send_message("thanks").await;
    assert_eq!(
        visitor.next_json().await["message"],
        "thanks",
        "the visitor's socket stays open"
    );
}

#[rstest]
#[tokio::test]
async fn an_owner_socket_opened_with_a_fresh_token_after_the_close_works(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let short_lived = Auth::Owner(app.short_lived_token(owner.id, 1));
    let mut first = app.open_ws(&chat.room_id, &short_lived).await;
    let (_, ending) = first.read_to_end(Duration::from_secs(10)).await;
    assert!(
        matches!(ending, Ending::Closed(Some((1008, _)))),
        "{ending:?}"
    );

    // Act
    let stale = app
        .handshake_status(&app.ws_url("/ws/chat/", &chat.room_id, &short_lived))
        .await;
    let frames = app.chat(&chat.room_id, &owner.auth(), &["back"]).await;

    // Assert
    assert_eq!(stale, 403, "the expired token is refused at the handshake");
    assert_eq!(frames[0]["sender_type"], "owner");
}

#[rstest]
#[case::idle_less_than_the_default(None, 29, true)]
#[case::idle_longer_than_the_default(None, 31, false)]
#[case::idle_less_than_a_longer_setting(Some(60), 31, true)]
#[case::idle_longer_than_a_shorter_setting(Some(7), 8, false)]
#[tokio::test]
async fn a_visitor_token_is_refused_once_its_room_has_been_idle_longer_than_the_setting(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
    #[case] idle_days_setting: Option<u32>,
    #[case] idle_days: i64,
    #[case] accepted: bool,
) {
    // Arrange
    let app = spawn_app_with(backend, |c| {
        if let Some(days) = idle_days_setting {
            c.visitor_token_idle_days = days;
        }
    })
    .await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    app.chat(&chat.room_id, &chat.visitor(), &["your lights are on"])
        .await;
    app.backdate_room_activity(&chat.room_id, idle_days).await;

    // Act
    let handshake = app
        .handshake_status(&app.ws_url("/ws/chat/", &chat.room_id, &chat.visitor()))
        .await;
    let (status, body) =
        status_and_json(app.list_messages(&chat.room_id, &chat.visitor(), &[]).await).await;

    // Assert
    if accepted {
        assert_eq!((handshake, status), (101, 200));
        assert_eq!(body.as_array().map(Vec::len), Some(1), "{body}");
    } else {
        assert_eq!(handshake, 403);
        assert_eq!((status, body), (403, chat_expired()));
    }
}

#[rstest]
#[tokio::test]
async fn the_owner_keeps_access_to_a_room_whose_visitor_token_has_expired(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    app.chat(&chat.room_id, &chat.visitor(), &["hello?"]).await;
    app.backdate_room_activity(&chat.room_id, 31).await;

    // Act
    let history = app.history(&chat.room_id, &owner.auth()).await;
    let frames = app
        .chat(&chat.room_id, &owner.auth(), &["sorry, late"])
        .await;

    // Assert
    assert_eq!(history.len(), 1);
    assert_eq!(frames[0]["sender_type"], "owner");
}

#[rstest]
#[tokio::test]
async fn a_wrong_visitor_token_on_an_idle_room_gets_the_plain_403_not_the_expiry(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    app.backdate_room_activity(&chat.room_id, 31).await;
    let stranger = Auth::Visitor(uuid::Uuid::new_v4().to_string());

    // Act
    let response = app.list_messages(&chat.room_id, &stranger, &[]).await;

    // Assert
    assert_eq!(status_and_json(response).await, (403, permission_denied()));
}

#[rstest]
#[tokio::test]
async fn an_owner_message_after_long_silence_revives_the_visitor_token(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    app.backdate_room_activity(&chat.room_id, 31).await;

    // Act
    app.chat(&chat.room_id, &owner.auth(), &["still parked there?"])
        .await;

    // Assert
    let history = app.history(&chat.room_id, &chat.visitor()).await;
    assert_eq!(history.len(), 1);
}
