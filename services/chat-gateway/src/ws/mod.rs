//! Real-time chat over WebSocket: authorisation before the upgrade, a small per-socket
//! session loop, the owner's channel, the frames on the wire, and the per-replica hub of local
//! sockets.

pub mod frames;
pub mod hub;
mod incoming;
pub mod owner_channel;
pub mod session;
pub mod socket_io;
pub mod socket_slots;
pub mod upgrade;
