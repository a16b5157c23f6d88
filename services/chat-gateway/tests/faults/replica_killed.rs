//! A replica dies with SIGKILL mid-conversation. Visitors chat on replica A, owners listen on
//! replica B; A is killed; the visitors reconnect to B and keep sending. Every acknowledged
//! message must be in the room's history and must have reached the owner's live socket,
//! including those A committed but had not yet published to NATS (B's outbox relay publishes
//! them).

use std::time::Duration;

use shared::testing::TestDatabase;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::{
    api::history_ids,
    deployment::Deployment,
    participants::{open_rooms, spawn_visitors, Ending},
    replica::Replica,
};

const ROOMS: usize = 20;
/// Ten messages a second per visitor: the per-participant rate limit, which stays on.
const PERIOD: Duration = Duration::from_millis(100);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_a_replica_killed_mid_conversation_loses_no_acknowledged_message() {
    // Arrange
    let db = TestDatabase::postgres().await;
    let deployment = Deployment::on(db.url().clone());
    let owners = deployment.register_owners(ROOMS).await;
    let (mut a, mut b) = tokio::join!(
        Replica::start(&deployment, "a", &[]),
        Replica::start(&deployment, "b", &[])
    );
    let (chats, owner_sockets) = open_rooms(&owners, &a.http(), &b.ws()).await;
    // B subscribes to each room's NATS subject as its owner socket joins; let those
    // subscriptions reach the server before A publishes.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stop = CancellationToken::new();
    let visitors = spawn_visitors(&chats, &[a.ws(), b.ws()], PERIOD, true, &stop);

    // Act
    tokio::time::sleep(Duration::from_secs(4)).await;
    let killed_at = Instant::now();
    a.kill();
    tokio::time::sleep(Duration::from_secs(4)).await;
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
    let mut acknowledged = 0;
    let mut committed_unacknowledged = 0;
    let mut recovery = Duration::ZERO;
    for ((log, owner), owner_socket) in logs.iter().zip(&owners).zip(&owner_sockets) {
        let acked = log.acked_ids();
        acknowledged += acked.len();
        assert!(
            matches!(log.endings.first(), Some((_, Ending::Dropped))),
            "the visitor's socket on A dropped: {:?}",
            log.endings
        );
        let resumed = log
            .first_ack_after(killed_at)
            .unwrap_or_else(|| panic!("room {} chats again on B", log.room_id));
        recovery = recovery.max(resumed - killed_at);

        let history = history_ids(&b.http(), &log.room_id, owner).await;
        let lost: Vec<&String> = acked.difference(&history).collect();
        assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
        committed_unacknowledged += history.difference(&acked).count();

        let missing = owner_socket
            .missing_after(&acked, Duration::from_secs(20))
            .await;
        assert!(
            missing.is_empty(),
            "acknowledged but never reached the owner on B: {missing:?}"
        );
    }
    let sent: usize = logs.iter().map(|l| l.sent).sum();
    let unanswered: usize = logs.iter().map(|l| l.unanswered).sum();
    assert!(b.is_running(), "B survived");
    println!(
        "fault drill: replica SIGKILL, {ROOMS} rooms: {sent} sent, {acknowledged} acknowledged, \
         0 lost, 0 missing at the owners; {unanswered} unanswered at the kill \
         ({committed_unacknowledged} of them committed); every visitor chatting on B again \
         within {} ms of the kill",
        recovery.as_millis()
    );
}
