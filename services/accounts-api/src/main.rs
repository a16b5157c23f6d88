//! The accounts-api binary: parse flags → config → telemetry → serve, or run an operator command.

use clap::Parser;

#[derive(Parser)]
#[command(name = "accounts-api", about = "CarInfo accounts service", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: accounts_api::Config,
    #[command(flatten)]
    telemetry: shared::telemetry::TelemetryArgs,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Operator commands for stickers.
    #[command(subcommand)]
    Stickers(accounts_api::cli::StickersCommand),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry =
        shared::telemetry::init("accounts-api", &cli.telemetry.into(), std::io::stderr);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = accounts_api::Application::build(cli.config).await?;
            let stop = shared::http::serve::stop_on_signal();
            app.run_until_stopped(stop).await
        }
        Command::Stickers(accounts_api::cli::StickersCommand::Issue(args)) => {
            let store = accounts_api::store::connect(&cli.config.database_url, 2).await?;
            accounts_api::cli::issue_stickers(store.as_ref(), &args, &mut std::io::stdout().lock())
                .await?;
            Ok(())
        }
    }
}
