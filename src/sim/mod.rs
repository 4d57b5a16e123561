//! The deterministic simulator: a whole test (`faultline test --sim`) in one
//! thread and simulated time, from the seed alone. The nodes run the very
//! driver and core `faultline node` runs ([`crate::store::driver`] over a
//! [`SimProtocol`] core: single-leader or leaderless, each with its client
//! mapping, [`ops::SimOps`]); what the node process does with sockets, the WAL and
//! the clock is played by the simulated world ([`world`]): peer links with
//! latency, loss, duplication and reordering, the nemesis's grudges, disks
//! that lose unsynced writes on a crash ([`disk`]), clocks with offsets and
//! rates. Clients are the real workload generator and the built-in store's op
//! mapping; the nemesis is the real schedule, recorded as the real nemesis
//! records it; the history, run directory and checkers are the real ones.
//!
//! Invariants: nothing here reads a real clock or unseeded randomness, and
//! every choice is made in one order (a heap of timed events, ties broken by
//! insertion), so one seed is one run ([`digest`] checks it). The module
//! layout: this file holds the world state and the event loop; `node`,
//! `clients`, `converge` and `nemesis` add the handling of their events to [`Sim`];
//! `run` is the test's phases and its outputs; `sweep` runs many seeds.

mod clients;
mod converge;
pub mod coverage;
pub mod digest;
pub mod disk;
mod leaderless;
mod nemesis;
mod node;
pub mod ops;
pub mod protocol;
mod run;
pub mod shrink;
pub mod sweep;
pub mod world;

pub use protocol::SimProtocol;
pub use run::{check_determinism, execute, simulate, Determinism, SimOutcome, Simulated};

use crate::history::Op;
use crate::net::Grudge;
use crate::runner::recorder::Recorder;
use crate::runner::TestConfig;
use crate::store::ops::{ClientOp, Outcome};
use crate::workload::{Workload, WorkloadInfo};
use clients::SimClient;
use digest::Digest;
use nemesis::NemState;
use node::SimNode;
use ops::SimOps;
use rand_chacha::ChaCha8Rng;
use std::collections::{BinaryHeap, HashMap};
use thiserror::Error;
use world::World;

#[derive(Debug, Error)]
pub enum SimError {
    #[error("bad test config: {0}")]
    Config(String),
    #[error("the simulator runs the built-in store only (got --target {0}); run it for real without --sim")]
    Target(String),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("cluster did not become healthy in simulated time: {0}")]
    Unhealthy(String),
    #[error("{0}")]
    Prepare(String),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> SimError {
    let context = context.into();
    move |source| SimError::Io { context, source }
}

const MS: u64 = 1_000_000;

/// One thing that happens at a simulated time.
pub(crate) enum Ev<M, O> {
    /// A peer message arrives (if `to` is still incarnation `inc`).
    Peer {
        from: usize,
        to: usize,
        inc: u64,
        msg: M,
    },
    Tick {
        node: usize,
        inc: u64,
    },
    /// The node's disk sync under way completes.
    Synced {
        node: usize,
        inc: u64,
    },
    /// A client request arrives at a node.
    Request {
        client: usize,
        attempt: u64,
        node: usize,
        inc: u64,
        op: ClientOp,
        opts: O,
    },
    /// A node's answer arrives at the client.
    Reply {
        client: usize,
        attempt: u64,
        node: usize,
        outcome: Outcome,
    },
    /// The client's connection broke (the node died) after it sent the request.
    Lost {
        client: usize,
        attempt: u64,
        node: usize,
    },
    Timeout {
        client: usize,
        attempt: u64,
    },
    /// The client is ready for its next op.
    Wake {
        client: usize,
    },
    /// Nemesis schedule step `step` is due.
    Nemesis {
        step: usize,
    },
    /// The next flip of a clock strobe (nemesis step `step`, `left` flips to go).
    Strobe {
        step: usize,
        left: u32,
    },
}

/// An event with its time; the heap pops the earliest, ties in insertion order.
struct Timed<M, O> {
    at: u64,
    seq: u64,
    ev: Ev<M, O>,
}

