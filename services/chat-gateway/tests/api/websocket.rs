//! The chat WebSocket, frame by frame: who may open it, what every socket of a room receives,
//! how invalid, oversized and flooding input is answered, and how sockets end (idle, slow
//! reader, shutdown).

use std::time::Duration;

use rstest::rstest;
use serde_json::{json, Value};
use shared::config::{Backend, RateLimits};

use crate::helpers::{
    eventually, is_uuid, is_wire_timestamp, keys, spawn_app, spawn_app_with, Auth, Collector,
    Ending, TestApp, TestOwner, WsClient, WsSender,
};

#[rstest]
#[tokio::test]
async fn the_visitor_and_the_owner_open_the_socket_on_both_paths(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
    #[values("/ws/chat/", "/back/ws/chat/")] base_path: &str,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;

    // Act
    let visitor = app
        .handshake_status(&app.ws_url(base_path, &chat.room_id, &chat.visitor()))
        .await;
    let owner_status = app
        .handshake_status(&app.ws_url(base_path, &chat.room_id, &owner.auth()))
        .await;

    // Assert
    assert_eq!(visitor, 101);
    assert_eq!(owner_status, 101);
}

#[rstest]
#[tokio::test]
async fn the_socket_opens_without_the_trailing_slash(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let url = format!(
        "{}/ws/chat/{}?visitor={}",
        app.ws_address, chat.room_id, chat.visitor_token
    );

    // Act
    let status = app.handshake_status(&url).await;

    // Assert
    assert_eq!(status, 101);
}

#[rstest]
#[case::no_credentials("none")]
#[case::wrong_visitor_token("wrong-visitor")]
#[case::another_rooms_visitor_token("other-room-visitor")]
#[case::garbage_jwt("garbage-jwt")]
#[case::refresh_token("refresh")]
#[case::expired_token("expired")]
#[case::another_owner("other-owner")]
#[case::unknown_room("unknown-room")]
#[case::malformed_room_id("malformed-room")]
#[case::empty_token_and_visitor("empty")]
#[tokio::test]
async fn the_handshake_is_refused_with_403(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
    #[case] refusal: &str,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let other = app.start_chat_with(&owner).await;
    let intruder = TestOwner::registered(&app).await;
    let room = chat.room_id.as_str();
    let url = match refusal {
        "none" => app.ws_url("/ws/chat/", room, &Auth::None),
        "wrong-visitor" => app.ws_url(
            "/ws/chat/",
            room,
            &Auth::Visitor(uuid::Uuid::new_v4().to_string()),
        ),
        "other-room-visitor" => app.ws_url("/ws/chat/", room, &other.visitor()),
        "garbage-jwt" => app.ws_url("/ws/chat/", room, &Auth::Owner("a.b.c".into())),
        "refresh" => app.ws_url("/ws/chat/", room, &Auth::Owner(app.refresh_token(owner.id))),
        "expired" => app.ws_url("/ws/chat/", room, &Auth::Owner(app.expired_token(owner.id))),
        "other-owner" => app.ws_url("/ws/chat/", room, &intruder.auth()),
        "unknown-room" => app.ws_url(
            "/ws/chat/",
            &uuid::Uuid::new_v4().to_string(),
            &owner.auth(),
        ),
        "malformed-room" => app.ws_url("/ws/chat/", "not-a-room", &chat.visitor()),
        "empty" => format!("{}/ws/chat/{room}/?token=&visitor=", app.ws_address),
        other => unreachable!("{other}"),
    };

    // Act
    let status = app.handshake_status(&url).await;

    // Assert
    assert_eq!(status, 403);
    assert_eq!(app.state.hub.open_sockets(), 0);
}

#[rstest]
#[tokio::test]
async fn a_wrong_owner_token_is_refused_even_with_a_valid_visitor_token(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let url = format!(
        "{}/ws/chat/{}/?visitor={}&token=a.b.c",
        app.ws_address, chat.room_id, chat.visitor_token
    );

    // Act
    let status = app.handshake_status(&url).await;

    // Assert
    assert_eq!(status, 403);
}

