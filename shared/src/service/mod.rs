//! The one skeleton every service has: its settings ([`ServiceSettings`], flattened into the
//! service's own `Config`), and its lifecycle ([`Service`]: build on a bus, a router, a
//! readiness check and background work; [`Application`]: that service on its own port, until
//! a stop token is cancelled). The standalone bundle builds the same `Service`s on one port.

mod application;
mod cli;
mod settings;

pub use application::{Application, Service};
pub use cli::ParsedCli;
pub use settings::{ServiceConfig, ServiceSettings};
