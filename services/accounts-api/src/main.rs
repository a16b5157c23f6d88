//! The accounts-api binary: parse flags → config → telemetry → serve, or run an operator command.

use clap::{CommandFactory, FromArgMatches, Parser};
use shared::service::ServiceConfig;

#[derive(Parser)]
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
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches)?;
    let common = &cli.config.common;
    let _telemetry = shared::telemetry::init(
        accounts_api::Config::NAME,
        &common.telemetry.clone().into(),
        std::io::stderr,
    );
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = accounts_api::Application::build(cli.config).await?;
            app.run_until_stopped(shared::http::serve::stop_on_signal())
                .await
        }
        Command::PrintConfig => Ok(shared::config::print_effective(
            &Cli::command(),
            &matches,
            &mut std::io::stdout(),
        )?),
        Command::Stickers(command) => {
            let store = accounts_api::store::connect(&common.database_url, 2).await?;
            accounts_api::cli::run(command, store.as_ref(), &mut std::io::stdout().lock()).await
        }
    }
}
