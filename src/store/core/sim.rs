//! A deterministic simulator: the very same core, a seeded message queue with
//! random latency, partitions as dropped links, crashes that keep only what
//! was persisted. Tests of elections, log matching, snapshots, fencing and
//! each replication mode's acknowledgement rule.

use super::*;
use crate::store::ops::ClientOp;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

const MS: u64 = 1_000_000;

struct Sim {
    cfgs: BTreeMap<String, Config>,
    nodes: BTreeMap<String, Core>,
    disks: BTreeMap<String, Recovered>,
    now: u64,
    rng: ChaCha8Rng,
    queue: Vec<(u64, String, String, Message)>,
    cut: BTreeSet<(String, String)>,
    down: BTreeSet<String>,
    replies: BTreeMap<u64, (String, Outcome)>,
    events: Vec<(String, Event)>,
    next_req: u64,
    /// Per-node clocks that run at their own rate: (sim time set, clock then, rate).
    /// Nodes absent here read the simulator's time.
    clocks: BTreeMap<String, (u64, u64, f64)>,
}

fn apply_disk(d: &mut Recovered, p: &Durable) {
    match p {
        Durable::HardState { term, vote } => {
            d.term = *term;
            d.vote = vote.clone();
        }
        Durable::Append(es) => {
            for e in es {
                d.entries.retain(|x| x.index < e.index);
                d.entries.push(e.clone());
            }
        }
        Durable::TruncateFrom(i) => d.entries.retain(|x| x.index < *i),
        Durable::Snapshot {
            snapshot,
            tail,
            term,
            vote,
        } => {
            d.snapshot = Some(snapshot.clone());
            d.entries = tail.clone();
            d.term = *term;
            d.vote = vote.clone();
        }
    }
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
            clocks: BTreeMap::new(),
        };
        for id in &ids {
            let mut c = Config::new(id, &refs);
            c.heartbeat_ns = 20 * MS;
            c.election_timeout_ns = 150 * MS;
            tweak(&mut c);
            let jitter = rng.gen_range(0..c.election_timeout_ns);
            sim.nodes
                .insert(id.clone(), Core::new(c.clone(), Recovered::default(), 0, jitter));
            sim.disks.insert(id.clone(), Recovered::default());
            sim.cfgs.insert(id.clone(), c);
        }
        sim
    }

    fn input(&mut self, id: &str, input: Input) {
        if self.down.contains(id) {
            return;
        }
        let now = self.clock(id);
        let Some(core) = self.nodes.get_mut(id) else {
            return;
        };
        let mut acts = core.step(now, input);
        acts.extend(core.step(now, Input::Flush));
        // The simulated disk syncs at once.
        let index = core.log.last_index();
        acts.extend(core.step(now, Input::Persisted { index }));
        for a in acts {
            match a {
                Action::Send { to, msg } => {
                    if !self.cut.contains(&(id.to_string(), to.clone())) {
                        let at = self.now + self.rng.gen_range(1..4) * MS;
                        self.queue.push((at, id.to_string(), to, msg));
                    }
                }
                Action::Reply { req, outcome } => {
                    self.replies.insert(req, (id.to_string(), outcome));
                }
                Action::Persist(p) => {
                    if let Some(d) = self.disks.get_mut(id) {
                        apply_disk(d, &p);
                    }
                }
                Action::Event(e) => self.events.push((id.to_string(), e)),
            }
        }
    }

    /// Advances simulated time by `ms` milliseconds.
    fn run(&mut self, ms: u64) {
        for _ in 0..ms {
            self.now += MS;
            let now = self.now;
            let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.queue)
                .into_iter()
                .partition(|m| m.0 <= now);
            self.queue = later;
            for (_, from, to, msg) in due {
                if !self.cut.contains(&(from.clone(), to.clone())) {
                    self.input(&to, Input::Peer { from, msg });
                }
            }
            if now % (5 * MS) == 0 {
                let ids: Vec<String> = self.nodes.keys().cloned().collect();
                for id in ids {
                    let jitter_ns = self.rng.gen_range(0..150 * MS);
                    self.input(&id, Input::Tick { jitter_ns });
                }
            }
        }
    }

    /// What node `id`'s clock reads now.
    fn clock(&self, id: &str) -> u64 {
        match self.clocks.get(id) {
            Some(&(t0, base, rate)) => base + ((self.now - t0) as f64 * rate) as u64,
            None => self.now,
        }
    }

    /// From now on node `id`'s clock runs at `rate` times real time (continuously).
    fn set_clock_rate(&mut self, id: &str, rate: f64) {
        let base = self.clock(id);
        self.clocks.insert(id.to_string(), (self.now, base, rate));
    }

    fn client(&mut self, id: &str, op: ClientOp) -> u64 {
        self.next_req += 1;
        let req = self.next_req;
        self.input(id, Input::Client { req, op });
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
        self.nodes
            .iter()
            .filter(|(id, c)| c.role == Role::Leader && !self.down.contains(*id))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The leader of the highest term.
    fn leader(&self) -> String {
        self.leaders()
            .into_iter()
            .max_by_key(|id| self.nodes[id].term)
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

    fn crash(&mut self, id: &str) {
        self.down.insert(id.to_string());
        self.queue.retain(|m| m.2 != id);
    }

    fn restart(&mut self, id: &str) {
        self.down.remove(id);
        let c = Core::new(self.cfgs[id].clone(), self.disks[id].clone(), self.now, 0);
        self.nodes.insert(id.to_string(), c);
    }

    fn value(&self, id: &str, k: &str) -> Value {
        self.nodes[id].kv.get(&json!(k))
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

mod props {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config as PtConfig, RngSeed};

    #[derive(Clone, Debug)]
    enum Fault {
        Write,
        Crash(usize),
        Restart(usize),
        Isolate(usize),
        Heal,
        Run(u64),
    }

    fn fault() -> impl Strategy<Value = Fault> {
        prop_oneof![
            4 => Just(Fault::Write),
            1 => (0..5usize).prop_map(Fault::Crash),
            1 => (0..5usize).prop_map(Fault::Restart),
            1 => (0..5usize).prop_map(Fault::Isolate),
            1 => Just(Fault::Heal),
            2 => (1..400u64).prop_map(Fault::Run),
        ]
    }

    proptest! {
        #![proptest_config(PtConfig { cases: 48, rng_seed: RngSeed::Fixed(0x5107e), ..PtConfig::default() })]

        /// Safe mode under random crashes and partitions: one leader per term, identical
        /// committed prefixes, no acknowledged write lost, and the state equals a
        /// brute-force replay of the committed log.
        #[test]
        fn quorum_mode_is_safe_under_random_faults(seed in any::<u64>(), faults in proptest::collection::vec(fault(), 1..40)) {
            let mut s = Sim::new(5, seed, |_| {});
            s.run(800);
            let mut n = 0i64;
            for f in faults {
                match f {
                    Fault::Write => {
                        if let Some(l) = s.leaders().into_iter().max_by_key(|id| s.nodes[id].term) {
                            n += 1;
                            s.write(&l, &format!("k{}", n % 3), n);
                        }
                        s.run(5);
                    }
                    Fault::Crash(i) => s.crash(&format!("n{}", i + 1)),
                    Fault::Restart(i) => {
                        let id = format!("n{}", i + 1);
                        if s.down.contains(&id) {
                            s.restart(&id);
                        }
                    }
                    Fault::Isolate(i) => s.isolate(&format!("n{}", i + 1)),
                    Fault::Heal => s.heal(),
                    Fault::Run(ms) => s.run(ms),
                }
            }
            s.heal();
            for id in s.down.clone() {
                s.restart(&id);
            }
            s.run(2000);
            let mut by_term = BTreeMap::new();
            for (node, term, _) in s.events("leader") {
                prop_assert!(by_term.insert(term, node).is_none(), "two leaders in term {}", term);
            }
            let l = s.leader();
            let ll = &s.nodes[&l];
            for (id, c) in &s.nodes {
                let upto = c.commit.min(ll.commit);
                for i in 1..=upto {
                    prop_assert_eq!(c.log.get(i), ll.log.get(i), "{} differs at committed index {}", id, i);
                }
            }
            for (node, term, index) in s.events("ack") {
                let index = index.unwrap_or(0);
                prop_assert!(index <= ll.commit, "ack by {} at {} beyond commit", node, index);
                prop_assert_eq!(ll.log.term_at(index), Some(term), "acked entry {} lost", index);
            }
            let mut oracle = KvState::default();
            for i in 1..=ll.applied {
                if let Some(Entry { cmd: Command::Client(op), .. }) = ll.log.get(i) {
                    oracle.apply(op);
                }
            }
            prop_assert_eq!(&oracle, &ll.kv);
        }
    }
}
