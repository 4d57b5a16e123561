//! The single-leader protocol core of the built-in store: `(state, now,
//! input) -> actions`, one implementation of [`crate::store::seam::Protocol`].
//!
//! Raft-style: terms, majority votes for the most up-to-date candidate, log
//! matching, commit by the configured replication mode, snapshot catch-up.
//! No sockets, clocks, randomness or disk: the node process and the
//! simulators drive the very same code through the node driver
//! ([`crate::store::driver`]). Time is a number the driver passes in; timers
//! are deadlines checked on `Tick`.
//!
//! Invariants (fencing on): at most one leader per term; a leader acknowledges
//! a write only once the replication mode's rule holds for it; a message with
//! a stale term changes nothing but earns a reply carrying the newer term.

mod digest;
mod follower;
mod leader;
mod log;
mod protocol;
#[cfg(test)]
mod sim;
mod types;

pub use crate::store::seam::{Event, Role};
pub use digest::View;
pub use log::Log;
pub use protocol::Recovered;
pub use types::{
    Action, Command, Config, Durable, Entry, Input, Message, NodeId, Reads, Record, Replication, Snapshot,
};

use crate::store::ops::{ClientOp, KvState, Outcome};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The leader's view of one follower.
#[derive(Clone, Debug, Default, Hash)]
struct Progress {
    next: u64,
    matched: u64,
    last_heard: u64,
    read_ack: u64,
    snapshot_at: Option<u64>,
}

/// A linearizable read waiting for its leadership round and for `index` to apply.
#[derive(Clone, Debug, Hash)]
struct PendingRead {
    req: u64,
    key: Value,
    seq: u64,
    index: u64,
}

/// Cloneable (and hashable, see `digest`) for the model checker (`crate::modelcheck`).
#[derive(Clone)]
pub struct Core {
    cfg: Config,
    term: u64,
    vote: Option<NodeId>,
    log: Log,
    kv: KvState,
    commit: u64,
    applied: u64,
    role: Role,
    leader: Option<NodeId>,
    now: u64,
    jitter: u64,
    election_deadline: u64,
    last_leader_contact: u64,
    votes: BTreeSet<NodeId>,
    peers: BTreeMap<NodeId, Progress>,
    /// Log index -> client request, for entries appended in the current term.
    pending: BTreeMap<u64, u64>,
    reads: Vec<PendingRead>,
    read_seq: u64,
    read_round_needed: bool,
    noop_index: u64,
    leader_since: u64,
    last_heartbeat: u64,
    /// `Reads::Lease`: the leader may answer reads locally until this time.
    lease_until: u64,
    /// `Reads::Lease`: when the first message of each leadership round went out.
    /// A round acknowledged by a majority starts a lease at that time.
    round_sent: BTreeMap<u64, u64>,
    /// `Reads::Lease`: a restarted node has forgotten when it last heard from a
    /// leader, so it refuses votes for an election timeout after starting.
    no_vote_until: u64,
    sync_follower: Option<NodeId>,
    /// Our own log is durable up to here (as the driver reports).
    durable: u64,
    out: Vec<Action>,
}

