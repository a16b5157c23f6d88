//! Idle sockets: connect many sockets that stay silent, and measure how much resident memory
//! the server gains per socket. By default every socket is a visitor who started a room of
//! their own, the product's shape (a room takes at most `WS_SOCKETS_PER_ROOM` sockets, and a
//! visitor token `WS_SOCKETS_PER_TOKEN`).

use std::time::Duration;

use futures::{stream, StreamExt};
use serde_json::{json, Value};

use crate::{
    proc_stats::{self, CpuWatch, Watched},
    setup,
};

/// `idle` arguments.
#[derive(clap::Args)]
pub struct IdleArgs {
    /// Base URL of the gateway.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    base: String,
    /// A registered owner to open rooms with.
    #[arg(long)]
    owner_id: String,
    /// Sockets to open.
    #[arg(long, default_value_t = 10_000)]
    sockets: usize,
    /// Rooms to spread them over, round robin (sockets of one room share its visitor token);
    /// one room per socket when not given.
    #[arg(long)]
    rooms: Option<usize>,
    /// Loopback source addresses.
    #[arg(long, default_value_t = 8)]
    sources: usize,
    /// Concurrent handshakes.
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// Seconds to hold the sockets before measuring.
    #[arg(long, default_value_t = 5)]
    hold_secs: u64,
    /// Server process to read memory of.
    #[arg(long)]
    server_pid: String,
    /// A process tree to split the CPU of connecting and holding over (repeatable).
    #[arg(long = "watch", value_name = "NAME=PID")]
    watch: Vec<Watched>,
}

/// Runs the idle-socket benchmark.
pub async fn run(args: IdleArgs) -> anyhow::Result<Value> {
    let http = reqwest::Client::new();
    let room_count = args.rooms.unwrap_or(args.sockets).max(1);
    let rooms = setup::open_rooms(&http, &args.base, &args.owner_id, room_count, None).await?;
    let server = setup::server_addr(&args.base)?;
    let ws_base = args.base.replacen("http", "ws", 1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = proc_stats::rss_kib(&args.server_pid).unwrap_or_default();
    let watch = CpuWatch::new(args.watch.clone());
    let cpu_start = watch.snapshot();
    let started = std::time::Instant::now();
    let results: Vec<anyhow::Result<setup::Socket>> = stream::iter(0..args.sockets)
        .map(|i| {
            let room = &rooms[i % rooms.len()];
            let url = format!("{ws_base}/ws/chat/{}/?visitor={}", room.id, room.visitor_token);
            async move { setup::connect(server, setup::source_address(i, args.sources), &url).await }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    let connect_seconds = started.elapsed().as_secs_f64();
    let failed = results.iter().filter(|r| r.is_err()).count();
    let first_error = results
        .iter()
        .find_map(|r| r.as_ref().err().map(|e| format!("{e:#}")));
    let sockets: Vec<setup::Socket> = results.into_iter().filter_map(Result::ok).collect();
    let open = sockets.len();
    // Each socket is read so pings are answered, as a real client does.
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut s| tokio::spawn(async move { while s.next().await.is_some() {} }))
        .collect();
    tokio::time::sleep(Duration::from_secs(args.hold_secs)).await;
    let rss_after = proc_stats::rss_kib(&args.server_pid).unwrap_or_default();
    let cpu = watch.report(&cpu_start, &watch.snapshot());
    // A reader ends when the server closed its socket during the hold.
    let open_after_hold = readers.iter().filter(|r| !r.is_finished()).count();
    for reader in readers {
        reader.abort();
    }
    let per_socket_kib = (rss_after.saturating_sub(rss_before)) as f64 / open.max(1) as f64;
    Ok(json!({
        "benchmark": "idle",
        "requested": args.sockets,
        "rooms": room_count,
        "open": open,
        "open_after_hold": open_after_hold,
        "failed": failed,
        "first_error": first_error,
        "connect_seconds": connect_seconds,
        "server_rss_before_kib": rss_before,
        "server_rss_after_kib": rss_after,
        "server_rss_per_socket_kib": per_socket_kib,
        "cpu": cpu,
    }))
}
