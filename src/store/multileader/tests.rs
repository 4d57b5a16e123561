//! The core at the pure level: a few nodes wired by an in-memory network
//! (every durable write synced at once, every message delivered within the
//! tick it was sent, none to or from a down node).

use super::*;
use crate::store::conflict::ConflictMode;
use crate::store::seam::{Input, Protocol, Stored};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

struct Net {
    cores: BTreeMap<String, Core>,
    cfgs: BTreeMap<String, Config>,
    disks: BTreeMap<String, Vec<Record>>,
    down: BTreeSet<String>,
    /// Nodes cut off from every other node (messages to and from dropped).
    cut: BTreeSet<String>,
    queue: VecDeque<(String, String, Msg)>,
    replies: BTreeMap<(String, u64), Outcome>,
    /// Wall-clock offset per node (ns), for last-write-wins.
    skew: BTreeMap<String, u64>,
    t: u64,
    req: u64,
}

fn cluster(n: usize, d: usize, topo: DcTopology, conflict: ConflictMode, lag_ms: u64) -> Net {
    let names: Vec<String> = (1..=n).map(|i| format!("n{i}")).collect();
    let ids: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut net = Net {
        cores: BTreeMap::new(),
        cfgs: BTreeMap::new(),
        disks: BTreeMap::new(),
        down: BTreeSet::new(),
        cut: BTreeSet::new(),
        queue: VecDeque::new(),
        replies: BTreeMap::new(),
        skew: BTreeMap::new(),
        t: 1_000_000,
        req: 0,
    };
    for id in &ids {
        let mut c = Config::new(id, &ids);
        (c.datacenters, c.dc_topology, c.conflict, c.dc_lag_ns) = (d, topo, conflict, lag_ms * 1_000_000);
        c.validate().unwrap();
        net.cfgs.insert(id.to_string(), c.clone());
        net.disks.insert(id.to_string(), Vec::new());
        net.cores
            .insert(id.to_string(), Core::new(c, [], Now::at(net.t), 1));
    }
    net
}

impl Net {
    fn now(&self, node: &str) -> Now {
        Now {
            mono_ns: self.t,
            wall_ns: self.t + self.skew.get(node).copied().unwrap_or(0),
        }
    }

    fn input(&mut self, node: &str, input: crate::store::seam::InputOf<Core>) {
        if self.down.contains(node) {
            return;
        }
        let now = self.now(node);
        let core = self.cores.get_mut(node).unwrap();
        let acts = Protocol::step(core, now, input);
        let mut wrote = false;
        for a in acts {
            match a {
                Action::Send { to, msg } => self.queue.push_back((node.to_string(), to, msg)),
                Action::Reply { req, outcome } => {
                    self.replies.insert((node.to_string(), req), outcome);
                }
                Action::Persist(Write::Append(r)) => {
                    self.disks.get_mut(node).unwrap().push(r);
                    wrote = true;
                }
                Action::Persist(Write::Snapshot { .. }) | Action::Event(_) => {}
            }
        }
        if wrote {
            let upto = self.cores[node].persist_mark();
            self.input(node, Input::Persisted { upto });
        }
    }

    fn deliver(&mut self) {
        while let Some((from, to, msg)) = self.queue.pop_front() {
            let cut = from != to && (self.cut.contains(&from) || self.cut.contains(&to));
            if !self.down.contains(&from) && !cut {
                self.input(&to, Input::Peer { from, msg });
            }
        }
    }

    /// Lets `ms` of time pass in 5 ms ticks.
    fn run(&mut self, ms: u64) {
        for _ in 0..ms.div_ceil(5) {
            self.t += TICK_NS;
            let ids: Vec<String> = self.cores.keys().cloned().collect();
            for id in &ids {
                self.input(id, Input::Tick { jitter_ns: 0 });
                self.input(id, Input::Flush);
            }
            self.deliver();
        }
    }

    fn call(&mut self, node: &str, op: Value, opts: RequestOpts) -> Option<Outcome> {
        self.req += 1;
        let req = self.req;
        let op: ClientOp = serde_json::from_value(op).unwrap();
        self.input(node, Input::Client { req, op, opts });
        self.input(node, Input::Flush);
        self.deliver();
        self.replies.remove(&(node.to_string(), req))
    }

    fn write(&mut self, node: &str, key: &str, v: i64) -> Option<Outcome> {
        self.call(
            node,
            json!({"f": "write", "key": key, "value": v}),
            RequestOpts::default(),
        )
    }

    fn add(&mut self, node: &str, v: i64) -> Option<Outcome> {
        self.call(
            node,
            json!({"f": "append", "key": "set", "value": v}),
            RequestOpts::default(),
        )
    }

    fn read(&mut self, node: &str, key: &str) -> Value {
        match self.call(node, json!({"f": "read", "key": key}), RequestOpts::default()) {
            Some(Outcome::Ok { value }) => value,
            other => panic!("read at {node}: {other:?}"),
        }
    }

