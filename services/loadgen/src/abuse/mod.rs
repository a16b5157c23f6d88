//! Hostile-client cases against a running server, each reported as a measured figure: it
//! never asserts, so the same run serves before and after a fix. This module owns the
//! command line and the order the cases run in; each case lives in its own file and must
//! leave the server usable for the cases after it.
//!
//! Example, against the standalone bundle:
//!
//! ```text
//! cargo run --release -p loadgen -- abuse --base http://127.0.0.1:8000 \
//!     --server-pid $(pgrep -f target/release/carinfo) --owner-id <uuid> \
//!     --phone +998901234567 --password secret123 [--cases hashing,slowloris]
//! ```
//!
//! `history-memory` sends at the server's per-socket rate (about ten messages a second), so
//! its default 5,000 messages take over eight minutes; against a server with
//! `RATE_LIMITS=off` pass `--history-rate 0` to send as fast as the socket allows.

mod hashing;
mod history_memory;
mod login;
mod metrics_cardinality;
mod random;
mod rss;
mod slowloris;
mod sockets_per_visitor;
mod tally;
mod throttle_memory;
mod throttle_race;

use std::time::Instant;

use clap::ValueEnum;
use serde_json::{json, Value};

/// A hostile-client case. Declaration order is run order: the login cases come first and
/// `throttle-race` last among them, because it leaves the owner's phone throttled.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Case {
    /// Failed logins with fresh ~60 KB phone numbers: does the throttle's memory grow?
    ThrottleMemory,
    /// Concurrent logins for distinct phones: memory of the password hashers, and 429s.
    Hashing,
    /// Concurrent wrong passwords for one phone: how many are verified before the throttle.
    ThrottleRace,
    /// Invented methods and paths: does /metrics grow a series per invention?
    MetricsCardinality,
    /// Many sockets with one visitor token: how many are accepted.
    SocketsPerVisitor,
    /// A long history, then concurrent bare reads of it: memory and bytes per read.
    HistoryMemory,
    /// Connections that never finish their headers: how many the server closes.
    Slowloris,
}

impl Case {
    fn name(self) -> &'static str {
        match self {
            Self::ThrottleMemory => "throttle-memory",
            Self::Hashing => "hashing",
            Self::ThrottleRace => "throttle-race",
            Self::MetricsCardinality => "metrics-cardinality",
            Self::SocketsPerVisitor => "sockets-per-visitor",
            Self::HistoryMemory => "history-memory",
            Self::Slowloris => "slowloris",
        }
    }
}

/// `abuse` arguments.
#[derive(clap::Args)]
pub struct AbuseArgs {
    /// Base URL of the server (the standalone bundle serves every path on one port).
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    base: String,
    /// Where `/metrics` is served, when not on `--base` (carinfo's `OPS_LISTEN_ADDR`).
    #[arg(long)]
    metrics_base: Option<String>,
    /// Server process to read memory of; without it the RSS figures are null.
    #[arg(long)]
    server_pid: Option<String>,
    /// A registered owner sticker id (sockets-per-visitor, history-memory).
    #[arg(long)]
    owner_id: Option<String>,
    /// The owner's phone (throttle-race).
    #[arg(long)]
    phone: Option<String>,
    /// The owner's password: after throttle-race, is the real owner locked out?
    #[arg(long)]
    password: Option<String>,
    /// Cases to run, comma-separated (default: all, in the order listed by --help).
    #[arg(long, value_enum, value_delimiter = ',')]
    cases: Vec<Case>,
    /// throttle-memory: loopback source addresses; more models an attacker with many addresses
    /// (each has its own failed-login budget, so more attempts reach the per-phone throttle).
    #[arg(long, default_value_t = 1)]
    login_sources: usize,
    /// throttle-memory: failed logins.
    #[arg(long, default_value_t = 5000)]
    throttle_logins: usize,
    /// throttle-memory: bytes of each invented phone number (plus a unique head of ~20).
    #[arg(long, default_value_t = 60_000)]
    phone_bytes: usize,
    /// throttle-memory: logins in flight.
    #[arg(long, default_value_t = 32)]
    login_concurrency: usize,
    /// throttle-race and hashing: concurrent logins in the burst.
    #[arg(long, default_value_t = 64)]
    burst_logins: usize,
    /// metrics-cardinality: requests with invented methods and paths.
    #[arg(long, default_value_t = 20_000)]
    metrics_requests: usize,
    /// metrics-cardinality: requests in flight.
    #[arg(long, default_value_t = 64)]
    metrics_concurrency: usize,
    /// sockets-per-visitor: sockets to try with one visitor token.
    #[arg(long, default_value_t = 300)]
    visitor_sockets: usize,
    /// history-memory: messages to send.
    #[arg(long, default_value_t = 5000)]
    history_messages: usize,
    /// history-memory: characters per message.
    #[arg(long, default_value_t = 4000)]
    history_chars: usize,
    /// history-memory: messages per second (0 = unpaced, for RATE_LIMITS=off).
    #[arg(long, default_value_t = 9.5)]
    history_rate: f64,
    /// history-memory: concurrent bare reads of the history.
    #[arg(long, default_value_t = 8)]
    history_reads: usize,
    /// slowloris: connections to hold.
    #[arg(long, default_value_t = 2000)]
    slowloris_connections: usize,
    /// slowloris: seconds to hold them before probing.
    #[arg(long, default_value_t = 30)]
    slowloris_secs: u64,
    /// Loopback source addresses for socket cases (sockets-per-visitor, slowloris).
    #[arg(long, default_value_t = 8)]
    sources: usize,
}

/// Runs the selected cases in order and returns one report object per case. A case that
/// fails is reported with its error and the run goes on.
pub async fn run(args: AbuseArgs) -> anyhow::Result<Value> {
    let mut reports = Vec::new();
    for &case in Case::value_variants() {
        if !args.cases.is_empty() && !args.cases.contains(&case) {
            continue;
        }
        // Progress goes to stderr so stdout stays one JSON document.
        eprintln!("abuse: {}", case.name());
        let started = Instant::now();
        let outcome = match case {
            Case::ThrottleMemory => throttle_memory::run(&args).await,
            Case::Hashing => hashing::run(&args).await,
            Case::ThrottleRace => throttle_race::run(&args).await,
            Case::MetricsCardinality => metrics_cardinality::run(&args).await,
            Case::SocketsPerVisitor => sockets_per_visitor::run(&args).await,
            Case::HistoryMemory => history_memory::run(&args).await,
            Case::Slowloris => slowloris::run(&args).await,
        };
        let mut report = outcome.unwrap_or_else(|e| json!({ "error": format!("{e:#}") }));
        if let Value::Object(fields) = &mut report {
            fields.insert("case".into(), json!(case.name()));
            fields.insert("seconds".into(), json!(started.elapsed().as_secs_f64()));
        }
        reports.push(report);
    }
    Ok(json!({
        "benchmark": "abuse",
        "base": args.base,
        "server_pid": args.server_pid,
        "cases": reports,
    }))
}

/// The value of an option a case cannot run without.
fn required<'a>(value: Option<&'a String>, flag: &str) -> anyhow::Result<&'a str> {
    value
        .map(String::as_str)
        .ok_or_else(|| anyhow::anyhow!("this case needs {flag}"))
}

/// An error with its causes: reqwest's own `Display` stops at the outermost layer, which
/// hides the "connection refused" that explains it.
fn describe(error: impl std::error::Error + Send + Sync + 'static) -> String {
    format!("{:#}", anyhow::Error::from(error))
}
