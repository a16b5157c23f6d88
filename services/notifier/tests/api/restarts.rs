//! At least once in, exactly once out: the notifier is stopped mid-stream and started again,
//! NATS is killed and restarted, and events are republished under a new `Nats-Msg-Id` (an
//! outbox row published again after JetStream's de-duplication window); every event still
//! gives exactly one notification. The test runs its own `nats-server`.

use std::collections::HashMap;

use shared::{config::Backend, ids::UserId, testing::NatsServer};
use uuid::Uuid;

use crate::helpers::{
    eventually, open, room_created, spawn_notifier, visitor_message, Placement, PushService,
    Subscriber, TestApp,
};

/// `count` events, each in a room of its own (so none coalesces with another), alternating
/// new rooms and first messages; each notification's body names its event.
fn events(owner: UserId, batch: &str, count: usize) -> Vec<shared::events::Envelope> {
    (0..count)
        .map(|i| {
            let label = format!("{batch}-{i}");
            if i % 2 == 0 {
                room_created(Uuid::new_v4(), owner, &label)
            } else {
                visitor_message(Uuid::new_v4(), owner, &label)
            }
        })
        .collect()
}

async fn notifier(placement: &Placement) -> TestApp {
    spawn_notifier(placement.clone(), |config| {
        config.push_allow_private_endpoints = true;
        config.push_coalesce_secs = 0;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_notification_is_lost_or_doubled_across_notifier_and_nats_restarts() {
    // Arrange
    let mut nats = NatsServer::start().await;
    let mut placement = Placement::fresh(Backend::Postgres).await;
    let prefix = placement
        .nats
        .as_ref()
        .map(|(_, p)| p.clone())
        .unwrap_or_default();
    placement.nats = Some((nats.url().to_owned(), prefix));
    let push = PushService::start().await;
    let owner = UserId::new_random();
    let first = notifier(&placement).await;
    let browser = Subscriber::new(push.endpoint("phone"));
    first.subscribe_as(owner, &browser.body()).await;
    let (before, during, after) = (
        events(owner, "before", 12),
        events(owner, "down", 8),
        events(owner, "after", 8),
    );

    // Act: a stop mid-stream, events while no notifier runs, a NATS crash, republished events.
    first.publish(&before).await;
    eventually("the first notifications arrive", || async {
        (!push.received("phone").is_empty()).then_some(())
    })
    .await;
    first.shut_down().await;
    let bus = shared::events::NatsBus::connect(
        nats.url(),
        &placement
            .nats
            .as_ref()
            .map(|(_, p)| p.clone())
            .unwrap_or_default(),
    )
    .await
    .unwrap();
    let publish = |events: Vec<shared::events::Envelope>| {
        let bus = bus.clone();
        async move {
            eventually("the events are published", || async {
                shared::events::EventBus::publish_batch(&bus, &events)
                    .await
                    .ok()
            })
            .await;
        }
    };
    publish(during.clone()).await;
    let second = notifier(&placement).await;
    nats.kill();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    nats.restart().await;
    let republished: Vec<_> = before[..4]
        .iter()
        .chain(&during[..2])
        .cloned()
        .map(|mut envelope| {
            envelope.id = Uuid::now_v7();
            envelope
        })
        .collect();
    publish(after.clone()).await;
    publish(republished).await;

    // Assert
    let expected = before.len() + during.len() + after.len();
    let received = push
        .wait_up_to("phone", expected, std::time::Duration::from_secs(75))
        .await;
    let mut bodies: HashMap<String, usize> = HashMap::new();
    for request in &received {
        let payload = open(
            request,
            &browser,
            placement.vapid.public_key(),
            push.origin(),
        )
        .payload;
        *bodies
            .entry(payload["body"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let mut wanted: Vec<String> = ["before", "down", "after"]
        .iter()
        .zip([before.len(), during.len(), after.len()])
        .flat_map(|(batch, n)| (0..n).map(move |i| format!("{batch}-{i}")))
        .collect();
    wanted.sort();
    let mut got: Vec<String> = bodies.keys().cloned().collect();
    got.sort();
    assert_eq!(got, wanted, "every event notified");
    assert!(bodies.values().all(|n| *n == 1), "none twice: {bodies:?}");
    assert_eq!(received.len(), expected);
    second.shut_down().await;
}
