//! `carinfo-loadgen`: the benchmark driver of docs/benchmarks.md. It speaks only the guide's
//! public API (HTTP + WebSocket), spreads its sockets over several 127.0.0.x source addresses
//! to get past one address's port range, and reports what it measured as JSON. `abuse` is the
//! exception to "public API only": it also plays hostile clients that misuse the protocol.
//! Every report carries the command line that produced it (the password redacted).

mod abuse;
mod chat;
mod idle;
mod measure;
mod proc_stats;
mod setup;

use clap::Parser;

/// Command line.
#[derive(Parser)]
#[command(name = "carinfo-loadgen", about = "Benchmark driver for CarInfo")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// N rooms with a visitor and an owner socket each; visitors send, owners receive.
    Chat(chat::ChatArgs),
    /// Many idle sockets; reports server RSS per socket.
    Idle(idle::IdleArgs),
    /// Hostile-client cases (throttles, hashing, metrics, sockets, history, slowloris).
    Abuse(abuse::AbuseArgs),
    /// Runs another load tool (wrk) and reports its output with the run's CPU split.
    Measure(measure::MeasureArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut report = match Cli::parse().command {
        Command::Chat(args) => chat::run(args).await?,
        Command::Idle(args) => idle::run(args).await?,
        Command::Abuse(args) => abuse::run(args).await?,
        Command::Measure(args) => measure::run(args).await?,
    };
    if let Some(fields) = report.as_object_mut() {
        fields.insert("command".to_owned(), command_line().into());
    }
    let mut out = std::io::stdout().lock();
    std::io::Write::write_all(
        &mut out,
        format!("{}\n", serde_json::to_string_pretty(&report)?).as_bytes(),
    )?;
    Ok(())
}

/// This process's arguments, with the value after `--password` and any `Authorization`
/// header (of a command run by `measure`) replaced.
fn command_line() -> Vec<String> {
    let mut redact_next = false;
    std::env::args()
        .map(|arg| {
            let shown = if redact_next {
                "***".to_owned()
            } else if arg.to_ascii_lowercase().starts_with("authorization:") {
                "Authorization: ***".to_owned()
            } else {
                arg.clone()
            };
            redact_next = arg == "--password";
            shown
        })
        .collect()
}
