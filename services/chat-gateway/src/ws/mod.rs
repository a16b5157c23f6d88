//! Real-time chat over WebSocket: authorisation before the upgrade, a small per-socket
//! session loop, the frames on the wire, and the per-replica hub of local sockets.

pub mod frames;
pub mod hub;
pub mod session;
pub mod socket_slots;
pub mod upgrade;
