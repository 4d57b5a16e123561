//! Data the multi-leader core consumes and produces: configuration, the
//! replicated change, peer messages and durable records.

use super::dc::DcTopology;
use crate::store::conflict::{CausalContext, ConflictMode, Dot, KeyState};
use crate::store::leaderless::RequestOpts;
use crate::store::ops::{ClientOp, Outcome};
use serde::{Deserialize, Serialize};

pub type NodeId = String;

/// Fixed per-node settings. Times are nanoseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub id: NodeId,
    /// Every node of the cluster in order; datacenters are contiguous groups.
    pub nodes: Vec<NodeId>,
    pub datacenters: usize,
    pub dc_topology: DcTopology,
    /// `avoid`: each key has a home datacenter whose leader takes all its
    /// writes (stamped in one order per key); the others merge as in the
    /// leaderless store.
    pub conflict: ConflictMode,
    /// Base replication lag between datacenters (see [`super::dc::lag_ns`]).
    pub dc_lag_ns: u64,
    /// Unacknowledged changes are shipped again after this long.
    pub resend_ns: u64,
    /// A forwarded write with no answer for this long is answered `Unknown`.
    pub request_timeout_ns: u64,
    /// Changes per shipment.
    pub batch: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("--datacenters {d} must be between 1 and the number of nodes ({nodes})")]
    Datacenters { d: usize, nodes: usize },
    #[error("node {0} is not one of the cluster's nodes")]
    NotAMember(NodeId),
    #[error("node id {0} appears twice in the cluster")]
    Duplicate(NodeId),
}

impl Config {
    /// Defaults: one datacenter per node, all-to-all, siblings, no lag.
    pub fn new(id: &str, nodes: &[&str]) -> Config {
        Config {
            id: id.to_string(),
            nodes: nodes.iter().map(|s| s.to_string()).collect(),
            datacenters: nodes.len().max(1),
            dc_topology: DcTopology::AllToAll,
            conflict: ConflictMode::Siblings,
            dc_lag_ns: 0,
            resend_ns: 300_000_000,
            request_timeout_ns: 1_000_000_000,
            batch: 256,
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let (d, nodes) = (self.datacenters, self.nodes.len());
        if d == 0 || d > nodes {
            return Err(ConfigError::Datacenters { d, nodes });
        }
        if !self.nodes.contains(&self.id) {
            return Err(ConfigError::NotAMember(self.id.clone()));
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(x) = self.nodes.iter().find(|x| !seen.insert(*x)) {
            return Err(ConfigError::Duplicate(x.clone()));
        }
        Ok(())
    }

    /// Whether changes carry their dependencies and wait for them.
    pub fn causal(&self) -> bool {
        matches!(self.conflict, ConflictMode::Siblings | ConflictMode::Crdt)
    }
}

/// One accepted write, as it travels between nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The originating leader and its sequence number: the change's identity.
    pub dot: Dot,
    pub key: String,
    /// What every node joins into its copy of `key`.
    pub delta: KeyState,
    /// Under siblings/crdt, the changes the origin had applied when it
    /// accepted this one: a node applies it only after all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deps: Option<CausalContext>,
    /// The datacenters that applied it, origin first (loop prevention).
    pub path: Vec<usize>,
}

/// Peer messages. Shipments cover a range of the sender's log positions
/// (`from`, `upto`]: entries the receiver does not need are skipped, still
/// covered. `epoch` names the sender's incarnation (its log order is rebuilt
/// on restart); `base` is the position the receiver last acknowledged to it.
/// A receiver takes a shipment only if it has everything before `from`, and
/// acknowledges the highest position it holds without a gap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Msg {
    Ship {
        epoch: u64,
        base: u64,
        from: u64,
        upto: u64,
        changes: Vec<Change>,
    },
    Ack {
        epoch: u64,
        upto: u64,
    },
    /// A write handed to the leader that can accept it.
    Forward {
        id: u64,
        op: ClientOp,
        opts: RequestOpts,
    },
    ForwardReply {
        id: u64,
        outcome: Outcome,
    },
}

/// Durable records: every change a node received or originated (buffered
/// ones too, so an acknowledged shipment is never lost). Replay feeds them
/// through delivery again; duplicates are skipped by their dot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "kebab-case")]
pub enum Record {
    Change(Change),
}
