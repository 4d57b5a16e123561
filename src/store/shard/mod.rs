//! Sharding: which replica group owns a key. Pure data, no I/O.
//!
//! Parts: [`partition`] (the three partitioners: hash modulo K, a
//! consistent-hash ring with virtual nodes, key ranges by boundaries), [`table`]
//! (the routing table: a partitioner plus moved key ranges, stamped with an
//! epoch, and the fence an owner checks requests against), [`load`] (ops per
//! group in a run, for results.json and the report), [`rebalance`] (the
//! share of keys moved when a group is added, measured and in theory),
//! [`fence`] (the table's wire form, a node's fence, one range move),
//! [`handover`] (who gives which keys to whom in a move or an add).
//!
//! Invariants: under one table every key has exactly one owner, a group index
//! below the table's group count; a move changes the owner of exactly the
//! moved range's keys; every change of the table bumps its epoch.

pub mod fence;
pub mod handover;
pub mod load;
pub mod partition;
pub mod rebalance;
pub mod table;

pub use fence::{fenced_keys, Fence, RangeMove, TableSpec, FENCED, SCAN};
pub use handover::Handover;
pub use load::ShardLoad;
pub use partition::{Partitioner, PartitionerKind};
pub use table::{KeyRange, Refusal, RoutingTable};

/// A replica group's index, `0..K`.
pub type GroupId = usize;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShardError {
    #[error("a sharded store needs at least one group (got {0})")]
    NoGroups(usize),
    #[error("range boundaries must be strictly increasing: {0:?}")]
    Boundaries(Vec<String>),
    #[error("group {group} does not exist (the table has {groups})")]
    NoSuchGroup { group: GroupId, groups: usize },
    #[error("empty key range {lo:?}..{hi:?}")]
    EmptyRange { lo: String, hi: String },
}