#[rstest]
#[tokio::test]
async fn a_plain_get_on_the_socket_path_is_a_json_400_not_a_500(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;

    // Act
    let response = app
        .get(&format!(
            "/ws/chat/{}/?visitor={}",
            chat.room_id, chat.visitor_token
        ))
        .await;

    // Assert
    assert_eq!(response.status(), 400);
    assert!(response.json::<Value>().await.unwrap()["detail"].is_string());
}

#[rstest]
#[tokio::test]
async fn an_unknown_socket_path_is_a_json_404(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;

    // Act
    let status = app
        .handshake_status(&format!("{}/ws/elsewhere/", app.ws_address))
        .await;
    let response = app.get("/ws/elsewhere/").await;

    // Assert
    assert_eq!(status, 404);
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"detail": "Not found."})
    );
}

#[rstest]
#[tokio::test]
async fn a_message_is_broadcast_to_every_socket_of_the_room_the_senders_included(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let mut visitor = app.open_ws(&chat.room_id, &chat.visitor()).await;
    let mut second_tab = app.open_ws(&chat.room_id, &chat.visitor()).await;
    let mut owner_socket = app.open_ws(&chat.room_id, &owner.auth()).await;

    // Act
    visitor.send_text(r#"{"message":"Salom"}"#).await;

    // Assert
    let at_visitor = visitor.next_json().await;
    assert_eq!(second_tab.next_json().await, at_visitor);
    assert_eq!(owner_socket.next_json().await, at_visitor);
    assert_eq!(
        keys(&at_visitor),
        ["created_at", "id", "message", "room_id", "sender_type"]
    );
    assert!(is_uuid(&at_visitor["id"]));
    assert_eq!(at_visitor["room_id"], chat.room_id.as_str());
    assert_eq!(at_visitor["sender_type"], "visitor");
    assert_eq!(at_visitor["message"], "Salom");
    assert!(is_wire_timestamp(&at_visitor["created_at"]), "{at_visitor}");
}

#[rstest]
#[tokio::test]
async fn an_owner_message_is_broadcast_with_sender_type_owner(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let mut visitor = app.open_ws(&chat.room_id, &chat.visitor()).await;
    let mut owner_socket = app.open_ws(&chat.room_id, &owner.auth()).await;

    // Act
    owner_socket.send_message("Hozir chiqaman").await;

    // Assert
    let at_owner = owner_socket.next_json().await;
    assert_eq!(visitor.next_json().await, at_owner);
    assert_eq!(at_owner["sender_type"], "owner");
    assert_eq!(at_owner["message"], "Hozir chiqaman");
}

#[rstest]
#[tokio::test]
async fn messages_never_reach_sockets_of_other_rooms(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let other_owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let same_owner_room = app.start_chat_with(&owner).await;
    let other_owner_room = app.start_chat_with(&other_owner).await;
    let mut sender = app.open_ws(&chat.room_id, &chat.visitor()).await;
    let mut neighbour_visitor = app
        .open_ws(&same_owner_room.room_id, &same_owner_room.visitor())
        .await;
    let mut neighbour_owner = app.open_ws(&same_owner_room.room_id, &owner.auth()).await;
    let mut stranger = app
        .open_ws(&other_owner_room.room_id, &other_owner.auth())
        .await;

    // Act
    sender.send_message("faqat shu xonaga").await;
    sender.next_json().await;

    // Assert
    neighbour_visitor.expect_silence().await;
    neighbour_owner.expect_silence().await;
    stranger.expect_silence().await;
    assert!(app
        .history(&same_owner_room.room_id, &owner.auth())
        .await
        .is_empty());
    assert!(app
        .history(&other_owner_room.room_id, &other_owner.auth())
        .await
        .is_empty());
}

#[rstest]
#[case::not_json("Salom", "Invalid JSON.")]
#[case::no_message_field(r#"{"text":"Salom"}"#, "Field \"message\" is required.")]
#[case::null_message(r#"{"message":null}"#, "Field \"message\" is required.")]
#[case::a_list(r#"["Salom"]"#, "Field \"message\" is required.")]
#[case::a_number_message(r#"{"message":5}"#, "Field \"message\" must be a string.")]
#[case::an_object_message(
    r#"{"message":{"text":"Salom"}}"#,
    "Field \"message\" must be a string."
)]
#[case::blank_message(r#"{"message":"  \n\t "}"#, "Message must not be blank.")]
#[case::empty_message(r#"{"message":""}"#, "Message must not be blank.")]
#[case::a_null_character(r#"{"message":"a\u0000b"}"#, "Null characters are not allowed.")]
#[tokio::test]
async fn an_invalid_frame_gets_an_error_to_its_sender_only_and_the_socket_stays_open(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
    #[case] frame: &str,
    #[case] error: &str,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let mut visitor = app.open_ws(&chat.room_id, &chat.visitor()).await;
    let mut owner_socket = app.open_ws(&chat.room_id, &owner.auth()).await;

    // Act
    visitor.send_text(frame).await;

    // Assert
    assert_eq!(visitor.next_json().await, json!({ "error": error }));
    owner_socket.expect_silence().await;
    visitor.send_message("keyin").await;
    assert_eq!(visitor.next_json().await["message"], "keyin");
    assert_eq!(owner_socket.next_json().await["message"], "keyin");
    let history = app.history(&chat.room_id, &owner.auth()).await;
    assert_eq!(history.len(), 1);
}

