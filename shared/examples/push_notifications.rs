//! A push-notification stub: a durable consumer of `chat.rooms.*.messages` that would notify
//! a room's owner of each visitor message. It uses only the `shared` crate, as any Rust
//! consumer of CarInfo's events can (see `docs/events.md`).
//!
//! Run it against the NATS server the services publish to:
//!
//! ```sh
//! NATS_URL=nats://127.0.0.1:4222 cargo run -p shared --example push_notifications
//! ```
//!
//! Set `NATS_SUBJECT_PREFIX` to the services' prefix if they use one. The consumer is durable
//! (`push-notifications`): after a restart it resumes after the last event it acknowledged.
//! Delivery is at-least-once, so a real service would also de-duplicate on the message id.

use futures::StreamExt;
use shared::events::{
    catalog::{decode_data, MessagePosted, SenderType},
    EventBus, NatsBus,
};

/// A new consumer starts at the beginning of the stream; older messages are not pushed.
const MAX_AGE_MINUTES: i64 = 10;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
    let prefix = std::env::var("NATS_SUBJECT_PREFIX").unwrap_or_default();
    let bus = NatsBus::connect(&url, &prefix).await?;
    let mut deliveries = bus
        .consume_durable("push-notifications", MessagePosted::ALL)
        .await?;
    while let Some(delivery) = deliveries.next().await {
        match decode_data::<MessagePosted>(&delivery.envelope) {
            Ok(message) if message.sender_type == SenderType::Visitor => {
                let age = chrono::Utc::now() - message.created_at;
                if age < chrono::Duration::minutes(MAX_AGE_MINUTES) {
                    notify(&message);
                }
            }
            // The owner's own replies need no notification.
            Ok(_) => {}
            // An event this version cannot read is skipped, not redelivered for ever.
            Err(e) => eprintln!("skipping event {}: {e}", delivery.envelope.id),
        }
        delivery.ack().await;
    }
    Ok(())
}

#[expect(
    clippy::print_stdout,
    reason = "the stub's notification is a line on stdout"
)]
fn notify(message: &MessagePosted) {
    let preview: String = message.content.chars().take(80).collect();
    println!("would notify owner {}: {preview}", message.owner_id);
}
