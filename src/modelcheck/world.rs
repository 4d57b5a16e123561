//! One state of the model: the cores of every node (or a crashed node's disk),
//! the FIFO links between them, the clients and what they have seen, and the
//! fault budget left. Transitions run the real single-leader core
//! ([`crate::store::core::Core`]) exactly as the node driver batches it:
//! input, `Flush`, persist (synced at once), `Persisted`, until quiet.

use super::lin::{Frontier, LinOp, LinRet};
use super::trace::Trace;
pub use super::trace::{name, op_of, op_text, outcome_text, req_of, value_of};
use super::Settings;
use crate::store::core::{Action, Config, Core, Input, Message, Record, Role, Snapshot};
use crate::store::ops::{ClientOp, Outcome};
use crate::store::seam::{NoOpts, Now, Protocol, Stored};
use serde_json::Value;
use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};

/// A node: its running core, or none while crashed; its disk survives.
#[derive(Clone)]
pub struct Node {
    pub core: Option<Core>,
    pub disk: Stored<Record, Snapshot>,
}

/// A client runs its ops one at a time: op `k` writes a unique value when `k`
/// is even and reads when odd.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Client {
    pub next_op: u8,
    /// The request in flight and the node it went to.
    pub pending: Option<(u64, u8)>,
}

/// A write a leader acknowledged: the entry's term and index, and its value.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ack {
    pub term: u64,
    pub index: u64,
    pub value: u64,
}

/// How much of each fault the search may still inject.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct Budget {
    pub crashes: u8,
    pub timeouts: u8,
    pub partitions: u8,
    /// Faults of any kind.
    pub total: u8,
}

#[derive(Clone)]
pub struct World {
    pub nodes: Vec<Node>,
    /// `links[from * n + to]`: messages in flight, oldest first (TCP order).
    pub links: Vec<Vec<Message>>,
    pub clients: Vec<Client>,
    /// Linearizability of the clients' ops so far ([`super::lin`]).
    pub lin: Frontier,
    pub acks: BTreeSet<Ack>,
    /// Some state on the way here had a leader missing an acknowledged write
    /// ([`super::model::acked_writes_kept`]): kept, so that the property stays
    /// broken once broken (the partial-order reduction needs that, [`super::por`]).
    pub lost: bool,
    /// `(term, node)` of every `leader` event so far.
    pub leaders: BTreeSet<(u64, u8)>,
    /// The node cut off from all others, if any.
    pub cut: Option<u8>,
    pub budget: Budget,
    /// Time for every node, in ns: moves only in jumps past every deadline.
    pub clock: u64,
    /// Nodes are interchangeable for hashing (see [`super::canon`]).
    pub symmetric: bool,
}

/// States compare by their hash (the checker keys them by one anyway; see
/// [`super::canon`] for which states hash the same).
impl PartialEq for World {
    fn eq(&self, other: &World) -> bool {
        fingerprint(self) == fingerprint(other)
    }
}

pub fn fingerprint(w: &World) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    w.hash(&mut h);
    h.finish()
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, n) in self.nodes.iter().enumerate() {
            match &n.core {
                Some(c) => writeln!(
                    f,
                    "{}: {:?} term {} log {}",
                    name(i as u8),
                    c.role(),
                    c.term(),
                    c.log().last_index()
                )?,
                None => writeln!(f, "{}: down", name(i as u8))?,
            }
        }
        writeln!(f, "clients {:?} acks {:?}", self.clients, self.acks)
    }
}

/// What a transition did, for a readable counterexample and its history
/// (collected only when asked).
pub type Notes = Option<Trace>;

fn note(notes: &mut Notes, text: impl FnOnce() -> String) {
    if let Some(t) = notes {
        t.lines.push(text());
    }
}

impl World {
    pub fn n(&self) -> usize {
        self.nodes.len()
    }

    pub fn up(&self, i: u8) -> Option<&Core> {
        self.nodes[i as usize].core.as_ref()
    }

    fn linked(&self, a: u8, b: u8) -> bool {
        self.cut.is_none_or(|c| c != a && c != b)
    }

