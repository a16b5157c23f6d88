//! The chat-gateway binary: parse flags → config → telemetry → serve.

use clap::{CommandFactory, FromArgMatches, Parser};
use shared::service::ServiceConfig;

#[derive(Parser)]
#[command(name = "chat-gateway", about = "CarInfo chat gateway", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: chat_gateway::Config,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Serve the API and the WebSocket (the default).
    Serve,
    /// Print the effective settings (secrets redacted) as an env file.
    PrintConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches)?;
    let _telemetry = shared::telemetry::init(
        chat_gateway::Config::NAME,
        &cli.config.common.telemetry.clone().into(),
        std::io::stderr,
    );
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = chat_gateway::Application::build(cli.config).await?;
            app.run_until_stopped(shared::http::serve::stop_on_signal())
                .await
        }
        Command::PrintConfig => Ok(shared::config::print_effective(
            &Cli::command(),
            &matches,
            &mut std::io::stdout(),
        )?),
    }
}
