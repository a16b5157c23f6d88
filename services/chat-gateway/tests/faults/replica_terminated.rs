//! A replica under load is told to stop with SIGTERM, as an orchestrator does before
//! replacing it. It must commit what it already accepted, send each sender the echo of every
//! message it committed, and only then close the sockets with 1001 (going away), so a client
//! never has to guess whether its last message was saved.

use std::{collections::HashSet, time::Duration};

use shared::testing::TestDatabase;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::{
    api::history_ids,
    deployment::Deployment,
    participants::{open_rooms, spawn_visitors, Ending},
    replica::{Replica, STARTUP},
};

const ROOMS: usize = 20;
/// 25 messages a second per visitor, 500 a second in all (rate limits off), so that group
/// commits are in flight at any moment.
const PERIOD: Duration = Duration::from_millis(40);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_a_replica_stopped_with_sigterm_under_load_echoes_every_commit_then_closes_with_1001()
{
    // Arrange
    let db = TestDatabase::postgres().await;
    let deployment = Deployment::on(db.url().clone());
    let owners = deployment.register_owners(ROOMS).await;
    // B stays up to answer the history afterwards, as the replica taking over would.
    let (mut a, b) = tokio::join!(
        Replica::start(&deployment, "a", &[("RATE_LIMITS", "off")]),
        Replica::start(&deployment, "b", &[])
    );
    let (chats, owner_sockets) = open_rooms(&owners, &a.http(), &a.ws()).await;
    let stop = CancellationToken::new();
    let visitors = spawn_visitors(&chats, &[a.ws()], PERIOD, false, &stop);

    // Act
    tokio::time::sleep(Duration::from_secs(3)).await;
    let terminated_at = Instant::now();
    a.terminate();
    let exit = a.wait_for_exit(STARTUP).await;
    let exited_after = terminated_at.elapsed();
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
    let exit = exit.unwrap_or_else(|| panic!("the replica exits after SIGTERM"));
    assert!(exit.success(), "the replica exits cleanly: {exit}");
    let mut acknowledged = 0;
    let mut unanswered = 0;
    let mut refused = 0;
    for (log, owner) in logs.iter().zip(&owners) {
        assert_eq!(
            log.endings.iter().map(|(_, e)| *e).collect::<Vec<_>>(),
            [Ending::Closed(Some(1001))],
            "the visitor's socket closed with 1001"
        );
        let acked = log.acked_ids();
        acknowledged += acked.len();
        unanswered += log.unanswered;
        refused += log.errors.len();
        let history = history_ids(&b.http(), &log.room_id, owner).await;
        let lost: Vec<&String> = acked.difference(&history).collect();
        assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
        let unechoed: HashSet<&String> = history.difference(&acked).collect();
        assert!(
            unechoed.is_empty(),
            "committed but the sender never saw the echo: {unechoed:?}"
        );
    }
    for owner_socket in owner_sockets {
        assert_eq!(
            owner_socket.ending(Duration::from_secs(5)).await,
            Some(Ending::Closed(Some(1001))),
            "the owner's socket closed with 1001"
        );
    }
    let sent: usize = logs.iter().map(|l| l.sent).sum();
    println!(
        "fault drill: replica SIGTERM under {} msg/s, {ROOMS} rooms: {sent} sent, \
         {acknowledged} acknowledged, 0 lost, 0 committed without an echo, {refused} refused \
         with an error frame, {unanswered} left unread (sent again by the client); every \
         socket closed with 1001; process exited {} ms after SIGTERM",
        ROOMS * 1000 / PERIOD.as_millis() as usize,
        exited_after.as_millis()
    );
}