    fn values(&mut self, node: &str, key: &str) -> Value {
        self.read(node, key)["values"].clone()
    }

    fn kill(&mut self, node: &str) {
        self.down.insert(node.to_string());
    }

    /// Restarts `node` from what it persisted.
    fn restart(&mut self, node: &str) {
        self.down.remove(node);
        let disk = Stored {
            snapshot: None,
            log: self.disks[node].clone(),
        };
        // A fresh incarnation nonce, as the host draws one per start.
        self.req += 1;
        let (core, _) = Core::recover(self.cfgs[node].clone(), disk, self.now(node), 1000 + self.req);
        self.cores.insert(node.to_string(), core);
    }
}

fn ok() -> Option<Outcome> {
    Some(Outcome::Ok { value: Value::Null })
}

#[test]
fn a_write_reaches_every_node_of_every_datacenter_in_each_topology() {
    for topo in [DcTopology::AllToAll, DcTopology::Circular, DcTopology::Star] {
        let mut net = cluster(6, 3, topo, ConflictMode::Siblings, 0);
        assert_eq!(net.write("n3", "k", 7), ok(), "{topo:?}");
        net.run(50);
        for n in ["n1", "n2", "n3", "n4", "n5", "n6"] {
            assert_eq!(net.values(n, "k"), json!([7]), "{topo:?} at {n}");
        }
        // Each node applied the change exactly once.
        assert!(net.cores.values().all(|c| c.log.len() == 1), "{topo:?}");
    }
}

#[test]
fn a_write_at_a_follower_is_accepted_by_its_datacenters_leader() {
    let mut net = cluster(4, 2, DcTopology::AllToAll, ConflictMode::Lww, 0);
    assert_eq!(net.write("n4", "k", 1), ok());
    assert_eq!(net.cores["n3"].log[0].0.dot.node, "n3", "n3 leads n3,n4");
    net.run(20);
    assert_eq!(net.values("n1", "k"), json!([1]));
}

#[test]
fn under_avoid_a_write_is_forwarded_to_the_keys_home_datacenter() {
    let mut net = cluster(3, 3, DcTopology::AllToAll, ConflictMode::Avoid, 0);
    let layout = Layout::new(&net.cfgs["n1"].nodes, 3);
    let key = (0..100)
        .map(|i| format!("k{i}"))
        .find(|k| layout.home(k) == 2)
        .unwrap();
    assert_eq!(net.write("n1", &key, 5), ok());
    assert_eq!(
        net.cores["n3"].log[0].0.dot.node, "n3",
        "the home leader minted it"
    );
    for (i, n) in ["n1", "n2", "n3"].iter().enumerate() {
        assert_eq!(net.add(n, i as i64), ok());
    }
    net.run(20);
    for n in ["n1", "n2", "n3"] {
        assert_eq!(net.values(n, "set"), json!([[0, 1, 2]]), "at {n}");
    }
}

/// Concurrent writes at two datacenters: last-write-wins keeps the one with
/// the later (skewed) stamp and drops the other; siblings keep both.
#[test]
fn concurrent_writes_lose_one_under_lww_and_keep_both_as_siblings() {
    let mut lww = cluster(2, 2, DcTopology::AllToAll, ConflictMode::Lww, 0);
    lww.skew.insert("n1".into(), 10_000_000_000);
    assert_eq!(lww.write("n1", "k", 1), ok());
    assert_eq!(lww.write("n2", "k", 2), ok());
    lww.run(20);
    assert_eq!(lww.values("n2", "k"), json!([1]), "n2's later write is lost");
    let mut sib = cluster(2, 2, DcTopology::AllToAll, ConflictMode::Siblings, 0);
    assert_eq!(sib.write("n1", "k", 1), ok());
    assert_eq!(sib.write("n2", "k", 2), ok());
    sib.run(20);
    for n in ["n1", "n2"] {
        let mut v: Vec<i64> = serde_json::from_value(sib.values(n, "k")).unwrap();
        v.sort();
        assert_eq!(v, [1, 2], "at {n}");
    }
    let mut crdt = cluster(2, 2, DcTopology::AllToAll, ConflictMode::Crdt, 0);
    assert_eq!(crdt.add("n1", 1), ok());
    assert_eq!(crdt.add("n2", 2), ok());
    crdt.run(20);
    assert_eq!(crdt.read("n1", "set"), json!([1, 2]));
}

