//! A deterministic simulator for the leaderless core: the very same core, a
//! seeded message queue with random latency and optional loss, partitions as
//! cut links, crashes that keep only what was persisted, per-node wall-clock
//! skew. The tests beside it (in `sim/`) cover placement, quorums, conflicts,
//! repair, anti-entropy and sloppy quorums.

use super::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use std::collections::BTreeSet;

pub const MS: u64 = 1_000_000;
/// The simulated wall clock's epoch (ns), so skews can go negative.
const WALL0: u64 = 1_700_000_000_000_000_000;

pub struct Sim {
    pub cfgs: BTreeMap<String, Config>,
    pub nodes: BTreeMap<String, Core>,
    /// Everything each node persisted, in order (its WAL).
    pub disks: BTreeMap<String, Vec<Record>>,
    /// Persist actions each running incarnation emitted.
    issued: BTreeMap<String, u64>,
    pub now: u64,
    pub skew: BTreeMap<String, i64>,
    rng: ChaCha8Rng,
    queue: Vec<(u64, u64, String, String, Msg)>,
    seq: u64,
    pub cut: BTreeSet<(String, String)>,
    pub down: BTreeSet<String>,
    pub replies: BTreeMap<u64, Outcome>,
    pub events: Vec<(String, Event)>,
    next_req: u64,
    /// Probability that a message is lost.
    pub loss: f64,
    pub sent: u64,
}

pub fn ids(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("n{i}")).collect()
}