#[rstest]
#[tokio::test]
async fn a_binary_frame_gets_an_error_and_the_socket_stays_open(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let mut visitor = app.open_ws(&chat.room_id, &chat.visitor()).await;
    let mut owner_socket = app.open_ws(&chat.room_id, &owner.auth()).await;

    // Act
    visitor
        .send_binary(br#"{"message":"Salom"}"#.to_vec())
        .await;

    // Assert
    let reply = visitor.next_json().await;
    assert_eq!(keys(&reply), ["error"]);
    owner_socket.expect_silence().await;
    visitor.send_message("matn").await;
    assert_eq!(visitor.next_json().await["message"], "matn");
    assert_eq!(app.history(&chat.room_id, &owner.auth()).await.len(), 1);
}

#[rstest]
#[tokio::test]
async fn a_message_of_4096_characters_is_accepted_and_one_more_is_refused(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let mut visitor = app.open_ws(&chat.room_id, &chat.visitor()).await;
    let longest = "ы".repeat(4096);

    // Act
    visitor.send_message(&"ы".repeat(4097)).await;
    let refused = visitor.next_json().await;
    visitor.send_message(&longest).await;
    let accepted = visitor.next_json().await;

    // Assert
    assert_eq!(
        refused,
        json!({"error": "Message is too long (at most 4096 characters)."})
    );
    assert_eq!(accepted["message"], longest.as_str());
    let history = app.history(&chat.room_id, &chat.visitor()).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["content"], longest.as_str());
}

#[rstest]
#[tokio::test]
async fn a_frame_over_64_kib_closes_the_socket(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let mut visitor = app.open_ws(&chat.room_id, &chat.visitor()).await;
    let mut owner_socket = app.open_ws(&chat.room_id, &owner.auth()).await;

    // Act
    visitor
        .send_text(&json!({"message": "x".repeat(65 * 1024)}).to_string())
        .await;

    // Assert
    let (frames, _ending) = visitor.read_to_end(Duration::from_secs(10)).await;
    assert!(frames.is_empty(), "{frames:?}");
    eventually("the server forgets the socket", || async {
        (app.state.hub.open_sockets() == 1).then_some(())
    })
    .await;
    owner_socket.expect_silence().await;
    assert!(app.history(&chat.room_id, &owner.auth()).await.is_empty());
}

