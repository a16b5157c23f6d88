//! The bus contract: what `EventBus` promises, run on `NatsBus` (the shared NATS at
//! 127.0.0.1:4222, a subject prefix per test) and on `InProcessBus`. Each case names its bus
//! (`kind_1_Kind__Nats`), so a failure says which one broke the promise.
//!
//! Both buses: live subscriptions get, from the moment they exist, every event whose subject
//! matches their filter, in publish order, with id, subject, payload and headers as sent; a
//! durable consumer gets live events as deliveries it acknowledges. Only NATS stores events,
//! so only NATS is held to what storage adds: a durable consumer gets what was published
//! before it started, resumes after what it acknowledged, is given again what it did not
//! acknowledge, and sees an event re-published under the same id once. The in-process bus
//! cannot lose its broker; NATS reports going away and coming back.

#![expect(
    clippy::expect_used,
    reason = "the helpers here fail the test by panicking, as the tests do"
)]

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use futures::{stream::BoxStream, StreamExt};
use rstest::rstest;
use shared::{
    events::{
        bus::{ORIGIN_HEADER, TRACEPARENT_HEADER},
        BusError, Delivery, Envelope, EventBus, InProcessBus, NatsBus, StreamLimits,
    },
    testing::{init_test_tracing, nats_url, unique_prefix, NatsServer},
};
use uuid::Uuid;

/// How long a test waits for an event that should arrive.
const PATIENCE: Duration = Duration::from_secs(20);

/// How long NATS waits for an acknowledgement before it delivers again (`NatsBus`'s
/// `ack_wait`).
const ACK_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy)]
enum Kind {
    Nats,
    InProcess,
}

async fn bus(kind: Kind) -> Arc<dyn EventBus> {
    init_test_tracing();
    match kind {
        Kind::Nats => Arc::new(nats_bus(&nats_url(), &unique_prefix()).await),
        Kind::InProcess => Arc::new(InProcessBus::new()),
    }
}

async fn nats_bus(url: &str, prefix: &str) -> NatsBus {
    NatsBus::connect(url, prefix)
        .await
        .expect("NATS must be running")
        .with_stream_limits(StreamLimits::unbounded())
}

/// A message event of a room of its own, with a trace and an origin like the relay's.
fn event(room: Uuid, text: &str) -> Envelope {
    envelope(&format!("chat.rooms.{room}.messages"), text)
}

fn envelope(subject: &str, text: &str) -> Envelope {
    Envelope {
        id: Uuid::now_v7(),
        subject: subject.to_owned(),
        payload: Bytes::from(format!("{{\"message\":\"{text}\"}}")),
        headers: vec![
            (
                TRACEPARENT_HEADER.to_owned(),
                format!("00-{}-00f067aa0ba902b7-01", Uuid::new_v4().simple()),
            ),
            (ORIGIN_HEADER.to_owned(), "replica-a".to_owned()),
        ],
    }
}

async fn publish(bus: &dyn EventBus, events: &[Envelope]) {
    bus.publish_batch(events).await.expect("published");
}

async fn next<T>(stream: &mut BoxStream<'static, T>) -> T {
    next_within(PATIENCE, stream).await
}

async fn next_within<T>(within: Duration, stream: &mut BoxStream<'static, T>) -> T {
    tokio::time::timeout(within, stream.next())
        .await
        .expect("an event arrives in time")
        .expect("the stream stays open")
}

/// Whether `received` is `sent` as the bus promises to carry it: the same id, subject,
/// payload, and the headers that were sent (a broker may add its own).
fn assert_carried(received: &Envelope, sent: &Envelope) {
    assert_eq!(received.id, sent.id);
    assert_eq!(received.subject, sent.subject);
    assert_eq!(received.payload, sent.payload);
    for (name, value) in &sent.headers {
        assert_eq!(received.header(name), Some(value.as_str()), "header {name}");
    }
}

#[rstest]
#[tokio::test]
async fn a_subscriber_gets_each_event_in_order_with_its_id_payload_and_headers(
    #[values(Kind::Nats, Kind::InProcess)] kind: Kind,
) {
    // Arrange
    let bus = bus(kind).await;
    let room = Uuid::new_v4();
    let mut events = bus.subscribe("chat.>").await.expect("subscribed");
    let sent = vec![event(room, "bir"), event(room, "ikki"), event(room, "uch")];

    // Act
    publish(bus.as_ref(), &sent).await;

    // Assert
    for sent in &sent {
        assert_carried(&next(&mut events).await, sent);
    }
}

