//! The `carinfo` binary: serve everything on one port, or run an operator command.

use std::io::Write;

use clap::Parser;

#[derive(Parser)]
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
    #[command(flatten)]
    telemetry: shared::telemetry::TelemetryArgs,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Serve the API, WebSocket and web client (the default).
    Serve,
    /// Operator commands for stickers.
    #[command(subcommand)]
    Stickers(accounts_api::cli::StickersCommand),
    /// Print the merged OpenAPI document.
    PrintOpenapi,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = shared::telemetry::init("carinfo", &cli.telemetry.into(), std::io::stderr);
    let mut out = std::io::stdout().lock();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let bundle = standalone::Bundle::build(
                cli.config.clone(),
                shared::http::serve::stop_on_signal(),
            )
            .await?;
            writeln!(out, "{}", standalone::banner(&cli.config, bundle.port()))?;
            drop(out);
            bundle.run_until_stopped().await
        }
        Command::Stickers(accounts_api::cli::StickersCommand::Issue(args)) => {
            let store =
                accounts_api::store::connect(&cli.config.sqlite_url("accounts.db")?, 1).await?;
            accounts_api::cli::issue_stickers(store.as_ref(), &args, &mut out).await?;
            Ok(())
        }
        Command::PrintOpenapi => Ok(out.write_all(standalone::openapi::merged_json()?.as_bytes())?),
    }
}
