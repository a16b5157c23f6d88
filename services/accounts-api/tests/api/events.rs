//! `accounts.users.<id>.registered` / `.updated` reach subscribers (NATS with Postgres, the
//! in-process bus with SQLite), carry no phone number, and an event committed while NATS is
//! down is published once NATS is back.

use futures::StreamExt;
use rstest::rstest;
use serde_json::json;
use shared::{
    config::Backend,
    events::{
        catalog::{AccountEvent, UserSnapshot},
        EventBus, NatsBus,
    },
    testing::NatsServer,
};

use crate::helpers::{
    next_event, registration, spawn_app, spawn_app_with, unique_phone, TestOwner, EVENT_TIMEOUT,
};

#[rstest]
#[tokio::test]
async fn registering_and_updating_a_profile_publish_account_events(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let mut events = app.subscribe(AccountEvent::ALL).await;
    let sticker = app.sticker().await;
    let phone = unique_phone();
    let mut body = registration(sticker, &phone);
    body["full_name"] = json!("Aziz");
    body["car_model"] = json!("Cobalt");

    // Act
    let registered = app.register(&body).await;
    let registered_event = next_event(&mut events).await;
    let login = crate::helpers::body_json(app.login(&phone, crate::helpers::PASSWORD).await).await;
    let access = login["tokens"]["access"].as_str().expect("access token");
    let updated = app
        .patch_profile(
            access,
            &json!({"car_plate_number": "01A123BC", "is_profile_public": false}),
        )
        .await;
    let updated_event = next_event(&mut events).await;

    // Assert
    assert_eq!(registered.status().as_u16(), 201);
    assert_eq!(updated.status().as_u16(), 200);

    assert_eq!(
        registered_event.subject,
        format!("accounts.users.{sticker}.registered")
    );
    let (event_id, event) = AccountEvent::from_envelope(&registered_event).expect("decodes");
    assert_eq!(event_id, registered_event.id);
    assert_eq!(
        event,
        AccountEvent::UserRegistered(UserSnapshot {
            id: sticker,
            is_registered: true,
            is_profile_public: true,
            full_name: "Aziz".into(),
            car_model: "Cobalt".into(),
            car_plate_number: String::new(),
            version: 1,
        })
    );

    assert_eq!(
        updated_event.subject,
        format!("accounts.users.{sticker}.updated")
    );
    let (updated_id, event) = AccountEvent::from_envelope(&updated_event).expect("decodes");
    assert_ne!(updated_id, event_id);
    assert_eq!(
        event,
        AccountEvent::UserUpdated(UserSnapshot {
            id: sticker,
            is_registered: true,
            is_profile_public: false,
            // A hidden profile's name and car never leave accounts-api.
            full_name: String::new(),
            car_model: String::new(),
            car_plate_number: String::new(),
            version: 2,
        })
    );

    // Phone numbers and password hashes never go on the bus.
    for envelope in [&registered_event, &updated_event] {
        let payload = String::from_utf8_lossy(&envelope.payload);
        assert!(!payload.contains(&phone[1..]), "{payload}");
        assert!(!payload.contains("argon2"), "{payload}");
    }
    let hidden = String::from_utf8_lossy(&updated_event.payload);
    assert!(
        !hidden.contains("Aziz") && !hidden.contains("01A123BC"),
        "{hidden}"
    );
}

#[rstest]
#[tokio::test]
async fn a_refused_change_publishes_no_event(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    app.wait_for_empty_outbox().await;
    let mut events = app.subscribe(AccountEvent::ALL).await;

    // Act
    let refused = app
        .patch_profile(&owner.access, &json!({"is_profile_public": "maybe"}))
        .await;
    let accepted = app
        .patch_profile(&owner.access, &json!({"full_name": "After"}))
        .await;

    // Assert: the first event after the refusal is the accepted change.
    assert_eq!(refused.status().as_u16(), 400);
    assert_eq!(accepted.status().as_u16(), 200);
    let event = next_event(&mut events).await;
    let (_, event) = AccountEvent::from_envelope(&event).expect("decodes");
    assert!(matches!(
        &event,
        AccountEvent::UserUpdated(u) if u.full_name == "After" && u.version == 2
    ));
}

/// Postgres only: this is about NATS, and the harness pairs SQLite with the in-process bus.
#[tokio::test]
async fn an_event_committed_while_nats_is_down_is_published_when_nats_comes_back() {
    // Arrange: the app is configured for a NATS server that is not running yet.
    let mut server = NatsServer::stopped();
    let nats_url = server.url().to_owned();
    let app = spawn_app_with(Backend::Postgres, |c| c.common.nats_url = Some(nats_url)).await;
    let sticker = app.sticker().await;
    let registered = app.register(&registration(sticker, &unique_phone())).await;
    assert_eq!(
        registered.status().as_u16(),
        201,
        "writes go on while NATS is down"
    );
    assert_eq!(
        app.database.outbox().backlog().await.expect("backlog"),
        1,
        "the event waits in the outbox"
    );

    // Act
    server.restart().await;
    let subscriber = NatsBus::connect(server.url(), &app.config.common.nats_subject_prefix)
        .await
        .expect("connected to the new server");
    let mut deliveries = subscriber
        .consume_durable("probe", AccountEvent::ALL)
        .await
        .expect("durable consumer");
    let delivery = tokio::time::timeout(EVENT_TIMEOUT * 2, deliveries.next())
        .await
        .expect("the event arrives once NATS is back")
        .expect("stream open");

    // Assert
    assert_eq!(
        delivery.envelope.subject,
        format!("accounts.users.{sticker}.registered")
    );
    let (_, event) = AccountEvent::from_envelope(&delivery.envelope).expect("decodes");
    assert_eq!(event.snapshot().id, sticker);
    delivery.ack().await;
    let duplicate =
        tokio::time::timeout(std::time::Duration::from_secs(2), deliveries.next()).await;
    assert!(duplicate.is_err(), "published exactly once");
    assert_eq!(app.database.outbox().backlog().await.expect("backlog"), 0);
    drop(server);
}
