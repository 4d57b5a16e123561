//! The core seam: the one interface through which a node process (and the
//! deterministic simulator) drives any store topology's pure protocol core.
//!
//! A core is `(state, now, input) -> actions`: no sockets, clocks, randomness
//! or disk inside. [`Protocol`] says what flows through it: peer messages
//! (`Msg`), durable log records (`Record`) and compacted state (`Snapshot`).
//! The node driver ([`crate::store::driver`]) batches inputs, persists what a
//! core asks for and holds its sends until that is synced; it is generic over
//! this trait, so there is one node for every topology.
//!
//! Durability contract (every topology): a core asks for durable writes with
//! [`Action::Persist`]. The driver makes them durable (per its fsync policy)
//! before it performs any send produced by the same or a later step, except
//! messages [`Protocol::may_send_before_sync`] allows (Raft's parallel disk
//! write of the leader's appends). Client replies and event lines leave at
//! once: a core must answer a request only once what the answer relies on is
//! durable where it has to be, learning its own durability from
//! [`Input::Persisted`].

mod disk;
pub mod solo;

pub use disk::{MemDisk, Stored};

use crate::store::ops::{ClientOp, Outcome};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt::Debug;

pub type NodeId = String;

/// Time as a core sees it, read by the driver from the node's clock
/// ([`crate::store::driver::NodeClock`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Now {
    /// Core time in nanoseconds: monotonic (never decreases), running at the
    /// node's clock rate (the nemesis drifts it). Timers, timeouts, leases.
    pub mono_ns: u64,
    /// The wall clock in nanoseconds since the Unix epoch as this node
    /// believes it (the nemesis offsets it): may jump either way. For
    /// timestamps that nodes compare (last-write-wins), never for timers.
    pub wall_ns: u64,
}

impl Now {
    /// Core time `ns` with a wall clock that reads the same (tests).
    pub fn at(ns: u64) -> Now {
        Now {
            mono_ns: ns,
            wall_ns: ns,
        }
    }
}

/// Client-request options of a protocol whose requests carry none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoOpts {}

/// What drives a core. `O`: the protocol's per-request options.
#[derive(Clone, Debug, PartialEq)]
pub enum Input<M, O = NoOpts> {
    Peer {
        from: NodeId,
        msg: M,
    },
    /// `req` is the driver's handle for the reply.
    Client {
        req: u64,
        op: ClientOp,
        opts: O,
    },
    /// Time passes. `jitter_ns` (random, below [`Timers::jitter_below_ns`]) is
    /// drawn by the host so the core itself needs no randomness.
    Tick {
        jitter_ns: u64,
    },
    /// The end of a batch of inputs (issued by the driver): ship what
    /// accumulated meanwhile.
    Flush,
    /// Every durable write this core emitted before [`Protocol::persist_mark`]
    /// returned `upto` is now durable (issued by the driver).
    Persisted {
        upto: u64,
    },
}

/// A durable write, in the order the core emitted it.
#[derive(Clone, Debug, PartialEq)]
pub enum Write<R, S> {
    /// Append one record to the log.
    Append(R),
    /// Replace everything durable by `snapshot` followed by the records
    /// `log` (compaction), atomically: after a crash the disk holds either
    /// the old state or all of the new one.
    Snapshot { snapshot: S, log: Vec<R> },
}

/// Node event kinds the host stamps with node id and time (see
/// [`crate::history::NodeEvent`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub kind: &'static str,
    pub term: u64,
    pub index: Option<u64>,
    pub f: Option<String>,
    pub key: Option<Value>,
    pub value: Value,
}

impl Event {
    /// An event of `kind` at `term` with no other fields.
    pub fn new(kind: &'static str, term: u64) -> Event {
        Event {
            kind,
            term,
            index: None,
            f: None,
            key: None,
            value: Value::Null,
        }
    }
}

/// What a core asks its driver to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Action<M, R, S> {
    Send { to: NodeId, msg: M },
    Reply { req: u64, outcome: Outcome },
    Persist(Write<R, S>),
    Event(Event),
}

