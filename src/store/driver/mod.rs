//! The sans-IO node driver: everything a node does between its sockets, disk
//! and clock and the pure core ([`crate::store::seam::Protocol`]), for any
//! topology. `faultline node` ([`crate::store::node`]) wraps it in tokio,
//! TCP and the WAL; the simulator wraps it in simulated network, disk and
//! time. No I/O, clock reading or randomness happens here: the host passes
//! its time ([`HostTime`]) and the jitter with each input.
//!
//! One batch, as the host runs it:
//! 1. [`Driver::step`] each input taken off the queues (peer messages,
//!    client requests, a tick) and [`Driver::synced`] for a sync report;
//! 2. [`Driver::ready`] ends the batch and says what to do ([`Ready`]):
//!    messages that may leave now (the leader's appends), event lines (write
//!    them before the replies), replies, and the batch's durable writes, to
//!    be persisted as batch `id` (group commit: one sync may cover many);
//! 3. the host performs that, persists the batch (inline when
//!    [`Batch::inline`] says so, reporting it with [`Driver::synced`] right
//!    after), then sends [`Driver::take_released`].
//!
//! Invariant: a message not allowed out before its sync
//! ([`Protocol::may_send_before_sync`]: votes, append acknowledgements) is
//! released only once every batch up to its own has been reported synced,
//! so nothing is promised to a peer before it is as durable as the fsync
//! policy says. Replies need no wait: a core answers only from durable
//! state, learning its own durability from [`Input::Persisted`], which the
//! driver feeds it with each batch's [`Protocol::persist_mark`].

mod clock;
#[cfg(test)]
mod tests;

pub use clock::{HostTime, NodeClock, RateClock};

use crate::store::admin::{AdminRequest, AdminResponse, NodeStatus};
use crate::store::ops::Outcome;
use crate::store::seam::{
    Action, ActionOf, CoreConfig, Event, Input, InputOf, NodeId, Protocol, ProtocolStatus,
};
use crate::store::seam::{StoredOf, Write};
use serde_json::Value;
use std::collections::VecDeque;

/// What to do at the end of a batch, in this order.
#[derive(Debug)]
pub struct Ready<M, R, S> {
    /// Messages that may leave at once, before this batch is synced.
    pub send: Vec<(NodeId, M)>,
    /// Event lines (write them before the replies leave).
    pub events: Vec<Event>,
    pub replies: Vec<(u64, Outcome)>,
    /// This batch's durable writes, if it has any.
    pub persist: Option<Batch<R, S>>,
}

pub type ReadyOf<P> = Ready<<P as Protocol>::Msg, <P as Protocol>::Record, <P as Protocol>::Snapshot>;

/// A batch's durable writes, to be written in order and synced.
#[derive(Debug)]
pub struct Batch<R, S> {
    /// Batches are numbered 1, 2, ...; a sync report names the last one covered.
    pub id: u64,
    pub writes: Vec<Write<R, S>>,
    /// Nothing else is in flight and the node has nothing to overlap with
    /// this sync: do it now, before anything else, and report it.
    pub inline: bool,
}

/// Messages waiting for the sync of `batch` (and every batch before it).
struct Held<M> {
    batch: u64,
    /// The core's persist mark at the end of the batch.
    mark: u64,
    msgs: Vec<(NodeId, M)>,
}

pub struct Driver<P: Protocol> {
    id: NodeId,
    core: P,
    clock: NodeClock,
    /// Actions the core produced since the last [`Driver::ready`].
    pending: Vec<ActionOf<P>>,
    /// Batches not yet reported synced, oldest first.
    held: VecDeque<Held<P::Msg>>,
    /// Messages whose batches are synced, for [`Driver::take_released`].
    released: Vec<(NodeId, P::Msg)>,
    /// The last batch id handed out.
    batches: u64,
    /// The last batch id reported synced.
    synced: u64,
}

impl<P: Protocol> Driver<P> {
    /// A node (re)starting at `host` from what its disk holds, with a fresh
    /// clock; `entropy` is the host's random number for the core's start
    /// ([`Protocol::recover`]). Also returns the core's text of what it
    /// recovered. The first [`Driver::ready`] carries the `start` event.
    pub fn start(cfg: P::Config, disk: StoredOf<P>, host: HostTime, entropy: u64) -> (Driver<P>, String) {
        let id = cfg.id().to_string();
        let mut clock = NodeClock::default();
        let now = clock.now(host);
        let (core, summary) = P::recover(cfg, disk, now, entropy);
        let term = core.status(now).term;
        let mut d = Driver::new(id, core, clock);
        d.pending.push(Action::Event(Event::new("start", term)));
        (d, summary)
    }

