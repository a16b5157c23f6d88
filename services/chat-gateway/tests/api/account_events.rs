//! The owner projection: chat-gateway learns owners from `accounts.users.*` events, never from
//! accounts-api itself (which no test here starts), applies them idempotently and in version
//! order, and rebuilds them from the stream into a fresh database.

use std::{sync::Arc, time::Duration};

use rstest::rstest;
use secrecy::SecretString;
use serde_json::{json, Value};
use shared::{
    config::Backend,
    events::{catalog::AccountEvent, Envelope, EventBus, NatsBus},
    ids::UserId,
    testing::{nats_url, unique_prefix, TestDatabase},
};

use crate::helpers::{publish, snapshot, spawn_app, spawn_replica, Placement, TestApp};

async fn start_chat_status(app: &TestApp, owner: UserId) -> u16 {
    app.start_chat(&json!({"user_id": owner.to_string()}))
        .await
        .status()
        .as_u16()
}

#[rstest]
#[tokio::test]
async fn a_chat_can_be_started_with_an_owner_learned_from_events_while_no_accounts_api_exists(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = UserId::new_random();
    assert_eq!(
        start_chat_status(&app, owner).await,
        400,
        "unknown before the event"
    );

    // Act
    app.publish_account_event(&AccountEvent::UserRegistered(snapshot(
        owner, true, true, 1,
    )))
    .await;
    let projected = app.wait_for_owner(owner, 1).await;

    // Assert
    assert!(projected.is_registered);
    assert!(projected.is_profile_public);
    let response = app.start_chat(&json!({"user_id": owner.to_string()})).await;
    assert_eq!(response.status(), 201);
    let room: Value = response.json().await.unwrap();
    let rooms = app
        .rooms_of(&crate::helpers::TestOwner {
            id: owner,
            token: app.access_token(owner),
        })
        .await;
    assert_eq!(rooms[0]["id"], room["room_id"]);
}

#[rstest]
#[tokio::test]
async fn hiding_the_profile_keeps_the_owner_reachable_by_chat(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = UserId::new_random();
    app.publish_account_event(&AccountEvent::UserRegistered(snapshot(
        owner, true, true, 1,
    )))
    .await;

    // Act
    app.publish_account_event(&AccountEvent::UserUpdated(snapshot(owner, true, false, 2)))
        .await;
    let projected = app.wait_for_owner(owner, 2).await;

    // Assert
    assert!(!projected.is_profile_public);
    assert_eq!(start_chat_status(&app, owner).await, 201);
}

#[rstest]
#[tokio::test]
async fn a_stale_event_never_overrides_a_newer_one(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = UserId::new_random();
    let marker = UserId::new_random();
    app.publish_account_event(&AccountEvent::UserUpdated(snapshot(owner, true, false, 3)))
        .await;
    app.wait_for_owner(owner, 3).await;

    // Act: an older snapshot arrives late (a redelivery), then a marker to know it was applied.
    app.publish_account_event(&AccountEvent::UserRegistered(snapshot(
        owner, true, true, 1,
    )))
    .await;
    app.publish_account_event(&AccountEvent::UserRegistered(snapshot(
        marker, true, true, 1,
    )))
    .await;
    app.wait_for_owner(marker, 1).await;

    // Assert
    let stored = app.state.store.find_owner(owner).await.unwrap().unwrap();
    assert_eq!(stored.version, 3);
    assert!(!stored.is_profile_public);
}

#[rstest]
#[tokio::test]
async fn an_undecodable_account_event_is_skipped_and_later_events_still_apply(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let broken = UserId::new_random();
    let owner = UserId::new_random();

    // Act
    publish(
        app.bus.as_ref(),
        &[Envelope {
            id: uuid::Uuid::now_v7(),
            subject: format!("accounts.users.{broken}.registered"),
            payload: b"{not json"[..].into(),
            headers: Vec::new(),
        }],
    )
    .await;
    app.publish_account_event(&AccountEvent::UserRegistered(snapshot(
        owner, true, true, 1,
    )))
    .await;

    // Assert
    app.wait_for_owner(owner, 1).await;
    assert!(app.state.store.find_owner(broken).await.unwrap().is_none());
    assert_eq!(start_chat_status(&app, owner).await, 201);
}

