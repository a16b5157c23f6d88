//! The notifier binary: parse flags → config → telemetry → serve.

use shared::service::{ParsedCli, ServiceConfig};

#[derive(clap::Parser)]
#[command(name = "notifier", about = "CarInfo Web Push notifier", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: notifier::Config,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Serve the API and send notifications (the default).
    Serve,
    /// Print the effective settings (secrets redacted) as an env file.
    PrintConfig,
    /// Print a new VAPID private key (a `VAPID_PRIVATE_KEY` value) on stdout.
    GenerateVapidKey,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let parsed = ParsedCli::<Cli>::parse();
    let Cli { command, config } = &parsed.cli;
    let _telemetry = shared::telemetry::init(
        notifier::Config::NAME,
        &config.common.telemetry.clone().into(),
        std::io::stderr,
    );
    match command {
        None | Some(Command::Serve) => notifier::Application::serve(config.clone()).await,
        Some(Command::PrintConfig) => parsed.print_config(),
        Some(Command::GenerateVapidKey) => {
            let key = notifier::push::VapidKey::generate()?.to_base64url();
            Ok(std::io::Write::write_all(
                &mut std::io::stdout(),
                format!("{key}\n").as_bytes(),
            )?)
        }
    }
}