impl<M, O> PartialEq for Timed<M, O> {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl<M, O> Eq for Timed<M, O> {}
impl<M, O> PartialOrd for Timed<M, O> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<M, O> Ord for Timed<M, O> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

/// Counters a run reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub events: u64,
    pub messages: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub crashes: u64,
    /// Nodes that died of a failed disk sync.
    pub fsync_failures: u64,
}

/// The simulated world and everything in it.
pub struct Sim<P: SimProtocol> {
    now: u64,
    seq: u64,
    queue: BinaryHeap<Timed<P::Msg, P::ClientOpts>>,
    rng: ChaCha8Rng,
    /// Draws the disk's failed syncs (apart from `rng`: see [`World::draw_fsync_failures`]).
    disk_rng: ChaCha8Rng,
    world: World,
    cfg: TestConfig,
    names: Vec<String>,
    index: HashMap<String, usize>,
    nodes: Vec<SimNode<P>>,
    grudge: Grudge,
    /// Latest arrival per link (FIFO links).
    fifo: Vec<Vec<u64>>,
    clients: Vec<SimClient<P::ClientOpts>>,
    wl: Box<dyn Workload>,
    info: WorkloadInfo,
    /// How clients speak the workload to this topology.
    ops: Box<dyn SimOps<P::ClientOpts>>,
    /// The generator's rng (as `runner::clients::Gen`): seeded from the test seed.
    gen_rng: ChaCha8Rng,
    rec: Recorder,
    digest: Digest,
    nem: NemState,
    next_req: u64,
    /// Client ops the client phase may still start (the test's `ops`; none: no limit).
    budget: Option<u64>,
    /// Hash message contents into the digest too (slower).
    deep: bool,
    /// Clients stop starting ops at this time (end of the client phase).
    deadline: u64,
    stats: Stats,
    /// The run's "sometimes" counters ([`coverage`]).
    coverage: coverage::Coverage,
}

impl<P: SimProtocol> Sim<P> {
    fn schedule(&mut self, at: u64, ev: Ev<P::Msg, P::ClientOpts>) {
        self.seq += 1;
        self.queue.push(Timed {
            at: at.max(self.now),
            seq: self.seq,
            ev,
        });
    }

    /// Runs every event due up to `t`, then sets the clock to `t`.
    fn run_until(&mut self, t: u64) {
        while self.queue.peek().is_some_and(|e| e.at <= t) {
            if let Some(Timed { at, ev, .. }) = self.queue.pop() {
                self.now = at;
                self.stats.events += 1;
                self.dispatch(ev);
            }
        }
        self.now = self.now.max(t);
    }

    fn dispatch(&mut self, ev: Ev<P::Msg, P::ClientOpts>) {
        match ev {
            Ev::Peer { from, to, inc, msg } => self.arrive(from, to, inc, msg),
            Ev::Tick { node, inc } => self.on_tick(node, inc),
            Ev::Synced { node, inc } => self.on_synced(node, inc),
            Ev::Request {
                client,
                attempt,
                node,
                inc,
                op,
                opts,
            } => self.on_request(client, attempt, node, inc, (op, opts)),
            Ev::Reply {
                client,
                attempt,
                node,
                outcome,
            } => self.on_reply(client, attempt, node, outcome),
            Ev::Lost {
                client,
                attempt,
                node,
            } => self.on_lost(client, attempt, node),
            Ev::Timeout { client, attempt } => self.on_timeout(client, attempt),
            Ev::Wake { client } => self.on_wake(client),
            Ev::Nemesis { step } => self.on_nemesis(step),
            Ev::Strobe { step, left } => self.on_strobe(step, left),
        }
    }

    /// Records `op` at the current simulated time (and folds it into the digest).
    fn record(&mut self, op: Op) -> Op {
        let op = self.rec.record_at(op, self.now);
        let line = serde_json::to_string(&op).unwrap_or_default();
        self.digest.add(self.now, ("op", line));
        op
    }

    fn node_index(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
}

#[cfg(test)]
mod tests;