/// DC 0 writes `a`; DC 1 sees it and writes `b`; the direct link 0 -> 2 is
/// four times slower than 0 -> 1 -> 2. Without dependencies DC 2 shows `b`
/// without `a` (the consistent-prefix anomaly); with them it holds `b` back.
#[test]
fn a_later_change_overtakes_its_cause_without_version_vectors_only() {
    for (mode, overtakes) in [(ConflictMode::Lww, true), (ConflictMode::Siblings, false)] {
        let mut net = cluster(3, 3, DcTopology::AllToAll, mode, 100);
        assert_eq!(net.write("n1", "a", 1), ok());
        net.run(110);
        assert_eq!(net.values("n2", "a"), json!([1]), "{mode:?}: 0 -> 1 took one lag");
        let ctx = net.read("n2", "a")["context"].clone();
        let opts = RequestOpts {
            context: serde_json::from_value(ctx).ok(),
            ..RequestOpts::default()
        };
        let b = net.call("n2", json!({"f": "write", "key": "b", "value": 2}), opts);
        assert_eq!(b, ok());
        net.run(110);
        let (a, b) = (net.values("n3", "a"), net.values("n3", "b"));
        if overtakes {
            assert_eq!((a, b), (json!([]), json!([2])), "{mode:?}");
        } else {
            assert_eq!((a, b), (json!([]), json!([])), "{mode:?}: b waits for a");
            assert_eq!(net.cores["n3"].pending(), 1);
        }
        net.run(300);
        assert_eq!(net.values("n3", "a"), json!([1]), "{mode:?}");
        assert_eq!(net.values("n3", "b"), json!([2]), "{mode:?}");
    }
}

/// Circular with one leader down: the ring stalls behind it, and resumes
/// (nothing lost, nothing applied twice) once it restarts from its disk.
#[test]
fn circular_stalls_behind_a_down_leader_and_resumes_after_restart() {
    let mut net = cluster(3, 3, DcTopology::Circular, ConflictMode::Siblings, 0);
    assert_eq!(net.write("n1", "k", 1), ok());
    net.run(20);
    net.kill("n2");
    assert_eq!(net.write("n1", "k2", 2), ok());
    net.run(1000);
    assert_eq!(net.values("n3", "k"), json!([1]));
    assert_eq!(net.values("n3", "k2"), json!([]), "stalled behind n2");
    net.restart("n2");
    net.run(1000);
    assert_eq!(net.values("n3", "k2"), json!([2]));
    assert_eq!(net.cores["n3"].log.len(), 2, "each change applied once");
    assert_eq!(net.cores["n1"].log.len(), 2, "nothing came back around");
}

#[test]
fn a_restarted_leader_keeps_minting_fresh_dots() {
    let mut net = cluster(2, 1, DcTopology::AllToAll, ConflictMode::Siblings, 0);
    assert_eq!(net.write("n1", "k", 1), ok());
    net.run(10);
    net.kill("n1");
    net.restart("n1");
    assert_eq!(net.write("n1", "k", 2), ok());
    net.run(20);
    let dots: Vec<u64> = net.cores["n2"].log.iter().map(|(c, _)| c.dot.counter).collect();
    assert_eq!(dots, [1, 2]);
    assert_eq!(
        net.values("n2", "k"),
        json!([1, 2]),
        "two blind writes, two siblings"
    );
}

/// Writes at every node while one node after another is cut off, killed
/// and restarted: once all is healed every node holds every acknowledged
/// write (siblings: nothing lost, all converge).
#[test]
fn after_partitions_and_restarts_every_node_converges_on_every_acknowledged_add() {
    for topo in [DcTopology::AllToAll, DcTopology::Circular, DcTopology::Star] {
        let mut net = cluster(5, 3, topo, ConflictMode::Crdt, 0);
        let ids: Vec<String> = net.cores.keys().cloned().collect();
        let mut acked = Vec::new();
        for round in 0..12u64 {
            let victim = ids[(round as usize * 3) % 5].clone();
            if round % 3 == 0 {
                net.cut.insert(victim.clone());
            } else if round % 3 == 1 {
                net.kill(&victim);
            }
            for (i, n) in ids.iter().enumerate() {
                let v = (round * 10 + i as u64) as i64;
                if net.add(n, v) == ok() {
                    acked.push(v);
                }
            }
            net.run(400);
            if round % 3 == 1 {
                net.restart(&victim);
            }
            net.cut.clear();
            net.run(100);
        }
        net.run(2000);
        acked.sort();
        for n in &ids {
            let got: Vec<i64> = serde_json::from_value(net.read(n, "set")).unwrap();
            let missing: Vec<&i64> = acked.iter().filter(|v| !got.contains(v)).collect();
            assert!(
                missing.is_empty(),
                "{topo:?}: {n} misses {missing:?}; its streams {:?}, pending {}; links {:?}",
                net.cores[n].streams,
                net.cores[n].pending(),
                net.cores
                    .values()
                    .map(|c| (c.cfg.id.clone(), c.epoch, c.log.len(), c.links.clone()))
                    .collect::<Vec<_>>()
            );
            assert_eq!(net.cores[n].pending(), 0, "{topo:?} {n}");
        }
    }
}
