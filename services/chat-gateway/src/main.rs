//! The chat-gateway binary: parse flags → config → telemetry → serve.

use clap::Parser;

#[derive(Parser)]
#[command(name = "chat-gateway", about = "CarInfo chat gateway", version)]
struct Cli {
    #[command(flatten)]
    config: chat_gateway::Config,
    #[command(flatten)]
    telemetry: shared::telemetry::TelemetryArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry =
        shared::telemetry::init("chat-gateway", &cli.telemetry.into(), std::io::stderr);
    let stop = shared::http::serve::stop_on_signal();
    let app = chat_gateway::Application::build(cli.config, stop).await?;
    app.run_until_stopped().await
}
