//! From chat events to push requests, checked at a push service on a local port
//! (`PUSH_ALLOW_PRIVATE_ENDPOINTS=true`): every request is opened with an implementation that
//! is not ours (PyPI's `http_ece` and `cryptography`), which verifies the VAPID token and
//! decrypts the payload as the subscribed browser would.

use std::time::Duration;

use rstest::rstest;
use serde_json::{json, Value};
use shared::{config::Backend, ids::UserId};
use uuid::Uuid;

use crate::helpers::{
    eventually, open, owner_message, room_created, settings_changed, spawn_app_with,
    visitor_message, PushService, Reply, Subscriber, TestApp, QUIET,
};

/// A notifier whose endpoints may be on loopback, with a `window`-second coalescing window.
async fn app(backend: Backend, window: u64) -> TestApp {
    spawn_app_with(backend, |config| {
        config.push_allow_private_endpoints = true;
        config.push_coalesce_secs = window;
        config.push_retry_base_ms = 200;
    })
    .await
}

/// Subscribes a fresh browser of `owner` at `name` on `push`.
async fn subscribe(app: &TestApp, push: &PushService, owner: UserId, name: &str) -> Subscriber {
    let browser = Subscriber::new(push.endpoint(name));
    app.subscribe_as(owner, &browser.body()).await;
    browser
}

fn payload_of(
    app: &TestApp,
    push: &PushService,
    received: &crate::helpers::Received,
    browser: &Subscriber,
) -> Value {
    open(
        received,
        browser,
        app.placement.vapid.public_key(),
        push.origin(),
    )
    .payload
}

#[rstest]
#[tokio::test]
async fn a_new_room_reaches_every_browser_of_its_owner_encrypted_and_signed(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = app(backend, 30).await;
    let push = PushService::start().await;
    let (owner, stranger) = (UserId::new_random(), UserId::new_random());
    let phone = subscribe(&app, &push, owner, "phone").await;
    let laptop = subscribe(&app, &push, owner, "laptop").await;
    subscribe(&app, &push, stranger, "stranger").await;
    let room = Uuid::new_v4();

    // Act
    app.publish(&[room_created(room, owner, "Qo'shni")]).await;

    // Assert
    let expected = json!({
        "type": "room", "room_id": room.to_string(), "title": "New chat",
        "body": "Qo'shni", "url": format!("/app/#room={room}"),
    });
    for (name, browser) in [("phone", &phone), ("laptop", &laptop)] {
        let received = push.wait_for(name, 1).await;
        assert_eq!(received.len(), 1, "{name}: one notification");
        let request = &received[0];
        let opened = open(
            request,
            browser,
            app.placement.vapid.public_key(),
            push.origin(),
        );
        assert_eq!(opened.payload, expected, "{name}");
        assert_eq!(opened.claims["aud"], push.origin());
        assert_eq!(request.header("urgency"), Some("high"));
        assert_eq!(request.header("ttl"), Some("86400"));
        assert_eq!(request.header("content-encoding"), Some("aes128gcm"));
        assert_eq!(
            request.header("topic"),
            Some(room.simple().to_string().as_str())
        );
    }
    assert!(
        push.received("stranger").is_empty(),
        "another owner's browser hears nothing"
    );
}

#[rstest]
#[tokio::test]
async fn visitor_messages_inside_the_window_become_one_notification_with_the_latest_preview(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let window = 2;
    let app = app(backend, window).await;
    let push = PushService::start().await;
    let owner = UserId::new_random();
    let browser = subscribe(&app, &push, owner, "phone").await;
    let room = Uuid::new_v4();
    app.publish(&[room_created(room, owner, "")]).await;
    let first = push.wait_for("phone", 1).await;

    // Act
    app.publish(&[
        visitor_message(room, owner, "Salom"),
        owner_message(room, owner, "Ha, eshitaman"),
        visitor_message(room, owner, "Mashinangiz yo'lni to'sib qo'ydi"),
        visitor_message(room, owner, "Iltimos, tezroq keling!"),
    ])
    .await;

    // Assert
    let received = push.wait_for("phone", 2).await;
    assert_eq!(received.len(), 2, "the room, then one message notification");
    assert_eq!(
        payload_of(&app, &push, &first[0], &browser)["body"],
        "A visitor"
    );
    let message = payload_of(&app, &push, &received[1], &browser);
    assert_eq!(message["type"], "message");
    assert_eq!(message["title"], "New message");
    assert_eq!(message["body"], "Iltimos, tezroq keling!");
    assert_eq!(message["room_id"], room.to_string());
    let gap = received[1].at - received[0].at;
    assert!(
        gap >= Duration::from_secs(window) - Duration::from_millis(300),
        "{gap:?}"
    );
    assert!(app
        .metrics()
        .await
        .contains("notifications_coalesced_total 2"));
}

