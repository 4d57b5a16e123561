//! The built-in reference replicated store (see DESIGN.md, issue 3).
//!
//! Parts: [`ops`] (client protocol and state machine), [`core`] (the pure
//! single-leader replication protocol), [`leaderless`] (the pure Dynamo-style
//! protocol), [`conflict`] (conflict resolution without a single leader),
//! [`wal`] (durable log), [`frame`] (length-delimited framing), [`client`] and
//! [`admin`] (blocking client libraries), [`node`] (the tokio process driving
//! the core).

pub mod admin;
pub mod client;
pub mod conflict;
pub mod core;
pub mod frame;
pub mod leaderless;
pub mod node;
pub mod ops;
pub mod wal;

pub use admin::{AdminClient, NodeStatus};
pub use client::{ClientError, StoreClient};
pub use ops::{ClientOp, KvState, MicroOp, Outcome, Request, Response};
