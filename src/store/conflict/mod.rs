//! Conflict resolution for stores without a single leader (leaderless now,
//! multi-leader next): logical clocks, the per-key replicated state under
//! each mode, and how an accepted client write becomes a mergeable delta.
//!
//! Modes (`--conflict`):
//! - `lww`: highest (wall clock, node id) wins; concurrent or clock-skewed
//!   writes are silently dropped (unsafe by design);
//! - `siblings`: dotted versions with causal contexts; concurrent writes are
//!   kept side by side until a client that read them writes a merge;
//! - `crdt`: state-based CRDTs where the workload fits: an observed-remove
//!   set for set adds, a PN-counter for increments (registers are siblings).
//!
//! Every state is a join-semilattice: replicas only ever join what they
//! receive, so the order and duplication of messages cannot matter.

mod context;
mod kernel;
mod lattice;
mod lww;
mod orset;
mod pncounter;
mod siblings;
mod state;
mod update;
mod vv;

pub use context::CausalContext;
pub use kernel::DotKernel;
pub use lattice::Lattice;
pub use lww::{LwwRegister, Stamp};
pub use orset::{value_order, OrSet};
pub use pncounter::PnCounter;
pub use siblings::Siblings;
pub use state::{read_value, KeyState};
pub use update::{originate, ConflictError, Update};
pub use vv::{Causality, Dot, NodeId, VersionVector};

use serde::{Deserialize, Serialize};

/// How concurrent writes to one key are resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictMode {
    /// Last write wins by the coordinator's wall clock (loses writes).
    Lww,
    /// Concurrent writes are kept as siblings (nothing acknowledged is lost).
    Siblings,
    /// Merged CRDTs: OR-set adds, PN-counter increments.
    Crdt,
    /// Multi-leader only: each key has a home datacenter whose leader takes
    /// all its writes (stored as last-write-wins registers it stamps in
    /// order), so concurrent writes to a key never meet.
    Avoid,
}
