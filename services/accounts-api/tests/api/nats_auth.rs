//! accounts-api against the deployed NATS configuration (`deploy/nats/nats.conf`, run by
//! `NatsServer::secured`): with its own credentials it publishes its events, which a
//! read-only consumer can read and its other replicas hear; nobody else may publish into
//! `accounts.>` or `chat.>`, and a client without the right credentials is not let in at all.

use std::time::Duration;

use futures::StreamExt;
use shared::{
    config::Backend,
    events::{catalog::AccountEvent, EventBus, NatsAuth, NatsBus},
    testing::NatsServer,
};
use tokio::sync::mpsc;

use crate::{
    helpers::{
        registration, spawn_app_with, spawn_replica_of, unique_phone, TestOwner, EVENT_TIMEOUT,
    },
    public_profile_cache::{hide_on_one_and_see_it_gone_from, served_from_memory},
};

/// How long to listen to be sure a message is not delivered.
const QUIET: Duration = Duration::from_millis(500);

/// A client connected as `auth`, and the errors the server sends it.
async fn client_as(
    server: &NatsServer,
    auth: &NatsAuth,
) -> (async_nats::Client, mpsc::UnboundedReceiver<String>) {
    let (errors, received) = mpsc::unbounded_channel();
    let client = auth
        .apply(async_nats::ConnectOptions::new())
        .await
        .expect("credentials apply")
        .event_callback(move |event| {
            let errors = errors.clone();
            async move {
                if let async_nats::Event::ServerError(e) = event {
                    let _ = errors.send(e.to_string());
                }
            }
        })
        .connect(server.url())
        .await
        .expect("connects with its credentials");
    (client, received)
}

#[tokio::test]
async fn accounts_api_publishes_its_events_with_its_own_credentials() {
    // Arrange
    let server = NatsServer::secured().await;
    let app = spawn_app_with(Backend::Postgres, |c| {
        c.common.nats_url = Some(server.url().to_owned());
        c.common.nats_subject_prefix = String::new();
        c.common.nats_auth = server.auth("accounts-api");
    })
    .await;
    let sticker = app.sticker().await;

    // Act: the app's own relay publishes, as the accounts-api user.
    let response = app.register(&registration(sticker, &unique_phone())).await;
    assert_eq!(response.status().as_u16(), 201);
    tokio::time::timeout(EVENT_TIMEOUT, async {
        while app.database.outbox().backlog().await.expect("backlog") > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the outbox did not drain; NATS log:\n{}", server.log()));

    // Assert: a read-only consumer gets the event from the stream.
    let notifier = NatsBus::connect_with_auth(server.url(), "", &server.auth("notifier"))
        .await
        .expect("notifier bus");
    let mut deliveries = notifier
        .consume_durable("nats-auth-probe", AccountEvent::ALL)
        .await
        .expect("durable consumer");
    let delivery = tokio::time::timeout(EVENT_TIMEOUT, deliveries.next())
        .await
        .expect("the event arrives")
        .expect("stream open");
    assert_eq!(
        delivery.envelope.subject,
        format!("accounts.users.{sticker}.registered")
    );
    delivery.ack().await;
}

#[tokio::test]
async fn accounts_api_replicas_hear_each_others_profile_changes_with_their_own_credentials() {
    // Arrange: the cache serves for an hour, so only the event can take the profile out.
    let server = NatsServer::secured().await;
    let a = spawn_app_with(Backend::Postgres, |c| {
        c.common.nats_url = Some(server.url().to_owned());
        c.common.nats_subject_prefix = String::new();
        c.common.nats_auth = server.auth("accounts-api");
        c.public_profile_cache_ttl_secs = 3600;
    })
    .await;
    let b = spawn_replica_of(&a, |_| {}).await;
    let owner = TestOwner::registered(&a).await;
    served_from_memory(&b, owner.id).await;

    // Act, Assert
    hide_on_one_and_see_it_gone_from(&a, &b, &owner).await;
    assert!(
        !server
            .log()
            .to_lowercase()
            .contains("permissions violation"),
        "{}",
        server.log()
    );
}

#[tokio::test]
async fn only_the_owning_service_may_publish_account_and_chat_events() {
    // Arrange: the admin watches every event subject.
    let server = NatsServer::secured().await;
    let (admin, _) = client_as(&server, &server.auth("admin")).await;
    let mut watched = futures::stream::select(
        admin
            .subscribe("accounts.>")
            .await
            .expect("admin subscribes"),
        admin.subscribe("chat.>").await.expect("admin subscribes"),
    );
    admin.flush().await.expect("flushed");
    let user = uuid::Uuid::new_v4();
    let refused = [
        ("notifier", format!("accounts.users.{user}.updated")),
        ("notifier", format!("chat.rooms.{user}.messages")),
        ("accounts-api", format!("chat.rooms.{user}.messages")),
        ("chat-gateway", format!("accounts.users.{user}.updated")),
    ];

    // Act + Assert: each refused publish is answered with a permissions violation.
    for (name, subject) in &refused {
        let (client, mut errors) = client_as(&server, &server.auth(name)).await;
        client
            .publish(subject.clone(), "forged".into())
            .await
            .expect("sent");
        client.flush().await.expect("flushed");
        let error = tokio::time::timeout(EVENT_TIMEOUT, errors.recv())
            .await
            .unwrap_or_else(|_| panic!("{name} publishing {subject}: no error"))
            .expect("error channel open");
        assert!(
            error
                .to_lowercase()
                .contains("permissions violation for publish")
                && error.contains(subject.as_str()),
            "{name} publishing {subject}: {error}"
        );
    }

    // Assert: nothing of that reached a subscriber; what the owner publishes does, first.
    let (accounts, _) = client_as(&server, &server.auth("accounts-api")).await;
    let allowed = format!("accounts.users.{user}.registered");
    accounts
        .publish(allowed.clone(), "genuine".into())
        .await
        .expect("sent");
    accounts.flush().await.expect("flushed");
    let first = tokio::time::timeout(EVENT_TIMEOUT, watched.next())
        .await
        .expect("a message arrives")
        .expect("subscription open");
    assert_eq!(first.subject.as_str(), allowed);
    assert_eq!(&first.payload[..], b"genuine");
    assert!(
        tokio::time::timeout(QUIET, watched.next()).await.is_err(),
        "a second message arrived"
    );
}

#[tokio::test]
async fn a_client_without_credentials_or_with_a_wrong_password_is_refused() {
    // Arrange
    let server = NatsServer::secured().await;

    // Act
    let anonymous = async_nats::ConnectOptions::new()
        .connect(server.url())
        .await;
    let wrong = NatsAuth::user("chat-gateway", "not-the-password")
        .apply(async_nats::ConnectOptions::new())
        .await
        .expect("credentials apply")
        .connect(server.url())
        .await;

    // Assert
    for (who, result) in [("anonymous", anonymous), ("wrong password", wrong)] {
        let error = result.err().unwrap_or_else(|| panic!("{who} got in"));
        assert_eq!(
            error.kind(),
            async_nats::ConnectErrorKind::AuthorizationViolation,
            "{who}: {error}"
        );
    }
}
