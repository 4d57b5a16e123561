//! The pure protocol core of the multi-leader store: nodes split into
//! datacenters ([`dc::Layout`]), each led by its first node, which accepts
//! writes, makes them durable, applies them and ships them asynchronously to
//! its followers and (per `--dc-topology`) to other datacenters' leaders.
//!
//! A write reaching a follower is forwarded to its datacenter's leader;
//! under `--conflict avoid` a leader forwards it on to the key's home
//! datacenter. Reads are answered from the local copy of the node reached.
//! Conflicts are resolved by [`crate::store::conflict`]: every node joins
//! the deltas it applies, so nodes that applied the same changes agree.
//!
//! Invariants: a write is acknowledged only once its record is durable
//! (`Input::Persisted`); a shipment is acknowledged only after the driver
//! synced the records of what it carried (acks never leave before the sync),
//! so a sender may forget an acknowledged prefix; each change is applied at
//! most once per node (by dot), and under siblings/crdt never before the
//! changes its origin had applied ([`delivery`]); a change is never shipped
//! to a datacenter on its path ([`dc::next_hops`]).

pub mod dc;
mod delivery;
mod protocol;
mod request;
mod ship;
#[cfg(test)]
mod tests;
mod types;

pub use dc::{DcTopology, Layout};
pub use protocol::TICK_NS;
pub use types::{Change, Config, ConfigError, Msg, NodeId, Record};

use crate::store::conflict::{read_value, Dot, KeyState, Lattice};
use crate::store::leaderless::RequestOpts;
use crate::store::ops::{ClientOp, Outcome};
use crate::store::seam::Action;
use crate::store::seam::{ActionOf, Now, Write};
use delivery::Delivery;
use request::{plan, Plan};
use ship::Link;
use std::collections::BTreeMap;

/// Who waits for a request's outcome.
#[derive(Clone, Debug, PartialEq)]
enum Origin {
    Client(u64),
    Forwarded { from: NodeId, id: u64 },
}

/// A write handed to another node.
#[derive(Clone, Debug)]
struct Fwd {
    origin: Origin,
    to: NodeId,
    started: u64,
}

pub struct Core {
    cfg: Config,
    layout: Layout,
    dc: usize,
    leader: bool,
    store: BTreeMap<String, KeyState>,
    delivery: Delivery,
    /// Every change applied here, in order, with the core time it was applied
    /// (0 for replayed ones): what links ship from, by 1-based position.
    log: Vec<(Change, u64)>,
    links: BTreeMap<NodeId, Link>,
    /// This incarnation's name on its outbound streams (the start's nonce).
    epoch: u64,
    /// Per sender: its incarnation and the log position this node holds
    /// everything up to (not durable: a restarted node learns it from `base`).
    streams: BTreeMap<NodeId, (u64, u64)>,
    now: Now,
    next_id: u64,
    persist_issued: u64,
    persisted: u64,
    /// Replies that wait for a record to be durable: (persist seq, who).
    waiting: Vec<(u64, Origin)>,
    forwards: BTreeMap<u64, Fwd>,
    out: Vec<ActionOf<Core>>,
}

