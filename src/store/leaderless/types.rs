//! Data the leaderless core consumes and produces: configuration, peer
//! messages, durable records, inputs and actions. They mirror the
//! single-leader core's (`store::core`) so that one seam can drive both.

use crate::store::conflict::{CausalContext, ConflictMode, KeyState};
use crate::store::core::Event;
use crate::store::ops::{ClientOp, Outcome};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub type NodeId = String;

/// When a read repairs the stale replicas it met.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ReadRepair {
    /// Before answering: the stale replicas among the first R must confirm
    /// the repair (a read that cannot repair in time fails).
    Sync,
    /// After answering: repairs go out without waiting, late replies included.
    Async,
    /// Never (replicas only converge by anti-entropy and hinted handoff).
    Off,
}

/// Fixed per-node settings of the core. Times are nanoseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub id: NodeId,
    /// Every node of the cluster, this one included.
    pub nodes: Vec<NodeId>,
    /// Replicas per key.
    pub n: usize,
    /// Acknowledgements a write waits for.
    pub w: usize,
    /// Replies a read waits for.
    pub r: usize,
    pub conflict: ConflictMode,
    pub read_repair: ReadRepair,
    /// Anti-entropy round interval in milliseconds; 0 = off.
    pub anti_entropy_ms: u64,
    /// Unsafe for reads: unreachable replicas are replaced by the next
    /// healthy nodes on the ring, which keep the write as a hint.
    pub sloppy_quorum: bool,
    /// Ring tokens per node.
    pub vnodes: usize,
    /// Levels below each range's Merkle root (fanout 16; at most 7).
    pub merkle_depth: u32,
    /// A coordinator gives up on a request after this long.
    pub request_timeout_ns: u64,
    /// A replica that has not answered a request for this long is marked
    /// down (and, with a sloppy quorum, replaced by a fallback).
    pub replica_timeout_ns: u64,
    /// A coordinator re-sends a request's messages to the targets that have
    /// not answered this often (0: never), so a message lost while a peer
    /// link reconnected does not turn an answerable request into `Unknown`.
    pub resend_interval_ns: u64,
    /// Down peers are pinged this often.
    pub probe_interval_ns: u64,
    /// A fallback offers each hint to its home node this often.
    pub handoff_interval_ns: u64,
}

/// Why a configuration cannot run (the CLI reports these and exits 3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("--n, --w and --r must be at least 1 (got n={n}, w={w}, r={r})")]
    Zero { n: usize, w: usize, r: usize },
    #[error("--n {n} is greater than the number of nodes ({nodes})")]
    NAboveNodes { n: usize, nodes: usize },
    #[error("--w {w} is greater than --n {n}")]
    WAboveN { w: usize, n: usize },
    #[error("--r {r} is greater than --n {n}")]
    RAboveN { r: usize, n: usize },
    #[error("node {0} is not one of the cluster's nodes")]
    NotAMember(NodeId),
    #[error("node id {0} appears twice in the cluster")]
    Duplicate(NodeId),
    #[error("vnodes must be at least 1")]
    NoVnodes,
    #[error("merkle depth {0} is above the maximum of 7")]
    MerkleTooDeep(u32),
}

impl Config {
    /// Defaults: N=3 (or fewer nodes), W=R=majority of N, siblings, async
    /// read repair, anti-entropy every second, strict quorums.
    pub fn new(id: &str, nodes: &[&str]) -> Config {
        let n = nodes.len().clamp(1, 3);
        Config {
            id: id.to_string(),
            nodes: nodes.iter().map(|s| s.to_string()).collect(),
            n,
            w: n / 2 + 1,
            r: n / 2 + 1,
            conflict: ConflictMode::Siblings,
            read_repair: ReadRepair::Async,
            anti_entropy_ms: 1000,
            sloppy_quorum: false,
            vnodes: 64,
            merkle_depth: 4,
            request_timeout_ns: 1_000_000_000,
            replica_timeout_ns: 150_000_000,
            resend_interval_ns: 200_000_000,
            probe_interval_ns: 100_000_000,
            handoff_interval_ns: 200_000_000,
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let (n, w, r) = (self.n, self.w, self.r);
        if n == 0 || w == 0 || r == 0 {
            return Err(ConfigError::Zero { n, w, r });
        }
        if n > self.nodes.len() {
            return Err(ConfigError::NAboveNodes {
                n,
                nodes: self.nodes.len(),
            });
        }
        if w > n {
            return Err(ConfigError::WAboveN { w, n });
        }
        if r > n {
            return Err(ConfigError::RAboveN { r, n });
        }
        if !self.nodes.contains(&self.id) {
            return Err(ConfigError::NotAMember(self.id.clone()));
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(d) = self.nodes.iter().find(|x| !seen.insert(*x)) {
            return Err(ConfigError::Duplicate(d.clone()));
        }
        if self.vnodes == 0 {
            return Err(ConfigError::NoVnodes);
        }
        if self.merkle_depth > 7 {
            return Err(ConfigError::MerkleTooDeep(self.merkle_depth));
        }
        Ok(())
    }
}

/// Per-request options the client protocol carries beside the op (all
/// optional; absent fields are left out of the JSON).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestOpts {
    /// Overrides the cluster's W for this write (1..=N).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub w: Option<usize>,
    /// Overrides the cluster's R for this read (1..=N).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r: Option<usize>,
    /// The causal context of the read this write is based on (the `context`
    /// a read returned); absent = a blind write, concurrent with everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<CausalContext>,
    /// Answer a read from this node's own copy, with no quorum (what a
    /// convergence check uses to read every replica directly).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub local: bool,
}

/// The two clocks the driver passes in: `mono_ns` (core time: deadlines,
/// intervals) and `wall_ns` (the node's skewable wall clock, ns since the
/// epoch: last-write-wins stamps).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Now {
    pub mono_ns: u64,
    pub wall_ns: u64,
}