#[rstest]
#[tokio::test]
async fn a_sticker_reported_unregistered_cannot_be_chatted_with(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let sticker = UserId::new_random();

    // Act
    app.publish_account_event(&AccountEvent::UserUpdated(snapshot(
        sticker, false, true, 1,
    )))
    .await;
    app.wait_for_owner(sticker, 1).await;

    // Assert
    let response = app
        .start_chat(&json!({"user_id": sticker.to_string()}))
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"user_id": ["User not found."]})
    );
}

async fn replica_on(db: TestDatabase, prefix: &str) -> TestApp {
    spawn_replica(
        Placement {
            db: Arc::new(db),
            nats: Some((nats_url(), prefix.to_owned())),
            secret: SecretString::from(format!("secret-{}", uuid::Uuid::new_v4())),
            replica_id: None,
        },
        |_| {},
    )
    .await
}

#[tokio::test]
async fn the_owner_projection_is_rebuilt_from_the_stream_into_a_fresh_database() {
    // Arrange: accounts-api published registrations before any gateway existed.
    let prefix = unique_prefix();
    let accounts = NatsBus::connect(&nats_url(), &prefix).await.unwrap();
    let early: Vec<UserId> = (0..3).map(|_| UserId::new_random()).collect();
    let rows: Vec<Envelope> = early
        .iter()
        .map(|id| {
            AccountEvent::UserRegistered(snapshot(*id, true, true, 1))
                .to_outbox(shared::time::now())
                .to_envelope(None)
        })
        .collect();
    publish(&accounts, &rows).await;

    // Act
    let first = replica_on(TestDatabase::create(Backend::Postgres).await, &prefix).await;
    for id in &early {
        first.wait_for_owner(*id, 1).await;
    }
    let late = UserId::new_random();
    first
        .publish_account_event(&AccountEvent::UserRegistered(snapshot(
            late, true, false, 1,
        )))
        .await;
    first.wait_for_owner(late, 1).await;
    let second = replica_on(TestDatabase::create(Backend::Postgres).await, &prefix).await;

    // Assert
    for id in early.iter().chain([&late]) {
        second.wait_for_owner(*id, 1).await;
    }
    assert!(
        !second
            .state
            .store
            .find_owner(late)
            .await
            .unwrap()
            .unwrap()
            .is_profile_public
    );
    assert_eq!(start_chat_status(&second, early[0]).await, 201);
    assert_eq!(start_chat_status(&second, late).await, 201);
}

#[tokio::test]
async fn events_published_while_the_gateway_is_down_are_applied_when_it_restarts() {
    // Arrange
    let prefix = unique_prefix();
    let db = Arc::new(TestDatabase::create(Backend::Postgres).await);
    let secret = SecretString::from(format!("secret-{}", uuid::Uuid::new_v4()));
    let placement = || Placement {
        db: db.clone(),
        nats: Some((nats_url(), prefix.clone())),
        secret: secret.clone(),
        replica_id: None,
    };
    let app = spawn_replica(placement(), |_| {}).await;
    let before = UserId::new_random();
    app.publish_account_event(&AccountEvent::UserRegistered(snapshot(
        before, true, true, 1,
    )))
    .await;
    app.wait_for_owner(before, 1).await;
    let accounts: Arc<dyn EventBus> = app.bus.clone();
    app.shut_down().await;

    // Act
    let while_down = UserId::new_random();
    let row = AccountEvent::UserRegistered(snapshot(while_down, true, true, 1))
        .to_outbox(shared::time::now());
    publish(accounts.as_ref(), &[row.to_envelope(None)]).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let restarted = spawn_replica(placement(), |_| {}).await;

    // Assert
    restarted.wait_for_owner(while_down, 1).await;
    assert_eq!(start_chat_status(&restarted, while_down).await, 201);
    assert_eq!(start_chat_status(&restarted, before).await, 201);
}
