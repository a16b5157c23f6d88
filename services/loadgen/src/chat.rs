//! Chat load: N rooms, each with a visitor socket that sends and an owner socket that
//! receives. Closed loop (each room waits for its message to reach the owner before sending
//! the next) measures capacity; open loop (a fixed total rate) measures latency under load.
//! Latency is send → owner's receipt, on one clock (this process). Behind the test
//! topology's ingress, visitors' and owners' sockets can be pinned to given gateway replicas,
//! so a message crosses replicas (and NATS) on its way.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::{
    proc_stats::{self, CpuWatch, Watched},
    setup,
};

/// `chat` arguments.
#[derive(clap::Args)]
pub struct ChatArgs {
    /// Base URL of the gateway (or the standalone bundle / ingress).
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    base: String,
    /// Base URL for login, when accounts-api is elsewhere.
    #[arg(long)]
    accounts: Option<String>,
    /// The owner (a registered sticker id).
    #[arg(long)]
    owner_id: String,
    /// The owner's phone.
    #[arg(long)]
    phone: String,
    /// The owner's password.
    #[arg(long)]
    password: String,
    /// Rooms (each has two sockets).
    #[arg(long, default_value_t = 100)]
    rooms: usize,
    /// `closed` or `open`.
    #[arg(long, default_value = "closed")]
    mode: String,
    /// Open loop: total messages per second.
    #[arg(long, default_value_t = 2000.0)]
    rate: f64,
    /// Measured seconds.
    #[arg(long, default_value_t = 15)]
    duration_secs: u64,
    /// Unmeasured seconds first.
    #[arg(long, default_value_t = 3)]
    warmup_secs: u64,
    /// Loopback source addresses to spread sockets over.
    #[arg(long, default_value_t = 4)]
    sources: usize,
    /// Server process to read CPU and memory of.
    #[arg(long)]
    server_pid: Option<String>,
    /// Gateway replica (`a`, `b`) the visitors' sockets ask the ingress for (`?replica=`).
    #[arg(long)]
    visitor_replica: Option<String>,
    /// Gateway replica the owners' sockets ask the ingress for.
    #[arg(long)]
    owner_replica: Option<String>,
    /// Gateway replica the chat-start requests ask the ingress for (`X-CarInfo-Replica`).
    #[arg(long)]
    start_replica: Option<String>,
    /// A process tree to split the measured window's CPU over (repeatable).
    #[arg(long = "watch", value_name = "NAME=PID")]
    watch: Vec<Watched>,
}

struct Window {
    clock: Instant,
    from_us: u64,
    to_us: u64,
}

impl Window {
    fn now_us(&self) -> u64 {
        self.clock.elapsed().as_micros() as u64
    }

    fn contains(&self, t_us: u64) -> bool {
        (self.from_us..self.to_us).contains(&t_us)
    }
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    delivered: AtomicU64,
    latencies_us: Mutex<Vec<u32>>,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    f64::from(sorted[rank.min(sorted.len() - 1)]) / 1000.0
}

