//! The owner's controls: closing and reopening a room (the visitor's messages are refused in
//! between, on any replica), blocking a visitor (no new room from the same browser or address,
//! until unblocked), and pausing the sticker (no new rooms at all).

#![expect(
    clippy::expect_used,
    reason = "the tests fail by panicking, as test helpers do"
)]

use reqwest::Method;
use rstest::rstest;
use serde_json::{json, Value};
use shared::config::Backend;

use crate::helpers::{
    chat_stream_events, keys, not_authenticated, permission_denied, spawn_app_with, spawn_cluster,
    status_and_json, Auth, TestApp, TestOwner,
};

/// An app that takes client addresses from `X-Forwarded-For`, as behind the ingress.
async fn app_behind_ingress(backend: Backend) -> TestApp {
    spawn_app_with(backend, |c| c.common.trust_forwarded_for = true).await
}

/// Starts a chat from `key` at `address` and returns the room id, checking it worked.
async fn start(app: &TestApp, owner: &TestOwner, key: &str, address: &str) -> String {
    let (status, body) =
        status_and_json(app.start_chat_from(owner, Some(key), address).await).await;
    assert_eq!(status, 201, "{body}");
    body["room_id"].as_str().expect("room_id").to_owned()
}

#[rstest]
#[tokio::test]
async fn a_closed_room_refuses_the_visitor_keeps_its_history_and_reopens(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange: a conversation, the visitor on a v2 socket, the owner's channel open.
    let app = app_behind_ingress(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let mut visitor = app.open_v2(&chat.room_id, &chat.visitor(), None).await;
    let mut channel = app.open_owner_channel(&owner).await;
    visitor.send_message("Salom").await;
    visitor.next_json().await;
    while channel.next_json().await["type"] != "room" {}

    // Act: the owner closes the room.
    let (status, closed) = status_and_json(
        app.control_room(Method::POST, &chat.room_id, "close", &owner.auth())
            .await,
    )
    .await;

    // Assert: the room says so, both sides hear it, the visitor is refused, the owner is not.
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["is_active"], false);
    assert_eq!(closed["is_blocked"], false);
    assert!(keys(&closed).contains(&"visitor_last_read_id".to_owned()));
    assert_eq!(
        visitor.next_json().await,
        json!({ "type": "room_state", "room_id": chat.room_id, "is_active": false })
    );
    let heard = channel.next_json().await;
    assert_eq!(heard, json!({ "type": "room", "room": closed }));
    visitor.send_message("Yana").await;
    assert_eq!(
        visitor.next_json().await,
        json!({ "error": "This chat is closed." })
    );
    let mut later = app.open_v2(&chat.room_id, &chat.visitor(), None).await;
    assert_eq!(
        later.next_json().await,
        json!({ "type": "room_state", "room_id": chat.room_id, "is_active": false }),
        "a v2 socket opened on a closed room learns it at once"
    );
    later.close().await;
    let mut owner_socket = app.open_ws(&chat.room_id, &owner.auth()).await;
    owner_socket.send_message("Yopildi").await;
    assert_eq!(owner_socket.next_json().await["message"], "Yopildi");
    let history = app.history(&chat.room_id, &chat.visitor()).await;
    let texts: Vec<&Value> = history.iter().map(|m| &m["content"]).collect();
    assert_eq!(texts, [&json!("Salom"), &json!("Yopildi")]);

    // Reopened: the visitor writes again.
    let (status, reopened) = status_and_json(
        app.control_room(Method::POST, &chat.room_id, "reopen", &owner.auth())
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(reopened["is_active"], true);
    visitor.next_json().await; // the owner's message
    assert_eq!(visitor.next_json().await["type"], "room_state");
    visitor.send_message("Rahmat").await;
    assert_eq!(visitor.next_json().await["message"], "Rahmat");
}

#[rstest]
#[tokio::test]
async fn only_the_rooms_owner_controls_it(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = app_behind_ingress(backend).await;
    let owner = TestOwner::registered(&app).await;
    let intruder = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let unknown = uuid::Uuid::new_v4().to_string();

    // Act
    let mut outcomes = Vec::new();
    for (method, action) in [
        (Method::POST, "close"),
        (Method::POST, "reopen"),
        (Method::POST, "block"),
        (Method::DELETE, "block"),
    ] {
        for (room, auth) in [
            (chat.room_id.as_str(), Auth::None),
            (chat.room_id.as_str(), intruder.auth()),
            (chat.room_id.as_str(), chat.visitor()),
            (unknown.as_str(), owner.auth()),
            ("not-a-room", owner.auth()),
        ] {
            let response = app.control_room(method.clone(), room, action, &auth).await;
            outcomes.push(status_and_json(response).await);
        }
    }

    // Assert: 401 without a token, 403 for another owner, 404 for no such room; nothing moved.
    for chunk in outcomes.chunks(5) {
        assert_eq!(chunk[0], (401, not_authenticated()));
        assert_eq!(chunk[1], (403, permission_denied()));
        assert_eq!(chunk[2], (401, not_authenticated()));
        assert_eq!(chunk[3], (404, json!({ "detail": "Not found." })));
        assert_eq!(chunk[4], (404, json!({ "detail": "Not found." })));
    }
    let rooms = app.rooms_of(&owner).await;
    assert_eq!(
        (&rooms[0]["is_active"], &rooms[0]["is_blocked"]),
        (&json!(true), &json!(false))
    );
}

#[rstest]
#[tokio::test]
async fn a_blocked_visitor_cannot_start_a_new_room_from_the_same_browser_or_address(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange: a visitor with a browser key at one address.
    let app = app_behind_ingress(backend).await;
    let owner = TestOwner::registered(&app).await;
    let other_owner = TestOwner::registered(&app).await;
    let room = start(&app, &owner, "browser-1", "198.51.100.7").await;

    // Act
    let (status, blocked) = status_and_json(
        app.control_room(Method::POST, &room, "block", &owner.auth())
            .await,
    )
    .await;
    let same_browser = app
        .start_chat_from(&owner, Some("browser-1"), "203.0.113.9")
        .await;
    let same_address = app
        .start_chat_from(&owner, Some("browser-2"), "198.51.100.7")
        .await;
    let same_network = app.start_chat_from(&owner, None, "2001:db8:1:2::1").await;
    let elsewhere = start(&app, &owner, "browser-3", "203.0.113.10").await;
    let other = start(&app, &other_owner, "browser-1", "198.51.100.7").await;
    let reopen = app
        .control_room(Method::POST, &room, "reopen", &owner.auth())
        .await;

    // Assert
    assert_eq!(status, 200);
    assert_eq!(
        (&blocked["is_active"], &blocked["is_blocked"]),
        (&json!(false), &json!(true))
    );
    let refusal =
        json!({ "detail": "The owner has blocked this chat.", "code": "visitor_blocked" });
    assert_eq!(status_and_json(same_browser).await, (403, refusal.clone()));
    assert_eq!(status_and_json(same_address).await, (403, refusal));
    assert_eq!(same_network.status(), 201, "another network");
    assert!(!elsewhere.is_empty() && !other.is_empty());
    assert_eq!(
        status_and_json(reopen).await,
        (
            409,
            json!({ "detail": "This chat is blocked; unblock it to reopen it." })
        )
    );

    // Unblocked: the room reopens and the browser may start again.
    let (status, unblocked) = status_and_json(
        app.control_room(Method::DELETE, &room, "block", &owner.auth())
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (&unblocked["is_active"], &unblocked["is_blocked"]),
        (&json!(true), &json!(false))
    );
    start(&app, &owner, "browser-1", "198.51.100.7").await;
}

#[rstest]
#[tokio::test]
async fn a_paused_owner_gets_no_new_rooms_and_settings_are_validated(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = app_behind_ingress(backend).await;
    let owner = TestOwner::registered(&app).await;
    let before = app.start_chat_with(&owner).await;

    // Act & Assert: the defaults.
    let (status, settings) = status_and_json(app.settings(Method::GET, &owner, None).await).await;
    assert_eq!(status, 200);
    assert_eq!(
        settings,
        json!({ "accepting_messages": true, "quiet_until": null })
    );

    // Bad input changes nothing.
    let bad = app
        .settings(
            Method::PUT,
            &owner,
            Some(&json!({ "accepting_messages": "maybe", "quiet_until": "tomorrow" })),
        )
        .await;
    let (status, errors) = status_and_json(bad).await;
    assert_eq!(status, 400);
    assert_eq!(
        errors["accepting_messages"],
        json!(["Must be a valid boolean."])
    );
    assert!(errors["quiet_until"][0]
        .as_str()
        .is_some_and(|m| m.starts_with("Datetime has wrong format.")));
    let partial_put = app
        .settings(
            Method::PUT,
            &owner,
            Some(&json!({ "accepting_messages": false })),
        )
        .await;
    assert_eq!(
        status_and_json(partial_put).await,
        (400, json!({ "quiet_until": ["This field is required."] }))
    );

    // Paused: no new room; what exists goes on.
    let (status, paused) = status_and_json(
        app.settings(
            Method::PUT,
            &owner,
            Some(
                &json!({ "accepting_messages": false, "quiet_until": "2031-01-02T03:04:05+02:00" }),
            ),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        paused,
        json!({ "accepting_messages": false, "quiet_until": "2031-01-02T01:04:05.000000Z" })
    );
    let refused = app
        .start_chat(&json!({ "user_id": owner.id.to_string() }))
        .await;
    assert_eq!(
        status_and_json(refused).await,
        (
            403,
            json!({
                "detail": "The owner is not accepting messages right now.",
                "code": "not_accepting_messages",
            })
        )
    );
    let ongoing = app
        .chat(&before.room_id, &before.visitor(), &["hali ham"])
        .await;
    assert_eq!(ongoing.len(), 1);

    // Resumed with a partial update; quiet hours stay.
    let resumed = app
        .settings(
            Method::PATCH,
            &owner,
            Some(&json!({ "accepting_messages": true })),
        )
        .await;
    let (status, resumed) = status_and_json(resumed).await;
    assert_eq!(status, 200);
    assert_eq!(resumed["quiet_until"], "2031-01-02T01:04:05.000000Z");
    app.start_chat_with(&owner).await;
    let anonymous = app
        .request(Method::GET, "/api/chat/settings/")
        .send()
        .await
        .expect("sent");
    assert_eq!(status_and_json(anonymous).await, (401, not_authenticated()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controls_hold_across_replicas_and_settings_are_published() {
    // Arrange: the visitor on replica A; the owner acts through replica B.
    let cluster = spawn_cluster(2).await;
    let (a, b) = (&cluster[0], &cluster[1]);
    let owner = TestOwner::registered(a).await;
    let chat = a.start_chat_with(&owner).await;
    let mut visitor = a.open_ws(&chat.room_id, &chat.visitor()).await;
    let start_on_a = || async {
        let response = a
            .start_chat(&json!({ "user_id": owner.id.to_string() }))
            .await;
        status_and_json(response).await
    };

    // Act & Assert: closed on B, the visitor's next message on A is refused.
    let closed = b
        .control_room(Method::POST, &chat.room_id, "close", &owner.auth())
        .await;
    assert_eq!(closed.status(), 200);
    visitor.send_message("Hali shu yerdaman").await;
    assert_eq!(
        visitor.next_json().await,
        json!({ "error": "This chat is closed." })
    );
    assert!(a.history(&chat.room_id, &chat.visitor()).await.is_empty());

    // Blocked on B: this visitor's address opens no room on A; unblocked, it does.
    let blocked = b
        .control_room(Method::POST, &chat.room_id, "block", &owner.auth())
        .await;
    assert_eq!(blocked.status(), 200);
    let (status, refusal) = start_on_a().await;
    assert_eq!((status, &refusal["code"]), (403, &json!("visitor_blocked")));
    let unblocked = b
        .control_room(Method::DELETE, &chat.room_id, "block", &owner.auth())
        .await;
    assert_eq!(unblocked.status(), 200);
    assert_eq!(start_on_a().await.0, 201);

    // Paused on B: no new room on A.
    let paused = b
        .settings(
            Method::PUT,
            &owner,
            Some(&json!({ "accepting_messages": false, "quiet_until": null })),
        )
        .await;
    assert_eq!(paused.status(), 200);
    let (status, refusal) = start_on_a().await;
    assert_eq!(
        (status, &refusal["code"]),
        (403, &json!("not_accepting_messages"))
    );
    crate::helpers::eventually("the settings event is published", || async {
        let events = chat_stream_events(&shared::testing::nats_url(), &a.prefix).await;
        events
            .iter()
            .any(|e| e.subject == format!("chat.owners.{}.settings", owner.id))
            .then_some(())
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn an_owner_changing_rooms_and_settings_too_fast_is_throttled(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange: three changes a minute.
    let app = spawn_app_with(backend, |c| c.owner_actions_per_minute = 3).await;
    let owner = TestOwner::registered(&app).await;
    let other = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let theirs = app.start_chat_with(&other).await;

    // Act
    let mut statuses = Vec::new();
    for action in ["close", "reopen", "close"] {
        let response = app
            .control_room(Method::POST, &chat.room_id, action, &owner.auth())
            .await;
        statuses.push(response.status().as_u16());
    }
    let settings = app
        .settings(
            Method::PATCH,
            &owner,
            Some(&json!({ "accepting_messages": false })),
        )
        .await;
    let retry_after = settings.headers().get("retry-after").cloned();
    let throttled = status_and_json(settings).await;
    let others = app
        .control_room(Method::POST, &theirs.room_id, "close", &other.auth())
        .await;

    // Assert: the fourth change is refused, and changes nothing; another owner is not slowed.
    assert_eq!(statuses, [200, 200, 200]);
    assert_eq!(throttled.0, 429, "{}", throttled.1);
    assert!(throttled.1["detail"]
        .as_str()
        .is_some_and(|d| d.starts_with("Request was throttled.")));
    assert!(retry_after.is_some());
    let (_, settings) = status_and_json(app.settings(Method::GET, &owner, None).await).await;
    assert_eq!(settings["accepting_messages"], true);
    assert_eq!(others.status(), 200);
}
