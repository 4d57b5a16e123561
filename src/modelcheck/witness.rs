//! A counterexample as a faultline history (the format of DESIGN.md), so that
//! `faultline check` and the report explain it like any recorded run.
//!
//! The path is replayed step by step with a [`Trace`]: every client invoke
//! and answer becomes an op (key `x`, process = client, a fresh process after
//! an `info`), every fault a nemesis invoke/info pair; step `i` is timed at
//! `i` ms. A lost acknowledged write leaves no trace in the clients' ops by
//! itself, so the history then ends with a probe: a fresh client reads from
//! the leader that lacks the write while every message in flight is
//! delivered in order, and the read's answer is what the checkers see.

use super::model::{Model, Step};
use super::world::{name, outcome_text, value_of, Client, World};
use crate::history::{Op, OpType, Process};
use crate::store::ops::Outcome;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Fresh process numbers (after an `info`) start here.
const FRESH: u64 = 10;

/// What the steps of a counterexample did, collected only when asked.
#[derive(Debug, Default)]
pub struct Trace {
    /// Readable lines, one per thing that happened.
    pub lines: Vec<String>,
    ops: Vec<Op>,
    /// Client -> its process number now (itself until its first `info`).
    process: BTreeMap<u8, u64>,
    fresh: u64,
}

fn f_and_value(c: u8, k: u8) -> (&'static str, Value) {
    if k.is_multiple_of(2) {
        ("write", json!(value_of(c, k)))
    } else {
        ("read", Value::Null)
    }
}

impl Trace {
    fn process(&self, c: u8) -> u64 {
        self.process.get(&c).copied().unwrap_or(c as u64)
    }

    pub(super) fn invoked(&mut self, c: u8, k: u8) {
        let (f, value) = f_and_value(c, k);
        let op = Op::new(OpType::Invoke, Process::Client(self.process(c)), f, value);
        self.ops.push(op.with_key(json!("x")));
    }

    /// Client `c`'s op `k` got `outcome` from `node` (`None`: the node crashed).
    pub(super) fn answered(&mut self, c: u8, k: u8, node: u8, outcome: Option<&Outcome>) {
        let (f, value) = f_and_value(c, k);
        let (ty, value, error) = match outcome {
            Some(Outcome::Ok { value: read }) if f == "read" => (OpType::Ok, read.clone(), None),
            Some(Outcome::Ok { .. }) => (OpType::Ok, value, None),
            Some(Outcome::Unknown { reason }) => (OpType::Info, value, Some(reason.clone())),
            Some(other) => (OpType::Fail, value, Some(outcome_text(other))),
            None => (OpType::Info, value, Some("the node crashed".to_string())),
        };
        let mut op = Op::new(ty, Process::Client(self.process(c)), f, value).with_key(json!("x"));
        op.node = Some(name(node));
        op.error = error;
        self.ops.push(op);
        if ty == OpType::Info {
            self.process.insert(c, FRESH + self.fresh);
            self.fresh += 1;
        }
    }

    fn nemesis(&mut self, f: &str, action: Value, hit: Value) {
        let invoke = Op::new(OpType::Invoke, Process::Nemesis, f, json!({ "action": action }));
        let info = Op::new(OpType::Info, Process::Nemesis, f, hit);
        self.ops.extend([invoke, info]);
    }

    /// The nemesis ops of a fault step taken from `w`.
    fn fault(&mut self, w: &World, step: Step) {
        match step {
            Step::Crash { node } => {
                self.nemesis("kill", json!("kill"), json!({ "hit": [name(node)] }));
                self.nemesis("start", json!("start"), json!({ "hit": [name(node)] }));
            }
            Step::Isolate { node } => {
                let others: Vec<String> = (0..w.n() as u8).filter(|&j| j != node).map(name).collect();
                let mut grudge: BTreeMap<String, Vec<String>> =
                    others.iter().map(|o| (o.clone(), vec![name(node)])).collect();
                grudge.insert(name(node), others);
                self.nemesis("partition", json!("partition"), json!({ "grudge": grudge }));
            }
            Step::Heal => self.nemesis("heal", json!("heal"), json!({ "healed": true })),
            Step::Timeout { node } => self.nemesis(
                "election-timeout",
                json!("election-timeout"),
                json!({ "hit": [name(node)], "clock_jump": "past every deadline" }),
            ),
            Step::Deliver { .. } | Step::Invoke { .. } => {}
        }
    }
}