#[rstest]
#[tokio::test]
async fn flooding_beyond_the_burst_gets_error_frames_and_the_socket_stays_open(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app_with(backend, |c| {
        c.ws_message_burst = 5;
        c.ws_messages_per_second = 1;
    })
    .await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let mut visitor = app.open_ws(&chat.room_id, &chat.visitor()).await;

    // Act
    let started = std::time::Instant::now();
    for i in 0..12 {
        visitor.send_message(&format!("flood {i}")).await;
    }
    let mut replies = Vec::new();
    for _ in 0..12 {
        replies.push(visitor.next_json().await);
    }
    // One token a second comes back while the flood is processed (slow machines).
    let refilled = started.elapsed().as_secs() as usize + 1;

    // Assert
    let accepted = replies
        .iter()
        .filter(|r| r.get("message").is_some())
        .count();
    let refused: Vec<&Value> = replies
        .iter()
        .filter(|r| r.get("error").is_some())
        .collect();
    assert!((5..=5 + refilled).contains(&accepted), "{replies:?}");
    assert_eq!(accepted + refused.len(), 12);
    assert!(
        refused
            .iter()
            .all(|r| r["error"] == "Too many messages; slow down."),
        "{refused:?}"
    );
    assert_eq!(
        app.history(&chat.room_id, &chat.visitor()).await.len(),
        accepted
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    visitor.send_message("sabr bilan").await;
    assert_eq!(visitor.next_json().await["message"], "sabr bilan");
}

#[rstest]
#[tokio::test]
async fn a_flooding_visitor_never_holds_back_the_owners_messages(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app_with(backend, |c| {
        c.ws_message_burst = 2;
        c.ws_messages_per_second = 1;
    })
    .await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let mut flooder = app.open_ws(&chat.room_id, &chat.visitor()).await;
    let mut owner_socket = app.open_ws(&chat.room_id, &owner.auth()).await;
    for i in 0..6 {
        flooder.send_message(&format!("{i}")).await;
    }
    let mut flooder_replies = Vec::new();
    for _ in 0..6 {
        flooder_replies.push(flooder.next_json().await);
    }
    assert!(
        flooder_replies.iter().any(|r| r.get("error").is_some()),
        "{flooder_replies:?}"
    );

    // Act
    owner_socket.send_message("men ham").await;

    // Assert: the owner's message goes through (after the flooder's accepted ones).
    loop {
        let frame = owner_socket.next_json().await;
        assert!(frame.get("error").is_none(), "{frame}");
        if frame["message"] == "men ham" {
            assert_eq!(frame["sender_type"], "owner");
            break;
        }
    }
}

#[rstest]
#[tokio::test]
async fn without_rate_limits_a_flood_is_committed_in_full_and_in_order(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app_with(backend, |c| c.common.rate_limits = RateLimits::Off).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let mut visitor = app.open_ws(&chat.room_id, &chat.visitor()).await;
    let mut owner_socket = app.open_ws(&chat.room_id, &owner.auth()).await;

    // Act
    for i in 0..100 {
        visitor.send_message(&format!("{i}")).await;
    }
    let mut at_owner = Vec::new();
    for _ in 0..100 {
        at_owner.push(owner_socket.next_json().await);
    }

    // Assert
    let texts: Vec<String> = at_owner
        .iter()
        .map(|f| f["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts, (0..100).map(|i| i.to_string()).collect::<Vec<_>>());
    let history = app.history(&chat.room_id, &owner.auth()).await;
    let ids = |frames: &[Value], key: &str| {
        frames
            .iter()
            .map(|f| (f["id"].clone(), f[key].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&history, "content"), ids(&at_owner, "message"));
}

#[rstest]
#[tokio::test]
async fn an_idle_socket_is_closed(#[values(Backend::Postgres, Backend::Sqlite)] backend: Backend) {
    // Arrange
    let app = spawn_app_with(backend, |c| {
        c.ws_ping_interval_secs = 1;
        c.ws_idle_timeout_secs = 2;
    })
    .await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let mut visitor = app.open_ws(&chat.room_id, &chat.visitor()).await;

    // Act: never read, so never answer a ping.
    tokio::time::sleep(Duration::from_millis(3500)).await;

    // Assert
    let (frames, ending) = visitor.read_to_end(Duration::from_secs(10)).await;
    assert!(frames.is_empty());
    assert!(
        matches!(ending, Ending::Closed(Some((1000, _)))),
        "{ending:?}"
    );
    assert_eq!(app.state.hub.open_sockets(), 0);
}

#[rstest]
#[tokio::test]
async fn a_socket_that_answers_pings_outlives_the_idle_timeout(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app_with(backend, |c| {
        c.ws_ping_interval_secs = 1;
        c.ws_idle_timeout_secs = 2;
    })
    .await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let mut visitor = app.open_ws(&chat.room_id, &chat.visitor()).await;

    // Act: reading answers the server's pings.
    assert!(visitor
        .next_frame(Duration::from_millis(4500))
        .await
        .is_none());
    visitor.send_message("hali shu yerdaman").await;

    // Assert
    assert_eq!(visitor.next_json().await["message"], "hali shu yerdaman");
}

#[rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_is_disconnected_while_the_others_in_the_room_keep_receiving(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app_with(backend, |c| {
        c.common.rate_limits = RateLimits::Off;
        c.ws_send_queue = 8;
    })
    .await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let (mut sender, at_sender) = app
        .open_ws(&chat.room_id, &chat.visitor())
        .await
        .split_collecting();
    let (fast, at_fast) = app
        .open_ws(&chat.room_id, &owner.auth())
        .await
        .split_collecting();
    let mut slow = WsClient::connect(
        &app.ws_url("/ws/chat/", &chat.room_id, &owner.auth()),
        Some(4096),
    )
    .await
    .expect("the slow reader connects");
    eventually("three sockets are in the room", || async {
        (app.state.hub.open_sockets() == 3).then_some(())
    })
    .await;

    // Act: the slow reader never reads; the others keep up, a few frames in flight at most.
    let mut sent =
        flood_until_a_socket_is_dropped(&app, &mut sender, &[&at_fast, &at_sender], 3).await;
    eventually("the readers catch up", || async {
        (at_fast.count() == sent && at_sender.count() == sent).then_some(())
    })
    .await;
    for _ in 0..5 {
        sender.send_message("hali ham").await;
        sent += 1;
    }

    // Assert
    eventually("the others have every message", || async {
        (at_fast.count() == sent && at_sender.count() == sent).then_some(())
    })
    .await;
    sender.close().await;
    fast.close().await;
    let at_fast = at_fast.frames().await;
    let at_sender = at_sender.frames().await;
    assert_eq!(at_fast, at_sender);
    assert_eq!(at_fast.last().unwrap()["message"], "hali ham");
    assert_eq!(app.history(&chat.room_id, &owner.auth()).await.len(), sent);
    let (at_slow, ending) = slow.read_to_end(Duration::from_secs(30)).await;
    assert!(
        at_slow.len() < sent,
        "the slow reader was cut off ({} of {sent})",
        at_slow.len()
    );
    assert_eq!(
        at_slow[..],
        at_fast[..at_slow.len()],
        "what it got is in order, without gaps"
    );
    assert!(
        matches!(ending, Ending::Closed(Some((1008, _)))),
        "{ending:?}"
    );
}

/// Sends big messages, keeping every socket that reads (`readers`) at most a few frames behind,
/// so only a socket that does not read can fill its queue, until the hub drops one of its
/// `sockets`; returns how many were sent.
async fn flood_until_a_socket_is_dropped(
    app: &TestApp,
    sender: &mut WsSender,
    readers: &[&Collector],
    sockets: usize,
) -> usize {
    let text = "ы".repeat(4000);
    let mut sent = 0;
    while app.state.hub.open_sockets() == sockets {
        assert!(sent < 5000, "no socket was ever dropped");
        sender.send_message(&text).await;
        sent += 1;
        while readers.iter().any(|r| sent - r.count() > 4) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    sent
}

#[rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stops_reading_is_dropped_after_the_idle_timeout_without_waiting_for_it(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app_with(backend, |c| {
        c.common.rate_limits = RateLimits::Off;
        c.ws_send_queue = 8;
        c.ws_ping_interval_secs = 1;
        c.ws_idle_timeout_secs = 2;
    })
    .await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let (mut sender, at_sender) = app
        .open_ws(&chat.room_id, &chat.visitor())
        .await
        .split_collecting();
    let mut stalled = WsClient::connect(
        &app.ws_url("/ws/chat/", &chat.room_id, &owner.auth()),
        Some(4096),
    )
    .await
    .expect("the reader connects");
    eventually("both sockets are in the room", || async {
        (app.state.hub.open_sockets() == 2).then_some(())
    })
    .await;
    let sent = flood_until_a_socket_is_dropped(&app, &mut sender, &[&at_sender], 2).await;

    // Act: the reader still does not read, for longer than the idle timeout.
    tokio::time::sleep(Duration::from_secs(5)).await;

    // Assert: the server gave up on it by itself, so no closing handshake reached it; had the
    // session waited for the reader, it would now finish with a 1008 close frame.
    let (at_stalled, ending) = stalled.read_to_end(Duration::from_secs(30)).await;
    assert!(at_stalled.len() < sent);
    assert!(matches!(ending, Ending::Dropped), "{ending:?}");
    sender.send_message("hali ham").await;
    eventually("the room still works", || async {
        (at_sender.count() == sent + 1).then_some(())
    })
    .await;
    sender.close().await;
    assert_eq!(
        at_sender.frames().await.last().unwrap()["message"],
        "hali ham"
    );
}