    /// Node `i` runs `input` as one driver batch: the input, then `Flush`,
    /// persist (synced at once) and `Persisted`, until nothing new is written.
    pub fn batch(&mut self, i: u8, input: Input, notes: &mut Notes) {
        let now = Now::at(self.clock);
        let Some(core) = self.nodes[i as usize].core.as_mut() else {
            return;
        };
        let mut acts = core.step(now, input);
        loop {
            let Some(core) = self.nodes[i as usize].core.as_mut() else {
                return;
            };
            acts.extend(core.step(now, Input::Flush));
            let mark = core.persist_mark();
            let wrote = self.perform(i, acts, notes);
            let Some(core) = self.nodes[i as usize].core.as_mut() else {
                return;
            };
            if !wrote {
                return;
            }
            acts = core.step(now, Input::Persisted { upto: mark });
        }
    }

    /// Carries out a core's actions; true if it wrote to its disk.
    fn perform(&mut self, i: u8, acts: Vec<Action>, notes: &mut Notes) -> bool {
        let mut wrote = false;
        let n = self.n();
        for a in acts {
            match a {
                Action::Persist(w) => {
                    self.nodes[i as usize].disk.apply(w);
                    wrote = true;
                }
                Action::Send { to, msg } => {
                    let Some(t) = (0..n as u8).find(|t| name(*t) == to) else {
                        continue;
                    };
                    if self.linked(i, t) && self.up(t).is_some() {
                        self.links[i as usize * n + t as usize].push(msg);
                    }
                }
                Action::Reply { req, outcome } => self.reply(i, req, outcome, notes),
                Action::Event(e) => {
                    note(notes, || {
                        format!("{} event {} (term {})", name(i), e.kind, e.term)
                    });
                    match (e.kind, e.index, &e.value) {
                        ("leader", ..) => {
                            self.leaders.insert((e.term, i));
                        }
                        ("ack", Some(index), Value::Number(v)) => {
                            self.acks.insert(Ack {
                                term: e.term,
                                index,
                                value: v.as_u64().unwrap_or(0),
                            });
                        }
                        _ => {}
                    }
                }
            }
        }
        wrote
    }

    /// A reply reaches its client: `ok` returns the op; anything else leaves it
    /// in flight for good (it may or may not have happened, as `info`).
    fn reply(&mut self, i: u8, req: u64, outcome: Outcome, notes: &mut Notes) {
        let c = (req >> 8) as u8;
        let k = (req & 0xff) as u8;
        let Some(client) = self.clients.get_mut(c as usize) else {
            return;
        };
        if client.pending.map(|p| p.0) != Some(req) {
            return;
        }
        client.pending = None;
        client.next_op = k + 1;
        let ret = match (&outcome, k % 2) {
            (Outcome::Ok { .. }, 0) => Some(LinRet::WriteOk),
            (Outcome::Ok { value }, _) => Some(LinRet::ReadOk(value.as_u64())),
            _ => None,
        };
        note(notes, || {
            format!("c{} <- {}: {}", c + 1, name(i), outcome_text(&outcome))
        });
        if let Some(t) = notes {
            t.answered(c, k, i, Some(&outcome));
        }
        match ret {
            Some(ret) => self.lin.ret(req, ret),
            None => self.lin.abandon(req),
        }
    }

    /// Client `c` sends its next op to node `i`.
    pub fn invoke(&mut self, c: u8, i: u8, notes: &mut Notes) {
        let k = self.clients[c as usize].next_op;
        let req = req_of(c, k);
        let op = op_of(c, k);
        let lop = match &op {
            ClientOp::Write { .. } => LinOp::Write(value_of(c, k)),
            _ => LinOp::Read,
        };
        self.lin.invoke(req, lop);
        self.clients[c as usize].pending = Some((req, i));
        note(notes, || format!("c{} -> {}: {}", c + 1, name(i), op_text(&op)));
        if let Some(t) = notes {
            t.invoked(c, k);
        }
        let input = Input::Client {
            req,
            op,
            opts: NoOpts {},
        };
        self.batch(i, input, notes);
    }