    /// Drives an already built core.
    pub fn new(id: NodeId, core: P, clock: NodeClock) -> Driver<P> {
        Driver {
            id,
            core,
            clock,
            pending: Vec::new(),
            held: VecDeque::new(),
            released: Vec::new(),
            batches: 0,
            synced: 0,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn core(&self) -> &P {
        &self.core
    }

    pub fn clock(&self) -> &NodeClock {
        &self.clock
    }

    /// The nemesis's (or the simulator's) handle on this node's clocks.
    pub fn clock_mut(&mut self) -> &mut NodeClock {
        &mut self.clock
    }

    /// True while some batch handed out is not yet reported synced.
    pub fn in_flight(&self) -> bool {
        self.synced < self.batches
    }

    /// Steps the core with one input of the current batch: `Peer`, `Client`
    /// or `Tick` (`Flush` and `Persisted` are the driver's own).
    pub fn step(&mut self, host: HostTime, input: InputOf<P>) {
        debug_assert!(!matches!(input, Input::Flush | Input::Persisted { .. }));
        let now = self.clock.now(host);
        let out = self.core.step(now, input);
        self.absorb(out);
    }

    fn absorb(&mut self, out: Vec<ActionOf<P>>) {
        if self.pending.is_empty() {
            self.pending = out;
        } else {
            self.pending.extend(out);
        }
    }

    /// The host reports every batch up to `batch` durable (a group commit
    /// may cover several): their held messages are released and the core
    /// learns how far its own writes are durable.
    pub fn synced(&mut self, host: HostTime, batch: u64) {
        self.synced = self.synced.max(batch);
        let mut upto = 0;
        while self.held.front().is_some_and(|h| h.batch <= batch) {
            if let Some(h) = self.held.pop_front() {
                upto = upto.max(h.mark);
                self.released.extend(h.msgs);
            }
        }
        let now = self.clock.now(host);
        let out = self.core.step(now, Input::Persisted { upto });
        self.absorb(out);
    }

    /// Ends the current batch: flushes the core and sorts what it produced.
    pub fn ready(&mut self, host: HostTime) -> ReadyOf<P> {
        let now = self.clock.now(host);
        let flushed = self.core.step(now, Input::Flush);
        self.absorb(flushed);
        let mut ready = Ready {
            send: Vec::new(),
            events: Vec::new(),
            replies: Vec::new(),
            persist: None,
        };
        let mut writes = Vec::new();
        let mut late = Vec::new();
        for a in std::mem::take(&mut self.pending) {
            match a {
                Action::Persist(w) => writes.push(w),
                Action::Reply { req, outcome } => ready.replies.push((req, outcome)),
                Action::Event(e) => ready.events.push(e),
                Action::Send { to, msg } if P::may_send_before_sync(&msg) => ready.send.push((to, msg)),
                Action::Send { to, msg } => late.push((to, msg)),
            }
        }
        let in_flight = self.in_flight();
        if !writes.is_empty() {
            self.batches += 1;
            let inline = !in_flight && !self.core.sync_in_background();
            ready.persist = Some(Batch {
                id: self.batches,
                writes,
                inline,
            });
            self.hold(late);
        } else if in_flight {
            // Nothing new to write, but what these messages rely on may be
            // in a batch still syncing: they wait for the newest one.
            self.hold(late);
        } else {
            self.released.extend(late);
        }
        ready
    }

    /// Holds `msgs` until batch `self.batches` is synced.
    fn hold(&mut self, msgs: Vec<(NodeId, P::Msg)>) {
        match self.held.back_mut() {
            Some(h) if h.batch == self.batches => h.msgs.extend(msgs),
            _ => self.held.push_back(Held {
                batch: self.batches,
                mark: self.core.persist_mark(),
                msgs,
            }),
        }
    }

    /// Messages whose batches are now synced: send them (after persisting
    /// the last [`Ready`]'s batch, when it was inline).
    pub fn take_released(&mut self) -> Vec<(NodeId, P::Msg)> {
        std::mem::take(&mut self.released)
    }

    /// The core's status and this node's clocks, as the admin endpoint shows them.
    pub fn status(&mut self, host: HostTime) -> Result<NodeStatus, String> {
        let now = self.clock.now(host);
        node_status(&self.id, self.core.status(now), &self.clock)
    }

    /// Answers an admin request; a clock change also returns the line to log.
    pub fn admin(&mut self, host: HostTime, req: AdminRequest) -> (AdminResponse, Option<String>) {
        match req {
            AdminRequest::Status => match self.status(host) {
                Ok(s) => (AdminResponse::Status(s), None),
                Err(reason) => (AdminResponse::Error { reason }, None),
            },
            AdminRequest::SetClockOffset { ms } => {
                self.clock.set_offset_ms(ms);
                (AdminResponse::Ok, Some(format!("clock offset set to {ms} ms")))
            }
            AdminRequest::SetClockRate { rate } => match self.clock.set_rate(host, rate) {
                Ok(()) => (AdminResponse::Ok, Some(format!("clock rate set to {rate}"))),
                Err(bad) => {
                    let reason = format!("clock rate must be finite and above 0 (got {bad})");
                    (AdminResponse::Error { reason }, None)
                }
            },
            // The node shell keeps the routing (it fences before the core sees a request).
            AdminRequest::SetRouting { .. } => {
                let reason = "routing is kept by the node shell, not the driver".to_string();
                (AdminResponse::Error { reason }, None)
            }
        }
    }
}

/// The admin status: the core's topology-specific fields, then its role,
/// term and leader and the node's clocks (which those fields cannot override).
fn node_status(id: &str, st: ProtocolStatus, clock: &NodeClock) -> Result<NodeStatus, String> {
    let mut m = st.detail;
    m.insert("id".into(), Value::from(id));
    m.insert("role".into(), serde_json::to_value(st.role).unwrap_or_default());
    m.insert("term".into(), Value::from(st.term));
    m.insert("leader".into(), st.leader.map_or(Value::Null, Value::from));
    m.insert("clock_offset_ms".into(), Value::from(clock.offset_ms()));
    m.insert("clock_rate".into(), Value::from(clock.rate()));
    serde_json::from_value(Value::Object(m))
        .map_err(|e| format!("node status does not fit the admin schema: {e}"))
}
