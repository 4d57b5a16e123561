//! Data the protocol core consumes and produces: configuration, log entries,
//! peer messages, inputs and actions.

use crate::store::ops::{ClientOp, KvState};
use crate::store::seam::{self, CoreConfig, Timers};
use serde::{Deserialize, Serialize};

pub use crate::store::seam::NodeId;

/// When a write counts as committed (and its client gets `ok`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Replication {
    /// Every follower has it.
    Sync,
    /// The leader and one designated synchronous follower have it.
    SemiSync,
    /// A majority, leader included (safe).
    Quorum,
    /// The leader's own log has it (unsafe: failover loses acknowledged writes).
    Async,
}

/// Who may answer a read, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Reads {
    /// The leader confirms its leadership with a majority round first (safe).
    Linearizable,
    /// The leader answers from local state (unsafe in partitions).
    Leader,
    /// Any node answers from local state (stale reads).
    Follower,
    /// The leader answers from local state while it holds a read lease (see
    /// [`Config::lease_ns`]), else as `Linearizable`. Safe while clocks drift
    /// apart by less than `Config::max_drift`.
    Lease,
}

/// Fixed per-node settings of the core. Times are nanoseconds.
#[derive(Clone, Debug)]
pub struct Config {
    pub id: NodeId,
    /// Every node of the cluster, this one included.
    pub nodes: Vec<NodeId>,
    pub replication: Replication,
    pub reads: Reads,
    /// Off = unsafe: a leader never yields to higher terms, never checks its
    /// quorum, and acknowledges from its own log once its followers fall silent.
    pub fencing: bool,
    pub heartbeat_ns: u64,
    pub election_timeout_ns: u64,
    /// Take a snapshot (and compact the log) every this many applied entries; 0 = never.
    pub snapshot_every: u64,
    /// Most entries per append message.
    pub max_batch: usize,
    /// A semi-sync follower this many entries behind is replaced.
    pub semi_sync_max_lag: u64,
    /// Largest relative clock-rate difference between nodes that read leases
    /// tolerate (0.1 = a node's election timeout may run 10% fast).
    pub max_drift: f64,
    /// Subtracted from every lease on top of the drift bound: covers the time
    /// between a follower taking a message off its socket and stamping it.
    pub lease_margin_ns: u64,
}

impl Config {
    pub fn new(id: &str, nodes: &[&str]) -> Config {
        Config {
            id: id.to_string(),
            nodes: nodes.iter().map(|s| s.to_string()).collect(),
            replication: Replication::Quorum,
            reads: Reads::Linearizable,
            fencing: true,
            heartbeat_ns: 50_000_000,
            election_timeout_ns: 300_000_000,
            snapshot_every: 0,
            max_batch: 1024,
            semi_sync_max_lag: 1000,
            max_drift: 0.1,
            lease_margin_ns: 10_000_000,
        }
    }

    /// How long a read lease lasts from the send time of the round a majority
    /// acknowledged: `election_timeout * (1 - max_drift) - margin`. A follower
    /// that acknowledged that round neither votes nor stands for election for
    /// an election timeout of its own clock, so no other leader can exist
    /// before the lease ends unless clocks drift apart by more than `max_drift`.
    pub fn lease_ns(&self) -> u64 {
        let drift = self.max_drift.clamp(0.0, 1.0);
        let scaled = (self.election_timeout_ns as f64 * (1.0 - drift)) as u64;
        scaled.saturating_sub(self.lease_margin_ns)
    }

    pub fn majority(&self) -> usize {
        self.nodes.len() / 2 + 1
    }
}

impl CoreConfig for Config {
    fn id(&self) -> &str {
        &self.id
    }

    /// Ticks often enough for heartbeats (a fifth of one, 1 to 10 ms); each
    /// election timeout gets a jitter of up to as much again.
    fn timers(&self) -> Timers {
        Timers {
            tick_ns: (self.heartbeat_ns / 5).clamp(1_000_000, 10_000_000),
            jitter_below_ns: self.election_timeout_ns.max(1),
        }
    }
}

/// What a log entry carries. (Entries are mostly client ops: boxing them would
/// only add an allocation.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Hash)]
pub enum Command {
    /// The entry a new leader appends to commit its predecessors' entries.
    Noop,
    Client(ClientOp),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Hash)]
pub struct Entry {
    pub term: u64,
    pub index: u64,
    pub cmd: Command,
}

/// The state machine as of log position (`index`, `term`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Hash)]
pub struct Snapshot {
    pub index: u64,
    pub term: u64,
    pub data: KvState,
}

/// Peer-to-peer messages. Every one carries its sender's term (fencing).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Hash)]
pub enum Message {
    Vote {
        term: u64,
        last_index: u64,
        last_term: u64,
    },
    VoteReply {
        term: u64,
        granted: bool,
    },
    Append {
        term: u64,
        prev_index: u64,
        prev_term: u64,
        entries: Vec<Entry>,
        commit: u64,
        /// Leadership-confirmation round this message belongs to (linearizable reads).
        read_seq: u64,
    },
    AppendReply {
        term: u64,
        success: bool,
        /// On success: the follower's log matches up to here. On failure: where to retry
        /// from (0 = send a snapshot).
        index: u64,
        read_seq: u64,
    },
    InstallSnapshot {
        term: u64,
        snapshot: Snapshot,
        read_seq: u64,
    },
}

impl Message {
    pub fn term(&self) -> u64 {
        match self {
            Message::Vote { term, .. }
            | Message::VoteReply { term, .. }
            | Message::Append { term, .. }
            | Message::AppendReply { term, .. }
            | Message::InstallSnapshot { term, .. } => *term,
        }
    }
}

/// One record of the single-leader core's WAL. (The serialized shape is the
/// WAL's file format: keep it.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Hash)]
pub enum Record {
    Hard {
        term: u64,
        vote: Option<NodeId>,
    },
    Entries(Vec<Entry>),
    /// Drop every entry at or after `from`.
    Truncate {
        from: u64,
    },
}

/// What drives the core (see [`crate::store::seam::Input`]).
pub type Input = seam::Input<Message>;

/// Durable writes: log records, or a snapshot with the log after it and the
/// hard state (`Write::Snapshot { snapshot, log: [Hard, Entries(tail)] }`).
/// The seam's durability contract applies: the leader's `Append` and
/// `InstallSnapshot` may leave before their batch is synced (Raft's parallel
/// disk write); client replies and events leave at once, since the leader
/// counts its own copy towards a commit only once `Input::Persisted` says so.
pub type Durable = seam::Write<Record, Snapshot>;

pub type Action = seam::Action<Message, Record, Snapshot>;
