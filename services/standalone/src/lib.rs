//! `carinfo`: the embedded default. Every service (accounts, chat, push notifications) on one
//! port, SQLite files in a data directory, one in-process event bus, the reference web
//! client, and the operator's CLI.

pub mod bundle;
pub mod config;
mod key_file;
pub mod openapi;
pub mod signing_key;
pub mod vapid_key;
pub mod web;

pub use bundle::Bundle;
pub use config::Config;

/// What the operator sees on start: where the docs are, how to issue a sticker, a first request.
pub fn banner(config: &Config, port: u16) -> String {
    let base = format!("http://{}:{port}", config.listen_addr.ip());
    format!(
        "CarInfo is running at {base} (data in {data})\n\
         \n  API docs:        {base}/api/docs/   (Redoc: {base}/api/redoc/)\n\
         \x20 AsyncAPI:        {base}/api/asyncapi/   (the WebSocket and the events)\n\
         \x20 Owner inbox:     {base}/app/\n\
         \x20 Issue a sticker: cargo run -p standalone -- stickers issue --count 1   (same DATA_DIR)\n\
         \x20 Then open        {base}/u/<sticker-id>   or register from the command line:\n\
         \x20   curl -s -X POST {base}/api/user/register/ -H 'Content-Type: application/json' \\\n\
         \x20     -d '{{\"user_id\": \"<sticker-id>\", \"phone_number\": \"+998901234567\", \"password\": \"secret123\"}}'\n\
         \x20   curl -s -X POST {base}/api/login/ -H 'Content-Type: application/json' \\\n\
         \x20     -d '{{\"phone_number\": \"+998901234567\", \"password\": \"secret123\"}}'\n",
        data = config.data_dir.display()
    )
}