impl Core {
    /// A node starting from the records it persisted before. `cfg` must
    /// have passed [`Config::validate`]. `nonce` seeds forward ids.
    pub fn new(cfg: Config, records: impl IntoIterator<Item = Record>, now: Now, nonce: u64) -> Core {
        let layout = Layout::new(&cfg.nodes, cfg.datacenters);
        let dc = layout.dc_of(&cfg.id).unwrap_or(0);
        let leader = layout.leader(dc) == cfg.id;
        let links = ship::links(&cfg, &layout, dc, leader);
        let mut core = Core {
            layout,
            dc,
            leader,
            store: BTreeMap::new(),
            delivery: Delivery::default(),
            log: Vec::new(),
            links,
            epoch: nonce,
            streams: BTreeMap::new(),
            now,
            next_id: nonce,
            persist_issued: 0,
            persisted: 0,
            waiting: Vec::new(),
            forwards: BTreeMap::new(),
            out: Vec::new(),
            cfg,
        };
        for Record::Change(c) in records {
            for ready in core.delivery.offer(c) {
                core.apply(ready, 0);
            }
        }
        core
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// This node's copy of every key.
    pub fn store(&self) -> &BTreeMap<String, KeyState> {
        &self.store
    }

    /// Changes received but waiting for their dependencies.
    pub fn pending(&self) -> usize {
        self.delivery.pending()
    }

    pub fn is_leader(&self) -> bool {
        self.leader
    }

    pub fn step(&mut self, now: Now, input: crate::store::seam::InputOf<Core>) -> Vec<ActionOf<Core>> {
        use crate::store::seam::Input;
        self.now.mono_ns = self.now.mono_ns.max(now.mono_ns);
        self.now.wall_ns = now.wall_ns;
        match input {
            Input::Peer { from, msg } => self.on_peer(from, msg),
            Input::Client { req, op, opts } => self.on_request(Origin::Client(req), op, opts),
            Input::Tick { .. } => {
                self.tick_forwards();
                self.ship();
            }
            Input::Flush => self.ship(),
            Input::Persisted { upto } => {
                self.persisted = self.persisted.max(upto);
                let (done, wait): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
                    .into_iter()
                    .partition(|(seq, _)| *seq <= self.persisted);
                self.waiting = wait;
                for (_, origin) in done {
                    self.respond(
                        origin,
                        Outcome::Ok {
                            value: serde_json::Value::Null,
                        },
                    );
                }
            }
        }
        std::mem::take(&mut self.out)
    }

    fn on_request(&mut self, origin: Origin, op: ClientOp, opts: RequestOpts) {
        let (key, update) = match plan(&op, &opts) {
            Err(outcome) => return self.respond(origin, outcome),
            Ok(Plan::Read { key }) => {
                let value = read_value(self.store.get(&key), self.cfg.conflict);
                return self.respond(origin, Outcome::Ok { value });
            }
            Ok(Plan::Write { key, update }) => (key, update),
        };
        let target = if !self.leader {
            Some(self.layout.leader(self.dc).to_string())
        } else if self.cfg.conflict == crate::store::conflict::ConflictMode::Avoid {
            let home = self.layout.home(&key);
            (home != self.dc).then(|| self.layout.leader(home).to_string())
        } else {
            None
        };
        if let Some(to) = target {
            return self.forward(origin, to, op, opts);
        }
        let local = self.store.get(&key);
        let delta = match request::delta(self.cfg.conflict, local, &self.cfg.id, self.now.wall_ns, update) {
            Ok(d) => d,
            Err(e) => {
                return self.respond(
                    origin,
                    Outcome::Fail {
                        reason: e.to_string(),
                    },
                )
            }
        };
        let seq = self.delivery.seen().max_counter(&self.cfg.id) + 1;
        let change = Change {
            dot: Dot::new(&self.cfg.id, seq),
            key,
            delta,
            deps: self.cfg.causal().then(|| self.delivery.seen().clone()),
            path: vec![self.dc],
        };
        let rec = self.persist(change.clone());
        for ready in self.delivery.offer(change) {
            self.apply(ready, self.now.mono_ns);
        }
        self.waiting.push((rec, origin));
    }

    fn forward(&mut self, origin: Origin, to: NodeId, op: ClientOp, opts: RequestOpts) {
        self.next_id = self.next_id.wrapping_add(1);
        let id = self.next_id;
        self.forwards.insert(
            id,
            Fwd {
                origin,
                to: to.clone(),
                started: self.now.mono_ns,
            },
        );
        self.send(&to, Msg::Forward { id, op, opts });
    }

    fn tick_forwards(&mut self) {
        let now = self.now.mono_ns;
        let limit = self.cfg.request_timeout_ns;
        let expired: Vec<u64> = self
            .forwards
            .iter()
            .filter(|(_, f)| now >= f.started + limit)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some(f) = self.forwards.remove(&id) {
                let reason = format!(
                    "forwarded to {} (the leader that accepts it), no answer in time",
                    f.to
                );
                self.respond(f.origin, Outcome::Unknown { reason });
            }
        }
    }

    fn on_peer(&mut self, from: NodeId, msg: Msg) {
        if from == self.cfg.id || !self.cfg.nodes.contains(&from) {
            return;
        }
        match msg {
            Msg::Ship {
                epoch,
                base,
                from: start,
                upto,
                changes,
            } => {
                let ship = ship::Shipment {
                    epoch,
                    base,
                    from: start,
                    upto,
                    changes,
                };
                self.on_ship(&from, ship)
            }
            Msg::Ack { epoch, upto } => {
                let now = self.now.mono_ns;
                match self.links.get_mut(&from) {
                    Some(l) if epoch == self.epoch => l.on_ack(upto, now),
                    _ => {}
                }
            }
            Msg::Forward { id, op, opts } => self.on_request(Origin::Forwarded { from, id }, op, opts),
            Msg::ForwardReply { id, outcome } => {
                if let Some(f) = self.forwards.remove(&id) {
                    self.respond(f.origin, outcome);
                }
            }
        }
    }

    /// Joins a deliverable change into the local copy and logs it for shipping.
    fn apply(&mut self, c: Change, at: u64) {
        match self.store.get_mut(&c.key) {
            Some(s) => s.join(&c.delta),
            None => {
                self.store.insert(c.key.clone(), c.delta.clone());
            }
        }
        self.log.push((c, at));
    }

    fn persist(&mut self, c: Change) -> u64 {
        self.out.push(Action::Persist(Write::Append(Record::Change(c))));
        self.persist_issued += 1;
        self.persist_issued
    }

    fn send(&mut self, to: &str, msg: Msg) {
        self.out.push(Action::Send {
            to: to.to_string(),
            msg,
        });
    }

    fn respond(&mut self, origin: Origin, outcome: Outcome) {
        match origin {
            Origin::Client(req) => self.out.push(Action::Reply { req, outcome }),
            Origin::Forwarded { from, id } => self.send(&from, Msg::ForwardReply { id, outcome }),
        }
    }
}
