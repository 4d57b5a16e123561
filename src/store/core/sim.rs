//! A deterministic simulator of the single-leader core behind the real node
//! driver ([`crate::store::driver`]): a seeded message queue with random
//! latency, partitions as dropped links, in-memory disks whose syncs take
//! `sync_ms` (0: at once), crashes that keep only what was synced. Tests of
//! elections, log matching, snapshots, fencing, each replication mode's
//! acknowledgement rule, and that the driver's durability rules keep every
//! acknowledged write across crashes.
//!
//! A delayed sync does not block its node here (the real node blocks on an
//! inline sync): the driver's rules must hold either way.

use super::*;
use crate::store::driver::{Driver, HostTime};
use crate::store::ops::ClientOp;
use crate::store::seam::{MemDisk, NoOpts, Now, Protocol, Stored};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

const MS: u64 = 1_000_000;

struct Sim {
    cfgs: BTreeMap<String, Config>,
    nodes: BTreeMap<String, Driver<Core>>,
    disks: BTreeMap<String, MemDisk<Record, Snapshot>>,
    now: u64,
    rng: ChaCha8Rng,
    queue: Vec<(u64, String, String, Message)>,
    cut: BTreeSet<(String, String)>,
    down: BTreeSet<String>,
    replies: BTreeMap<u64, (String, Outcome)>,
    events: Vec<(String, Event)>,
    next_req: u64,
    /// How long a disk sync takes, in ms (0: synced as soon as written).
    sync_ms: u64,
    /// Each node's sync in progress: when it completes and the last batch it
    /// covers (batches written meanwhile wait for the next sync).
    sync_due: BTreeMap<String, (u64, u64)>,
}

impl Sim {
    fn new(n: usize, seed: u64, tweak: impl Fn(&mut Config)) -> Sim {
        let ids: Vec<String> = (1..=n).map(|i| format!("n{i}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut sim = Sim {
            cfgs: BTreeMap::new(),
            nodes: BTreeMap::new(),
            disks: BTreeMap::new(),
            now: 0,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5eed),
            queue: Vec::new(),
            cut: BTreeSet::new(),
            down: BTreeSet::new(),
            replies: BTreeMap::new(),
            events: Vec::new(),
            next_req: 0,
            sync_ms: 0,
            sync_due: BTreeMap::new(),
        };
        for id in &ids {
            let mut c = Config::new(id, &refs);
            c.heartbeat_ns = 20 * MS;
            c.election_timeout_ns = 150 * MS;
            tweak(&mut c);
            let jitter = rng.gen_range(0..c.election_timeout_ns);
            let (d, _) = Driver::start(c.clone(), Stored::default(), sim.host(), jitter);
            sim.nodes.insert(id.clone(), d);
            sim.disks.insert(id.clone(), MemDisk::default());
            sim.cfgs.insert(id.clone(), c);
        }
        sim
    }

    fn host(&self) -> HostTime {
        HostTime::at(self.now)
    }

    fn core(&self, id: &str) -> &Core {
        self.nodes[id].core()
    }

    fn cores(&self) -> impl Iterator<Item = (&String, &Core)> {
        self.nodes.iter().map(|(id, d)| (id, d.core()))
    }

    /// One input is one driver batch.
    fn input(&mut self, id: &str, input: Input) {
        if self.down.contains(id) {
            return;
        }
        let host = self.host();
        let Some(d) = self.nodes.get_mut(id) else {
            return;
        };
        d.step(host, input);
        self.pump(id);
    }

    /// Ends node `id`'s batch and performs it. With instant syncs the sync
    /// report's consequences (the leader's commits) follow at once.
    fn pump(&mut self, id: &str) {
        let host = self.host();
        loop {
            let (Some(d), Some(disk)) = (self.nodes.get_mut(id), self.disks.get_mut(id)) else {
                return;
            };
            let ready = d.ready(host);
            let mut synced = false;
            if let Some(b) = ready.persist {
                disk.write(b.id, b.writes);
                if self.sync_ms == 0 {
                    if let Some(last) = disk.sync() {
                        d.synced(host, last);
                        synced = true;
                    }
                } else {
                    let due = self.now + self.sync_ms * MS;
                    self.sync_due.entry(id.to_string()).or_insert((due, b.id));
                }
            }
            let mut sends = ready.send;
            sends.extend(d.take_released());
            self.events
                .extend(ready.events.into_iter().map(|e| (id.to_string(), e)));
            for (req, outcome) in ready.replies {
                self.replies.insert(req, (id.to_string(), outcome));
            }
            for (to, msg) in sends {
                if !self.cut.contains(&(id.to_string(), to.clone())) {
                    let at = self.now + self.rng.gen_range(1..4) * MS;
                    self.queue.push((at, id.to_string(), to, msg));
                }
            }
            if !synced {
                return;
            }
        }
    }

