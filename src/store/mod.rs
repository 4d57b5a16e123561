//! The built-in reference replicated store (see ARCHITECTURE.md).
//!
//! Parts: [`ops`] (client protocol and state machine), [`seam`] (the trait
//! every topology's pure protocol core implements), [`core`] (the pure
//! single-leader, Raft-style protocol), [`leaderless`] (the pure
//! Dynamo-style protocol), [`conflict`] (conflict resolution without a single
//! leader), [`driver`] (the sans-IO node driver: batching, syncs, held sends,
//! the node's clock), [`wal`] (durable log), [`frame`] (length-delimited
//! framing), [`client`] and [`admin`] (blocking client libraries), [`node`]
//! (the tokio process around the driver), [`topology`] (which core a node runs),
//! [`shard`] (partitioners and the routing table of a sharded store), [`router`]
//! (the process that forwards clients' requests to the owning group).

pub mod admin;
pub mod client;
pub mod conflict;
pub mod core;
pub mod driver;
pub mod frame;
pub mod leaderless;
pub mod multileader;
pub mod node;
pub mod ops;
pub mod router;
pub mod seam;
pub mod shard;
pub mod topology;
pub mod wal;

pub use admin::{AdminClient, NodeStatus};
pub use client::{ClientError, StoreClient};
pub use ops::{ClientOp, KvState, MicroOp, Outcome, Request, Response};
pub use topology::Topology;
