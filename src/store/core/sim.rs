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

#[test]
fn elects_one_leader_per_term_across_seeds() {
    for seed in 0..20 {
        let mut s = Sim::new(5, seed, |_| {});
        s.run(1500);
        let l = s.leaders();
        assert_eq!(l.len(), 1, "seed {seed}: leaders {l:?}");
        let t = s.nodes[&l[0]].term;
        assert!(s
            .nodes
            .values()
            .all(|c| c.term == t && c.leader.as_deref() == Some(l[0].as_str())));
        let mut by_term = BTreeMap::new();
        for (n, term, _) in s.events("leader") {
            assert!(
                by_term.insert(term, n).is_none(),
                "seed {seed}: two leaders in term {term}"
            );
        }
    }
}

#[test]
fn partitioned_leader_is_replaced_and_steps_down_then_logs_converge() {
    let mut s = Sim::new(5, 7, |_| {});
    s.run(1000);
    let old = s.leader();
    let w1 = s.write(&old, "x", 1);
    s.run(100);
    assert!(s.is_ok(w1));
    s.isolate(&old);
    let lost = s.write(&old, "x", 99); // cannot reach a majority
    s.run(1500);
    let new = s.leader();
    assert_ne!(new, old);
    assert_ne!(
        s.nodes[&old].role,
        Role::Leader,
        "check-quorum deposes the cut-off leader"
    );
    assert!(
        matches!(s.outcome(lost), Some(Outcome::Unknown { .. })),
        "{:?}",
        s.outcome(lost)
    );
    let w2 = s.write(&new, "x", 2);
    s.run(200);
    assert!(s.is_ok(w2));
    s.heal();
    s.run(1000);
    let leader = s.leader();
    let reference = s.nodes[&leader].log.entries.clone();
    for (id, c) in &s.nodes {
        assert_eq!(c.log.entries, reference, "{id}: log matching");
        assert_eq!(s.value(id, "x"), json!(2), "{id}");
    }
    assert!(
        s.events("discard").iter().any(|(n, _, _)| *n == old),
        "old leader discards x=99"
    );
}

#[test]
fn stale_terms_are_refused_and_fence_the_old_leader() {
    let mut c = Core::new(
        Config::new("n2", &["n1", "n2", "n3"]),
        Recovered {
            term: 5,
            ..Default::default()
        },
        0,
        0,
    );
    let acts = c.step(
        1,
        Input::Peer {
            from: "n1".into(),
            msg: Message::Append {
                term: 3,
                prev_index: 0,
                prev_term: 0,
                entries: vec![Entry {
                    term: 3,
                    index: 1,
                    cmd: Command::Noop,
                }],
                commit: 1,
                read_seq: 0,
            },
        },
    );
    assert_eq!(c.log.last_index(), 0, "stale append changes nothing");
    assert!(acts.iter().any(|a| matches!(
        a,
        Action::Send {
            msg: Message::AppendReply {
                term: 5,
                success: false,
                ..
            },
            ..
        }
    )));

    for fencing in [true, false] {
        let mut s = Sim::new(3, 3, |c| c.fencing = fencing);
        s.run(1000);
        let l = s.leader();
        let t = s.nodes[&l].term;
        s.input(
            &l,
            Input::Peer {
                from: s.followers_of(&l)[0].clone(),
                msg: Message::AppendReply {
                    term: t + 1,
                    success: false,
                    index: 1,
                    read_seq: 0,
                },
            },
        );
        assert_eq!(s.nodes[&l].role == Role::Leader, !fencing, "fencing {fencing}");
    }
}

fn mode_sim(mode: Replication) -> (Sim, String, Vec<String>) {
    let mut s = Sim::new(3, 11, |c| c.replication = mode);
    s.run(1000);
    let l = s.leader();
    let f = s.followers_of(&l);
    (s, l, f)
}

fn cut_one_way(s: &mut Sim, from: &str, to: &str) {
    s.cut.insert((from.to_string(), to.to_string()));
}