    /// Kills node `i`: its in-flight messages both ways are lost, its
    /// clients' ops stay unknown (`info`); its disk (all synced) survives.
    pub fn crash(&mut self, i: u8, notes: &mut Notes) {
        self.nodes[i as usize].core = None;
        self.drop_links(i);
        for (c, cl) in self.clients.iter_mut().enumerate() {
            if let Some((req, node)) = cl.pending {
                if node == i {
                    let k = (req & 0xff) as u8;
                    cl.pending = None;
                    cl.next_op = k + 1;
                    self.lin.abandon(req);
                    if let Some(t) = notes {
                        t.answered(c as u8, k, i, None);
                    }
                }
            }
        }
    }

    pub fn restart(&mut self, i: u8, cfg: Config) {
        let disk = self.nodes[i as usize].disk.clone();
        let (core, _) = Core::recover(cfg, disk, Now::at(self.clock), 0);
        self.nodes[i as usize].core = Some(core);
    }

    /// Drops every message in flight to or from `i` (a crash, a partition).
    pub fn drop_links(&mut self, i: u8) {
        let n = self.n();
        for j in 0..n {
            self.links[i as usize * n + j].clear();
            self.links[j * n + i as usize].clear();
        }
    }
}

/// The starting state: every node fresh, `n1` timed out and won term 1, and
/// every message delivered (its no-op replicated), through the real core.
pub fn bootstrap(s: &Settings) -> World {
    let n = s.nodes;
    let mut w = World {
        nodes: (0..n)
            .map(|i| {
                let (core, _) = Core::recover(s.config(i as u8), Stored::default(), Now::at(0), 0);
                Node {
                    core: Some(core),
                    disk: Stored::default(),
                }
            })
            .collect(),
        links: vec![Vec::new(); n * n],
        clients: vec![
            Client {
                next_op: 0,
                pending: None,
            };
            s.clients
        ],
        lin: Frontier::default(),
        acks: BTreeSet::new(),
        lost: false,
        leaders: BTreeSet::new(),
        cut: None,
        budget: s.budget(),
        clock: s.jump(),
        symmetric: s.symmetric(),
    };
    w.batch(0, Input::Tick { jitter_ns: 0 }, &mut None);
    while let Some(l) = w.links.iter().position(|q| !q.is_empty()) {
        w.deliver((l / n) as u8, (l % n) as u8, &mut None);
    }
    w
}

impl World {
    /// Delivers the oldest message on the link `from -> to`.
    pub fn deliver(&mut self, from: u8, to: u8, notes: &mut Notes) {
        let n = self.n();
        let q = &mut self.links[from as usize * n + to as usize];
        if q.is_empty() {
            return;
        }
        let msg = q.remove(0);
        note(notes, || {
            format!("{} -> {}: {}", name(from), name(to), msg_text(&msg))
        });
        let input = Input::Peer {
            from: name(from),
            msg,
        };
        self.batch(to, input, notes);
    }

    /// True if some node is up and leads.
    pub fn leader_roles(&self) -> impl Iterator<Item = (u8, &Core)> {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.core.as_ref().map(|c| (i as u8, c)))
            .filter(|(_, c)| c.role() == Role::Leader)
    }
}

pub fn msg_text(m: &Message) -> String {
    match m {
        Message::Vote { term, .. } => format!("vote request, term {term}"),
        Message::VoteReply { term, granted } => format!("vote reply, term {term}, granted {granted}"),
        Message::Append {
            term,
            prev_index,
            entries,
            commit,
            ..
        } => format!(
            "append, term {term}, after index {prev_index}, {} entries, commit {commit}",
            entries.len()
        ),
        Message::AppendReply {
            term, success, index, ..
        } => format!("append reply, term {term}, success {success}, index {index}"),
        Message::InstallSnapshot { term, snapshot, .. } => {
            format!("snapshot, term {term}, index {}", snapshot.index)
        }
    }
}