/// Runs the chat benchmark and returns its report.
pub async fn run(args: ChatArgs) -> anyhow::Result<Value> {
    let http = reqwest::Client::new();
    let accounts = args.accounts.clone().unwrap_or_else(|| args.base.clone());
    let access = setup::login(&http, &accounts, &args.phone, &args.password).await?;
    let rooms = setup::open_rooms(
        &http,
        &args.base,
        &args.owner_id,
        args.rooms,
        args.start_replica.as_deref(),
    )
    .await?;
    let server = setup::server_addr(&args.base)?;
    let ws_base = args.base.replacen("http", "ws", 1);
    let pin = |replica: &Option<String>| {
        replica
            .as_deref()
            .map(|r| format!("&replica={r}"))
            .unwrap_or_default()
    };
    let (visitor_pin, owner_pin) = (pin(&args.visitor_replica), pin(&args.owner_replica));
    let watch = CpuWatch::new(args.watch.clone());

    let clock = Instant::now();
    let window = Arc::new(Window {
        clock,
        from_us: 0,
        to_us: 0,
    });
    let counters = Arc::new(Counters::default());
    let mut senders = Vec::with_capacity(rooms.len());
    for (i, room) in rooms.iter().enumerate() {
        let visitor = setup::connect(
            server,
            setup::source_address(2 * i, args.sources),
            &format!(
                "{ws_base}/ws/chat/{}/?visitor={}{visitor_pin}",
                room.id, room.visitor_token
            ),
        )
        .await?;
        let owner = setup::connect(
            server,
            setup::source_address(2 * i + 1, args.sources),
            &format!("{ws_base}/ws/chat/{}/?token={access}{owner_pin}", room.id),
        )
        .await?;
        senders.push((visitor, owner));
    }

    let warmup_us = args.warmup_secs * 1_000_000;
    let window = Arc::new(Window {
        clock,
        from_us: window.now_us() + warmup_us,
        to_us: window.now_us() + warmup_us + args.duration_secs * 1_000_000,
    });
    let per_room_interval = Duration::from_secs_f64(args.rooms as f64 / args.rate.max(0.001));
    let closed = args.mode == "closed";
    let mut tasks = Vec::new();
    for (i, (visitor, owner)) in senders.into_iter().enumerate() {
        let (mut visitor_sink, mut visitor_stream) = visitor.split();
        let (_owner_sink, mut owner_stream) = owner.split();
        let (ack_tx, mut ack_rx) = mpsc::unbounded_channel::<()>();
        // The visitor's own echo must be read, or its queue fills and the server drops it.
        tokio::spawn(async move { while visitor_stream.next().await.is_some() {} });
        let (w, c) = (window.clone(), counters.clone());
        tokio::spawn(async move {
            let _keep_sink_open = _owner_sink;
            while let Some(Ok(frame)) = owner_stream.next().await {
                let Message::Text(text) = frame else { continue };
                let Ok(value) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                let Some(sent_us) = value["message"]
                    .as_str()
                    .and_then(|m| m.rsplit(':').next())
                    .and_then(|t| t.parse::<u64>().ok())
                else {
                    continue;
                };
                let now = w.now_us();
                if w.contains(sent_us) {
                    c.delivered.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut l) = c.latencies_us.lock() {
                        l.push(u32::try_from(now - sent_us).unwrap_or(u32::MAX));
                    }
                }
                let _ = ack_tx.send(());
            }
        });
        let (w, c) = (window.clone(), counters.clone());
        tasks.push(tokio::spawn(async move {
            let mut seq = 0u64;
            // Spread the open-loop schedule over the interval so rooms do not send in lockstep:
            // each room's ticks are offset from the others', not just its first send.
            let offset = per_room_interval.mul_f64((i as f64 * 0.618).fract());
            let mut ticker =
                tokio::time::interval_at(tokio::time::Instant::now() + offset, per_room_interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            loop {
                let now = w.now_us();
                if now >= w.to_us {
                    break;
                }
                if !closed {
                    ticker.tick().await;
                }
                let now = w.now_us();
                seq += 1;
                let frame = json!({ "message": format!("{i}:{seq}:{now}") }).to_string();
                if visitor_sink.send(Message::text(frame)).await.is_err() {
                    break;
                }
                if w.contains(now) {
                    c.sent.fetch_add(1, Ordering::Relaxed);
                }
                if closed
                    && tokio::time::timeout(Duration::from_secs(5), ack_rx.recv())
                        .await
                        .is_err()
                {
                    continue;
                }
            }
            visitor_sink
        }));
    }

    let pid = args.server_pid.clone();
    tokio::time::sleep(Duration::from_micros(
        window.from_us.saturating_sub(window.now_us()),
    ))
    .await;
    let server_cpu_start = pid.as_deref().and_then(proc_stats::cpu_seconds);
    let self_cpu_start = proc_stats::cpu_seconds("self");
    let cpu_start = watch.snapshot();
    let measured_start = Instant::now();
    tokio::time::sleep(Duration::from_micros(
        window.to_us.saturating_sub(window.now_us()),
    ))
    .await;
    let elapsed = measured_start.elapsed().as_secs_f64();
    let cpu = watch.report(&cpu_start, &watch.snapshot());
    let server_cpu = pid
        .as_deref()
        .and_then(proc_stats::cpu_seconds)
        .zip(server_cpu_start)
        .map(|(b, a)| b - a);
    let self_cpu = proc_stats::cpu_seconds("self")
        .zip(self_cpu_start)
        .map(|(b, a)| b - a);
    let server_rss = pid.as_deref().and_then(proc_stats::rss_kib);
    // Let in-flight messages arrive before counting losses.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let _sinks: Vec<_> = futures::future::join_all(tasks).await;

    let sent = counters.sent.load(Ordering::Relaxed);
    let delivered = counters.delivered.load(Ordering::Relaxed);
    let mut latencies = counters
        .latencies_us
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    latencies.sort_unstable();
    let rate = delivered as f64 / elapsed;
    Ok(json!({
        "benchmark": "chat",
        "mode": args.mode,
        "rooms": args.rooms,
        "sockets": args.rooms * 2,
        "target_rate": if closed { Value::Null } else { json!(args.rate) },
        "measured_seconds": elapsed,
        "sent": sent,
        "delivered": delivered,
        "lost": sent.saturating_sub(delivered),
        "delivered_per_second": rate.round(),
        "latency_ms": {
            "p50": percentile(&latencies, 50.0),
            "p99": percentile(&latencies, 99.0),
            "p99_9": percentile(&latencies, 99.9),
            "max": percentile(&latencies, 100.0),
        },
        "server_cpu_seconds": server_cpu,
        "server_cores_busy": server_cpu.map(|c| c / elapsed),
        "server_cpu_seconds_per_1000_messages": server_cpu.map(|c| c * 1000.0 / delivered.max(1) as f64),
        "server_rss_kib": server_rss,
        "loadgen_cores_busy": self_cpu.map(|c| c / elapsed),
        "visitor_replica": args.visitor_replica,
        "owner_replica": args.owner_replica,
        "cpu": cpu,
    }))
}
