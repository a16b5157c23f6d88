//! The deployed NATS (`deploy/nats/nats.conf`): the read-only `notifier` user may create its
//! durable consumer on the CHAT stream, pull from it and acknowledge, and needs nothing more.

use std::time::Duration;

use shared::{
    config::Backend,
    events::{EventBus, NatsBus},
    ids::UserId,
    testing::NatsServer,
};
use uuid::Uuid;

use crate::helpers::{
    eventually, room_created, spawn_notifier, Placement, PushService, Subscriber,
};

#[tokio::test]
async fn the_deployed_notifier_user_consumes_and_acknowledges_the_chat_stream() {
    // Arrange: the stream exists, made by chat-gateway (the notifier may not create it).
    let nats = NatsServer::secured().await;
    let gateway = NatsBus::connect_with_auth(nats.url(), "", &nats.auth("chat-gateway"))
        .await
        .unwrap();
    let owner = UserId::new_random();
    let publish = |event| {
        let gateway = gateway.clone();
        async move {
            eventually("chat-gateway publishes", || async {
                gateway
                    .publish_batch(&[room_created(Uuid::new_v4(), owner, event)])
                    .await
                    .ok()
            })
            .await;
        }
    };
    publish("before").await;
    let mut placement = Placement::fresh(Backend::Postgres).await;
    placement.nats = Some((nats.url().to_owned(), String::new()));
    let app = spawn_notifier(placement, |config| {
        config.push_allow_private_endpoints = true;
        config.common.nats_auth = nats.auth("notifier");
    })
    .await;
    let push = PushService::start().await;
    app.subscribe_as(owner, &Subscriber::new(push.endpoint("phone")).body())
        .await;

    // Act
    publish("after").await;

    // Assert
    push.wait_for("phone", 1).await;
    let admin = nats
        .auth("admin")
        .apply(async_nats::ConnectOptions::new())
        .await
        .unwrap()
        .connect(nats.url())
        .await
        .unwrap();
    let jetstream = async_nats::jetstream::new(admin);
    eventually("every delivery is acknowledged", || async {
        let stream = jetstream.get_stream("CHAT").await.ok()?;
        let mut consumer: async_nats::jetstream::consumer::PullConsumer =
            stream.get_consumer("notifier").await.ok()?;
        let info = consumer.info().await.ok()?;
        (info.num_ack_pending == 0 && info.delivered.stream_sequence == 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !nats.log().contains("Permissions Violation"),
        "{}",
        nats.log()
    );
}
