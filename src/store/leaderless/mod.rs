//! The pure protocol core of the leaderless (Dynamo-style) store:
//! `(state, now, input) -> actions`, like the single-leader core.
//!
//! Any node coordinates a request. Keys are placed on a consistent-hash ring
//! ([`ring`]); a write goes to the key's N replicas in parallel and is
//! acknowledged after W of them made it durable, a read after R replies
//! (joined; stale repliers are repaired per `--read-repair`). With a sloppy
//! quorum, unreachable replicas are replaced by the next healthy nodes, which
//! keep a hint and hand the data off when the home node returns. Anti-entropy
//! compares per-range Merkle trees with each peer and ships only what
//! differs. Conflicts are resolved by [`crate::store::conflict`].
//!
//! Invariants: replicas only ever join states (order and duplicates do not
//! matter); a replica acknowledges only after its record is durable (the
//! driver orders `Persist` before later sends), and the coordinator counts
//! its own copy only once `Input::Persisted` covers it; a write that might
//! have been stored but did not reach W acknowledgements in time is answered
//! `Unknown`, never `Fail`.
//!
//! Writes under `siblings`/`crdt` are coordinated by a node that holds the
//! key (it mints the update's dot from its own copy): a node outside the
//! key's replicas forwards such a write to the first reachable one.
//!
//! Event kinds (node log lines): `quorum-ack` (a write reached W; `f`, key,
//! value), `hint-stored` / `hint-delivered` (key; `home`, `bytes`),
//! `read-repair` (key; `node` repaired, `bytes`), `ae-repair` (key changed by
//! anti-entropy; `from`, `bytes`), `peer-down` / `peer-up` (`peer`).

pub mod bench;
mod entropy;
mod handoff;
mod health;
mod merkle;
mod protocol;
mod read;
mod request;
mod ring;
mod seen;
#[cfg(test)]
mod sim;
mod store;
mod targets;
mod types;
mod write;

pub use merkle::MerkleTree;
pub use protocol::TICK_NS;
pub use request::{plan, Plan};
pub use ring::{key_hash, Ring};
pub use store::Store;
pub use types::{
    Action, AeGroup, AeLeaf, Config, ConfigError, Input, Msg, NodeId, Now, ReadRepair, Record, RequestOpts,
    Status,
};

use crate::store::conflict::{read_value, KeyState};
use crate::store::core::Event;
use crate::store::ops::{ClientOp, Outcome};
use entropy::Entropy;
use health::Health;
use read::ReadReq;
use seen::Seen;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use write::WriteReq;

/// Who is waiting for a coordinated request's outcome.
#[derive(Clone, Debug, PartialEq)]
enum Origin {
    Client(u64),
    /// A write another node forwarded here; answer it with `ForwardReply`.
    Forwarded {
        from: NodeId,
        id: u64,
    },
}

/// A coordinated request's deadlines, measured on core time.
#[derive(Clone, Copy, Debug)]
struct Timer {
    started: u64,
    recruited: bool,
    /// When the request's messages last went out (first send or re-send).
    sent: u64,
}

/// What a request's timer says on a tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Due {
    /// The replica deadline just passed: mark silent targets down and
    /// recruit fallbacks (once).
    recruit: bool,
    /// Re-send to the targets that have not answered (while the request is
    /// unanswered): a peer link drops what it queued while it reconnected,
    /// and replicas join idempotently.
    resend: bool,
    /// The request deadline has passed.
    expired: bool,
}

impl Timer {
    fn new(now: u64) -> Timer {
        Timer {
            started: now,
            recruited: false,
            sent: now,
        }
    }

    fn due(&mut self, now: u64, cfg: &Config) -> Due {
        let recruit = !self.recruited && now >= self.started + cfg.replica_timeout_ns;
        self.recruited |= recruit;
        let resend = cfg.resend_interval_ns > 0 && now >= self.sent + cfg.resend_interval_ns;
        if resend || recruit {
            self.sent = now;
        }
        Due {
            recruit,
            resend: resend && !recruit,
            expired: now >= self.started + cfg.request_timeout_ns,
        }
    }
}

/// A write this node handed to a replica that can coordinate it.
#[derive(Clone, Debug)]
struct ForwardReq {
    req: u64,
    to: NodeId,
    started: u64,
}

