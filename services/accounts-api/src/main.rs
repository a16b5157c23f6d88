//! The accounts-api binary: parse flags → config → telemetry → serve, or run an operator command.

use shared::service::{ParsedCli, ServiceConfig};

#[derive(clap::Parser)]
#[command(name = "accounts-api", about = "CarInfo accounts service", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: accounts_api::Config,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Print the effective settings (secrets redacted) as an env file.
    PrintConfig,
    /// Operator commands for stickers.
    #[command(subcommand)]
    Stickers(accounts_api::cli::StickersCommand),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let parsed = ParsedCli::<Cli>::parse();
    let Cli { command, config } = &parsed.cli;
    let _telemetry = shared::telemetry::init(
        accounts_api::Config::NAME,
        &config.common.telemetry.clone().into(),
        std::io::stderr,
    );
    match command {
        None | Some(Command::Serve) => accounts_api::Application::serve(config.clone()).await,
        Some(Command::PrintConfig) => parsed.print_config(),
        Some(Command::Stickers(command)) => {
            let store = accounts_api::store::SCHEMA
                .connect(&config.common.database_url, 2)
                .await?;
            accounts_api::cli::run(command, store.as_ref(), &mut std::io::stdout().lock()).await
        }
    }
}
