//! The `carinfo` binary: serve everything on one port, or run an operator command.

use std::io::Write;

use shared::service::ParsedCli;

#[derive(clap::Parser)]
#[command(
    name = "carinfo",
    about = "CarInfo, all in one process (SQLite, no servers needed)",
    version
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: standalone::Config,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Serve the API, WebSocket and web client (the default).
    Serve,
    /// Print the effective settings (secrets redacted) as an env file.
    PrintConfig,
    /// Operator commands for stickers.
    #[command(subcommand)]
    Stickers(accounts_api::cli::StickersCommand),
    /// Print the merged OpenAPI document.
    PrintOpenapi,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let parsed = ParsedCli::<Cli>::parse();
    let Cli { command, config } = &parsed.cli;
    let _telemetry =
        shared::telemetry::init("carinfo", &config.telemetry.clone().into(), std::io::stderr);
    let mut out = std::io::stdout().lock();
    match command {
        None | Some(Command::Serve) => {
            let bundle = standalone::Bundle::build(config.clone()).await?;
            writeln!(out, "{}", standalone::banner(config, bundle.port()))?;
            drop(out);
            bundle
                .run_until_stopped(shared::http::serve::stop_on_signal())
                .await
        }
        Some(Command::PrintConfig) => parsed.print_config(),
        Some(Command::Stickers(command)) => {
            let store = accounts_api::store::SCHEMA
                .connect(&config.sqlite_url("accounts.db")?, 1)
                .await?;
            accounts_api::cli::run(command, store.as_ref(), &mut out).await
        }
        Some(Command::PrintOpenapi) => {
            Ok(out.write_all(standalone::openapi::merged_json()?.as_bytes())?)
        }
    }
}
