//! Model checking of the built-in store's single-leader core with stateright
//! (`faultline model-check`): every interleaving of message deliveries,
//! client ops and a bounded set of faults, not a sample.
//!
//! The model runs the pure core ([`crate::store::core::Core`]) directly, as
//! the node driver batches it, not the driver or a simulator: disks sync at
//! once (a crash loses only messages in flight); the search starts where `n1`
//! already leads term 1; time moves only when a node's election timeout fires
//! (one action, the clock jumps two timeouts for everyone); faults are explicit
//! actions within a budget (crash, restart, isolate a node, heal, timeout).
//! Clients send each op to a node that believes it leads (a deposed leader
//! included). States are keyed by an exact hash of the cores, never by their
//! text, reduced by node symmetry, time abstraction and dropping replies
//! nobody will read ([`canon`]): every reduction merges only states with the
//! same future, so the search stays exhaustive. Once no fault can fire, only
//! the deliveries to one node are explored where nothing else the cluster
//! can do first interferes with them ([`por`]: a persistent-set reduction
//! that reaches every terminal state, so with sticky properties it keeps
//! every verdict, though not always the shortest counterexample). With it
//! the default budget (2 clients x 2 ops, one fault of any kind) finishes.
//!
//! Properties: the clients' ops are linearizable (a register); an
//! acknowledged write is in the log of every later leader (never lost); at
//! most one leader per term. The search is breadth first: a counterexample
//! is a shortest path of the reduced search.

mod canon;
mod lin;
mod model;
mod por;
mod run;
mod trace;
mod witness;
mod world;

pub use model::{Model, Step};
pub use run::{check, Report, Violation};

use crate::store::core::{Config, Reads, Replication};
use world::Budget;

/// Bad settings for a model check (the CLI maps them to exit 3).
#[derive(Debug, thiserror::Error)]
pub enum ModelCheckError {
    #[error("--{flag} must be between {min} and {max} (got {got})")]
    OutOfRange {
        flag: &'static str,
        min: usize,
        max: usize,
        got: usize,
    },
}

/// What to check: the cluster, the clients and the fault budget.
#[derive(Clone, Debug)]
pub struct Settings {
    pub nodes: usize,
    pub clients: usize,
    /// Ops per client: even ones write a unique value, odd ones read.
    pub ops: usize,
    pub replication: Replication,
    pub reads: Reads,
    pub crashes: u8,
    pub timeouts: u8,
    pub partitions: u8,
    /// Faults of all kinds together (each also counts against its own kind).
    pub faults: u8,
    /// Stop at this many steps from the start (`None`: the whole bounded space).
    pub depth: Option<usize>,
    pub threads: usize,
    /// Explore states that differ by a renaming of nodes once ([`canon`]).
    pub symmetry: bool,
    /// Partial-order reduction: take a delivery that commutes with every
    /// other step alone ([`por`]).
    pub por: bool,
}

const ET: u64 = 150_000_000;

impl Settings {
    /// 3 nodes, 2 clients x 2 ops, quorum replication, one fault (of any kind).
    pub fn new(replication: Replication) -> Settings {
        Settings {
            nodes: 3,
            clients: 2,
            ops: 2,
            replication,
            reads: Reads::Linearizable,
            crashes: 1,
            timeouts: 1,
            partitions: 1,
            faults: 1,
            depth: None,
            threads: 1,
            symmetry: true,
            por: true,
        }
    }

    /// Checks the sizes (the state space grows fast: keep them small).
    pub fn validate(&self) -> Result<(), ModelCheckError> {
        let range = |flag, got: usize, min, max| {
            if (min..=max).contains(&got) {
                Ok(())
            } else {
                Err(ModelCheckError::OutOfRange { flag, min, max, got })
            }
        };
        range("nodes", self.nodes, 1, 5)?;
        range("clients", self.clients, 1, 4)?;
        range("ops", self.ops, 1, 6)?;
        range("crashes", self.crashes as usize, 0, 3)?;
        range("timeouts", self.timeouts as usize, 0, 3)?;
        range("partitions", self.partitions as usize, 0, 3)?;
        range("faults", self.faults as usize, 0, 6)?;
        range("threads", self.threads, 1, 64)
    }

    /// The core's settings for node `i` (snapshots off: logs stay short).
    pub fn config(&self, i: u8) -> Config {
        let ids: Vec<String> = (0..self.nodes as u8).map(world::name).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut c = Config::new(&ids[i as usize], &refs);
        c.replication = self.replication;
        c.reads = self.reads;
        c.heartbeat_ns = ET / 5;
        c.election_timeout_ns = ET;
        c.snapshot_every = 0;
        c
    }

    /// How far the clock jumps when a timeout fires: past any election
    /// deadline (timeout plus jitter below one timeout), every lease and
    /// every leader's contact.
    pub fn jump(&self) -> u64 {
        2 * ET + 1
    }

    /// Symmetry reduction applies (semi-sync breaks ties between followers by id).
    pub fn symmetric(&self) -> bool {
        self.symmetry && self.replication != Replication::SemiSync
    }

    fn budget(&self) -> Budget {
        Budget {
            crashes: self.crashes,
            timeouts: self.timeouts,
            partitions: self.partitions,
            total: self.faults,
        }
    }
}
