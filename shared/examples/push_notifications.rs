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
//! Set `NATS_SUBJECT_PREFIX` to the services' prefix if they use one, and against a deployed
//! NATS (`deploy/nats/nats.conf`) connect as its read-only user with `NATS_USER=notifier` and
//! `NATS_PASSWORD`. The consumer is durable (`push-notifications`): after a restart it resumes
//! after the last event it acknowledged. Delivery is at-least-once, so a real service would
//! also de-duplicate on the message id.

use clap::Parser;
use futures::StreamExt;
use shared::events::{
    catalog::{decode_data, MessagePosted, SenderType},
    EventBus, NatsAuth, NatsBus,
};

/// A new consumer starts at the beginning of the stream; older messages are not pushed.
const MAX_AGE_MINUTES: i64 = 10;

/// Where the events are, and who this consumer is there.
#[derive(Parser)]
struct Settings {
    /// The NATS server the services publish to.
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    nats_url: String,
    /// The services' subject prefix.
    #[arg(long, env = "NATS_SUBJECT_PREFIX", default_value = "")]
    nats_subject_prefix: String,
    /// NATS credentials.
    #[command(flatten)]
    auth: NatsAuth,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::parse();
    let bus = NatsBus::connect_with_auth(
        &settings.nats_url,
        &settings.nats_subject_prefix,
        &settings.auth,
    )
    .await?;
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