#[test]
fn quorum_acks_with_a_majority_only() {
    let (mut s, l, f) = mode_sim(Replication::Quorum);
    cut_one_way(&mut s, &l, &f[0]);
    cut_one_way(&mut s, &l, &f[1]);
    let w = s.write(&l, "k", 1);
    s.run(60);
    assert!(s.outcome(w).is_none(), "no follower has it: no ack");
    s.cut.remove(&(l.clone(), f[0].clone()));
    s.run(60);
    assert!(s.is_ok(w), "leader + one follower is a majority of 3");
}

#[test]
fn sync_waits_for_every_follower() {
    let (mut s, l, f) = mode_sim(Replication::Sync);
    cut_one_way(&mut s, &l, &f[1]);
    let w = s.write(&l, "k", 1);
    s.run(100);
    assert!(s.outcome(w).is_none(), "one follower missing: no ack");
    s.cut.clear();
    s.run(100);
    assert!(s.is_ok(w));
}

#[test]
fn semi_sync_replaces_a_failed_sync_follower() {
    let (mut s, l, _) = mode_sim(Replication::SemiSync);
    let sf = s.nodes[&l].sync_follower.clone().expect("a sync follower");
    let other = s.followers_of(&l).into_iter().find(|n| *n != sf).unwrap();
    // The non-sync follower is unreachable: the sync follower's ack suffices.
    s.isolate(&other);
    let w1 = s.write(&l, "k", 1);
    s.run(30);
    assert!(s.is_ok(w1));
    s.heal();
    s.run(100);
    // The sync follower fails: no ack until the leader designates the other one.
    s.isolate(&sf);
    let w2 = s.write(&l, "k", 2);
    s.run(20);
    assert!(s.outcome(w2).is_none());
    s.run(400);
    assert!(s.is_ok(w2), "replacement sync follower acknowledged");
    assert_eq!(s.nodes[&l].sync_follower.as_deref(), Some(other.as_str()));
}

#[test]
fn async_acks_alone_and_failover_loses_the_write() {
    let (mut s, l, f) = mode_sim(Replication::Async);
    cut_one_way(&mut s, &l, &f[0]);
    cut_one_way(&mut s, &l, &f[1]);
    let w = s.write(&l, "k", 1);
    s.run(1);
    assert!(s.is_ok(w), "async: ok as soon as the leader's log has it");
    assert!(s.events("ack").iter().any(|(n, _, _)| *n == l));
    s.crash(&l);
    s.heal();
    s.run(1000);
    let nl = s.leader();
    assert_ne!(nl, l);
    let w2 = s.write(&nl, "k", 2);
    s.run(50);
    assert!(s.is_ok(w2));
    s.restart(&l);
    s.run(1000);
    assert_eq!(s.value(&l, "k"), json!(2));
    assert!(s.nodes.values().all(|c| c.kv.get(&json!("k")) == json!(2)));
    assert!(
        s.events("discard").iter().any(|(n, _, _)| *n == l),
        "the returning leader logs the acknowledged write it discards"
    );
}