pub struct Core {
    cfg: Config,
    store: Store,
    health: Health,
    now: Now,
    next_id: u64,
    writes: BTreeMap<u64, WriteReq>,
    reads: BTreeMap<u64, ReadReq>,
    forwards: BTreeMap<u64, ForwardReq>,
    /// Forwards taken on from peers, so that a duplicate is dropped ([`seen`]).
    forwarded_in: Seen,
    /// `Persist` actions emitted so far, and how many the driver reported durable.
    persist_issued: u64,
    persisted: u64,
    ae: Entropy,
    out: Vec<Action>,
    /// The admin status as of the last refresh ([`protocol`]), and when
    /// (core time) it was taken.
    shown: Status,
    shown_at: u64,
    /// Peer messages sent since start: requests and their replies alike.
    sent: u64,
    /// The ring's shares for the status, computed once: the ring never changes.
    ownership: BTreeMap<NodeId, f64>,
    replicated_share: f64,
}

impl Core {
    /// A node starting at `now` from the records it persisted before (in
    /// order). `nonce` (random, from the driver) seeds request ids so that
    /// late replies to a previous incarnation match no request of this one.
    /// `cfg` must have passed [`Config::validate`].
    pub fn new(cfg: Config, records: impl IntoIterator<Item = Record>, now: Now, nonce: u64) -> Core {
        let ring = Ring::new(&cfg.nodes, cfg.vnodes);
        let mut store = Store::new(ring, &cfg.id, cfg.n, cfg.merkle_depth);
        for rec in records {
            match rec {
                Record::Merge { key, state, hint } => {
                    store.join(&key, &state);
                    if let Some(h) = hint.filter(|h| *h != cfg.id) {
                        store.add_hint(&h, &key, now.mono_ns);
                    }
                }
                Record::HintDone { home, key } => {
                    store.clear_hint(&home, &key);
                }
            }
        }
        let ae = Entropy::new(&cfg, store.ring(), now.mono_ns);
        let ownership = store.ring().ownership();
        let replicated_share = store.ring().replicated_share(&cfg.id, cfg.n);
        Core {
            ownership,
            replicated_share,
            store,
            health: Health::default(),
            now,
            next_id: nonce,
            writes: BTreeMap::new(),
            reads: BTreeMap::new(),
            forwards: BTreeMap::new(),
            forwarded_in: Seen::default(),
            persist_issued: 0,
            persisted: 0,
            ae,
            out: Vec::new(),
            shown: Status::default(),
            shown_at: now.mono_ns,
            sent: 0,
            cfg,
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// This node's local data (tests, convergence checks, benchmarks).
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn status(&mut self) -> Status {
        Status {
            ownership: self.ownership.clone(),
            replicated_share: self.replicated_share,
            keys: self.store.len(),
            hints_pending: self.store.hints_pending(),
            merkle_roots: self.store.roots(),
            down: self.health.down(),
            open_requests: self.writes.len() + self.reads.len() + self.forwards.len(),
            messages_sent: self.sent,
        }
    }

    /// Advances the state machine by one input and returns what to do.
    pub fn step(&mut self, now: Now, input: Input) -> Vec<Action> {
        self.now.mono_ns = self.now.mono_ns.max(now.mono_ns);
        self.now.wall_ns = now.wall_ns;
        match input {
            Input::Peer { from, msg } => self.on_peer(from, msg),
            Input::Client { req, op, opts } => self.on_request(Origin::Client(req), op, opts),
            Input::Tick => self.on_tick(),
            Input::Flush => {}
            Input::Persisted { upto } => {
                self.persisted = self.persisted.max(upto);
                self.on_persisted();
            }
        }
        std::mem::take(&mut self.out)
    }

    fn on_request(&mut self, origin: Origin, op: ClientOp, opts: RequestOpts) {
        match plan(&self.cfg, &op, &opts) {
            Err(outcome) => self.respond(origin, outcome),
            Ok(Plan::LocalRead { key }) => {
                let value = read_value(self.store.get(&key), self.cfg.conflict);
                self.respond(origin, Outcome::Ok { value });
            }
            Ok(Plan::Read { key, r }) => self.start_read(origin, key, r),
            Ok(Plan::Write { key, update, w }) => self.start_write(origin, &op, &opts, key, update, w),
        }
    }

    fn on_tick(&mut self) {
        let now = self.now.mono_ns;
        self.tick_writes(now);
        self.tick_reads(now);
        self.tick_forwards(now);
        let lifetime = self.cfg.request_timeout_ns + self.cfg.replica_timeout_ns;
        self.forwarded_in.expire(now, lifetime.saturating_mul(4));
        for p in self.health.probes_due(now, self.cfg.probe_interval_ns) {
            self.send(&p, Msg::Ping);
        }
        self.tick_handoff(now);
        self.tick_entropy(now);
    }

    fn tick_forwards(&mut self, now: u64) {
        let limit = self.cfg.request_timeout_ns + self.cfg.replica_timeout_ns;
        let expired: Vec<u64> = self
            .forwards
            .iter()
            .filter(|(_, f)| now >= f.started + limit)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some(f) = self.forwards.remove(&id) {
                self.mark_down(&f.to);
                let reason = format!("forwarded to {} (a replica of the key), no answer in time", f.to);
                self.reply(f.req, Outcome::Unknown { reason });
            }
        }
    }

    fn fresh_id(&mut self) -> u64 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    /// Every peer message leaves through here, so `sent` counts them all.
    fn send(&mut self, to: &str, msg: Msg) {
        self.sent += 1;
        self.out.push(Action::Send {
            to: to.to_string(),
            msg,
        });
    }

    fn reply(&mut self, req: u64, outcome: Outcome) {
        self.out.push(Action::Reply { req, outcome });
    }

    /// Answers whoever waits for a coordinated request.
    fn respond(&mut self, origin: Origin, outcome: Outcome) {
        match origin {
            Origin::Client(req) => self.reply(req, outcome),
            Origin::Forwarded { from, id } => self.send(&from, Msg::ForwardReply { id, outcome }),
        }
    }

    fn event(&mut self, kind: &'static str, key: Option<&str>, value: Value) {
        self.out.push(Action::Event(Event {
            kind,
            term: 0,
            index: None,
            f: None,
            key: key.map(|k| json!(k)),
            value,
        }));
    }

    /// Emits a durable record; returns its sequence number (1-based).
    fn persist(&mut self, rec: Record) -> u64 {
        self.out.push(Action::Persist(rec));
        self.persist_issued += 1;
        self.persist_issued
    }

    /// Joins `state` into the local copy of `key` and makes it durable if it
    /// changed anything (or adds a hint). Returns the record's sequence
    /// number, or `None` when nothing new had to be written.
    fn absorb(&mut self, key: &str, state: &KeyState, hint: Option<&str>) -> Option<u64> {
        let changed = self.store.join(key, state);
        let hint = hint.filter(|h| *h != self.cfg.id);
        let new_hint = match hint {
            Some(h) => self.store.add_hint(h, key, self.now.mono_ns),
            None => false,
        };
        if !changed && !new_hint {
            return None;
        }
        let seq = self.persist(Record::Merge {
            key: key.to_string(),
            state: state.clone(),
            hint: hint.map(str::to_string),
        });
        if let (true, Some(h)) = (new_hint, hint) {
            self.event("hint-stored", Some(key), json!({"home": h}));
        }
        Some(seq)
    }

    fn mark_down(&mut self, node: &str) {
        if node != self.cfg.id && self.health.mark_down(node, self.now.mono_ns) {
            self.event("peer-down", None, json!({"peer": node}));
        }
    }

    fn on_peer(&mut self, from: NodeId, msg: Msg) {
        if from == self.cfg.id || !self.cfg.nodes.contains(&from) {
            return;
        }
        if self.health.mark_up(&from) {
            self.event("peer-up", None, json!({"peer": from}));
        }
        match msg {
            Msg::Put { id, key, state, hint } => {
                self.absorb(&key, &state, hint.as_deref());
                self.send(&from, Msg::PutAck { id });
            }
            Msg::PutAck { id } => self.on_put_ack(&from, id),
            Msg::Get { id, key } => {
                let state = self.store.get(&key).cloned();
                self.send(&from, Msg::GetReply { id, state });
            }
            Msg::GetReply { id, state } => self.on_get_reply(&from, id, state),
            Msg::Repair { id, key, state, ack } => {
                self.absorb(&key, &state, None);
                if ack {
                    self.send(&from, Msg::RepairAck { id });
                }
            }
            Msg::RepairAck { id } => self.on_repair_ack(&from, id),
            Msg::Forward { id, op, opts } => {
                if self.forwarded_in.first_time(&from, id, self.now.mono_ns) {
                    self.on_request(Origin::Forwarded { from, id }, op, opts);
                }
            }
            Msg::ForwardReply { id, outcome } => {
                if let Some(f) = self.forwards.remove(&id) {
                    self.reply(f.req, outcome);
                }
            }
            Msg::Handoff { key, state } => self.on_handoff(&from, key, state),
            Msg::HandoffAck { key, digest } => self.on_handoff_ack(&from, &key, digest),
            Msg::Ping => self.send(&from, Msg::Pong),
            Msg::Pong => {}
            Msg::AeLevel {
                session,
                level,
                groups,
            } => self.on_ae_level(&from, session, level, groups),
            Msg::AeLeaves { session, leaves } => self.on_ae_leaves(&from, session, leaves),
            Msg::AeStates {
                session,
                states,
                want,
            } => self.on_ae_states(&from, session, states, want),
        }
    }
}