    /// Completes the syncs due by now (group commits), starting the next one
    /// for batches written while they ran.
    fn finish_syncs(&mut self) {
        let now = self.now;
        let due: Vec<(String, u64)> = self
            .sync_due
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(id, (_, batch))| (id.clone(), *batch))
            .collect();
        let host = self.host();
        for (id, batch) in due {
            self.sync_due.remove(&id);
            let (Some(d), Some(disk)) = (self.nodes.get_mut(&id), self.disks.get_mut(&id)) else {
                continue;
            };
            if let Some(last) = disk.sync_upto(batch) {
                d.synced(host, last);
            }
            if let Some(next) = disk.last_unsynced() {
                self.sync_due.insert(id.clone(), (now + self.sync_ms * MS, next));
            }
            self.pump(&id);
        }
    }

    /// Advances simulated time by `ms` milliseconds.
    fn run(&mut self, ms: u64) {
        for _ in 0..ms {
            self.now += MS;
            let now = self.now;
            self.finish_syncs();
            let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.queue)
                .into_iter()
                .partition(|m| m.0 <= now);
            self.queue = later;
            for (_, from, to, msg) in due {
                if !self.cut.contains(&(from.clone(), to.clone())) {
                    self.input(&to, Input::Peer { from, msg });
                }
            }
            if now.is_multiple_of(5 * MS) {
                let ids: Vec<String> = self.nodes.keys().cloned().collect();
                for id in ids {
                    let jitter_ns = self.rng.gen_range(0..150 * MS);
                    self.input(&id, Input::Tick { jitter_ns });
                }
            }
        }
    }

    /// From now on node `id`'s clock runs at `rate` times real time (continuously).
    fn set_clock_rate(&mut self, id: &str, rate: f64) {
        let host = self.host();
        if let Some(d) = self.nodes.get_mut(id) {
            d.clock_mut().set_rate(host, rate).expect("a valid rate");
        }
    }

    fn client(&mut self, id: &str, op: ClientOp) -> u64 {
        self.next_req += 1;
        let req = self.next_req;
        self.input(
            id,
            Input::Client {
                req,
                op,
                opts: NoOpts {},
            },
        );
        req
    }

    fn write(&mut self, id: &str, k: &str, v: i64) -> u64 {
        self.client(
            id,
            ClientOp::Write {
                key: json!(k),
                value: json!(v),
            },
        )
    }

    fn read(&mut self, id: &str, k: &str) -> u64 {
        self.client(id, ClientOp::Read { key: json!(k) })
    }

    fn outcome(&self, req: u64) -> Option<&Outcome> {
        self.replies.get(&req).map(|r| &r.1)
    }

    fn is_ok(&self, req: u64) -> bool {
        matches!(self.outcome(req), Some(Outcome::Ok { .. }))
    }

    fn leaders(&self) -> Vec<String> {
        self.cores()
            .filter(|(id, c)| c.role == Role::Leader && !self.down.contains(*id))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The leader of the highest term.
    fn leader(&self) -> String {
        self.leaders()
            .into_iter()
            .max_by_key(|id| self.core(id).term)
            .expect("a leader")
    }

    fn isolate(&mut self, id: &str) {
        for other in self.nodes.keys().cloned().collect::<Vec<_>>() {
            if other != id {
                self.cut.insert((id.to_string(), other.clone()));
                self.cut.insert((other, id.to_string()));
            }
        }
    }

    fn heal(&mut self) {
        self.cut.clear();
    }

    /// Kills node `id`: messages to it and its unsynced writes are lost.
    fn crash(&mut self, id: &str) {
        self.down.insert(id.to_string());
        self.queue.retain(|m| m.2 != id);
        self.sync_due.remove(id);
        if let Some(d) = self.disks.get_mut(id) {
            d.crash();
        }
    }

    /// Starts node `id` again from its disk, with a fresh clock.
    fn restart(&mut self, id: &str) {
        self.down.remove(id);
        let stored = self.disks[id].stored();
        let (d, _) = Driver::start(self.cfgs[id].clone(), stored, self.host(), 0);
        self.nodes.insert(id.to_string(), d);
        self.pump(id);
    }

    fn value(&self, id: &str, k: &str) -> Value {
        self.core(id).kv.get(&json!(k))
    }

    fn events(&self, kind: &str) -> Vec<(String, u64, Option<u64>)> {
        self.events
            .iter()
            .filter(|(_, e)| e.kind == kind)
            .map(|(n, e)| (n.clone(), e.term, e.index))
            .collect()
    }

    fn followers_of(&self, leader: &str) -> Vec<String> {
        self.nodes.keys().filter(|n| *n != leader).cloned().collect()
    }
}

/// Drops every message from `from` to `to` (one direction only).
fn cut_one_way(s: &mut Sim, from: &str, to: &str) {
    s.cut.insert((from.to_string(), to.to_string()));
}

mod election;
mod lease;
mod replication;

mod props;