/// Async mode: a follower applied writes the old leader acknowledged alone; the
/// new leader (elected without it) never had them. After the heal that follower
/// must discard its diverged suffix, take the new leader's state, and the
/// cluster must serve reads and writes within bounded time.
#[test]
fn async_diverged_follower_rejoins_and_cluster_stays_live() {
    for (seed, every) in [(3u64, 0u64), (3, 4), (7, 4), (9, 10)] {
        let mut s = Sim::new(5, seed, |c| {
            c.replication = Replication::Async;
            c.snapshot_every = every;
        });
        s.run(1000);
        let l = s.leader();
        let f = s.followers_of(&l);
        let (buddy, rest) = (f[0].clone(), f[1..].to_vec());
        for i in 0..3 {
            s.write(&l, "base", i);
            s.run(10);
        }
        s.run(100);
        // Only `buddy` hears the next writes: it applies them (async commit = leader's log).
        for r in &rest {
            cut_one_way(&mut s, &l, r);
        }
        for i in 0..8 {
            let w = s.write(&l, &format!("lost{i}"), i);
            s.run(5);
            assert!(s.is_ok(w), "seed {seed}: async ack");
        }
        s.run(50);
        assert_eq!(s.value(&buddy, "lost7"), json!(7), "seed {seed}: buddy applied");
        // {l, buddy} vs the majority: a new leader without the acked writes.
        for a in [&l, &buddy] {
            for r in &rest {
                s.cut.insert((a.to_string(), r.clone()));
                s.cut.insert((r.clone(), a.to_string()));
            }
        }
        s.cut.remove(&(l.clone(), buddy.clone()));
        s.run(1000);
        let nl = s.leader();
        assert!(rest.contains(&nl), "seed {seed}: majority side leads");
        for i in 0..12 {
            s.write(&nl, "new", i);
            s.run(5);
        }
        s.heal();
        s.run(1000);
        let nl = s.leader();
        let w = s.write(&nl, "after", 1);
        let r = s.read(&nl, "after");
        s.run(200);
        assert!(s.is_ok(w), "seed {seed}: write after heal");
        assert_eq!(
            s.outcome(r),
            Some(&Outcome::Ok { value: json!(1) }),
            "seed {seed}: read after heal"
        );
        s.run(500);
        for (id, c) in &s.nodes {
            assert_eq!(c.kv, s.nodes[&nl].kv, "seed {seed}: {id} converged");
            assert_eq!(c.kv.get(&json!("lost7")), Value::Null, "seed {seed}: {id}");
        }
        // A discard event is a lost-write claim: never for an entry the leader kept.
        for (n, term, index) in s.events("discard") {
            let kept = s.nodes[&nl].log.term_at(index.unwrap_or(0));
            assert_ne!(
                kept,
                Some(term),
                "seed {seed}: {n} falsely reports {index:?} discarded"
            );
        }
    }
}

/// Async mode: an old leader applied (and committed, locally) more entries than
/// the new leader's log holds. After it takes the new leader's snapshot and later
/// becomes leader itself, its stale commit index must not block its own no-op:
/// it must commit, answer reads and accept writes.
#[test]
fn async_old_leader_with_a_stale_commit_index_is_live_when_reelected() {
    let mut reelected = 0;
    for seed in 0..12u64 {
        let mut s = Sim::new(5, seed, |c| c.replication = Replication::Async);
        s.run(1000);
        let l = s.leader();
        let rest = s.followers_of(&l);
        s.isolate(&l);
        for i in 0..10 {
            s.write(&l, &format!("lost{i}"), i);
            s.run(2);
        }
        s.run(1000);
        let nl = s.leader();
        assert_ne!(nl, l, "seed {seed}");
        let w = s.write(&nl, "new", 1);
        s.run(20);
        assert!(s.is_ok(w), "seed {seed}");
        s.heal();
        s.run(2000);
        assert_eq!(
            s.value(&l, "lost9"),
            Value::Null,
            "seed {seed}: old leader caught up"
        );
        // Only the old leader and one follower of the new one stay: the old leader can win.
        for r in rest.iter().filter(|r| **r != nl).take(1) {
            s.crash(r);
        }
        s.crash(&nl);
        s.run(1500);
        let leader = s.leader();
        reelected += usize::from(leader == l);
        let w = s.write(&leader, "after", 2);
        let r = s.read(&leader, "after");
        s.run(300);
        assert!(s.is_ok(w), "seed {seed}: write by {leader} (old leader {l})");
        assert_eq!(
            s.outcome(r),
            Some(&Outcome::Ok { value: json!(2) }),
            "seed {seed}: read by {leader}"
        );
    }
    assert!(
        reelected > 0,
        "no seed re-elected the old leader: the test proves nothing"
    );
}

#[test]
fn no_fencing_gives_two_acknowledging_leaders() {
    for fencing in [true, false] {
        let mut s = Sim::new(3, 5, |c| c.fencing = fencing);
        s.run(1000);
        let old = s.leader();
        s.isolate(&old);
        s.run(1000);
        let new = s.leaders().into_iter().find(|n| *n != old).expect("new leader");
        let a = s.write(&old, "k", 1);
        let b = s.write(&new, "k", 2);
        s.run(400);
        assert!(s.is_ok(b));
        assert_eq!(s.is_ok(a), !fencing, "fencing {fencing}: old leader acks?");
        s.heal();
        s.run(1000);
        assert_eq!(s.leaders().len(), 1, "healed: one leader");
        assert!(s.nodes.values().all(|c| c.kv.get(&json!("k")) == json!(2)));
    }
}