impl Sim {
    pub fn new(n: usize, seed: u64, tweak: impl Fn(&mut Config)) -> Sim {
        let ids = ids(n);
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut sim = Sim {
            cfgs: BTreeMap::new(),
            nodes: BTreeMap::new(),
            disks: BTreeMap::new(),
            issued: BTreeMap::new(),
            now: 0,
            skew: BTreeMap::new(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            queue: Vec::new(),
            seq: 0,
            cut: BTreeSet::new(),
            down: BTreeSet::new(),
            replies: BTreeMap::new(),
            events: Vec::new(),
            next_req: 0,
            loss: 0.0,
            sent: 0,
        };
        for id in &ids {
            let mut c = Config::new(id, &refs);
            c.request_timeout_ns = 500 * MS;
            c.replica_timeout_ns = 50 * MS;
            c.probe_interval_ns = 20 * MS;
            c.handoff_interval_ns = 30 * MS;
            c.anti_entropy_ms = 0;
            tweak(&mut c);
            c.validate().expect("valid sim config");
            sim.cfgs.insert(id.clone(), c);
            sim.disks.insert(id.clone(), Vec::new());
            sim.boot(id);
        }
        sim
    }

    fn boot(&mut self, id: &str) {
        let nonce = self.rng.gen();
        let now = self.clock(id);
        let core = Core::new(self.cfgs[id].clone(), self.disks[id].clone(), now, nonce);
        self.nodes.insert(id.to_string(), core);
        self.issued.insert(id.to_string(), 0);
    }

    pub fn clock(&self, id: &str) -> Now {
        let skew = self.skew.get(id).copied().unwrap_or(0);
        Now {
            mono_ns: self.now,
            wall_ns: (WALL0 as i64 + self.now as i64 + skew) as u64,
        }
    }

    /// Feeds one input and everything it causes locally (the disk syncs at once).
    pub fn input(&mut self, id: &str, input: Input) {
        if self.down.contains(id) {
            return;
        }
        let now = self.clock(id);
        let mut acts = self.nodes.get_mut(id).expect("node").step(now, input);
        while !acts.is_empty() {
            let mut persisted = false;
            for a in acts {
                match a {
                    Action::Send { to, msg } => self.enqueue(id, &to, msg),
                    Action::Reply { req, outcome } => {
                        self.replies.insert(req, outcome);
                    }
                    Action::Persist(r) => {
                        self.disks.get_mut(id).expect("disk").push(r);
                        *self.issued.get_mut(id).expect("count") += 1;
                        persisted = true;
                    }
                    Action::Event(e) => self.events.push((id.to_string(), e)),
                }
            }
            acts = if persisted {
                let upto = self.issued[id];
                self.nodes
                    .get_mut(id)
                    .expect("node")
                    .step(now, Input::Persisted { upto })
            } else {
                Vec::new()
            };
        }
    }

    fn enqueue(&mut self, from: &str, to: &str, msg: Msg) {
        self.sent += 1;
        if self.cut.contains(&(from.to_string(), to.to_string())) || self.rng.gen_bool(self.loss) {
            return;
        }
        let at = self.now + self.rng.gen_range(1..4) * MS;
        self.seq += 1;
        self.queue
            .push((at, self.seq, from.to_string(), to.to_string(), msg));
    }

    /// Advances simulated time by `ms` milliseconds (ticks every 5 ms).
    pub fn run(&mut self, ms: u64) {
        for _ in 0..ms {
            self.now += MS;
            let now = self.now;
            let (mut due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.queue)
                .into_iter()
                .partition(|m| m.0 <= now);
            self.queue = later;
            due.sort_by_key(|m| (m.0, m.1));
            for (_, _, from, to, msg) in due {
                if !self.cut.contains(&(from.clone(), to.clone())) {
                    self.input(&to, Input::Peer { from, msg });
                }
            }
            if now.is_multiple_of(5 * MS) {
                for id in self.nodes.keys().cloned().collect::<Vec<_>>() {
                    self.input(&id, Input::Tick);
                }
            }
        }
    }

    pub fn request(&mut self, id: &str, op: ClientOp, opts: RequestOpts) -> u64 {
        self.next_req += 1;
        let req = self.next_req;
        self.input(id, Input::Client { req, op, opts });
        req
    }

    pub fn write(&mut self, id: &str, key: &str, v: Value) -> u64 {
        let op = ClientOp::Write {
            key: json!(key),
            value: v,
        };
        self.request(id, op, RequestOpts::default())
    }

    pub fn read(&mut self, id: &str, key: &str) -> u64 {
        self.request(id, ClientOp::Read { key: json!(key) }, RequestOpts::default())
    }

    pub fn outcome(&self, req: u64) -> Option<&Outcome> {
        self.replies.get(&req)
    }

    pub fn is_ok(&self, req: u64) -> bool {
        matches!(self.outcome(req), Some(Outcome::Ok { .. }))
    }

    /// The value of an `ok` reply (panics otherwise: tests ask only then).
    pub fn value(&self, req: u64) -> Value {
        match self.outcome(req) {
            Some(Outcome::Ok { value }) => value.clone(),
            other => panic!("request {req}: expected ok, got {other:?}"),
        }
    }

    /// Runs until request `req` is answered (at most `ms`), returns its outcome.
    pub fn await_reply(&mut self, req: u64, ms: u64) -> Outcome {
        for _ in 0..ms {
            if let Some(o) = self.outcome(req) {
                return o.clone();
            }
            self.run(1);
        }
        self.outcome(req).cloned().unwrap_or(Outcome::Unknown {
            reason: "no reply in the simulation".into(),
        })
    }

    /// What node `id` holds for `key`, in read shape.
    pub fn local(&self, id: &str, key: &str) -> Value {
        read_value(self.nodes[id].store().get(key), self.cfgs[id].conflict)
    }

    pub fn preference_list(&self, key: &str) -> Vec<String> {
        let any = self.nodes.values().next().expect("a node");
        any.store().ring().preference_list(key, any.config().n)
    }

    /// Cuts every link between the groups (both directions).
    pub fn partition(&mut self, groups: &[&[&str]]) {
        for (i, a) in groups.iter().enumerate() {
            for b in groups.iter().skip(i + 1) {
                for x in a.iter() {
                    for y in b.iter() {
                        self.cut.insert((x.to_string(), y.to_string()));
                        self.cut.insert((y.to_string(), x.to_string()));
                    }
                }
            }
        }
    }

    pub fn isolate(&mut self, id: &str) {
        for other in self.nodes.keys().cloned().collect::<Vec<_>>() {
            if other != id {
                self.cut.insert((id.to_string(), other.clone()));
                self.cut.insert((other, id.to_string()));
            }
        }
    }

    pub fn heal(&mut self) {
        self.cut.clear();
    }

    pub fn crash(&mut self, id: &str) {
        self.down.insert(id.to_string());
        self.queue.retain(|m| m.3 != id);
    }

    pub fn restart(&mut self, id: &str) {
        self.down.remove(id);
        self.boot(id);
    }

    pub fn events_of(&self, kind: &str) -> Vec<(String, Event)> {
        self.events
            .iter()
            .filter(|(_, e)| e.kind == kind)
            .cloned()
            .collect()
    }

    /// True when every live replica of `key` holds the same state.
    pub fn converged(&self, key: &str) -> bool {
        let digests: BTreeSet<Option<u64>> = self
            .preference_list(key)
            .iter()
            .filter(|n| !self.down.contains(*n))
            .map(|n| self.nodes[n].store().digest(key))
            .collect();
        digests.len() == 1
    }
}

/// A node outside `key`'s preference list, if any.
pub fn outsider(sim: &Sim, key: &str) -> Option<String> {
    let pl = sim.preference_list(key);
    sim.nodes.keys().find(|n| !pl.contains(n)).cloned()
}

mod conflicts;
mod faults;
mod quorum;
mod repair;
mod rmw;