/// A node's role, where its topology has roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Follower,
    Candidate,
    Leader,
    /// A node of a topology without leaders: every node coordinates.
    Peer,
}

/// A core's summary for the admin endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct ProtocolStatus {
    pub role: Role,
    /// The current term (epoch) where the topology has one, else 0.
    pub term: u64,
    pub leader: Option<NodeId>,
    /// Topology-specific fields, merged into the admin status JSON
    /// ([`crate::store::admin::NodeStatus`]).
    pub detail: Map<String, Value>,
}

/// How often the host ticks a core, and the range of the random jitter it
/// draws for each tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    pub tick_ns: u64,
    /// Jitter is drawn from `0..jitter_below_ns` (0: always 0).
    pub jitter_below_ns: u64,
}

/// A core's fixed settings, as far as the host needs them.
pub trait CoreConfig: Clone + Debug + Send + 'static {
    /// This node's id (also the name peers address it by).
    fn id(&self) -> &str;
    fn timers(&self) -> Timers;
    /// How long data sent to a peer may stay unacknowledged before the host
    /// drops the link and what it queued (`None`: the transport's own
    /// patience, which after a partition heals delivers everything sent
    /// during it). A core that expects lost messages (and repairs what they
    /// miss) says how soon they count as lost.
    fn peer_send_timeout_ms(&self) -> Option<u32> {
        None
    }
}

/// A pure protocol core: one store topology.
pub trait Protocol: Sized + Send + 'static {
    type Config: CoreConfig;
    /// Peer-to-peer messages.
    type Msg: Clone + Debug + Serialize + DeserializeOwned + Send + 'static;
    /// One log record on disk.
    type Record: Clone + Debug + Serialize + DeserializeOwned + Send + 'static;
    /// A compacted state on disk (see [`Write::Snapshot`]).
    type Snapshot: Clone + Debug + Serialize + DeserializeOwned + Send + 'static;
    /// Per-request options a client may send, flattened into the request
    /// frame beside the op (absent fields: `Default`); [`NoOpts`] for none.
    type ClientOpts: Clone + Debug + Default + DeserializeOwned + Send + 'static;

    /// A node starting at `now` from what its disk holds (empty on a first
    /// start). `entropy` is a random number the host drew for this start
    /// (first-timeout jitter, an incarnation nonce: no randomness inside).
    /// Also returns a short text of what was recovered, for the start line.
    fn recover(cfg: Self::Config, disk: StoredOf<Self>, now: Now, entropy: u64) -> (Self, String);

    /// Advances the state machine by one input and returns what to do.
    fn step(&mut self, now: Now, input: InputOf<Self>) -> Vec<ActionOf<Self>>;

    fn status(&self, now: Now) -> ProtocolStatus;

    /// A message that may leave before the durable writes of its batch are
    /// synced (Raft: the leader's appends, written to disk in parallel).
    fn may_send_before_sync(msg: &Self::Msg) -> bool;

    /// A position in this core's stream of durable writes, read by the
    /// driver at the end of each batch and handed back in
    /// [`Input::Persisted`] once that batch is synced (Raft: the log's last
    /// index; a count of `Persist` actions emitted works for any core).
    fn persist_mark(&self) -> u64;

    /// True while the node has useful work to overlap with its own sync (a
    /// leader: its followers write in parallel), so the driver syncs in the
    /// background. False lets a driver with nothing else in flight sync
    /// inline, which saves thread hand-offs on the commit path.
    fn sync_in_background(&self) -> bool;
}

pub type InputOf<P> = Input<<P as Protocol>::Msg, <P as Protocol>::ClientOpts>;
pub type ActionOf<P> = Action<<P as Protocol>::Msg, <P as Protocol>::Record, <P as Protocol>::Snapshot>;
pub type WriteOf<P> = Write<<P as Protocol>::Record, <P as Protocol>::Snapshot>;
pub type StoredOf<P> = Stored<<P as Protocol>::Record, <P as Protocol>::Snapshot>;