#[test]
fn read_modes_linearizable_leader_follower() {
    for reads in [Reads::Linearizable, Reads::Leader, Reads::Follower] {
        let mut s = Sim::new(3, 9, |c| {
            c.reads = reads;
            c.election_timeout_ns = 400 * MS; // keep the old leader in office while we read
        });
        s.run(2000);
        let l = s.leader();
        let f = s.followers_of(&l);
        let w = s.write(&l, "k", 1);
        s.run(50);
        assert!(s.is_ok(w));
        // A follower cut off from the leader keeps an old value.
        s.isolate(&f[1]);
        let w = s.write(&l, "k", 2);
        s.run(50);
        assert!(s.is_ok(w));
        let r = s.read(&f[1], "k");
        let expect_follower = if reads == Reads::Follower {
            Some(Outcome::Ok { value: json!(1) }) // stale
        } else {
            Some(Outcome::NotLeader {
                leader: Some(l.clone()),
            })
        };
        assert_eq!(s.outcome(r).cloned(), expect_follower, "{reads:?}");
        s.heal();
        s.run(200);
        // The leader is cut off; a new leader takes a write; the old one reads.
        s.isolate(&l);
        let r0 = s.read(&l, "k");
        s.run(30);
        match reads {
            Reads::Linearizable => assert!(s.outcome(r0).is_none(), "no majority round: no answer"),
            _ => assert!(s.is_ok(r0)),
        }
        let r1 = s.read(&f[0], "k");
        s.run(10);
        if reads == Reads::Follower {
            assert_eq!(s.outcome(r1), Some(&Outcome::Ok { value: json!(2) }));
        }
    }
}

#[test]
fn linearizable_reads_see_the_latest_write() {
    let mut s = Sim::new(5, 13, |_| {});
    s.run(1000);
    for i in 0..20 {
        let l = s.leader();
        let w = s.write(&l, "k", i);
        s.run(15);
        assert!(s.is_ok(w));
        let r = s.read(&l, "k");
        s.run(15);
        assert_eq!(s.outcome(r), Some(&Outcome::Ok { value: json!(i) }));
    }
}

#[test]
fn lagging_follower_catches_up_from_a_snapshot() {
    let mut s = Sim::new(3, 21, |c| c.snapshot_every = 10);
    s.run(1000);
    let l = s.leader();
    let lag = s.followers_of(&l)[0].clone();
    s.crash(&lag);
    for i in 0..55 {
        s.write(&l, &format!("k{}", i % 7), i);
        s.run(3);
    }
    s.run(50);
    assert!(s.nodes[&l].log.snap_index >= 50, "leader compacted");
    s.restart(&lag);
    s.run(500);
    assert!(s.nodes[&lag].log.snap_index >= 50, "installed a snapshot");
    assert_eq!(s.nodes[&lag].kv, s.nodes[&l].kv);
    // And a brand-new node (empty disk) too.
    s.crash(&lag);
    s.disks.insert(lag.clone(), Recovered::default());
    s.restart(&lag);
    let w = s.write(&l, "late", 1);
    s.run(500);
    assert!(s.is_ok(w));
    assert_eq!(s.nodes[&lag].kv, s.nodes[&l].kv);
}

#[test]
fn crash_restart_recovers_from_disk_and_keeps_acked_writes() {
    let mut s = Sim::new(3, 31, |_| {});
    s.run(1000);
    let mut acked = Vec::new();
    for round in 0..3 {
        let l = s.leader();
        for i in 0..5 {
            let v = round * 10 + i;
            let w = s.write(&l, &format!("k{v}"), v);
            s.run(10);
            if s.is_ok(w) {
                acked.push(v);
            }
        }
        s.crash(&l);
        s.run(800);
        s.restart(&l);
        s.run(300);
    }
    assert_eq!(acked.len(), 15);
    let l = s.leader();
    for v in acked {
        assert_eq!(s.value(&l, &format!("k{v}")), json!(v));
    }
}

mod lease;

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
