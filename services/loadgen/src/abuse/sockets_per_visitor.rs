//! `sockets-per-visitor`: one chat, then as many sockets as the server accepts with its one
//! visitor token. Each socket costs the server a task and buffers, and a visitor token is
//! free to get, so the figure is how many it accepts and what it answers when it refuses.
//! Sockets are opened one at a time and all held, so the count is the server's standing
//! limit, not a race.

use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{self, Message};

use super::{required, tally::Tally, AbuseArgs};
use crate::setup;

/// How long accepted sockets are held before checking that the server kept them.
const HOLD: Duration = Duration::from_secs(1);

/// Runs the case.
pub async fn run(args: &AbuseArgs) -> anyhow::Result<Value> {
    let owner_id = required(args.owner_id.as_ref(), "--owner-id")?;
    let http = reqwest::Client::new();
    let room = setup::open_rooms(&http, &args.base, owner_id, 1, None)
        .await?
        .pop()
        .context("no room")?;
    let server = setup::server_addr(&args.base)?;
    let url = format!(
        "{}/ws/chat/{}/?visitor={}",
        args.base.replacen("http", "ws", 1),
        room.id,
        room.visitor_token
    );

    let mut accepted = Vec::new();
    let mut tally = Tally::default();
    let mut first_refused_at = None;
    for i in 0..args.visitor_sockets {
        match setup::connect(server, setup::source_address(i, args.sources), &url).await {
            Ok(socket) => {
                tally.add(Ok(101));
                accepted.push(socket);
            }
            Err(e) => {
                first_refused_at.get_or_insert(i);
                tally.add(refusal_status(&e));
            }
        }
    }

    tokio::time::sleep(HOLD).await;
    let mut still_open = 0usize;
    for socket in &mut accepted {
        if is_open(socket).await {
            still_open += 1;
        }
    }
    Ok(json!({
        "tried": args.visitor_sockets,
        "accepted": accepted.len(),
        "refused": args.visitor_sockets - accepted.len(),
        "first_refused_at": first_refused_at,
        "status_counts": tally.to_json(),
        "accepted_still_open_after_hold": still_open,
    }))
}

/// The HTTP status of a refused handshake, or why there was none.
fn refusal_status(error: &anyhow::Error) -> Result<u16, String> {
    match error.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Http(response)) => Ok(response.status().as_u16()),
        _ => Err(format!("{error:#}")),
    }
}

/// Whether the server still holds `socket` open: nothing pending or a live frame means open,
/// a close frame, an error or the end of the stream means closed.
async fn is_open(socket: &mut setup::Socket) -> bool {
    // Drain what arrived during the hold; the first quiet moment means the socket is idle.
    // Bounded, so a server that never stops talking still gets an answer (open).
    for _ in 0..100 {
        match tokio::time::timeout(Duration::from_millis(20), socket.next()).await {
            Err(_) => return true,
            Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) => return false,
            Ok(Some(Ok(_))) => {}
        }
    }
    true
}
