//! Postgres stops for six seconds mid-conversation, the way a crash would (`pg_ctl stop -m
//! immediate` on a private server; the shared one serves other tests), then starts again.
//! While it is down REST answers 503 with a JSON body and senders get an error frame; nothing
//! acknowledged is lost; chat resumes on the same sockets without restarting the gateway.

use std::time::Duration;

use shared::testing::PrivatePostgres;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::{
    api::{history_ids, try_history, try_start_chat, Answer},
    deployment::Deployment,
    participants::{open_rooms, spawn_visitors, Ending},
    replica::Replica,
};

const ROOMS: usize = 20;
/// Ten messages a second per visitor.
const PERIOD: Duration = Duration::from_millis(100);
const OUTAGE: Duration = Duration::from_secs(6);
/// The error frame of a message that could not be committed.
const NOT_SAVED: &str = "Message could not be saved; please try again.";

fn assert_unavailable(what: &str, answer: &Answer) {
    assert_eq!(answer.status, 503, "{what} during the outage");
    let body = answer
        .body
        .as_ref()
        .unwrap_or_else(|| panic!("{what}: a JSON body"));
    assert_eq!(body["code"], "service_unavailable", "{what}: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_postgres_stopped_mid_conversation_is_a_503_then_chat_resumes_with_nothing_lost() {
    // Arrange
    let postgres = PrivatePostgres::start().await;
    let deployment = Deployment::on(postgres.create_database().await);
    let owners = deployment.register_owners(ROOMS).await;
    // Rate limits off: while a commit waits for the database a session reads nothing, and
    // the frames that pile up meanwhile would arrive as one burst over the limit.
    let mut gateway = Replica::start(&deployment, "a", &[("RATE_LIMITS", "off")]).await;
    let (chats, owner_sockets) = open_rooms(&owners, &gateway.http(), &gateway.ws()).await;
    let stop = CancellationToken::new();
    let visitors = spawn_visitors(&chats, &[gateway.ws()], PERIOD, true, &stop);

    // Act
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stopped_at = Instant::now();
    postgres.stop().await;
    let outage_over = stopped_at + OUTAGE;
    let history_during = try_history(&gateway.http(), &chats[0].room_id, &owners[0]).await;
    let start_during = try_start_chat(&gateway.http(), owners[1].id).await;
    tokio::time::sleep_until(outage_over).await;
    postgres.start_again().await;
    let restarted_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(5)).await;
    stop.cancel();
    let mut logs = Vec::with_capacity(ROOMS);
    for visitor in visitors {
        logs.push(
            visitor
                .await
                .unwrap_or_else(|e| panic!("visitor task: {e}")),
        );
    }

    // Assert
    assert_unavailable("the history", &history_during);
    assert_unavailable("a chat start", &start_during);
    assert!(gateway.is_running(), "the gateway was not restarted");
    let mut acknowledged = 0;
    let mut refused = 0;
    let mut first_error = Duration::MAX;
    let mut recovery = Duration::ZERO;
    for ((log, owner), owner_socket) in logs.iter().zip(&owners).zip(&owner_sockets) {
        assert!(
            log.endings.iter().all(|(_, e)| *e == Ending::Left),
            "the visitor's socket stayed open through the outage: {:?}",
            log.endings
        );
        refused += log.errors.len();
        for (at, error) in &log.errors {
            assert_eq!(error, NOT_SAVED);
            first_error = first_error.min(at.saturating_duration_since(stopped_at));
        }
        let resumed = log
            .first_ack_after(restarted_at)
            .unwrap_or_else(|| panic!("room {} chats again", log.room_id));
        recovery = recovery.max(resumed - restarted_at);

        let acked = log.acked_ids();
        acknowledged += acked.len();
        let history = history_ids(&gateway.http(), &log.room_id, owner).await;
        let lost: Vec<&String> = acked.difference(&history).collect();
        assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
        let missing = owner_socket
            .missing_after(&acked, Duration::from_secs(10))
            .await;
        assert!(
            missing.is_empty(),
            "acknowledged but never reached the owner: {missing:?}"
        );
    }
    assert!(
        refused > 0,
        "senders were told their messages were not saved"
    );
    let sent: usize = logs.iter().map(|l| l.sent).sum();
    println!(
        "fault drill: Postgres stopped {} s, {ROOMS} rooms: {sent} sent, {acknowledged} \
         acknowledged, 0 lost, {refused} refused with an error frame (first {} ms after the \
         stop); REST 503 with a JSON body; every room chatting again within {} ms of the \
         restart, same gateway process",
        OUTAGE.as_secs(),
        first_error.as_millis(),
        recovery.as_millis()
    );
}