#[rstest]
#[tokio::test]
async fn shutting_down_closes_every_socket_with_1001(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let mut visitor = app.open_ws(&chat.room_id, &chat.visitor()).await;
    let mut owner_socket = app.open_ws(&chat.room_id, &owner.auth()).await;

    // Act
    app.shut_down().await;

    // Assert
    for socket in [&mut visitor, &mut owner_socket] {
        let (frames, ending) = socket.read_to_end(Duration::from_secs(10)).await;
        assert!(frames.is_empty());
        assert!(
            matches!(ending, Ending::Closed(Some((1001, _)))),
            "{ending:?}"
        );
    }
}

#[rstest]
#[tokio::test]
async fn a_socket_the_client_closes_leaves_the_hub_and_its_room_subscription(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let visitor = app.open_ws(&chat.room_id, &chat.visitor()).await;
    let owner_socket = app.open_ws(&chat.room_id, &owner.auth()).await;
    eventually("both sockets are in the hub", || async {
        (app.state.hub.open_sockets() == 2).then_some(())
    })
    .await;
    assert_eq!(app.state.hub.subscribed_rooms(), 1);

    // Act
    visitor.close().await;
    owner_socket.close().await;

    // Assert
    eventually("the hub is empty", || async {
        (app.state.hub.open_sockets() == 0 && app.state.hub.subscribed_rooms() == 0).then_some(())
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn opening_the_owner_socket_marks_the_room_read(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    app.chat(&chat.room_id, &chat.visitor(), &["bir", "ikki"])
        .await;
    assert_eq!(app.rooms_of(&owner).await[0]["unread_count"], 2);

    // Act
    let _owner_socket = app.open_ws(&chat.room_id, &owner.auth()).await;

    // Assert
    assert_eq!(app.rooms_of(&owner).await[0]["unread_count"], 0);
}