impl Core {
    /// A node starting from `rec` at time `now`; `jitter_ns` spreads first elections.
    pub fn new(cfg: Config, rec: Recovered, now: u64, jitter_ns: u64) -> Core {
        let mut log = Log::default();
        let mut kv = KvState::default();
        if let Some(s) = rec.snapshot {
            log.snap_index = s.index;
            log.snap_term = s.term;
            kv = s.data;
        }
        for e in rec.entries {
            if e.index == log.last_index() + 1 {
                log.push(e);
            }
        }
        let base = log.snap_index;
        let on_disk = log.last_index();
        let no_vote_until = if cfg.reads == Reads::Lease {
            now + cfg.election_timeout_ns
        } else {
            0
        };
        let mut c = Core {
            term: rec.term,
            vote: rec.vote,
            log,
            kv,
            commit: base,
            applied: base,
            role: Role::Follower,
            leader: None,
            now,
            jitter: jitter_ns,
            election_deadline: 0,
            last_leader_contact: 0,
            votes: BTreeSet::new(),
            peers: BTreeMap::new(),
            pending: BTreeMap::new(),
            reads: Vec::new(),
            read_seq: 0,
            read_round_needed: false,
            noop_index: 0,
            leader_since: 0,
            last_heartbeat: 0,
            lease_until: 0,
            round_sent: BTreeMap::new(),
            no_vote_until,
            sync_follower: None,
            durable: 0,
            out: Vec::new(),
            cfg,
        };
        c.durable = on_disk;
        c.reset_election_deadline();
        c
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn kv(&self) -> &KvState {
        &self.kv
    }

    pub fn log(&self) -> &Log {
        &self.log
    }

    fn others(&self) -> Vec<NodeId> {
        self.cfg
            .nodes
            .iter()
            .filter(|n| **n != self.cfg.id)
            .cloned()
            .collect()
    }

    fn send(&mut self, to: &str, msg: Message) {
        self.out.push(Action::Send {
            to: to.to_string(),
            msg,
        });
    }

    fn reply(&mut self, req: u64, outcome: Outcome) {
        self.out.push(Action::Reply { req, outcome });
    }

    fn event(&mut self, kind: &'static str, term: u64, entry: Option<&Entry>) {
        let (index, f, key, value) = match entry {
            Some(Entry {
                index,
                cmd: Command::Client(op),
                ..
            }) => {
                let (f, key, value) = op.describe();
                (Some(*index), Some(f.to_string()), key, value)
            }
            Some(e) => (Some(e.index), None, None, Value::Null),
            None => (None, None, None, Value::Null),
        };
        self.out.push(Action::Event(Event {
            kind,
            term,
            index,
            f,
            key,
            value,
        }));
    }

    fn persist_hard_state(&mut self) {
        self.out.push(Action::Persist(Durable::Append(Record::Hard {
            term: self.term,
            vote: self.vote.clone(),
        })));
    }

    /// A snapshot write: `snapshot`, then the hard state and the log after it.
    fn persist_snapshot(&mut self, snapshot: Snapshot) {
        let mut log = vec![Record::Hard {
            term: self.term,
            vote: self.vote.clone(),
        }];
        if !self.log.entries.is_empty() {
            log.push(Record::Entries(self.log.entries.clone()));
        }
        self.out
            .push(Action::Persist(Durable::Snapshot { snapshot, log }));
    }

    fn reset_election_deadline(&mut self) {
        self.election_deadline = self.now + self.cfg.election_timeout_ns + self.jitter;
    }

    fn on_message(&mut self, from: NodeId, msg: Message) {
        let t = msg.term();
        if !self.cfg.nodes.contains(&from) || from == self.cfg.id {
            return;
        }
        if t > self.term {
            let from_leader = matches!(msg, Message::Append { .. } | Message::InstallSnapshot { .. });
            if let Message::Vote { .. } = msg {
                // Leader stickiness: while a live leader is known, a higher-term
                // candidate (e.g. one returning from a partition) is ignored.
                // Read leases rely on this: a follower that acknowledged a round
                // votes for nobody else for an election timeout after it.
                let leader_alive = self.role == Role::Leader
                    || self.now < self.no_vote_until
                    || (self.leader.is_some()
                        && self.now < self.last_leader_contact + self.cfg.election_timeout_ns);
                if leader_alive {
                    let term = self.term;
                    self.send(&from, Message::VoteReply { term, granted: false });
                    return;
                }
            }
            if self.role == Role::Leader && !self.cfg.fencing && !from_leader {
                // Unfenced: an old leader shrugs off newer terms until it meets the new leader.
                return;
            }
            self.become_follower(t, None);
        }
        match msg {
            Message::Vote {
                term,
                last_index,
                last_term,
            } => self.on_vote(from, term, last_index, last_term),
            Message::VoteReply { term, granted } => {
                if self.role == Role::Candidate && term == self.term && granted {
                    self.votes.insert(from);
                    if self.votes.len() >= self.cfg.majority() {
                        self.become_leader();
                    }
                }
            }
            Message::Append {
                term,
                prev_index,
                prev_term,
                entries,
                commit,
                read_seq,
            } => self.on_append(from, term, prev_index, prev_term, entries, commit, read_seq),
            Message::AppendReply {
                term,
                success,
                index,
                read_seq,
            } => self.on_append_reply(from, term, success, index, read_seq),
            Message::InstallSnapshot {
                term,
                snapshot,
                read_seq,
            } => self.on_snapshot(from, term, snapshot, read_seq),
        }
    }

    fn on_vote(&mut self, from: NodeId, term: u64, last_index: u64, last_term: u64) {
        let up_to_date = (last_term, last_index) >= (self.log.last_term(), self.log.last_index());
        let free = self.vote.is_none() || self.vote.as_deref() == Some(from.as_str());
        let granted = term == self.term && self.role != Role::Leader && free && up_to_date;
        if granted && self.vote.is_none() {
            self.vote = Some(from.clone());
            self.persist_hard_state();
        }
        if granted {
            self.reset_election_deadline();
        }
        let term = self.term;
        self.send(&from, Message::VoteReply { term, granted });
    }

    /// Adopts `term` (if newer) and the follower role; a deposed leader gives up
    /// its waiting clients (writes: outcome unknown, reads: not executed).
    fn become_follower(&mut self, term: u64, leader: Option<NodeId>) {
        let old_term = self.term;
        if term > self.term {
            self.term = term;
            self.vote = None;
            self.persist_hard_state();
        }
        if self.role == Role::Leader {
            self.event("step-down", old_term, None);
            for (_, req) in std::mem::take(&mut self.pending) {
                self.reply(
                    req,
                    Outcome::Unknown {
                        reason: "leader stepped down before the write committed".into(),
                    },
                );
            }
            for r in std::mem::take(&mut self.reads) {
                self.reply(r.req, Outcome::NotLeader { leader: None });
            }
            self.peers.clear();
        }
        self.role = Role::Follower;
        self.leader = leader;
        self.reset_election_deadline();
    }

    fn start_election(&mut self) {
        self.term += 1;
        self.vote = Some(self.cfg.id.clone());
        self.role = Role::Candidate;
        self.leader = None;
        self.votes = BTreeSet::from([self.cfg.id.clone()]);
        self.persist_hard_state();
        self.reset_election_deadline();
        if self.votes.len() >= self.cfg.majority() {
            self.become_leader();
            return;
        }
        let (term, last_index, last_term) = (self.term, self.log.last_index(), self.log.last_term());
        for p in self.others() {
            self.send(
                &p,
                Message::Vote {
                    term,
                    last_index,
                    last_term,
                },
            );
        }
    }

    fn on_tick(&mut self) {
        if self.role == Role::Leader {
            self.leader_tick();
        } else if self.now >= self.election_deadline {
            self.start_election();
        }
    }

    fn on_client(&mut self, req: u64, op: ClientOp) {
        let local_read = match self.cfg.reads {
            Reads::Follower => true,
            Reads::Leader => self.role == Role::Leader,
            Reads::Linearizable => false,
            Reads::Lease => self.lease_valid(),
        };
        if let (true, ClientOp::Read { key }) = (local_read && op.is_read(), &op) {
            let value = self.kv.get(key);
            self.reply(req, Outcome::Ok { value });
            return;
        }
        if self.role != Role::Leader {
            let leader = self.leader.clone();
            self.reply(req, Outcome::NotLeader { leader });
            return;
        }
        match op {
            ClientOp::Read { key } => self.linearizable_read(req, key),
            op => {
                let index = self.append_local(Command::Client(op));
                self.pending.insert(index, req);
            }
        }
    }

    /// Applies committed entries in log order; the leader answers their clients.
    fn apply(&mut self) {
        while self.applied < self.commit {
            let i = self.applied + 1;
            let Some(e) = self.log.get(i).cloned() else {
                break;
            };
            self.applied = i;
            let outcome = match &e.cmd {
                Command::Noop => continue,
                Command::Client(op) => self.kv.apply(op),
            };
            if let Some(req) = self.pending.remove(&i) {
                if matches!(outcome, Outcome::Ok { .. }) {
                    self.event("ack", e.term, Some(&e));
                }
                self.reply(req, outcome);
            }
        }
        self.maybe_snapshot();
        if self.role == Role::Leader {
            self.serve_reads();
        }
    }

    fn maybe_snapshot(&mut self) {
        let every = self.cfg.snapshot_every;
        if every == 0 || self.applied < self.log.snap_index + every {
            return;
        }
        let Some(term) = self.log.term_at(self.applied) else {
            return;
        };
        self.log.compact(self.applied, term);
        let snapshot = Snapshot {
            index: self.applied,
            term,
            data: self.kv.clone(),
        };
        self.persist_snapshot(snapshot);
    }
}