#[rstest]
#[tokio::test]
async fn a_subscription_gets_only_the_subjects_its_filter_matches(
    #[values(Kind::Nats, Kind::InProcess)] kind: Kind,
) {
    // Arrange
    let bus = bus(kind).await;
    let (r1, r2) = (Uuid::new_v4(), Uuid::new_v4());
    let mut messages = bus
        .subscribe("chat.rooms.*.messages")
        .await
        .expect("subscribed");
    let mut everything = bus.subscribe(">").await.expect("subscribed");
    let sent = vec![
        envelope(&format!("chat.rooms.{r1}.created"), "created"),
        event(r1, "salom"),
        envelope(&format!("accounts.users.{r1}.updated"), "updated"),
        event(r2, "alik"),
    ];

    // Act
    publish(bus.as_ref(), &sent).await;
    let last = event(r1, "the end");
    publish(bus.as_ref(), std::slice::from_ref(&last)).await;

    // Assert: nothing unmatched comes before the final event.
    assert_carried(&next(&mut messages).await, &sent[1]);
    assert_carried(&next(&mut messages).await, &sent[3]);
    assert_carried(&next(&mut messages).await, &last);
    for sent in sent.iter().chain([&last]) {
        assert_carried(&next(&mut everything).await, sent);
    }
}

#[rstest]
#[tokio::test]
async fn a_subscription_gets_what_is_published_after_it_and_nothing_before(
    #[values(Kind::Nats, Kind::InProcess)] kind: Kind,
) {
    // Arrange
    let bus = bus(kind).await;
    let room = Uuid::new_v4();
    let before = event(room, "before");
    publish(bus.as_ref(), std::slice::from_ref(&before)).await;
    let mut first = bus.subscribe("chat.>").await.expect("subscribed");
    let mut second = bus.subscribe("chat.>").await.expect("subscribed");

    // Act
    let after = event(room, "after");
    publish(bus.as_ref(), std::slice::from_ref(&after)).await;

    // Assert: every subscriber gets it.
    assert_carried(&next(&mut first).await, &after);
    assert_carried(&next(&mut second).await, &after);
}

#[rstest]
#[tokio::test]
async fn a_durable_consumer_gets_live_events_as_deliveries_it_acknowledges(
    #[values(Kind::Nats, Kind::InProcess)] kind: Kind,
) {
    // Arrange
    let bus = bus(kind).await;
    let mut deliveries = bus
        .consume_durable("contract", "accounts.users.>")
        .await
        .expect("consuming");
    let user = Uuid::new_v4();
    let sent = vec![
        envelope(&format!("accounts.users.{user}.registered"), "registered"),
        envelope(
            &format!("chat.rooms.{user}.created"),
            "not for this consumer",
        ),
        envelope(&format!("accounts.users.{user}.updated"), "updated"),
    ];

    // Act
    publish(bus.as_ref(), &sent).await;

    // Assert
    let first: Delivery = next(&mut deliveries).await;
    assert_carried(&first.envelope, &sent[0]);
    first.ack().await;
    let second = next(&mut deliveries).await;
    assert_carried(&second.envelope, &sent[2]);
    second.ack().await;
}

#[tokio::test]
async fn a_nats_durable_consumer_gets_what_was_stored_before_it_started() {
    // Arrange
    let bus = bus(Kind::Nats).await;
    let user = Uuid::new_v4();
    let stored = envelope(&format!("accounts.users.{user}.registered"), "stored");
    publish(bus.as_ref(), std::slice::from_ref(&stored)).await;

    // Act
    let mut deliveries = bus
        .consume_durable("late", "accounts.users.>")
        .await
        .expect("consuming");

    // Assert
    let delivery = next(&mut deliveries).await;
    assert_carried(&delivery.envelope, &stored);
    delivery.ack().await;
}