/// The history of `path` (each state with the step taken from it; the last
/// has none), ending with a probe read when `property` is a lost write.
pub fn history(model: &Model, path: &[(World, Option<Step>)], property: &str) -> Vec<Op> {
    let mut notes = Some(Trace::default());
    let mut stamped = 0;
    let mut last = None;
    for (i, (w, step)) in path.iter().enumerate() {
        let mut next = w.clone();
        if let Some(step) = *step {
            if let Some(t) = notes.as_mut() {
                t.fault(w, step);
            }
            model.apply(&mut next, step, &mut notes);
        }
        stamped = stamp(&mut notes, stamped, i as u64);
        last = Some(next);
    }
    if let (Some(w), "acknowledged writes survive") = (last, property) {
        probe(model, w, &mut notes);
        stamp(&mut notes, stamped, path.len() as u64);
    }
    let mut ops = notes.map(|t| t.ops).unwrap_or_default();
    for (i, op) in ops.iter_mut().enumerate() {
        op.index = i as u64;
    }
    ops
}

/// Times the ops of step `i` from `from` on: `i` ms, 1 µs apart.
fn stamp(notes: &mut Option<Trace>, from: usize, i: u64) -> usize {
    let Some(t) = notes.as_mut() else { return from };
    for (j, op) in t.ops[from..].iter_mut().enumerate() {
        op.time = (i + 1) * 1_000_000 + j as u64 * 1_000;
    }
    t.ops.len()
}

/// A fresh client reads from a leader missing an acknowledged write while
/// every message in flight is delivered (oldest link first), until it is
/// answered or nothing is left to deliver.
fn probe(model: &Model, mut w: World, notes: &mut Option<Trace>) {
    let missing = w.acks.iter().find_map(|a| {
        w.leader_roles()
            .find(|(_, c)| c.term() > a.term && c.log().get(a.index).map(|e| e.term) != Some(a.term))
            .map(|(i, _)| i)
    });
    let Some(node) = missing else { return };
    let c = w.clients.len() as u8;
    w.clients.push(Client {
        next_op: 1,
        pending: None,
    });
    model.apply(&mut w, Step::Invoke { client: c, node }, notes);
    let n = w.n();
    for _ in 0..10_000 {
        if w.clients[c as usize].pending.is_none() {
            return;
        }
        let Some(l) = w.links.iter().position(|q| !q.is_empty()) else {
            return;
        };
        let (from, to) = ((l / n) as u8, (l % n) as u8);
        model.apply(&mut w, Step::Deliver { from, to }, notes);
    }
}

#[cfg(test)]
mod tests {
    use crate::checker::linearizable;
    use crate::checker::{CheckOptions, Validity};
    use crate::history::{pair, History, OpType, Process};
    use crate::modelcheck::{check, Settings};
    use crate::store::core::{Reads, Replication};

    fn counterexample(s: Settings) -> History {
        let v = check(s).unwrap().violation.expect("a counterexample");
        History::new(v.history)
    }

    /// The history of each unsafe mode's counterexample pairs cleanly and the
    /// linearizability checker, given only the history, calls it invalid: a
    /// lost write through the probe read, a stale read by itself.
    #[test]
    fn counterexamples_are_histories_the_checker_rejects() {
        let mut stale = Settings::new(Replication::Quorum);
        stale.reads = Reads::Leader;
        for s in [Settings::new(Replication::Async), stale] {
            let h = counterexample(s.clone());
            pair(&h).unwrap_or_else(|e| panic!("{s:?}: {e}"));
            let v = linearizable::check(&h, &CheckOptions::default()).unwrap();
            assert_eq!(v.valid, Validity::Invalid, "{s:?}: {}", v.summary);
            let nemesis = h.nemesis_ops().count();
            assert!(nemesis >= 2 && nemesis.is_multiple_of(2), "{s:?}: fault ops come in pairs");
            assert!(h
                .ops
                .windows(2)
                .all(|w| w[0].time < w[1].time && w[0].index + 1 == w[1].index));
        }
    }

    /// An op that got `info` leaves its process: the client's next op runs as
    /// a fresh process (the history format's rule).
    #[test]
    fn a_client_after_info_gets_a_fresh_process() {
        let mut t = super::Trace::default();
        t.invoked(0, 0);
        t.answered(0, 0, 0, None);
        t.invoked(0, 1);
        let ops = &t.ops;
        assert_eq!(ops[1].ty, OpType::Info);
        assert_eq!(ops[0].process, Process::Client(0));
        assert_eq!(ops[2].process, Process::Client(super::FRESH));
    }
}
