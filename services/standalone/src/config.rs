//! The embedded default's configuration: one port, one data directory, everything else
//! defaulted so `cargo run -p standalone` needs nothing.

use std::{net::SocketAddr, path::PathBuf};

use secrecy::SecretString;
use shared::{
    config::{DatabaseUrl, RateLimits},
    http::HttpLimits,
};

/// `carinfo` configuration.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address to serve both services (and the web client) on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8000")]
    pub listen_addr: SocketAddr,
    /// Where the SQLite files and the generated signing and VAPID keys live.
    #[arg(long, env = "DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Signing key; generated once into the data directory when unset.
    #[arg(long, env = "JWT_SECRET", value_parser = shared::config::SigningKeyParser, hide_env_values = true)]
    pub jwt_secret: Option<SecretString>,
    /// The notifier's VAPID private key (base64url of the P-256 scalar, or a PEM file's path);
    /// generated once into the data directory when unset.
    #[arg(long, env = "VAPID_PRIVATE_KEY", hide_env_values = true)]
    pub vapid_private_key: Option<SecretString>,
    /// Contact for push services (the VAPID `sub`), a mailto: or https: URL; the notifier's
    /// default when unset.
    #[arg(long, env = "VAPID_SUBJECT")]
    pub vapid_subject: Option<String>,
    /// Accept push endpoints on `http` and on private addresses (tests only).
    #[arg(long, env = "PUSH_ALLOW_PRIVATE_ENDPOINTS", default_value_t = false, action = clap::ArgAction::Set)]
    pub push_allow_private_endpoints: bool,
    /// `off` switches every throttle and rate limit off.
    #[arg(long, env = "RATE_LIMITS", default_value = "on")]
    pub rate_limits: RateLimits,
    /// Rotate refresh tokens on refresh.
    #[arg(long, env = "ROTATE_REFRESH_TOKENS", default_value_t = false, action = clap::ArgAction::Set)]
    pub rotate_refresh_tokens: bool,
    /// Connection limits of the listener.
    #[command(flatten)]
    pub http: HttpLimits,
    /// Where to serve `/readyz` and `/metrics` (and `/healthz`); unset, they are not served.
    /// The public port answers `/healthz` only.
    #[arg(long, env = "OPS_LISTEN_ADDR")]
    pub ops_listen_addr: Option<SocketAddr>,
    /// Log format and trace export.
    #[command(flatten)]
    pub telemetry: shared::telemetry::TelemetryArgs,
}

impl Config {
    /// Defaults for a data directory (tests use a temporary one and port 0).
    pub fn for_data_dir(data_dir: PathBuf) -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            ..shared::config::defaults()
        }
    }

    /// `sqlite://<data_dir>/<file>`.
    pub fn sqlite_url(&self, file: &str) -> anyhow::Result<DatabaseUrl> {
        Ok(format!("sqlite://{}", self.data_dir.join(file).display()).parse()?)
    }
}
