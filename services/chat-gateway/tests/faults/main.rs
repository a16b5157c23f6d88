//! Fault drills: the failures production will see, played against real processes and real
//! backends. Replicas are the `chat-gateway` binary started as OS processes; Postgres and NATS
//! are real servers. Each drill prints one `fault drill:` summary line (run with
//! `--no-capture` to see it; docs/benchmarks.md "Faults" records them).
//!
//! - `replica_killed`: a replica dies with SIGKILL mid-conversation;
//! - `database_stopped`: Postgres stops for six seconds mid-conversation;
//! - `replica_terminated`: a replica under load is told to stop with SIGTERM.

mod api;
mod database_stopped;
mod deployment;
mod participants;
mod replica;
mod replica_killed;
mod replica_terminated;