#[tokio::test]
async fn a_nats_durable_consumer_resumes_after_what_it_acknowledged() {
    // Arrange: a consumer acknowledges one event and goes away.
    let bus = bus(Kind::Nats).await;
    let room = Uuid::new_v4();
    let (seen, missed) = (event(room, "seen"), event(room, "missed"));
    let mut deliveries = bus
        .consume_durable("resuming", "chat.>")
        .await
        .expect("consuming");
    publish(bus.as_ref(), std::slice::from_ref(&seen)).await;
    let delivery = next(&mut deliveries).await;
    assert_carried(&delivery.envelope, &seen);
    delivery.ack().await;
    drop(deliveries);
    publish(bus.as_ref(), std::slice::from_ref(&missed)).await;

    // Act: it comes back under the same name.
    let mut deliveries = bus
        .consume_durable("resuming", "chat.>")
        .await
        .expect("consuming again");

    // Assert: the pull of the consumer that went away may still take `missed` for nobody;
    // then it comes once the acknowledgement wait is over. `seen` never comes again.
    let delivery = next_within(ACK_WAIT + PATIENCE, &mut deliveries).await;
    assert_carried(&delivery.envelope, &missed);
    delivery.ack().await;
}

#[tokio::test]
async fn a_nats_delivery_that_is_not_acknowledged_is_delivered_again() {
    // Arrange: the consumer takes the event and stops before acknowledging it, as a
    // projection that crashes while applying it.
    let bus = bus(Kind::Nats).await;
    let room = Uuid::new_v4();
    let sent = event(room, "applied twice");
    publish(bus.as_ref(), std::slice::from_ref(&sent)).await;
    let mut deliveries = bus
        .consume_durable("crashing", "chat.>")
        .await
        .expect("consuming");
    let taken = next(&mut deliveries).await;
    assert_carried(&taken.envelope, &sent);
    drop((taken, deliveries));

    // Act
    let mut deliveries = bus
        .consume_durable("crashing", "chat.>")
        .await
        .expect("consuming again");

    // Assert
    let again = next_within(ACK_WAIT + PATIENCE, &mut deliveries).await;
    assert_carried(&again.envelope, &sent);
    again.ack().await;
}

#[tokio::test]
async fn nats_stores_an_event_published_twice_under_one_id_once() {
    // Arrange: a relay that published, lost the answer, and publishes again.
    let bus = bus(Kind::Nats).await;
    let room = Uuid::new_v4();
    let twice = event(room, "twice");
    publish(bus.as_ref(), std::slice::from_ref(&twice)).await;

    // Act
    publish(bus.as_ref(), std::slice::from_ref(&twice)).await;
    let after = event(room, "after");
    publish(bus.as_ref(), std::slice::from_ref(&after)).await;

    // Assert
    let mut deliveries = bus
        .consume_durable("deduplicated", "chat.>")
        .await
        .expect("consuming");
    let first = next(&mut deliveries).await;
    assert_carried(&first.envelope, &twice);
    first.ack().await;
    let second = next(&mut deliveries).await;
    assert_carried(&second.envelope, &after);
    second.ack().await;
}

#[tokio::test]
async fn the_in_process_bus_is_always_connected_and_never_reconnects() {
    // Arrange
    let bus = bus(Kind::InProcess).await;

    // Act
    let connected = bus.is_connected();
    let reconnections = bus.reconnections();

    // Assert
    assert!(connected);
    assert!(reconnections.is_none());
}

#[tokio::test]
async fn a_nats_bus_reports_the_broker_going_away_and_coming_back() {
    // Arrange: a server of this test's own, to stop.
    init_test_tracing();
    let mut server = NatsServer::start().await;
    let bus = nats_bus(server.url(), &unique_prefix()).await;
    let mut reconnections = bus.reconnections().expect("NATS reports reconnections");
    let room = Uuid::new_v4();
    publish(&bus, &[event(room, "before")]).await;
    let connections = *reconnections
        .wait_for(|n| *n > 0)
        .await
        .expect("the first connection is reported");
    assert!(bus.is_connected());

    // Act
    server.kill();
    let refused = bus.publish_batch(&[event(room, "during")]).await;
    let connected_while_down = bus.is_connected();
    server.restart().await;

    // Assert
    assert!(
        matches!(refused, Err(BusError::Unavailable(_))),
        "{refused:?}"
    );
    assert!(!connected_while_down);
    tokio::time::timeout(PATIENCE, reconnections.wait_for(|n| *n > connections))
        .await
        .expect("the reconnection is reported in time")
        .expect("the bus is alive");
    assert!(bus.is_connected());
    publish(&bus, &[event(room, "after")]).await;
}