#[tokio::test]
async fn a_message_in_a_quiet_room_goes_out_at_once_with_a_preview_of_120_characters() {
    // Arrange
    let app = app(Backend::Sqlite, 30).await;
    let push = PushService::start().await;
    let owner = UserId::new_random();
    let browser = subscribe(&app, &push, owner, "phone").await;
    let long = format!("{} oxiri", "juda uzun xabar ".repeat(30));

    // Act
    app.publish(&[visitor_message(Uuid::new_v4(), owner, &long)])
        .await;

    // Assert
    let received = push.wait_for("phone", 1).await;
    let body = payload_of(&app, &push, &received[0], &browser)["body"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(body.chars().count(), 120);
    assert!(body.ends_with('…'));
    assert!(long.starts_with(body.trim_end_matches('…')));
}

#[rstest]
#[tokio::test]
async fn nothing_is_notified_while_the_owner_is_paused_or_quiet(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = app(backend, 0).await;
    let push = PushService::start().await;
    let owner = UserId::new_random();
    let browser = subscribe(&app, &push, owner, "phone").await;
    let hour = chrono::Duration::hours(1);

    // Act
    app.publish(&[
        settings_changed(owner, false, None, 1),
        room_created(Uuid::new_v4(), owner, "paused"),
        settings_changed(owner, true, Some(shared::time::now() + hour), 2),
        visitor_message(Uuid::new_v4(), owner, "quiet"),
        settings_changed(owner, true, None, 3),
        // Older than what is held: ignored.
        settings_changed(owner, false, None, 2),
        visitor_message(Uuid::new_v4(), owner, "heard"),
    ])
    .await;

    // Assert
    let received = push.wait_for("phone", 1).await;
    assert_eq!(received.len(), 1, "only the message after the quiet time");
    assert_eq!(
        payload_of(&app, &push, &received[0], &browser)["body"],
        "heard"
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("notifications_suppressed_total{reason=\"paused\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("notifications_suppressed_total{reason=\"quiet\"} 1"),
        "{metrics}"
    );
}

#[rstest]
#[tokio::test]
async fn a_subscription_the_push_service_calls_gone_is_deleted(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = app(backend, 0).await;
    let push = PushService::start().await;
    let owner = UserId::new_random();
    subscribe(&app, &push, owner, "gone").await;
    push.reply_next("gone", &[Reply::Status(410)]);

    // Act
    app.publish(&[room_created(Uuid::new_v4(), owner, "first")])
        .await;
    eventually("the subscription is deleted", || async {
        (app.service.store.count_subscriptions().await.ok()? == 0).then_some(())
    })
    .await;
    app.publish(&[room_created(Uuid::new_v4(), owner, "second")])
        .await;
    tokio::time::sleep(QUIET).await;

    // Assert
    assert_eq!(push.received("gone").len(), 1, "never called again");
    assert!(app
        .metrics()
        .await
        .contains("notifications_failed_total{reason=\"gone\"} 1"));
}

#[rstest]
#[tokio::test]
async fn a_failing_or_throttled_push_service_is_retried_until_it_takes_the_notification(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = app(backend, 0).await;
    let push = PushService::start().await;
    let owner = UserId::new_random();
    let browser = subscribe(&app, &push, owner, "busy").await;
    push.reply_next("busy", &[Reply::Status(500), Reply::RetryAfter(429, 1)]);

    // Act
    app.publish(&[room_created(Uuid::new_v4(), owner, "sabrli")])
        .await;

    // Assert
    let received = push.wait_for("busy", 3).await;
    assert_eq!(
        received.len(),
        3,
        "two failures, then accepted; nothing after"
    );
    for request in &received {
        assert_eq!(payload_of(&app, &push, request, &browser)["body"], "sabrli");
    }
    assert!(
        received[1].at - received[0].at >= Duration::from_millis(200),
        "backoff"
    );
    assert!(
        received[2].at - received[1].at >= Duration::from_millis(950),
        "Retry-After: 1"
    );
    let metrics = app.metrics().await;
    assert!(metrics.contains("notifications_sent_total 1"), "{metrics}");
    assert!(metrics.contains("push_retries_total 2"), "{metrics}");
}