/// A Merkle comparison group: the sender's nonzero hashes of the children
/// of node `parent` (at the level above) in range `arc`, by child slot.
pub type AeGroup = (u32, u32, Vec<(u8, u64)>);

/// Keys and digests of one leaf: `(arc, leaf, [(key, digest)])`.
pub type AeLeaf = (u32, u32, Vec<(String, u64)>);

/// Peer-to-peer messages. Request ids are the coordinator's (seeded with the
/// driver's nonce, so replies to a previous incarnation match nothing).
/// Externally tagged on the wire (`{"put":{...}}`): an internally tagged enum
/// is decoded through a buffered copy of every message, on the hot path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Msg {
    /// Join `state` into `key`, make it durable, then acknowledge. `hint`:
    /// the home node this copy is held for (sloppy quorum).
    Put {
        id: u64,
        key: String,
        state: KeyState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hint: Option<NodeId>,
    },
    PutAck {
        id: u64,
    },
    Get {
        id: u64,
        key: String,
    },
    GetReply {
        id: u64,
        state: Option<KeyState>,
    },
    /// Read repair: join `state`; `ack` asks for a `RepairAck` once durable.
    Repair {
        id: u64,
        key: String,
        state: KeyState,
        ack: bool,
    },
    RepairAck {
        id: u64,
    },
    /// A write handed to a node that holds the key (it can mint the update).
    Forward {
        id: u64,
        op: ClientOp,
        opts: RequestOpts,
    },
    ForwardReply {
        id: u64,
        outcome: Outcome,
    },
    /// Hinted handoff: a fallback gives the home node what it held for it.
    Handoff {
        key: String,
        state: KeyState,
    },
    HandoffAck {
        key: String,
        digest: u64,
    },
    Ping,
    Pong,
    /// Anti-entropy: the sender's Merkle hashes at `level` for the children
    /// of the listed parents (level 0: the roots, slot 0, parent 0). Level 1
    /// with no groups answers the roots with "in sync": the exchange is done.
    AeLevel {
        session: u64,
        level: u32,
        groups: Vec<AeGroup>,
    },
    /// Anti-entropy: the sender's keys in the leaves found to differ.
    AeLeaves {
        session: u64,
        leaves: Vec<AeLeaf>,
    },
    /// Anti-entropy: states of differing keys, and the keys the sender wants
    /// back (after joining these).
    AeStates {
        session: u64,
        states: Vec<(String, KeyState)>,
        want: Vec<String>,
    },
}

impl Msg {
    /// The JSON encoding's length (the node's wire format).
    pub fn wire_bytes(&self) -> usize {
        serde_json::to_vec(self).map(|v| v.len()).unwrap_or(0)
    }
}

/// Durable records. Replaying them in order rebuilds the node's state: each
/// `Merge` is a join, so replay is insensitive to duplicates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "kebab-case")]
pub enum Record {
    /// `state` was joined into `key`; `hint`: held for that home node.
    Merge {
        key: String,
        state: KeyState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hint: Option<NodeId>,
    },
    /// The hint for `home` on `key` was delivered.
    HintDone { home: NodeId, key: String },
}

/// What drives the core.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    Peer {
        from: NodeId,
        msg: Msg,
    },
    /// `req` is the driver's handle for the reply. Any node coordinates.
    Client {
        req: u64,
        op: ClientOp,
        opts: RequestOpts,
    },
    /// Time passes: deadlines, probes, handoff and anti-entropy rounds.
    Tick,
    /// The end of a batch of inputs (nothing is batched here: no-op).
    Flush,
    /// The first `upto` `Persist` actions this core emitted are durable.
    Persisted {
        upto: u64,
    },
}

/// What the driver must do. `Persist` must be durable (per the fsync policy)
/// before any later `Send` leaves, except the sends the seam lets go first
/// (`Protocol::may_send_before_sync`: lookups, and a last-write-wins `put`):
/// a replica's acknowledgement follows its record, and a coordinator's copy
/// holding a dot it minted is durable before the write reaches anyone else.
/// Replies and events may leave at once: a coordinator counts its own copy
/// only after `Input::Persisted`.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Send { to: NodeId, msg: Msg },
    Reply { req: u64, outcome: Outcome },
    Persist(Record),
    Event(Event),
}

/// A summary for the admin endpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// Share of the key space each node is first in the preference list for.
    pub ownership: BTreeMap<NodeId, f64>,
    /// Share of the key space this node is one of the N replicas of.
    pub replicated_share: f64,
    pub keys: usize,
    /// Hints held for each home node, not yet delivered.
    pub hints_pending: BTreeMap<NodeId, usize>,
    /// The Merkle root of every range this node replicates (0 = empty).
    pub merkle_roots: BTreeMap<u32, u64>,
    /// Peers this node currently believes down.
    pub down: Vec<NodeId>,
    /// Coordinated requests still open.
    pub open_requests: usize,
    /// Peer messages this node has sent since it started (benchmarks: messages per op).
    #[serde(default)]
    pub messages_sent: u64,
}
